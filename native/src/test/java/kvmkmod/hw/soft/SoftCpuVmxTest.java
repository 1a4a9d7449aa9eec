package kvmkmod.hw.soft;

import kvmkmod.hw.VmxCapabilities;
import kvmkmod.hw.VmxCpu;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static kvmkmod.hw.VmxArch.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** VMX root operation and VM entry: the instructions' status/error numbers and the entry checks. */
class SoftCpuVmxTest {
    private VmxHarness h;

    @AfterEach void tearDown() { if (h != null) h.close(); }

    @Test void vmxonNeedsCr4VmxeAndLockedFeatureControl() {
        SoftCpu cpu = (SoftCpu) SoftCpu.create(0, new kvmkmod.hw.HostMemory(1 << 20), VmxCapabilities.westmere());
        assertThat(cpu.rdmsr(MSR_IA32_FEATURE_CONTROL)).isZero();
        assertThatThrownBy(() -> cpu.vmxon(0x100000)).hasMessageContaining("#UD");
        cpu.write_cr4(cpu.read_cr4() | 0x2000);
        assertThatThrownBy(() -> cpu.vmxon(0x100000)).hasMessageContaining("#GP");
        cpu.wrmsr(MSR_IA32_FEATURE_CONTROL, FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMXON_ENABLED);
        assertThatThrownBy(() -> cpu.wrmsr(MSR_IA32_FEATURE_CONTROL, 0)).hasMessageContaining("locked");
        assertThat(cpu.rdmsr(MSR_IA32_VMX_BASIC) & 0xffffffffL).isEqualTo(VmxCapabilities.VMCS_REVISION_ID);
        int[] r = new int[4];
        cpu.cpuid(1, 0, r);
        assertThat(r[2] & (1 << 5)).as("CPUID.1:ECX.VMX").isNotZero();
    }

    @Test void vmxonChecksRevisionAndRejectsSecondVmxon() {
        h = new VmxHarness();
        // already in VMX operation with a current VMCS: VMfailValid(15)
        assertThat(h.cpu.vmxon(h.vmxonRegion.hpa)).isEqualTo(VmxCpu.VM_FAIL_VALID);
        assertThat(h.r(VM_INSTRUCTION_ERROR)).isEqualTo(VMXERR_VMXON_IN_VMX_ROOT_OPERATION);
    }

    @Test void vmptrldChecksRevisionAndVmptrstReportsCurrent() {
        h = new VmxHarness();
        var other = h.mem.allocPages(4096);
        h.mem.write32(other.hpa, 0x1234);
        assertThat(h.cpu.vmptrld(other.hpa)).isEqualTo(VmxCpu.VM_FAIL_VALID);
        assertThat(h.r(VM_INSTRUCTION_ERROR)).isEqualTo(VMXERR_VMPTRLD_INCORRECT_VMCS_REVISION_ID);
        assertThat(h.cpu.vmptrld(h.vmxonRegion.hpa)).isEqualTo(VmxCpu.VM_FAIL_VALID);
        assertThat(h.r(VM_INSTRUCTION_ERROR)).isEqualTo(VMXERR_VMPTRLD_VMXON_POINTER);
        assertThat(h.cpu.vmptrld(h.vmcs.hpa + 8)).isEqualTo(VmxCpu.VM_FAIL_VALID);
        assertThat(h.r(VM_INSTRUCTION_ERROR)).isEqualTo(VMXERR_VMPTRLD_INVALID_ADDRESS);
        assertThat(h.cpu.vmptrst()).isEqualTo(h.vmcs.hpa);
    }

    @Test void vmreadWithoutCurrentVmcsFailsInvalidAndBadEncodingFailsValid() {
        h = new VmxHarness();
        h.cpu.vmread(0x7fff);
        assertThat(h.cpu.lastStatus()).isEqualTo(VmxCpu.VM_FAIL_VALID);
        assertThat(h.r(VM_INSTRUCTION_ERROR)).isEqualTo(VMXERR_UNSUPPORTED_VMCS_COMPONENT);
        assertThat(h.cpu.vmwrite(VM_EXIT_REASON, 1)).isEqualTo(VmxCpu.VM_FAIL_VALID);
        assertThat(h.r(VM_INSTRUCTION_ERROR)).isEqualTo(13); // VMWRITE to a read-only field
        assertThat(h.cpu.vmclear(h.vmcs.hpa)).isEqualTo(VmxCpu.VM_SUCCEED);
        assertThat(h.cpu.vmptrst()).isEqualTo(-1L);
        h.cpu.vmread(GUEST_RIP);
        assertThat(h.cpu.lastStatus()).isEqualTo(VmxCpu.VM_FAIL_INVALID);
        assertThat(h.cpu.vmlaunch()).isEqualTo(VmxCpu.VM_FAIL_INVALID);
    }

