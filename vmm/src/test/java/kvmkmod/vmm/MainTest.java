package kvmkmod.vmm;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The kvm-run command line: help, usage errors, missing images, running guests on the real /dev/kvm. */
class MainTest {

    record Outcome(int code, String out, String err) {
        long errLines() { return err.lines().count(); }
    }

    static Outcome run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int code = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Outcome(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void helpExitsZero() {
        Outcome o = run("--help");
        assertThat(o.code()).isZero();
        assertThat(o.out()).contains("Usage: kvm-run").contains("--real-kvm").contains("--backend").contains("Exit codes:");
        assertThat(o.err()).isEmpty();
    }

    @Test
    void benchHelpExitsZero() {
        Outcome o = run("bench", "--help");
        assertThat(o.code()).isZero();
        assertThat(o.out()).contains("Usage: kvm-run bench");
    }

    @Test
    void listShowsTheGuests() {
        Outcome o = run("--list");
        assertThat(o.code()).isZero();
        assertThat(o.out()).contains("hello").contains("pio-both").contains("in-read").contains("bench-out");
    }

    @Test
    void badFlagIsAUsageErrorOnOneLine() {
        Outcome o = run("--no-such-flag");
        assertThat(o.code()).isEqualTo(Main.EXIT_USAGE).isEqualTo(2);
        assertThat(o.errLines()).isEqualTo(1);
        assertThat(o.err()).startsWith("kvm-run: ").contains("--no-such-flag");
    }

    @Test
    void badValueIsAUsageErrorOnOneLine() {
        Outcome o = run("--guest", "hello", "--mem", "lots");
        assertThat(o.code()).isEqualTo(2);
        assertThat(o.errLines()).isEqualTo(1);
        assertThat(o.err()).contains("lots");
        Outcome b = run("--guest", "hello", "--backend", "vmware");
        assertThat(b.code()).isEqualTo(2);
        assertThat(b.errLines()).isEqualTo(1);
    }

    @Test
    void backendWithRealKvmIsAUsageError() {
        Outcome o = run("--real-kvm", "--backend=soft", "--guest", "hello");
        assertThat(o.code()).isEqualTo(2);
        assertThat(o.errLines()).isEqualTo(1);
    }

    @Test
    void nothingToRunIsAUsageError() {
        Outcome o = run();
        assertThat(o.code()).isEqualTo(2);
        assertThat(o.errLines()).isEqualTo(1);
    }

    @Test
    void missingImageExitsThreeWithOneLine() {
        Outcome o = run("--real-kvm", "/no/such/image.bin");
        assertThat(o.code()).isEqualTo(Main.EXIT_NO_IMAGE).isEqualTo(3);
        assertThat(o.errLines()).isEqualTo(1);
        assertThat(o.err()).isEqualTo("kvm-run: image not found: /no/such/image.bin" + System.lineSeparator());
    }

    @Test
    void unknownGuestExitsThreeWithOneLine() {
        Outcome o = run("--guest", "no-such-guest");
        assertThat(o.code()).isEqualTo(3);
        assertThat(o.errLines()).isEqualTo(1);
        assertThat(o.err()).contains("no-such-guest").contains("hello");
    }

    @Test
    void helloOnTheRealKvm() {
        Transports.realKvm("MainTest.helloOnTheRealKvm").close();
        Outcome o = run("--real-kvm", "--guest", "hello", "--stats");
        assertThat(o.code()).isZero();
        assertThat(o.out()).isEqualTo("Hello from the guest!\n");
        assertThat(o.err()).contains("IO").contains("44").contains("HLT");
    }

    /** --stats ends with the module's own counters, read from its debugfs as kvm_stat reads them. */
    @Test
    void statsPrintTheKernelCountersLikeKvmStat() {
        Outcome o = run("--backend", "soft", "--guest", "hello", "--stats");
        assertThat(o.code()).isZero();
        assertThat(o.out()).isEqualTo("Hello from the guest!\n");
        java.util.Map<String, Long> k = new java.util.HashMap<>();
        assertThat(o.err()).contains("kvm statistics");
        for (String line : o.err().substring(o.err().indexOf("kvm statistics")).split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length == 3 && f[1].matches("\\d+")) k.put(f[0], Long.parseLong(f[1]));
        }
        assertThat(o.err()).contains("kvm statistics");
        // hello polls the UART's line status before each of its 22 characters, then halts
        assertThat(k.get("io_exits")).isEqualTo(44);
        assertThat(k.get("halt_exits")).isEqualTo(1);
        assertThat(k.get("exits")).isGreaterThanOrEqualTo(45);
        assertThat(k).containsKeys("insn_emulation", "mmio_exits", "signal_exits", "hypercalls", "irq_exits",
                "pf_fixed", "largepages", "mmu_shadow_zapped", "request_irq", "irq_window");
        // and the kvm_exit tracepoint by reason
        assertThat(k.get("kvm_exit(io_instruction)")).isEqualTo(44);
        assertThat(k.get("kvm_exit(halt)")).isEqualTo(1);
        assertThat(k.keySet().stream().filter(n -> n.startsWith("kvm_exit(")).mapToLong(k::get).sum()).isEqualTo(k.get("exits"));
        assertThat(k.keySet().stream().filter(n -> !n.startsWith("kvm_exit("))).hasSize(32);
    }

