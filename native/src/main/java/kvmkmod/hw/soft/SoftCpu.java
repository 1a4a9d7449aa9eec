package kvmkmod.hw.soft;

import kvmkmod.hw.HostMemory;
import kvmkmod.hw.Vmcs;
import kvmkmod.hw.VmxCapabilities;
import kvmkmod.hw.VmxCpu;

import java.nio.ByteBuffer;
import java.util.concurrent.locks.LockSupport;

import static kvmkmod.hw.VmxArch.*;
import static kvmkmod.hw.soft.SoftArch.*;

/**
 * The soft CPU: a pure-Java x86 processor with VMX. This class is the processor as the host kernel
 * sees it in VMX root operation (SDM chapter 30 "VMX Instruction Reference"): the capability MSRs,
 * IA32_FEATURE_CONTROL, CR4.VMXE, the VMX instructions on VMCS regions in {@link HostMemory}, and VM
 * entry (SDM chapter 26 "VM Entries") with its checks, guest-state loading and event injection. Guest
 * code then runs in {@link SoftCore} until a VM exit (SDM chapter 27 "VM Exits"), whose information and
 * guest state are stored back into the VMCS here.
 *
 * <p>Not thread-safe except {@link #kick()}: like a real processor, one thread drives it at a time.
 */
public final class SoftCpu implements VmxCpu {
    private final int id;
    private final HostMemory mem;
    private final VmxCapabilities caps;
    private final long[] regs = new long[16];
    private final SoftCore core;

    private long cr4 = 0x6f0; // PSE, PAE, MCE, PGE, OSFXSR, OSXMMEXCPT: a 64-bit kernel's CR4
    private long cr2;
    private long featureControl;
    /**
     * The host MSRs this processor has (TSC, APIC base, microcode id, MTRR cap, SYSENTER, DEBUGCTL, PAT,
     * MTRR default type, EFER with SCE/LME/LMA/NXE, STAR/LSTAR/CSTAR/SFMASK, FS/GS/kernel-GS base,
     * TSC_AUX) and their values, by index: the kernel reads some of them on every VM entry.
     */
    private static final int[] HOST_MSRS = {0x10, 0x1b, 0x8b, 0xfe, 0x174, 0x175, 0x176, 0x1d9, 0x277, 0x2ff, 0xc0000080, 0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084, 0xc0000100, 0xc0000101, 0xc0000102, 0xc0000103};
    private final long[] hostMsrVals = {0L, 0xfee00900L, 0L, 0x508L, 0x10L, 0L, 0L, 0L, 0x0007040600070406L, 0xc06L, 0xd01L, 0L, 0L, 0L, 0L, 0L, 0L, 0L, 0L};

    private static int hostMsr(int msr) {
        for (int i = 0; i < HOST_MSRS.length; i++) if (HOST_MSRS[i] == msr) return i;
        return -1;
    }

    private boolean vmxOperation;
    private long vmxonPtr = -1;
    private long currentVmcs = -1;
    private ByteBuffer vmcsBuf;
    private int vmcsOff;
    private int lastStatus;
    private String lastEntryFailure;
    /** EPTP of the last successful entry: a change drops the cached translations. */
    private long lastEptp = -1;
    private long lastEntryVmcs = -1;

    private SoftCpu(int id, HostMemory mem, VmxCapabilities caps) {
        this.id = id;
        this.mem = mem;
        this.caps = caps;
        this.core = new SoftCore(mem, regs);
        core.ept2mPages = caps.ept2mPages;
    }

    /** The factory {@link kvmkmod.hw.Platform} calls for each soft processor. */
    public static VmxCpu create(int id, HostMemory mem, VmxCapabilities caps) { return new SoftCpu(id, mem, caps); }

    @Override public int id() { return id; }
    @Override public HostMemory memory() { return mem; }
    @Override public String backend() { return "soft"; }

    /** Why the last VMLAUNCH/VMRESUME failed its checks, in words citing the SDM; null after a good entry. */
    public String lastEntryFailure() { return lastEntryFailure; }

    /** Where an injected machine check strikes: see {@link #injectMachineCheck}. */
    public enum MachineCheck { NONE, DURING_ENTRY, IN_GUEST }

