package kvmkmod.hw.soft;

import kvmkmod.hw.HostMemory;
import kvmkmod.hw.VmxCapabilities;
import kvmkmod.hw.VmxCpu;

import static kvmkmod.hw.VmxArch.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Drives a soft CPU the way a hypervisor does: VMXON, a VMCS set up from the capability MSRs, host
 * state, a real-mode guest under unrestricted guest, I/O and MSR bitmaps, and EPT tables in host
 * memory mapping 1 MiB of guest RAM identically (gpa x → ram.hpa + x).
 */
final class VmxHarness implements AutoCloseable {
    static final int RAM_SIZE = 1 << 20;

    final HostMemory mem = new HostMemory(256L << 20);
    final VmxCapabilities caps;
    final SoftCpu cpu;
    final HostMemory.Region vmxonRegion, vmcs, ioA, ioB, msrBitmap, apicPage, ram;
    final HostMemory.Region pml4, pdpt, pd, pt;

    VmxHarness() { this(VmxCapabilities.westmere()); }

    VmxHarness(VmxCapabilities caps) {
        this.caps = caps;
        cpu = (SoftCpu) SoftCpu.create(0, mem, caps);
        vmxonRegion = mem.allocPages(4096);
        vmcs = mem.allocPages(4096);
        ioA = mem.allocPages(4096);
        ioB = mem.allocPages(4096);
        msrBitmap = mem.allocPages(4096);
        apicPage = mem.allocPages(4096);
        pml4 = mem.allocPages(4096);
        pdpt = mem.allocPages(4096);
        pd = mem.allocPages(4096);
        pt = mem.allocPages(4096);
        ram = mem.mmap(RAM_SIZE);

        // hardware_enable: lock IA32_FEATURE_CONTROL with VMXON enabled, set CR4.VMXE, VMXON
        cpu.wrmsr(MSR_IA32_FEATURE_CONTROL, FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMXON_ENABLED);
        cpu.write_cr4(cpu.read_cr4() | 0x2000);
        mem.write32(vmxonRegion.hpa, VmxCapabilities.VMCS_REVISION_ID);
        assertThat(cpu.vmxon(vmxonRegion.hpa)).isEqualTo(VmxCpu.VM_SUCCEED);
        mem.write32(vmcs.hpa, VmxCapabilities.VMCS_REVISION_ID);
        assertThat(cpu.vmclear(vmcs.hpa)).isEqualTo(VmxCpu.VM_SUCCEED);
        assertThat(cpu.vmptrld(vmcs.hpa)).isEqualTo(VmxCpu.VM_SUCCEED);

        // every port exits except 0x80, as vmx.c sets its bitmaps
        for (int i = 0; i < 4096; i++) { mem.write8(ioA.hpa + i, 0xff); mem.write8(ioB.hpa + i, 0xff); }
        ioPassThrough(0x80, true);
        for (int i = 0; i < 4096; i++) mem.write8(msrBitmap.hpa + i, 0xff);

        // EPT: PML4[0] -> PDPT[0] -> PD[0] -> PT, 4-KiB pages for the first MiB
        mem.write64(pml4.hpa, pdpt.hpa | 7);
        mem.write64(pdpt.hpa, pd.hpa | 7);
        mem.write64(pd.hpa, pt.hpa | 7);
        for (long gpa = 0; gpa < RAM_SIZE; gpa += 4096) map(gpa, 7);

        setupControls();
        setupHost();
        setupRealModeGuest(0, 0x1000);
    }

    static int adjust(VmxCapabilities caps, int min, int opt, int msr) {
        long v = caps.rdmsr(msr);
        int ctl = min | opt;
        ctl &= (int) (v >>> 32);
        ctl |= (int) v;
        return ctl;
    }