    /** The shadow MMU's VM counters (kvm->stat) count what the paging guest makes it do with ept=0. */
    @Test
    void statsCountTheShadowMmusWork() {
        Outcome o = run("--backend", "soft", "--guest", "paging", "--param", "ept=0", "--param", "oos_shadow=0", "--stats");
        assertThat(o.code()).as(o.err()).isZero();
        java.util.Map<String, Long> k = new java.util.HashMap<>();
        for (String line : o.err().substring(o.err().indexOf("kvm statistics")).split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length == 3 && f[1].matches("\\d+")) k.put(f[0], Long.parseLong(f[1]));
        }
        // shadow pages are created on first use, the guest edits a live PTE (emulated: mmu_pte_write and a
        // leaf entry re-made by mmu_pte_updated), and every fault the MMU maps counts in pf_fixed
        assertThat(k.get("mmu_cache_miss")).isPositive();
        assertThat(k.get("mmu_pte_write")).isPositive();
        assertThat(k.get("mmu_pte_updated")).isPositive();
        assertThat(k.get("pf_fixed")).isPositive();
        assertThat(k.get("mmu_unsync")).as("oos_shadow=0 never unsyncs").isZero();
    }

    @Test
    void imageFileWithLoadAddress(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Transports.realKvm("MainTest.imageFileWithLoadAddress").close();
        // mov al,'K'; out 0xe9,al; hlt - position independent, so any load address works
        Path img = dir.resolve("k.bin");
        Files.write(img, new byte[] {(byte) 0xb0, 'K', (byte) 0xe6, (byte) 0xe9, (byte) 0xf4});
        Outcome o = run("--real-kvm", "--load-addr", "0x1000", "--mem", "64K", "--log-exits", img.toString());
        assertThat(o.code()).isZero();
        assertThat(o.out()).isEqualTo("K");
        assertThat(o.err()).contains("IO out port=0xe9 size=1 count=1 data=4b").contains("HLT");
    }

    @Test
    void traceFileGetsTheTrace(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Transports.realKvm("MainTest.traceFileGetsTheTrace").close();
        Path trace = dir.resolve("trace.txt");
        Outcome o = run("--real-kvm", "--guest", "pio-both", "--trace-file", trace.toString());
        assertThat(o.code()).isZero();
        assertThat(o.out()).isEqualTo("12345\n");
        assertThat(Files.readString(trace)).contains("vmm_exit: IO out port=0x3f8 size=1 count=1 data=31")
                .contains("vmm_exit: HLT");
        assertThat(kvmkmod.include.trace.Ftrace.on).as("tracing switched off after the run").isFalse();
    }

    @Test
    void timeoutStopsAnEndlessGuest() {
        Transports.realKvm("MainTest.timeoutStopsAnEndlessGuest").close();
        Outcome o = run("--real-kvm", "--guest", "bench-out", "--timeout", "1");
        assertThat(o.code()).isEqualTo(Main.EXIT_TIMEOUT);
        assertThat(o.errLines()).isEqualTo(1);
        assertThat(o.err()).contains("--timeout").contains("rip=0x7c0");
    }

    @Test
    void imageThatDoesNotFitIsAUsageError(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Path img = dir.resolve("big.bin");
        Files.write(img, new byte[8192]);
        Outcome o = run("--real-kvm", "--mem", "4K", "--load-addr", "0", img.toString());
        assertThat(o.code()).isEqualTo(2);
        assertThat(o.errLines()).isEqualTo(1);
    }

    @Test
    void abnormalStopExitsFive(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Transports.realKvm("MainTest.abnormalStopExitsFive").close();
        Transports.skipIf(!Boolean.getBoolean("kvmkmod.slowTests"), "MainTest.abnormalStopExitsFive",
                "needs a triple fault, which the host /dev/kvm takes over a minute to report; run with -Dkvmkmod.slowTests=true");
        Outcome o = run("--real-kvm", "--guest", "triple-fault");
        assertThat(o.code()).isEqualTo(Main.EXIT_GUEST_ABNORMAL);
        assertThat(o.err()).contains("SHUTDOWN");
    }

    @Test
    void javaKvmUnavailableExitsSixWithOneLine() {
        String why = JavaSys.whyNotUsable(kvmkmod.hw.Backend.SOFT);
        Transports.skipIf(why == null, "MainTest.javaKvmUnavailableExitsSixWithOneLine",
                "our Java KVM loads now; this checks the message for when it cannot");
        Outcome o = run("--backend=soft", "--guest", "hello");
        assertThat(o.code()).isEqualTo(Main.EXIT_NO_KVM_MODULE);
        assertThat(o.errLines()).isEqualTo(1);
    }

    @Test
    void benchRunsTheBaselineOnTheRealKvm() {
        Transports.realKvm("MainTest.benchRunsTheBaselineOnTheRealKvm").close();
        Outcome o = run("bench", "--exits", "2000", "--warmup", "500", "--runs", "1");
        assertThat(o.code()).isZero();
        assertThat(o.out()).contains("(a)").contains("(b)").contains("(c)").contains("ratio (a)/(b)").contains("us/exit");
    }

    @Test
    void stepPrintsTheRegistersBeforeEveryInstructionOnTheSoftProcessor() {
        Outcome o = run("--guest", "in-read", "--backend", "soft", "--step");
        assertThat(o.code()).isZero();
        java.util.List<String> steps = o.err().lines().filter(l -> l.startsWith("kvm-run: step 0x")).toList();
        assertThat(steps).isNotEmpty();
        assertThat(steps.get(0)).startsWith("kvm-run: step 0x7c00 ");
        // the IN from the value port lands in EAX and shows in a later step
        assertThat(steps).anySatisfy(l -> assertThat(l).contains("rax=1234abcd"));
    }

    @Test
    void breakPrintsTheGuestStateAtTheAddress() {
        Outcome o = run("--guest", "in-read", "--backend", "soft", "--break", "0x7c05");
        assertThat(o.code()).isZero();
        assertThat(o.err()).contains("kvm-run: breakpoint at 0x7c05").contains("RIP=0000000000007c05").contains("mode=real");
    }

    @Test
    void stepOnTheHostProcessorIsAUsageError() {
        Outcome o = run("--guest", "hello", "--backend", "host", "--step");
        assertThat(o.code()).isEqualTo(Main.EXIT_USAGE);
        assertThat(o.err().lines().count()).isEqualTo(1);
        assertThat(o.err()).contains("--backend soft");
    }

    @Test
    void eptParameterOffRunsABundledGuestWithShadowPagingAndShowsTheTables() {
        Outcome on = run("--backend", "soft", "--guest", "hello", "--mmu-view", "text");
        Outcome off = run("--backend", "soft", "--guest", "hello", "--param", "ept=0", "--param", "oos_shadow=0", "--mmu-view", "text");
        assertThat(off.code()).as(off.err()).isZero();
        assertThat(off.out()).isEqualTo(on.out()).contains("Hello");
        assertThat(on.err()).contains("MMU of vcpu 0: EPT (tdp)").contains("gpa 0x7000 -> page hpa");
        // real mode without EPT runs as virtual-8086 under a 3-level (PAE) shadow root of direct pages
        assertThat(off.err()).contains("MMU of vcpu 0: shadow paging").contains("(level 3)").contains("direct gfn 0x0")
                .contains("gva 0x7000 -> page hpa");
    }

    @Test
    void mmuViewDrawsSvgIntoAFile(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws java.io.IOException {
        java.nio.file.Path svg = dir.resolve("mmu.svg");
        Outcome o = run("--backend", "soft", "--guest", "hello", "--param", "ept=0", "--mmu-view", "svg=" + svg);
        assertThat(o.code()).as(o.err()).isZero();
        assertThat(java.nio.file.Files.readString(svg)).startsWith("<svg").contains("shadow paging").contains("<rect").endsWith("</svg>\n");
    }

    @Test
    void pleParametersAreIntegers() {
        kvmkmod.vmx.KvmIntel.Params p = new kvmkmod.vmx.KvmIntel.Params();
        assertThat(Main.setParam(p, "ple_gap=0")).isNull();
        assertThat(Main.setParam(p, "ple_window=0x2000")).isNull();
        assertThat(p.ple_gap).isZero();
        assertThat(p.ple_window).isEqualTo(0x2000);
        assertThat(Main.setParam(p, "ple_window=-1")).contains("negative");
        assertThat(run("--backend", "soft", "--guest", "hello", "--param", "ple_gap=0").code()).isZero();
    }

    @Test
    void badModuleParametersAreUsageErrors() {
        Outcome o = run("--guest", "hello", "--param", "ept=maybe");
        assertThat(o.code()).isEqualTo(Main.EXIT_USAGE);
        assertThat(o.err()).contains("--param ept=maybe").contains("1/0");
        o = run("--guest", "hello", "--param", "no_such=1");
        assertThat(o.code()).isEqualTo(Main.EXIT_USAGE);
        assertThat(o.err()).contains("no such parameter");
        o = run("--guest", "hello", "--param", "ple_gap=lots");
        assertThat(o.code()).isEqualTo(Main.EXIT_USAGE);
        assertThat(o.err()).contains("--param ple_gap=lots").contains("integer");
        o = run("--guest", "hello", "--mmu-view", "png");
        assertThat(o.code()).isEqualTo(Main.EXIT_USAGE);
        o = run("--guest", "hello", "--real-kvm", "--param", "ept=0");
        assertThat(o.code()).isEqualTo(Main.EXIT_USAGE);
    }

    @Test
    void shadowPagingOnTheHostBackendIsRefusedWithTheReason() {
        Outcome o = run("--backend", "host", "--guest", "hello", "--param", "ept=0");
        assertThat(o.code()).isEqualTo(Main.EXIT_NO_KVM_MODULE);
        assertThat(o.err()).contains("ept=0 (shadow paging) needs --backend soft");
    }
}