    private MachineCheck machineCheck = MachineCheck.NONE;

    /**
     * Makes the next VM entry meet a machine check, which software cannot cause on real hardware (SDM 15
     * "Machine-Check Architecture"), so that the paths KVM keeps for it can be run. DURING_ENTRY: the entry
     * fails after loading guest state with exit reason 41 and bit 31 set (SDM 26.8 "Machine-Check Events
     * During VM Entry"). IN_GUEST: the guest takes #MC before its first instruction, a VM exit when bit 18
     * of the exception bitmap is set.
     */
    public void injectMachineCheck(MachineCheck where) { machineCheck = where; }

    /** A note on the last VM exit when it needs explaining (a triple fault, something not modelled), else null. */
    public String lastExitNote() { return core.exitNote; }

    /**
     * The guest's architectural state as of the last VM exit, one line per item, for log messages and
     * for reading in a debugger (the VMCS holds the same values in its guest-state area).
     */
    public String guestStateDump() {
        SoftCore c = core;
        StringBuilder b = new StringBuilder();
        String[] names = {"RAX", "RCX", "RDX", "RBX", "RSP", "RBP", "RSI", "RDI", "R8", "R9", "R10", "R11", "R12", "R13", "R14", "R15"};
        for (int i = 0; i < 16; i++) b.append(String.format("%-3s=%016x%s", names[i], regs[i], i % 4 == 3 ? "\n" : " "));
        b.append(String.format("RIP=%016x RFLAGS=%08x CPL=%d mode=%s%n", c.rip, c.flags(), c.cpl(),
                c.realMode ? "real" : c.v86 ? "virtual-8086" : c.code64 ? "64-bit" : c.longMode ? "compatibility" : c.code32 ? "protected-32" : "protected-16"));
        b.append(String.format("CR0=%08x CR2=%016x CR3=%016x CR4=%08x EFER=%x%n", c.cr0, c.cr2, c.cr3, c.cr4, c.efer));
        for (int s = 0; s < 8; s++)
            b.append(String.format("%-4s sel=%04x base=%016x limit=%08x ar=%05x%n", SEG_NAMES[s], c.sel[s], c.base[s], c.limit[s], c.ar[s]));
        b.append(String.format("GDTR=%016x/%04x IDTR=%016x/%04x interruptibility=%x activity=%d%n",
                c.gdtBase, c.gdtLimit, c.idtBase, c.idtLimit, c.interruptibility, c.activity));
        return b.toString();
    }

    /** Guest instructions retired on this processor (the soft TSC). */
    public long instructionsRetired() { return core.icount; }

    /** The guest's RIP, live while a {@link GuestDebugger} is called, else as of the last VM exit. */
    public long guestRip() { return core.rip; }

    /**
     * Attaches a debugger (null detaches it). It takes effect at the next VM entry, or at once when
     * called from the debugger's own callback.
     */
    public void setDebugger(GuestDebugger debugger) {
        core.owner = this;
        core.debugger = debugger;
    }

    /** Stops before every instruction from the next VM entry on (needs a debugger). */
    public void setSingleStep(boolean on) { core.singleStep = on; }

    /** Stops before the instruction at guest linear address {@code linear} (needs a debugger). */
    public void addBreakpoint(long linear) {
        long[] b = java.util.Arrays.copyOf(core.breakpoints, core.breakpoints.length + 1);
        b[b.length - 1] = linear;
        java.util.Arrays.sort(b);
        core.breakpoints = b;
    }

    public void clearBreakpoints() { core.breakpoints = new long[0]; }

    /**
     * Switches the decoded-instruction cache on or off (on by default unless the system property
     * {@code kvmkmod.soft.decodeCache} is {@code false}). Guest-visible behaviour is the same either way;
     * off, every instruction is decoded each time it runs, which is slower but simpler to follow.
     */
    public void setDecodeCache(boolean on) {
        core.blocks.enabled = on;
        core.blocks.clear();
    }

    /** Test aid: how many blocks the decoded-instruction cache has decoded. */
    int decodedBlocks() { return core.blocks.blocksBuilt; }

    /** Test aid: the guest takes an external-interrupt exit after about {@code n} more instructions (4096 granularity). */
    void stopAfter(long n) { core.stopAt = core.icount + n; }

