package kvmkmod.vmx;

import kvmkmod.include.trace.Ftrace;

/**
 * The tracepoints of arch/x86/kvm/trace.h that only vmx.c fires, printed in their TP_printk formats.
 * The shared ones (trace_kvm_exit, trace_kvm_entry, trace_kvm_pio, trace_kvm_page_fault) live in
 * {@link kvmkmod.x86.KvmTrace}. The caller evaluates the arguments whether or not tracing is on, as the
 * C's inline trace_*() functions do; only the formatting is skipped when {@link Ftrace#on} is false.
 */
final class VmxTrace {
    private VmxTrace() {}

    /** trace_kvm_inj_virq (trace.h:177). */
    static void trace_kvm_inj_virq(int irq) {
        if (Ftrace.on) Ftrace.event("kvm_inj_virq", "irq " + irq);
    }

    /** trace_kvm_msr_read / trace_kvm_msr_write (trace.h:216, 237, 238). */
    static void trace_kvm_msr(boolean write, int ecx, long data) {
        if (Ftrace.on) Ftrace.event("kvm_msr", String.format("msr_%s %x = 0x%x", write ? "write" : "read", ecx, data));
    }

    static void trace_kvm_msr_read(int ecx, long data) { trace_kvm_msr(false, ecx, data); }

    static void trace_kvm_msr_write(int ecx, long data) { trace_kvm_msr(true, ecx, data); }

    /** trace_kvm_cr_read / trace_kvm_cr_write (trace.h:243, 264, 265). */
    static void trace_kvm_cr(boolean write, int cr, long val) {
        if (Ftrace.on) Ftrace.event("kvm_cr", String.format("cr_%s %x = 0x%x", write ? "write" : "read", cr, val));
    }

    static void trace_kvm_cr_read(int cr, long val) { trace_kvm_cr(false, cr, val); }

    static void trace_kvm_cr_write(int cr, long val) { trace_kvm_cr(true, cr, val); }
}
