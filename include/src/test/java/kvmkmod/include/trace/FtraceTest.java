package kvmkmod.include.trace;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The printer alone, driven by direct calls as the instrumentation would make them. */
class FtraceTest {
    @AfterEach
    void off() {
        Ftrace.stop();
        Ftrace.setCpu(0);
    }

    private static List<String> body(List<String> lines) {
        assertThat(lines.subList(0, Ftrace.HEADER.size())).containsExactlyElementsOf(Ftrace.HEADER);
        return lines.subList(Ftrace.HEADER.size(), lines.size());
    }

    @Test
    void headerIsTheFunctionGraphHeader() {
        assertThat(Ftrace.HEADER).containsExactly(
                "# tracer: function_graph",
                "#",
                "# CPU  DURATION                  FUNCTION CALLS",
                "# |     |   |                     |   |   |   |");
    }

    @Test
    void durationFieldHasTheKernelLayout() {
        assertThat(Ftrace.duration(512)).isEqualTo("  0.512 us    ");
        assertThat(Ftrace.duration(4_321)).isEqualTo("  4.321 us    ");
        assertThat(Ftrace.duration(10_001)).isEqualTo("  10.001 us   ");
        assertThat(Ftrace.duration(11_000)).isEqualTo("+ 11.000 us   ");
        assertThat(Ftrace.duration(123_456)).isEqualTo("! 123.456 us  ");
        assertThat(Ftrace.duration(12_345_678)).isEqualTo("! 12345.67 us ");
        assertThat(Ftrace.duration(1_234_567_890)).isEqualTo("! 1234567 us ");
        assertThat(Ftrace.duration(98_765_432_100L)).isEqualTo("! 98765432 us ");
        for (long ns : new long[] {0, 999, 10_000, 99_999, 1_000_000, 9_999_999})
            assertThat(Ftrace.duration(ns)).hasSize(14);
    }

    @Test
    void leafBlockAndEventLines() {
        List<String> b = body(Ftrace.capture(() -> {
            Ftrace.entry("kvm_vcpu_ioctl");
            Ftrace.entry("vcpu_load");
            Ftrace.exit("vcpu_load");
            Ftrace.event("kvm_exit", "reason 30");
            Ftrace.exit("kvm_vcpu_ioctl");
        }));
        assertThat(b).hasSize(4);
        assertThat(b.get(0)).isEqualTo(" 0)               |  kvm_vcpu_ioctl() {");
        assertThat(b.get(1)).matches(" 0\\) [ +!] +\\d+\\.\\d+ us +\\|    vcpu_load\\(\\);");
        assertThat(b.get(2)).isEqualTo(" 0)               |    /* kvm_exit: reason 30 */");
        assertThat(b.get(3)).matches(" 0\\) [ +!] +\\d+\\.\\d+ us +\\|  \\}");
        assertThat(b.get(3).indexOf('|')).isEqualTo(18);
        assertThat(b.get(1).indexOf('|')).isEqualTo(18);
    }

    @Test
    void cpuColumnIsPerThread() throws Exception {
        Thread other = new Thread(() -> {
            Ftrace.setCpu(3);
            Ftrace.entry("vmx_vcpu_run");
            Ftrace.exit("vmx_vcpu_run");
        });
        List<String> b = body(Ftrace.capture(() -> {
            Ftrace.setCpu(12);
            Ftrace.event("kvm_entry", "vcpu 1");
            other.start();
            try { other.join(); } catch (InterruptedException e) { throw new AssertionError(e); }
        }));
        assertThat(b).containsExactly(
                "12)               |  /* kvm_entry: vcpu 1 */",
                b.get(1));
        assertThat(b.get(1)).startsWith(" 3) ").endsWith("|  vmx_vcpu_run();");
        assertThat(Ftrace.cpu()).isEqualTo(12);
    }

