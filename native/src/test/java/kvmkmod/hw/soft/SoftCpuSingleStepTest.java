package kvmkmod.hw.soft;

import kvmkmod.hw.VmxCpu;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static kvmkmod.hw.VmxArch.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Debug exceptions: the single-step trap of RFLAGS.TF (after the instruction, DR6.BS / exit qualification
 * bit 14, deferred by MOV SS, none for an instruction that delivers an event), as KVM_SET_GUEST_DEBUG
 * single-step uses it through an intercepted #DB; and DR0-DR3 instruction breakpoints with RF.
 */
class SoftCpuSingleStepTest {
    private VmxHarness h;

    @BeforeEach void setUp() {
        h = new VmxHarness();
        h.protected32(new long[]{0, 0x00cf9a000000ffffL, 0x00cf92000000ffffL});
        h.w(CPU_BASED_VM_EXEC_CONTROL, h.r(CPU_BASED_VM_EXEC_CONTROL) & ~CPU_BASED_MOV_DR_EXITING);
    }

    @AfterEach void tearDown() { h.close(); }

    private void expectStep(long rip) {
        assertThat(h.exitReason()).as("%s", h.cpu.lastExitNote()).isEqualTo(EXIT_REASON_EXCEPTION_NMI);
        assertThat(h.r(VM_EXIT_INTR_INFO)).as("#DB, hardware exception").isEqualTo(0x80000301L);
        assertThat(h.qual()).as("exit qualification: BS").isEqualTo(0x4000);
        assertThat(h.rip()).as("trap: RIP after the stepped instruction").isEqualTo(rip);
    }

    @Test void trapFollowsEachInstructionAfterTheOneThatSetTfAndMovSsDefersIt() {
        h.w(EXCEPTION_BITMAP, 1 << 1);
        h.load(0x2000,
                0x9c,                                    // pushfd
                0x81, 0x0c, 0x24, 0x00, 0x01, 0x00, 0x00, // or dword [esp], 0x100
                0x9d,                                    // popfd: TF = 1 from now on
                0x90,                                    // nop              (0x2009) -> trap at 0x200a
                0xb8, 0x10, 0x00, 0x00, 0x00,            // mov eax, 0x10    (0x200a) -> trap at 0x200f
                0x8e, 0xd0,                              // mov ss, ax       (0x200f): no trap here
                0x43,                                    // inc ebx          (0x2011) -> one trap at 0x2012
                0x41,                                    // inc ecx          (0x2012) -> trap at 0x2013
                0xf4);
        h.launch();
        expectStep(0x200a);
        h.resume();
        expectStep(0x200f);
        h.resume();
        expectStep(0x2012);
        assertThat(h.regs()[VmxCpu.RBX] & 0xff).isEqualTo(1);
        h.resume();
        expectStep(0x2013);
        assertThat(h.rflags() & 0x100).as("TF stays set").isNotZero();
    }

    @Test void trapDeliveredToTheGuestSetsDr6BsAndPushesTheNextEip() {
        // IDT[1]: interrupt gate to 0008:1300, which reads DR6 and the pushed EIP, then clears TF in the frame
        h.ram.buf.putLong(0x1400 + 8, 0x1300L | 8L << 16 | 0x8e00L << 32);
        h.load(0x1300,
                0x0f, 0x21, 0xf0,                        // mov eax, dr6
                0x8b, 0x1c, 0x24,                        // mov ebx, [esp]
                0x81, 0x64, 0x24, 0x08, 0xff, 0xfe, 0xff, 0xff, // and dword [esp+8], ~0x100
                0xcf);                                   // iretd
        h.load(0x2000, 0x41, 0x41, 0xf4);                // inc ecx; inc ecx; hlt
        h.w(GUEST_RFLAGS, 0x102);
        h.launch();
        assertThat(h.exitReason()).as("%s", h.cpu.lastExitNote()).isEqualTo(EXIT_REASON_HLT);
        assertThat(h.regs()[VmxCpu.RAX] & 0x4000).as("DR6.BS").isNotZero();
        assertThat(h.regs()[VmxCpu.RBX]).as("trap: return EIP after the first INC").isEqualTo(0x2001);
        assertThat(h.regs()[VmxCpu.RCX] & 0xff).isEqualTo(2);
        assertThat(h.rip()).isEqualTo(0x2002);
    }

