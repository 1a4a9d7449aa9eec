package kvmkmod.emulator;

import kvmkmod.include.KvmSegment;
import kvmkmod.include.KvmVcpu;
import kvmkmod.include.KvmVcpuArch;

/**
 * Everything emulate.c calls outside itself besides {@link X86EmulateOps}: the kvm_x86_ops members it
 * uses directly (vendor code, vmx.c) and the x86.c functions it calls. In C the linker joins them; here
 * x86.c (which must depend on the emulator, not the other way round) implements this interface and
 * hands it to {@link Emulate}. Names, parameters and return values are the C's; a C output pointer is a
 * one-element array, as in {@link kvmkmod.include.KvmX86Ops}.
 */
public interface EmulatorVcpuOps {
    // ---- kvm_x86_ops members called from emulate.c ----

    /** kvm_x86_ops->get_segment_base (emulate.c:592). */
    long get_segment_base(KvmVcpu vcpu, int seg);

    /** kvm_x86_ops->get_segment (emulate.c:1226, 1500). */
    void get_segment(KvmVcpu vcpu, KvmSegment var, int seg);

    /** kvm_x86_ops->set_segment (syscall/sysenter/sysexit). */
    void set_segment(KvmVcpu vcpu, KvmSegment var, int seg);

    /** kvm_x86_ops->get_cpl (emulate.c:1722, the Priv check). */
    int get_cpl(KvmVcpu vcpu);

    /** kvm_x86_ops->get_msr (syscall/sysenter/sysexit read STAR, LSTAR, SYSENTER_*). */
    int get_msr(KvmVcpu vcpu, int msr_index, long[] pdata);

    /** kvm_x86_ops->get_interrupt_shadow (emulate.c:1483). */
    int get_interrupt_shadow(KvmVcpu vcpu, int mask);

    // ---- x86.c functions (line numbers are x86.c in 2.6.33.3) ----

    /** x86.c:4145. */
    void kvm_get_segment(KvmVcpu vcpu, KvmSegment var, int seg);

    /** x86.c:4358: load a segment register from the guest's descriptor tables; negative on failure. */
    int kvm_load_segment_descriptor(KvmVcpu vcpu, int selector, int type_bits, int seg);

    /** x86.c:260. */
    void kvm_queue_exception(KvmVcpu vcpu, int nr);

    /** asm/kvm_host.h:762, an inline around kvm_queue_exception_e(vcpu, GP_VECTOR, error_code). */
    void kvm_inject_gp(KvmVcpu vcpu, int error_code);

    /** x86.c:629. */
    int kvm_set_msr(KvmVcpu vcpu, int msr_index, long data);

    /** x86.c:1074. */
    int kvm_get_msr(KvmVcpu vcpu, int msr_index, long[] pdata);

    /** x86.c:3225: 1 when the port was handled in the kernel, 0 when userspace must complete it. */
    int kvm_emulate_pio(KvmVcpu vcpu, int in, int size, int port);

    /** x86.c:3254. */
    int kvm_emulate_pio_string(KvmVcpu vcpu, int in, int size, long count, int down, long address, int rep,
                               int port);

    /** x86.c:3512: rewrite the hypercall instruction for this vendor; -EFAULT when it cannot. */
    int kvm_fix_hypercall(KvmVcpu vcpu);

    /** x86.c:3539. */
    void realmode_lgdt(KvmVcpu vcpu, int limit, long base);

    /** x86.c:3546. */
    void realmode_lidt(KvmVcpu vcpu, int limit, long base);

    /** x86.c:3553: rflags[0] receives the guest RFLAGS afterwards. */
    void realmode_lmsw(KvmVcpu vcpu, long msw, long[] rflags);

    /** x86.c:3560. */
    long realmode_get_cr(KvmVcpu vcpu, int cr);

    /** x86.c:3589: rflags[0] receives the guest RFLAGS after a CR0 write. */
    void realmode_set_cr(KvmVcpu vcpu, int cr, long val, long[] rflags);

    /** x86.c:2940. */
    int emulate_invlpg(KvmVcpu vcpu, long address);

    /** x86.c:2946. */
    int emulate_clts(KvmVcpu vcpu);

    /** x86.c:2952. */
    int emulator_get_dr(X86EmulateCtxt ctxt, int dr, long[] dest);

    /** x86.c:2966. */
    int emulator_set_dr(X86EmulateCtxt ctxt, int dr, long value);

    /** x86.c:2979. */
    void kvm_report_emulation_failure(KvmVcpu vcpu, String context);


    // ---- kvm_cache_regs.h inlines ----

    /**
     * kvm_cache_regs.h:22. The default reads arch.regs directly: emulate_instruction makes every
     * register available (cache_all_regs) before it calls the emulator. x86.c may override it.
     */
    default long kvm_rip_read(KvmVcpu vcpu) {
        return vcpu.arch.regs[KvmVcpuArch.VCPU_REGS_RIP];
    }

    /** kvm_cache_regs.h:27: write RIP and mark it available and dirty. */
    default void kvm_rip_write(KvmVcpu vcpu, long val) {
        vcpu.arch.regs[KvmVcpuArch.VCPU_REGS_RIP] = val;
        vcpu.arch.regs_dirty |= 1 << KvmVcpuArch.VCPU_REGS_RIP;
        vcpu.arch.regs_avail |= 1 << KvmVcpuArch.VCPU_REGS_RIP;
    }
}
