package kvmkmod.vmm;

import kvmkmod.hw.Backend;
import kvmkmod.include.trace.Ftrace;
import kvmkmod.include.trace.FunctionGraph;
import kvmkmod.include.trace.FunctionGraphTrace;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The four call paths of kvm-kmod 2.6.33 (module load, KVM_RUN, guest port I/O with both of its
 * branches, KVM_CREATE_VCPU), hop by hop and in the C's order, in the function-graph trace of a real
 * run of the {@code pio-both} guest — on each native backend. The hops are those of
 * shared/reference/call_paths.md; every one is a direct call, so each is checked as a chain.
 */
class CallPathsTraceTest {

    @BeforeAll
    static void instrument() { FunctionGraph.install(); }

    private static FunctionGraphTrace traceOf(Backend backend, RunResult[] result) {
        List<String> lines = Ftrace.capture(() -> {
            try (JavaSys sys = Transports.java("CallPathsTraceTest " + backend, backend)) {
                result[0] = GuestRunner.run(sys, "pio-both", 60_000).result();
            }
        });
        return FunctionGraphTrace.parse(lines);
    }

    private static void assertChain(FunctionGraphTrace t, String... hops) {
        assertThat(t.hasChain(hops)).as(t.explain(true, hops)).isTrue();
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"SOFT", "HOST"})
    void theFourPathsAppearHopByHop(Backend backend) {
        if (backend == Backend.HOST) Transports.realKvm("CallPathsTraceTest HOST").close();
        RunResult[] result = new RunResult[1];
        FunctionGraphTrace t = traceOf(backend, result);
        assertThat(result[0].outcome()).isEqualTo(Outcome.HLT);

        // a) module load (call_paths.md a1-a8, a12-a17)
        assertChain(t, "vmx_init", "kvm_init", "kvm_arch_init", "kvm_timer_init");
        assertChain(t, "vmx_init", "kvm_init", "kvm_arch_hardware_setup", "hardware_setup", "setup_vmcs_config");
        assertChain(t, "vmx_init", "kvm_init", "kvm_arch_hardware_setup", "hardware_setup", "alloc_kvm_area", "alloc_vmcs_cpu");
        assertThat(t.first("kvm_init").orElseThrow().callsInOrder("kvm_arch_init", "kvm_arch_hardware_setup",
                "kvm_arch_check_processor_compat")).isTrue();
        assertThat(t.first("hardware_setup").orElseThrow().callsInOrder("setup_vmcs_config", "alloc_kvm_area")).isTrue();
        assertChain(t, "kvm_dev_ioctl", "kvm_dev_ioctl_create_vm", "kvm_create_vm", "hardware_enable_all");

        // d) KVM_CREATE_VCPU (d1-d8, d11)
        assertChain(t, "kvm_vm_ioctl", "kvm_vm_ioctl_create_vcpu", "kvm_arch_vcpu_create", "vmx_create_vcpu", "alloc_vmcs", "alloc_vmcs_cpu");
        assertChain(t, "vmx_create_vcpu", "vmx_vcpu_setup", "vmcs_writel");
        assertChain(t, "vmx_create_vcpu", "vmx_vcpu_setup", "guest_write_tsc");
        assertThat(t.first("vmx_create_vcpu").orElseThrow().callsInOrder("allocate_vpid", "kvm_vcpu_init",
                "alloc_vmcs", "vmcs_clear", "vmx_vcpu_load", "vmx_vcpu_setup", "vmx_vcpu_put")).isTrue();
        assertChain(t, "kvm_vm_ioctl_create_vcpu", "kvm_arch_vcpu_setup", "kvm_arch_vcpu_reset", "vmx_vcpu_reset");

        // b) KVM_RUN (b1-b4)
        assertChain(t, "kvm_vcpu_ioctl", "kvm_arch_vcpu_ioctl_run", "__vcpu_run", "vcpu_enter_guest", "vmx_vcpu_run");
        assertThat(t.first("vcpu_enter_guest").orElseThrow().callsInOrder("vmx_vcpu_run", "vmx_handle_exit")).isTrue();

        // c) guest I/O: the in-kernel branch (ioeventfd on port 0x500) and the userspace branch (the UART)
        assertChain(t, "vcpu_enter_guest", "vmx_handle_exit", "handle_io", "kvm_emulate_pio", "kernel_pio", "kvm_io_bus_write");
        assertChain(t, "vmx_handle_exit", "handle_io", "kvm_emulate_pio", "complete_pio");
        assertThat(t.first("handle_io").orElseThrow().callsInOrder("skip_emulated_instruction", "kvm_emulate_pio")).isTrue();
        assertChain(t, "kvm_vcpu_ioctl", "kvm_arch_vcpu_ioctl_run", "complete_pio");
        // pio-both is loaded at 0x7c00 and its first instructions are port writes
        assertThat(t.events()).anySatisfy(e -> assertThat(e.name() + ": " + e.text())
                .matches("kvm_exit: reason io_instruction rip 0x7c[0-9a-f]{2}"));
        assertThat(t.events()).anySatisfy(e -> assertThat(e.name() + ": " + e.text()).startsWith("kvm_exit: reason halt"));
        assertThat(t.events()).anySatisfy(e -> assertThat(e.text()).contains("pio_write at 0x3f8"));
        assertThat(t.events()).anySatisfy(e -> assertThat(e.text()).contains("pio_write at 0x500"));
        assertThat(result[0].ioeventfdCount()).isPositive();
    }
}
