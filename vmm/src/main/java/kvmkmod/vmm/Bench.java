package kvmkmod.vmm;

import kvmkmod.guests.Guests;
import kvmkmod.hw.Backend;
import kvmkmod.hw.soft.SoftCpuBench;
import kvmkmod.include.Kvm_h;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.OutputStream;
import java.util.Arrays;
import java.util.concurrent.Callable;
import java.util.function.Supplier;

/**
 * The exit benchmark: the {@code bench-out} guest ({@code out dx,al; jmp} forever) run for N exits after
 * a warm-up, timed three ways:
 * <ol type="a">
 *   <li>the whole stack: this VMM over {@link JavaSys}, our KVM module on the HOST backend;</li>
 *   <li>the baseline: a bare loop of KVM_RUN on the host's /dev/kvm through JNA (no exit handling);</li>
 *   <li>this VMM over {@link HostSys}: what the VMM's own exit handling adds to (b).</li>
 * </ol>
 * Each figure is the median of several runs; the ratio (a)/(b) is time per exit.
 */
public final class Bench {
    private Bench() {}

    /** {@code java kvmkmod.vmm.Bench [options]} is {@code kvm-run bench [options]}. */
    public static void main(String[] args) {
        String[] a = new String[args.length + 1];
        a[0] = "bench";
        System.arraycopy(args, 0, a, 1, args.length);
        Main.main(a);
    }

    /** One timed configuration; {@code unavailable} is non-null when it could not run. */
    public record Measurement(String label, long exits, long nanos, String unavailable) {
        static Measurement unavailable(String label, String why) { return new Measurement(label, 0, 0, why); }
        public boolean ok() { return unavailable == null; }
        public double exitsPerSecond() { return exits / (nanos / 1e9); }
        public double usPerExit() { return nanos / 1e3 / exits; }
        @Override public String toString() {
            return ok() ? String.format("%-58s %10.0f exits/s %8.3f us/exit", label, exitsPerSecond(), usPerExit())
                    : String.format("%-58s unavailable: %s", label, unavailable);
        }
    }

    static Vmm.Config benchConfig() {
        Guests.Guest g = Guests.load("bench-out");
        Vmm.Config c = new Vmm.Config();
        c.loadAddr = g.loadAddress;
        c.recordExits = false;
        c.output = OutputStream.nullOutputStream();
        c.ioeventfdPort = -1;
        return c;
    }

    /** The VMM's own run loop over a transport: warm-up exits, then {@code n} timed exits. */
    public static Measurement vmmLoop(String label, Supplier<Sys> transport, long n, long warmup) {
        return vmmLoop(label, transport, n, warmup, 0);
    }

