package kvmkmod.vmm;

import kvmkmod.include.trace.Ftrace;

import java.io.PrintStream;

/**
 * The VMM's switch for function-graph tracing of the Java KVM module (--trace). Today it only starts
 * and stops {@link Ftrace}; installing the instrumentation of the mirrored functions belongs here too
 * and is added by the tracing work. The VMM itself reports each userspace exit as a {@code vmm_exit}
 * event while tracing is on.
 */
public final class Tracing {
    private Tracing() {}

    /** Starts tracing into {@code out}. */
    public static void enable(PrintStream out) { Ftrace.start(out); }

    public static void disable() { if (Ftrace.on) Ftrace.stop(); }

    public static boolean enabled() { return Ftrace.on; }
}