    void setupControls() {
        int pin = adjust(caps, PIN_BASED_EXT_INTR_MASK | PIN_BASED_NMI_EXITING, PIN_BASED_VIRTUAL_NMIS, MSR_IA32_VMX_PINBASED_CTLS);
        int proc = adjust(caps, CPU_BASED_HLT_EXITING | CPU_BASED_USE_IO_BITMAPS | CPU_BASED_MOV_DR_EXITING
                | CPU_BASED_USE_TSC_OFFSETING | CPU_BASED_MWAIT_EXITING | CPU_BASED_MONITOR_EXITING,
                CPU_BASED_TPR_SHADOW | CPU_BASED_USE_MSR_BITMAPS | CPU_BASED_ACTIVATE_SECONDARY_CONTROLS,
                MSR_IA32_VMX_PROCBASED_CTLS);
        int proc2 = adjust(caps, 0, SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_UNRESTRICTED_GUEST | SECONDARY_EXEC_ENABLE_VPID,
                MSR_IA32_VMX_PROCBASED_CTLS2);
        if ((proc2 & SECONDARY_EXEC_ENABLE_EPT) != 0) // as setup_vmcs_config does with EPT
            proc &= ~(CPU_BASED_CR3_LOAD_EXITING | CPU_BASED_CR3_STORE_EXITING | CPU_BASED_INVLPG_EXITING);
        w(PIN_BASED_VM_EXEC_CONTROL, pin);
        w(CPU_BASED_VM_EXEC_CONTROL, proc);
        w(SECONDARY_VM_EXEC_CONTROL, proc2);
        w(VIRTUAL_PROCESSOR_ID, 1);
        w(EXIT_CTL_FIELD, adjust(caps, VM_EXIT_HOST_ADDR_SPACE_SIZE, VM_EXIT_SAVE_IA32_PAT | VM_EXIT_LOAD_IA32_PAT, MSR_IA32_VMX_EXIT_CTLS));
        w(VM_ENTRY_CONTROLS, adjust(caps, 0, VM_ENTRY_LOAD_IA32_PAT, MSR_IA32_VMX_ENTRY_CTLS));
        w(IO_BITMAP_A, ioA.hpa);
        w(IO_BITMAP_B, ioB.hpa);
        w(MSR_BITMAP, msrBitmap.hpa);
        w(VIRTUAL_APIC_PAGE_ADDR, apicPage.hpa);
        w(TPR_THRESHOLD, 0);
        w(EPT_POINTER, pml4.hpa | 6 | (3 << 3));
        w(VMCS_LINK_POINTER, -1L);
        w(EXCEPTION_BITMAP, 0);
        w(CR3_TARGET_COUNT, 0);
        w(CR0_GUEST_HOST_MASK, ~0L);
        w(CR4_GUEST_HOST_MASK, ~0x1dL & 0xffffffffL);
        w(VM_ENTRY_INTR_INFO_FIELD, 0);
    }

    static final int EXIT_CTL_FIELD = VM_EXIT_CONTROLS;

    void setupHost() {
        w(HOST_CR0, 0x80050033L);
        w(HOST_CR4, cpu.read_cr4());
        w(HOST_CR3, 0x1000);
        w(HOST_CS_SELECTOR, 0x10);
        w(HOST_DS_SELECTOR, 0x18);
        w(HOST_ES_SELECTOR, 0x18);
        w(HOST_SS_SELECTOR, 0x18);
        w(HOST_FS_SELECTOR, 0);
        w(HOST_GS_SELECTOR, 0);
        w(HOST_TR_SELECTOR, 0x40);
        w(HOST_RIP, 0xffffffff81000000L);
        w(HOST_RSP, 0xffff880000010000L);
        w(HOST_IA32_SYSENTER_CS, 0x10);
    }

