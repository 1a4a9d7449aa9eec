package kvmkmod.vmm;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What the kvm_stat script does with debugfs: every file under kvm/ is one of the module's counters
 * (x86.c's debugfs_entries[], summed over all VMs and vCPUs by kvm_main.c); read each and print name and
 * value. Works on any {@link Sys}: our kernel's debugfs, or the host's when it is mounted and readable.
 */
public final class KvmStat {
    private KvmStat() {}

    public static final String DIR = "/sys/kernel/debug/kvm";

    /** Name → value of every counter file, in name order; empty when debugfs cannot be read. */
    public static Map<String, Long> read(Sys sys) {
        Map<String, Long> values = new LinkedHashMap<>();
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
        sb.append(String.format("%-22s %12s %14s%n", "kvm statistics", "total", "per second"));
        for (Map.Entry<String, Long> e : values.entrySet())
            sb.append(String.format("%-22s %12d %14.0f%n", e.getKey(), e.getValue(), secs > 0 ? e.getValue() / secs : 0));
        return sb.toString();
    }
}
