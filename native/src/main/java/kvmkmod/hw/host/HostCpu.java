package kvmkmod.hw.host;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import kvmkmod.hw.HostMemory;
import kvmkmod.hw.Vmcs;
import kvmkmod.hw.VmxCapabilities;
import kvmkmod.hw.VmxCpu;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.TreeMap;
import java.util.WeakHashMap;

import static kvmkmod.hw.MsrIndex.MSR_EFER;
import static kvmkmod.hw.VmxArch.*;
import static kvmkmod.hw.host.HostKvm.*;

/**
 * A VMX processor whose guest code runs through the host's /dev/kvm.
 *
 * <p>VMX root operation (VMXON, VMCLEAR, VMPTRLD, VMREAD, VMWRITE, the capability MSRs) is emulated
 * here on the VMCS pages of {@link HostMemory}. VMLAUNCH/VMRESUME load the VMCS guest state into a host
 * vCPU (one per VMCS, inside one host VM per EPT root), run it with KVM_RUN, and turn the host's exit into
 * the VM exit the SDM defines (SDM 27.2 "Recording VM-Exit Information and Updating VM-Entry Control
 * Fields"), saving the guest state back into the VMCS and {@link #regs()}.
 *
 * <p>Guest memory: the host VM's memslots mirror the EPT lazily. An access the host cannot satisfy comes
 * back as KVM_EXIT_MMIO (data) or an emulation failure (instruction fetch); if the EPT maps that page to a
 * page of a HostMemory region, a memslot is added and the guest goes on; otherwise it is an EPT violation.
 *
 * <p>Register traffic uses KVM_CAP_SYNC_REGS: after every exit the host leaves regs, sregs and events in
 * kvm_run; before an entry this processor pushes only what differs from what the host vCPU already holds
 * (or will hold once it completes a pending I/O). The completion rules measured on the host, and what
 * this processor cannot honour, are in the package documentation (package-info.java).
 */
public final class HostCpu implements VmxCpu, AutoCloseable {

    // ---------------------------------------------------------------------------------------------
    // Host objects shared by every HostCpu over the same HostMemory: a VMCS may be cleared on one
    // processor and loaded on another (vcpu migration), and must find its host vCPU again.

    private static final Map<HostMemory, Machine> MACHINES = new WeakHashMap<>();

    static final class Machine {
        final HostMemory mem;
        final Map<Long, HostVm> vms = new HashMap<>();
        final Map<Long, HostVcpu> vcpus = new HashMap<>();
        Machine(HostMemory mem) { this.mem = mem; }
    }

    private static Machine machine(HostMemory mem) {
        synchronized (MACHINES) {
            return MACHINES.computeIfAbsent(mem, Machine::new);
        }
    }

    /** Key of the host VM used when EPT is off: guest-physical is host-physical. */
    static final long NO_EPT = -1L;

    /** One host VM: the guest-physical address space of one EPT root. */
    static final class HostVm {
        final int fd;
        final long eptRoot;
        /** gpa of a memslot -> {size, slot id}. */
        final TreeMap<Long, long[]> slots = new TreeMap<>();
        final ArrayDeque<Integer> freeSlots = new ArrayDeque<>();
        int nextSlot;
        int nextVcpuId;
        final Memory scratch = new Memory(SIZEOF_MEMORY_REGION);

        HostVm(long eptRoot) {
            this.eptRoot = eptRoot;
            this.fd = HostKvm.createVm();
        }

        synchronized int allocSlot() { return freeSlots.isEmpty() ? nextSlot++ : freeSlots.pop(); }

        synchronized void addSlot(long gpa, long size, long uaddr, boolean readonly) {
            int id = allocSlot();
            HostKvm.setUserMemoryRegion(fd, scratch, id, readonly ? KVM_MEM_READONLY : 0, gpa, size, uaddr);
            slots.put(gpa, new long[] {size, id});
        }

        synchronized boolean isEmpty() { return slots.isEmpty(); }

        synchronized boolean hasSlot(long gpa) {
            Map.Entry<Long, long[]> e = slots.floorEntry(gpa);
            return e != null && gpa - e.getKey() < e.getValue()[0];
        }

        /** Lowest slot start above gpa, or Long.MAX_VALUE. */
        synchronized long nextSlotAbove(long gpa) {
            Long k = slots.higherKey(gpa);
            return k == null ? Long.MAX_VALUE : k;
        }

        /** End of the highest slot below gpa, or 0. */
        synchronized long prevSlotEnd(long gpa) {
            Map.Entry<Long, long[]> e = slots.lowerEntry(gpa);
            return e == null ? 0 : e.getKey() + e.getValue()[0];
        }

        /** INVEPT: forget every mapping, so that the next access to each page is checked against the EPT again. */
        synchronized void dropSlots() {
            for (Iterator<Map.Entry<Long, long[]>> it = slots.entrySet().iterator(); it.hasNext(); ) {
                Map.Entry<Long, long[]> e = it.next();
                int id = (int) e.getValue()[1];
                HostKvm.setUserMemoryRegion(fd, scratch, id, 0, e.getKey(), 0, 0);
                freeSlots.push(id);
                it.remove();
            }
        }

        synchronized void close() {
            try { LibC.close(fd); } catch (LastErrorException ignored) { }
            scratch.close();
        }
    }

    /** Nothing left for the host to complete. */
    static final int PEND_NONE = 0;
    /** The host will finish an IN on the next KVM_RUN: RIP past it, AL/AX/EAX from the PIO data page. */
    static final int PEND_IN = 1;
    /** The host will finish an INS (writes count elements from the PIO page to ES:RDI). */
    static final int PEND_INS = 2;
    /** A host that exits before finishing an OUT (VT-x fast PIO) will skip it on the next KVM_RUN. */
    static final int PEND_OUT = 3;

    /** One host vCPU: the guest of one VMCS. */
    static final class HostVcpu {
        final HostVm vm;
        final int fd;
        final long vmcsHpa;
        final long runVa;
        final ByteBuffer run;
        final int mmapSize;
        /** The state has never been pushed: push everything at the next entry. */
        boolean fresh = true;
        /** A segment, control register or EFER changed in the VMCS since the last exit. */
        boolean sregsDirty;
        /** kvm_run.s.regs.sregs, and a copy of it as it was at the last exit whose VMCS fields are current. */
        final ByteBuffer sregsView;
        final ByteBuffer lastSregs = ByteBuffer.allocateDirect(SIZEOF_KVM_SREGS);
        boolean sregsSaved;
        /** The host holds an undelivered event that must be replaced by what the VMCS says at the next entry. */
        boolean eventsDirty;
        /** What the host vCPU holds (after completing what is pending): 16 GPRs in VCPU order, RIP, RFLAGS. */
        final long[] expect = new long[18];
        int pending = PEND_NONE;
        int pendSize, pendCount;
        /** Address-size mask of a pending INS. */
        long pendAddrMask = 0xffff;

        HostVcpu(HostVm vm, long vmcsHpa) {
            this.vm = vm;
            this.vmcsHpa = vmcsHpa;
            this.fd = HostKvm.createVcpu(vm.fd, vm.nextVcpuId++);
            HostKvm.setSupportedCpuid(fd);
            this.mmapSize = HostKvm.vcpuMmapSize();
            this.runVa = HostKvm.mapRun(fd);
            this.run = HostKvm.runBuffer(runVa);
            this.sregsView = run.slice(RUN_S_SREGS, SIZEOF_KVM_SREGS);
            // Fill kvm_run.s from the host once, so that every later push can go through kvm_dirty_regs.
            LibC.ioctl(fd, KVM_GET_REGS, runVa + RUN_S_REGS);
            LibC.ioctl(fd, KVM_GET_SREGS, runVa + RUN_S_SREGS);
            LibC.ioctl(fd, KVM_GET_VCPU_EVENTS, runVa + RUN_S_EVENTS);
            run.putLong(RUN_VALID_REGS, KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS | KVM_SYNC_X86_EVENTS);
            HostSignals.setVcpuMask(fd);
        }

        void close() {
            try { LibC.munmap(runVa, mmapSize); } catch (LastErrorException ignored) { }
            try { LibC.close(fd); } catch (LastErrorException ignored) { }
        }
    }

    // ---------------------------------------------------------------------------------------------

    private final int id;
    private final HostMemory mem;
    private final VmxCapabilities caps;
    private final Machine machine;
    private final long[] regs = new long[16];
    private long cr2;
    private long cr4 = 0x6f0;
    private long featureControl;
    /** Values of the PLAIN_MSRS, by index; the APIC base starts at its reset value. */
    private final long[] msrs = initialMsrs();

    private static long[] initialMsrs() {
        long[] v = new long[PLAIN_MSRS.length];
        v[plainMsr(0x1b)] = 0xfee00900L;
        return v;
    }
    /** IA32_EFER as the guest has it: 2.6.33 switches EFER by hand around VM entry (no VMCS field for it). */
    private long guestEfer;

    private boolean vmxOn;
    private long vmxonPtr = -1;
    private long current = -1;
    private ByteBuffer curBuf;
    private int curBase;
    private HostVcpu curVcpu;
    private int status;

    /** The vCPU that is inside KVM_RUN (or about to be), for kick(). */
    private volatile HostVcpu running;
    private volatile long runningThread;
    private volatile boolean kickPending;
    private final Object kickLock = new Object();

    // One-entry translation cache for guest memory reads: gpa page -> region buffer and offset.
    private long tlbGpaPage = -1;
    private long tlbRoot = Long.MIN_VALUE;
    private ByteBuffer tlbBuf;
    private int tlbOff;

    /** The control capability MSRs, read once (the capabilities are this processor's own copy). */
    private final long capPin, capProc, capProc2, capExit, capEntry;

