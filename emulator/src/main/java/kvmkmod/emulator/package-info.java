/** arch/x86/kvm/emulate.c: the x86 instruction emulator KVM falls back on for MMIO and invalid guest state. */
package kvmkmod.emulator;
