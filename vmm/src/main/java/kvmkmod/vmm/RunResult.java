package kvmkmod.vmm;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What one {@link Vmm#kvm_run()} did: how it ended, every exit (when recorded), the exit counts by
 * reason, the final registers and the ioeventfd's count. Exits, counts and the log cover the VM's whole
 * life (every kvm_run so far); {@code elapsedNanos} is this call's time in the run loop.
 *
 * @param ioeventfdCount     times the kernel signalled the ioeventfd (in-kernel OUTs)
 * @param ioeventfdInKernel  whether KVM_IOEVENTFD was accepted
 * @param ioeventfdUserspace OUTs to the ioeventfd port that came to userspace instead
 */
public record RunResult(Outcome outcome, String message, long exits, long interrupted, long[] exitCounts,
                        List<ExitEvent> exitLog, Registers regs, long ioeventfdCount, boolean ioeventfdInKernel,
                        long ioeventfdUserspace, long elapsedNanos) {

    /** Non-zero exit counts by reason name, in KVM_EXIT_* order. */
    public Map<String, Long> countsByReason() {
        Map<String, Long> m = new LinkedHashMap<>();
        for (int i = 0; i < exitCounts.length; i++)
            if (exitCounts[i] != 0)
                m.put(i == exitCounts.length - 1 ? "OTHER" : ExitEvent.reasonName(i), exitCounts[i]);
        return m;
    }

    /** The kvm_stat-like summary printed by --stats. */
    public String stats() {
        StringBuilder sb = new StringBuilder();
        double secs = elapsedNanos / 1e9;
        sb.append(String.format("%-16s %12s %14s%n", "exit reason", "count", "per second"));
        for (Map.Entry<String, Long> e : countsByReason().entrySet())
            sb.append(String.format("%-16s %12d %14.0f%n", e.getKey(), e.getValue(), secs > 0 ? e.getValue() / secs : 0));
        sb.append(String.format("%-16s %12d%n", "total", exits));
        if (interrupted > 0) sb.append(String.format("%-16s %12d%n", "KVM_RUN -EINTR", interrupted));
        sb.append(String.format("%-16s %12d (%s)%n", "ioeventfd", ioeventfdCount,
                ioeventfdInKernel ? "in kernel" : "not registered; " + ioeventfdUserspace + " OUTs in userspace"));
        sb.append(String.format("%-16s %12.3f ms%n", "time", elapsedNanos / 1e6));
        return sb.toString();
    }
}