    // ---------------------------------------------------------------- MSRs, CPUID, CR4

    /** Scratch for the guest-segment checks of every VM entry (EntryChecks.guest). */
    final int[] chkSel = new int[8], chkAr = new int[8], chkLim = new int[8];
    final long[] chkBase = new long[8];

    @Override public long rdmsr(int msr) {
        if (msr == MSR_IA32_FEATURE_CONTROL) return featureControl;
        if (msr >= MSR_IA32_VMX_BASIC && msr <= MSR_IA32_VMX_EPT_VPID_CAP) return caps.rdmsr(msr);
        if (msr == 0x10) return core.icount;
        int i = hostMsr(msr);
        if (i < 0) throw new IllegalArgumentException(String.format("#GP: rdmsr of unknown MSR %#x", msr));
        return hostMsrVals[i];
    }

    @Override public void wrmsr(int msr, long value) {
        if (msr == MSR_IA32_FEATURE_CONTROL) {
            // SDM 23.7 "Enabling and Entering VMX Operation": the MSR is read-only once locked
            if ((featureControl & FEATURE_CONTROL_LOCKED) != 0)
                throw new IllegalArgumentException("#GP: IA32_FEATURE_CONTROL is locked");
            if ((value & ~0xff07L) != 0) throw new IllegalArgumentException("#GP: reserved bits in IA32_FEATURE_CONTROL");
            featureControl = value;
            return;
        }
        if (msr >= MSR_IA32_VMX_BASIC && msr <= MSR_IA32_VMX_EPT_VPID_CAP)
            throw new IllegalArgumentException(String.format("#GP: wrmsr to read-only VMX MSR %#x", msr));
        int i = hostMsr(msr);
        if (i < 0) throw new IllegalArgumentException(String.format("#GP: wrmsr of unknown MSR %#x", msr));
        hostMsrVals[i] = value;
    }

    @Override public void cpuid(int leaf, int subleaf, int[] out) {
        int a = 0, b = 0, c = 0, d = 0;
        switch (leaf) {
            case 0: a = 0xb; b = 0x756e6547; d = 0x49656e69; c = 0x6c65746e; break; // "GenuineIntel"
            case 1:
                a = 0x206c2;                                  // family 6 model 44 (Westmere-EP)
                b = id << 24 | 0x10800;
                c = 1 << 5 | 1 | 1 << 9 | 1 << 13 | 1 << 19 | 1 << 20 | 1 << 23; // VMX, SSE3, SSSE3, CX16, SSE4.1/4.2, POPCNT
                d = 0xbfebfbff;
                break;
            case 0x80000000: a = 0x80000008; break;
            case 0x80000001: c = 1; d = 1 << 29 | 1 << 20 | 1 << 11; break; // LM, NX, SYSCALL
            case 0x80000008: a = 0x3028; break;               // 40 physical, 48 linear address bits
            default: break;
        }
        out[0] = a; out[1] = b; out[2] = c; out[3] = d;
    }

    @Override public long read_cr4() { return cr4; }

    @Override public void write_cr4(long value) {
        if ((value & ~0x27ffL) != 0) throw new IllegalArgumentException("#GP: reserved CR4 bits " + Long.toHexString(value));
        // SDM 23.8 "Restrictions on VMX Operation": CR4.VMXE cannot be cleared in VMX operation
        if (vmxOperation && (value & CR4_VMXE) == 0) throw new IllegalArgumentException("#GP: clearing CR4.VMXE in VMX operation");
        cr4 = value;
    }

    // ---------------------------------------------------------------- VMX instructions

    private void requireVmx(String insn) {
        if (!vmxOperation) throw new IllegalStateException("#UD: " + insn + " outside VMX operation");
    }

    private int succeed() { return lastStatus = VM_SUCCEED; }

    private int failInvalid() { return lastStatus = VM_FAIL_INVALID; }

    /** VMfailValid (SDM 30.2 "Conventions"): the error number goes into the current VMCS. */
    private int failValid(int error) {
        if (currentVmcs < 0) return failInvalid();
        vw(VM_INSTRUCTION_ERROR, error);
        return lastStatus = VM_FAIL_VALID;
    }

