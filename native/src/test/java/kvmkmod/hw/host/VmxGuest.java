package kvmkmod.hw.host;

import kvmkmod.hw.HostMemory;
import kvmkmod.hw.Vmcs;
import kvmkmod.hw.VmxCapabilities;
import kvmkmod.hw.VmxCpu;

import static kvmkmod.hw.VmxArch.*;

/**
 * A VMCS built by hand the way a hypervisor builds one: VMXON region and VMCS from kernel pages,
 * EPT tables mapping the first {@code pages} pages of guest-physical memory to a userspace mapping,
 * guest state for real mode (unrestricted guest).
 */
final class VmxGuest implements AutoCloseable {
    final HostMemory mem = new HostMemory(64L << 20);
    final VmxCpu cpu;
    final HostMemory.Region ram;
    final HostMemory.Region vmxon, vmcs, pml4, pdpt, pd, pt;
    final long eptp;

    VmxGuest(int pages) {
        cpu = HostCpu.create(0, mem, VmxCapabilities.westmere());
        cpu.write_cr4(cpu.read_cr4() | (1 << 13));
        cpu.wrmsr(MSR_IA32_FEATURE_CONTROL, FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMXON_ENABLED);
        vmxon = mem.allocPages(4096);
        vmcs = mem.allocPages(4096);
        vmxon.buf.putInt(0, VmxCapabilities.VMCS_REVISION_ID);
        vmcs.buf.putInt(0, VmxCapabilities.VMCS_REVISION_ID);
        ram = mem.mmap((long) pages * 4096);
        pml4 = mem.allocPages(4096);
        pdpt = mem.allocPages(4096);
        pd = mem.allocPages(4096);
        pt = mem.allocPages(4096);
        pml4.buf.putLong(0, pdpt.hpa | 7);
        pdpt.buf.putLong(0, pd.hpa | 7);
        pd.buf.putLong(0, pt.hpa | 7);
        for (int i = 0; i < pages; i++) map(i * 4096L, ram.hpa + i * 4096L, 7);
        eptp = pml4.hpa | (3 << 3) | 6;
        check(cpu.vmxon(vmxon.hpa));
        check(cpu.vmclear(vmcs.hpa));
        check(cpu.vmptrld(vmcs.hpa));
        setupControls();
        setupRealMode();
    }

    /** Maps one 4 KiB guest page (gpa below 2 MiB) with the given R/W/X bits, write-back memory type. */
    void map(long gpa, long hpa, int rwx) {
        pt.buf.putLong((int) (gpa >>> 12) * 8, hpa | rwx | (6 << 3));
    }

    void unmap(long gpa) { pt.buf.putLong((int) (gpa >>> 12) * 8, 0); }

    static void check(int status) {
        if (status != VmxCpu.VM_SUCCEED) throw new AssertionError("VMX instruction failed with status " + status);
    }

    void w(int field, long v) { check(cpu.vmwrite(field, v)); }

    long r(int field) { return cpu.vmread(field); }

    void setupControls() {
        w(PIN_BASED_VM_EXEC_CONTROL, 0x16);
        w(CPU_BASED_VM_EXEC_CONTROL, 0x0401e172 | CPU_BASED_HLT_EXITING | CPU_BASED_UNCOND_IO_EXITING
                | CPU_BASED_ACTIVATE_SECONDARY_CONTROLS);
        w(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_UNRESTRICTED_GUEST);
        w(VM_EXIT_CONTROLS, 0x36dff | VM_EXIT_HOST_ADDR_SPACE_SIZE);
        w(VM_ENTRY_CONTROLS, 0x11ff);
        w(EPT_POINTER, eptp);
        w(VMCS_LINK_POINTER, -1L);
        w(VM_ENTRY_INTR_INFO_FIELD, 0);
    }

    void setupRealMode() {
        w(GUEST_CR0, 0x60000010L);
        w(GUEST_CR3, 0);
        w(GUEST_CR4, 0x2000);
        for (int i = 0; i < 6; i++) {
            w(GUEST_ES_SELECTOR + 2 * i, 0);
            w(GUEST_ES_BASE + 2 * i, 0);
            w(GUEST_ES_LIMIT + 2 * i, 0xffff);
            w(GUEST_ES_AR_BYTES + 2 * i, i == 1 ? 0x9b : 0x93);
        }
        w(GUEST_LDTR_SELECTOR, 0); w(GUEST_LDTR_BASE, 0); w(GUEST_LDTR_LIMIT, 0xffff); w(GUEST_LDTR_AR_BYTES, 0x82);
        w(GUEST_TR_SELECTOR, 0); w(GUEST_TR_BASE, 0); w(GUEST_TR_LIMIT, 0xffff); w(GUEST_TR_AR_BYTES, 0x8b);
        w(GUEST_GDTR_BASE, 0); w(GUEST_GDTR_LIMIT, 0xffff);
        w(GUEST_IDTR_BASE, 0); w(GUEST_IDTR_LIMIT, 0x3ff);
        w(GUEST_RFLAGS, 2);
        w(GUEST_RSP, 0x7000);
        w(GUEST_RIP, 0);
        w(GUEST_INTERRUPTIBILITY_INFO, 0);
        w(GUEST_ACTIVITY_STATE, 0);
    }

    /** Flat 32-bit protected mode (CR0.PE, 4 GiB code and data segments), for guests that need it. */
    void setupProtectedMode() {
        w(GUEST_CR0, 0x60000011L);
        for (int i = 0; i < 6; i++) {
            w(GUEST_ES_SELECTOR + 2 * i, i == 1 ? 8 : 16);
            w(GUEST_ES_BASE + 2 * i, 0);
            w(GUEST_ES_LIMIT + 2 * i, 0xffffffffL);
            w(GUEST_ES_AR_BYTES + 2 * i, i == 1 ? 0xc09b : 0xc093);
        }
    }

    void code(int at, int... bytes) {
        for (int i = 0; i < bytes.length; i++) ram.buf.put(at + i, (byte) bytes[i]);
    }

    long[] regs() { return cpu.regs(); }

    int launch() { return cpu.vmlaunch(); }

    int resume() { return cpu.vmresume(); }

    int reason() {
        int r = (int) r(VM_EXIT_REASON);
        if (r < 0) System.err.println("VM-entry failure: " + ((HostCpu) cpu).lastFailure);
        return r;
    }

    long qual() { return r(EXIT_QUALIFICATION); }

    long rip() { return r(GUEST_RIP); }

    int len() { return (int) r(VM_EXIT_INSTRUCTION_LEN); }

    /** What a hypervisor does after an exit it handled: step over the instruction. */
    void skip() { w(GUEST_RIP, rip() + len()); }

    @Override public void close() {
        ((HostCpu) cpu).close();
        mem.close();
    }
}
