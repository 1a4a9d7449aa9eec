/** arch/x86/kvm/x86.c and mmu.c: the x86 part of kvm.ko. */
package kvmkmod.x86;
