package kvmkmod.vmm;

import kvmkmod.guests.Guests;
import kvmkmod.hw.Backend;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.FileNotFoundException;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code kvm-run}: runs a flat real-mode image (a bundled guest or a file) on our Java KVM module, or
 * on the host's /dev/kvm with {@code --real-kvm}. The guest's serial and debug-port output goes to
 * stdout; everything the VMM says goes to stderr.
 */
@Command(name = "kvm-run", mixinStandardHelpOptions = true, version = "kvm-run (kvm-kmod-java 2.6.33.1)",
        sortOptions = false, subcommands = {Bench.Cmd.class},
        description = {
                "Runs a 16-bit real-mode flat image in a VM with one vCPU: RAM from",
                "guest-physical 0, the image at the load address, CS=0, IP=load address.",
                "Devices: 16550 UART at 0x3f8 and debug port 0xe9 (both to stdout), value",
                "port 0x510, an ioeventfd on port 0x500 (counted inside the kernel).",
                "The kernel is our Java KVM module over --backend, or with --real-kvm the",
                "host's /dev/kvm. Guest output goes to stdout, the VMM's messages to stderr.",
                ""},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
                " 0:the guest halted (or --max-exits was reached)",
                " 1:internal error of the VMM",
                " 2:usage error (bad option or value)",
                " 3:image file not found or unreadable, or no such bundled guest",
                " 4:--real-kvm given but the host's /dev/kvm is not usable",
                " 5:the guest stopped abnormally (shutdown, failed entry, internal error, ...)",
                " 6:our Java KVM module cannot run here (not loadable, backend missing, set-up ioctl failed)",
                " 7:stopped by --timeout before the guest halted"})
public final class Main implements Callable<Integer> {
    public static final int EXIT_OK = 0, EXIT_INTERNAL = 1, EXIT_USAGE = 2, EXIT_NO_IMAGE = 3, EXIT_NO_DEV_KVM = 4,
            EXIT_GUEST_ABNORMAL = 5, EXIT_NO_KVM_MODULE = 6, EXIT_TIMEOUT = 7;

    enum BackendOption { soft, host, auto }

    @Option(names = "--backend", paramLabel = "soft|host|auto", defaultValue = "auto",
            description = "native layer under our Java KVM: soft CPU, host CPU, or host when usable (default: ${DEFAULT-VALUE})")
    BackendOption backend;

    @Option(names = "--real-kvm", description = "talk to the host's /dev/kvm directly instead of our module")
    boolean realKvm;

    @Option(names = {"-g", "--guest"}, paramLabel = "NAME", description = "run a bundled guest (see --list)")
    String guest;

    @Parameters(index = "0", arity = "0..1", paramLabel = "IMAGE", description = "a flat binary image to run")
    Path image;

    @Option(names = "--list", description = "list the bundled guests and exit")
    boolean list;

    @Option(names = "--mem", paramLabel = "SIZE", defaultValue = "1M", converter = SizeConverter.class,
            description = "guest RAM, bytes with optional K/M/G suffix (default: ${DEFAULT-VALUE})")
    long mem;

    @Option(names = "--load-addr", paramLabel = "ADDR", converter = AddressConverter.class,
            description = "guest-physical load address and start IP (default: the guest's own, else 0x7c00)")
    Long loadAddr;