    private static boolean badPhysical(long a) { return (a & 0xfff) != 0 || (a >>> 40) != 0; }

    @Override public int vmxon(long ptr) {
        if ((cr4 & CR4_VMXE) == 0) throw new IllegalStateException("#UD: VMXON with CR4.VMXE clear");
        if (vmxOperation) return currentVmcs >= 0 ? failValid(VMXERR_VMXON_IN_VMX_ROOT_OPERATION) : failInvalid();
        if ((featureControl & FEATURE_CONTROL_LOCKED) == 0 || (featureControl & FEATURE_CONTROL_VMXON_ENABLED) == 0)
            throw new IllegalStateException("#GP: VMXON with IA32_FEATURE_CONTROL not locked or VMXON disabled");
        if (badPhysical(ptr) || mem.read32(ptr) != VmxCapabilities.VMCS_REVISION_ID) return failInvalid();
        vmxOperation = true;
        vmxonPtr = ptr;
        currentVmcs = -1;
        vmcsBuf = null;
        return succeed();
    }

    @Override public int vmxoff() {
        requireVmx("VMXOFF");
        vmxOperation = false;
        vmxonPtr = -1;
        currentVmcs = -1;
        vmcsBuf = null;
        return succeed();
    }

    @Override public int vmclear(long ptr) {
        requireVmx("VMCLEAR");
        if (badPhysical(ptr)) return failValid(VMXERR_VMCLEAR_INVALID_ADDRESS);
        if (ptr == vmxonPtr) return failValid(VMXERR_VMCLEAR_VMXON_POINTER);
        // SDM 30.3 VMCLEAR: launch state becomes clear; a current VMCS stops being current
        mem.write32(ptr + Vmcs.LAUNCH_STATE_OFFSET, Vmcs.LAUNCH_STATE_CLEAR);
        core.flushTlb();
        lastEntryVmcs = -1;
        if (ptr == currentVmcs) {
            currentVmcs = -1;
            vmcsBuf = null;
        }
        return succeed();
    }

    @Override public int vmptrld(long ptr) {
        requireVmx("VMPTRLD");
        if (badPhysical(ptr)) return failValid(VMXERR_VMPTRLD_INVALID_ADDRESS);
        if (ptr == vmxonPtr) return failValid(VMXERR_VMPTRLD_VMXON_POINTER);
        if (mem.read32(ptr) != VmxCapabilities.VMCS_REVISION_ID) return failValid(VMXERR_VMPTRLD_INCORRECT_VMCS_REVISION_ID);
        HostMemory.Region r = mem.regionAtHpa(ptr);
        if (r == null || !r.containsHpa(ptr + VmxCapabilities.VMCS_SIZE - 1)) return failValid(VMXERR_VMPTRLD_INVALID_ADDRESS);
        currentVmcs = ptr;
        vmcsBuf = r.buf;
        vmcsOff = (int) (ptr - r.hpa);
        return succeed();
    }

    @Override public long vmptrst() {
        requireVmx("VMPTRST");
        succeed();
        return currentVmcs;
    }

    @Override public long vmread(int field) {
        requireVmx("VMREAD");
        if (currentVmcs < 0) { failInvalid(); return 0; }
        if (Vmcs.offset(field) < 0) { failValid(VMXERR_UNSUPPORTED_VMCS_COMPONENT); return 0; }
        succeed();
        return vr(field);
    }

    @Override public int vmwrite(int field, long value) {
        requireVmx("VMWRITE");
        if (currentVmcs < 0) return failInvalid();
        if (Vmcs.offset(field) < 0) return failValid(VMXERR_UNSUPPORTED_VMCS_COMPONENT);
        // SDM 30.3 VMWRITE: VM-exit information fields are read-only (IA32_VMX_MISC bit 29 is 0)
        if (((field >>> 10) & 3) == 1) return failValid(VMXERR_VMWRITE_READ_ONLY_VMCS_COMPONENT);
        vw(field, value);
        return succeed();
    }

    @Override public int vmlaunch() { return vmentry(true); }

    @Override public int vmresume() { return vmentry(false); }

