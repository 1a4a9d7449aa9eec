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
 * two address spaces switched through CR3, MMIO through a guest mapping, and page faults taken by the
 * guest's own handler. The host's /dev/kvm, where usable, is the oracle for what the guest must see.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class MmuPagingTest {
    /** What paging.S prints: per mode the values read back, then the IA-32e leg. */
    static final String EXPECTED = String.join("\n",
            // 32-bit paging: A, A after retarget, B, B through the first space again, C, MMIO read
            "11111111", "11111111", "22222222", "22222222", "33333333", "ffffffff",
            // #PF on a write to a read-only page: CR2, error code (present|write), then the value written
            "00403000", "00000003", "55555555",
            // #PF on a read of an absent page: CR2, error code 0, then what the handler mapped there (page B)
            "00404000", "00000000", "22222222",
            // a large guest page (4 MiB, PSE) at 16 MiB: page A read through it, then page B written through it
            "55555555", "66666666",
            // the aliasing directory entry written while live (0xc00000 -> PT1 -> page A)
            "55555555",
            // PAE paging, the same steps
            "11111111", "11111111", "22222222", "22222222", "33333333", "ffffffff",
            "00403000", "00000003", "55555555", "00404000", "00000000", "22222222", "55555555", "66666666",
            // IA-32e: high half of page A, page B after the 64-bit store, MMIO
            "44444444", "66666666", "ffffffff", "");

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

    static Run run(KvmIntel.Params p, byte[] image) { return run(p, image, false, false); }

    static Run run(KvmIntel.Params p, byte[] image, boolean hugePages, boolean logDirty) {
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
            cfg.hugePages = hugePages;
            try (Vmm vmm = new Vmm(sys, cfg)) {
                if (logDirty) assertThat(vmm.kvm_log_dirty_pages(true)).isZero();
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

    static JavaSys open(KvmIntel.Params p) {
        try {
            return JavaSys.create(Backend.SOFT, p);
        } catch (JavaSys.Unavailable u) {
            Transports.skipIf(true, "MmuPagingTest", u.getMessage());
            throw u;
        }
    }

    static boolean dirty(long[] bitmap, long gfn) { return (bitmap[(int) (gfn / 64)] & (1L << (gfn % 64))) != 0; }

    static Run runDirty(boolean ept, byte[] img, int stopAfterExits) {
        try (JavaSys sys = open(params(ept, true))) {
            Vmm.Config cfg = new Vmm.Config();
            cfg.memSize = 2 << 20;
            cfg.output = new ByteArrayOutputStream();
            try (Vmm vmm = new Vmm(sys, cfg)) {
                long[] bitmap = new long[(int) (cfg.memSize >>> 12) / 64];
                assertThat(vmm.kvm_get_dirty_log(0, bitmap)).as("no dirty logging yet").isEqualTo(-kvmkmod.include.Errno.ENOENT);
                assertThat(vmm.kvm_log_dirty_pages(true)).isZero();
                assertThat(vmm.kvm_get_dirty_log(40, bitmap)).isEqualTo(-kvmkmod.include.Errno.EINVAL);
                assertThat(vmm.kvm_get_dirty_log(0, 0x10L)).isEqualTo(-kvmkmod.include.Errno.EFAULT);
                vmm.loadImage(img);
                flatProtectedMode(vmm);
                vmm.maxExits(stopAfterExits);
                assertThat(vmm.kvm_run().outcome()).isEqualTo(Outcome.MAX_EXITS);
                assertThat(vmm.kvm_get_dirty_log(0, bitmap)).isZero();
                assertThat(dirty(bitmap, 0x20)).as("page A written before the stop").isTrue();
                vmm.maxExits(0);
                RunResult r = vmm.kvm_run();
                long[] after = new long[bitmap.length];
                assertThat(vmm.kvm_get_dirty_log(0, after)).isZero();
                long[] again = new long[bitmap.length];
                assertThat(vmm.kvm_get_dirty_log(0, again)).isZero();
                assertThat(again).as("nothing written after HLT").containsOnly(0L);
                return new Run(r, cfg.output.toString(), null, after);
            }
        }
    }

    /** Index (1-based) of the first MMIO exit of the guest: the 32-bit leg's write to 0x402000. */
    static int firstMmioExit(Run r) {
        int k = 0;
        for (ExitEvent e : r.result().exitLog()) {
            k++;
            if (e.reason() == kvmkmod.include.Kvm_h.KVM_EXIT_MMIO) return k;
        }
        throw new AssertionError("no MMIO exit");
    }

    @Test
    void dirtyLogHoldsWhatTheGuestWroteWithAndWithoutEpt() throws IOException {
        byte[] img = image();
        int k = firstMmioExit(run(params(true, true), img));
        for (boolean ept : new boolean[] {true, false}) {
            Run r = runDirty(ept, img, k);
            assertThat(r.result().outcome()).isEqualTo(Outcome.HLT);
            long[] d = r.dirty();
            for (long gfn : new long[] {0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x20, 0x21, 0x22})
                assertThat(dirty(d, gfn)).as("ept=%s: gfn 0x%x written after the stop", ept, gfn).isTrue();
            for (long gfn : new long[] {0x14, 0x100, 0x1ff})
                assertThat(dirty(d, gfn)).as("ept=%s: gfn 0x%x not written after the stop", ept, gfn).isFalse();
        }
    }

    /**
     * Without EPT and with oos_shadow=0 a guest write to its own live page table is write-protected:
     * the #PF exit is emulated and the write reaches kvm_mmu_pte_write, which maps the new entry.
     */
    @Test
    void guestPageTableWriteStepsThroughKvmMmuPteWrite() throws IOException {
        byte[] img = image();
        ByteArrayOutputStream trace = new ByteArrayOutputStream();
        Run r;
        Tracing.enable(new PrintStream(trace, true, StandardCharsets.UTF_8));
        try {
            r = run(params(false, false), img);
        } finally {
            Tracing.disable();
        }
        assertThat(r.output()).isEqualTo(EXPECTED);
        FunctionGraphTrace t = FunctionGraphTrace.parse(trace.toString(StandardCharsets.UTF_8).lines().toList());
        var writes = t.callsOf("kvm_mmu_pte_write");
        assertThat(writes).isNotEmpty();
        assertThat(writes.stream().anyMatch(c -> c.parent().map(p -> p.function().equals("emulator_write_phys")).orElse(false)))
                .as("kvm_mmu_pte_write called from emulator_write_phys").isTrue();
        assertThat(t.callsOf("paging32_update_pte")).as("a 32-bit leaf entry re-created from the write").isNotEmpty();
        assertThat(t.callsOf("paging64_update_pte")).as("a PAE / IA-32e leaf entry re-created").isNotEmpty();
        // each fault's path: kvm_mmu_page_fault -> pagingNN_page_fault -> walk_addr, fetch
        var pf = t.callsOf("paging32_page_fault");
        assertThat(pf).isNotEmpty();
        assertThat(pf.stream().anyMatch(c -> c.callsInOrder("paging32_walk_addr", "paging32_fetch"))).isTrue();
        assertThat(t.callsOf("paging64_page_fault")).isNotEmpty();
        assertThat(t.callsOf("paging32_invlpg")).isNotEmpty();
        assertThat(t.callsOf("paging64_invlpg")).isNotEmpty();
    }

    /** KVM_SET_NR_MMU_PAGES below what is in use zaps the oldest table pages; the guest still finishes. */
    @Test
    void nrMmuPagesLimitZapsAndTheGuestStillRuns() throws IOException {
        byte[] img = image();
        for (boolean ept : new boolean[] {true, false}) {
            try (JavaSys sys = open(params(ept, true))) {
                Vmm.Config cfg = new Vmm.Config();
                cfg.memSize = 2 << 20;
                cfg.output = new ByteArrayOutputStream();
                try (Vmm vmm = new Vmm(sys, cfg)) {
                    assertThat(vmm.kvm_vm_ioctl(kvmkmod.include.Kvm_h.KVM_GET_NR_MMU_PAGES, 0)).isEqualTo(64);
                    assertThat(vmm.kvm_vm_ioctl(kvmkmod.include.Kvm_h.KVM_SET_NR_MMU_PAGES, 10))
                            .isEqualTo(-kvmkmod.include.Errno.EINVAL);
                    vmm.loadImage(img);
                    flatProtectedMode(vmm);
                    RunResult r = vmm.kvm_run();
                    assertThat(r.outcome()).isEqualTo(Outcome.HLT);
                    kvmkmod.include.Kvm kvm = sys.module().kvm_main().vms().get(0);
                    int used = kvmkmod.x86.Mmu.activePages(kvm).size();
                    assertThat(used).as("ept=%s: table pages in use", ept).isGreaterThan(3);
                    // handle_ept_misconfig's walk: the entries on the way to guest-physical 0x20000 (page A)
                    kvmkmod.x86.X86 x = (kvmkmod.x86.X86) sys.module().kvm_main().arch;
                    kvmkmod.include.KvmVcpu vcpu = kvm.vcpus[0];
                    long[] sptes = new long[4];
                    long pageA = x.kvm_main.gfn_to_pfn(kvm, 0x20) << 12;
                    if (ept) {
                        assertThat(x.mmu.kvm_mmu_get_spte_hierarchy(vcpu, 0x20000, sptes)).isEqualTo(4);
                        assertThat(sptes[0] & kvmkmod.x86.Mmu.PT64_BASE_ADDR_MASK).isEqualTo(pageA);
                        assertThat(sptes[0] & 7).isEqualTo(7); // readable, writable, executable
                    } else {
                        // the shadow tables of the guest's IA-32e space: 0x20000 is mapped to page A too
                        assertThat(x.mmu.kvm_mmu_get_spte_hierarchy(vcpu, 0x20000, sptes)).isEqualTo(4);
                        assertThat(sptes[0] & kvmkmod.x86.Mmu.PT64_BASE_ADDR_MASK).isEqualTo(pageA);
                    }
                    assertThat(vmm.kvm_vm_ioctl(kvmkmod.include.Kvm_h.KVM_SET_NR_MMU_PAGES, 64)).isZero();
                    assertThat(vmm.kvm_vm_ioctl(kvmkmod.include.Kvm_h.KVM_GET_NR_MMU_PAGES, 0)).isEqualTo(64);
                    // shrink below use: the kernel zaps down to the budget (roots in use stay, marked invalid)
                    kvmkmod.x86.X86 x86 = (kvmkmod.x86.X86) sys.module().kvm_main().arch;
                    synchronized (kvm.mmu_lock) { x86.mmu.kvm_mmu_change_mmu_pages(kvm, 2); }
                    assertThat(kvmkmod.x86.Mmu.activePages(kvm).size()).as("ept=%s", ept).isLessThan(used).isLessThanOrEqualTo(2);
                    assertThat(cfg.output.toString()).isEqualTo(EXPECTED);
                }
            }
        }
    }

    /**
     * Guest RAM on 2 MiB host pages: with EPT the whole 2 MiB slot is one large EPT entry (mapping_level
     * from host_mapping_level and lpage_info); with dirty logging on, 4 KiB entries again; without EPT the
     * guest's own 4 KiB pages are shadowed as such. The guest sees no difference.
     */
    @Test
    void hugetlbfsMemoryIsMappedWithLargePagesUnderEpt() throws IOException {
        byte[] img = image();
        Run large = run(params(true, true), img, true, false);
        assertThat(large.output()).isEqualTo(EXPECTED);
        assertThat(large.mmuView()).containsPattern("L2\\[  0\\] gpa 0x0 -> page hpa 0x[0-9a-f]*00000 rwx")
                .doesNotContain("L1[");
        Run logged = run(params(true, true), img, true, true);
        assertThat(logged.output()).isEqualTo(EXPECTED);
        assertThat(logged.mmuView()).contains("L1[ 32] gpa 0x20000 -> page hpa").doesNotContainPattern("L2\\[[ 0-9]*\\] gpa 0x0 -> page");
        Run shadow = run(params(false, true), img, true, false);
        assertThat(shadow.output()).isEqualTo(EXPECTED);
        assertThat(shadow.mmuView()).contains("L1[  0] gva 0x400000 -> page hpa");
    }

    /**
     * The host's /dev/kvm as the oracle: the same guest must give the same exits and output there. The
     * machines this project is tested on serve /dev/kvm with the PVM backend, which shuts the guest down at
     * its own MOV to CR0 that turns paging on (paging set up through KVM_SET_SREGS does work there); on
     * such a host the comparison is skipped with that reason.
     */
    @Test
    void realKvmAgrees() throws IOException {
        byte[] img = image();
        RunResult real;
        ByteArrayOutputStream realOut = new ByteArrayOutputStream();
        try (HostSys sys = Transports.realKvm("MmuPagingTest on the host /dev/kvm")) {
            Vmm.Config cfg = new Vmm.Config();
            cfg.memSize = 2 << 20;
            cfg.output = realOut;
            try (Vmm vmm = new Vmm(sys, cfg)) {
                vmm.loadImage(img);
                flatProtectedMode(vmm);
                real = vmm.kvm_run();
            }
        }
        long pagingOn = pagingOnRip(img);
        Transports.skipIf(real.outcome() == Outcome.SHUTDOWN && realOut.size() == 0 && real.regs().rip() == pagingOn,
                "MmuPagingTest.realKvmAgrees", "the host /dev/kvm shuts the guest down at the MOV to CR0 that turns paging on "
                        + "(rip 0x" + Long.toHexString(pagingOn) + "), so it cannot be the oracle for guest-enabled paging here");
        Run soft = run(params(true, true), img);
        assertThat(realOut.toString(StandardCharsets.ISO_8859_1)).isEqualTo(EXPECTED);
        assertThat(ExitEvent.itemised(soft.result().exitLog())).isEqualTo(ExitEvent.itemised(real.exitLog()));
    }

    /** Where paging.S first moves EAX to CR0 (0f 22 c0), turning paging on; the image is linked at 0x7c00. */
    static long pagingOnRip(byte[] img) {
        for (int i = 0; i + 2 < img.length; i++)
            if (img[i] == 0x0f && img[i + 1] == 0x22 && (img[i + 2] & 0xff) == 0xc0) return 0x7c00 + i;
        throw new AssertionError("paging.S has no MOV to CR0");
    }

    /**
     * With oos_shadow (the default) a guest write to a live leaf table is not emulated: the shadow page goes
     * out of sync (kvm_unsync_page) and is brought back in line when the guest next needs it (kvm_sync_page
     * through the instance's sync_page).
     */
    @Test
    void leafTableWritesGoOutOfSyncWithOosShadow() throws IOException {
        byte[] img = image();
        ByteArrayOutputStream trace = new ByteArrayOutputStream();
        Run r;
        Tracing.enable(new PrintStream(trace, true, StandardCharsets.UTF_8));
        try {
            r = run(params(false, true), img);
        } finally {
            Tracing.disable();
        }
        assertThat(r.output()).isEqualTo(EXPECTED);
        FunctionGraphTrace t = FunctionGraphTrace.parse(trace.toString(StandardCharsets.UTF_8).lines().toList());
        assertThat(t.callsOf("kvm_unsync_page")).isNotEmpty();
        assertThat(t.callsOf("kvm_sync_page").stream().anyMatch(c -> c.callsInOrder("rmap_write_protect", "paging32_sync_page")))
                .as("a 32-bit table resynchronised").isTrue();
        assertThat(t.callsOf("kvm_sync_page").stream().anyMatch(c -> c.callsInOrder("rmap_write_protect", "paging64_sync_page")))
                .as("a PAE / IA-32e table resynchronised").isTrue();
        // the guest's own #PF: reflected by the walker (inject_page_fault) for the write to a read-only page
        assertThat(t.callsOf("inject_page_fault")).isNotEmpty();
    }

    /** A soft processor that reports no EPT (nor unrestricted guest): kvm-intel turns EPT off by itself. */
    @Test
    void processorWithoutEptGetsShadowPaging() throws IOException {
        kvmkmod.hw.VmxCapabilities caps = kvmkmod.hw.VmxCapabilities.westmere();
        caps.ept = false;
        caps.unrestrictedGuest = false;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (JavaSys sys = JavaSys.create(Backend.SOFT, caps, params(true, true))) {
            assertThat(((kvmkmod.x86.X86) sys.module().kvm_main().arch).mmu.tdp_enabled).isFalse();
            Vmm.Config cfg = new Vmm.Config();
            cfg.memSize = 2 << 20;
            cfg.output = out;
            try (Vmm vmm = new Vmm(sys, cfg)) {
                vmm.loadImage(image());
                flatProtectedMode(vmm);
                assertThat(vmm.kvm_run().outcome()).isEqualTo(Outcome.HLT);
                assertThat(MmuView.render(sys, false)).contains("shadow paging");
            }
        }
        assertThat(out.toString(StandardCharsets.ISO_8859_1)).isEqualTo(EXPECTED);
    }
}