    /**
     * As {@link #vmmLoop(String, Supplier, long, long)}, stopped by a watchdog ({@link Vmm#requestStop})
     * after {@code timeoutSeconds} (0: none), when it reports "unavailable: timed out".
     */
    public static Measurement vmmLoop(String label, Supplier<Sys> transport, long n, long warmup, long timeoutSeconds) {
        Sys sys;
        try {
            sys = transport.get();
        } catch (Throwable t) {
            return Measurement.unavailable(label, JavaSys.describe(t));
        }
        java.util.concurrent.ScheduledExecutorService watchdog = null;
        try (Sys s = sys; Vmm vmm = new Vmm(s, benchConfig())) {
            if (timeoutSeconds > 0) {
                watchdog = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                    Thread t = new Thread(r, "bench-watchdog");
                    t.setDaemon(true);
                    return t;
                });
                watchdog.schedule(vmm::requestStop, timeoutSeconds, java.util.concurrent.TimeUnit.SECONDS);
            }
            vmm.loadImage(Guests.load("bench-out").image());
            if (warmup > 0) {   // (a limit of 0 would mean none)
                vmm.maxExits(warmup);
                RunResult w = vmm.kvm_run();
                if (w.outcome() == Outcome.STOPPED) return Measurement.unavailable(label, "timed out after " + timeoutSeconds + " s in warm-up");
                if (w.outcome() != Outcome.MAX_EXITS) return Measurement.unavailable(label, "warm-up ended with " + w.outcome() + ": " + w.message());
            }
            vmm.maxExits(warmup + n);
            RunResult r = vmm.kvm_run();
            if (r.outcome() == Outcome.STOPPED) return Measurement.unavailable(label, "timed out after " + timeoutSeconds + " s");
            if (r.outcome() != Outcome.MAX_EXITS) return Measurement.unavailable(label, "run ended with " + r.outcome() + ": " + r.message());
            return new Measurement(label, n, r.elapsedNanos(), null);
        } catch (Throwable t) {
            return Measurement.unavailable(label, JavaSys.describe(t));
        } finally {
            if (watchdog != null) watchdog.shutdownNow();
        }
    }

    /** The baseline: KVM_RUN in a tight loop on the host's /dev/kvm, nothing done with the exits. */
    public static Measurement bareLoop(String label, long n, long warmup) { return bareLoop(label, n, warmup, 0); }

    /** As {@link #bareLoop(String, long, long)}, giving up after {@code timeoutSeconds} (0: never). */
    public static Measurement bareLoop(String label, long n, long warmup, long timeoutSeconds) {
        String why = HostSys.whyNotUsable();
        if (why != null) return Measurement.unavailable(label, why);
        try (HostSys s = new HostSys(); Vmm vmm = new Vmm(s, benchConfig())) {
            vmm.loadImage(Guests.load("bench-out").image());
            int fd = vmm.vcpuFd();
            long deadline = timeoutSeconds > 0 ? System.nanoTime() + timeoutSeconds * 1_000_000_000L : Long.MAX_VALUE;
            for (long i = 0; i < warmup; i++) {
                if (s.ioctl(fd, Kvm_h.KVM_RUN, 0) < 0) return Measurement.unavailable(label, "KVM_RUN failed in warm-up");
                if ((i & 4095) == 0 && System.nanoTime() > deadline)
                    return Measurement.unavailable(label, "timed out after " + timeoutSeconds + " s in warm-up");
            }
            long t0 = System.nanoTime();
            for (long i = 0; i < n; i++) {
                if (s.ioctl(fd, Kvm_h.KVM_RUN, 0) < 0) return Measurement.unavailable(label, "KVM_RUN failed");
                if ((i & 4095) == 0 && System.nanoTime() > deadline)
                    return Measurement.unavailable(label, "timed out after " + timeoutSeconds + " s");
            }
            long t = System.nanoTime() - t0;
            if (vmm.kvmRun().exit_reason() != Kvm_h.KVM_EXIT_IO)
                return Measurement.unavailable(label, "last exit was " + ExitEvent.reasonName(vmm.kvmRun().exit_reason()) + ", not IO");
            return new Measurement(label, n, t, null);
        } catch (Throwable t) {
            return Measurement.unavailable(label, JavaSys.describe(t));
        }
    }

    /** The median of {@code runs} measurements (by time), or the first unavailable one. */
    static Measurement median(int runs, Supplier<Measurement> m) {
        Measurement[] all = new Measurement[runs];
        for (int i = 0; i < runs; i++) {
            all[i] = m.get();
            if (!all[i].ok()) return all[i];
        }
        Arrays.sort(all, (x, y) -> Long.compare(x.nanos(), y.nanos()));
        return all[runs / 2];
    }

    /** Thread CPU time of {@code m}, which runs the guest on this thread: {nanoseconds, its measurement}. */
    private static Object[] cpuTimed(Supplier<Measurement> m) {
        java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
        long c0 = threads.getCurrentThreadCpuTime();
        Measurement r = m.get();
        return new Object[]{threads.getCurrentThreadCpuTime() - c0, r};
    }

    /** Guest instructions per exit of bench-out: the OUT and the JMP back to it. */
    static final int BENCH_OUT_INSTRUCTIONS = 2;

    /**
     * The soft processor's speed in guest MIPS per CPU second: (a) and (b) are {@link SoftCpuBench}'s register
     * and paging loops; (c) is bench-out through the whole stack (this VMM, our KVM, vmx.c, the soft backend).
     * For (c) the CPU time of a run of {@code 2n} exits less that of a run of {@code n} leaves out set-up and
     * warm-up; the median of {@code runs} such differences is shown.
     */
    static void softCpu(java.io.PrintWriter out, long n, long warmup, int runs, long timeout) {
        java.io.PrintStream quiet = new java.io.PrintStream(OutputStream.nullOutputStream());
        out.printf("(a) soft CPU, register loop (add ebx,eax; inc eax; dec ecx; jnz):   %7.1f MIPS per CPU second%n",
                SoftCpuBench.registerLoop(100_000_000L, runs, quiet));
        out.flush();
        out.printf("(b) soft CPU, 64-bit 4-level paging + EPT loop over 2048 pages:      %7.1f MIPS per CPU second%n",
                SoftCpuBench.pagingLoop(5_000_000L, runs, quiet));
        out.flush();
        Supplier<Measurement> one = () -> vmmLoop("bench-out", () -> JavaSys.create(Backend.SOFT), n, warmup, timeout);
        Supplier<Measurement> two = () -> vmmLoop("bench-out", () -> JavaSys.create(Backend.SOFT), 2 * n, warmup, timeout);
        one.get(); // JIT warm-up
        long[] perExit = new long[runs];
        for (int i = 0; i < runs; i++) {
            Object[] a = cpuTimed(one), b = cpuTimed(two);
            Measurement ma = (Measurement) a[1], mb = (Measurement) b[1];
            if (!ma.ok() || !mb.ok()) {
                out.printf("(c) exit loop through the whole stack: unavailable: %s%n", ma.ok() ? mb.unavailable() : ma.unavailable());
                return;
            }
            perExit[i] = Math.max(1, ((long) b[0] - (long) a[0]) / n);
        }
        Arrays.sort(perExit);
        double ns = perExit[runs / 2];
        out.printf("(c) kvm-run -> our Java KVM -> soft CPU, bench-out (out dx,al; jmp):  %7.1f MIPS per CPU second"
                + " (%.0f exits/s, %.2f us per exit)%n", BENCH_OUT_INSTRUCTIONS * 1e3 / ns, 1e9 / ns, ns / 1e3);
        out.flush();
    }

    @Command(name = "bench", mixinStandardHelpOptions = true, sortOptions = false,
            description = {"Times exits of the bench-out guest, three ways:",
                    "  (a) this VMM over our Java KVM on --backend (default host),",
                    "  (b) a bare JNA loop of KVM_RUN on the host's /dev/kvm,",
                    "  (c) this VMM on the host's /dev/kvm.",
                    "Prints exits/s and microseconds per exit for each, and the ratio (a)/(b).",
                    "With --cpu, instead the soft processor's guest MIPS: (a) a register loop, (b) a paging-heavy",
                    "loop, (c) bench-out through the whole stack on the soft backend.", ""})
    static final class Cmd implements Callable<Integer> {
        @Option(names = {"-n", "--exits"}, paramLabel = "N", defaultValue = "200000", description = "timed exits per run (default: ${DEFAULT-VALUE})")
        long exits;

        @Option(names = "--warmup", paramLabel = "N", defaultValue = "50000", description = "exits before timing starts (default: ${DEFAULT-VALUE})")
        long warmup;

        @Option(names = "--runs", paramLabel = "R", defaultValue = "3", description = "runs per configuration; the median is shown (default: ${DEFAULT-VALUE})")
        int runs;

        @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "300",
                description = "give up on a configuration's run after this long (default: ${DEFAULT-VALUE})")
        long timeout;

        @Option(names = "--backend", paramLabel = "soft|host|auto", defaultValue = "host",
                description = "native backend under our KVM for (a) (default: ${DEFAULT-VALUE})")
        Main.BackendOption backend;

        @Option(names = "--cpu", description = "the soft processor's guest MIPS instead (register loop, paging loop, exit loop)")
        boolean cpu;

        @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

        @Override public Integer call() {
            java.io.PrintWriter out = spec.commandLine().getOut();
            java.io.PrintWriter err = spec.commandLine().getErr();
            if (exits <= 0 || warmup < 0 || runs <= 0) {
                err.println("kvm-run bench: --exits and --runs must be positive, --warmup not negative");
                return Main.EXIT_USAGE;
            }
            if (cpu) {
                softCpu(out, exits, warmup, runs, timeout);
                return Main.EXIT_OK;
            }
            Backend b = Backend.valueOf(backend.name().toUpperCase());
            out.printf("bench-out: %d timed exits after %d warm-up exits, median of %d runs%n", exits, warmup, runs);
            out.flush();
            Measurement a = median(runs, () -> vmmLoop("(a) kvm-run -> our Java KVM -> " + backend + " backend",
                    () -> JavaSys.create(b), exits, warmup, timeout));
            out.println(a);
            out.flush();
            Measurement bare = median(runs, () -> bareLoop("(b) bare KVM_RUN loop on the host /dev/kvm (JNA)", exits, warmup, timeout));
            out.println(bare);
            out.flush();
            Measurement c = median(runs, () -> vmmLoop("(c) kvm-run -> host /dev/kvm (JNA)", HostSys::new, exits, warmup, timeout));
            out.println(c);
            if (a.ok() && bare.ok())
                out.printf("ratio (a)/(b): %.2fx the time per exit%n", a.usPerExit() / bare.usPerExit());
            else
                out.printf("ratio (a)/(b): unavailable: %s%n", a.ok() ? bare.unavailable() : a.unavailable());
            if (c.ok() && bare.ok())
                out.printf("ratio (c)/(b): %.2fx (the VMM's exit handling over the bare loop)%n", c.usPerExit() / bare.usPerExit());
            out.flush();
            return Main.EXIT_OK;
        }
    }
}