    @Override public int invept(int type, long eptp) {
        requireVmx("INVEPT");
        if (!caps.ept || (type != VMX_EPT_EXTENT_CONTEXT && type != VMX_EPT_EXTENT_GLOBAL))
            return failValid(VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID);
        core.flushTlb();
        return succeed();
    }

    @Override public int invvpid(int type, int vpid, long linearAddress) {
        requireVmx("INVVPID");
        if (!caps.vpid || (type != VMX_VPID_EXTENT_SINGLE_CONTEXT && type != VMX_VPID_EXTENT_ALL_CONTEXT && type != 0))
            return failValid(VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID);
        if (type == VMX_VPID_EXTENT_SINGLE_CONTEXT && vpid == 0) return failValid(VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID);
        core.flushTlb();
        return succeed();
    }

    @Override public int lastStatus() { return lastStatus; }

    @Override public long[] regs() { return regs; }

    /**
     * DR0-DR7 as MOV DR sees them in VMX root operation; DR4/DR5 alias DR6/DR7 (CR4.DE clear). They are
     * the processor's one set of debug registers: VM entry and exit switch only DR7 (SDM 26.3.2.1,
     * 27.5.1), so breakpoint addresses the host puts in DR0-DR3 before VMLAUNCH are the guest's.
     */
    @Override public long get_debugreg(int n) { return core.dr[n == 4 || n == 5 ? n + 2 : n & 7]; }

    @Override public void set_debugreg(long value, int n) { core.dr[n == 4 || n == 5 ? n + 2 : n & 7] = value; }

    @Override public long cr2() { return cr2; }

    @Override public void set_cr2(long value) { cr2 = value; }

    @Override public void kick() {
        core.kicked = true;
        Thread t = core.runner;
        if (t != null) LockSupport.unpark(t);
    }

    // ---------------------------------------------------------------- VMCS access on the current VMCS

    private long vr(int f) {
        int a = vmcsOff + Vmcs.offset(f);
        switch (Vmcs.width(f)) {
            case Vmcs.WIDTH_16: return vmcsBuf.getShort(a) & 0xffff;
            case Vmcs.WIDTH_32: return vmcsBuf.getInt(a) & 0xffffffffL;
            default: return Vmcs.isHighAccess(f) ? vmcsBuf.getInt(a) & 0xffffffffL : vmcsBuf.getLong(a);
        }
    }

    private void vw(int f, long v) {
        int a = vmcsOff + Vmcs.offset(f);
        switch (Vmcs.width(f)) {
            case Vmcs.WIDTH_16: vmcsBuf.putShort(a, (short) v); return;
            case Vmcs.WIDTH_32: vmcsBuf.putInt(a, (int) v); return;
            default:
                if (Vmcs.isHighAccess(f)) vmcsBuf.putInt(a, (int) v);
                else vmcsBuf.putLong(a, v);
        }
    }

    private int vr32(int f) { return (int) vr(f); }

    // ---------------------------------------------------------------- VM entry

