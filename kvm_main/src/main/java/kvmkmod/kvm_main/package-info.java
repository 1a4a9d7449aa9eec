/** virt/kvm/kvm_main.c: the generic part of kvm.ko. */
package kvmkmod.kvm_main;
