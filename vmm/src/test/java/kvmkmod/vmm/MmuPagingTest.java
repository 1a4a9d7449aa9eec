package kvmkmod.vmm;

import kvmkmod.hw.Backend;
import kvmkmod.include.KvmSegment;
import kvmkmod.include.KvmSregs;
import kvmkmod.include.trace.FunctionGraphTrace;
import kvmkmod.vmx.KvmIntel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The MMU with and without EPT on the soft processor, driven by a guest that pages for itself
 * (src/test/resources/mmu/paging.S): 32-bit, PAE and IA-32e paging, its own table edits with INVLPG,
 * two address spaces switched through CR3, and MMIO through a guest mapping.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class MmuPagingTest {
    /** What paging.S prints: per mode the values read back, then the IA-32e leg. */
    static final String EXPECTED = String.join("\n",
            // 32-bit paging: A, A after retarget, B, B through the first space again, C, MMIO read
            "11111111", "11111111", "22222222", "22222222", "33333333", "ffffffff",
            // the aliasing directory entry written while live (0xc00000 -> PT1 -> page A)
            "11111111",
            // PAE paging
            "11111111", "11111111", "22222222", "22222222", "33333333", "ffffffff",
            // IA-32e: high half of page A, page B after the 64-bit store, MMIO
            "44444444", "22222222", "ffffffff", "");

    static byte[] image() throws IOException {
        try (InputStream in = MmuPagingTest.class.getResourceAsStream("/mmu/paging.bin")) {
            return in.readAllBytes();
        }
    }

    /** 32-bit flat protected mode, as a loader would leave it: CS=0x08, data 0x10, base 0, 4 GiB. */
    static void flatProtectedMode(Vmm vmm) {
        KvmSregs s = vmm.kvm_get_sregs();
        for (KvmSegment g : new KvmSegment[] {s.cs, s.ds, s.es, s.fs, s.gs, s.ss}) {
            g.base = 0;
            g.limit = 0xffffffff;
            g.selector = g == s.cs ? 0x08 : 0x10;
            g.type = g == s.cs ? 0xb : 0x3;
            g.present = 1;
            g.dpl = 0;
            g.db = 1;
            g.s = 1;
            g.g = 1;
            g.l = 0;
            g.unusable = 0;
        }
        s.cr0 = 0x11; // PE | ET
        vmm.kvm_set_sregs(s);
    }

    record Run(RunResult result, String output, String mmuView, long[] dirty) {}

    static KvmIntel.Params params(boolean ept, boolean oos) {
        KvmIntel.Params p = new KvmIntel.Params();
        p.enable_ept = ept;
        p.oos_shadow = oos;
        return p;
    }

    static Run run(KvmIntel.Params p, byte[] image) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        JavaSys sys;
        try {
            sys = JavaSys.create(Backend.SOFT, p);
        } catch (JavaSys.Unavailable u) {
            Transports.skipIf(true, "MmuPagingTest", u.getMessage());
            throw u;
        }
        try (sys) {
            Vmm.Config cfg = new Vmm.Config();
            cfg.memSize = 2 << 20;
            cfg.output = out;
            try (Vmm vmm = new Vmm(sys, cfg)) {
                vmm.loadImage(image);
                flatProtectedMode(vmm);
                RunResult r = vmm.kvm_run();
                return new Run(r, out.toString(StandardCharsets.ISO_8859_1), MmuView.render(sys, false), null);
            }
        }
    }

    @Test
    void pagingGuestGivesTheSameOutputWithAndWithoutEpt() throws IOException {
        byte[] img = image();
        Run ept = run(params(true, true), img);
        Run shadow = run(params(false, true), img);
        Run shadowSync = run(params(false, false), img);
        assertThat(ept.result().outcome()).as(ept.result().message()).isEqualTo(Outcome.HLT);
        assertThat(ept.output()).isEqualTo(EXPECTED);
        assertThat(shadow.result().outcome()).as(shadow.result().message()).isEqualTo(Outcome.HLT);
        assertThat(shadow.output()).isEqualTo(EXPECTED);
        assertThat(shadowSync.output()).isEqualTo(EXPECTED);
        // the same userspace exits (MMIO, the debug port, HLT) either way
        assertThat(ExitEvent.itemised(shadow.result().exitLog())).isEqualTo(ExitEvent.itemised(ept.result().exitLog()));
        assertThat(ept.mmuView()).contains("EPT (tdp)").contains("gpa 0x20000 -> page hpa");
        // at the end the guest runs IA-32e paging: a 4-level shadow root over its own PML4 (gfn 0x1b)
        assertThat(shadow.mmuView()).contains("shadow paging").contains("(level 4 guest table gfn 0x1b)")
                .contains("gva 0x400000 -> page hpa");
    }
}
