package kvmkmod.include.trace;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import kvmkmod.include.trace.FunctionGraphTrace.Call;
import kvmkmod.include.trace.FunctionGraphTrace.Event;
import org.junit.jupiter.api.Test;

/** The parser on hand-written traces in the kernel's layout. */
class FunctionGraphTraceTest {
    private static final List<String> KERNEL_STYLE = List.of(
            "# tracer: function_graph",
            "#",
            "# CPU  DURATION                  FUNCTION CALLS",
            "# |     |   |                     |   |   |   |",
            " 1)               |  kvm_vcpu_ioctl() {",
            " 1)   0.512 us    |    vcpu_load();",
            " 0)               |  kvm_vm_ioctl() {",
            " 1)               |    kvm_arch_vcpu_ioctl_run() {",
            " 1)               |      /* kvm_entry: vcpu 0 */",
            " 1)               |      vmx_vcpu_run() {",
            " 1) + 12.250 us   |      }",
            " 1)               |      /* kvm_exit: reason IO_INSTRUCTION rip 0xfff0 */",
            " 0)   1.000 us    |    kvm_vm_ioctl_set_memory_region();",
            " 0)   2.000 us    |  }",
            " 1) ! 200.100 us  |    }",
            "not a trace line",
            "",
            " 1) ! 210.000 us  |  }",
            " 1)               |  /* kvm_pio: pio_write at 0x3f8 size 1 count 1 */",
            " 1)   0.100 us    |  }",
            " 2)               |  kvm_vcpu_ioctl() {");

    @Test
    void cpusFormSeparateTrees() {
        FunctionGraphTrace t = FunctionGraphTrace.parse(KERNEL_STYLE);
        assertThat(t.roots()).extracting(Call::function, Call::cpu)
                .containsExactly(
                        org.assertj.core.groups.Tuple.tuple("kvm_vcpu_ioctl", 1),
                        org.assertj.core.groups.Tuple.tuple("kvm_vm_ioctl", 0),
                        org.assertj.core.groups.Tuple.tuple("kvm_vcpu_ioctl", 2));
        assertThat(t.hasChain("kvm_vcpu_ioctl", "kvm_arch_vcpu_ioctl_run", "vmx_vcpu_run")).isTrue();
        assertThat(t.hasChain("kvm_vm_ioctl", "kvm_vm_ioctl_set_memory_region")).isTrue();
        assertThat(t.hasChain("kvm_vcpu_ioctl", "kvm_vm_ioctl_set_memory_region")).isFalse();
    }

    @Test
    void durationsLeavesAndOpenCalls() {
        FunctionGraphTrace t = FunctionGraphTrace.parse(KERNEL_STYLE);
        Call run = t.first("vmx_vcpu_run").orElseThrow();
        assertThat(run.leaf()).isFalse();
        assertThat(run.closed()).isTrue();
        assertThat(run.depth()).isEqualTo(2);
        assertThat(run.durationUs()).hasValue(12.25);
        assertThat(run.parent().orElseThrow().function()).isEqualTo("kvm_arch_vcpu_ioctl_run");
        assertThat(t.first("vcpu_load").orElseThrow().durationUs()).hasValue(0.512);
        assertThat(t.first("vcpu_load").orElseThrow().leaf()).isTrue();
        assertThat(t.first("kvm_arch_vcpu_ioctl_run").orElseThrow().durationUs()).hasValue(200.1);
        Call last = t.roots().get(2);
        assertThat(last.closed()).isFalse();
        assertThat(last.lineNumber()).isEqualTo(KERNEL_STYLE.size());
    }

    @Test
    void eventsKeepTheirPlaceAmongCalls() {
        FunctionGraphTrace t = FunctionGraphTrace.parse(KERNEL_STYLE);
        Call run = t.first("kvm_arch_vcpu_ioctl_run").orElseThrow();
        assertThat(run.items()).hasSize(3);
        assertThat(run.items().get(0)).isInstanceOfSatisfying(Event.class, e -> {
            assertThat(e.name()).isEqualTo("kvm_entry");
            assertThat(e.text()).isEqualTo("vcpu 0");
        });
        assertThat(run.items().get(1)).isInstanceOf(Call.class);
        assertThat(run.items().get(2)).isInstanceOfSatisfying(Event.class,
                e -> assertThat(e.text()).isEqualTo("reason IO_INSTRUCTION rip 0xfff0"));
        assertThat(t.events()).extracting(Event::name).containsExactly("kvm_entry", "kvm_exit", "kvm_pio");
        // after cpu 1's tree closed, its tracepoint sits at the top level and the stray } is ignored
        assertThat(t.items()).filteredOn(Event.class::isInstance).hasSize(1);
    }

    @Test
    void pathsAllowHelpersBetweenHopsButChainsDoNot() {
        FunctionGraphTrace t = FunctionGraphTrace.parse(KERNEL_STYLE);
        assertThat(t.hasPath("kvm_vcpu_ioctl", "vmx_vcpu_run")).isTrue();
        assertThat(t.hasChain("kvm_vcpu_ioctl", "vmx_vcpu_run")).isFalse();
        assertThat(t.matchedHops(true, "kvm_vcpu_ioctl", "kvm_arch_vcpu_ioctl_run", "vcpu_load")).isEqualTo(2);
        assertThat(t.matchedHops(false, "handle_io")).isZero();
        assertThat(t.explain(true, "kvm_vcpu_ioctl", "kvm_arch_vcpu_ioctl_run", "vmx_vcpu_run")).isEmpty();
        assertThat(t.explain(true, "kvm_vcpu_ioctl", "kvm_arch_vcpu_ioctl_run", "vcpu_load")).isEqualTo(
                "the path stops after kvm_vcpu_ioctl -> kvm_arch_vcpu_ioctl_run: kvm_arch_vcpu_ioctl_run never calls"
                        + " vcpu_load (it calls vmx_vcpu_run)");
        assertThat(t.explain(false, "handle_io")).isEqualTo("handle_io was never called");
        assertThat(t.explain(false, "vmx_vcpu_run", "x")).endsWith("(it makes no traced call)");
        assertThat(t.render()).contains("1)     vmx_vcpu_run() {", "2) kvm_vcpu_ioctl() {\n2) … (not closed)");
    }

    @Test
    void roundTripsWhatFtracePrints() {
        List<String> lines = Ftrace.capture(() -> {
            Ftrace.entry("a");
            Ftrace.entry("b");
            Ftrace.event("t", "x: y");
            Ftrace.entry("c");
            Ftrace.exit("c");
            Ftrace.exit("b");
            Ftrace.exit("a");
        });
        FunctionGraphTrace t = FunctionGraphTrace.parse(lines);
        assertThat(t.render()).isEqualTo(String.join("\n",
                "0) a() {", "0)   b() {", "0)     /* t: x: y */", "0)     c();", "0)   }", "0) }", ""));
    }
}
