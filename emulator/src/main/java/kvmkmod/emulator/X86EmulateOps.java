package kvmkmod.emulator;

import kvmkmod.include.KvmVcpu;

/**
 * struct x86_emulate_ops (asm/kvm_emulate.h:54): the emulator's only way to guest memory. x86.c fills it
 * with emulate_ops (x86.c:2997): kvm_read_guest_virt, emulator_read_emulated, emulator_write_emulated,
 * emulator_cmpxchg_emulated.
 *
 * <p>Addresses are linear (segment base already added). Data travels in little-endian byte arrays of at
 * least {@code bytes} elements, the way the C passes a {@code void *} to a buffer. Each member answers
 * one of the X86EMUL_* codes below.
 */
public interface X86EmulateOps {
    /** Everything went well: go on emulating. */
    int X86EMUL_CONTINUE = 0;
    /** The access cannot be done: the emulator gives up and reports failure. */
    int X86EMUL_UNHANDLEABLE = 1;
    /** A fault was queued for the guest: stop, but this is not an emulation failure. */
    int X86EMUL_PROPAGATE_FAULT = 2;
    /** Same value as PROPAGATE_FAULT in 2.6.33 (kvm_emulate.h:52-53). */
    int X86EMUL_RETRY_INSTR = 2;
    int X86EMUL_CMPXCHG_FAILED = 2;

    /** Ordinary guest memory: instruction fetch, descriptor tables. */
    int read_std(long addr, byte[] val, int bytes, KvmVcpu vcpu);

    /** Memory that may be MMIO: data operands. */
    int read_emulated(long addr, byte[] val, int bytes, KvmVcpu vcpu);

    int write_emulated(long addr, byte[] val, int bytes, KvmVcpu vcpu);

    /** A LOCKed read-modify-write; x86.c in 2.6.33 turns it into a plain write. */
    int cmpxchg_emulated(long addr, byte[] old, byte[] new_, int bytes, KvmVcpu vcpu);
}
