package kvmkmod.hw.soft;

import kvmkmod.hw.host.HostKvm;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Random integer instruction sequences on the host's /dev/kvm and on the soft CPU, per mode, with a fixed
 * seed: no divergence in registers, RIP, defined flags, the scratch buffer or the stack (see DiffTester).
 */
class SoftCpuDifferentialTest {
    private static final int CASES = Integer.getInteger("difftest.cases", 150);

    private void mode(int mode) {
        Assumptions.assumeTrue(HostKvm.usable(), () -> "host /dev/kvm not usable: " + HostKvm.whyNotUsable());
        DiffTester.Stats st;
        try (DiffTester t = new DiffTester()) { st = t.run(mode, 20261126L, CASES, 30); }
        System.out.printf("SoftCpuDifferentialTest %s: %d cases, %d instructions compared, %d divergences%n",
                DiffTester.MODE_NAMES[mode], st.cases, st.instructions, st.divergences);
        assertThat(st.divergences).as(String.join("\n", st.reports)).isZero();
    }

    @Test void realMode() { mode(DiffTester.REAL); }

    @Test void protectedMode32() { mode(DiffTester.PROT32); }

    @Test void longMode64() { mode(DiffTester.LONG); }
}