    private int vmentry(boolean launch) {
        requireVmx(launch ? "VMLAUNCH" : "VMRESUME");
        if (currentVmcs < 0) return failInvalid();
        int state = vmcsBuf.getInt(vmcsOff + Vmcs.LAUNCH_STATE_OFFSET);
        if (launch && state != Vmcs.LAUNCH_STATE_CLEAR) return failValid(VMXERR_VMLAUNCH_NONCLEAR_VMCS);
        if (!launch && state != Vmcs.LAUNCH_STATE_LAUNCHED) return failValid(VMXERR_VMRESUME_NONLAUNCHED_VMCS);
        lastEntryFailure = null;
        String why = EntryChecks.controls(this);
        if (why != null) { lastEntryFailure = why; return failValid(VMXERR_ENTRY_INVALID_CONTROL_FIELD); }
        why = EntryChecks.host(this);
        if (why != null) { lastEntryFailure = why; return failValid(VMXERR_ENTRY_INVALID_HOST_STATE_FIELD); }
        why = EntryChecks.guest(this);
        if (why != null) {
            // SDM 26.7 "VM-Entry Failures During or After Loading Guest State"
            lastEntryFailure = why;
            vw(VM_EXIT_REASON, EXIT_REASON_INVALID_STATE | VMX_EXIT_REASONS_FAILED_VMENTRY);
            vw(EXIT_QUALIFICATION, 0);
            return succeed();
        }
        loadGuest();
        // SDM 26.4 "Loading MSRs": after the guest state, from the VM-entry MSR-load area
        int n = vr32(VM_ENTRY_MSR_LOAD_COUNT);
        long area = vr(VM_ENTRY_MSR_LOAD_ADDR);
        for (int i = 0; i < n; i++) {
            int idx = mem.read32(area + 16L * i);
            long val = mem.read64(area + 16L * i + 8);
            boolean bad = idx == 0xc0000100 || idx == 0xc0000101 || (idx >>> 8) == 8 || mem.read32(area + 16L * i + 4) != 0;
            if (bad || !core.msrWrite(idx, val)) {
                lastEntryFailure = String.format("SDM 26.4 Loading MSRs: entry %d of the VM-entry MSR-load area (MSR %#x, value %#x) cannot be loaded", i + 1, idx, val);
                vw(VM_EXIT_REASON, EXIT_REASON_MSR_LOADING | VMX_EXIT_REASONS_FAILED_VMENTRY);
                vw(EXIT_QUALIFICATION, i + 1);
                return succeed();
            }
        }
        MachineCheck mc = machineCheck;
        machineCheck = MachineCheck.NONE;
        if (mc == MachineCheck.DURING_ENTRY) {
            lastEntryFailure = "SDM 26.8 Machine-Check Events During VM Entry: a machine check (injected) after the guest state was loaded";
            vw(VM_EXIT_REASON, EXIT_REASON_MCE_DURING_VMENTRY | VMX_EXIT_REASONS_FAILED_VMENTRY);
            vw(EXIT_QUALIFICATION, 0);
            return succeed();
        }
        core.machineCheckPending = mc == MachineCheck.IN_GUEST;
        if (launch) vmcsBuf.putInt(vmcsOff + Vmcs.LAUNCH_STATE_OFFSET, Vmcs.LAUNCH_STATE_LAUNCHED);
        int inject = vr32(VM_ENTRY_INTR_INFO_FIELD);
        core.run(inject, vr32(VM_ENTRY_EXCEPTION_ERROR_CODE), vr32(VM_ENTRY_INSTRUCTION_LEN));
        saveGuest();
        // SDM 27.4 "Saving MSRs" and 27.6 "Loading Host MSRs"
        int ns = vr32(VM_EXIT_MSR_STORE_COUNT);
        long store = vr(VM_EXIT_MSR_STORE_ADDR);
        for (int i = 0; i < ns; i++) {
            long v = core.msrRead(mem.read32(store + 16L * i));
            mem.write64(store + 16L * i + 8, v);
        }
        int nl = vr32(VM_EXIT_MSR_LOAD_COUNT);
        long load = vr(VM_EXIT_MSR_LOAD_ADDR);
        for (int i = 0; i < nl; i++) {
            int idx = mem.read32(load + 16L * i);
            try { wrmsr(idx, mem.read64(load + 16L * i + 8)); } catch (IllegalArgumentException e) { /* a VMX abort on silicon */ }
        }
        core.runner = null;
        return succeed();
    }

