package kvmkmod.hw.soft;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static kvmkmod.hw.VmxArch.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * x87, MMX, SSE and AVX opcodes on a processor that does not execute them: each raises the exception
 * the SDM prescribes for CR0.EM/MP/TS and CR4.OSFXSR (#NM, #UD), and past those checks #UD (documented
 * in SoftCore); the fences, CLFLUSH and MOVNTI execute.
 */
class SoftCpuFpuSimdTest {
    private VmxHarness h;
    private boolean launched;

    static final long CR0 = 0x60010031L, MP = 2, EM = 4, TS = 8;
    static final long CR4 = 0x2000, OSFXSR = 0x200;

    @BeforeEach void setUp() {
        h = new VmxHarness();
        h.protected32(new long[]{0, 0x00cf9a000000ffffL, 0x00cf92000000ffffL});
        h.w(EXCEPTION_BITMAP, 0xffffffff);
    }

    @AfterEach void tearDown() { h.close(); }

    /** Runs one instruction at 0x2000 (followed by HLT) with the given CR0 and CR4 bits; returns the vector, or -1 for HLT. */
    private int run(long cr0Bits, long cr4Bits, int... insn) {
        h.load(0x2000, insn);
        h.put8(0x2000 + insn.length, 0xf4);
        h.w(GUEST_CR0, CR0 | cr0Bits);
        h.w(GUEST_CR4, CR4 | cr4Bits);
        h.w(GUEST_RIP, 0x2000);
        if (launched) h.resume(); else h.launch();
        launched = true;
        if (h.exitReason() == EXIT_REASON_HLT) return -1;
        assertThat(h.exitReason()).as("%s", h.cpu.lastExitNote()).isEqualTo(EXIT_REASON_EXCEPTION_NMI);
        assertThat(h.rip()).isEqualTo(0x2000);
        return (int) h.r(VM_EXIT_INTR_INFO) & 0xff;
    }

    static final int UD = 6, NM = 7;
    static final int[] FLD1 = {0xd9, 0xe8}, ADDPS = {0x0f, 0x58, 0xc1}, PADDB = {0x0f, 0xfc, 0xc1},
            ADDPD = {0x66, 0x0f, 0x58, 0xc1}, FWAIT = {0x9b}, FXSAVE = {0x0f, 0xae, 0x05, 0x00, 0x70, 0x00, 0x00},
            LDMXCSR = {0x0f, 0xae, 0x15, 0x00, 0x60, 0x00, 0x00}, EMMS = {0x0f, 0x77}, PSHUFB = {0x66, 0x0f, 0x38, 0x00, 0xc1},
            VZEROUPPER = {0xc5, 0xf8, 0x77};

    @Test void x87TakesNmWithEmOrTsElseIsNotModelled() {
        assertThat(run(TS, OSFXSR, FLD1)).isEqualTo(NM);
        assertThat(run(EM, OSFXSR, FLD1)).isEqualTo(NM);
        assertThat(run(0, OSFXSR, FLD1)).isEqualTo(UD);
        assertThat(run(EM, 0, FXSAVE)).as("FXSAVE follows the x87 rule").isEqualTo(NM);
        assertThat(run(TS, 0, FXSAVE)).isEqualTo(NM);
    }

    @Test void waitTakesNmOnlyWithTsAndMp() {
        assertThat(run(TS | MP, 0, FWAIT)).isEqualTo(NM);
        assertThat(run(TS, 0, FWAIT)).isEqualTo(-1);
        assertThat(run(EM | MP, 0, FWAIT)).isEqualTo(-1);
    }

    @Test void sseNeedsOsfxsrAndNoEmBeforeTsMatters() {
        assertThat(run(TS, OSFXSR, ADDPS)).isEqualTo(NM);
        assertThat(run(TS, 0, ADDPS)).as("CR4.OSFXSR = 0 is #UD before TS").isEqualTo(UD);
        assertThat(run(EM | TS, OSFXSR, ADDPS)).as("CR0.EM: #UD").isEqualTo(UD);
        assertThat(run(0, OSFXSR, ADDPS)).isEqualTo(UD);
        assertThat(run(TS, 0, ADDPD)).isEqualTo(UD);
        assertThat(run(TS, OSFXSR, ADDPD)).isEqualTo(NM);
        assertThat(run(TS, OSFXSR, PSHUFB)).isEqualTo(NM);
        assertThat(run(TS, 0, LDMXCSR)).isEqualTo(UD);
        assertThat(run(TS, OSFXSR, LDMXCSR)).isEqualTo(NM);
    }

    @Test void mmxIgnoresOsfxsrButNotEm() {
        assertThat(run(TS, 0, PADDB)).isEqualTo(NM);
        assertThat(run(EM | TS, OSFXSR, PADDB)).isEqualTo(UD);
        assertThat(run(TS, 0, EMMS)).isEqualTo(NM);
        assertThat(run(0, OSFXSR, PADDB)).isEqualTo(UD);
    }

    @Test void vexIsUndefined() {
        assertThat(run(0, OSFXSR, VZEROUPPER)).isEqualTo(UD);
        assertThat(run(TS, OSFXSR, VZEROUPPER)).isEqualTo(UD);
    }

    @Test void fencesClflushAndMovntiExecute() {
        h.regs()[0] = 0x13572468;
        assertThat(run(TS | EM, 0,
                0x0f, 0xae, 0xe8,                        // lfence
                0x0f, 0xae, 0xf0,                        // mfence
                0x0f, 0xae, 0xf8,                        // sfence
                0x0f, 0xae, 0x3d, 0x00, 0x60, 0x00, 0x00, // clflush [0x6000]
                0x0f, 0xc3, 0x05, 0x00, 0x60, 0x00, 0x00)) // movnti [0x6000], eax
                .isEqualTo(-1);
        assertThat(h.ram.buf.getInt(0x6000)).isEqualTo(0x13572468);
    }
}