    @Test
    void exitWithoutEntryIsDroppedAndSkippedExitsAreClosed() {
        List<String> b = body(Ftrace.capture(() -> {
            Ftrace.exit("started_before_tracing");
            Ftrace.entry("kvm_vm_ioctl_create_vcpu");
            Ftrace.entry("vmx_create_vcpu");
            Ftrace.entry("alloc_vmcs");
            // no exit for alloc_vmcs and vmx_create_vcpu: as when a constructor throws
            Ftrace.exit("kvm_vm_ioctl_create_vcpu");
            Ftrace.exit("kvm_vm_ioctl_create_vcpu");
        }));
        FunctionGraphTrace t = FunctionGraphTrace.parse(b);
        assertThat(t.hasChain("kvm_vm_ioctl_create_vcpu", "vmx_create_vcpu", "alloc_vmcs")).isTrue();
        assertThat(t.roots()).hasSize(1);
        assertThat(t.roots().get(0).closed()).isTrue();
        assertThat(b).hasSize(5);
    }

    @Test
    void aNewTraceForgetsCallsLeftOpenByTheLastOne() {
        Ftrace.capture(() -> Ftrace.entry("kvm_vcpu_ioctl"));
        List<String> b = body(Ftrace.capture(() -> {
            Ftrace.entry("kvm_dev_ioctl");
            Ftrace.exit("kvm_dev_ioctl");
            Ftrace.exit("kvm_vcpu_ioctl");
        }));
        assertThat(b).hasSize(1);
        assertThat(b.get(0)).endsWith("|  kvm_dev_ioctl();");
    }

    @Test
    void hooksPrintNothingWhenOff() {
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        Ftrace.start(new java.io.PrintStream(bytes, true));
        Ftrace.stop();
        Ftrace.entry("a");
        Ftrace.event("e", "x");
        Ftrace.exit("a");
        assertThat(bytes.toString().lines().toList()).containsExactlyElementsOf(Ftrace.HEADER);
    }

    @Test
    void graphFunctionsLimitTheTraceToTheirSubtrees() {
        try {
            Ftrace.setGraphFunctions("vcpu_enter_guest");
            List<String> b = body(Ftrace.capture(() -> {
                Ftrace.entry("kvm_vcpu_ioctl");
                Ftrace.event("kvm_userspace_exit", "reason 2");
                Ftrace.entry("vcpu_enter_guest");
                Ftrace.entry("vmx_vcpu_run");
                Ftrace.exit("vmx_vcpu_run");
                Ftrace.event("kvm_exit", "reason 30");
                Ftrace.exit("vcpu_enter_guest");
                Ftrace.entry("vcpu_put");
                Ftrace.exit("vcpu_put");
                Ftrace.exit("kvm_vcpu_ioctl");
            }));
            FunctionGraphTrace t = FunctionGraphTrace.parse(b);
            assertThat(t.roots()).extracting(FunctionGraphTrace.Call::function).containsExactly("vcpu_enter_guest");
            assertThat(t.roots().get(0).depth()).isZero();
            assertThat(t.events()).extracting(FunctionGraphTrace.Event::name).containsExactly("kvm_exit");
            assertThat(t.calls()).extracting(FunctionGraphTrace.Call::function)
                    .containsExactly("vcpu_enter_guest", "vmx_vcpu_run");
        } finally {
            Ftrace.setGraphFunctions();
        }
    }

    @Test
    void deepRecursionGrowsTheStack() {
        int depth = 200;
        List<String> b = body(Ftrace.capture(() -> {
            for (int i = 0; i < depth; i++) Ftrace.entry("f" + i);
            for (int i = depth - 1; i >= 0; i--) Ftrace.exit("f" + i);
        }));
        FunctionGraphTrace t = FunctionGraphTrace.parse(b);
        assertThat(t.calls()).hasSize(depth);
        assertThat(t.first("f199").orElseThrow().depth()).isEqualTo(199);
        assertThat(t.first("f199").orElseThrow().leaf()).isTrue();
    }
}