    /** Real-mode guest state as vmx_vcpu_reset leaves it, with CS:IP and the stack chosen by the test. */
    void setupRealModeGuest(int cs, int ip) {
        int[] selF = {GUEST_ES_SELECTOR, GUEST_CS_SELECTOR, GUEST_SS_SELECTOR, GUEST_DS_SELECTOR, GUEST_FS_SELECTOR, GUEST_GS_SELECTOR};
        for (int k = 0; k < 6; k++) {
            w(selF[k], 0);
            w(GUEST_ES_BASE + 2 * k, 0);
            w(GUEST_ES_LIMIT + 2 * k, 0xffff);
            w(GUEST_ES_AR_BYTES + 2 * k, 0x93);
        }
        w(GUEST_CS_SELECTOR, cs);
        w(GUEST_CS_BASE, (long) cs << 4);
        w(GUEST_CS_AR_BYTES, 0x9b);
        w(GUEST_TR_SELECTOR, 0);
        w(GUEST_TR_BASE, 0);
        w(GUEST_TR_LIMIT, 0xffff);
        w(GUEST_TR_AR_BYTES, 0x8b);
        w(GUEST_LDTR_SELECTOR, 0);
        w(GUEST_LDTR_BASE, 0);
        w(GUEST_LDTR_LIMIT, 0xffff);
        w(GUEST_LDTR_AR_BYTES, 0x82);
        w(GUEST_GDTR_BASE, 0);
        w(GUEST_GDTR_LIMIT, 0xffff);
        w(GUEST_IDTR_BASE, 0);
        w(GUEST_IDTR_LIMIT, 0x3ff);
        w(GUEST_RFLAGS, 2);
        w(GUEST_RIP, ip);
        w(GUEST_RSP, 0x8000);
        w(GUEST_CR0, 0x60000010L | 0x20 | 0x10000);
        w(CR0_READ_SHADOW, 0x60000010L);
        w(GUEST_CR3, 0);
        w(GUEST_CR4, 0x2000);
        w(CR4_READ_SHADOW, 0);
        w(GUEST_DR7, 0x400);
        w(GUEST_ACTIVITY_STATE, 0);
        w(GUEST_INTERRUPTIBILITY_INFO, 0);
        w(GUEST_PENDING_DBG_EXCEPTIONS, 0);
        w(GUEST_SYSENTER_CS, 0);
        w(GUEST_IA32_PAT, 0x0007040600070406L);
    }

    /**
     * Flat 4-GiB segments in the guest-state area: CS with its selector and access rights, and the data
     * segments {@code segs} (0 = ES, 2 = SS, 3 = DS, 4 = FS, 5 = GS) with theirs.
     */
    void flatSegments(int cs, int csAr, int data, int dataAr, int... segs) {
        w(GUEST_CS_SELECTOR, cs);
        w(GUEST_CS_LIMIT, 0xffffffffL);
        w(GUEST_CS_AR_BYTES, csAr);
        for (int f : segs) {
            w(GUEST_ES_SELECTOR + 2 * f, data);
            w(GUEST_ES_LIMIT + 2 * f, 0xffffffffL);
            w(GUEST_ES_AR_BYTES + 2 * f, dataAr);
        }
    }

    /**
     * 32-bit flat protected mode entered directly: the given GDT at 0x1108 (CS 0x08, DS/ES/SS 0x10 flat),
     * IDT at 0x1400, a 32-bit TSS at 0x30000 (selector 0x48, ESP0 0x9000, SS0 0x10), ESP 0x9000, EIP 0x2000.
     */
    void protected32(long[] gdt) {
        for (int i = 0; i < gdt.length; i++) ram.buf.putLong(0x1108 + 8 * i, gdt[i]);
        ram.buf.putInt(0x30004, 0x9000);
        ram.buf.putShort(0x30008, (short) 0x10);
        w(GUEST_CR0, 0x60010031L);
        flatSegments(8, 0xc09b, 0x10, 0xc093, 0, 2, 3);
        w(GUEST_TR_SELECTOR, 0x48);
        w(GUEST_TR_BASE, 0x30000);
        w(GUEST_TR_LIMIT, 0x67);
        w(GUEST_TR_AR_BYTES, 0x8b);
        w(GUEST_GDTR_BASE, 0x1108);
        w(GUEST_GDTR_LIMIT, 8 * gdt.length - 1);
        w(GUEST_IDTR_BASE, 0x1400);
        w(GUEST_IDTR_LIMIT, 0x7ff);
        w(GUEST_RSP, 0x9000);
        w(GUEST_RIP, 0x2000);
    }

