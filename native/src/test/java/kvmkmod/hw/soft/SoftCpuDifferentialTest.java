package kvmkmod.hw.soft;

import kvmkmod.hw.host.HostKvm;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import static kvmkmod.hw.VmxArch.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Random integer instruction sequences on the host's /dev/kvm and on the soft CPU, per mode, with a fixed
 * seed: no divergence in registers, RIP, defined flags, the scratch buffer or the stack (see DiffTester).
 */
class SoftCpuDifferentialTest {
    private static final int CASES = Integer.getInteger("difftest.cases", 1500);

    private void mode(int mode) {
        Assumptions.assumeTrue(HostKvm.usable(), () -> "host /dev/kvm not usable: " + HostKvm.whyNotUsable());
        DiffTester.Stats st;
        try (DiffTester t = new DiffTester()) { st = t.run(mode, 20261126L, CASES, 40); }
        System.out.printf("SoftCpuDifferentialTest %s: %d cases, %d instructions compared, %d divergences%n",
                DiffTester.MODE_NAMES[mode], st.cases, st.instructions, st.divergences);
        assertThat(st.divergences).as(String.join("\n", st.reports)).isZero();
    }

    @Test void realMode() { mode(DiffTester.REAL); }

    @Test void protectedMode32() { mode(DiffTester.PROT32); }

    @Test void longMode64() { mode(DiffTester.LONG); }

    /**
     * Regression for the first divergence found: a #DE raised by DIV in 32-bit protected mode must push
     * EFLAGS with RF set (fault-class exception, SDM Vol. 3 "Instruction-Breakpoint Exception Condition"),
     * as the host processor does; the soft CPU pushed RF clear. Needs no /dev/kvm.
     */
    @Test void faultClassExceptionPushesRf() {
        try (VmxHarness h = new VmxHarness()) {
            h.load(0x1108, 0, 0, 0, 0, 0, 0, 0, 0,
                    0xff, 0xff, 0x00, 0x00, 0x00, 0x9a, 0xcf, 0x00,
                    0xff, 0xff, 0x00, 0x00, 0x00, 0x92, 0xcf, 0x00);
            h.w(GUEST_GDTR_BASE, 0x1108);
            h.w(GUEST_GDTR_LIMIT, 0x17);
            h.load(0x40000, 0x00, 0x30, 0x08, 0x00, 0x00, 0x8e, 0x00, 0x00); // vector 0: interrupt gate to 0x3000
            h.w(GUEST_IDTR_BASE, 0x40000);
            h.w(GUEST_IDTR_LIMIT, 0xff);
            h.load(0x3000, 0xf4);
            h.w(GUEST_RSP, 0x9000);
            h.flatSegments(8, 0xc09b, 0x10, 0xc093, 0, 2, 3, 4, 5);
            h.w(GUEST_CR0, 0x60010031L);
            h.w(GUEST_RFLAGS, 0x2);
            h.load(0x1000, 0x31, 0xc9, 0xf7, 0xf1); // xor ecx, ecx; div ecx
            h.launch();
            assertThat(h.exitReason()).as("%s", h.cpu.lastExitNote()).isEqualTo(EXIT_REASON_HLT);
            assertThat(h.rip()).isEqualTo(0x3000);
            assertThat(h.ram.buf.getInt(0x9000 - 12)).as("pushed EIP: the DIV").isEqualTo(0x1002);
            assertThat(h.ram.buf.getInt(0x9000 - 4) & 0x10000).as("pushed EFLAGS.RF").isEqualTo(0x10000);
            assertThat(h.rflags() & 0x10000).as("RF in the handler").isZero();
        }
    }
}