    /** SDM 26.3.2 "Loading Guest State" and the VM-execution controls the core consults. */
    private void loadGuest() {
        SoftCore c = core;
        c.pinControls = vr32(PIN_BASED_VM_EXEC_CONTROL);
        c.procControls = vr32(CPU_BASED_VM_EXEC_CONTROL);
        c.proc2Controls = (c.procControls & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) != 0 ? vr32(SECONDARY_VM_EXEC_CONTROL) : 0;
        c.exceptionBitmap = vr32(EXCEPTION_BITMAP);
        c.pfecMask = vr32(PAGE_FAULT_ERROR_CODE_MASK);
        c.pfecMatch = vr32(PAGE_FAULT_ERROR_CODE_MATCH);
        c.cr0Mask = vr(CR0_GUEST_HOST_MASK);
        c.cr4Mask = vr(CR4_GUEST_HOST_MASK);
        c.cr0Shadow = vr(CR0_READ_SHADOW);
        c.cr4Shadow = vr(CR4_READ_SHADOW);
        c.ioBitmapA = vr(IO_BITMAP_A);
        c.ioBitmapB = vr(IO_BITMAP_B);
        c.msrBitmap = vr(MSR_BITMAP);
        c.tscOffset = vr(TSC_OFFSET);
        c.pleGap = vr32(PLE_GAP) & 0xffffffffL;
        c.pleWindow = vr32(PLE_WINDOW) & 0xffffffffL;
        c.pleLast = -1;
        c.cr3TargetCount = vr32(CR3_TARGET_COUNT);
        for (int k = 0; k < 4; k++) c.cr3Targets[k] = vr(CR3_TARGET_VALUE0 + 2 * k);
        c.eptOn = (c.proc2Controls & SECONDARY_EXEC_ENABLE_EPT) != 0;
        c.unrestricted = (c.proc2Controls & SECONDARY_EXEC_UNRESTRICTED_GUEST) != 0;
        c.virtualApicPage = vr(VIRTUAL_APIC_PAGE_ADDR);
        c.tprThreshold = vr32(TPR_THRESHOLD);
        c.apicAccessPage = (c.proc2Controls & SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES) != 0 ? vr(APIC_ACCESS_ADDR) & ~0xfffL : -1;
        long eptp = c.eptOn ? vr(EPT_POINTER) : -2;
        // SDM 28.3.3 "Invalidation of Cached Translations": we drop them whenever the EPTP or VMCS changes
        if (eptp != lastEptp || currentVmcs != lastEntryVmcs || (vr(GUEST_CR0) & CR0_PG) != 0) c.flushTlb();
        lastEptp = eptp;
        lastEntryVmcs = currentVmcs;
        c.eptp = eptp;

        c.cr0 = vr(GUEST_CR0);
        c.cr3 = vr(GUEST_CR3);
        c.cr4 = vr(GUEST_CR4);
        c.cr2 = cr2;
        if ((vr32(VM_ENTRY_CONTROLS) & VM_ENTRY_LOAD_DEBUG_CONTROLS) != 0) c.dr[7] = vr(GUEST_DR7);
        c.debugRegsChanged();
        for (int s = 0; s < 8; s++) {
            c.sel[s] = (int) vr(GUEST_ES_SELECTOR + 2 * s);
            c.base[s] = vr(GUEST_ES_BASE + 2 * s);
            c.limit[s] = vr32(GUEST_ES_LIMIT + 2 * s);
            c.ar[s] = vr32(GUEST_ES_AR_BYTES + 2 * s);
        }
        c.gdtBase = vr(GUEST_GDTR_BASE);
        c.gdtLimit = vr32(GUEST_GDTR_LIMIT);
        c.idtBase = vr(GUEST_IDTR_BASE);
        c.idtLimit = vr32(GUEST_IDTR_LIMIT);
        c.sysenterCs = vr32(GUEST_SYSENTER_CS);
        c.sysenterEsp = vr(GUEST_SYSENTER_ESP);
        c.sysenterEip = vr(GUEST_SYSENTER_EIP);
        int entryCtl = vr32(VM_ENTRY_CONTROLS);
        if ((entryCtl & VM_ENTRY_LOAD_IA32_EFER) != 0) c.efer = vr(GUEST_IA32_EFER);
        else {
            // SDM 26.3.2.1: without "load IA32_EFER", LMA (and LME if paging) follow "IA-32e mode guest";
            // the other bits are whatever the host left in IA32_EFER (vmx.c switches it as a shared MSR)
            boolean ia32e = (entryCtl & VM_ENTRY_IA32E_MODE) != 0;
            c.efer = rdmsr(0xc0000080) & (EFER_SCE | EFER_NXE);
            if (ia32e) c.efer |= EFER_LMA | ((vr(GUEST_CR0) & CR0_PG) != 0 ? EFER_LME : 0);
        }
        if ((vr32(VM_ENTRY_CONTROLS) & VM_ENTRY_LOAD_IA32_PAT) != 0) c.guestPat = vr(GUEST_IA32_PAT);
        regs[RSP] = vr(GUEST_RSP);
        c.rip = vr(GUEST_RIP);
        c.setFlags(vr(GUEST_RFLAGS));
        c.interruptibility = vr32(GUEST_INTERRUPTIBILITY_INFO) & 0xb;
        c.pendingDbg = vr(GUEST_PENDING_DBG_EXCEPTIONS) & 0x400f; // B3-B0 and BS (SDM 26.6.3)
        c.activity = vr32(GUEST_ACTIVITY_STATE);
        c.updateMode();
    }