    /** Expects an exception VM exit: vector, error code (-1: none delivered) and the RIP of the faulting instruction. */
    void expectException(int vector, int error, long rip) {
        assertThat(exitReason()).as("%s", cpu.lastExitNote()).isEqualTo(EXIT_REASON_EXCEPTION_NMI);
        long info = r(VM_EXIT_INTR_INFO);
        assertThat(info & 0xff).as("vector").isEqualTo(vector);
        assertThat((info & INTR_INFO_DELIVER_CODE_MASK) != 0).as("error code delivered").isEqualTo(error >= 0);
        if (error >= 0) assertThat(r(VM_EXIT_INTR_ERROR_CODE)).as("error code").isEqualTo(error);
        assertThat(rip()).as("RIP").isEqualTo(rip);
    }

    void w(int field, long value) {
        assertThat(cpu.vmwrite(field, value)).as("vmwrite %#x", field).isEqualTo(VmxCpu.VM_SUCCEED);
    }

    long r(int field) {
        long v = cpu.vmread(field);
        assertThat(cpu.lastStatus()).isEqualTo(VmxCpu.VM_SUCCEED);
        return v;
    }

    void ioPassThrough(int port, boolean pass) {
        HostMemory.Region bm = port < 0x8000 ? ioA : ioB;
        int bit = port & 0x7fff;
        int b = mem.read8(bm.hpa + (bit >> 3));
        b = pass ? b & ~(1 << (bit & 7)) : b | (1 << (bit & 7));
        mem.write8(bm.hpa + (bit >> 3), b);
    }

    /** Maps a 4-KiB guest page to its RAM page with the given R/W/X permissions (WB memory type). */
    void map(long gpa, int perms) {
        mem.write64(pt.hpa + ((gpa >>> 12) & 511) * 8, (ram.hpa + gpa) | perms | (6 << 3));
    }

    void unmap(long gpa) { mem.write64(pt.hpa + ((gpa >>> 12) & 511) * 8, 0); }

    /** Copies machine code into guest RAM at a guest-physical address. */
    void load(long gpa, int... bytes) {
        for (int i = 0; i < bytes.length; i++) ram.buf.put((int) gpa + i, (byte) bytes[i]);
    }

    void put8(long gpa, int v) { ram.buf.put((int) gpa, (byte) v); }

    int peek8(long gpa) { return ram.buf.get((int) gpa) & 0xff; }

    int peek16(long gpa) { return ram.buf.getShort((int) gpa) & 0xffff; }

    void poke16(long gpa, int v) { ram.buf.putShort((int) gpa, (short) v); }

    /** Sets an IVT entry (real-mode interrupt vector) to seg:off. */
    void ivt(int vector, int seg, int off) {
        poke16(vector * 4L, off);
        poke16(vector * 4L + 2, seg);
    }

    long[] regs() { return cpu.regs(); }

    int launch() { return cpu.vmlaunch(); }

    int resume() { return cpu.vmresume(); }

    int exitReason() { return (int) r(VM_EXIT_REASON); }

    long qual() { return r(EXIT_QUALIFICATION); }

    long rip() { return r(GUEST_RIP); }

    int len() { return (int) r(VM_EXIT_INSTRUCTION_LEN); }

    /** Does what a VMM does after an emulated instruction: RIP += instruction length, then VMRESUME. */
    int skipAndResume() {
        w(GUEST_RIP, rip() + len());
        return resume();
    }

    long rflags() { return r(GUEST_RFLAGS); }

    @Override public void close() { mem.close(); }
}
