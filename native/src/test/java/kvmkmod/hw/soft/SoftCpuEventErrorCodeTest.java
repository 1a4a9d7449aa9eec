package kvmkmod.hw.soft;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static kvmkmod.hw.VmxArch.*;
import static kvmkmod.hw.soft.SoftArch.GP;
import static kvmkmod.hw.soft.SoftArch.NP;
import static kvmkmod.hw.soft.SoftArch.SS_FAULT;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The EXT bit (bit 0) of selector error codes (SDM 6.13 "Error Code"): set for a fault raised while
 * delivering an event external to the program (external interrupt, NMI, hardware exception), clear
 * when the event was INT n. 32-bit flat protected mode; the faults exit through the exception bitmap.
 */
class SoftCpuEventErrorCodeTest {
    private VmxHarness h;

    @BeforeEach void setUp() {
        h = new VmxHarness();
        h.protected32(new long[]{0, 0x00cf9a000000ffffL, 0x00cf92000000ffffL});
        h.w(EXCEPTION_BITMAP, 1 << NP | 1 << GP | 1 << SS_FAULT);
        h.w(GUEST_RFLAGS, 0x202);
        // IDT[0x21]: an interrupt gate that is not present; IDT[6] (#UD): a gate to selector 0x80, beyond the GDT
        h.ram.buf.putLong(0x1400 + 0x21 * 8, 0x1300L | 8L << 16 | 0x0e00L << 32);
        h.ram.buf.putLong(0x1400 + 6 * 8, 0x1300L | 0x80L << 16 | 0x8e00L << 32);
        h.load(0x2000, 0xcd, 0x21, 0x0f, 0x0b);          // int 0x21; ud2
    }

    @AfterEach void tearDown() { h.close(); }

    @Test void softwareInterruptThroughANotPresentGateHasExtClear() {
        h.launch();
        h.expectException(NP, 0x21 * 8 + 2, 0x2000);
    }

    @Test void externalInterruptThroughANotPresentGateHasExtSet() {
        h.w(VM_ENTRY_INTR_INFO_FIELD, INTR_INFO_VALID_MASK | INTR_TYPE_EXT_INTR | 0x21);
        h.launch();
        h.expectException(NP, 0x21 * 8 + 2 + 1, 0x2000);
        assertThat(h.r(IDT_VECTORING_INFO_FIELD)).as("the interrupt being delivered").isEqualTo(0x80000021L);
    }

    @Test void hardwareExceptionWhoseGateSelectorIsOutsideTheGdtGivesGpWithExt() {
        h.w(GUEST_RIP, 0x2002);
        h.launch();
        h.expectException(GP, 0x80 | 1, 0x2002);
    }

    @Test void stackFaultWhileDeliveringAnExternalInterruptHasExtSet() {
        // SS limit 0x8ffd (expand-up) with ESP 0x9000 at CPL 0: the first push of the frame crosses it
        h.ram.buf.putLong(0x1400 + 0x22 * 8, 0x1300L | 8L << 16 | 0x8e00L << 32);
        h.w(GUEST_SS_LIMIT, 0x8ffd);
        h.w(GUEST_SS_AR_BYTES, 0x4093);
        h.w(VM_ENTRY_INTR_INFO_FIELD, INTR_INFO_VALID_MASK | INTR_TYPE_EXT_INTR | 0x22);
        h.launch();
        h.expectException(SS_FAULT, 1, 0x2000);
    }
}