    @Test void softwareInterruptTakesNoTrapButItsHandlerReturnsToStepping() {
        h.w(EXCEPTION_BITMAP, 1 << 1);
        h.ram.buf.putLong(0x1400 + 0x30 * 8, 0x1300L | 8L << 16 | 0x8e00L << 32);
        h.load(0x1300, 0x42, 0xcf);                      // inc edx; iretd (the handler runs with TF clear)
        h.load(0x2000, 0xcd, 0x30, 0x41, 0xf4);          // int 0x30; inc ecx; hlt
        h.w(GUEST_RFLAGS, 0x102);
        h.launch();
        // IRET restores TF; the trap comes after the first instruction run with TF set again (INC ECX)
        expectStep(0x2003);
        assertThat(h.regs()[VmxCpu.RDX] & 0xff).isEqualTo(1);
        assertThat(h.regs()[VmxCpu.RCX] & 0xff).isEqualTo(1);
    }

    @Test void instructionBreakpointFaultsBeforeTheInstructionAndRfSuppressesItOnce() {
        h.w(EXCEPTION_BITMAP, 1 << 1);
        h.load(0x2000,
                0xb8, 0x10, 0x20, 0x00, 0x00,            // mov eax, 0x2010
                0x0f, 0x23, 0xc0,                        // mov dr0, eax
                0xb8, 0x01, 0x00, 0x00, 0x00,            // mov eax, 1 (L0, execute)
                0x0f, 0x23, 0xf8,                        // mov dr7, eax
                0x43,                                    // inc ebx (0x2010)
                0xf4);
        h.launch();
        assertThat(h.exitReason()).as("%s", h.cpu.lastExitNote()).isEqualTo(EXIT_REASON_EXCEPTION_NMI);
        assertThat(h.r(VM_EXIT_INTR_INFO)).isEqualTo(0x80000301L);
        assertThat(h.qual()).as("B0").isEqualTo(1);
        assertThat(h.rip()).as("fault: RIP at the breakpoint").isEqualTo(0x2010);
        assertThat(h.regs()[VmxCpu.RBX] & 0xff).isZero();
        h.resume();
        assertThat(h.rip()).as("without RF the breakpoint hits again").isEqualTo(0x2010);
        h.w(GUEST_RFLAGS, h.rflags() | 0x10000);     // RF, as a debugger resuming from a fault sets it
        h.resume();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_HLT);
        assertThat(h.regs()[VmxCpu.RBX] & 0xff).isEqualTo(1);
    }

    @Test void pendingDebugExceptionsAreDeliveredRightAfterVmEntry() {
        // SDM 26.6.3 "Delivery of Pending Debug Exceptions after VM Entry": before any guest instruction
        h.w(EXCEPTION_BITMAP, 1 << 1);
        h.load(0x2000, 0x41, 0xf4);
        h.w(GUEST_PENDING_DBG_EXCEPTIONS, 0x4000);
        h.launch();
        expectStep(0x2000);
        assertThat(h.regs()[VmxCpu.RCX] & 0xff).isZero();
        assertThat(h.r(GUEST_PENDING_DBG_EXCEPTIONS)).as("consumed").isZero();
        h.resume();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_HLT);
    }

    /**
     * The monitor trap flag (processor-based control bit 27) is not reported as allowed-1 in
     * IA32_VMX_PROCBASED_CTLS (2.6.33's vmx.c never asks for it), so a VM entry with it set fails as an
     * invalid control field (SDM 26.2.1.1 "VM-Execution Control Fields").
     */
    @Test void monitorTrapFlagIsNotOfferedSoVmEntryRefusesIt() {
        assertThat((h.caps.rdmsr(MSR_IA32_VMX_PROCBASED_CTLS) >>> 32) & (1L << 27)).isZero();
        h.w(CPU_BASED_VM_EXEC_CONTROL, h.r(CPU_BASED_VM_EXEC_CONTROL) | (1L << 27));
        assertThat(h.launch()).isEqualTo(VmxCpu.VM_FAIL_VALID);
        assertThat(h.r(VM_INSTRUCTION_ERROR)).as("VMXERR_ENTRY_INVALID_CONTROL_FIELD").isEqualTo(7);
    }
}
