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
            EXIT_REASON_PENDING_INTERRUPT, SoftArch.EXIT_REASON_INVD, EXIT_REASON_NMI_WINDOW, EXIT_REASON_APIC_ACCESS);

    private List<Long> run(long seed) {
        List<Long> trace = new ArrayList<>();
        try (VmxHarness h = new VmxHarness()) {
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
                assertThat(EXPECTED).as("seed %d exit %d: %s", seed, reason, h.cpu.lastExitNote()).contains(reason);
                assertThat(h.cpu.lastExitNote() == null || !h.cpu.lastExitNote().contains("internal error"))
                        .as("seed %d: %s", seed, h.cpu.lastExitNote()).isTrue();
                if (System.getProperty("fuzz.debug") != null) System.out.println("FUZZ " + seed + " " + reason + " " + h.cpu.lastExitNote());
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

    @Test void randomCodeAlwaysEndsInADefinedExitAndIsDeterministic() {
        for (long seed = 0; seed < 120; seed++) {
            List<Long> a = run(seed);
            if (seed % 10 == 0) assertThat(run(seed)).as("seed %d twice", seed).isEqualTo(a);
        }
    }
}
