package kvmkmod.include.trace;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counting tracepoint hits, as kvm_stat does with perf events on the kvm tracepoints (one counter per
 * kvm_exit reason, shown as {@code kvm_exit(NAME)}). A tracepoint reports its hit with {@link #count}
 * while counting is on; nothing is done, and nothing allocated, while it is off.
 */
public final class Perf {
    private Perf() {}

    /** Read on every tracepoint; false means {@link #count} is not called. */
    public static volatile boolean on;

    private static final Map<String, LongAdder> COUNTS = new ConcurrentHashMap<>();

    /** Starts counting from zero. */
    public static void start() {
        COUNTS.clear();
        on = true;
    }

    public static void stop() { on = false; }

    public static void count(String event) { COUNTS.computeIfAbsent(event, k -> new LongAdder()).increment(); }

    /** The counters so far, by event name. */
    public static Map<String, Long> counts() {
        Map<String, Long> m = new TreeMap<>();
        COUNTS.forEach((k, v) -> m.put(k, v.sum()));
        return m;
    }
}
