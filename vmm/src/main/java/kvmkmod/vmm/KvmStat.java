package kvmkmod.vmm;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * What the kvm_stat script does: every debugfs file under kvm/ is one of the module's counters (x86.c's
 * debugfs_entries[], summed over all VMs and vCPUs by kvm_main.c); read each and print name and value.
 * Works on any {@link Sys}: our kernel's debugfs, or the host's when it is mounted and readable. For our
 * in-process kernel, the kvm_exit tracepoint counts by exit reason ({@code kvm_exit(NAME)}, which kvm_stat
 * gets from perf) join them when {@link #startTracepoints} was called before the run.
 */
public final class KvmStat {
    private KvmStat() {}

    public static final String DIR = "/sys/kernel/debug/kvm";

    /** Counts the kvm_exit tracepoint by reason from now on, when the kernel is ours. */
    public static void startTracepoints(Sys sys) {
        if (sys instanceof JavaSys) kvmkmod.include.trace.Perf.start();
    }

    /** Name → value of every counter file, then the tracepoint counts, in name order; empty when nothing is readable. */
    public static Map<String, Long> read(Sys sys) {
        Map<String, Long> values = new java.util.TreeMap<>();
        if (sys instanceof JavaSys && kvmkmod.include.trace.Perf.on) {
            kvmkmod.include.trace.Perf.stop();
            values.putAll(kvmkmod.include.trace.Perf.counts());
        }
        long buf = sys.mmapAnonymous(4096);
        if (buf < 0) return values;
        ByteBuffer b = sys.buffer(buf, 64);
        for (String name : sys.readdir(DIR)) {
            int fd = sys.open(DIR + "/" + name);
            if (fd < 0) continue;
            long n = sys.read(fd, buf, 64);
            sys.close(fd);
            if (n <= 0) continue;
            byte[] text = new byte[(int) n];
            b.get(0, text);
            try {
                values.put(name, Long.parseUnsignedLong(new String(text, StandardCharsets.US_ASCII).trim()));
            } catch (NumberFormatException e) {
                // not a counter
            }
        }
        return values;
    }

    /** kvm_stat's one-shot table (kvm_stat -1): each counter with its total and its rate over the run. */
    public static String format(Map<String, Long> values, long elapsedNanos) {
        StringBuilder sb = new StringBuilder();
        if (values.isEmpty()) return "kvm_stat: no counters readable under " + DIR + "\n";
        double secs = elapsedNanos / 1e9;
        sb.append(String.format("%-28s %12s %14s%n", "kvm statistics", "total", "per second"));
        for (Map.Entry<String, Long> e : values.entrySet())
            sb.append(String.format("%-28s %12d %14.0f%n", e.getKey(), e.getValue(), secs > 0 ? e.getValue() / secs : 0));
        return sb.toString();
    }
}
