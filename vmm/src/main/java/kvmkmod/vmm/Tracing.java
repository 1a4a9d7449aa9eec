package kvmkmod.vmm;

import kvmkmod.include.trace.Ftrace;
import kvmkmod.include.trace.FunctionGraph;

import java.io.PrintStream;

/**
 * The VMM's switch for function-graph tracing of the Java KVM module (--trace): it instruments the
 * mirrored functions (once per JVM) and starts {@link Ftrace}. The VMM itself reports each userspace
 * exit as a {@code vmm_exit} event while tracing is on.
 */
public final class Tracing {
    private Tracing() {}

    /** Starts tracing into {@code out}. */
    public static void enable(PrintStream out) {
        FunctionGraph.install();
        Ftrace.start(out);
    }

    public static void disable() { if (Ftrace.on) Ftrace.stop(); }

    public static boolean enabled() { return Ftrace.on; }
}
