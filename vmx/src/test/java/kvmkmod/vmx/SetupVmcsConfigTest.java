package kvmkmod.vmx;

import kvmkmod.hw.Backend;
import kvmkmod.hw.VmxCapabilities;
import kvmkmod.hw.VmxCpu;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

import static kvmkmod.hw.VmxArch.*;
import static org.assertj.core.api.Assertions.assertThat;

/** setup_vmcs_config and hardware_setup's downgrades, against processors lacking one feature at a time. */
class SetupVmcsConfigTest {

    static List<Arguments> variants() {
        List<Arguments> a = new ArrayList<>();
        for (Backend b : new Backend[] {Backend.SOFT, Backend.HOST}) {
            a.add(Arguments.of(b, "westmere", (Consumer<VmxCapabilities>) c -> { }));
            a.add(Arguments.of(b, "no EPT", (Consumer<VmxCapabilities>) c -> c.ept = false));
            a.add(Arguments.of(b, "no unrestricted guest", (Consumer<VmxCapabilities>) c -> c.unrestrictedGuest = false));
            a.add(Arguments.of(b, "no secondary controls", (Consumer<VmxCapabilities>) c -> c.secondaryControls = false));
            a.add(Arguments.of(b, "no VPID", (Consumer<VmxCapabilities>) c -> c.vpid = false));
            a.add(Arguments.of(b, "no TPR shadow", (Consumer<VmxCapabilities>) c -> c.tprShadow = false));
            a.add(Arguments.of(b, "no 2M EPT pages", (Consumer<VmxCapabilities>) c -> c.ept2mPages = false));
            a.add(Arguments.of(b, "no pause-loop exiting", (Consumer<VmxCapabilities>) c -> c.pauseLoopExiting = false));
            a.add(Arguments.of(b, "no APIC-access virtualization", (Consumer<VmxCapabilities>) c -> c.virtualizeApicAccesses = false));
        }
        return a;
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("variants")
    void controls_follow_the_capability_msrs(Backend backend, String name, Consumer<VmxCapabilities> tweak) {
        VmxCapabilities caps = VmxCapabilities.westmere();
        tweak.accept(caps);
        try (KvmIntel m = VmxTestSupport.load(backend, caps, new KvmIntel.Params())) {
            Vmx vmx = m.vmx();
            VmcsConfig cfg = vmx.vmcs_config;
            VmxCpu cpu0 = vmx.platform.cpu(0);

            // every control is one the processor allows, and the minimum sets are all there
            assertThat(VmxCapabilities.controlsAllowed(cpu0.rdmsr(MSR_IA32_VMX_PINBASED_CTLS), cfg.pin_based_exec_ctrl)).isTrue();
            assertThat(VmxCapabilities.controlsAllowed(cpu0.rdmsr(MSR_IA32_VMX_EXIT_CTLS), cfg.vmexit_ctrl)).isTrue();
            assertThat(VmxCapabilities.controlsAllowed(cpu0.rdmsr(MSR_IA32_VMX_ENTRY_CTLS), cfg.vmentry_ctrl)).isTrue();
            assertThat(cfg.pin_based_exec_ctrl & (PIN_BASED_EXT_INTR_MASK | PIN_BASED_NMI_EXITING))
                    .isEqualTo(PIN_BASED_EXT_INTR_MASK | PIN_BASED_NMI_EXITING);
            assertThat(cfg.pin_based_exec_ctrl & PIN_BASED_VIRTUAL_NMIS).isNotZero();
            int cpu = cfg.cpu_based_exec_ctrl;
            for (int must : new int[] {CPU_BASED_HLT_EXITING, CPU_BASED_USE_IO_BITMAPS, CPU_BASED_MOV_DR_EXITING,
                    CPU_BASED_USE_TSC_OFFSETING, CPU_BASED_MWAIT_EXITING, CPU_BASED_MONITOR_EXITING, CPU_BASED_USE_MSR_BITMAPS})
                assertThat(cpu & must).as("cpu-based %#x", must).isNotZero();
            assertThat(cfg.vmexit_ctrl & VM_EXIT_HOST_ADDR_SPACE_SIZE).isNotZero();
            assertThat(cfg.size).isEqualTo(VmxCapabilities.VMCS_SIZE);
            assertThat(cfg.order).isZero();
            assertThat(cfg.revision_id).isEqualTo(VmxCapabilities.VMCS_REVISION_ID);

            boolean tpr = caps.tprShadow;
            assertThat((cpu & CPU_BASED_TPR_SHADOW) != 0).isEqualTo(tpr);
            assertThat((cpu & CPU_BASED_CR8_LOAD_EXITING) != 0).as("CR8 exits without TPR shadow").isEqualTo(!tpr);
            assertThat((cpu & CPU_BASED_CR8_STORE_EXITING) != 0).isEqualTo(!tpr);
            assertThat(vmx.update_cr8_intercept_present).isEqualTo(tpr);

            boolean sec = caps.secondaryControls;
            assertThat((cpu & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) != 0).isEqualTo(sec);
            if (!sec) assertThat(cfg.cpu_based_2nd_exec_ctrl).isZero();

            boolean ept = sec && caps.ept;
            assertThat((cfg.cpu_based_2nd_exec_ctrl & SECONDARY_EXEC_ENABLE_EPT) != 0).isEqualTo(ept);
            assertThat(vmx.enable_ept).isEqualTo(ept ? 1 : 0);
            assertThat(vmx.mmu.tdp_enabled).isEqualTo(ept);
            assertThat(vmx.bypass_guest_pf).isEqualTo(ept ? 0 : 1);
            // with EPT, CR3 accesses and INVLPG stay in the guest
            assertThat((cpu & CPU_BASED_CR3_LOAD_EXITING) != 0).isEqualTo(!ept);
            assertThat((cpu & CPU_BASED_INVLPG_EXITING) != 0).isEqualTo(!ept);
            assertThat(vmx.cpu_has_vmx_ept_2m_page()).isEqualTo(ept && caps.ept2mPages);
            assertThat(m.kvm_main().largepages_enabled).isEqualTo(!ept || caps.ept2mPages);

            boolean ug = ept && caps.unrestrictedGuest;
            assertThat(vmx.enable_unrestricted_guest).isEqualTo(ug ? 1 : 0);
            assertThat(vmx.enable_vpid).isEqualTo(sec && caps.vpid ? 1 : 0);
            // what the processor reports, which a backend may narrow (the host CPU offers no APIC-access page)
            boolean apicAccess = sec && (cpu0.rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2) >>> 32 & SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES) != 0;
            assertThat(apicAccess).isEqualTo(vmx.cpu_has_vmx_virtualize_apic_accesses());
            if (backend == Backend.SOFT) assertThat(apicAccess).isEqualTo(sec && caps.virtualizeApicAccesses);
            assertThat(vmx.flexpriority_enabled).isEqualTo(tpr && apicAccess ? 1 : 0);
            assertThat(vmx.ple_gap).isEqualTo(sec && caps.pauseLoopExiting ? VmxDefs.KVM_VMX_DEFAULT_PLE_GAP : 0);

            // vmx_check_processor_compat: every processor derives the same configuration
            int[] rtn = {1};
            for (int c = 0; c < vmx.platform.num_possible_cpus(); c++) {
                vmx.platform.get_cpu(c);
                try {
                    vmx.vmx_check_processor_compat(rtn);
                } finally {
                    vmx.platform.put_cpu();
                }
                assertThat(rtn[0]).isZero();
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.EnumSource(value = Backend.class, names = {"SOFT", "HOST"})
    void module_parameters_turn_features_off(Backend backend) {
        KvmIntel.Params params = new KvmIntel.Params();
        params.enable_ept = false;
        params.enable_vpid = false;
        try (KvmIntel m = VmxTestSupport.load(backend, VmxCapabilities.westmere(), params)) {
            Vmx vmx = m.vmx();
            assertThat(vmx.enable_ept).isZero();
            assertThat(vmx.enable_vpid).isZero();
            assertThat(vmx.mmu.tdp_enabled).isFalse();
            assertThat(vmx.bypass_guest_pf).isEqualTo(1);
        }
    }
}
