package kvmkmod.include.trace;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * A function-graph tracer in the manner of ftrace's function_graph: entries and exits of the mirrored
 * functions, with indentation by call depth and the time spent, and the kernel's tracepoints printed as
 * comments where they fire. Entries and exits are reported by instrumentation of the methods that
 * carry {@link kvmkmod.include.Origin} (installed only by {@link FunctionGraph#install()}, so an
 * untraced run pays nothing); tracepoints call {@link #event}.
 *
 * <p>Output, as the function_graph tracer prints it:
 * <pre>
 * # tracer: function_graph
 * #
 * # CPU  DURATION                  FUNCTION CALLS
 * # |     |   |                     |   |   |   |
 *  0)               |  kvm_vcpu_ioctl() {
 *  0)   0.512 us    |    vcpu_load();
 *  0)               |    /* kvm_entry: vcpu 0 *&#47;
 *  0)   4.321 us    |  }
 * </pre>
 * A call that returns before anything else is printed inside it is a leaf and takes one line. The
 * duration column carries the kernel's overhead marks: {@code +} above 10 us, {@code !} above 100 us.
 *
 * <p>Each thread has its own call stack and its own CPU number ({@link #setCpu}); lines of different
 * threads interleave whole. An exit with no matching entry (a call already running when tracing
 * started) is dropped; an exit that matches a deeper entry first closes the calls above it (a call
 * whose exit was never reported, such as a constructor that threw).
 *
 * <p>{@link #setGraphFunctions} narrows the trace to chosen functions and what they call, as ftrace's
 * set_graph_function does.
 */
public final class Ftrace {
    private Ftrace() {}

    /** Read on every hook; false means every hook returns at once. */
    public static volatile boolean on;

    /** The header lines printed by {@link #start}. */
    public static final List<String> HEADER = List.of(
            "# tracer: function_graph",
            "#",
            "# CPU  DURATION                  FUNCTION CALLS",
            "# |     |   |                     |   |   |   |");

    /**
     * Like ftrace's set_graph_function: when not empty, only calls of these functions and what they
     * call are shown; tracepoints outside them are left out too.
     */
    private static volatile java.util.Set<String> graphFunctions = java.util.Set.of();

    private static final Object LOCK = new Object();
    private static volatile PrintStream out = System.out;
    /** Bumped by every start so that stacks left over from an earlier trace are thrown away. */
    private static volatile long generation;

    private static final class Frame {
        String fn;
        long start;
        boolean pending;
    }

    private static final class ThreadState {
        int cpu;
        long generation = -1;
        Frame[] stack = new Frame[32];
        int depth;

        Frame push() {
            if (depth == stack.length) stack = Arrays.copyOf(stack, depth * 2);
            Frame f = stack[depth];
            if (f == null) stack[depth] = f = new Frame();
            depth++;
            return f;
        }
    }

    private static final ThreadLocal<ThreadState> STATE = ThreadLocal.withInitial(ThreadState::new);

    /** Starts tracing into {@code sink}, beginning with the header. */
    public static void start(PrintStream sink) {
        Objects.requireNonNull(sink, "sink");
        synchronized (LOCK) {
            generation++;
            out = sink;
            for (String h : HEADER) sink.println(h);
            on = true;
        }
    }

    public static void stop() {
        synchronized (LOCK) {
            on = false;
            out.flush();
        }
    }

    /**
     * Runs {@code body} with tracing on and returns the lines printed (header included). Tracing is
     * off afterwards, also when {@code body} throws.
     */
    public static List<String> capture(Runnable body) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream sink = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        start(sink);
        try {
            body.run();
        } finally {
            stop();
        }
        return bytes.toString(StandardCharsets.UTF_8).lines().toList();
    }

    /**
     * Restricts the trace to the calls of {@code functions} (C names) and everything under them;
     * no argument shows every traced function again.
     */
    public static void setGraphFunctions(String... functions) {
        graphFunctions = java.util.Set.of(functions);
    }

    /** The processor number shown in the first column for the calling thread. */
    public static void setCpu(int cpu) {
        if (cpu < 0) throw new IllegalArgumentException("cpu " + cpu);
        STATE.get().cpu = cpu;
    }

    /** The processor number of the calling thread (0 unless {@link #setCpu} said otherwise). */
    public static int cpu() { return STATE.get().cpu; }

    public static void entry(String fn) {
        if (!on) return;
        ThreadState s = state();
        if (s.depth == 0 && !graphFunctions.isEmpty() && !graphFunctions.contains(fn)) return;
        flushPending(s);
        Frame f = s.push();
        f.fn = fn;
        f.pending = true;
        f.start = System.nanoTime();
    }

    public static void exit(String fn) {
        if (!on) return;
        long now = System.nanoTime();
        ThreadState s = state();
        int i = s.depth - 1;
        while (i >= 0 && !s.stack[i].fn.equals(fn)) i--;
        if (i < 0) return;
        while (s.depth > i) {
            Frame f = s.stack[--s.depth];
            String duration = duration(now - f.start);
            line(s, duration, s.depth, f.pending ? f.fn + "();" : "}");
            f.fn = null;
        }
    }

    /** A tracepoint, printed as a comment at the current depth: {@code /* kvm_exit: reason ... *}{@code /}. */
    public static void event(String name, String text) {
        if (!on) return;
        ThreadState s = state();
        if (s.depth == 0 && !graphFunctions.isEmpty()) return;
        flushPending(s);
        line(s, "", s.depth, "/* " + name + ": " + text + " */");
    }

    private static ThreadState state() {
        ThreadState s = STATE.get();
        long g = generation;
        if (s.generation != g) {
            s.generation = g;
            s.depth = 0;
        }
        return s;
    }

    private static void flushPending(ThreadState s) {
        if (s.depth == 0) return;
        Frame top = s.stack[s.depth - 1];
        if (top.pending) {
            top.pending = false;
            line(s, "", s.depth - 1, top.fn + "() {");
        }
    }

    /**
     * The 14-character duration field: an overhead mark, the microseconds with as many decimals as
     * fit in seven digits, " us", padding.
     */
    static String duration(long nanos) {
        if (nanos < 0) nanos = 0;
        long usecs = nanos / 1000;
        char mark = usecs > 100 ? '!' : usecs > 10 ? '+' : ' ';
        StringBuilder sb = new StringBuilder(16).append(mark).append(' ');
        String digits = Long.toString(usecs);
        sb.append(digits);
        int len = digits.length();
        if (len < 7) {
            int rem = (int) (nanos % 1000);
            String three = new String(new char[] {
                (char) ('0' + rem / 100), (char) ('0' + rem / 10 % 10), (char) ('0' + rem % 10)});
            String frac = three.substring(0, Math.min(3, 7 - len));
            sb.append('.').append(frac);
            len += frac.length();
        }
        sb.append(" us ");
        for (; len < 7; len++) sb.append(' ');
        return sb.toString();
    }

    private static void line(ThreadState s, String duration, int depth, String text) {
        StringBuilder sb = new StringBuilder(40 + 2 * depth + text.length());
        String cpu = Integer.toString(s.cpu);
        if (cpu.length() < 2) sb.append(' ');
        sb.append(cpu).append(") ");
        sb.append(duration);
        for (int i = duration.length(); i < 14; i++) sb.append(' ');
        sb.append("|  ");
        for (int i = 0; i < depth; i++) sb.append("  ");
        sb.append(text);
        out.println(sb);
    }
}