    private HostCpu(int id, HostMemory mem, VmxCapabilities caps) {
        this.id = id;
        this.mem = mem;
        this.caps = caps;
        this.capPin = caps.rdmsr(MSR_IA32_VMX_PINBASED_CTLS);
        this.capProc = caps.rdmsr(MSR_IA32_VMX_PROCBASED_CTLS);
        this.capProc2 = caps.secondaryControls ? caps.rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2) : 0;
        this.capExit = caps.rdmsr(MSR_IA32_VMX_EXIT_CTLS);
        this.capEntry = caps.rdmsr(MSR_IA32_VMX_ENTRY_CTLS);
        this.machine = machine(mem);
    }

    /**
     * A host-backed processor. The capabilities it reports are {@code caps} minus what it cannot honour:
     * APIC-access virtualization is removed (an APIC-access page would simply be memory to the host).
     */
    public static VmxCpu create(int id, HostMemory mem, VmxCapabilities caps) {
        if (!HostKvm.usable()) throw new IllegalStateException("/dev/kvm is not usable: " + HostKvm.whyNotUsable());
        VmxCapabilities c = caps.copy();
        c.virtualizeApicAccesses = false;
        return new HostCpu(id, mem, c);
    }

    @Override public int id() { return id; }
    @Override public HostMemory memory() { return mem; }
    @Override public String backend() { return "host"; }
    @Override public long[] regs() { return regs; }
    /** DR0-DR7 as MOV DR sees them in VMX root operation; DR4/DR5 alias DR6/DR7 (CR4.DE clear). */
    private final long[] debugreg = {0, 0, 0, 0, 0, 0, 0xffff0ff0L, 0x400L};

    @Override public long get_debugreg(int n) { return debugreg[n == 4 || n == 5 ? n + 2 : n & 7]; }

    @Override public void set_debugreg(long value, int n) { debugreg[n == 4 || n == 5 ? n + 2 : n & 7] = value; }

    @Override public long cr2() { return cr2; }
    @Override public void set_cr2(long value) {
        if (value != cr2 && curVcpu != null) curVcpu.sregsDirty = true;
        cr2 = value;
    }
    @Override public int lastStatus() { return status; }

    // ---------------------------------------------------------------------------------------------
    // MSRs, CPUID, CR4

    private static final int[] PLAIN_MSRS = {0x10, 0x1b, 0x174, 0x175, 0x176, 0x277, MSR_EFER, 0xc0000081,
            0xc0000082, 0xc0000083, 0xc0000084, 0xc0000100, 0xc0000101, 0xc0000102, 0xc0000103};

    /** Index of a host MSR in {@link #PLAIN_MSRS}, or -1: MSR reads sit on the entry path, so no boxing. */
    private static int plainMsr(int msr) {
        for (int i = 0; i < PLAIN_MSRS.length; i++) if (PLAIN_MSRS[i] == msr) return i;
        return -1;
    }

    @Override public long rdmsr(int msr) {
        if (msr == MSR_IA32_FEATURE_CONTROL) return featureControl;
        if (msr >= MSR_IA32_VMX_BASIC && msr <= MSR_IA32_VMX_EPT_VPID_CAP) return caps.rdmsr(msr);
        if (msr == MSR_EFER) return guestEfer;
        int i = plainMsr(msr);
        if (i >= 0) return msrs[i];
        throw new IllegalArgumentException(String.format("#GP: rdmsr %#x", msr));
    }

    @Override public void wrmsr(int msr, long value) {
        if (msr == MSR_IA32_FEATURE_CONTROL) {
            if ((featureControl & FEATURE_CONTROL_LOCKED) != 0) throw new IllegalArgumentException("#GP: IA32_FEATURE_CONTROL is locked");
            featureControl = value;
            return;
        }
        int i = plainMsr(msr);
        if (i < 0) throw new IllegalArgumentException(String.format("#GP: wrmsr %#x", msr));
        if (msr == MSR_EFER) {
            if (value != guestEfer && curVcpu != null) curVcpu.sregsDirty = true;
            guestEfer = value;
            return;
        }
        msrs[i] = value;
    }

    @Override public void cpuid(int leaf, int subleaf, int[] out) {
        int a = 0, b = 0, c = 0, d = 0;
        switch (leaf) {
            case 0: a = 0xb; b = 0x756e6547; d = 0x49656e69; c = 0x6c65746e; break;         // GenuineIntel
            case 1: a = 0x206c2; b = (id << 24) | 0x00020800; c = 0x029ee3ff & ~(1 << 31) | (1 << 5); d = 0xbfebfbff; break;
            case 0x80000000: a = 0x80000008; break;
            case 0x80000001: c = 1; d = (1 << 29) | (1 << 20) | (1 << 11); break;
            case 0x80000008: a = 0x3028; break;
            default: break;
        }
        out[0] = a; out[1] = b; out[2] = c; out[3] = d;
    }

    @Override public long read_cr4() { return cr4; }
    @Override public void write_cr4(long value) { cr4 = value; }

    // ---------------------------------------------------------------------------------------------
    // VMX instructions (SDM chapter 30 "VMX Instruction Reference")

    private int succeed() { return status = VM_SUCCEED; }
    private int failInvalid() { return status = VM_FAIL_INVALID; }

    private int failValid(int err) {
        if (current == -1) return failInvalid();
        vw(VM_INSTRUCTION_ERROR, err);
        return status = VM_FAIL_VALID;
    }

    private void requireVmx() {
        if (!vmxOn) throw new IllegalStateException("#UD: VMX instruction outside VMX operation");
    }

    private boolean validPagePointer(long p) {
        if ((p & 0xfff) != 0 || p < 0 || (p >>> 52) != 0) return false;
        HostMemory.Region r = mem.regionAtHpa(p);
        return r != null && r.containsHpa(p + HostMemory.PAGE_SIZE - 1);
    }

    @Override public int vmxon(long p) {
        if ((cr4 & (1 << 13)) == 0) throw new IllegalStateException("#UD: VMXON with CR4.VMXE clear");
        if (vmxOn) return failValid(VMXERR_VMXON_IN_VMX_ROOT_OPERATION);
        if ((featureControl & (FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMXON_ENABLED)) != (FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMXON_ENABLED))
            throw new IllegalArgumentException("#GP: VMXON not enabled in IA32_FEATURE_CONTROL");
        if (!validPagePointer(p) || mem.read32(p) != VmxCapabilities.VMCS_REVISION_ID) return failInvalid();
        vmxOn = true;
        vmxonPtr = p;
        setCurrent(-1);
        return succeed();
    }

    @Override public int vmxoff() {
        requireVmx();
        vmxOn = false;
        vmxonPtr = -1;
        setCurrent(-1);
        return succeed();
    }

    @Override public int vmclear(long p) {
        requireVmx();
        if (!validPagePointer(p)) return failValid(VMXERR_VMCLEAR_INVALID_ADDRESS);
        if (p == vmxonPtr) return failValid(VMXERR_VMCLEAR_VMXON_POINTER);
        mem.write32(p + Vmcs.LAUNCH_STATE_OFFSET, Vmcs.LAUNCH_STATE_CLEAR);
        if (p == current) setCurrent(-1);
        return succeed();
    }

    @Override public int vmptrld(long p) {
        requireVmx();
        if (!validPagePointer(p)) return failValid(VMXERR_VMPTRLD_INVALID_ADDRESS);
        if (p == vmxonPtr) return failValid(VMXERR_VMPTRLD_VMXON_POINTER);
        if (mem.read32(p) != VmxCapabilities.VMCS_REVISION_ID) return failValid(VMXERR_VMPTRLD_INCORRECT_VMCS_REVISION_ID);
        setCurrent(p);
        return succeed();
    }

    private void setCurrent(long p) {
        current = p;
        if (p == -1) { curBuf = null; curVcpu = null; return; }
        HostMemory.Region r = mem.regionAtHpa(p);
        curBuf = r.buf;
        curBase = (int) (p - r.hpa);
        synchronized (machine) { curVcpu = machine.vcpus.get(p); }
    }

    @Override public long vmptrst() { requireVmx(); succeed(); return current; }

    @Override public long vmread(int field) {
        requireVmx();
        if (current == -1) { failInvalid(); return 0; }
        if (Vmcs.offset(field) < 0) { failValid(VMXERR_UNSUPPORTED_VMCS_COMPONENT); return 0; }
        succeed();
        return vr(field);
    }

    @Override public int vmwrite(int field, long value) {
        requireVmx();
        if (current == -1) return failInvalid();
        if (Vmcs.offset(field) < 0) return failValid(VMXERR_UNSUPPORTED_VMCS_COMPONENT);
        if (((field >>> 10) & 3) == 1) return failValid(13); // VMWRITE to a read-only VM-exit information field
        HostVcpu v = curVcpu;
        if (v != null && !v.sregsDirty && isSregsField(field) && vr(field) != truncate(field, value)) v.sregsDirty = true;
        if (v != null && field == GUEST_INTERRUPTIBILITY_INFO && vr(field) != truncate(field, value)) v.eventsDirty = true;
        vw(field, value);
        return succeed();
    }

    private static long truncate(int field, long v) {
        switch (Vmcs.width(field)) {
            case Vmcs.WIDTH_16: return v & 0xffff;
            case Vmcs.WIDTH_32: return v & 0xffffffffL;
            default: return Vmcs.isHighAccess(field) ? v & 0xffffffffL : v;
        }
    }

    /** Guest-state fields that the host keeps in kvm_sregs (segments, descriptor tables, CR0/CR3/CR4), and the IA-32e entry control (EFER.LMA). */
    private static boolean isSregsField(int f) {
        if (f == VM_ENTRY_CONTROLS) return true;
        if (((f >>> 10) & 3) != 2) return false;
        return (f >= GUEST_ES_SELECTOR && f <= GUEST_TR_SELECTOR)
                || (f >= GUEST_ES_LIMIT && f <= GUEST_TR_AR_BYTES)
                || (f >= GUEST_CR0 && f <= GUEST_IDTR_BASE);
    }

    @Override public int invept(int type, long eptp) {
        requireVmx();
        if (type != VMX_EPT_EXTENT_CONTEXT && type != VMX_EPT_EXTENT_GLOBAL) return failValid(VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID);
        synchronized (machine) {
            for (HostVm vm : machine.vms.values())
                if (type == VMX_EPT_EXTENT_GLOBAL || vm.eptRoot == (eptp & EPT_ADDR_MASK)) vm.dropSlots();
        }
        tlbGpaPage = -1;
        return succeed();
    }

    @Override public int invvpid(int type, int vpid, long linearAddress) {
        requireVmx();
        // The host tags guest TLB entries itself; nothing to flush here.
        return succeed();
    }

    // Direct access to the current VMCS (Vmcs layout), without going through HostMemory's region lookup.

    private long vr(int field) {
        int off = curBase + Vmcs.offset(field);
        switch (Vmcs.width(field)) {
            case Vmcs.WIDTH_16: return curBuf.getShort(off) & 0xffff;
            case Vmcs.WIDTH_32: return curBuf.getInt(off) & 0xffffffffL;
            default: return Vmcs.isHighAccess(field) ? curBuf.getInt(off) & 0xffffffffL : curBuf.getLong(off);
        }
    }

    private void vw(int field, long v) {
        int off = curBase + Vmcs.offset(field);
        switch (Vmcs.width(field)) {
            case Vmcs.WIDTH_16: curBuf.putShort(off, (short) v); break;
            case Vmcs.WIDTH_32: curBuf.putInt(off, (int) v); break;
            default:
                if (Vmcs.isHighAccess(field)) curBuf.putInt(off, (int) v);
                else curBuf.putLong(off, v);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // VM entry

    static final long EPT_ADDR_MASK = 0x000ffffffffff000L;

    @Override public int vmlaunch() { return enter(true); }

    @Override public int vmresume() { return enter(false); }

    private int enter(boolean launch) {
        requireVmx();
        if (current == -1) return failInvalid();
        int state = curBuf.getInt(curBase + Vmcs.LAUNCH_STATE_OFFSET);
        if (launch && state != Vmcs.LAUNCH_STATE_CLEAR) return failValid(VMXERR_VMLAUNCH_NONCLEAR_VMCS);
        if (!launch && state != Vmcs.LAUNCH_STATE_LAUNCHED) return failValid(VMXERR_VMRESUME_NONLAUNCHED_VMCS);
        if (!checkControls()) return failValid(VMXERR_ENTRY_INVALID_CONTROL_FIELD);

        int cpuBased = (int) vr(CPU_BASED_VM_EXEC_CONTROL);
        int secondary = (cpuBased & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) != 0 ? (int) vr(SECONDARY_VM_EXEC_CONTROL) : 0;
        long root = (secondary & SECONDARY_EXEC_ENABLE_EPT) != 0 ? vr(EPT_POINTER) & EPT_ADDR_MASK : NO_EPT;
        long self = HostSignals.prepareThread();
        HostVcpu v = vcpuFor(root);
        if (launch) { v.fresh = true; tlbGpaPage = -1; }

        ByteBuffer run = v.run;
        try {
            prepareEntry(v, cpuBased);
        } catch (LastErrorException e) {
            lastFailure = "preparing the host vCPU: errno " + e.getErrorCode();
            return entryFailed(v);
        }
        if (v.vm.isEmpty() && (vr(GUEST_CR0) & 0x80000000L) != 0) {
            // Host quirk: KVM_RUN of a VM without any memslot fails with ENOSPC. With guest paging on,
            // the page tables at CR3 are the one place we know the guest needs.
            mapAround(v, vr(GUEST_CR3) & EPT_ADDR_MASK);
        }
        if (v.vm.isEmpty()) {
            // Host quirk: KVM_RUN of a VM without any memslot fails with ENOSPC. Map the code page first.
            long fetch = vr(GUEST_CS_BASE) + vr(GUEST_RIP);
            if (!mapAround(v, fetch)) {
                long q = 4 | (eptPerms(v, fetch) << 3);
                v.expect[16] = -1;
                // The host never ran, so it still lacks the state prepareEntry staged: push it all next time.
                v.fresh = true;
                eptViolation(fetch, q, fetch);
                curBuf.putInt(curBase + Vmcs.LAUNCH_STATE_OFFSET, Vmcs.LAUNCH_STATE_LAUNCHED);
                return succeed();
            }
        }
        runningThread = self;
        running = v;
        try {
            runGuest(v, cpuBased);
        } finally {
            synchronized (kickLock) { running = null; }
        }
        if ((vr(VM_EXIT_REASON) & VMX_EXIT_REASONS_FAILED_VMENTRY) == 0)
            curBuf.putInt(curBase + Vmcs.LAUNCH_STATE_OFFSET, Vmcs.LAUNCH_STATE_LAUNCHED);
        return succeed();
    }

    private boolean checkControls() {
        int pin = (int) vr(PIN_BASED_VM_EXEC_CONTROL), cpu = (int) vr(CPU_BASED_VM_EXEC_CONTROL);
        if (!VmxCapabilities.controlsAllowed(capPin, pin)) return false;
        if (!VmxCapabilities.controlsAllowed(capProc, cpu)) return false;
        if ((cpu & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) != 0) {
            if (!caps.secondaryControls) return false;
            int sec = (int) vr(SECONDARY_VM_EXEC_CONTROL);
            if (!VmxCapabilities.controlsAllowed(capProc2, sec)) return false;
            if ((sec & SECONDARY_EXEC_UNRESTRICTED_GUEST) != 0 && (sec & SECONDARY_EXEC_ENABLE_EPT) == 0) return false;
            if ((sec & SECONDARY_EXEC_ENABLE_EPT) != 0) {
                long eptp = vr(EPT_POINTER);
                // SDM 26.2.1.1: memory type UC(0) or WB(6), page-walk length 4 (value 3)
                int mt = (int) (eptp & 7);
                if ((mt != 0 && mt != 6) || ((eptp >>> 3) & 7) != 3 || (eptp & 0xfc0L) != 0) return false;
            }
        }
        if (!VmxCapabilities.controlsAllowed(capExit, (int) vr(VM_EXIT_CONTROLS))) return false;
        if (!VmxCapabilities.controlsAllowed(capEntry, (int) vr(VM_ENTRY_CONTROLS))) return false;
        return true;
    }

    private HostVcpu vcpuFor(long root) {
        HostVcpu v = curVcpu;
        if (v != null && v.vm.eptRoot == root) return v;
        synchronized (machine) {
            reap();
            HostVm vm = machine.vms.get(root);
            if (vm == null) machine.vms.put(root, vm = new HostVm(root));
            HostVcpu old = v;
            v = new HostVcpu(vm, current);
            if (old != null) {
                carryOver(old, v);
                old.close();
            }
            machine.vcpus.put(current, v);
        }
        curVcpu = v;
        return v;
    }

    /**
     * Releases the host vCPUs whose VMCS page, and the host VMs whose EPT root page, has been freed
     * (the hypervisor destroyed that vCPU or VM); run whenever a host vCPU is created. Caller holds machine.
     */
    private void reap() {
        for (Iterator<Map.Entry<Long, HostVcpu>> it = machine.vcpus.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<Long, HostVcpu> e = it.next();
            if (mem.regionAtHpa(e.getKey()) == null) { e.getValue().close(); it.remove(); }
        }
        for (Iterator<Map.Entry<Long, HostVm>> it = machine.vms.entrySet().iterator(); it.hasNext(); ) {
            HostVm vm = it.next().getValue();
            if (vm.eptRoot == NO_EPT || mem.regionAtHpa(vm.eptRoot) != null) continue;
            boolean used = false;
            for (HostVcpu c : machine.vcpus.values()) if (c.vm == vm) { used = true; break; }
            if (!used) { vm.close(); it.remove(); }
        }
    }

    /** Host VMs and vCPUs alive (for tests). */
    int[] hostObjects() {
        synchronized (machine) { return new int[] {machine.vms.size(), machine.vcpus.size()}; }
    }

    /** MSRs that the host vCPU keeps for the guest and that no VMCS field carries. */
    private static final int[] CARRIED_MSRS = {0x174, 0x175, 0x176, 0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084,
            0xc0000100, 0xc0000101, 0xc0000102, 0x277};

    /**
     * When a VMCS moves to another EPT root it moves to another host VM and so to a new host vCPU: carry
     * over what only the host vCPU held (x87/SSE state, the guest's syscall/sysenter/segment-base MSRs).
     * Registers, segments and events come from the VMCS at the next entry as for any fresh vCPU.
     */
    private static void carryOver(HostVcpu from, HostVcpu to) {
        try (Memory fpu = new Memory(SIZEOF_KVM_FPU); Memory msrs = new Memory(8 + 16L * CARRIED_MSRS.length)) {
            LibC.ioctl(from.fd, KVM_GET_FPU, Pointer.nativeValue(fpu));
            LibC.ioctl(to.fd, KVM_SET_FPU, Pointer.nativeValue(fpu));
            msrs.clear();
            msrs.setInt(0, CARRIED_MSRS.length);
            for (int i = 0; i < CARRIED_MSRS.length; i++) msrs.setInt(8 + 16L * i, CARRIED_MSRS[i]);
            int got = LibC.ioctl(from.fd, KVM_GET_MSRS, Pointer.nativeValue(msrs));
            msrs.setInt(0, got);
            LibC.ioctl(to.fd, KVM_SET_MSRS, Pointer.nativeValue(msrs));
        } catch (LastErrorException e) {
            // a host without one of these: the new vCPU keeps its reset values
        }
    }

    // kvm_regs offsets of the GPRs in VCPU_REGS order (RAX RCX RDX RBX RSP RBP RSI RDI R8..R15)
    private static final int[] KVM_REG_OFF = {REGS_RAX, REGS_RCX, REGS_RDX, REGS_RBX, REGS_RSP, REGS_RBP, REGS_RSI, REGS_RDI,
            64, 72, 80, 88, 96, 104, 112, 120};

    /** Puts the VMCS guest state into the host vCPU, pushing only what the host does not already hold. */
    private void prepareEntry(HostVcpu v, int cpuBased) {
        ByteBuffer run = v.run;
        long rsp = vr(GUEST_RSP), rip = vr(GUEST_RIP), rflags = vr(GUEST_RFLAGS);
        boolean regsDiffer = v.fresh;
        long[] e = v.expect;
        if (!regsDiffer) {
            if (rip != e[16] || rflags != e[17] || rsp != e[RSP]) regsDiffer = true;
            else for (int i = 0; i < 16; i++) {
                if (i == RSP || i == RAX) continue;
                if (regs[i] != e[i]) { regsDiffer = true; break; }
            }
        }
        long rax = regs[RAX];
        if (!regsDiffer && rax != e[RAX]) {
            // For a pending IN the host merges the PIO data into RAX: any RAX that merge can produce is fine.
            if (v.pending != PEND_IN || !inMergeable(e[RAX], rax, v.pendSize)) regsDiffer = true;
        }
        boolean sregs = v.fresh || v.sregsDirty;
        if (v.pending != PEND_NONE) {
            if (!regsDiffer && !sregs && v.pending == PEND_IN) {
                writePio(run, rax, v.pendSize);           // the common case: the host completes the IN itself
            } else if (!regsDiffer && !sregs && v.pending == PEND_OUT) {
                // the host skips the OUT itself
            } else {
                completePending(v);
                regsDiffer = true;
            }
            v.pending = PEND_NONE;
        }
        int dirty = 0;
        if (regsDiffer) {
            for (int i = 0; i < 16; i++) run.putLong(RUN_S_REGS + KVM_REG_OFF[i], i == RSP ? rsp : regs[i]);
            run.putLong(RUN_S_REGS + REGS_RIP, rip);
            run.putLong(RUN_S_REGS + REGS_RFLAGS, rflags);
            dirty |= KVM_SYNC_X86_REGS;
        }
        if (sregs) {
            fillSregs(run, RUN_S_SREGS);
            dirty |= KVM_SYNC_X86_SREGS;
            v.sregsSaved = false;
        }
        long intrInfo = vr(VM_ENTRY_INTR_INFO_FIELD);
        if ((intrInfo & INTR_INFO_VALID_MASK) != 0 || v.eventsDirty) {
            fillEvents(run, (int) intrInfo);
            dirty |= KVM_SYNC_X86_EVENTS;
            v.eventsDirty = false;
        }
        run.put(RUN_REQUEST_INTERRUPT_WINDOW, (byte) ((cpuBased & CPU_BASED_VIRTUAL_INTR_PENDING) != 0 ? 1 : 0));
        run.putLong(RUN_DIRTY_REGS, dirty);
        v.fresh = false;
        v.sregsDirty = false;
    }

    private static boolean inMergeable(long before, long after, int size) {
        if (size == 4) return (after >>> 32) == 0;
        long keep = size == 1 ? ~0xffL : ~0xffffL;
        return (before & keep) == (after & keep);
    }

    private static void writePio(ByteBuffer run, long value, int size) {
        int off = (int) run.getLong(RUN_IO_DATA_OFFSET);
        switch (size) {
            case 1: run.put(off, (byte) value); break;
            case 2: run.putShort(off, (short) value); break;
            default: run.putInt(off, (int) value); break;
        }
    }

    /**
     * Lets the host finish what it left pending without entering the guest (KVM_RUN with immediate_exit
     * returns EINTR once the completion callback has run), so that the registers we push next are not
     * overwritten by that completion. For INS the PIO page is first filled with what guest memory already
     * holds at the destination, so the host's stores change nothing.
     */
    private void completePending(HostVcpu v) {
        ByteBuffer run = v.run;
        if (v.pending == PEND_INS) fillInsNoop(v);
        run.putLong(RUN_DIRTY_REGS, 0);
        run.put(RUN_IMMEDIATE_EXIT, (byte) 1);
        try {
            LibC.ioctl(v.fd, KVM_RUN, 0);
        } catch (LastErrorException e) {
            if (e.getErrorCode() != EINTR) throw e;
        } finally {
            run.put(RUN_IMMEDIATE_EXIT, (byte) 0);
        }
        completions++;
    }

    /** Number of extra KVM_RUN calls made to complete a pending host I/O (the slow path), for tests and the benchmark. */
    long completions;

    private void fillInsNoop(HostVcpu v) {
        ByteBuffer run = v.run;
        int off = (int) run.getLong(RUN_IO_DATA_OFFSET);
        int size = v.pendSize, count = v.pendCount;
        // registers as the host saw them at the exit (kvm_run.s.regs is untouched since)
        long rdi = run.getLong(RUN_S_REGS + REGS_RDI);
        boolean df = (run.getLong(RUN_S_REGS + REGS_RFLAGS) & (1 << 10)) != 0;
        long esBase = run.getLong(RUN_S_SREGS + SREGS_ES + SEG_BASE);
        long amask = v.pendAddrMask;
        for (int i = 0; i < count; i++) {
            long a = esBase + ((rdi + (df ? -i : i) * (long) size) & amask);
            for (int b = 0; b < size; b++) {
                int x = readLin8(v, a + b);
                run.put(off + i * size + b, (byte) (x < 0 ? 0 : x));
            }
        }
    }

    // Segment fields in VMCS order (ES CS SS DS FS GS LDTR TR) and their places in kvm_sregs.
    private static final int[] SREG_OFF = {SREGS_ES, SREGS_CS, SREGS_SS, SREGS_DS, SREGS_FS, SREGS_GS, SREGS_LDT, SREGS_TR};

    private void fillSregs(ByteBuffer b, int base) {
        for (int i = 0; i < 8; i++) {
            int o = base + SREG_OFF[i];
            long ar = vr(GUEST_ES_AR_BYTES + 2 * i);
            b.putLong(o + SEG_BASE, vr(GUEST_ES_BASE + 2 * i));
            b.putInt(o + SEG_LIMIT, (int) vr(GUEST_ES_LIMIT + 2 * i));
            b.putShort(o + SEG_SELECTOR, (short) vr(GUEST_ES_SELECTOR + 2 * i));
            boolean unusable = (ar & (1 << 16)) != 0;
            b.put(o + SEG_TYPE, (byte) (ar & 15));
            b.put(o + SEG_S, (byte) ((ar >> 4) & 1));
            b.put(o + SEG_DPL, (byte) ((ar >> 5) & 3));
            b.put(o + SEG_PRESENT, (byte) (unusable ? 0 : (ar >> 7) & 1));
            b.put(o + SEG_AVL, (byte) ((ar >> 12) & 1));
            b.put(o + SEG_L, (byte) ((ar >> 13) & 1));
            b.put(o + SEG_DB, (byte) ((ar >> 14) & 1));
            b.put(o + SEG_G, (byte) ((ar >> 15) & 1));
            b.put(o + SEG_UNUSABLE, (byte) (unusable ? 1 : 0));
        }
        b.putLong(base + SREGS_GDT + DT_BASE, vr(GUEST_GDTR_BASE));
        b.putShort(base + SREGS_GDT + DT_LIMIT, (short) vr(GUEST_GDTR_LIMIT));
        b.putLong(base + SREGS_IDT + DT_BASE, vr(GUEST_IDTR_BASE));
        b.putShort(base + SREGS_IDT + DT_LIMIT, (short) vr(GUEST_IDTR_LIMIT));
        b.putLong(base + SREGS_CR0, vr(GUEST_CR0));
        b.putLong(base + SREGS_CR2, cr2);
        b.putLong(base + SREGS_CR3, vr(GUEST_CR3));
        // CR4.VMXE is forced on by VMX (CR4_FIXED0) but belongs to the host: the host's guest must not see it.
        b.putLong(base + SREGS_CR4, vr(GUEST_CR4) & ~(1L << 13));
        long efer = guestEfer;
        if ((vr(VM_ENTRY_CONTROLS) & VM_ENTRY_IA32E_MODE) != 0) efer |= 0x500;
        else efer &= ~0x400L;
        b.putLong(base + SREGS_EFER, efer);
        for (int i = 0; i < 4; i++) b.putLong(base + SREGS_INTERRUPT_BITMAP + 8 * i, 0);
    }

    /** Event injection (SDM 26.5 "Event Injection") through kvm_vcpu_events. */
    private void fillEvents(ByteBuffer b, int info) {
        int o = RUN_S_EVENTS;
        for (int i = 0; i < 64; i += 8) b.putLong(o + i, 0);
        long intr = vr(GUEST_INTERRUPTIBILITY_INFO);
        // <asm/kvm.h> KVM_X86_SHADOW_INT_MOV_SS = 1, KVM_X86_SHADOW_INT_STI = 2 (the VMX bits are the other way round)
        b.put(o + EV_INT_SHADOW, (byte) (((intr & GUEST_INTR_STATE_STI) != 0 ? 2 : 0) | ((intr & GUEST_INTR_STATE_MOV_SS) != 0 ? 1 : 0)));
        b.put(o + EV_NMI_MASKED, (byte) ((intr & GUEST_INTR_STATE_NMI) != 0 ? 1 : 0));
        b.putInt(o + EV_FLAGS, KVM_VCPUEVENT_VALID_SHADOW);
        if ((info & INTR_INFO_VALID_MASK) == 0) return;
        int vector = info & INTR_INFO_VECTOR_MASK;
        switch (info & INTR_INFO_INTR_TYPE_MASK) {
            case INTR_TYPE_EXT_INTR:
                b.put(o + EV_INT_INJECTED, (byte) 1); b.put(o + EV_INT_NR, (byte) vector); break;
            case INTR_TYPE_SOFT_INTR:
                b.put(o + EV_INT_INJECTED, (byte) 1); b.put(o + EV_INT_NR, (byte) vector); b.put(o + EV_INT_SOFT, (byte) 1); break;
            case INTR_TYPE_NMI_INTR:
                b.put(o + EV_NMI_INJECTED, (byte) 1); break;
            default:
                b.put(o + EV_EXC_INJECTED, (byte) 1);
                b.put(o + EV_EXC_NR, (byte) vector);
                if ((info & INTR_INFO_DELIVER_CODE_MASK) != 0) {
                    b.put(o + EV_EXC_HAS_ERROR_CODE, (byte) 1);
                    b.putInt(o + EV_EXC_ERROR_CODE, (int) vr(VM_ENTRY_EXCEPTION_ERROR_CODE));
                }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Running the guest and turning host exits into VM exits

    private void runGuest(HostVcpu v, int cpuBased) {
        ByteBuffer run = v.run;
        for (;;) {
            if (kickPending) run.put(RUN_IMMEDIATE_EXIT, (byte) 1);
            int err = 0;
            try {
                LibC.ioctl(v.fd, KVM_RUN, 0);
            } catch (LastErrorException e) {
                err = e.getErrorCode();
            }
            run.putLong(RUN_DIRTY_REGS, 0);
            linTlbPage = -1;
            if (err == EINTR) {
                run.put(RUN_IMMEDIATE_EXIT, (byte) 0);
                kickPending = false;
                HostSignals.consume();
                exitSimple(v, EXIT_REASON_EXTERNAL_INTERRUPT, 0);
                return;
            }
            if (err != 0) { lastFailure = "KVM_RUN: errno " + err; entryFailed(v); return; }
            int reason = run.getInt(RUN_EXIT_REASON);
            switch (reason) {
                case KVM_EXIT_IO:
                    if (handleIo(v, cpuBased)) return;
                    break;
                case KVM_EXIT_MMIO:
                    if (handleMmio(v)) return;
                    break;
                case KVM_EXIT_INTERNAL_ERROR:
                    if (handleInternal(v)) return;
                    break;
                case KVM_EXIT_HLT: {
                    // The host has executed the HLT (RIP past it); VMX reports it at the HLT (SDM 27.2, length 1).
                    saveState(v);
                    long rip = run.getLong(RUN_S_REGS + REGS_RIP);
                    vw(GUEST_RIP, rip - 1);
                    if ((cpuBased & CPU_BASED_VIRTUAL_INTR_PENDING) != 0 && (v.expect[17] & 0x200) != 0
                            && (vr(GUEST_INTERRUPTIBILITY_INFO) & 3) == 0) {
                        // This host checks the interrupt window only between its own exits, so an STI; HLT
                        // reaches the HLT. VMX would have exited before it (SDM 25.2 "Other Causes of VM
                        // Exits", interrupt-window exiting): report that, at the HLT, which has no other effect.
                        exitInfo(EXIT_REASON_PENDING_INTERRUPT, 0, 0);
                        return;
                    }
                    exitInfo(EXIT_REASON_HLT, 0, 1);
                    return;
                }
                case KVM_EXIT_SHUTDOWN:
                    exitSimple(v, EXIT_REASON_TRIPLE_FAULT, 0);
                    return;
                case KVM_EXIT_IRQ_WINDOW_OPEN:
                    exitSimple(v, EXIT_REASON_PENDING_INTERRUPT, 0);
                    return;
                case KVM_EXIT_INTR:
                    exitSimple(v, EXIT_REASON_EXTERNAL_INTERRUPT, 0);
                    return;
                case KVM_EXIT_FAIL_ENTRY:
                default:
                    lastFailure = "host exit " + reason + (reason == KVM_EXIT_FAIL_ENTRY
                            ? String.format(" hardware_entry_failure_reason %#x", run.getLong(RUN_FAIL_ENTRY_REASON)) : "");
                    entryFailed(v);
                    return;
            }
        }
    }

    /** VM-entry failure due to invalid guest state: exit reason 33 with bit 31 set (SDM 26.7 "VM-Entry Failures During or After Loading Guest State"). */
    /** IDT-vectoring information found by the last saveState, written by the next exitInfo. */
    private int idtVectoring;

    /** Why the last VM entry failed on the host side, in words (for diagnostics). */
    volatile String lastFailure;

    private int entryFailed(HostVcpu v) {
        v.fresh = true;
        v.pending = PEND_NONE;
        exitInfo(VMX_EXIT_REASONS_FAILED_VMENTRY | 33, 0, 0);
        return succeed();
    }

    private void exitSimple(HostVcpu v, int reason, long qual) {
        saveState(v);
        exitInfo(reason, qual, 0);
    }

    /** The exit-information fields every VM exit writes (SDM 27.2.1, 27.2.2, 27.2.3). */
    private void exitInfo(int reason, long qual, int len) {
        vw(VM_EXIT_REASON, reason);
        vw(EXIT_QUALIFICATION, qual);
        vw(VM_EXIT_INSTRUCTION_LEN, len);
        vw(VM_EXIT_INTR_INFO, 0);
        vw(VM_EXIT_INTR_ERROR_CODE, 0);
        vw(IDT_VECTORING_INFO_FIELD, idtVectoring);
        idtVectoring = 0;
        // SDM 27.2: a VM exit clears the valid bit of the VM-entry interruption-information field.
        long ei = vr(VM_ENTRY_INTR_INFO_FIELD);
        if ((ei & INTR_INFO_VALID_MASK) != 0) vw(VM_ENTRY_INTR_INFO_FIELD, ei & ~INTR_INFO_VALID_MASK);
    }

    /**
     * Saves the host vCPU's state (kvm_run.s) into the VMCS guest-state area and regs(), and records it
     * as what the host holds. Only fields whose value changed are written.
     */
    private void saveState(HostVcpu v) {
        ByteBuffer run = v.run;
        long[] e = v.expect;
        for (int i = 0; i < 16; i++) {
            long x = run.getLong(RUN_S_REGS + KVM_REG_OFF[i]);
            e[i] = x;
            if (i != RSP) regs[i] = x;
        }
        vw(GUEST_RSP, e[RSP]);
        e[16] = run.getLong(RUN_S_REGS + REGS_RIP);
        e[17] = run.getLong(RUN_S_REGS + REGS_RFLAGS);
        vw(GUEST_RIP, e[16]);
        vw(GUEST_RFLAGS, e[17]);
        int s = RUN_S_SREGS;
        cr2 = run.getLong(s + SREGS_CR2);
        long efer = run.getLong(s + SREGS_EFER);
        guestEfer = efer;
        // Segments and control registers rarely change between exits: compare the host's kvm_sregs with
        // the copy taken at the last exit, and rewrite the VMCS fields only when they differ.
        if (v.sregsSaved && v.sregsView.mismatch(v.lastSregs) == -1) {
            saveEvents(v);
            return;
        }
        v.lastSregs.put(0, v.sregsView, 0, SIZEOF_KVM_SREGS);
        v.sregsSaved = true;
        for (int i = 0; i < 8; i++) {
            int o = s + SREG_OFF[i];
            vw(GUEST_ES_BASE + 2 * i, run.getLong(o + SEG_BASE));
            vw(GUEST_ES_LIMIT + 2 * i, run.getInt(o + SEG_LIMIT) & 0xffffffffL);
            vw(GUEST_ES_SELECTOR + 2 * i, run.getShort(o + SEG_SELECTOR) & 0xffff);
            int ar;
            if (run.get(o + SEG_UNUSABLE) != 0) ar = 1 << 16;
            else ar = (run.get(o + SEG_TYPE) & 15) | (run.get(o + SEG_S) & 1) << 4 | (run.get(o + SEG_DPL) & 3) << 5
                    | (run.get(o + SEG_PRESENT) & 1) << 7 | (run.get(o + SEG_AVL) & 1) << 12 | (run.get(o + SEG_L) & 1) << 13
                    | (run.get(o + SEG_DB) & 1) << 14 | (run.get(o + SEG_G) & 1) << 15;
            vw(GUEST_ES_AR_BYTES + 2 * i, ar);
        }
        vw(GUEST_GDTR_BASE, run.getLong(s + SREGS_GDT + DT_BASE));
        vw(GUEST_GDTR_LIMIT, run.getShort(s + SREGS_GDT + DT_LIMIT) & 0xffff);
        vw(GUEST_IDTR_BASE, run.getLong(s + SREGS_IDT + DT_BASE));
        vw(GUEST_IDTR_LIMIT, run.getShort(s + SREGS_IDT + DT_LIMIT) & 0xffff);
        vw(GUEST_CR0, run.getLong(s + SREGS_CR0));
        vw(GUEST_CR3, run.getLong(s + SREGS_CR3));
        vw(GUEST_CR4, run.getLong(s + SREGS_CR4) | (vr(GUEST_CR4) & (1L << 13)));
        // SDM 27.3.1: the "IA-32e mode guest" entry control takes the value of EFER.LMA.
        long ec = vr(VM_ENTRY_CONTROLS);
        vw(VM_ENTRY_CONTROLS, (efer & 0x400) != 0 ? ec | VM_ENTRY_IA32E_MODE : ec & ~VM_ENTRY_IA32E_MODE);
        saveEvents(v);
    }

    private void saveEvents(HostVcpu v) {
        ByteBuffer run = v.run;
        int ev = RUN_S_EVENTS;
        int shadow = run.get(ev + EV_INT_SHADOW);
        int intr = ((shadow & 2) != 0 ? GUEST_INTR_STATE_STI : 0) | ((shadow & 1) != 0 ? GUEST_INTR_STATE_MOV_SS : 0)
                | (run.get(ev + EV_NMI_MASKED) != 0 ? GUEST_INTR_STATE_NMI : 0);
        vw(GUEST_INTERRUPTIBILITY_INFO, intr);
        // An event the host was still delivering when it exited: IDT-vectoring information (SDM 27.2.3).
        // Our hypervisor re-injects it, so the host's copy is replaced at the next entry.
        int idt = 0;
        if (run.get(ev + EV_EXC_INJECTED) != 0) {
            idt = INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION | (run.get(ev + EV_EXC_NR) & 0xff);
            if (run.get(ev + EV_EXC_HAS_ERROR_CODE) != 0) {
                idt |= INTR_INFO_DELIVER_CODE_MASK;
                vw(IDT_VECTORING_ERROR_CODE, run.getInt(ev + EV_EXC_ERROR_CODE) & 0xffffffffL);
            }
        } else if (run.get(ev + EV_NMI_INJECTED) != 0) {
            idt = INTR_INFO_VALID_MASK | INTR_TYPE_NMI_INTR | 2;
        } else if (run.get(ev + EV_INT_INJECTED) != 0) {
            idt = INTR_INFO_VALID_MASK | (run.get(ev + EV_INT_SOFT) != 0 ? INTR_TYPE_SOFT_INTR : INTR_TYPE_EXT_INTR)
                    | (run.get(ev + EV_INT_NR) & 0xff);
        }
        idtVectoring = idt;
        if (idt != 0) v.eventsDirty = true;
        v.sregsDirty = false;
    }

    // ---------------------------------------------------------------------------------------------
    // I/O instructions

    /** Handles KVM_EXIT_IO; false when the I/O does not cause a VM exit (I/O bitmap) and the guest goes on. */
    private boolean handleIo(HostVcpu v, int cpuBased) {
        ByteBuffer run = v.run;
        boolean in = run.get(RUN_IO_DIRECTION) == KVM_EXIT_IO_IN;
        int size = run.get(RUN_IO_SIZE);
        int port = run.getShort(RUN_IO_PORT) & 0xffff;
        int count = run.getInt(RUN_IO_COUNT);
        long rip = run.getLong(RUN_S_REGS + REGS_RIP);
        long csBase = run.getLong(RUN_S_SREGS + SREGS_CS + SEG_BASE);
        boolean rm = (run.getLong(RUN_S_SREGS + SREGS_CR0) & 1) == 0;
        int defOp = rm || run.get(RUN_S_SREGS + SREGS_CS + SEG_DB) == 0 ? 2 : 4;
        boolean lm = run.get(RUN_S_SREGS + SREGS_CS + SEG_L) != 0;
        if (lm) defOp = 4;

        if (!ioExits(cpuBased, port, size)) {
            // SDM 25.1.3: this port does not cause a VM exit; the hardware would do the I/O itself.
            // There is no device behind it here: OUT data is dropped, IN reads all ones.
            if (in) {
                int off = (int) run.getLong(RUN_IO_DATA_OFFSET);
                for (int i = 0; i < size * count; i++) run.put(off + i, (byte) 0xff);
            }
            return false;
        }

        long start;
        int insn;
        if (in || !HostKvm.outCompletesAtExit()) {
            insn = decodeIo(v, csBase + rip, defOp, lm);       // RIP is at the instruction
            start = rip;
        } else {
            // This host has finished the OUT (or one OUTS element) already: find the instruction that did it.
            long[] res = outBackwards;
            if (!findOut(v, csBase, rip, port, size, defOp, lm, res)) {
                insn = decodeIo(v, csBase + rip, defOp, lm);
                start = rip;
            } else {
                insn = (int) res[0];
                start = res[1];
            }
        }
        int len = insn & 0xf;
        boolean string = (insn & IO_STRING) != 0, rep = (insn & IO_REP) != 0, imm = (insn & IO_IMM) != 0;
        long amask = (insn & IO_A32) != 0 ? 0xffffffffL : (insn & IO_A64) != 0 ? -1L : 0xffffL;

        saveState(v);      // e[] = what the host holds right now
        long[] e = v.expect;
        vw(GUEST_RIP, start);
        long qual = (size - 1) | (in ? 8 : 0) | (string ? 16 : 0) | (rep ? 32 : 0) | (imm ? 64 : 0) | ((long) port << 16);
        exitInfo(EXIT_REASON_IO_INSTRUCTION, qual, len);

        if (string) {
            int seg = in ? 0 : (insn >>> IO_SEG_SHIFT) & 7;
            int asz = (insn & IO_A64) != 0 ? 2 : (insn & IO_A32) != 0 ? 1 : 0;
            // SDM 27.2.4, Table 27-8: address size in bits 9:7, segment register in bits 17:15
            vw(VMX_INSTRUCTION_INFO, (asz << 7) | (seg << 15));
            boolean df = (e[17] & (1 << 10)) != 0;
            if (!in && HostKvm.outCompletesAtExit()) {
                // undo the element the host already sent, so that RSI/RCX are as before the instruction
                long step = df ? -size : size;
                regs[RSI] = (regs[RSI] & ~amask) | ((regs[RSI] - step) & amask);
                if (rep) regs[RCX] = (regs[RCX] & ~amask) | ((regs[RCX] + 1) & amask);
            }
            int idx = in ? RDI : RSI;
            long segBase = vr(GUEST_ES_BASE + 2 * seg);
            vw(GUEST_LINEAR_ADDRESS, segBase + (regs[idx] & amask));
        } else {
            vw(VMX_INSTRUCTION_INFO, 0);
            vw(GUEST_LINEAR_ADDRESS, 0);
        }

        if (in) {
            v.pending = string ? PEND_INS : PEND_IN;
            v.pendSize = size;
            v.pendCount = count;
            v.pendAddrMask = amask;
            if (!string) e[16] = start + len;   // the host finishes the IN and steps over it
        } else if (!HostKvm.outCompletesAtExit()) {
            v.pending = PEND_OUT;
            e[16] = start + len;
        } else {
            v.pending = PEND_NONE;               // e[] already holds the host's state after the OUT
        }
        ioExits++;
        return true;
    }

    long ioExits;

    /** Whether an I/O access causes a VM exit (SDM 25.1.3 "Instructions That Cause VM Exits Conditionally"). */
    private boolean ioExits(int cpuBased, int port, int size) {
        if ((cpuBased & CPU_BASED_USE_IO_BITMAPS) == 0) return (cpuBased & CPU_BASED_UNCOND_IO_EXITING) != 0;
        for (int p = port; p < port + size; p++) {
            if (p > 0xffff) return true;
            long bm = vr(p < 0x8000 ? IO_BITMAP_A : IO_BITMAP_B);
            int bit = p & 0x7fff;
            if ((mem.read8(bm + (bit >>> 3)) & (1 << (bit & 7))) != 0) return true;
        }
        return false;
    }

    // decodeIo result: bits 3:0 length, then flags
    static final int IO_STRING = 1 << 4, IO_REP = 1 << 5, IO_IMM = 1 << 6, IO_A32 = 1 << 7, IO_A64 = 1 << 8,
            IO_OP = 1 << 9, IO_SEG_SHIFT = 12, IO_VALID = 1 << 16;

    /**
     * Decodes an I/O instruction at a linear address (prefixes 66/67/F2/F3/F0, segment overrides, REX in
     * 64-bit mode; opcodes E4-E7, EC-EF, 6C-6F). Returns length and flags, or 0 when it is not one.
     */
    private int decodeIo(HostVcpu v, long lin, int defOp, boolean lm) {
        int flags = 0, seg = 3, len = 0;
        boolean opsz = false, adsz = false;
        for (; len < 15; len++) {
            int b = readLin8(v, lin + len);
            if (b < 0) return 0;
            switch (b) {
                case 0x66: opsz = true; continue;
                case 0x67: adsz = true; continue;
                case 0xf2: case 0xf3: flags |= IO_REP; continue;
                case 0xf0: continue;
                case 0x26: seg = 0; continue;
                case 0x2e: seg = 1; continue;
                case 0x36: seg = 2; continue;
                case 0x3e: seg = 3; continue;
                case 0x64: seg = 4; continue;
                case 0x65: seg = 5; continue;
                default:
            }
            if (lm && (b & 0xf0) == 0x40) continue;
            len++;
            if (opsz) flags |= IO_OP;
            if (b >= 0xe4 && b <= 0xe7) { flags |= IO_IMM; len++; flags &= ~IO_REP; }
            else if (b >= 0xec && b <= 0xef) flags &= ~IO_REP;
            else if (b >= 0x6c && b <= 0x6f) flags |= IO_STRING;
            else return 0;
            break;
        }
        if (lm) flags |= adsz ? IO_A32 : IO_A64;
        else if ((defOp == 4) != adsz) flags |= IO_A32;
        return len | flags | (seg << IO_SEG_SHIFT) | IO_VALID;
    }

    private final long[] outBackwards = new long[2];

    /**
     * Finds the OUT/OUTS that the host has already executed, ending at {@code rip} (or, for a REP OUTS
     * still in progress, starting at it). The candidates are checked against what the host reported:
     * the port (immediate byte or DX), the size, and the data (AL/AX/EAX, or the memory the element came
     * from). Prefixes are taken only as far as they are needed or consistent, so a redundant prefix
     * before an OUT is not counted in the length.
     */
    private boolean findOut(HostVcpu v, long csBase, long rip, int port, int size, int defOp, boolean lm, long[] res) {
        ByteBuffer run = v.run;
        int data = pioData(run, size);
        long rax = run.getLong(RUN_S_REGS + REGS_RAX);
        long rdx = run.getLong(RUN_S_REGS + REGS_RDX);
        long lin = csBase + rip;
        // bytes before RIP are read only as far as a candidate needs them (they may lie on another page)
        int b1 = readLin8(v, lin - 1);
        boolean dataIsAx = data == (int) (rax & sizeMask(size));
        // out imm8, AL/AX/EAX
        if (dataIsAx && port < 256 && b1 == port) {
            int b2 = readLin8(v, lin - 2);
            if (b2 == 0xe6 || b2 == 0xe7) {
                int need = needOpsize(b2 == 0xe6, size, defOp);
                if (need == 0) { res[0] = 2 | IO_IMM | IO_VALID; res[1] = rip - 2; return true; }
                if (need == 1 && readLin8(v, lin - 3) == 0x66) { res[0] = 3 | IO_IMM | IO_VALID; res[1] = rip - 3; return true; }
            }
        }
        // out DX, AL/AX/EAX
        if (dataIsAx && (rdx & 0xffff) == port && (b1 == 0xee || b1 == 0xef)) {
            int need = needOpsize(b1 == 0xee, size, defOp);
            if (need == 0) { res[0] = 1 | IO_VALID; res[1] = rip - 1; return true; }
            if (need == 1 && readLin8(v, lin - 2) == 0x66) { res[0] = 2 | IO_VALID; res[1] = rip - 2; return true; }
        }
        if ((rdx & 0xffff) != port) return false;
        // REP OUTS still in progress: RIP is at the instruction
        int fwd = decodeIo(v, lin, defOp, lm);
        if ((fwd & IO_VALID) != 0 && (fwd & IO_STRING) != 0 && (fwd & IO_REP) != 0 && outsDataMatches(v, fwd, size, data)) {
            res[0] = fwd; res[1] = rip; return true;
        }
        // OUTS that has finished: opcode just before RIP, prefixes before it
        if (b1 == 0x6e || b1 == 0x6f) {
            for (int np = 4; np >= 0; np--) {
                boolean ok = true;
                for (int k = 2; k <= np + 1 && ok; k++) {
                    int p = readLin8(v, lin - k);
                    ok = p == 0x66 || p == 0x67 || p == 0xf2 || p == 0xf3 || p == 0x26 || p == 0x2e || p == 0x36
                            || p == 0x3e || p == 0x64 || p == 0x65 || (lm && (p & 0xf0) == 0x40);
                }
                if (!ok) continue;
                int cand = decodeIo(v, lin - np - 1, defOp, lm);
                if ((cand & 0xf) != np + 1 || (cand & IO_STRING) == 0) continue;
                int opSize = b1 == 0x6e ? 1 : ((cand & IO_OP) != 0 ? 6 - defOp : defOp);
                if (opSize != size) continue;
                if (!outsDataMatches(v, cand, size, data)) continue;
                res[0] = cand; res[1] = rip - np - 1;
                return true;
            }
        }
        return false;
    }

    /** 0: the opcode gives this size without a prefix; 1: it needs an operand-size prefix; -1: impossible. */
    private static int needOpsize(boolean byteOp, int size, int defOp) {
        if (byteOp) return size == 1 ? 0 : -1;
        if (size == 1) return -1;
        return size == defOp ? 0 : 1;
    }

    private static long sizeMask(int size) { return size == 1 ? 0xff : size == 2 ? 0xffff : 0xffffffffL; }

    private static int pioData(ByteBuffer run, int size) {
        int off = (int) run.getLong(RUN_IO_DATA_OFFSET);
        return size == 1 ? run.get(off) & 0xff : size == 2 ? run.getShort(off) & 0xffff : run.getInt(off);
    }

    /** The element an OUTS sent came from seg:(RSI - size) (RSI already advanced by the host). */
    private boolean outsDataMatches(HostVcpu v, int insn, int size, int data) {
        ByteBuffer run = v.run;
        int seg = (insn >>> IO_SEG_SHIFT) & 7;
        long segBase = run.getLong(RUN_S_SREGS + SREG_OFF[seg] + SEG_BASE);
        long rsi = run.getLong(RUN_S_REGS + REGS_RSI);
        boolean df = (run.getLong(RUN_S_REGS + REGS_RFLAGS) & (1 << 10)) != 0;
        long amask = (insn & IO_A32) != 0 ? 0xffffffffL : (insn & IO_A64) != 0 ? -1L : 0xffffL;
        long a = segBase + ((rsi - (df ? -size : size)) & amask);
        int x = 0;
        for (int i = 0; i < size; i++) {
            int b = readLin8(v, a + i);
            if (b < 0) return false;
            x |= b << (8 * i);
        }
        return x == data;
    }

    // ---------------------------------------------------------------------------------------------
    // Guest memory and EPT

    /** Result of an EPT walk: host-physical address, or -1 when not present; perms gets the R/W/X AND of the entries. */
    private long eptWalk(long root, long gpa, int[] perms) {
        if (root == NO_EPT) { perms[0] = 7; return mem.regionAtHpa(gpa) != null ? gpa : -1; }
        long table = root;
        int p = 7;
        for (int level = 4; level >= 1; level--) {
            int idx = (int) ((gpa >>> (12 + 9 * (level - 1))) & 511);
            long ent = mem.read64(table + idx * 8L);
            if (ent == -1L && mem.regionAtHpa(table) == null) { perms[0] = 0; return -1; }
            p &= (int) (ent & 7);
            if ((ent & 7) == 0) { perms[0] = 0; return -1; }
            if (level == 1 || (level <= 3 && (ent & VMX_EPT_LARGE_PAGE) != 0)) {
                long pageMask = (1L << (12 + 9 * (level - 1))) - 1;
                perms[0] = p;
                return (ent & EPT_ADDR_MASK & ~pageMask) | (gpa & pageMask);
            }
            table = ent & EPT_ADDR_MASK;
        }
        perms[0] = 0;
        return -1;
    }

    private final int[] perms = new int[1];

    private int eptPerms(HostVcpu v, long gpa) {
        eptWalk(v.vm.eptRoot, gpa, perms);
        return perms[0];
    }

    /** One byte of guest memory at a guest-linear address: guest paging (if on), then the EPT; -1 if unmapped. */
    private int readLin8(HostVcpu v, long lin) {
        long gpa = linToGpa(v, lin);
        return gpa < 0 ? -1 : readGuest8(v, gpa);
    }

    // one-entry cache of the guest's own translation, dropped at every exit
    private long linTlbPage = -1, linTlbGpa;

    /**
     * Guest-linear to guest-physical through the guest's page tables (SDM 4 "Paging": 32-bit, PAE and
     * 4-level; large pages), read through the EPT; the paging state is the host's (kvm_run.s.sregs).
     * The identity when CR0.PG is clear. -1 when a level is not present.
     */
    private long linToGpa(HostVcpu v, long lin) {
        ByteBuffer run = v.run;
        long cr0 = run.getLong(RUN_S_SREGS + SREGS_CR0);
        if ((cr0 & 0x80000000L) == 0) return lin & 0xffffffffL;
        long page = lin & HostMemory.PAGE_MASK;
        if (page == linTlbPage) return linTlbGpa | (lin & 0xfff);
        long cr3 = run.getLong(RUN_S_SREGS + SREGS_CR3), cr4 = run.getLong(RUN_S_SREGS + SREGS_CR4);
        long efer = run.getLong(RUN_S_SREGS + SREGS_EFER);
        long gpa;
        final long addr = 0x000ffffffffff000L;
        if ((efer & 0x400) != 0 || (cr4 & 0x20) != 0) {
            boolean lma = (efer & 0x400) != 0;
            long table;
            int level;
            if (lma) { table = cr3 & addr; level = 4; }
            else {
                long pdpte = readGuest64(v, (cr3 & 0xffffffe0L) + ((lin >>> 30) & 3) * 8);
                if (pdpte == -1 || (pdpte & 1) == 0) return -1;
                table = pdpte & addr; level = 2;
            }
            for (;; level--) {
                long e = readGuest64(v, table + ((lin >>> (12 + 9 * (level - 1))) & 511) * 8);
                if (e == -1 || (e & 1) == 0) return -1;
                if (level == 1 || (level <= 3 && (e & 0x80) != 0)) {
                    long mask = (1L << (12 + 9 * (level - 1))) - 1;
                    gpa = (e & addr & ~mask) | (lin & mask);
                    break;
                }
                table = e & addr;
            }
        } else {
            long pde = readGuest32(v, (cr3 & 0xfffff000L) + ((lin >>> 22) & 1023) * 4);
            if (pde < 0 || (pde & 1) == 0) return -1;
            if ((pde & 0x80) != 0 && (cr4 & 0x10) != 0) gpa = (pde & 0xffc00000L) | (lin & 0x3fffff);
            else {
                long pte = readGuest32(v, (pde & 0xfffff000L) + ((lin >>> 12) & 1023) * 4);
                if (pte < 0 || (pte & 1) == 0) return -1;
                gpa = (pte & 0xfffff000L) | (lin & 0xfff);
            }
        }
        linTlbPage = page;
        linTlbGpa = gpa & HostMemory.PAGE_MASK;
        return gpa;
    }

    private long readGuest64(HostVcpu v, long gpa) {
        long x = 0;
        for (int i = 0; i < 8; i++) {
            int b = readGuest8(v, gpa + i);
            if (b < 0) return -1;
            x |= (long) b << (8 * i);
        }
        return x;
    }

    private long readGuest32(HostVcpu v, long gpa) {
        long x = 0;
        for (int i = 0; i < 4; i++) {
            int b = readGuest8(v, gpa + i);
            if (b < 0) return -1;
            x |= (long) b << (8 * i);
        }
        return x;
    }

    /** One byte of guest memory at a guest-physical address through the EPT, or -1. */
    private int readGuest8(HostVcpu v, long gpa) {
        long page = gpa & HostMemory.PAGE_MASK;
        if (page != tlbGpaPage || tlbRoot != v.vm.eptRoot) {
            long hpa = eptWalk(v.vm.eptRoot, page, perms);
            if (hpa < 0 || (perms[0] & 1) == 0) return -1;
            HostMemory.Region r = mem.regionAtHpa(hpa);
            if (r == null) return -1;
            tlbBuf = r.buf;
            tlbOff = (int) (hpa - r.hpa);
            tlbGpaPage = page;
            tlbRoot = v.vm.eptRoot;
        }
        return tlbBuf.get(tlbOff + (int) (gpa & 0xfff)) & 0xff;
    }

    /**
     * Maps the run of pages around {@code gpa} that the EPT maps contiguously into one HostMemory region
     * (gpa and hpa both contiguous, same write permission) as one host memslot. False when the EPT does
     * not map gpa to memory this host has.
     */
    private boolean mapAround(HostVcpu v, long gpa) {
        HostVm vm = v.vm;
        long page = gpa & HostMemory.PAGE_MASK;
        long hpa = eptWalk(vm.eptRoot, page, perms);
        if (hpa < 0) return false;
        int p = perms[0];
        HostMemory.Region r = mem.regionAtHpa(hpa);
        if (r == null) return false;
        if (vm.hasSlot(page)) return false;
        boolean ro = (p & 2) == 0;
        if (ro && !HostKvm.readonlyMemory()) return false;
        long lo = page, hi = page + HostMemory.PAGE_SIZE;
        long limitHi = vm.nextSlotAbove(page), limitLo = vm.prevSlotEnd(page);
        final int maxPages = 4096;
        for (int n = 0; n < maxPages && hi < limitHi; n++) {
            long h = eptWalk(vm.eptRoot, hi, perms);
            if (h != hpa + (hi - page) || ((perms[0] & 2) == 0) != ro || (perms[0] & 1) == 0 || !r.containsHpa(h + HostMemory.PAGE_SIZE - 1)) break;
            hi += HostMemory.PAGE_SIZE;
        }
        for (int n = 0; n < maxPages && lo - HostMemory.PAGE_SIZE >= limitLo && lo > 0; n++) {
            long g = lo - HostMemory.PAGE_SIZE;
            long h = eptWalk(vm.eptRoot, g, perms);
            if (h != hpa - (page - g) || ((perms[0] & 2) == 0) != ro || (perms[0] & 1) == 0 || !r.containsHpa(h)) break;
            lo = g;
        }
        long va = r.va + (hpa - (page - lo) - r.hpa);
        vm.addSlot(lo, hi - lo, va, ro);
        slotsAdded++;
        return true;
    }

    long slotsAdded;

    /** KVM_EXIT_MMIO: either memory the EPT maps (add a memslot, finish the access, go on) or an EPT violation. */
    private boolean handleMmio(HostVcpu v) {
        ByteBuffer run = v.run;
        long gpa = run.getLong(RUN_MMIO_PHYS_ADDR);
        int len = run.getInt(RUN_MMIO_LEN);
        boolean write = run.get(RUN_MMIO_IS_WRITE) != 0;
        if (mapAround(v, gpa)) {
            // The page is memory after all: do the access here; the host completes the instruction.
            for (int i = 0; i < len; i++) {
                long h = eptWalk(v.vm.eptRoot, gpa + i, perms);
                if (write) mem.write8(h, run.get(RUN_MMIO_DATA + i));
                else run.put(RUN_MMIO_DATA + i, (byte) mem.read8(h));
            }
            return false;
        }
        long mapped = eptWalk(v.vm.eptRoot, gpa, perms);
        int p = perms[0];
        if (mapped >= 0 && mem.regionAtHpa(mapped) == null && (p & (write ? 2 : 1)) != 0) {
            // The EPT allows it, but there is no memory behind that host-physical address: like a bus with
            // nothing on it, reads return all ones and writes are dropped.
            if (!write) for (int i = 0; i < len; i++) run.put(RUN_MMIO_DATA + i, (byte) 0xff);
            return false;
        }
        // Save the state as it is before the instruction completes (for a read the host has not executed it).
        saveState(v);
        long preRip = vr(GUEST_RIP);
        if (write) {
            // The host has executed the store already (RIP past it): find where it started.
            long start = findStore(v, vr(GUEST_CS_BASE), preRip, gpa, len);
            if (start >= 0) vw(GUEST_RIP, start);
        }
        // Let the host finish the access without entering the guest, then make it re-execute from our state.
        run.put(RUN_IMMEDIATE_EXIT, (byte) 1);
        try {
            LibC.ioctl(v.fd, KVM_RUN, 0);
        } catch (LastErrorException ex) {
            if (ex.getErrorCode() != EINTR) throw ex;
        } finally {
            run.put(RUN_IMMEDIATE_EXIT, (byte) 0);
        }
        completions++;
        v.pending = PEND_NONE;
        v.expect[16] = -1;      // force a register push at the next entry
        eptViolation(gpa, (write ? 2 : 1) | (p << 3), -2);
        return true;
    }

    /** EPT violation (SDM 27.2.1, Table 27-7); {@code linear} -1 when the guest-linear address is not known. */
    private void eptViolation(long gpa, long qual, long linear) {
        if (linear == -2) linear = (vr(GUEST_CR0) & 0x80000000L) == 0 ? gpa : -1;
        if (linear != -1) {
            qual |= (1 << 7) | (1 << 8);      // guest-linear address valid, access to its translation
            vw(GUEST_LINEAR_ADDRESS, linear);
        }
        vw(GUEST_PHYSICAL_ADDRESS, gpa);
        exitInfo(EXIT_REASON_EPT_VIOLATION, qual, 0);
    }

    /**
     * Where the store that the host has already executed started, for an EPT violation on a write: this
     * host reports an MMIO write after the instruction is done (RIP past it). Candidates ending at
     * {@code rip} (or, for a REP string store still in progress, starting at it) are decoded and kept
     * only if their effective address, computed from the registers before the instruction, is the
     * written address and their operand size is the access length. Forms: MOV r/m,r (88/89), MOV r/m,imm
     * (C6/C7), MOV moffs (A2/A3), MOV r/m,Sreg (8C), STOS (AA/AB), MOVS (A4/A5), with 16- and 32-bit
     * addressing and the 66/67/segment/REP prefixes. Registers a string store advanced are put back in
     * regs(). Returns -1 when nothing fits (GUEST_RIP then stays past the instruction).
     */
    private long findStore(HostVcpu v, long csBase, long rip, long gpa, int len) {
        long lin = csBase + rip;
        if (decodeStore(v, lin, gpa, len, true) > 0) { undoStringStore(); return rip; }
        for (int l = 1; l <= 15; l++) {
            if (decodeStore(v, lin - l, gpa, len, false) == l) { undoStringStore(); return rip - l; }
        }
        return -1;
    }

    // decodeStore's findings for the string forms: which index registers to step back, by how much
    private int storeStringSize;
    private boolean storeStringMovs, storeStringRep;
    private long storeAddrMask;

    private void undoStringStore() {
        if (storeStringSize == 0) return;
        boolean df = (vr(GUEST_RFLAGS) & (1 << 10)) != 0;
        long step = df ? -storeStringSize : storeStringSize, m = storeAddrMask;
        regs[RDI] = (regs[RDI] & ~m) | ((regs[RDI] - step) & m);
        if (storeStringMovs) regs[RSI] = (regs[RSI] & ~m) | ((regs[RSI] - step) & m);
        if (storeStringRep) regs[RCX] = (regs[RCX] & ~m) | ((regs[RCX] + 1) & m);
    }

    /** Decodes a store at {@code at}; its length if it writes {@code len} bytes at {@code gpa}, else -1. */
    private int decodeStore(HostVcpu v, long at, long gpa, int len, boolean repOnly) {
        storeStringSize = 0;
        boolean lm = (vr(GUEST_CS_AR_BYTES) & (1 << 13)) != 0 && (vr(VM_ENTRY_CONTROLS) & VM_ENTRY_IA32E_MODE) != 0;
        boolean pm = (vr(GUEST_CR0) & 1) != 0;
        boolean d = lm || (pm && (vr(GUEST_CS_AR_BYTES) & (1 << 14)) != 0);
        boolean opsz = false, adsz = false, rep = false, rexW = false;
        int rex = 0;
        int seg = -1, k = 0, op;
        for (;; k++) {
            if (k >= 15) return -1;
            op = readLin8(v, at + k);
            if (op < 0) return -1;
            if (op == 0x66) opsz = true;
            else if (op == 0x67) adsz = true;
            else if (op == 0xf2 || op == 0xf3) rep = true;
            else if (op == 0x26 || op == 0x2e || op == 0x36 || op == 0x3e) seg = (op >> 3) & 3;
            else if (op == 0x64 || op == 0x65) seg = op - 0x60;
            else if (lm && (op & 0xf0) == 0x40) { rexW = (op & 8) != 0; rex = op; }
            else break;
        }
        k++;
        int osize = rexW ? 8 : (d != opsz) ? 4 : 2;
        boolean a32 = lm ? !adsz : (d != adsz);
        long amask = lm && !adsz ? -1L : a32 ? 0xffffffffL : 0xffffL;
        int size;
        long ea;
        int defSeg = 3;
        switch (op) {
            case 0xaa: case 0xab: case 0xa4: case 0xa5: {
                if (repOnly && !rep) return -1;
                size = (op & 1) == 0 ? 1 : osize;
                boolean df = (vr(GUEST_RFLAGS) & (1 << 10)) != 0;
                long di = (regs[RDI] - (df ? -size : size)) & amask;
                if (size != len || linToGpa(v, vr(GUEST_ES_BASE) + di) != gpa) return -1;
                storeStringSize = size;
                storeStringMovs = op == 0xa4 || op == 0xa5;
                storeStringRep = rep;
                storeAddrMask = amask;
                return k;
            }
            default:
                if (repOnly) return -1;
        }
        switch (op) {
            case 0xa2: case 0xa3: {
                size = op == 0xa2 ? 1 : osize;
                int dl = lm && !adsz ? 8 : a32 ? 4 : 2;
                long disp = 0;
                for (int i = 0; i < dl; i++) {
                    int b = readLin8(v, at + k + i);
                    if (b < 0) return -1;
                    disp |= (long) b << (8 * i);
                }
                ea = segBase(seg < 0 ? defSeg : seg) + (disp & amask);
                k += dl;
                break;
            }
            case 0x88: case 0x89: case 0x8c: case 0xc6: case 0xc7: {
                size = op == 0x88 || op == 0xc6 ? 1 : op == 0x8c ? 2 : osize;
                int modrm = readLin8(v, at + k);
                if (modrm < 0 || (modrm >> 6) == 3) return -1;
                if ((op == 0xc6 || op == 0xc7) && ((modrm >> 3) & 7) != 0) return -1;
                long[] m = modrmEa;
                if (!modrmEa(v, at + k, a32, lm, rex, m)) return -1;
                k += (int) m[1];
                if (op == 0xc6) k += 1;
                else if (op == 0xc7) k += size == 2 ? 2 : 4;
                // 64-bit mode: RIP-relative addresses count from the end of the instruction
                long off = m[3] != 0 ? at + k - vr(GUEST_CS_BASE) + m[0] : m[0];
                ea = (lm && seg != 4 && seg != 5 ? 0 : segBase(seg < 0 ? (int) m[2] : seg)) + (off & amask);
                break;
            }
            default:
                return -1;
        }
        if (size != len || linToGpa(v, ea) != gpa) return -1;
        return k;
    }

    private final long[] modrmEa = new long[4];

    private long segBase(int seg) { return vr(GUEST_ES_BASE + 2 * seg); }

    /**
     * Effective address (out[0]; the displacement alone when out[3] says RIP-relative), ModRM+SIB+displacement
     * length (out[1]) and default segment (out[2]) of a memory ModRM; {@code rex} extends base and index in 64-bit mode.
     */
    private boolean modrmEa(HostVcpu v, long at, boolean a32, boolean lm, int rex, long[] out) {
        out[3] = 0;
        int modrm = readLin8(v, at);
        int mod = modrm >> 6, rm = modrm & 7;
        int n = 1;
        long ea;
        int seg = 3;
        if (!a32) {
            long bx = regs[RBX] & 0xffff, bp = regs[RBP] & 0xffff, si = regs[RSI] & 0xffff, di = regs[RDI] & 0xffff;
            switch (rm) {
                case 0: ea = bx + si; break;
                case 1: ea = bx + di; break;
                case 2: ea = bp + si; seg = 2; break;
                case 3: ea = bp + di; seg = 2; break;
                case 4: ea = si; break;
                case 5: ea = di; break;
                case 6: if (mod == 0) { ea = 0; } else { ea = bp; seg = 2; } break;
                default: ea = bx;
            }
            int dl = mod == 1 ? 1 : mod == 2 || (mod == 0 && rm == 6) ? 2 : 0;
            long disp = readDisp(v, at + n, dl);
            if (disp == Long.MIN_VALUE) return false;
            ea += disp;
            n += dl;
            out[0] = ea & 0xffff;
        } else {
            long base = 0;
            if (rm == 4) {
                int sib = readLin8(v, at + n);
                if (sib < 0) return false;
                n++;
                int scale = sib >> 6, idx = (sib >> 3) & 7, b = sib & 7;
                if (b == 5 && mod == 0) { long d32 = readDisp(v, at + n, 4); if (d32 == Long.MIN_VALUE) return false; base = d32; n += 4; }
                else { base = reg(b | (rex & 1) << 3, lm); if (b == 4 || b == 5) seg = 2; }
                int x = idx | (rex & 2) << 2;
                if (x != 4) base += reg(x, lm) << scale;
            } else if (rm == 5 && mod == 0) {
                long d32 = readDisp(v, at + n, 4);
                if (d32 == Long.MIN_VALUE) return false;
                base = d32;
                n += 4;
                if (lm) out[3] = 1;
            } else {
                base = reg(rm | (rex & 1) << 3, lm);
                if (rm == 5) seg = 2;
            }
            int dl = mod == 1 ? 1 : mod == 2 ? 4 : 0;
            long disp = readDisp(v, at + n, dl);
            if (disp == Long.MIN_VALUE) return false;
            n += dl;
            out[0] = lm ? base + disp : (base + disp) & 0xffffffffL;
        }
        out[1] = n;
        out[2] = seg;
        return true;
    }

    /** A register by its ModRM number (RAX RCX RDX RBX RSP RBP RSI RDI R8-R15); 32 bits outside 64-bit mode. */
    private long reg(int r, boolean lm) {
        // the ModRM register numbers are the VCPU_REGS indices
        long x = r == RSP ? vr(GUEST_RSP) : regs[r];
        return lm ? x : x & 0xffffffffL;
    }

    /** A sign-extended displacement of 0, 1, 2 or 4 bytes; Long.MIN_VALUE when unreadable. */
    private long readDisp(HostVcpu v, long at, int n) {
        long x = 0;
        for (int i = 0; i < n; i++) {
            int b = readLin8(v, at + i);
            if (b < 0) return Long.MIN_VALUE;
            x |= (long) b << (8 * i);
        }
        if (n == 1) return (byte) x;
        if (n == 2) return (short) x;
        if (n == 4) return (int) x;
        return x;
    }

    /** KVM_EXIT_INTERNAL_ERROR: an instruction fetch from memory the host has no slot for, or something it cannot emulate. */
    private boolean handleInternal(HostVcpu v) {
        ByteBuffer run = v.run;
        if (run.getInt(RUN_INTERNAL_SUBERROR) == KVM_INTERNAL_ERROR_EMULATION) {
            long csBase = run.getLong(RUN_S_SREGS + SREGS_CS + SEG_BASE);
            long rip = run.getLong(RUN_S_REGS + REGS_RIP);
            long fetch = csBase + rip;
            // the instruction may straddle into the next page
            for (int k = 0; k < 2; k++) {
                long lin = k == 0 ? fetch : (fetch | 0xfff) + 1;
                if (k == 1 && ((fetch + 14) & HostMemory.PAGE_MASK) == (fetch & HostMemory.PAGE_MASK)) break;
                long a = linToGpa(v, lin);
                if (a < 0) break;      // not mapped by the guest itself: not an EPT matter
                if (!v.vm.hasSlot(a & HostMemory.PAGE_MASK)) {
                    if (mapAround(v, a)) return false;
                    eptWalk(v.vm.eptRoot, a, perms);
                    saveState(v);
                    v.pending = PEND_NONE;
                    eptViolation(a, 4 | (perms[0] << 3), lin);
                    return true;
                }
            }
        }
        // Nothing the EPT explains: the instruction cannot be run here. Report #UD at it (SDM 27.2.2).
        saveState(v);
        v.pending = PEND_NONE;
        exitInfo(EXIT_REASON_EXCEPTION_NMI, 0, 0);
        vw(VM_EXIT_INTR_INFO, INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION | 6);
        return true;
    }

    // ---------------------------------------------------------------------------------------------

    /** From any thread: the running (or next) KVM_RUN of this processor returns with an external-interrupt exit. */
    @Override public void kick() {
        kickPending = true;
        synchronized (kickLock) {
            HostVcpu v = running;
            if (v != null) {
                v.run.put(RUN_IMMEDIATE_EXIT, (byte) 1);
                HostSignals.kick(runningThread);
            }
        }
    }

    @Override public void close() {
        synchronized (machine) {
            for (HostVcpu v : machine.vcpus.values()) v.close();
            machine.vcpus.clear();
            for (HostVm vm : machine.vms.values()) vm.close();
            machine.vms.clear();
        }
        curVcpu = null;
    }
}