    @Test void vmlaunchTwiceFailsWithError4AndVmresumeOfClearVmcsWithError5() {
        h = new VmxHarness();
        h.load(0x1000, 0xf4); // hlt
        assertThat(h.resume()).isEqualTo(VmxCpu.VM_FAIL_VALID);
        assertThat(h.r(VM_INSTRUCTION_ERROR)).isEqualTo(VMXERR_VMRESUME_NONLAUNCHED_VMCS);
        assertThat(h.launch()).isEqualTo(VmxCpu.VM_SUCCEED);
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_HLT);
        assertThat(h.launch()).isEqualTo(VmxCpu.VM_FAIL_VALID);
        assertThat(h.r(VM_INSTRUCTION_ERROR)).isEqualTo(VMXERR_VMLAUNCH_NONCLEAR_VMCS);
        // VMCLEAR makes it launchable again (after VMPTRLD)
        assertThat(h.cpu.vmclear(h.vmcs.hpa)).isEqualTo(VmxCpu.VM_SUCCEED);
        assertThat(h.cpu.vmptrld(h.vmcs.hpa)).isEqualTo(VmxCpu.VM_SUCCEED);
        assertThat(h.launch()).isEqualTo(VmxCpu.VM_SUCCEED);
    }

    @Test void badControlFieldGivesError7WithExplanation() {
        h = new VmxHarness();
        h.w(PIN_BASED_VM_EXEC_CONTROL, 0);
        assertThat(h.launch()).isEqualTo(VmxCpu.VM_FAIL_VALID);
        assertThat(h.r(VM_INSTRUCTION_ERROR)).isEqualTo(VMXERR_ENTRY_INVALID_CONTROL_FIELD);
        assertThat(h.cpu.lastEntryFailure()).contains("SDM 26.2.1").contains("pin-based").contains("must be 1");
    }

    @Test void unrestrictedGuestWithoutEptIsAnInvalidControl() {
        h = new VmxHarness();
        h.w(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_UNRESTRICTED_GUEST | SECONDARY_EXEC_ENABLE_VPID);
        assertThat(h.launch()).isEqualTo(VmxCpu.VM_FAIL_VALID);
        assertThat(h.r(VM_INSTRUCTION_ERROR)).isEqualTo(VMXERR_ENTRY_INVALID_CONTROL_FIELD);
        assertThat(h.cpu.lastEntryFailure()).contains("unrestricted guest");
    }

    @Test void badHostStateGivesError8() {
        h = new VmxHarness();
        h.w(HOST_CR4, 0x6f0); // no VMXE
        assertThat(h.launch()).isEqualTo(VmxCpu.VM_FAIL_VALID);
        assertThat(h.r(VM_INSTRUCTION_ERROR)).isEqualTo(VMXERR_ENTRY_INVALID_HOST_STATE_FIELD);
        assertThat(h.cpu.lastEntryFailure()).contains("SDM 26.2.2").contains("VMXE");
    }

    @Test void realModeWithoutUnrestrictedGuestIsInvalidGuestState() {
        h = new VmxHarness();
        h.w(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_ENABLE_VPID);
        assertThat(h.launch()).isEqualTo(VmxCpu.VM_SUCCEED);
        assertThat(h.exitReason()).isEqualTo(0x80000021);
        assertThat(h.cpu.lastEntryFailure())
                .startsWith("SDM 26.3.1.1 Checks on Guest Control Registers, Debug Registers, and MSRs")
                .contains("CR0.PE is 0 but unrestricted guest is off");
        // a failed entry leaves the VMCS clear: fixing the state lets VMLAUNCH succeed
        h.w(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_ENABLE_VPID | SECONDARY_EXEC_UNRESTRICTED_GUEST);
        h.load(0x1000, 0xf4);
        assertThat(h.launch()).isEqualTo(VmxCpu.VM_SUCCEED);
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_HLT);
        assertThat(h.cpu.lastEntryFailure()).isNull();
    }

    @Test void guestStateChecksExplainSegmentsRflagsAndActivity() {
        h = new VmxHarness();
        h.w(GUEST_RFLAGS, 0);
        h.launch();
        assertThat(h.exitReason()).isEqualTo(0x80000021);
        assertThat(h.cpu.lastEntryFailure()).contains("26.3.1.4").contains("bit 1");
        h.w(GUEST_RFLAGS, 2);
        h.w(GUEST_SS_AR_BYTES, 0x9b);
        h.launch();
        assertThat(h.exitReason()).isEqualTo(0x80000021);
        assertThat(h.cpu.lastEntryFailure()).contains("26.3.1.2").contains("SS type");
        h.w(GUEST_SS_AR_BYTES, 0x93);
        h.w(GUEST_ACTIVITY_STATE, 7);
        h.launch();
        assertThat(h.cpu.lastEntryFailure()).contains("26.3.1.5").contains("activity state");
        h.w(GUEST_ACTIVITY_STATE, 0);
        h.w(GUEST_TR_AR_BYTES, 0x89);
        h.launch();
        assertThat(h.cpu.lastEntryFailure()).contains("TR access rights");
        h.w(GUEST_TR_AR_BYTES, 0x8b);
        h.w(VMCS_LINK_POINTER, 0);
        h.launch();
        assertThat(h.cpu.lastEntryFailure()).contains("link pointer");
    }

    @Test void resetStateAsVmxVcpuResetWritesItEnters() {
        h = new VmxHarness();
        // vmx_vcpu_reset: CS 0xf000 base 0xffff0000... then the VMM's sregs put CS base at 0xf0000
        h.setupRealModeGuest(0xf000, 0xfff0);
        h.w(GUEST_IDTR_LIMIT, 0xffff);
        h.load(0xffff0, 0xf4);
        assertThat(h.launch()).isEqualTo(VmxCpu.VM_SUCCEED);
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_HLT);
        assertThat(h.rip()).isEqualTo(0xfff0);
    }

    @Test void inveptAndInvvpidValidateTheirType() {
        h = new VmxHarness();
        assertThat(h.cpu.invept(VMX_EPT_EXTENT_CONTEXT, h.r(EPT_POINTER))).isEqualTo(VmxCpu.VM_SUCCEED);
        assertThat(h.cpu.invept(VMX_EPT_EXTENT_INDIVIDUAL_ADDR, 0)).isEqualTo(VmxCpu.VM_FAIL_VALID);
        assertThat(h.r(VM_INSTRUCTION_ERROR)).isEqualTo(VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID);
        assertThat(h.cpu.invvpid(VMX_VPID_EXTENT_SINGLE_CONTEXT, 1, 0)).isEqualTo(VmxCpu.VM_SUCCEED);
        assertThat(h.cpu.vmxoff()).isEqualTo(VmxCpu.VM_SUCCEED);
        assertThatThrownBy(() -> h.cpu.vmread(GUEST_RIP)).hasMessageContaining("#UD");
    }

    @Test void msrLoadAndStoreAreas() {
        h = new VmxHarness();
        var area = h.mem.allocPages(4096);
        // entry load: IA32_SYSENTER_CS = 0x42, STAR = 0x0023001000000000; exit store: STAR, SYSENTER_CS
        h.mem.write32(area.hpa, 0x174);
        h.mem.write64(area.hpa + 8, 0x42);
        h.mem.write32(area.hpa + 16, 0xc0000081);
        h.mem.write64(area.hpa + 24, 0x0023001000000000L);
        h.mem.write32(area.hpa + 1024, 0xc0000081);
        h.mem.write32(area.hpa + 1040, 0x174);
        h.w(VM_ENTRY_MSR_LOAD_ADDR, area.hpa);
        h.w(VM_ENTRY_MSR_LOAD_COUNT, 2);
        h.w(VM_EXIT_MSR_STORE_ADDR, area.hpa + 1024);
        h.w(VM_EXIT_MSR_STORE_COUNT, 2);
        h.load(0x1000, 0xf4);
        assertThat(h.launch()).isEqualTo(VmxCpu.VM_SUCCEED);
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_HLT);
        assertThat(h.r(GUEST_SYSENTER_CS)).isEqualTo(0x42);
        assertThat(h.mem.read64(area.hpa + 1024 + 8)).isEqualTo(0x0023001000000000L);
        assertThat(h.mem.read64(area.hpa + 1040 + 8)).isEqualTo(0x42);
    }

    @Test void msrLoadOfFsBaseFailsTheEntry() {
        h = new VmxHarness();
        var area = h.mem.allocPages(4096);
        h.mem.write32(area.hpa, 0x277);
        h.mem.write64(area.hpa + 8, 0x0007040600070406L);
        h.mem.write32(area.hpa + 16, 0xc0000100);
        h.w(VM_ENTRY_MSR_LOAD_ADDR, area.hpa);
        h.w(VM_ENTRY_MSR_LOAD_COUNT, 2);
        h.load(0x1000, 0xf4);
        h.launch();
        assertThat(h.exitReason()).isEqualTo(0x80000022);   // 34 | failed VM entry
        assertThat(h.qual()).isEqualTo(2);
        assertThat(h.cpu.lastEntryFailure()).contains("SDM 26.4").contains("entry 2");
    }
}
