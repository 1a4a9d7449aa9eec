package kvmkmod.hw.soft;

import kvmkmod.hw.VmxCpu;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;

import static kvmkmod.hw.VmxArch.*;
import static org.assertj.core.api.Assertions.assertThat;

/** Garbage guests: whatever the bytes, every run ends in an architectural VM exit, and the same way twice. */
class SoftCpuFuzzTest {
    private static final Set<Integer> EXPECTED = Set.of(EXIT_REASON_EXCEPTION_NMI, EXIT_REASON_EXTERNAL_INTERRUPT,
            EXIT_REASON_TRIPLE_FAULT, EXIT_REASON_CPUID, EXIT_REASON_HLT, EXIT_REASON_INVLPG, EXIT_REASON_RDPMC,
            EXIT_REASON_RDTSC, EXIT_REASON_VMCALL, EXIT_REASON_CR_ACCESS, EXIT_REASON_DR_ACCESS, EXIT_REASON_IO_INSTRUCTION,
            EXIT_REASON_MSR_READ, EXIT_REASON_MSR_WRITE, EXIT_REASON_MWAIT_INSTRUCTION, EXIT_REASON_MONITOR_INSTRUCTION,
            EXIT_REASON_PAUSE_INSTRUCTION, EXIT_REASON_EPT_VIOLATION, EXIT_REASON_EPT_MISCONFIG, EXIT_REASON_WBINVD,
            EXIT_REASON_PENDING_INTERRUPT, SoftArch.EXIT_REASON_INVD, EXIT_REASON_NMI_WINDOW, EXIT_REASON_APIC_ACCESS,
            EXIT_REASON_TASK_SWITCH, EXIT_REASON_TPR_BELOW_THRESHOLD);

    private List<Long> run(long seed) { return run(seed, 0); }

    /** mode 0: real mode; 1: 32-bit flat protected mode; 2: 64-bit mode with identity paging. */
    private List<Long> run(long seed, int mode) {
        List<Long> trace = new ArrayList<>();
        try (VmxHarness h = new VmxHarness()) {
            if (mode > 0) enterMode(h, mode);
            Random rnd = new Random(seed);
            byte[] code = new byte[8192];
            rnd.nextBytes(code);
            h.ram.buf.put(0x1000, code);
            for (int v = 0; v < 256; v++) h.ivt(v, 0, 0x3000 + (v & 0xf));
            for (int i = 0; i < 16; i++) h.load(0x3000 + i, 0xf4);
            h.cpu.stopAfter(50_000);
            int status = h.launch();
            for (int n = 0; n < 30 && status == VmxCpu.VM_SUCCEED; n++) {
                h.cpu.stopAfter(50_000);
                int reason = h.exitReason();
                assertThat(EXPECTED).as("mode %d seed %d exit %d: %s / %s", mode, seed, reason, h.cpu.lastExitNote(), h.cpu.lastEntryFailure()).contains(reason);
                assertThat(h.cpu.lastExitNote() == null || !h.cpu.lastExitNote().contains("internal error"))
                        .as("seed %d: %s", seed, h.cpu.lastExitNote()).isTrue();
                if (System.getProperty("fuzz.debug") != null) System.out.println("FUZZ " + mode + " " + seed + " " + reason + " " + h.cpu.lastExitNote());
                trace.add((long) reason);
                trace.add(h.rip());
                trace.add(h.qual());
                if (reason == EXIT_REASON_TRIPLE_FAULT || reason == EXIT_REASON_EPT_VIOLATION
                        || reason == EXIT_REASON_EPT_MISCONFIG) break;
                if (reason == EXIT_REASON_EXTERNAL_INTERRUPT || reason == EXIT_REASON_PENDING_INTERRUPT) status = h.resume();
                else status = h.skipAndResume();
            }
            trace.add(h.cpu.instructionsRetired());
        }
        return trace;
    }

    private static void enterMode(VmxHarness h, int mode) {
        h.load(0x1108, 0, 0, 0, 0, 0, 0, 0, 0,
                0xff, 0xff, 0x00, 0x00, 0x00, 0x9a, mode == 2 ? 0xaf : 0xcf, 0x00,
                0xff, 0xff, 0x00, 0x00, 0x00, 0x92, 0xcf, 0x00);
        h.w(GUEST_GDTR_BASE, 0x1108);
        h.w(GUEST_GDTR_LIMIT, 0x17);
        // every vector: an interrupt gate (DPL 3) to a HLT at 0x3000
        int gate = mode == 2 ? 16 : 8;
        for (int v = 0; v < 256; v++)
            h.load(0x40000 + (long) v * gate, 0x00, 0x30, 0x08, 0x00, 0x00, 0xee, 0x00, 0x00);
        h.w(GUEST_IDTR_BASE, 0x40000);
        h.w(GUEST_IDTR_LIMIT, 256 * gate - 1);
        h.w(GUEST_RSP, 0x9000);
        h.flatSegments(8, mode == 2 ? 0xa09b : 0xc09b, 0x10, 0xc093, 0, 2, 3, 4, 5);
        h.w(GUEST_CR0, mode == 2 ? 0x80010031L : 0x60010031L);
        if (mode == 2) {
            h.ram.buf.putLong(0x20000, 0x21000 | 7);
            h.ram.buf.putLong(0x21000, 0x22000 | 7);
            h.ram.buf.putLong(0x22000, 0x87);
            h.w(GUEST_CR4, 0x2020);
            h.w(GUEST_CR3, 0x20000);
            h.w(VM_ENTRY_CONTROLS, h.r(VM_ENTRY_CONTROLS) | VM_ENTRY_IA32E_MODE);
            h.w(GUEST_TR_AR_BYTES, 0x8b);
        }
    }

    @Test void randomThirtyTwoAndSixtyFourBitCodeToo() {
        for (long seed = 0; seed < 60; seed++) {
            run(seed, 1);
            List<Long> a = run(seed, 2);
            if (seed % 10 == 0) assertThat(run(seed, 2)).as("seed %d twice", seed).isEqualTo(a);
        }
    }

    @Test void randomCodeAlwaysEndsInADefinedExitAndIsDeterministic() {
        for (long seed = 0; seed < 120; seed++) {
            List<Long> a = run(seed);
            if (seed % 10 == 0) assertThat(run(seed)).as("seed %d twice", seed).isEqualTo(a);
        }
    }
}
