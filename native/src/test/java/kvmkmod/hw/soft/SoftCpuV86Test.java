package kvmkmod.hw.soft;

import kvmkmod.hw.VmxCapabilities;
import kvmkmod.hw.VmxCpu;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static kvmkmod.hw.VmxArch.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Real-mode code without unrestricted guest, the way vmx.c's enter_rmode runs it: virtual-8086 mode
 * (RFLAGS.VM=1, IOPL=3) with fix_rmode_seg segments, CR4.VME, paging through an identity page table
 * of 4-MiB pages, a TSS whose redirection bitmap sends INT n to the 8086 IVT, all exceptions exiting.
 */
class SoftCpuV86Test {
    private VmxHarness h;

    @BeforeEach void setUp() {
        VmxCapabilities caps = VmxCapabilities.westmere();
        caps.unrestrictedGuest = false;
        h = new VmxHarness(caps);
        h.w(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_ENABLE_VPID);
        h.w(EXCEPTION_BITMAP, ~0L & 0xffffffffL);
        // identity page table: 4-MiB pages, present, writable, user, accessed, dirty
        h.ram.buf.putInt(0x20000, 0xe7);
        // TSS at 0x30000: I/O map base 0x88, redirection bitmap (0x68-0x87) and I/O bitmap clear
        h.ram.buf.putShort(0x30066, (short) 0x88);
        h.put8(0x30088 + 0x2000, 0xff);
        int[] sel = {GUEST_ES_SELECTOR, GUEST_CS_SELECTOR, GUEST_SS_SELECTOR, GUEST_DS_SELECTOR, GUEST_FS_SELECTOR, GUEST_GS_SELECTOR};
        for (int k = 0; k < 6; k++) {
            h.w(sel[k], 0);
            h.w(GUEST_ES_BASE + 2 * k, 0);
            h.w(GUEST_ES_LIMIT + 2 * k, 0xffff);
            h.w(GUEST_ES_AR_BYTES + 2 * k, 0xf3);
        }
        h.w(GUEST_TR_BASE, 0x30000);
        h.w(GUEST_TR_LIMIT, 0x2088);
        h.w(GUEST_TR_AR_BYTES, 0x8b);
        h.w(GUEST_CR0, 0x80010031L);
        h.w(GUEST_CR4, 0x2011);
        h.w(GUEST_CR3, 0x20000);
        h.w(GUEST_RFLAGS, 0x23002);
        h.ivt(0x21, 0, 0x3000);
        h.load(0x3000, 0xb3, 0x05, 0xcf);   // mov bl, 5; iret
        h.load(0x1000,
                0xb0, 0x01,                     // mov al, 1
                0xe6, 0x10,                     // out 0x10, al
                0xcd, 0x21,                     // int 0x21
                0xf4);                          // hlt: privileged at CPL 3 -> #GP
    }

    @AfterEach void tearDown() { h.close(); }

    @Test void runsSixteenBitCodeInVirtual8086Mode() {
        assertThat(h.launch()).isEqualTo(VmxCpu.VM_SUCCEED);
        assertThat(h.exitReason()).as("%s / %s", h.cpu.lastEntryFailure(), h.cpu.lastExitNote()).isEqualTo(EXIT_REASON_IO_INSTRUCTION);
        assertThat(h.qual()).isEqualTo(0x00100040L);
        h.skipAndResume();
        assertThat(h.exitReason()).as("%s", h.cpu.lastExitNote()).isEqualTo(EXIT_REASON_EXCEPTION_NMI);
        assertThat(h.r(VM_EXIT_INTR_INFO)).isEqualTo(0x80000b0dL); // #GP(0) from HLT
        assertThat(h.rip()).isEqualTo(0x1006);
        assertThat(h.regs()[VmxCpu.RBX] & 0xff).isEqualTo(5);
        assertThat(h.rflags() & 0x20000).isEqualTo(0x20000);
    }

