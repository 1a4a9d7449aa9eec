package kvmkmod.include.trace;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.regex.Pattern;
import kvmkmod.include.trace.FunctionGraphTrace.Call;
import kvmkmod.include.trace.FunctionGraphTrace.Event;
import org.junit.jupiter.api.MethodOrderer.OrderAnnotation;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The agent end to end: the only test class that calls {@link FunctionGraph#install()}, in a fixed
 * order, because installing is once per JVM.
 */
@TestMethodOrder(OrderAnnotation.class)
class FunctionGraphTest {
    private static final Pattern BLANK_DURATION = Pattern.compile("^ 0\\) {15}\\|  .*");
    private static final Pattern TIMED = Pattern.compile("^ 0\\) [ +!] {1,7}\\d+(\\.\\d+)? us {1,4}\\|  .*");

    @Test @Order(1)
    void nothingIsInstrumentedBeforeInstall() {
        org.junit.jupiter.api.Assumptions.assumeFalse(FunctionGraph.isInstalled(),
                "another test installed the agent first");
        List<String> lines = Ftrace.capture(() -> EarlyFixture.kvm_dev_ioctl(0xAE01));
        assertThat(lines).containsExactlyElementsOf(Ftrace.HEADER);
    }

    @Test @Order(2)
    void installRetransformsClassesLoadedBefore() {
        FunctionGraph.install();
        FunctionGraph.install(); // idempotent
        assertThat(FunctionGraph.isInstalled()).isTrue();
        List<String> lines = Ftrace.capture(() -> EarlyFixture.kvm_dev_ioctl(0xAE01));
        assertThat(lines.subList(Ftrace.HEADER.size(), lines.size())).hasSize(3);
        assertThat(lines.get(4)).isEqualTo(" 0)               |  kvm_dev_ioctl() {");
        assertThat(lines.get(5)).matches(TIMED).endsWith("|    kvm_dev_ioctl_create_vm();");
        assertThat(lines.get(6)).matches(TIMED).endsWith("|  }");
    }

    @Test @Order(3)
    void classLoadedAfterInstallShowsTheKvmRunTree() {
        FunctionGraph.install();
        GraphFixture f = new GraphFixture();
        List<String> lines = Ftrace.capture(() -> f.kvm_vcpu_ioctl(0xAE80));
        FunctionGraphTrace t = FunctionGraphTrace.parse(lines);

        assertThat(t.roots()).extracting(Call::function).containsExactly("kvm_vcpu_ioctl");
        assertThat(t.hasChain("kvm_vcpu_ioctl", "kvm_arch_vcpu_ioctl_run", "__vcpu_run", "vcpu_enter_guest"))
                .as(t.render()).isTrue();
        assertThat(t.hasChain("kvm_vcpu_ioctl", "__vcpu_run")).isFalse();
        assertThat(t.hasPath("kvm_vcpu_ioctl", "__vcpu_run")).isTrue();
        assertThat(t.matchedHops(true, "kvm_vcpu_ioctl", "kvm_arch_vcpu_ioctl_run", "vmx_handle_exit")).isEqualTo(2);

        Call run = t.first("kvm_arch_vcpu_ioctl_run").orElseThrow();
        // the untraced helper's own call to vcpu_load is still traced, under its caller
        assertThat(run.childNames()).containsExactly("vcpu_load", "__vcpu_run", "vcpu_load");
        assertThat(run.callsInOrder("vcpu_load", "__vcpu_run")).isTrue();
        assertThat(run.callsInOrder("__vcpu_run", "vcpu_load", "vcpu_load")).isFalse();
        assertThat(run.depth()).isEqualTo(1);
        assertThat(t.calls()).extracting(Call::function).doesNotContain("untracedHelper", "vcpuRun");

        Call vcpuRun = t.first("__vcpu_run").orElseThrow();
        assertThat(vcpuRun.childNames()).containsExactly("vcpu_enter_guest", "vcpu_enter_guest");
        Call enter = vcpuRun.children().get(0);
        assertThat(enter.leaf()).isFalse();
        assertThat(enter.children()).isEmpty();
        assertThat(enter.events()).extracting(Event::name).containsExactly("kvm_entry", "kvm_exit");
        assertThat(enter.events().get(1).text()).isEqualTo("reason IO_INSTRUCTION rip 0x1001");
        assertThat(t.events()).hasSize(4);

        Call load = run.children().get(0);
        assertThat(load.leaf()).isTrue();
        assertThat(load.durationUs()).isPresent();
        assertThat(t.first("kvm_vcpu_ioctl").orElseThrow().closed()).isTrue();

        // the printed shape, line by line
        List<String> body = lines.subList(Ftrace.HEADER.size(), lines.size());
        assertThat(body.get(0)).isEqualTo(" 0)               |  kvm_vcpu_ioctl() {");
        assertThat(body.get(1)).isEqualTo(" 0)               |    kvm_arch_vcpu_ioctl_run() {");
        assertThat(body.get(2)).matches(TIMED).endsWith("|      vcpu_load();");
        assertThat(body.get(3)).isEqualTo(" 0)               |      __vcpu_run() {");
        assertThat(body.get(4)).isEqualTo(" 0)               |        vcpu_enter_guest() {");
        assertThat(body.get(5)).isEqualTo(" 0)               |          /* kvm_entry: vcpu 0 */");
        assertThat(body.get(6)).matches(BLANK_DURATION).endsWith("|          /* kvm_exit: reason IO_INSTRUCTION rip 0x1001 */");
        assertThat(body.get(7)).matches(TIMED).endsWith("|        }");
        assertThat(body.get(body.size() - 1)).matches(TIMED).endsWith("|  }");
        for (String l : body) assertThat(l).matches(BLANK_DURATION.pattern() + "|" + TIMED.pattern());
    }

    @Test @Order(4)
    void classFirstLoadedAfterInstallIsTraced() throws Exception {
        FunctionGraph.install();
        Class<?> late = Class.forName("kvmkmod.include.trace.LateFixture");
        java.lang.reflect.Method init = late.getDeclaredMethod("vmx_init");
        init.setAccessible(true);
        FunctionGraphTrace t = FunctionGraphTrace.parse(Ftrace.capture(() -> {
            try {
                init.invoke(null);
            } catch (ReflectiveOperationException e) {
                throw new AssertionError(e);
            }
        }));
        assertThat(t.hasChain("vmx_init", "kvm_init")).as(t.render()).isTrue();
    }

    @Test @Order(6)
    void exitIsReportedWhenTheMethodThrows() {
        FunctionGraph.install();
        GraphFixture f = new GraphFixture();
        List<String> lines = Ftrace.capture(() ->
                assertThatThrownBy(f::vmx_handle_exit).hasMessage("injected"));
        FunctionGraphTrace t = FunctionGraphTrace.parse(lines);
        assertThat(t.hasChain("vmx_handle_exit", "handle_io")).isTrue();
        assertThat(t.first("handle_io").orElseThrow().leaf()).isTrue();
        assertThat(t.first("vmx_handle_exit").orElseThrow().closed()).isTrue();
    }

    @Test @Order(7)
    void constructorsAreTracedUnderTheirCName() {
        FunctionGraph.install();
        GraphFixture f = new GraphFixture();
        FunctionGraphTrace ok = FunctionGraphTrace.parse(Ftrace.capture(() -> f.kvm_vm_ioctl_create_vcpu(false)));
        assertThat(ok.hasChain("kvm_vm_ioctl_create_vcpu", "vmx_create_vcpu")).as(ok.render()).isTrue();

        // a throwing constructor reports no exit of its own: its caller's exit closes it
        FunctionGraphTrace failed = FunctionGraphTrace.parse(Ftrace.capture(() ->
                assertThatThrownBy(() -> f.kvm_vm_ioctl_create_vcpu(true)).hasMessage("no memory")));
        assertThat(failed.hasChain("kvm_vm_ioctl_create_vcpu", "vmx_create_vcpu")).as(failed.render()).isTrue();
        assertThat(failed.roots()).hasSize(1);
        assertThat(failed.roots().get(0).closed()).isTrue();
    }

    @Test @Order(8)
    void threadsKeepTheirOwnStacksAndCpuColumns() throws Exception {
        FunctionGraph.install();
        int threads = 4;
        CountDownLatch go = new CountDownLatch(1);
        List<String> lines = Ftrace.capture(() -> {
            List<Thread> ts = new ArrayList<>();
            for (int cpu = 0; cpu < threads; cpu++) {
                int c = cpu;
                Thread th = new Thread(() -> {
                    Ftrace.setCpu(c);
                    try { go.await(); } catch (InterruptedException e) { return; }
                    for (int i = 0; i < 20; i++) new GraphFixture().kvm_vcpu_ioctl(0xAE80);
                });
                ts.add(th);
                th.start();
            }
            go.countDown();
            for (Thread th : ts) {
                try { th.join(); } catch (InterruptedException e) { throw new AssertionError(e); }
            }
        });
        FunctionGraphTrace t = FunctionGraphTrace.parse(lines);
        assertThat(t.roots()).hasSize(threads * 20);
        for (int cpu = 0; cpu < threads; cpu++) {
            int c = cpu;
            List<Call> mine = t.roots().stream().filter(r -> r.cpu() == c).toList();
            assertThat(mine).hasSize(20).allSatisfy(r -> {
                assertThat(r.closed()).isTrue();
                assertThat(r.descendantsAndSelf()).hasSize(7);
            });
        }
    }

    @Test @Order(9)
    void instrumentedCodeIsSilentWhileTracingIsOff() {
        FunctionGraph.install();
        Ftrace.stop();
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        Ftrace.start(new java.io.PrintStream(bytes, true));
        Ftrace.stop();
        new GraphFixture().kvm_vcpu_ioctl(0xAE80);
        assertThat(bytes.toString().lines()).containsExactlyElementsOf(Ftrace.HEADER);
    }
}