    /** SDM 27.2 "Recording VM-Exit Information" and 27.3 "Saving Guest State". */
    private void saveGuest() {
        SoftCore c = core;
        vw(VM_EXIT_REASON, c.exitReason);
        vw(EXIT_QUALIFICATION, c.exitQual);
        vw(VM_EXIT_INSTRUCTION_LEN, c.exitInstrLen);
        vw(VMX_INSTRUCTION_INFO, c.exitInstrInfo);
        vw(VM_EXIT_INTR_INFO, c.exitIntrInfo);
        vw(VM_EXIT_INTR_ERROR_CODE, c.exitIntrError);
        vw(IDT_VECTORING_INFO_FIELD, c.idtVectoringInfo);
        vw(IDT_VECTORING_ERROR_CODE, c.idtVectoringError);
        if (c.exitGpaValid) vw(GUEST_PHYSICAL_ADDRESS, c.exitGpa);
        if (c.exitGlaValid) vw(GUEST_LINEAR_ADDRESS, c.exitGla);
        // SDM 24.8.3: every VM exit clears the valid bit of the VM-entry interruption-information field
        vw(VM_ENTRY_INTR_INFO_FIELD, vr32(VM_ENTRY_INTR_INFO_FIELD) & ~INTR_INFO_VALID_MASK);

        vw(GUEST_CR0, c.cr0);
        vw(GUEST_CR3, c.cr3);
        vw(GUEST_CR4, c.cr4);
        cr2 = c.cr2;
        vw(GUEST_DR7, c.dr[7]);
        c.dr[7] = 0x400; // SDM 27.5.1 "Loading Host Control Registers, Debug Registers, MSRs"
        for (int s = 0; s < 8; s++) {
            vw(GUEST_ES_SELECTOR + 2 * s, c.sel[s]);
            vw(GUEST_ES_BASE + 2 * s, c.base[s]);
            vw(GUEST_ES_LIMIT + 2 * s, c.limit[s]);
            vw(GUEST_ES_AR_BYTES + 2 * s, c.ar[s]);
        }
        vw(GUEST_GDTR_BASE, c.gdtBase);
        vw(GUEST_GDTR_LIMIT, c.gdtLimit);
        vw(GUEST_IDTR_BASE, c.idtBase);
        vw(GUEST_IDTR_LIMIT, c.idtLimit);
        vw(GUEST_SYSENTER_CS, c.sysenterCs);
        vw(GUEST_SYSENTER_ESP, c.sysenterEsp);
        vw(GUEST_SYSENTER_EIP, c.sysenterEip);
        if ((vr32(VM_EXIT_CONTROLS) & VM_EXIT_SAVE_IA32_EFER) != 0) vw(GUEST_IA32_EFER, c.efer);
        if ((vr32(VM_EXIT_CONTROLS) & VM_EXIT_SAVE_IA32_PAT) != 0) vw(GUEST_IA32_PAT, c.guestPat);
        vw(GUEST_RSP, regs[RSP]);
        vw(GUEST_RIP, c.rip);
        vw(GUEST_RFLAGS, c.flags());
        vw(GUEST_INTERRUPTIBILITY_INFO, c.interruptibility);
        vw(GUEST_ACTIVITY_STATE, c.activity);
        vw(GUEST_PENDING_DBG_EXCEPTIONS, c.pendingDebugAtExit());
        // SDM 27.3.1: the "IA-32e mode guest" entry control records EFER.LMA at every exit
        int entryCtl = vr32(VM_ENTRY_CONTROLS);
        vw(VM_ENTRY_CONTROLS, (c.efer & EFER_LMA) != 0 ? entryCtl | VM_ENTRY_IA32E_MODE : entryCtl & ~VM_ENTRY_IA32E_MODE);
    }

    // Accessors for EntryChecks
    long field(int f) { return vr(f); }
    VmxCapabilities caps() { return caps; }
}