    @Test void injectedSoftwareInterruptGoesThroughTheIvtAsInjectRmodeIrqExpects() {
        h.load(0x1000, 0x90, 0xf4);
        h.w(VM_ENTRY_INTR_INFO_FIELD, INTR_INFO_VALID_MASK | INTR_TYPE_SOFT_INTR | 0x21);
        h.w(VM_ENTRY_INSTRUCTION_LEN, 1);
        h.w(GUEST_RFLAGS, 0x23202);
        h.launch();
        assertThat(h.exitReason()).as("%s", h.cpu.lastExitNote()).isEqualTo(EXIT_REASON_EXCEPTION_NMI);
        assertThat(h.regs()[VmxCpu.RBX] & 0xff).isEqualTo(5);
        // the handler returned to RIP + instruction length
        assertThat(h.rip()).isEqualTo(0x1001);
    }

    @Test void badVirtual8086SegmentIsInvalidGuestState() {
        h.w(GUEST_DS_AR_BYTES, 0x93);
        h.launch();
        assertThat(h.exitReason()).isEqualTo(0x80000021);
        assertThat(h.cpu.lastEntryFailure()).contains("virtual-8086").contains("DS access rights");
    }

    @Test void withoutEptTheGuestRunsOnShadowStylePageTablesInHostMemory() {
        // No EPT: guest-physical is host-physical, and the page tables (as KVM's shadow MMU builds them)
        // map the guest's linear addresses onto the RAM region's host pages.
        VmxCapabilities caps = VmxCapabilities.westmere();
        caps.ept = false;
        caps.unrestrictedGuest = false;
        h.close();
        h = new VmxHarness(caps);
        long ram = h.ram.hpa;
        var pd = h.mem.allocPages(4096);
        var pt = h.mem.allocPages(4096);
        h.mem.write32(pd.hpa, (int) (pt.hpa | 7));
        for (int i = 0; i < 256; i++) h.mem.write32(pt.hpa + 4L * i, (int) ((ram + i * 4096L) | 7));
        h.w(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_ENABLE_VPID);
        int proc = (int) h.r(CPU_BASED_VM_EXEC_CONTROL);
        h.w(CPU_BASED_VM_EXEC_CONTROL, proc | CPU_BASED_INVLPG_EXITING | CPU_BASED_CR3_LOAD_EXITING | CPU_BASED_CR3_STORE_EXITING);
        h.w(EXCEPTION_BITMAP, ~0L & 0xffffffffL);
        h.w(GUEST_CR0, 0x80010031L);
        h.w(GUEST_CR4, 0x2001);
        h.w(GUEST_CR3, pd.hpa);
        h.w(GUEST_RFLAGS, 0x23002);
        for (int k = 0; k < 6; k++) h.w(GUEST_ES_AR_BYTES + 2 * k, 0xf3);
        h.w(GUEST_TR_BASE, 0x30000);
        h.w(GUEST_TR_LIMIT, 0x2088);
        h.ram.buf.putShort(0x30066, (short) 0x88);
        h.put8(0x30088 + 0x2000, 0xff);
        h.ivt(0x21, 0, 0x3000);
        h.load(0x3000, 0xb3, 0x07, 0xcf);   // mov bl, 7; iret
        h.load(0x1000,
                0xcd, 0x21,                     // int 0x21
                0x26, 0xc7, 0x06, 0x00, 0x50, 0x34, 0x12, // mov word es:[0x5000], 0x1234
                0xf4);                          // hlt -> #GP
        h.launch();
        assertThat(h.exitReason()).as("%s / %s", h.cpu.lastEntryFailure(), h.cpu.lastExitNote()).isEqualTo(EXIT_REASON_EXCEPTION_NMI);
        assertThat(h.r(VM_EXIT_INTR_INFO)).isEqualTo(0x80000b0dL);
        assertThat(h.rip()).isEqualTo(0x1009);
        assertThat(h.regs()[VmxCpu.RBX] & 0xff).isEqualTo(7);
        assertThat(h.peek16(0x5000)).isEqualTo(0x1234);
        // a page the tables do not map: #PF exits with the linear address as qualification
        h.mem.write32(pt.hpa + 4L * 5, 0);
        h.load(0x1009, 0x8b, 0x1e, 0x00, 0x50); // mov bx, [0x5000]
        h.resume();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_EXCEPTION_NMI);
        assertThat(h.r(VM_EXIT_INTR_INFO)).isEqualTo(0x80000b0eL);
        assertThat(h.qual()).isEqualTo(0x5000L);
        assertThat(h.r(VM_EXIT_INTR_ERROR_CODE)).isEqualTo(4); // user-mode read of a not-present page
    }
}
