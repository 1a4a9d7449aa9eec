package kvmkmod.x86;

import kvmkmod.include.trace.Ftrace;
import kvmkmod.include.trace.Perf;

/**
 * The tracepoints of arch/x86/kvm/trace.h (and include/trace/events/kvm.h) that the mirrored code fires,
 * printed through the function-graph tracer as comments. Each returns at once when tracing is off, so
 * the formatting cost is paid only in traced runs.
 */
public final class KvmTrace {
    private KvmTrace() {}

    public static void trace_kvm_entry(int vcpu_id) {
        if (!Ftrace.on) return;
        Ftrace.event("kvm_entry", "vcpu " + vcpu_id);
    }

    /** {@code name} is the exit reason's name from the vendor module's exit_reasons_str. */
    public static void trace_kvm_exit(int exit_reason, String name, long guest_rip) {
        if (Perf.on) Perf.count("kvm_exit(" + (name != null ? name : Integer.toString(exit_reason)) + ")");
        if (!Ftrace.on) return;
        Ftrace.event("kvm_exit", String.format("reason %s rip 0x%x", name != null ? name : Integer.toString(exit_reason), guest_rip));
    }

    public static void trace_kvm_pio(boolean rw_out, int port, int size, long count) {
        if (!Ftrace.on) return;
        Ftrace.event("kvm_pio", String.format("pio_%s at 0x%x size %d count %d", rw_out ? "write" : "read", port, size, count));
    }

    public static void trace_kvm_page_fault(long fault_address, int error_code) {
        if (!Ftrace.on) return;
        Ftrace.event("kvm_page_fault", String.format("address %x error_code %x", fault_address, error_code));
    }

    public static void trace_kvm_hypercall(long nr, long a0, long a1, long a2, long a3) {
        if (!Ftrace.on) return;
        Ftrace.event("kvm_hypercall", String.format("nr 0x%x a0 0x%x a1 0x%x a2 0x%x a3 0x%x", nr, a0, a1, a2, a3));
    }
}
