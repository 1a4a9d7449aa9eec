package kvmkmod.emulator;

import kvmkmod.include.KvmVcpu;

/**
 * struct x86_emulate_ctxt (asm/kvm_emulate.h:149): the emulator's state for one vCPU. x86.c keeps one in
 * vcpu->arch.emulate_ctxt and fills vcpu, eflags and mode before each x86_decode_insn.
 */
public final class X86EmulateCtxt {
    /** Execution modes (asm/kvm_emulate.h:170-173). */
    public static final int X86EMUL_MODE_REAL = 0, X86EMUL_MODE_PROT16 = 2, X86EMUL_MODE_PROT32 = 4,
            X86EMUL_MODE_PROT64 = 8;
    /** The host this was written for is x86_64 (kvm_emulate.h:179). */
    public static final int X86EMUL_MODE_HOST = X86EMUL_MODE_PROT64;

    /** Interrupt shadow kinds reported in {@link #interruptibility} (kvm_emulate.h:146-147). */
    public static final int X86_SHADOW_INT_MOV_SS = 1, X86_SHADOW_INT_STI = 2;

    /** Values of decode.rep_prefix (kvm_emulate.h:166-167). */
    public static final int REPE_PREFIX = 1, REPNE_PREFIX = 2;

    public KvmVcpu vcpu;
    public long eflags;
    public int mode;
    /** u32 in the C: the CS base, truncated to 32 bits. */
    public int cs_base;
    /** Set by STI / MOV SS: the interrupt shadow x86.c hands to set_interrupt_shadow afterwards. */
    public int interruptibility;
    public final DecodeCache decode = new DecodeCache();

    public X86EmulateCtxt() {}

    public X86EmulateCtxt(KvmVcpu vcpu, long eflags, int mode) {
        this.vcpu = vcpu;
        this.eflags = eflags;
        this.mode = mode;
    }
}