    @Option(names = "--max-exits", paramLabel = "N", defaultValue = "0",
            description = "stop after N userspace exits; 0 for no limit (default)")
    long maxExits;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "0",
            description = "ask the vCPU to stop after this long; 0 for never (default)")
    long timeout;

    @Option(names = "--value", paramLabel = "V", converter = AddressConverter.class,
            description = "what the value port 0x510 returns (default 0x1234abcd)")
    Long value;

    @Option(names = "--input", paramLabel = "TEXT", description = "bytes waiting in the UART's receive buffer")
    String input;

    @Option(names = "--trace", description = "function-graph trace of the kernel side (ftrace style) to stderr or --trace-file")
    boolean trace;

    @Option(names = "--trace-file", paramLabel = "FILE", description = "write the trace here (implies --trace)")
    Path traceFile;

    @Option(names = "--stats", description = "print exit counts by reason at the end, then the kernel's counters as kvm_stat shows them (stderr)")
    boolean stats;

    @Option(names = "--log-exits", description = "print every userspace exit at the end (stderr)")
    boolean logExits;

    @Option(names = "--break", paramLabel = "ADDR", converter = AddressConverter.class,
            description = "soft processor only: stop before the instruction at this guest linear address and print the guest state (stderr); repeatable")
    java.util.List<Long> breakpoints = new java.util.ArrayList<>();

    @Option(names = "--step", description = "soft processor only: print the guest registers before every instruction (stderr)")
    boolean step;

    @Option(names = "--param", paramLabel = "NAME=VALUE",
            description = "a module parameter of kvm.ko / kvm-intel.ko, as given to modprobe: ept, oos_shadow, vpid, "
                    + "flexpriority, unrestricted_guest, emulate_invalid_guest_state, bypass_guest_pf (1/0, Y/N), ple_gap, ple_window "
                    + "(integers); repeatable")
    java.util.List<String> params = new java.util.ArrayList<>();

    @Option(names = "--hugepages", description = "back guest RAM with 2 MiB host pages (hugetlbfs), so the MMU may map it with large pages")
    boolean hugePages;

    @Option(names = "--mmu-view", paramLabel = "text|svg[=FILE]",
            description = "when the guest stops, show the vCPU's EPT or shadow page tables as text or SVG (stderr, or FILE)")
    String mmuView;

    @picocli.CommandLine.Spec CommandLine.Model.CommandSpec spec;

    PrintStream out = System.out, err = System.err;

    public static void main(String[] args) {
        int code = run(args, System.out, System.err);
        System.out.flush();
        if (code != 0) System.exit(code);
    }

    /** Runs the command line; returns the exit code instead of exiting (for tests). */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        Main m = new Main();
        m.out = out;
        m.err = err;
        CommandLine cl = new CommandLine(m);
        cl.setOut(new java.io.PrintWriter(out, true));
        cl.setErr(new java.io.PrintWriter(err, true));
        cl.setParameterExceptionHandler((ex, a) -> {
            err.println("kvm-run: " + ex.getMessage() + " (try --help)");
            return EXIT_USAGE;
        });
        cl.setExecutionExceptionHandler((ex, c, parse) -> {
            err.println("kvm-run: internal error: " + ex);
            ex.printStackTrace(err);
            return EXIT_INTERNAL;
        });
        for (CommandLine sub : cl.getSubcommands().values()) {
            sub.setOut(new java.io.PrintWriter(out, true));
            sub.setErr(new java.io.PrintWriter(err, true));
            sub.setParameterExceptionHandler(cl.getParameterExceptionHandler());
            sub.setExecutionExceptionHandler(cl.getExecutionExceptionHandler());
        }
        return cl.execute(args);
    }

    /** One clear line on stderr, and the code to exit with. */
    private int fail(int code, String msg) {
        err.println("kvm-run: " + msg);
        return code;
    }

    @Override public Integer call() {
        if (list) {
            for (String n : Guests.names()) out.printf("%-10s %s%n", n, Guests.load(n).description);
            return EXIT_OK;
        }
        if (realKvm && spec.commandLine().getParseResult().hasMatchedOption("--backend"))
            return fail(EXIT_USAGE, "--backend chooses what runs under our Java KVM; it makes no sense with --real-kvm");
        if (guest != null && image != null) return fail(EXIT_USAGE, "give either --guest NAME or an IMAGE, not both (try --help)");
        if (guest == null && image == null) return fail(EXIT_USAGE, "nothing to run: give --guest NAME or an IMAGE path (try --help)");
        if (mem < 4096 || mem > Integer.MAX_VALUE) return fail(EXIT_USAGE, "--mem must be between 4K and 2047M");
        if (maxExits < 0) return fail(EXIT_USAGE, "--max-exits must not be negative");
        if (timeout < 0) return fail(EXIT_USAGE, "--timeout must not be negative");
        boolean debugging = step || !breakpoints.isEmpty();
        if (debugging && (realKvm || (backend.name().equalsIgnoreCase("host")
                || (backend.name().equalsIgnoreCase("auto") && kvmkmod.hw.Platform.hostUsable()))))
            return fail(EXIT_USAGE, "--break and --step need the soft processor: add --backend soft");

        byte[] bytes;
        long load;
        if (guest != null) {
            if (!Guests.exists(guest))
                return fail(EXIT_NO_IMAGE, "no bundled guest '" + guest + "' (known: " + String.join(", ", Guests.names()) + ")");
            Guests.Guest g = Guests.load(guest);
            bytes = g.image();
            load = loadAddr != null ? loadAddr : g.loadAddress;
        } else {
            try {
                bytes = Files.readAllBytes(image);
            } catch (NoSuchFileException e) {
                return fail(EXIT_NO_IMAGE, "image not found: " + image);
            } catch (IOException e) {
                return fail(EXIT_NO_IMAGE, "cannot read image " + image + ": " + e.getMessage());
            }
            if (bytes.length == 0) return fail(EXIT_NO_IMAGE, "image is empty: " + image);
            load = loadAddr != null ? loadAddr : 0x7c00;
        }
        if (load + bytes.length > mem)
            return fail(EXIT_USAGE, String.format("the image (%d bytes at %#x) does not fit in --mem %d", bytes.length, load, mem));

        kvmkmod.vmx.KvmIntel.Params moduleParams = new kvmkmod.vmx.KvmIntel.Params();
        for (String p : params) {
            String why = setParam(moduleParams, p);
            if (why != null) return fail(EXIT_USAGE, "--param " + p + ": " + why);
        }
        if (realKvm && (!params.isEmpty() || mmuView != null))
            return fail(EXIT_USAGE, "--param and --mmu-view are for our Java KVM module, not --real-kvm");
        if (mmuView != null && !mmuView.matches("(text|svg)(=.+)?"))
            return fail(EXIT_USAGE, "--mmu-view takes text or svg, optionally =FILE (e.g. svg=mmu.svg)");

        Sys sys;
        if (realKvm) {
            String why = HostSys.whyNotUsable();
            if (why != null) return fail(EXIT_NO_DEV_KVM, "--real-kvm: " + why);
            sys = new HostSys();
        } else {
            try {
                sys = JavaSys.create(Backend.valueOf(backend.name().toUpperCase()), moduleParams);
            } catch (Throwable t) {
                return fail(EXIT_NO_KVM_MODULE, "our KVM module cannot run on --backend=" + backend + ": " + JavaSys.describe(t)
                        + " (--real-kvm uses the host's /dev/kvm)");
            }
        }

        PrintStream traceOut = null;
        try (Sys s = sys) {
            if (trace || traceFile != null) {
                if (traceFile != null) {
                    try {
                        traceOut = new PrintStream(new FileOutputStream(traceFile.toFile()), false, StandardCharsets.UTF_8);
                    } catch (FileNotFoundException e) {
                        return fail(EXIT_USAGE, "cannot write --trace-file " + traceFile + ": " + e.getMessage());
                    }
                }
                Tracing.enable(traceOut != null ? traceOut : err);
            }
            if (debugging) attachDebugger(((JavaSys) s).platform());
            Vmm.Config cfg = new Vmm.Config();
            cfg.memSize = mem;
            cfg.hugePages = hugePages;
            cfg.loadAddr = load;
            cfg.maxExits = maxExits;
            cfg.recordExits = logExits;
            cfg.output = out;
            if (value != null) cfg.valuePortValue = (int) (long) value;
            RunResult r;
            java.util.Map<String, Long> kernelStats = java.util.Map.of();
            try (Vmm vmm = new Vmm(s, cfg)) {
                if (input != null) vmm.serial.feed(input.getBytes(StandardCharsets.ISO_8859_1));
                if (vmm.ioeventfdError() != null) err.println("kvm-run: note: " + vmm.ioeventfdError());
                vmm.loadImage(bytes);
                java.util.Timer watchdog = null;
                if (timeout > 0) {
                    watchdog = new java.util.Timer("kvm-run-timeout", true);
                    watchdog.schedule(new java.util.TimerTask() {
                        @Override public void run() { vmm.requestStop(); }
                    }, timeout * 1000);
                }
                if (stats) KvmStat.startTracepoints(s);
                try {
                    r = vmm.kvm_run();
                    // the counters sum over live VMs: read them before this one is closed
                    if (stats) kernelStats = KvmStat.read(s);
                } finally {
                    if (watchdog != null) watchdog.cancel();
                }
                if (mmuView != null) {
                    String why = showMmu((JavaSys) s);
                    if (why != null) return fail(EXIT_USAGE, why);
                }
            } catch (Vmm.VmmException e) {
                return fail(realKvm ? EXIT_INTERNAL : EXIT_NO_KVM_MODULE, "setting up the VM on " + s.name() + ": " + e.getMessage());
            } finally {
                Tracing.disable();
            }
            out.flush();
            if (logExits) for (ExitEvent e : r.exitLog()) err.println(e);
            if (stats) {
                err.print(r.stats());
                err.print(KvmStat.format(kernelStats, r.elapsedNanos()));
            }
            if (r.outcome().abnormal) {
                err.println("kvm-run: guest stopped abnormally: " + r.outcome() + ": " + r.message());
                err.println("kvm-run: registers: " + r.regs());
                return EXIT_GUEST_ABNORMAL;
            }
            if (r.outcome() == Outcome.STOPPED)
                return fail(EXIT_TIMEOUT, "stopped by --timeout after " + timeout + " s and " + r.exits() + " exits; rip=0x"
                        + Long.toHexString(r.regs().rip()));
            if (r.outcome() == Outcome.MAX_EXITS) err.println("kvm-run: stopped after " + r.exits() + " exits (--max-exits)");
            return EXIT_OK;
        } finally {
            if (traceOut != null) traceOut.close();
        }
    }

    /** Sets one NAME=VALUE module parameter with 2.6.33's names; the reason when it cannot. */
    static String setParam(kvmkmod.vmx.KvmIntel.Params p, String nameValue) {
        int eq = nameValue.indexOf('=');
        if (eq < 0) return "expected NAME=VALUE";
        String name = nameValue.substring(0, eq).trim(), v = nameValue.substring(eq + 1).trim();
        if (name.equals("ple_gap") || name.equals("ple_window")) {   // vmx.c: int parameters
            int n;
            try {
                n = Integer.decode(v);
            } catch (NumberFormatException e) {
                return "the value must be an integer";
            }
            if (n < 0) return "the value must not be negative";
            if (name.equals("ple_gap")) p.ple_gap = n; else p.ple_window = n;
            return null;
        }
        boolean on;
        if (v.equals("1") || v.equalsIgnoreCase("y") || v.equalsIgnoreCase("true")) on = true;
        else if (v.equals("0") || v.equalsIgnoreCase("n") || v.equalsIgnoreCase("false")) on = false;
        else return "the value must be 1/0, Y/N or true/false";
        switch (name) {
            case "ept": p.enable_ept = on; break;
            case "oos_shadow": p.oos_shadow = on; break;
            case "vpid": p.enable_vpid = on; break;
            case "flexpriority": p.flexpriority_enabled = on; break;
            case "unrestricted_guest": p.enable_unrestricted_guest = on; break;
            case "emulate_invalid_guest_state": p.emulate_invalid_guest_state = on; break;
            case "bypass_guest_pf": p.bypass_guest_pf = on; break;
            default: return "no such parameter (known: ept, oos_shadow, vpid, flexpriority, unrestricted_guest, "
                    + "emulate_invalid_guest_state, bypass_guest_pf, ple_gap, ple_window)";
        }
        return null;
    }

    /** Writes the --mmu-view of the VM's vCPU while it still exists; the reason when it cannot. */
    private String showMmu(JavaSys s) {
        boolean svg = mmuView.startsWith("svg");
        String view = MmuView.render(s, svg);
        if (view == null) return "--mmu-view: the VM has no vCPU";
        int eq = mmuView.indexOf('=');
        if (eq < 0) {
            err.print(view);
            return null;
        }
        try {
            Files.writeString(Path.of(mmuView.substring(eq + 1)), view);
        } catch (IOException e) {
            return "cannot write --mmu-view file " + mmuView.substring(eq + 1) + ": " + e.getMessage();
        }
        return null;
    }

    /** Breakpoints and single-step on every soft processor; each stop prints to stderr. */
    private void attachDebugger(kvmkmod.hw.Platform platform) {
        for (int i = 0; i < platform.num_possible_cpus(); i++) {
            kvmkmod.hw.soft.SoftCpu cpu = (kvmkmod.hw.soft.SoftCpu) platform.cpu(i);
            for (long b : breakpoints) cpu.addBreakpoint(b);
            cpu.setSingleStep(step);
            cpu.setDebugger((c, rip, bp) -> {
                long[] r = c.regs();
                if (bp) err.printf("kvm-run: breakpoint at %#x%n%s", rip, c.guestStateDump());
                else err.printf("kvm-run: step %#x rax=%x rbx=%x rcx=%x rdx=%x rsi=%x rdi=%x rsp=%x rbp=%x%n", rip,
                        r[0], r[3], r[1], r[2], r[6], r[7], r[4], r[5]);
                return step;
            });
        }
    }

    /** "1048576", "64K", "1M", "1G". */
    static final class SizeConverter implements CommandLine.ITypeConverter<Long> {
        @Override public Long convert(String v) {
            String s = v.trim().toUpperCase();
            long mul = 1;
            if (s.endsWith("K")) mul = 1L << 10; else if (s.endsWith("M")) mul = 1L << 20; else if (s.endsWith("G")) mul = 1L << 30;
            if (mul != 1) s = s.substring(0, s.length() - 1);
            try {
                return Math.multiplyExact(Long.decode(s), mul);
            } catch (NumberFormatException | ArithmeticException e) {
                throw new CommandLine.TypeConversionException("'" + v + "' is not a size (e.g. 1M, 64K, 1048576)");
            }
        }
    }

    /** Decimal, or hex with 0x. */
    static final class AddressConverter implements CommandLine.ITypeConverter<Long> {
        @Override public Long convert(String v) {
            try {
                long a = Long.decode(v.trim());
                if (a < 0) throw new NumberFormatException();
                return a;
            } catch (NumberFormatException e) {
                throw new CommandLine.TypeConversionException("'" + v + "' is not an address or number (e.g. 0x7c00)");
            }
        }
    }
}
