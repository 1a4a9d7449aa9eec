package kvmkmod.include.trace;

import java.io.PrintStream;
import java.util.ArrayDeque;

/**
 * A function-graph tracer in the manner of ftrace's function_graph: entries and exits of the mirrored
 * functions, with indentation by call depth and the time spent, and the kernel's tracepoints printed as
 * comments where they fire. Entries and exits are reported by instrumentation of the methods that
 * carry {@link kvmkmod.include.Origin} (installed only when tracing is asked for, so an untraced run
 * pays nothing); tracepoints call {@link #event}.
 *
 * <p>Output format, per line: {@code " cpu) duration | indent function() {"}, a leaf closes on the
 * same line ({@code "function();"}).
 */
public final class Ftrace {
    private Ftrace() {}

    /** Read on every hook; false means every hook returns at once. */
    public static volatile boolean on;

    private static volatile PrintStream out = System.out;

    private static final class Frame {
        String fn;
        long start;
        boolean pending;
    }

    private static final class CpuState {
        final ArrayDeque<Frame> stack = new ArrayDeque<>();
        final ArrayDeque<Frame> free = new ArrayDeque<>();
    }

    private static final ThreadLocal<CpuState> STATE = ThreadLocal.withInitial(CpuState::new);
    private static final ThreadLocal<Integer> CPU = ThreadLocal.withInitial(() -> 0);

    /** Starts tracing into {@code sink}. */
    public static synchronized void start(PrintStream sink) {
        out = sink;
        on = true;
    }

    public static synchronized void stop() {
        on = false;
        out.flush();
    }

    /** The processor number shown in the first column for the calling thread. */
    public static void setCpu(int cpu) { CPU.set(cpu); }

    public static void entry(String fn) {
        if (!on) return;
        CpuState s = STATE.get();
        flushPending(s);
        Frame f = s.free.isEmpty() ? new Frame() : s.free.pop();
        f.fn = fn;
        f.start = System.nanoTime();
        f.pending = true;
        s.stack.push(f);
    }

    public static void exit(String fn) {
        if (!on) return;
        CpuState s = STATE.get();
        Frame f = s.stack.peek();
        if (f == null || !f.fn.equals(fn)) return;
        s.stack.pop();
        double us = (System.nanoTime() - f.start) / 1000.0;
        int depth = s.stack.size();
        if (f.pending) line(String.format("%10.3f us", us), depth, fn + "();");
        else line(String.format("%10.3f us", us), depth, "}");
        s.free.push(f);
    }

    /** A tracepoint, printed as a comment at the current depth: {@code /* kvm_exit: reason ... *}{@code /}. */
    public static void event(String name, String text) {
        if (!on) return;
        CpuState s = STATE.get();
        flushPending(s);
        line("", s.stack.size(), "/* " + name + ": " + text + " */");
    }

    private static void flushPending(CpuState s) {
        Frame top = s.stack.peek();
        if (top != null && top.pending) {
            top.pending = false;
            line("", s.stack.size() - 1, top.fn + "() {");
        }
    }

    private static void line(String duration, int depth, String text) {
        StringBuilder sb = new StringBuilder(64);
        sb.append(String.format("%2d) %13s |  ", CPU.get(), duration));
        for (int i = 0; i < depth; i++) sb.append("  ");
        sb.append(text);
        PrintStream o = out;
        synchronized (o) { o.println(sb); }
    }
}
