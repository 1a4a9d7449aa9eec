package kvmkmod.vmm;

import kvmkmod.guests.Guests;
import kvmkmod.hw.Backend;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Runs a guest image start to finish on any transport and returns what userspace saw: the exit log,
 * the final registers, the serial/debug output and how it ended. This is the unit of the differential
 * test: the same guest on the host's /dev/kvm, on our KVM over the host CPU and on our KVM over the
 * soft CPU must give equal {@link Observed} values.
 */
public final class GuestRunner {
    private GuestRunner() {}

    /** What a run looked like from userspace. {@link #equals} is the differential test's comparison. */
    public record Observed(Outcome outcome, List<ExitEvent> exitLog, Registers regs, String output,
                           long ioeventfdCount) {
        static Observed of(RunResult r, byte[] out) {
            return new Observed(r.outcome(), r.exitLog(), r.regs(), new String(out, StandardCharsets.ISO_8859_1),
                    r.ioeventfdCount());
        }
    }

    /** A finished run: the full result and the bytes the guest wrote to the UART and debug port. */
    public record Run(RunResult result, byte[] output) {
        public String outputText() { return new String(output, StandardCharsets.ISO_8859_1); }
        public Observed observed() { return Observed.of(result, output); }
    }

    /** Runs {@code image} under {@code cfg} (its output sink is replaced by a capture) on {@code sys}. */
    public static Run run(Sys sys, byte[] image, Vmm.Config cfg) { return run(sys, image, cfg, 0); }

    /**
     * As {@link #run(Sys, byte[], Vmm.Config)}, but a watchdog calls {@link Vmm#requestStop()} after
     * {@code timeoutMillis} (0: never), so a vCPU that never comes back ends as {@link Outcome#STOPPED}
     * — provided the kernel honours the stop (our kernel: the thread's interrupt is its signal).
     */
    public static Run run(Sys sys, byte[] image, Vmm.Config cfg, long timeoutMillis) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Vmm.Config c = cfg.copy();
        c.output = out;
        c.flushOnNewline = false;
        try (Vmm vmm = new Vmm(sys, c)) {
            vmm.loadImage(image);
            java.util.Timer watchdog = null;
            if (timeoutMillis > 0) {
                watchdog = new java.util.Timer("guest-watchdog", true);
                watchdog.schedule(new java.util.TimerTask() {
                    @Override public void run() { vmm.requestStop(); }
                }, timeoutMillis);
            }
            try {
                RunResult r = vmm.kvm_run();
                return new Run(r, out.toByteArray());
            } finally {
                if (watchdog != null) watchdog.cancel();
            }
        }
    }

    /** Runs a bundled guest with default settings and a safety limit of 100000 exits. */
    public static Run run(Sys sys, String guest) { return run(sys, guest, 0); }

    /** As {@link #run(Sys, String)}, stopped after {@code timeoutMillis} (0: never). */
    public static Run run(Sys sys, String guest, long timeoutMillis) {
        Guests.Guest g = Guests.load(guest);
        Vmm.Config c = new Vmm.Config();
        c.loadAddr = g.loadAddress;
        c.maxExits = 100_000;
        return run(sys, g.image(), c, timeoutMillis);
    }

    /** The transports by name: "real" (host /dev/kvm), "java-host", "java-soft", "java-auto". */
    public static Sys open(String transport) {
        switch (transport) {
            case "real": return new HostSys();
            case "java-host": return JavaSys.create(Backend.HOST);
            case "java-soft": return JavaSys.create(Backend.SOFT);
            case "java-auto": return JavaSys.create(Backend.AUTO);
            default: throw new IllegalArgumentException("unknown transport " + transport);
        }
    }
}
