package kvmkmod.hw.soft;

import kvmkmod.hw.HostMemory;

import java.nio.ByteBuffer;
import java.util.concurrent.locks.LockSupport;

import static kvmkmod.hw.VmxArch.*;
import static kvmkmod.hw.soft.SoftArch.*;

/**
 * The x86 execution engine of the soft CPU: one logical processor running guest code in VMX non-root
 * operation. It holds the guest's architectural state while the guest runs (the VMCS guest-state area
 * is loaded into it at VM entry and saved from it at VM exit, by {@link SoftCpu}), fetches and executes
 * instructions, translates every guest-physical access through EPT, and stops with a VM exit recorded
 * in its exit fields.
 *
 * <p>Decoding is parameterised by operand size and address size (2, 4, later 8 bytes), so 16-bit,
 * 32-bit and later 64-bit code share one set of handlers. Arithmetic flags are kept lazily (the
 * operands and result of the last flag-setting operation) and computed when read. The hot loop
 * allocates nothing: VM exits and guest faults unwind an instruction through two preallocated
 * stackless exceptions, which never leave this class's run loop. Code that runs often is decoded once
 * into blocks by {@link SoftDecodeCache}; {@link #step()} decodes everything else each time.
 */
final class SoftCore {
    /** Unwinds the current instruction because the guest takes a VM exit (exit fields are set). */
    static final class VmExitSignal extends RuntimeException {
        VmExitSignal() { super(null, null, false, false); }
    }

    /** Unwinds the current instruction because it raised an exception in the guest. */
    static final class FaultSignal extends RuntimeException {
        int vector, errorCode;
        boolean hasError;
        /** The faulting linear address of a #PF (CR2, or the exit qualification). */
        long address;
        FaultSignal() { super(null, null, false, false); }
    }

    private final VmExitSignal exitSignal = new VmExitSignal();
    private final FaultSignal faultSignal = new FaultSignal();

    final HostMemory mem;
    /** General-purpose registers in VCPU_REGS order; the array of {@link SoftCpu#regs()}. */
    final long[] R;

    /** Pre-decoded guest code (see {@link SoftDecodeCache}). */
    final SoftDecodeCache blocks = new SoftDecodeCache(this);

    SoftCore(HostMemory mem, long[] regs) {
        this.mem = mem;
        this.R = regs;
        flushTlb();
    }

    // ---------------------------------------------------------------- architectural state

    long rip;
    long eflags = 2;
    long cr0, cr2, cr3, cr4, efer;
    /** DR0-DR7 (DR4/DR5 unused); DR6 and DR7 start at their reset values (SDM 17.2 "Debug Registers"). */
    final long[] dr = {0, 0, 0, 0, 0, 0, 0xffff0ff0L, 0x400L};
    final int[] sel = new int[8];
    final long[] base = new long[8];
    final int[] limit = new int[8];
    final int[] ar = new int[8];
    long gdtBase, idtBase;
    int gdtLimit, idtLimit;
    long sysenterCs, sysenterEsp, sysenterEip;
    /** Guest interruptibility state (SDM 24.4.2): bit 0 blocking by STI, bit 1 blocking by MOV SS. */
    int interruptibility;
    /** Activity state (SDM 24.4.2): 0 active, 1 HLT, 2 shutdown, 3 wait-for-SIPI. */
    int activity;
    /** Retired instructions: the deterministic time base of RDTSC. */
    long icount;

    // ---------------------------------------------------------------- VM-execution controls (loaded at entry)

    int pinControls, procControls, proc2Controls, exceptionBitmap;
    long cr0Mask, cr4Mask, cr0Shadow, cr4Shadow;
    long ioBitmapA, ioBitmapB, msrBitmap, tscOffset, eptp;
    /** PAUSE-loop exiting: PLE_Gap and PLE_Window, the last PAUSE at CPL 0 and the first of its loop (-1: none since entry). */
    long pleGap, pleWindow, pleLast = -1, pleFirst;
    int cr3TargetCount;
    int pfecMask, pfecMatch;
    final long[] cr3Targets = new long[4];
    boolean eptOn, unrestricted;
    /** The APIC-access page when "virtualize APIC accesses" is on, else -1. */
    long apicAccessPage = -1;
    /** Whether the processor supports 2-MByte EPT pages (IA32_VMX_EPT_VPID_CAP bit 16). */
    boolean ept2mPages = true;

    // ---------------------------------------------------------------- exit information (read by SoftCpu)

    int exitReason;
    long exitQual;
    int exitInstrLen, exitInstrInfo;
    long exitGpa = 0, exitGla;
    boolean exitGpaValid, exitGlaValid;
    int exitIntrInfo, exitIntrError;
    int idtVectoringInfo, idtVectoringError;
    /** A sentence saying why the guest stopped, when the reason needs explaining (shutdown, unsupported). */
    String exitNote;

    /** Set by another thread to make the guest take an external-interrupt exit. */
    volatile boolean kicked;
    volatile Thread runner;

    // ---------------------------------------------------------------- mode and decode state

    boolean realMode, v86, code32, stack32, code64, longMode;
    long ipMask = 0xffff, spMask = 0xffff;
    /** Linear addresses are 32 bits wide outside 64-bit mode. */
    long linMask = 0xffffffffL;
    /**
     * Segment bases as address computations use them: in 64-bit mode ES, CS, SS and DS have base 0
     * whatever their descriptor says (SDM 3.2.4 "Segmentation in IA-32e Mode").
     */
    final long[] ebase = new long[8];
    /** The REX prefix of the current instruction (0 if none); any REX makes SPL..DIL addressable. */
    int rex;
    boolean rexByte;
    long ip0, pc;
    int osz, asz, segOv, rep;
    int mrMod, mrReg, mrRm;
    long ea, eaOff;
    int eaSeg, eaBase, eaIndex, eaScale;
    /** Interrupt shadow bookkeeping: the shadow covers exactly the instruction after STI / MOV SS. */
    private boolean attention, shadowFresh;
    /** Nesting of event delivery (for #DF and triple fault). */
    private int deliveryDepth;
    private int deliveringInfo, deliveringError;

    /** Recomputes the execution mode from CR0, RFLAGS.VM and the CS/SS attributes. */
    private int lastCpl;

    void updateMode() {
        dropFetchWindow(); // CS base or mode may have changed
        int c = (cr0 & CR0_PE) == 0 ? 0 : (eflags & VM) != 0 ? 3 : (ar[SS] >> 5) & 3;
        if (c != lastCpl) { lastCpl = c; flushTlb(); } // cached permissions depend on the privilege level
        realMode = (cr0 & CR0_PE) == 0;
        longMode = (efer & EFER_LMA) != 0;
        v86 = !realMode && !longMode && (eflags & VM) != 0;
        boolean prot = !realMode && !v86;
        code64 = prot && longMode && (ar[CS] & 0x2000) != 0;
        code32 = prot && !code64 && (ar[CS] & 0x4000) != 0;
        stack32 = prot && !code64 && (ar[SS] & 0x4000) != 0;
        ipMask = code64 ? -1L : code32 ? 0xffffffffL : 0xffff;
        spMask = code64 ? -1L : stack32 ? 0xffffffffL : 0xffff;
        linMask = code64 ? -1L : 0xffffffffL;
        codeEnd = code64 ? Long.MAX_VALUE : (limit[CS] & 0xffffffffL) + 1;
        targetBias = code64 ? 1L << 47 : 0;
        targetSpan = code64 ? 1L << 48 : codeEnd;
        for (int s = 0; s < 8; s++) { ebase[s] = code64 && s < FS ? 0 : base[s]; segCache(s); }
    }

    /** Current privilege level: SS.DPL in protected mode, as the VMCS guest state defines it (SDM 24.4.1). */
    int cpl() {
        if (realMode) return 0;
        if (v86) return 3;
        return (ar[SS] >> 5) & 3;
    }

    // ---------------------------------------------------------------- translation: linear -> host buffer

    static final int TLB_SIZE = 256, TLB_MASK = TLB_SIZE - 1;
    final long[] tagR = new long[TLB_SIZE], tagW = new long[TLB_SIZE], tagX = new long[TLB_SIZE];
    final ByteBuffer[] tbuf = new ByteBuffer[TLB_SIZE];
    final int[] tbase = new int[TLB_SIZE];
    private ByteBuffer codeBuf;
    static final int ACC_R = 1, ACC_W = 2, ACC_X = 4;

    /** Drops every cached translation (INVEPT, INVVPID, EPTP change, VMCLEAR, CR0/CR3/CR4 writes). */
    void flushTlb() {
        java.util.Arrays.fill(tagR, -1);
        java.util.Arrays.fill(tagW, -1);
        java.util.Arrays.fill(tagX, -1);
        java.util.Arrays.fill(tbuf, null);
        dropFetchWindow();
    }

    void flushTlbPage(long lin) {
        int i = (int) (lin >>> 12) & TLB_MASK;
        tagR[i] = tagW[i] = tagX[i] = -1;
        tbuf[i] = null;
        dropFetchWindow();
    }

    /**
     * Translates a linear address for one access and caches the page: through the guest's paging when
     * CR0.PG=1 (else the linear address is the guest-physical address, SDM 4.1.1 "Three Paging Modes"),
     * then through EPT when enabled. Returns the host-physical address; a guest #PF is raised as a
     * fault, a failed EPT translation or an APIC-access page ends in a VM exit.
     */
    private long translate(long lin, int acc) {
        // SDM 3.3.7.1 "Canonical Addressing": a non-canonical address faults in 64-bit mode
        if (code64 && ((lin << 16) >> 16) != lin) raise(GP, 0);
        long gpa = lin;
        int guestPerms = 7;
        if ((cr0 & CR0_PG) != 0) {
            long r = pageWalk(lin, acc);
            gpa = (r & ~0xfffL) | (lin & 0xfff);
            guestPerms = (int) (r & 7);
        }
        long hpa;
        int perms;
        if (eptOn) {
            long r = eptWalk(gpa, acc, lin, true);
            hpa = r & ~0xfffL | (gpa & 0xfff);
            perms = (int) (r & 7) & guestPerms;
        } else {
            hpa = gpa;
            perms = guestPerms;
        }
        if ((hpa & ~0xfffL) == apicAccessPage) {
            // SDM 29.4 "Virtualizing Memory-Mapped APIC Accesses", Table 27-6: offset and access type
            int type = acc == ACC_W ? 1 : acc == ACC_X ? 2 : 0;
            vmexit(EXIT_REASON_APIC_ACCESS, (hpa & 0xfff) | (long) type << 12, 0);
        }
        HostMemory.Region reg = mem.regionAtHpa(hpa);
        if (reg != null && !(sysAccess && cpl() == 3)) { // a supervisor access at CPL 3 leaves no CPL-3 translation behind
            long page = lin >>> 12;
            int i = (int) page & TLB_MASK;
            tbuf[i] = reg.buf;
            tbase[i] = (int) ((hpa & ~0xfffL) - reg.hpa);
            tagR[i] = (perms & ACC_R) != 0 && !watchedPage(page, watchR) ? page : -1;
            // writable() first: a write's fill is what frees a page of cached code, even when a breakpoint watches it
            tagW[i] = (perms & ACC_W) != 0 && blocks.writable(reg.buf, tbase[i], acc == ACC_W) && !watchedPage(page, watchW)
                    ? page : -1;
            tagX[i] = (perms & ACC_X) != 0 ? page : -1;
        }
        return hpa;
    }

    // ---------------------------------------------------------------- guest paging

    /** Host-physical address of a guest-physical address used by the guest page walk. */
    private long walkHpa(long gpa, int acc, long lin) {
        if (!eptOn) return gpa;
        long r = eptWalk(gpa, acc, lin, false);
        return (r & ~0xfffL) | (gpa & 0xfff);
    }

    private long walkRead(long gpa, boolean wide, long lin) {
        long hpa = walkHpa(gpa, ACC_R, lin);
        return wide ? mem.read64(hpa) : mem.read32(hpa) & 0xffffffffL;
    }

    /** Sets accessed/dirty bits in a paging-structure entry (SDM 4.8 "Accessed and Dirty Flags"). */
    private void walkSetBits(long gpa, long entry, long bits, boolean wide, long lin) {
        if ((entry & bits) == bits) return;
        long hpa = walkHpa(gpa, ACC_W, lin);
        if (wide) mem.write64(hpa, entry | bits); else mem.write32(hpa, (int) (entry | bits));
    }

    /**
     * The guest's own paging (SDM 4.3 "32-Bit Paging" and 4.4 "PAE Paging"): linear to guest-physical,
     * with the effective R/W/X permissions for the current privilege level in bits 2:0 (W only once the
     * dirty flag is set, so the first write comes back here to set it). Faults are #PF.
     */
    private long pageWalk(long lin, int acc) {
        boolean user = !sysAccess && cpl() == 3;
        boolean write = acc == ACC_W, fetch = acc == ACC_X;
        boolean pae = (cr4 & CR4_PAE) != 0;
        boolean nxe = pae && (efer & EFER_NXE) != 0;
        boolean wp = (cr0 & CR0_WP) != 0;
        int err = (write ? 2 : 0) | (user ? 4 : 0) | (fetch && nxe ? 16 : 0);
        boolean rw = true, us = true, nx = false;
        long frame, leaf, leafAddr;
        if (!pae) {
            long pdeA = (cr3 & 0xfffff000L) + ((lin >>> 22) & 0x3ff) * 4;
            long pde = walkRead(pdeA, false, lin);
            if ((pde & 1) == 0) pageFault(lin, err);
            rw = (pde & 2) != 0;
            us = (pde & 4) != 0;
            if ((pde & 0x80) != 0 && (cr4 & CR4_PSE) != 0) {
                frame = (pde & 0xffc00000L) | (lin & 0x3ff000L);
                leaf = pde;
                leafAddr = pdeA;
            } else {
                walkSetBits(pdeA, pde, 0x20, false, lin);
                long pteA = (pde & 0xfffff000L) + ((lin >>> 12) & 0x3ff) * 4;
                long pte = walkRead(pteA, false, lin);
                if ((pte & 1) == 0) pageFault(lin, err);
                rw &= (pte & 2) != 0;
                us &= (pte & 4) != 0;
                frame = pte & 0xfffff000L;
                leaf = pte;
                leafAddr = pteA;
            }
        } else {
            long rsvd = 0x000fff0000000000L; // above a 40-bit MAXPHYADDR
            long pdBase;
            if (longMode) {
                // SDM 4.5 "IA-32e Paging": PML4 and PDPT levels above the PAE-style directory
                long pml4eA = (cr3 & 0xffffffffff000L) + ((lin >>> 39) & 0x1ff) * 8;
                long pml4e = walkRead(pml4eA, true, lin);
                if ((pml4e & 1) == 0) pageFault(lin, err);
                if ((pml4e & (rsvd | 0x80)) != 0 || (!nxe && pml4e < 0)) pageFault(lin, err | 9);
                rw = (pml4e & 2) != 0;
                us = (pml4e & 4) != 0;
                nx = nxe && pml4e < 0;
                walkSetBits(pml4eA, pml4e, 0x20, true, lin);
                long pdpteA = (pml4e & 0xffffffffff000L) + ((lin >>> 30) & 0x1ff) * 8;
                long pdpte = walkRead(pdpteA, true, lin);
                if ((pdpte & 1) == 0) pageFault(lin, err);
                // 1-GByte pages are not reported (CPUID.80000001H:EDX.Page1GB = 0), so PS is reserved
                if ((pdpte & (rsvd | 0x80)) != 0 || (!nxe && pdpte < 0)) pageFault(lin, err | 9);
                rw &= (pdpte & 2) != 0;
                us &= (pdpte & 4) != 0;
                nx |= nxe && pdpte < 0;
                walkSetBits(pdpteA, pdpte, 0x20, true, lin);
                pdBase = pdpte & 0xffffffffff000L;
            } else {
                long pdpteA = (cr3 & 0xffffffe0L) + ((lin >>> 30) & 3) * 8;
                long pdpte = walkRead(pdpteA, true, lin);
                if ((pdpte & 1) == 0) pageFault(lin, err);
                if ((pdpte & (rsvd | 0x1e6L | Long.MIN_VALUE)) != 0) pageFault(lin, err | 9);
                pdBase = pdpte & 0xffffffffff000L;
            }
            long pdeA = pdBase + ((lin >>> 21) & 0x1ff) * 8;
            long pde = walkRead(pdeA, true, lin);
            if ((pde & 1) == 0) pageFault(lin, err);
            if ((pde & rsvd) != 0 || (!nxe && pde < 0)) pageFault(lin, err | 9);
            rw &= (pde & 2) != 0;
            us &= (pde & 4) != 0;
            nx |= nxe && pde < 0;
            if ((pde & 0x80) != 0) {
                if ((pde & 0x1fe000L) != 0) pageFault(lin, err | 9);
                frame = (pde & 0xfffffffe00000L) | (lin & 0x1ff000L);
                leaf = pde;
                leafAddr = pdeA;
            } else {
                walkSetBits(pdeA, pde, 0x20, true, lin);
                long pteA = (pde & 0xffffffffff000L) + ((lin >>> 12) & 0x1ff) * 8;
                long pte = walkRead(pteA, true, lin);
                if ((pte & 1) == 0) pageFault(lin, err);
                if ((pte & rsvd) != 0 || (!nxe && pte < 0)) pageFault(lin, err | 9);
                rw &= (pte & 2) != 0;
                us &= (pte & 4) != 0;
                nx |= nxe && pte < 0;
                frame = pte & 0xffffffffff000L;
                leaf = pte;
                leafAddr = pteA;
            }
        }
        boolean canWrite = user ? rw && us : rw || !wp;
        if (user && !us) pageFault(lin, err | 1);
        if (write && !canWrite) pageFault(lin, err | 1);
        if (fetch && nx) pageFault(lin, err | 1);
        walkSetBits(leafAddr, leaf, write ? 0x60 : 0x20, pae, lin);
        boolean dirty = write || (leaf & 0x40) != 0;
        int perms = (user && !us ? 0 : ACC_R) | (canWrite && dirty ? ACC_W : 0) | (nx || (user && !us) ? 0 : ACC_X);
        return frame | perms;
    }

    /**
     * Set while the processor makes an implicit supervisor-mode access (SDM 4.6 "Access Rights": the
     * GDT, LDT, IDT and TSS, and the inner stack of a privilege change), which paging checks as a
     * supervisor access whatever the CPL.
     */
    private boolean sysAccess;

    /** An implicit supervisor-mode read (descriptor tables, TSS). */
    private long sysRd(long lin, int sz) {
        boolean o = sysAccess;
        sysAccess = true;
        try { return rd(lin, sz); } finally { sysAccess = o; }
    }

    /** An implicit supervisor-mode write (an inner stack during a privilege change). */
    private void sysWr(long lin, int sz, long v) {
        boolean o = sysAccess;
        sysAccess = true;
        try { wr(lin, sz, v); } finally { sysAccess = o; }
    }

    private void pageFault(long lin, int err) {
        faultSignal.address = lin;
        raise(PF_FAULT, err);
    }

    /**
     * Walks the EPT paging structures for a guest-physical address (SDM 28.2.2 "EPT Translation
     * Mechanism"). Returns the page frame of the translation with the effective R/W/X permissions in
     * bits 2:0; an absent or forbidding translation is an EPT violation, a misconfigured entry an EPT
     * misconfiguration (SDM 28.2.3 "EPT-Induced VM Exits").
     */
    private long eptWalk(long gpa, int acc, long lin, boolean finalAccess) {
        long table = eptp & 0x000ffffffffff000L;
        int perms = 7;
        for (int level = 4; level >= 1; level--) {
            int idx = (int) (gpa >>> (12 + 9 * (level - 1))) & 511;
            long e = mem.read64(table + idx * 8L);
            int rwx = (int) (e & 7);
            if (rwx == 0) eptViolation(gpa, lin, acc, 0, finalAccess);
            boolean large = level == 2 && (e & VMX_EPT_LARGE_PAGE) != 0 && ept2mPages;
            boolean leaf = level == 1 || large;
            // SDM 28.2.3.1 "EPT Misconfigurations": write without read, reserved bits, bad memory type
            if ((rwx & 3) == 2) eptMisconfig(gpa);
            if ((e & 0x000fff0000000000L) != 0) eptMisconfig(gpa); // bits 51:40, above MAXPHYADDR (40, CPUID 80000008H)
            if (leaf) {
                int mt = (int) (e >>> 3) & 7;
                if (mt == 2 || mt == 3 || mt == 7) eptMisconfig(gpa);
                if (large && (e & 0x1ff000L) != 0) eptMisconfig(gpa);
            } else if ((e & 0xf8) != 0) {
                eptMisconfig(gpa); // reserved bits 7:3 of a non-leaf entry (1-GByte pages not supported)
            }
            perms &= rwx;
            if (leaf) {
                if ((acc & perms) != acc) eptViolation(gpa, lin, acc, perms, finalAccess);
                long frame = large ? (e & 0x000fffffffe00000L) | (gpa & 0x1ff000L) : e & 0x000ffffffffff000L;
                return frame | perms;
            }
            table = e & 0x000ffffffffff000L;
        }
        throw new IllegalStateException("unreachable");
    }

    private void eptViolation(long gpa, long lin, int acc, int perms, boolean finalAccess) {
        // SDM Table 27-7 "Exit Qualification for EPT Violations"
        long q = (acc & ACC_R) != 0 ? 1 : 0;
        if ((acc & ACC_W) != 0) q |= 2;
        if ((acc & ACC_X) != 0) q |= 4;
        q |= (long) perms << 3;
        q |= 1L << 7;
        if (finalAccess) q |= 1L << 8; // not an access to a guest paging-structure entry
        exitGpa = gpa;
        exitGpaValid = true;
        exitGla = lin;
        exitGlaValid = true;
        vmexit(EXIT_REASON_EPT_VIOLATION, q, 0);
    }

    private void eptMisconfig(long gpa) {
        exitGpa = gpa;
        exitGpaValid = true;
        vmexit(EXIT_REASON_EPT_MISCONFIG, 0, 0);
    }

    // ---------------------------------------------------------------- memory access by linear address

    long rd8(long lin) {
        lin &= linMask;
        long p = lin >>> 12;
        int i = (int) p & TLB_MASK;
        if (tagR[i] == p) return tbuf[i].get(tbase[i] + ((int) lin & 0xfff)) & 0xff;
        long hpa = translate(lin, ACC_R);
        if (watchR != 0) watch(lin, 1, watchR);
        return mem.read8(hpa);
    }

    long rd(long lin, int sz) {
        if (sz == 1) return rd8(lin);
        if ((eflags & AC) != 0) alignCheck(lin, sz);
        lin &= linMask;
        long p = lin >>> 12;
        int i = (int) p & TLB_MASK;
        int o = (int) lin & 0xfff;
        if (tagR[i] == p && o <= 4096 - sz) {
            ByteBuffer b = tbuf[i];
            int a = tbase[i] + o;
            switch (sz) {
                case 2: return b.getShort(a) & 0xffff;
                case 4: return b.getInt(a) & 0xffffffffL;
                default: return b.getLong(a);
            }
        }
        return rdSlow(lin, sz);
    }

    /**
     * SDM 6.15 "Interrupt 17—Alignment Check Exception (#AC)": with CR0.AM and EFLAGS.AC, a data access at
     * CPL 3 whose address is not a multiple of its size is #AC(0); the processor's own accesses (descriptor
     * tables, TSS, the frame of an event it delivers) are not checked.
     */
    private void alignCheck(long lin, int sz) {
        if ((lin & (sz - 1)) != 0 && (cr0 & CR0_AM) != 0 && !sysAccess && cpl() == 3) raise(AC_FAULT, 0);
    }

    private long rdSlow(long lin, int sz) {
        if (((lin & 0xfff) + sz) > 4096) {
            long v = 0;
            for (int k = 0; k < sz; k++) v |= rd8(lin + k) << (8 * k);
            return v;
        }
        long hpa = translate(lin, ACC_R);
        if (watchR != 0) watch(lin, sz, watchR);
        switch (sz) {
            case 2: return mem.read16(hpa);
            case 4: return mem.read32(hpa) & 0xffffffffL;
            default: return mem.read64(hpa);
        }
    }

    void wr8(long lin, long v) {
        lin &= linMask;
        long p = lin >>> 12;
        int i = (int) p & TLB_MASK;
        if (tagW[i] == p) { tbuf[i].put(tbase[i] + ((int) lin & 0xfff), (byte) v); return; }
        long hpa = translate(lin, ACC_W);
        if (watchW != 0) watch(lin, 1, watchW);
        mem.write8(hpa, (int) v);
    }

    void wr(long lin, int sz, long v) {
        if (sz == 1) { wr8(lin, v); return; }
        if ((eflags & AC) != 0) alignCheck(lin, sz);
        lin &= linMask;
        long p = lin >>> 12;
        int i = (int) p & TLB_MASK;
        int o = (int) lin & 0xfff;
        if (tagW[i] == p && o <= 4096 - sz) {
            ByteBuffer b = tbuf[i];
            int a = tbase[i] + o;
            switch (sz) {
                case 2: b.putShort(a, (short) v); return;
                case 4: b.putInt(a, (int) v); return;
                default: b.putLong(a, v); return;
            }
        }
        wrSlow(lin, sz, v);
    }

    private void wrSlow(long lin, int sz, long v) {
        if (((lin & 0xfff) + sz) > 4096) {
            // Check both pages first so a fault on the second leaves memory untouched.
            translate(lin, ACC_W);
            translate((lin + sz - 1) & linMask, ACC_W);
            for (int k = 0; k < sz; k++) wr8(lin + k, v >>> (8 * k));
            return;
        }
        long hpa = translate(lin, ACC_W);
        if (watchW != 0) watch(lin, sz, watchW);
        switch (sz) {
            case 2: mem.write16(hpa, (int) v); break;
            case 4: mem.write32(hpa, (int) v); break;
            default: mem.write64(hpa, v);
        }
    }

    /** Checks that a write to [lin, lin+sz) would succeed, without writing. */
    private void probeWrite(long lin, int sz) {
        lin &= linMask;
        long p = lin >>> 12;
        if (tagW[(int) p & TLB_MASK] != p) translate(lin, ACC_W);
        long q = ((lin + sz - 1) & linMask) >>> 12;
        if (q != p && tagW[(int) q & TLB_MASK] != q) translate((lin + sz - 1) & linMask, ACC_W);
    }

    // ---------------------------------------------------------------- instruction fetch

    /*
     * The fetch window: the range of instruction-pointer values [fetchLo, fetchHi) whose bytes lie in
     * the cached code page, and the bias that turns such a value into an index of codeBuf.
     */
    private long fetchLo, fetchHi, fetchBias;

    void dropFetchWindow() {
        fetchLo = fetchHi = 0;
        codeBuf = null;
    }

    int fetch8() {
        long p = pc;
        if (p >= fetchLo && p < fetchHi) {
            pc = p + 1;
            return codeBuf.get((int) (p + fetchBias)) & 0xff;
        }
        return fetch8Slow();
    }

    private int fetch8Slow() {
        // SDM 2.3.11: instructions are at most 15 bytes; pre-decoding does not leave its page
        if (pc - ip0 >= 15 || decodeFence) raise(GP, 0);
        if (pc >= codeEnd()) raise(GP, 0); // SDM 5.3 "Limit Checking": a byte beyond CS.limit
        long lin = (ebase[CS] + pc) & linMask;
        long p = lin >>> 12;
        int i = (int) p & TLB_MASK;
        if (tagX[i] != p) {
            long hpa = translate(lin, ACC_X);
            if (tagX[i] != p) { pc++; return mem.read8(hpa); } // nothing behind it: reads as all ones
        }
        fetchWindow(tbuf[i], tbase[i], lin, pc);
        pc++;
        return codeBuf.get(tbase[i] + ((int) lin & 0xfff)) & 0xff;
    }

    /** Set while {@link SoftDecodeCache} decodes: bytes outside the fetch window are not fetched. */
    boolean decodeFence;

    /**
     * Makes a code page the fetch window: the host page at offset {@code page} of {@code buf}, which holds the
     * linear address {@code lin} of instruction pointer {@code ip}.
     */
    void fetchWindow(ByteBuffer buf, int page, long lin, long ip) {
        codeBuf = buf;
        fetchLo = ip - ((int) lin & 0xfff);
        fetchHi = Math.min(fetchLo + 4096, codeEnd()); // bytes past the CS limit take the slow path, which faults
        fetchBias = page - fetchLo;
    }

    /**
     * One past the highest instruction pointer whose byte may be fetched: CS.limit + 1 outside 64-bit mode
     * (SDM 5.3 "Limit Checking", also in real-address and virtual-8086 mode); in 64-bit mode there is no
     * limit, and a non-canonical RIP faults in the translation (SDM 3.3.7.1).
     */
    long codeEnd() { return codeEnd; }

    /*
     * Kept by updateMode, which every change of CS or of the mode goes through: the code end, and the good
     * near-branch targets as those t for which t + targetBias is, unsigned, below targetSpan (the canonical
     * range in 64-bit mode, [0, codeEnd) elsewhere), one comparison either way.
     */
    private long codeEnd, targetBias, targetSpan;

    /**
     * The target of a near branch (JMP, Jcc, CALL, RET, LOOP): #GP(0) at the branch when it lies beyond the
     * CS limit, or in 64-bit mode is non-canonical (SDM Vol. 2 "JMP", "CALL", "RET").
     */
    long branchTarget(long t) {
        if (badTarget(t)) raise(GP, 0);
        return t;
    }

    private boolean badTarget(long t) { return Long.compareUnsigned(t + targetBias, targetSpan) >= 0; }

    /** The buffer of the fetch window, if it holds the byte at {@code ip} (else null); see {@link #fetchIndex}. */
    ByteBuffer fetchBuffer(long ip) { return ip >= fetchLo && ip < fetchHi ? codeBuf : null; }

    /** Index in the fetch window's buffer of the byte at {@code ip}, which the window holds. */
    int fetchIndex(long ip) { return (int) (ip + fetchBias); }

    private int fetch16() {
        long p = pc;
        if (p >= fetchLo && p + 2 <= fetchHi) {
            pc = p + 2;
            return codeBuf.getShort((int) (p + fetchBias)) & 0xffff;
        }
        int lo = fetch8();
        return lo | fetch8() << 8;
    }

    long fetch64() {
        long lo = fetch32();
        return lo | fetch32() << 32;
    }

    private long fetch32() {
        long p = pc;
        if (p >= fetchLo && p + 4 <= fetchHi) {
            pc = p + 4;
            return codeBuf.getInt((int) (p + fetchBias)) & 0xffffffffL;
        }
        long lo = fetch16();
        return lo | (long) fetch16() << 16;
    }

    /** Immediate of operand size (at most 32 bits, sign-extended to 64 for size 8). */
    long fetchImm(int sz) {
        switch (sz) {
            case 1: return fetch8();
            case 2: return fetch16();
            case 4: return fetch32();
            default: return (int) fetch32();
        }
    }

    // ---------------------------------------------------------------- registers

    static final long[] MASK = {0, 0xffL, 0xffffL, 0, 0xffffffffL, 0, 0, 0, -1L};
    static final long[] SIGN = {0, 0x80L, 0x8000L, 0, 0x80000000L, 0, 0, 0, 0x8000000000000000L};

    // the common sizes are tested first: these are on the path of almost every instruction
    long getReg(int r, int sz) {
        if (sz == 4) return R[r] & 0xffffffffL;
        if (sz == 8) return R[r];
        if (sz == 2) return R[r] & 0xffff;
        return r < 4 || rexByte ? R[r] & 0xff : (R[r - 4] >>> 8) & 0xff;
    }

    void setReg(int r, int sz, long v) {
        if (sz == 4) R[r] = v & 0xffffffffL;
        else if (sz == 8) R[r] = v;
        else if (sz == 2) R[r] = (R[r] & ~0xffffL) | (v & 0xffff);
        else if (r < 4 || rexByte) R[r] = (R[r] & ~0xffL) | (v & 0xff);
        else R[r - 4] = (R[r - 4] & ~0xff00L) | ((v & 0xff) << 8);
    }

    static long sext(long v, int sz) {
        switch (sz) {
            case 1: return (byte) v;
            case 2: return (short) v;
            case 4: return (int) v;
            default: return v;
        }
    }

    // ---------------------------------------------------------------- flags (lazy)

    private static final int F_NONE = 0, F_ADD = 1, F_SUB = 2, F_LOGIC = 3, F_INC = 4, F_DEC = 5;
    private int fOp, fSz = 1, fCf;
    private long fA, fB, fRes;

    boolean cf() {
        switch (fOp) {
            case F_NONE: return (eflags & CF) != 0;
            case F_ADD: return (((fA & fB) | ((fA | fB) & ~fRes)) & SIGN[fSz]) != 0;
            case F_SUB: return (((~fA & fB) | ((~fA | fB) & fRes)) & SIGN[fSz]) != 0;
            case F_LOGIC: return false;
            default: return fCf != 0;
        }
    }

    private boolean of() {
        switch (fOp) {
            case F_NONE: return (eflags & OF) != 0;
            case F_ADD: case F_INC: return (((fA ^ fRes) & (fB ^ fRes)) & SIGN[fSz]) != 0;
            case F_SUB: case F_DEC: return (((fA ^ fB) & (fA ^ fRes)) & SIGN[fSz]) != 0;
            default: return false;
        }
    }

    private boolean zf() { return fOp == F_NONE ? (eflags & ZF) != 0 : (fRes & MASK[fSz]) == 0; }

    private boolean sf() { return fOp == F_NONE ? (eflags & SF) != 0 : (fRes & SIGN[fSz]) != 0; }

    private boolean pf() { return fOp == F_NONE ? (eflags & PF) != 0 : (Integer.bitCount((int) fRes & 0xff) & 1) == 0; }

    private boolean af() {
        if (fOp == F_NONE) return (eflags & AF) != 0;
        if (fOp == F_LOGIC) return false;
        return ((fA ^ fB ^ fRes) & 0x10) != 0;
    }

    /** RFLAGS with the arithmetic flags brought up to date. */
    long flags() {
        if (fOp != F_NONE) {
            long f = eflags & ~ARITH_FLAGS;
            if (cf()) f |= CF;
            if (pf()) f |= PF;
            if (af()) f |= AF;
            if (zf()) f |= ZF;
            if (sf()) f |= SF;
            if (of()) f |= OF;
            eflags = f;
            fOp = F_NONE;
        }
        return eflags;
    }

    /** Loads RFLAGS wholesale (VM entry, POPF, IRET). */
    void setFlags(long v) {
        fOp = F_NONE;
        eflags = (v & 0x3f7fd7L) | 2;
    }

    private void setFlagBit(int bit, boolean on) {
        flags();
        if (on) eflags |= bit; else eflags &= ~bit;
    }

    /** Eager flags from a result: SF, ZF, PF from {@code res}, CF/OF given, AF cleared. */
    private void setSzp(long res, int sz, boolean c, boolean o) {
        long f = flags() & ~ARITH_FLAGS;
        if (c) f |= CF;
        if (o) f |= OF;
        if ((res & MASK[sz]) == 0) f |= ZF;
        if ((res & SIGN[sz]) != 0) f |= SF;
        if ((Integer.bitCount((int) res & 0xff) & 1) == 0) f |= PF;
        eflags = f;
    }

    boolean cond(int cc) {
        boolean r;
        switch ((cc >> 1) & 7) {
            case 0: r = of(); break;
            case 1: r = cf(); break;
            case 2: r = zf(); break;
            case 3: r = cf() || zf(); break;
            case 4: r = sf(); break;
            case 5: r = pf(); break;
            case 6: r = sf() != of(); break;
            default: r = zf() || sf() != of(); break;
        }
        return r ^ ((cc & 1) != 0);
    }

    /** The eight ALU operations of opcodes 00-3F and group 1, in their encoding order. */
    long alu(int op, long a, long b, int sz) {
        long m = MASK[sz];
        a &= m;
        b &= m;
        long res;
        switch (op) {
            case 0: res = a + b; fOp = F_ADD; break;
            case 1: res = a | b; fOp = F_LOGIC; break;
            case 2: { long c = cf() ? 1 : 0; res = a + b + c; fOp = F_ADD; break; }
            case 3: { long c = cf() ? 1 : 0; res = a - b - c; fOp = F_SUB; break; }
            case 4: res = a & b; fOp = F_LOGIC; break;
            case 5: case 7: res = a - b; fOp = F_SUB; break;
            default: res = a ^ b; fOp = F_LOGIC; break;
        }
        res &= m;
        fA = a;
        fB = b;
        fRes = res;
        fSz = sz;
        return res;
    }

    long inc(long a, int sz, boolean dec) { return inc(a, sz, dec, cf()); }

    /** INC/DEC with the carry flag it keeps given (SoftDecodeCache may hold it outside the lazy record). */
    long inc(long a, int sz, boolean dec, boolean carry) {
        fCf = carry ? 1 : 0;
        long m = MASK[sz];
        a &= m;
        long res = (dec ? a - 1 : a + 1) & m;
        fOp = dec ? F_DEC : F_INC;
        fA = a;
        fB = 1;
        fRes = res;
        fSz = sz;
        return res;
    }

    void logicFlags(long res, int sz) {
        fOp = F_LOGIC;
        fA = fB = 0;
        fRes = res & MASK[sz];
        fSz = sz;
    }

    // ---------------------------------------------------------------- faults and exits

    /** Raises a guest exception with no error code (the current instruction does not complete). */
    void raise(int vector) {
        faultSignal.vector = vector;
        faultSignal.hasError = false;
        faultSignal.errorCode = 0;
        throw faultSignal;
    }

    void raise(int vector, int error) {
        faultSignal.vector = vector;
        faultSignal.hasError = true;
        faultSignal.errorCode = error;
        throw faultSignal;
    }

    /** Ends guest execution with a VM exit; guest RIP stays at the current instruction. */
    void vmexit(int reason, long qual, int len) {
        exitReason = reason;
        exitQual = qual;
        exitInstrLen = len;
        throw exitSignal;
    }

    private void instrExit(int reason, long qual) {
        vmexit(reason, qual, (int) (pc - ip0));
    }

    /**
     * SDM 25.1.3 "Instructions That Cause VM Exits Conditionally", PAUSE-loop exiting: a PAUSE more than
     * PLE_Gap after the previous one starts a loop; once a loop has lasted more than PLE_Window, PAUSE
     * exits. Time is the soft TSC (retired instructions).
     */
    private void pauseLoop() {
        long now = icount;
        if (pleLast < 0 || now - pleLast > pleGap) pleFirst = now;
        pleLast = now;
        if (now - pleFirst > pleWindow) instrExit(EXIT_REASON_PAUSE_INSTRUCTION, 0);
    }

    private void shutdown(String why) {
        exitNote = why;
        activity = 2;
        vmexit(EXIT_REASON_TRIPLE_FAULT, 0, 0);
    }

    private void clearExitInfo() {
        exitReason = 0;
        exitQual = 0;
        exitInstrLen = 0;
        exitInstrInfo = 0;
        exitGpaValid = exitGlaValid = false;
        exitIntrInfo = exitIntrError = 0;
        idtVectoringInfo = idtVectoringError = 0;
        exitNote = null;
    }

    // ---------------------------------------------------------------- the run loop

    /**
     * Runs guest code from the loaded state until a VM exit. {@code injectInfo} is the VM-entry
     * interruption-information field (SDM 26.5 "Event Injection"), delivered before the first
     * instruction when its valid bit is set.
     */
    void run(int injectInfo, int injectError, int injectLen) {
        clearExitInfo();
        runner = Thread.currentThread();
        updateMode();
        blocks.entered();
        attention = true;
        shadowFresh = (interruptibility & 3) != 0;
        deliveryDepth = 0;
        stepArmed = false;
        try {
            if ((injectInfo & INTR_INFO_VALID_MASK) != 0) {
                if (activity == 1) activity = 0;
                inject(injectInfo, injectError, injectLen);
            }
            if (machineCheckPending) {
                // an abort (SDM 6.15 "Interrupt 18—Machine-Check Exception (#MC)") at the first boundary
                machineCheckPending = false;
                if (activity == 1) activity = 0;
                ip0 = pc = rip;
                exception(MC, INTR_TYPE_HARD_EXCEPTION, false, 0, rip);
            }
        } catch (VmExitSignal e) {
            return;
        } catch (FaultSignal f) {
            if (!handleFault()) return;
        } catch (RuntimeException e) {
            internalError(e);
            return;
        }
        while (true) {
            try {
                if (activity != 0) waitInactive();
                loop();
            } catch (VmExitSignal e) {
                return;
            } catch (FaultSignal f) {
                if (!handleFault()) return;
            } catch (RuntimeException e) {
                internalError(e);
                return;
            }
        }
    }

    /**
     * A defect of this processor model, not guest behaviour: the guest stops with a defined exit (a
     * triple fault) and the note says why, rather than a Java exception escaping VMLAUNCH.
     */
    private void internalError(RuntimeException e) {
        rip = ip0;
        exitNote = "soft CPU internal error at RIP " + Long.toHexString(ip0) + ": " + e;
        exitReason = EXIT_REASON_TRIPLE_FAULT;
        exitQual = 0;
        activity = 2;
    }

    private void loop() {
        while (true) {
            if (attention) boundary();
            else if (blocks.enabled) blocks.run(); // pre-decoded code, up to an instruction for the interpreter
            ip0 = pc = rip;
            step();
            rip = pc & ipMask;
            if ((++icount & 4095) == 0 && (kicked || icount >= stopAt)) budgetCheck();
        }
    }

    /** Instruction-boundary work that is only needed now and then (SDM 6.8.3 interrupt shadows). */
    private void boundary() {
        if ((interruptibility & 3) != 0) {
            if (shadowFresh) shadowFresh = false;
            else interruptibility &= ~3;
        }
        if (debugPending()) debugBoundary();
        attention = (interruptibility & 3) != 0 || debugger != null || debugPending();
        windowExits();
        if (kicked || icount >= stopAt) budgetCheck();
        if (debugger != null) debugStop();
        stepArmed = (eflags & TF) != 0;
    }

    // ---------------------------------------------------------------- guest debugging (not architectural)

    /** The debugger watching this processor, or null; while one is attached every boundary is checked. */
    GuestDebugger debugger;
    SoftCpu owner;
    /** Linear addresses to stop at, sorted. */
    long[] breakpoints = new long[0];
    boolean singleStep;

    private void debugStop() {
        long lin = (base[CS] + rip) & (code64 ? -1L : 0xffffffffL);
        boolean bp = java.util.Arrays.binarySearch(breakpoints, lin) >= 0;
        if (singleStep || bp) singleStep = debugger.stopped(owner, lin, bp);
    }

    /**
     * SDM 25.6.5 "Interrupt-Window Exiting" and 25.6.6 "NMI-Window Exiting" (virtual NMIs): a VM exit
     * before an instruction once the guest could take an interrupt / NMI.
     */
    private void windowExits() {
        if ((procControls & CPU_BASED_VIRTUAL_NMI_PENDING) != 0 && (interruptibility & (GUEST_INTR_STATE_NMI | GUEST_INTR_STATE_MOV_SS)) == 0) {
            pc = ip0 = rip;
            vmexit(EXIT_REASON_NMI_WINDOW, 0, 0);
        }
        if ((procControls & CPU_BASED_VIRTUAL_INTR_PENDING) != 0 && (flags() & IF) != 0 && (interruptibility & 3) == 0) {
            pc = ip0 = rip;
            vmexit(EXIT_REASON_PENDING_INTERRUPT, 0, 0);
        }
    }

    /** Test and debugging aid: after this many retired instructions the guest takes an external-interrupt exit. */
    long stopAt = Long.MAX_VALUE;

    private void budgetCheck() {
        if (icount >= stopAt) {
            stopAt = Long.MAX_VALUE;
            pc = ip0 = rip;
            vmexit(EXIT_REASON_EXTERNAL_INTERRUPT, 0, 0);
        }
        if (kicked) kickExit();
    }

    private void kickExit() {
        pc = ip0 = rip;
        // SDM 27.2.2: with "acknowledge interrupt on exit" the vector would be reported; the host's
        // interrupt here has no vector, so the field stays invalid.
        exitIntrInfo = 0;
        kicked = false;
        vmexit(EXIT_REASON_EXTERNAL_INTERRUPT, 0, 0);
    }

    /** HLT (or shutdown / wait-for-SIPI) without exiting: sleep until kicked or the interrupt window opens. */
    private void waitInactive() {
        while (true) {
            if (kicked) kickExit();
            if (activity == 1) windowExits();
            LockSupport.parkNanos(this, 50_000_000L);
        }
    }

    /** Delivers a guest exception raised by the current instruction; false when that ended in a VM exit. */
    private boolean handleFault() {
        int v = faultSignal.vector;
        boolean he = faultSignal.hasError;
        int err = faultSignal.errorCode;
        pc = rip = ip0;
        dataHit = 0; // the instruction did not complete: its data breakpoint matches are not reported
        // SDM Vol. 3, "Instruction-Breakpoint Exception Condition": a fault-class exception (other than
        // an instruction breakpoint) is delivered with RF set in the EFLAGS image it pushes, so that the
        // IRET restarting the faulting instruction takes no second instruction breakpoint (KVM's
        // inject_pending_event sets RF for EXCPT_FAULT to reproduce this when it injects). Found by the
        // differential tester: #DE in 32/64-bit mode pushed RF=0 here, RF=1 on the host.
        faultRf = v != DB && v != BP && v != OFV && v != DBL_FAULT && v != 18;
        try {
            exception(v, INTR_TYPE_HARD_EXCEPTION, he, err, ip0);
            deliveryDepth = 0;
            return true;
        } catch (VmExitSignal e) {
            return false;
        } catch (FaultSignal f) {
            return handleFault();
        } finally {
            faultRf = false;
        }
    }

    /** Set while a fault-class exception raised by an instruction is being delivered: the pushed RFLAGS has RF. */
    private boolean faultRf;

    /**
     * An exception on its way to the guest: a VM exit if the exception bitmap says so (SDM 25.2
     * "Other Causes of VM Exits: Exceptions"), else delivery through the IVT/IDT. A fault while
     * delivering becomes #DF, and a fault while delivering #DF a triple fault.
     */
    private void exception(int vector, int type, boolean hasErr, int err, long retIp) {
        if (hasErr && deliveryDepth > 0 && selectorErrorCode(vector) && externalEvent(deliveringInfo)) err |= 1;
        // SDM 25.2 "Other Causes of VM Exits": an exception the bitmap selects exits even when it arises while
        // another event is delivered; only one that does not exit may turn into #DF or a triple fault
        exitIfSelected(vector, type, hasErr, err, retIp);
        if (deliveryDepth > 0) {
            // SDM 6.15, Table 6-5 "Conditions for Generating a Double Fault"
            int first = (deliveringInfo & INTR_INFO_INTR_TYPE_MASK) == INTR_TYPE_HARD_EXCEPTION ? deliveringVector() : -1;
            boolean secondBad = contributory(vector) || vector == PF_FAULT;
            if (first == DBL_FAULT || deliveryDepth >= 2) {
                deliveryDepth = 0;
                exitNote = "triple fault: exception " + vector + " while delivering vector " + deliveringVector();
                activity = 2;
                vmexit(EXIT_REASON_TRIPLE_FAULT, 0, 0);
            }
            if ((contributory(first) && contributory(vector)) || (first == PF_FAULT && secondBad)) {
                vector = DBL_FAULT;
                type = INTR_TYPE_HARD_EXCEPTION;
                hasErr = !realMode;
                err = 0;
                retIp = ip0;
                exitIfSelected(vector, type, hasErr, err, retIp);
            } else {
                deliveryDepth = 0; // handled serially: the second event is delivered on its own
            }
        }
        if (vector == PF_FAULT && type == INTR_TYPE_HARD_EXCEPTION) cr2 = faultSignal.address;
        deliver(vector, type, hasErr, err, retIp);
    }

    /** The VM exit of an exception the exception bitmap (and for #PF the error-code mask/match) selects. */
    private void exitIfSelected(int vector, int type, boolean hasErr, int err, long retIp) {
        boolean exits = vector < 32 && (exceptionBitmap & (1 << vector)) != 0;
        if (vector == PF_FAULT) {
            // SDM 25.2: #PF exits per bit 14 of the exception bitmap, unless the error code mismatches
            boolean match = (err & pfecMask) == pfecMatch;
            exits = exits == match;
        }
        if (!exits || (type != INTR_TYPE_HARD_EXCEPTION && type != INTR_TYPE_SOFT_EXCEPTION)) return;
        if (vector == PF_FAULT) exitQual = faultSignal.address;
        exitIntrInfo = vector | type | INTR_INFO_VALID_MASK | (hasErr ? INTR_INFO_DELIVER_CODE_MASK : 0);
        exitIntrError = err;
        int len = type == INTR_TYPE_SOFT_EXCEPTION ? (int) (retIp - ip0) : 0;
        if (deliveryDepth > 0) {
            idtVectoringInfo = deliveringInfo;
            idtVectoringError = deliveringError;
            len = deliveringInstrLen();
        }
        deliveryDepth = 0;
        vmexit(EXIT_REASON_EXCEPTION_NMI, vector == PF_FAULT ? faultSignal.address : vector == DB ? dbQual : 0, len);
    }

    /**
     * SDM 27.2.4 "Information for VM Exits Due to Instruction Execution": an exit during the delivery of a
     * software interrupt or software exception reports the length of the instruction that raised it, which
     * the VMM needs to re-inject the event (vmx.c's vmx_complete_interrupts); other events report 0.
     */
    private int deliveringInstrLen() {
        int t = deliveringInfo & INTR_INFO_INTR_TYPE_MASK;
        return t == INTR_TYPE_SOFT_INTR || t == INTR_TYPE_SOFT_EXCEPTION ? deliveringLen : 0;
    }

    /**
     * SDM 6.13 "Error Code": the EXT bit (bit 0) of a selector-format error code (#TS, #NP, #SS, #GP) is
     * set when the fault arose while delivering an event external to the program -- an external
     * interrupt, NMI, hardware exception or INT1 -- and clear for INT n, INT3 and INTO.
     */
    private static boolean selectorErrorCode(int vector) { return vector >= TS && vector <= GP; }

    private static boolean externalEvent(int info) {
        int t = info & INTR_INFO_INTR_TYPE_MASK;
        return t != INTR_TYPE_SOFT_INTR && t != INTR_TYPE_SOFT_EXCEPTION;
    }

    private static boolean contributory(int v) { return v == DE || (v >= TS && v <= GP); }

    /** SoftCpu.injectMachineCheck(IN_GUEST): #MC before the first instruction of this entry. */
    boolean machineCheckPending;

    /** Bytes of the instruction whose event is being delivered (0 for a fault or an external event). */
    private int deliveringLen;

    private int deliveringVector() { return deliveringInfo & 0xff; }

    /** Event injection at VM entry (SDM 26.5.1 "Vectored-Event Injection"): delivered, never intercepted. */
    private void inject(int info, int err, int len) {
        int vector = info & 0xff;
        int type = info & INTR_INFO_INTR_TYPE_MASK;
        boolean he = (info & INTR_INFO_DELIVER_CODE_MASK) != 0;
        long ret = rip;
        if (type == INTR_TYPE_SOFT_INTR || type == INTR_TYPE_SOFT_EXCEPTION || type == 0x500)
            ret = (rip + len) & ipMask;
        ip0 = pc = rip;
        deliver(vector, type, he, err, ret);
        if (type == INTR_TYPE_NMI_INTR) interruptibility |= GUEST_INTR_STATE_NMI; // SDM 26.5.1.2: NMIs now blocked
    }

    /** Delivers an event through the real-mode IVT (SDM 20.1.4) or the protected-mode IDT (SDM 6.12). */
    private void deliver(int vector, int type, boolean hasErr, int err, long retIp) {
        stepArmed = false; // the instruction delivering an event takes no single-step trap: TF is cleared (SDM 17.3.1.4)
        int saveInfo = deliveringInfo, saveErr = deliveringError, saveLen = deliveringLen;
        deliveringInfo = vector | type | INTR_INFO_VALID_MASK | (hasErr ? INTR_INFO_DELIVER_CODE_MASK : 0);
        deliveringError = err;
        deliveringLen = (int) (retIp - ip0);
        deliveryDepth++;
        // A guest fault inside delivery propagates with deliveringInfo still naming this event.
        try {
            if (realMode) deliverReal(vector, retIp);
            else if (longMode) deliverLong(vector, type, hasErr, err, retIp);
            // SDM 20.3.3 "Class of Software Interrupt Handling" (methods 5 and 6): with CR4.VME and the
            // software interrupt's bit clear in the TSS redirection bitmap, INT n goes through the 8086
            // IVT at linear address 0; every other event from virtual-8086 mode goes through the IDT
            else if (v86 && type == INTR_TYPE_SOFT_INTR && (cr4 & CR4_VME_BIT) != 0 && !v86Redirected(vector)) deliverV86(vector, retIp);
            else deliverProtected(vector, type, hasErr, err, retIp);
        } catch (VmExitSignal e) {
            if (exitReason == EXIT_REASON_EPT_VIOLATION || exitReason == EXIT_REASON_EPT_MISCONFIG) {
                // SDM 27.2.3 "Information for VM Exits During Event Delivery"
                idtVectoringInfo = deliveringInfo;
                idtVectoringError = deliveringError;
                exitInstrLen = deliveringInstrLen();
            }
            deliveryDepth = 0;
            throw e;
        }
        deliveringInfo = saveInfo;
        deliveringError = saveErr;
        deliveringLen = saveLen;
        deliveryDepth--;
    }

    private boolean v86Redirected(int vector) {
        long tss = base[TR];
        int iomap = (int) sysRd(tss + 0x66, 2);
        return ((rd8(tss + iomap - 32 + (vector >> 3)) >> (vector & 7)) & 1) != 0;
    }

    /**
     * INT n redirected to the 8086 program's handler (SDM "INT n/INTO/INT3/INT1", the VME branch): with
     * IOPL < 3 the pushed FLAGS carry VIF in the IF position and IOPL 3, and VIF rather than IF is cleared.
     */
    private void deliverV86(int vector, long retIp) {
        long entry = rd(vector * 4L, 4);
        long sp = R[RSP_] & 0xffff;
        long ss = ebase[SS];
        long f = flags();
        boolean virt = (f & IOPL) != IOPL;
        if (virt) f = (f & ~IF) | ((f & VIF) != 0 ? IF : 0) | IOPL;
        sp = (sp - 2) & 0xffff; wr(ss + sp, 2, f);
        sp = (sp - 2) & 0xffff; wr(ss + sp, 2, sel[CS]);
        sp = (sp - 2) & 0xffff; wr(ss + sp, 2, retIp);
        R[RSP_] = (R[RSP_] & ~0xffffL) | sp;
        eflags &= ~(TF | RF | (virt ? VIF : IF));
        loadSegReal(CS, (int) (entry >>> 16));
        rip = pc = entry & 0xffff;
        attention = true;
    }

    private void deliverReal(int vector, long retIp) {
        if (vector * 4L + 3 > idtLimit) raise(GP, vector * 8 + 2);
        long entry = rd(idtBase + vector * 4L, 4);
        long sp = R[RSP_] & 0xffff;
        long ss = ebase[SS];
        long f = flags();
        sp = (sp - 2) & 0xffff; wr(ss + sp, 2, f);
        sp = (sp - 2) & 0xffff; wr(ss + sp, 2, sel[CS]);
        sp = (sp - 2) & 0xffff; wr(ss + sp, 2, retIp);
        R[RSP_] = (R[RSP_] & ~0xffffL) | sp;
        eflags &= ~(IF | TF | AC | RF);
        loadSegReal(CS, (int) (entry >>> 16));
        rip = pc = entry & 0xffff;
        attention = true;
    }

    /** IA-32e mode delivery through 16-byte IDT gates (SDM 6.14 "Exception and Interrupt Handling in 64-bit Mode"). */
    private void deliverLong(int vector, int type, boolean hasErr, int err, long retIp) {
        if (vector * 16L + 15 > idtLimit) raise(GP, vector * 8 + 2);
        long lo = sysRd(idtBase + vector * 16L, 8), hi = sysRd(idtBase + vector * 16L + 8, 8);
        int gtype = (int) (lo >>> 40) & 0x1f;
        if (gtype != 0x0e && gtype != 0x0f) raise(GP, vector * 8 + 2);
        if ((lo & (1L << 47)) == 0) raise(NP, vector * 8 + 2);
        if ((type == INTR_TYPE_SOFT_INTR || type == INTR_TYPE_SOFT_EXCEPTION) && ((lo >>> 45) & 3) < cpl())
            raise(GP, vector * 8 + 2);
        int cs = (int) (lo >>> 16) & 0xffff;
        long off = (lo & 0xffff) | ((lo >>> 32) & 0xffff0000L) | (hi << 32);
        int ist = (int) (lo >>> 32) & 7;
        long[] d = descriptor(cs, NP);
        if ((d[2] & 0x6000) != 0x2000 || (d[2] & 0x18) != 0x18) raise(GP, cs & ~3); // 64-bit code: L=1, D=0
        int oldCpl = cpl();
        int newCpl = (d[2] & 4) != 0 ? oldCpl : (int) (d[2] >> 5) & 3; // conforming code keeps CPL
        if (newCpl > oldCpl) raise(GP, cs & ~3);
        long[] keep = {d[0], d[1], d[2]};
        long rsp = R[RSP_];
        if (ist != 0) rsp = sysRd(base[TR] + 0x24 + 8L * (ist - 1), 8);
        else if (newCpl < oldCpl) rsp = sysRd(base[TR] + 4 + 8L * newCpl, 8);
        rsp &= ~0xfL;
        long f = flags() | (faultRf ? RF : 0);
        long[] frame = {sel[SS], R[RSP_], f, sel[CS], retIp};
        long sp = rsp;
        boolean sys = sysAccess;
        sysAccess = newCpl < 3; // the pushes are made at the handler's privilege level
        try {
            for (long v : frame) { sp -= 8; wr(sp, 8, v); }
            if (hasErr) { sp -= 8; wr(sp, 8, err & 0xffffffffL); }
        } finally { sysAccess = sys; }
        if (newCpl < oldCpl) {
            sel[SS] = newCpl; base[SS] = ebase[SS] = 0; ar[SS] = 0x10000 | (newCpl << 5) | 0x93;
        }
        R[RSP_] = sp;
        if ((gtype & 1) == 0) eflags &= ~IF;
        eflags &= ~(TF | NT | RF | VM);
        commitSeg(CS, (cs & ~3) | newCpl, keep);
        rip = pc = off;
        attention = true;
    }

    private void deliverProtected(int vector, int type, boolean hasErr, int err, long retIp) {
        if (vector * 8L + 7 > idtLimit) raise(GP, vector * 8 + 2);
        long lo = sysRd(idtBase + vector * 8L, 4), hi = sysRd(idtBase + vector * 8L + 4, 4);
        int gtype = (int) (hi >>> 8) & 0x1f;
        if ((hi & 0x8000) == 0) raise(NP, vector * 8 + 2);
        int cs = (int) (lo >>> 16);
        long off = (lo & 0xffff) | (hi & 0xffff0000L);
        boolean gate32;
        if (gtype == 0x0e || gtype == 0x0f) gate32 = true;
        else if (gtype == 0x06 || gtype == 0x07) { gate32 = false; off &= 0xffff; }
        else if (gtype == 0x05) {
            // an event through a task gate is a task switch: VM exit, with the event in IDT-vectoring info
            idtVectoringInfo = deliveringInfo;
            idtVectoringError = deliveringError;
            deliveryDepth = 0;
            // SDM 27.2.4: a task switch through the IDT caused by INT n, INT3, INTO or INT1 saves the
            // instruction length, which vmx.c's handle_task_switch uses to skip the instruction
            boolean soft = type == INTR_TYPE_SOFT_INTR || type == INTR_TYPE_SOFT_EXCEPTION || type == 0x500;
            vmexit(EXIT_REASON_TASK_SWITCH, (lo >>> 16) & 0xffff | 3L << 30, soft ? (int) (retIp - ip0) : 0);
            return;
        }
        else { raise(GP, vector * 8 + 2); return; }
        if ((type == INTR_TYPE_SOFT_INTR || type == INTR_TYPE_SOFT_EXCEPTION) && ((hi >>> 13) & 3) < cpl())
            raise(GP, vector * 8 + 2);
        long[] d = descriptor(cs, GP);
        long[] dk = {d[0], d[1], d[2]};
        if ((dk[2] & 0x18) != 0x18) raise(GP, cs & ~3);
        int oldCpl = cpl();
        int newCpl = (dk[2] & 4) != 0 ? oldCpl : (int) (dk[2] >> 5) & 3; // conforming code keeps CPL
        if (newCpl > oldCpl) raise(GP, cs & ~3);
        // SDM 20.3.1.1: from virtual-8086 mode the handler must be in a non-conforming ring-0 segment
        boolean fromV86 = v86;
        if (fromV86 && newCpl != 0) raise(GP, cs & ~3);
        int sz = gate32 ? 4 : 2;
        long f = flags() | (faultRf ? RF : 0);
        if (newCpl < oldCpl) {
            // SDM 6.12.1 "Exception- or Interrupt-Handler Procedures": the inner stack comes from the TSS
            long tss = base[TR];
            boolean tss32 = (ar[TR] & 8) != 0;
            long nsp = tss32 ? sysRd(tss + 4 + 8L * newCpl, 4) : sysRd(tss + 2 + 4L * newCpl, 2);
            int nss = (int) sysRd(tss + (tss32 ? 8 + 8L * newCpl : 4 + 4L * newCpl), 2);
            if ((nss & ~3) == 0 || (nss & 3) != newCpl) raise(TS, nss & ~3);
            long[] sd = descriptor(nss, SS_FAULT);
            long[] sdk = {sd[0], sd[1], sd[2]};
            if ((sdk[2] & 0x1a) != 0x12 || ((sdk[2] >> 5) & 3) != newCpl) raise(TS, nss & ~3);
            long m = (sdk[2] & 0x4000) != 0 ? 0xffffffffL : 0xffff;
            long sp = nsp & m;
            // SDM 6.12.1: the new stack must hold the frame, else #SS(new SS selector)
            for (int k = (hasErr ? 6 : 5) + (fromV86 ? 4 : 0); k > 0; k--)
                if (outsideLimit((sp - (long) k * sz) & m, sz, sdk[1], (int) sdk[2])) raise(SS_FAULT, nss & ~3);
            // SDM 20.3.1.1 "Handling an Interrupt or Exception Through a Protected-Mode Trap or Interrupt
            // Gate": from virtual-8086 mode GS, FS, DS and ES are saved below SS:ESP, then made null
            long[] frame = fromV86
                    ? new long[]{sel[GS], sel[FS], sel[DS], sel[ES], sel[SS], R[RSP_] & 0xffffffffL, f, sel[CS], retIp}
                    : new long[]{sel[SS], R[RSP_] & spMask, f, sel[CS], retIp};
            boolean sys = sysAccess;
            sysAccess = true; // the pushes on the inner stack are made at its (supervisor) privilege level
            try {
                for (long v : frame) { sp = (sp - sz) & m; wr(sdk[0] + sp, sz, v); }
                if (hasErr) { sp = (sp - sz) & m; wr(sdk[0] + sp, sz, err); }
            } finally { sysAccess = sys; }
            if (fromV86) {
                eflags &= ~VM; // protected mode from here on: SS:ESP are the ring-0 stack's
                for (int s : new int[]{ES, DS, FS, GS}) nullSeg(s);
            }
            commitSeg(SS, nss, sdk);
            setSp(sp);
        } else {
            long sp = R[RSP_] & spMask;
            long ss = ebase[SS];
            // SDM 6.12.1: pushes beyond the stack limit are #SS(0) when the stack does not change
            for (int k = hasErr ? 4 : 3; k > 0; k--) stackCheck((sp - (long) k * sz) & spMask, sz);
            sp = (sp - sz) & spMask; wr(ss + sp, sz, f);
            sp = (sp - sz) & spMask; wr(ss + sp, sz, sel[CS]);
            sp = (sp - sz) & spMask; wr(ss + sp, sz, retIp);
            if (hasErr) { sp = (sp - sz) & spMask; wr(ss + sp, sz, err); }
            setSp(sp);
        }
        if ((gtype & 1) == 0) eflags &= ~IF;
        eflags &= ~(TF | NT | RF | VM);
        commitSeg(CS, (cs & ~3) | newCpl, dk);
        rip = pc = off & ipMask;
        attention = true;
    }

    private static final int RSP_ = 4;

    // ---------------------------------------------------------------- segments

    void loadSegReal(int s, int selector) {
        sel[s] = selector & 0xffff;
        base[s] = ebase[s] = (long) (selector & 0xffff) << 4;
        if (v86) { limit[s] = 0xffff; ar[s] = 0xf3; }
        if (s == CS || s == SS) updateMode(); else segCache(s);
    }

    /**
     * MOV/POP to a segment register, far transfers: the mode decides how the selector is used. The
     * protected-mode checks and their order follow SDM "MOV—Move" (segment register loads) and 5.6
     * "Privilege Level Checking When Accessing Data Segments", 5.8.1 "Direct Calls or Jumps to Code
     * Segments": a null selector (#GP(0) for SS, allowed for data segments), the table limit, the
     * descriptor type and privilege (#GP(selector)), and last the present bit (#SS(selector) for SS,
     * else #NP(selector)).
     */
    private void loadSeg(int s, int selector) {
        if (realMode || v86) { loadSegReal(s, selector); return; }
        selector &= 0xffff;
        int c = cpl();
        if ((selector & ~3) == 0) {
            // SDM 3.4.4: a null SS is only possible in 64-bit mode, below ring 3 and with RPL = CPL
            if (s == CS || (s == SS && (!code64 || c == 3 || (selector & 3) != c))) raise(GP, 0);
            if (s == SS) {
                sel[s] = selector;
                base[s] = ebase[s] = 0;
                limit[s] = 0;
                ar[s] = 0x10000 | c << 5;
                updateMode();
            } else {
                nullSeg(s);
                sel[s] = selector;
            }
            return;
        }
        long[] d = descriptor(selector, -1);
        int a = (int) d[2];
        if ((a & 0x10) == 0) raise(GP, selector & ~3);
        if (s == SS && (a & 0xa) != 2) raise(GP, selector & ~3);
        if (s != CS && s != SS && (a & 0xa) == 8) raise(GP, selector & ~3);
        if (s == CS && (a & 8) == 0) raise(GP, selector & ~3);
        int dpl = (a >> 5) & 3, rpl = selector & 3;
        if (s == CS) {
            boolean conforming = (a & 4) != 0;
            if (conforming ? dpl > c : (dpl != c || rpl > c)) raise(GP, selector & ~3);
            if (longMode && (a & 0x6000) == 0x6000) raise(GP, selector & ~3); // L and D both set
        } else if (s == SS) {
            if (rpl != c || dpl != c) raise(GP, selector & ~3);
        } else if ((a & 0xc) != 0xc && dpl < Math.max(c, rpl)) {
            raise(GP, selector & ~3);
        }
        if ((a & 0x80) == 0) raise(s == SS ? SS_FAULT : NP, selector & ~3);
        markAccessed(a);
        commitSeg(s, s == CS ? (selector & ~3) | c : selector, d);
    }

    /** Loads a null selector into a data segment register: the register becomes unusable (SDM 3.4.2). */
    private void nullSeg(int s) {
        sel[s] = 0;
        base[s] = ebase[s] = 0;
        limit[s] = 0;
        ar[s] = 0x10000;
        segCache(s);
    }

    private void commitSeg(int s, int selector, long[] d) {
        sel[s] = selector;
        base[s] = d[0];
        ebase[s] = code64 && s < FS ? 0 : d[0];
        limit[s] = (int) d[1];
        ar[s] = (int) d[2] | 1; // accessed
        if (s == CS || s == SS) updateMode(); else segCache(s);
    }

    private final long[] descBuf = new long[3];
    /** Linear address of the descriptor {@link #descriptor} read last. */
    private long lastDescAddr;

    /**
     * Sets the accessed bit of the descriptor just read, as loading it into a segment register does
     * (SDM 3.4.5.1 "Code- and Data-Segment Descriptor Types": the processor sets it in memory).
     */
    private void markAccessed(int a) {
        if ((a & 1) == 0) sysWr(lastDescAddr + 5, 1, (a & 0xff) | 1);
    }

    /**
     * Reads a segment descriptor from the GDT/LDT: {base, limit, VMCS-format access rights}. A selector
     * beyond the table limit is #GP(selector); a not-present descriptor raises {@code npVector}, unless
     * it is negative (the caller checks presence after the type, as the SDM orders it).
     */
    private long[] descriptor(int selector, int npVector) {
        boolean ldt = (selector & 4) != 0;
        long tb = ldt ? base[LDTR] : gdtBase;
        long tl = ldt ? limit[LDTR] & 0xffffffffL : gdtLimit;
        if (ldt && (ar[LDTR] & 0x10000) != 0) raise(GP, selector & ~3);
        int idx = selector & ~7;
        if (idx + 7 > tl) raise(GP, selector & ~3);
        long lo = sysRd(tb + idx, 4), hi = sysRd(tb + idx + 4, 4);
        lastDescAddr = tb + idx;
        if ((hi & 0x8000) == 0 && npVector >= 0) raise(npVector, selector & ~3);
        long b = ((lo >>> 16) & 0xffff) | ((hi & 0xff) << 16) | (hi & 0xff000000L);
        long lim = (lo & 0xffff) | (hi & 0xf0000L);
        if ((hi & 0x800000) != 0) lim = (lim << 12) | 0xfff;
        descBuf[0] = b;
        descBuf[1] = lim;
        descBuf[2] = (hi >>> 8) & 0xf0ffL;
        return descBuf;
    }

    // ---------------------------------------------------------------- segment limit and type checks

    /**
     * Per segment register: whether a data access through it must be checked (limit, type, a null
     * selector; in 64-bit mode only SS, for the #SS of a non-canonical stack address). False for the
     * common flat case -- an expand-up writable data segment with a 4-GByte limit -- and for FS/GS in
     * 64-bit mode, so that the check costs one array load on the usual path.
     */
    private final boolean[] segChk = new boolean[8];

    /** Recomputes {@link #segChk} (after a segment register or the mode changed). */
    private void segCache(int s) {
        int a = ar[s];
        boolean flat = limit[s] == -1 && (a & 0x1001e) == 0x12;
        segChk[s] = code64 ? s == SS : !flat;
    }

    /** The fault of a segment check: #SS(0) for the stack segment, else #GP(0). */
    private void segFault(int s) {
        raise(s == SS ? SS_FAULT : GP, 0);
    }

    /**
     * Checks a data access of {@code sz} bytes at offset {@code off} of segment {@code s}, as SDM Vol. 3
     * 5.3 "Limit Checking" and 5.4 "Type Checking" require: a null (unusable) segment, a write to a code or
     * read-only data segment, a read of an execute-only code segment are #GP(0); an offset outside the
     * limit (for an expand-down segment: at or below the limit, or above 64 KiB / 4 GiB by its B flag) is
     * #GP(0), or #SS(0) through SS. In real-address and virtual-8086 mode only the limit applies; in
     * 64-bit mode only the canonical-address check (SDM 3.3.7.1), which faults #SS(0) for the stack.
     */
    private void segCheck(int s, long off, int sz, boolean write) {
        if (code64) {
            long lin = ebase[s] + off;
            if (((lin << 16) >> 16) != lin) segFault(s);
            return;
        }
        int a = ar[s];
        boolean prot = !realMode && !v86;
        if (prot) {
            if ((a & 0x10000) != 0) raise(GP, 0);
            if ((a & 8) != 0) {
                if (write || (a & 2) == 0) raise(GP, 0);
            } else if (write && (a & 2) == 0) raise(GP, 0);
        }
        if (outsideLimit(off, sz, limit[s], prot ? a : 0)) segFault(s);
    }

    /**
     * Whether bytes [off, off+sz) lie outside a segment of limit {@code lim} and access rights {@code a}:
     * beyond the limit, or for an expand-down data segment at or below it or above 64 KiB / 4 GiB by
     * its B flag (SDM 5.3 "Limit Checking").
     */
    private static boolean outsideLimit(long off, int sz, long lim, int a) {
        lim &= 0xffffffffL;
        long last = off + sz - 1;
        if ((a & 0x1c) == 0x14) return off <= lim || last > ((a & 0x4000) != 0 ? 0xffffffffL : 0xffff);
        return last > lim;
    }

    /** Checks the memory operand of the current ModRM instruction (no-op for a register operand). */
    private void rmCheck(int sz, boolean write) {
        if (mrMod != 3 && segChk[eaSeg]) segCheck(eaSeg, eaOff, sz, write);
    }

    /** Checks a stack access at stack-pointer value {@code off}. */
    private void stackCheck(long off, int sz) {
        if (segChk[SS]) segCheck(SS, off, sz, true);
    }

    // ---------------------------------------------------------------- stack

    private long sp() { return R[RSP_] & spMask; }

    private void setSp(long v) {
        if (code64) R[RSP_] = v;
        else if (stack32) R[RSP_] = v & 0xffffffffL;
        else R[RSP_] = (R[RSP_] & ~0xffffL) | (v & 0xffff);
    }

    private void push(long v, int sz) {
        long s = (sp() - sz) & spMask;
        if (segChk[SS]) segCheck(SS, s, sz, true);
        wr(ebase[SS] + s, sz, v);
        setSp(s);
    }

    private long pop(int sz) {
        long s = sp();
        if (segChk[SS]) segCheck(SS, s, sz, false);
        long v = rd(ebase[SS] + s, sz);
        setSp(s + sz);
        return v;
    }

    // ---------------------------------------------------------------- ModRM

    void modrm() { modrm(0); }

    /**
     * Decodes a ModRM byte (and SIB, displacement). {@code immLen} is the size of an immediate that
     * follows, needed for RIP-relative addresses (SDM 2.2.1.6): negative means group 3, whose /0 and /1
     * forms carry an immediate of -immLen bytes.
     */
    void modrm(int immLen) {
        int m = fetch8();
        mrMod = m >> 6;
        mrReg = ((m >> 3) & 7) | (rex & 4) << 1;
        mrRm = (m & 7) | (rex & 1) << 3;
        if (mrMod != 3) {
            if (asz == 2) ea16(); else ea32(m & 7);
            if (ripRelative) {
                int imm = immLen >= 0 ? immLen : ((m >> 3) & 7) < 2 ? -immLen : 0;
                eaOff = (eaOff + pc + imm) & MASK[asz];
            }
            ea = (ebase[eaSeg] + eaOff) & linMask;
        }
    }

    private boolean ripRelative;

    private void ea16() {
        long off;
        int seg = DS;
        eaScale = 0;
        ripRelative = false;
        switch (mrRm) {
            case 0: off = R[3] + R[6]; eaBase = 3; eaIndex = 6; break;
            case 1: off = R[3] + R[7]; eaBase = 3; eaIndex = 7; break;
            case 2: off = R[5] + R[6]; eaBase = 5; eaIndex = 6; seg = SS; break;
            case 3: off = R[5] + R[7]; eaBase = 5; eaIndex = 7; seg = SS; break;
            case 4: off = R[6]; eaBase = 6; eaIndex = -1; break;
            case 5: off = R[7]; eaBase = 7; eaIndex = -1; break;
            case 6:
                if (mrMod == 0) { off = 0; eaBase = -1; eaIndex = -1; break; }
                off = R[5]; eaBase = 5; eaIndex = -1; seg = SS; break;
            default: off = R[3]; eaBase = 3; eaIndex = -1; break;
        }
        if (mrMod == 1) off += (byte) fetch8();
        else if (mrMod == 2 || (mrMod == 0 && mrRm == 6)) off += fetch16();
        eaOff = off & 0xffff;
        eaSeg = segOv >= 0 ? segOv : seg;
    }

    /** 32- and 64-bit addressing forms (SDM Tables 2-2 and 2-3, REX.X/REX.B extend index and base). */
    private void ea32(int rm) {
        long off;
        int seg = DS;
        int rb = (rex & 1) << 3;
        eaIndex = -1;
        eaScale = 0;
        ripRelative = false;
        if (rm == 4) {
            int sib = fetch8();
            int scale = sib >> 6, idx = ((sib >> 3) & 7) | (rex & 2) << 2, b = sib & 7;
            eaScale = scale;
            off = 0;
            if (idx != 4) { off = (asz == 8 ? R[idx] : R[idx] & 0xffffffffL) << scale; eaIndex = idx; }
            if (b == 5 && mrMod == 0) { off += (int) fetch32(); eaBase = -1; }
            else {
                off += R[b | rb];
                eaBase = b | rb;
                if (b == 4 || b == 5) seg = SS;
            }
        } else if (rm == 5 && mrMod == 0) {
            off = (int) fetch32();
            eaBase = -1;
            ripRelative = code64; // disp32 is relative to the next instruction in 64-bit mode
        } else {
            off = R[rm | rb];
            eaBase = rm | rb;
            if (rm == 5) seg = SS;
        }
        if (mrMod == 1) off += (byte) fetch8();
        else if (mrMod == 2) off += (int) fetch32();
        eaOff = off & MASK[asz];
        eaSeg = segOv >= 0 ? segOv : seg;
    }

    private long rmRead(int sz) {
        if (mrMod == 3) return getReg(mrRm, sz);
        if (segChk[eaSeg]) segCheck(eaSeg, eaOff, sz, false);
        return rd(ea, sz);
    }

    /** The read of a read-modify-write operand: checked for writing first, so that no flag changes before a #GP. */
    private long rmReadW(int sz) {
        if (mrMod == 3) return getReg(mrRm, sz);
        if (segChk[eaSeg]) segCheck(eaSeg, eaOff, sz, true);
        return rd(ea, sz);
    }

    private void rmWrite(int sz, long v) {
        if (mrMod == 3) { setReg(mrRm, sz, v); return; }
        if (segChk[eaSeg]) segCheck(eaSeg, eaOff, sz, true);
        wr(ea, sz, v);
    }

    /** Linear address of a memory operand at segment:offset, with the override applied, checked for an access of sz bytes. */
    private long linear(int defSeg, long off, int sz, boolean write) {
        int s = segOv >= 0 ? segOv : defSeg;
        if (segChk[s]) segCheck(s, off, sz, write);
        return (ebase[s] + off) & linMask;
    }

    /** Checks a string-instruction access through segment s at offset off. */
    private void strCheck(int s, long off, int sz, boolean write) {
        if (segChk[s]) segCheck(s, off, sz, write);
    }

    // ---------------------------------------------------------------- decode and execute

    /** What each byte is as a prefix (SDM 2.1.1 legacy prefixes, 2.2.1 REX), 0 for none. */
    private static final byte[] PREFIX = new byte[256];
    private static final int P_OSZ = 1, P_ASZ = 2, P_REP = 3, P_LOCK = 4, P_REX = 5, P_SEG = 8; // P_SEG + register
    static {
        PREFIX[0x66] = P_OSZ;
        PREFIX[0x67] = P_ASZ;
        PREFIX[0xf2] = PREFIX[0xf3] = P_REP;
        PREFIX[0xf0] = P_LOCK;
        int[] segs = {0x26, ES, 0x2e, CS, 0x36, SS, 0x3e, DS, 0x64, FS, 0x65, GS};
        for (int k = 0; k < segs.length; k += 2) PREFIX[segs[k]] = (byte) (P_SEG + segs[k + 1]);
        for (int r = 0x40; r <= 0x4f; r++) PREFIX[r] = P_REX;
    }

    /**
     * Decodes the legacy and REX prefixes of the instruction at pc into the operand size, address size,
     * segment override, REP and REX state; returns the opcode byte that follows them, plus {@link #LOCKED}
     * after a LOCK prefix. (Table-driven and small, so that the JIT inlines it into step().)
     */
    int prefixes() {
        int dsz = code32 || code64 ? 4 : 2;
        osz = dsz;
        asz = code64 ? 8 : dsz;
        segOv = -1;
        rep = 0;
        rex = 0;
        int lock = 0;
        int op;
        for (int n = 0; ; n++) {
            if (n == 15) raise(GP, 0); // SDM 2.3.11: an instruction is at most 15 bytes
            op = fetch8();
            int p = PREFIX[op];
            if (p == 0 || (p == P_REX && !code64)) break;
            if (p == P_REX) { rex = op; continue; } // SDM 2.2.1: REX counts only as the last prefix
            rex = 0;
            if (p >= P_SEG) segOv = p - P_SEG;
            else if (p == P_OSZ) osz = dsz ^ 6;
            else if (p == P_ASZ) asz = code64 ? 4 : dsz ^ 6;
            else if (p == P_REP) rep = op;
            else if (p == P_LOCK) lock = LOCKED;
        }
        rexByte = rex != 0;
        if ((rex & 8) != 0) osz = 8;
        return op | lock;
    }

    /** Added by {@link #prefixes} to the opcode of an instruction with a LOCK prefix (F0). */
    static final int LOCKED = 0x100;

    /**
     * SDM Vol. 2 "LOCK—Assert LOCK# Signal Prefix": LOCK is accepted only by ADD, ADC, AND, BTC, BTR, BTS,
     * CMPXCHG, CMPXCHG8B/16B, DEC, INC, NEG, NOT, OR, SBB, SUB, XOR, XADD and XCHG with a memory
     * destination; on anything else, or with a register destination, the instruction is #UD. Reads the
     * opcode byte and ModRM that follow {@code op} without consuming them (a single processor executes
     * the accepted forms atomically anyway).
     */
    boolean lockAccepted(int op) {
        long at = pc;
        try {
            int regs; // bit n set: ModRM.reg n is a lockable form of the opcode
            if (op < 0x38 && (op & 7) < 2) regs = 0xff;             // ALU r/m, r (not CMP)
            else if (op >= 0x80 && op <= 0x83) regs = 0x7f;         // group 1 r/m, imm (not CMP)
            else if (op == 0x86 || op == 0x87) regs = 0xff;         // XCHG
            else if (op == 0xf6 || op == 0xf7) regs = 0x0c;         // NOT, NEG
            else if (op == 0xfe || op == 0xff) regs = 0x03;         // INC, DEC
            else if (op == 0x0f) {
                int op2 = fetch8();
                if (op2 == 0xab || op2 == 0xb3 || op2 == 0xbb            // BTS, BTR, BTC r/m, r
                        || op2 == 0xb0 || op2 == 0xb1 || op2 == 0xc0 || op2 == 0xc1) regs = 0xff; // CMPXCHG, XADD
                else if (op2 == 0xba) regs = 0xe0;                   // BTS, BTR, BTC r/m, imm8
                else if (op2 == 0xc7) regs = 0x02;                   // CMPXCHG8B/16B
                else return false;
            } else return false;
            int m = fetch8();
            return m < 0xc0 && (regs >> ((m >> 3) & 7) & 1) != 0;
        } finally {
            pc = at;
        }
    }

    private void step() {
        int op = prefixes();
        if (op >= LOCKED) { op -= LOCKED; if (!lockAccepted(op)) raise(UD); }
        if (code64 && INVALID64[op]) raise(UD);
        int sz = osz;
        switch (op) {
            case 0x00: case 0x08: case 0x10: case 0x18: case 0x20: case 0x28: case 0x30: case 0x38:
                aluRmReg(op >> 3, 1); return;
            case 0x01: case 0x09: case 0x11: case 0x19: case 0x21: case 0x29: case 0x31: case 0x39:
                aluRmReg(op >> 3, sz); return;
            case 0x02: case 0x0a: case 0x12: case 0x1a: case 0x22: case 0x2a: case 0x32: case 0x3a:
                aluRegRm(op >> 3, 1); return;
            case 0x03: case 0x0b: case 0x13: case 0x1b: case 0x23: case 0x2b: case 0x33: case 0x3b:
                aluRegRm(op >> 3, sz); return;
            case 0x04: case 0x0c: case 0x14: case 0x1c: case 0x24: case 0x2c: case 0x34: case 0x3c: {
                long r = alu(op >> 3, R[0], fetch8(), 1);
                if (op != 0x3c) setReg(0, 1, r);
                return;
            }
            case 0x05: case 0x0d: case 0x15: case 0x1d: case 0x25: case 0x2d: case 0x35: case 0x3d: {
                long r = alu(op >> 3, R[0], fetchImm(sz), sz);
                if (op != 0x3d) setReg(0, sz, r);
                return;
            }
            case 0x0f: step0f(); return;
            case 0x40: case 0x41: case 0x42: case 0x43: case 0x44: case 0x45: case 0x46: case 0x47:
                setReg(op & 7, sz, inc(getReg(op & 7, sz), sz, false)); return;
            case 0x48: case 0x49: case 0x4a: case 0x4b: case 0x4c: case 0x4d: case 0x4e: case 0x4f:
                setReg(op & 7, sz, inc(getReg(op & 7, sz), sz, true)); return;
            case 0x50: case 0x51: case 0x52: case 0x53: case 0x54: case 0x55: case 0x56: case 0x57: {
                int s2 = ssz();
                push(getReg((op & 7) | (rex & 1) << 3, s2), s2);
                return;
            }
            case 0x58: case 0x59: case 0x5a: case 0x5b: case 0x5c: case 0x5d: case 0x5e: case 0x5f: {
                int s2 = ssz();
                long v = pop(s2);
                setReg((op & 7) | (rex & 1) << 3, s2, v);
                return;
            }
            case 0x68: { int s2 = ssz(); push(fetchImm(s2), s2); return; }
            case 0x6a: push(sext(fetch8(), 1), ssz()); return;
            case 0x70: case 0x71: case 0x72: case 0x73: case 0x74: case 0x75: case 0x76: case 0x77:
            case 0x78: case 0x79: case 0x7a: case 0x7b: case 0x7c: case 0x7d: case 0x7e: case 0x7f: {
                long d = (byte) fetch8();
                if (cond(op)) jumpRel(d);
                return;
            }
            case 0x80: case 0x82: {
                modrm(1);
                long a = mrReg == 7 ? rmRead(1) : rmReadW(1);
                long r = alu(mrReg, a, fetch8(), 1);
                if (mrReg != 7) rmWrite(1, r);
                return;
            }
            case 0x81: case 0x83: {
                modrm(op == 0x81 ? Math.min(sz, 4) : 1);
                long a = mrReg == 7 ? rmRead(sz) : rmReadW(sz);
                long b = op == 0x81 ? fetchImm(sz) : (byte) fetch8();
                long r = alu(mrReg, a, b, sz);
                if (mrReg != 7) rmWrite(sz, r);
                return;
            }
            case 0x84: case 0x85: {
                int s = op == 0x84 ? 1 : sz;
                modrm();
                logicFlags(rmRead(s) & getReg(mrReg, s), s);
                return;
            }
            case 0x86: case 0x87: {
                int s = op == 0x86 ? 1 : sz;
                modrm();
                long a = rmReadW(s);
                rmWrite(s, getReg(mrReg, s));
                setReg(mrReg, s, a);
                return;
            }
            case 0x88: modrm(); rmWrite(1, getReg(mrReg, 1)); return;
            case 0x89: modrm(); rmWrite(sz, getReg(mrReg, sz)); return;
            case 0x8a: modrm(); setReg(mrReg, 1, rmRead(1)); return;
            case 0x8b: modrm(); setReg(mrReg, sz, rmRead(sz)); return;
            case 0x8d: {
                modrm();
                if (mrMod == 3) raise(UD);
                setReg(mrReg, sz, eaOff);
                return;
            }
            case 0x90:
                if ((rex & 1) == 0) {
                    if (rep == 0xf3) {
                        if ((procControls & CPU_BASED_PAUSE_EXITING) != 0) instrExit(EXIT_REASON_PAUSE_INSTRUCTION, 0);
                        if ((proc2Controls & SECONDARY_EXEC_PAUSE_LOOP_EXITING) != 0 && secondary() && cpl() == 0) pauseLoop();
                    }
                    return;
                }
                // with REX.B, 90 is XCHG r8, rAX
            case 0x91: case 0x92: case 0x93: case 0x94: case 0x95: case 0x96: case 0x97: {
                int r = (op & 7) | (rex & 1) << 3;
                long a = getReg(0, sz);
                setReg(0, sz, getReg(r, sz));
                setReg(r, sz, a);
                return;
            }
            case 0x9c: pushf(ssz()); return;
            case 0x9d: popf(ssz()); return;
            case 0xa4: case 0xa5: case 0xa6: case 0xa7: case 0xaa: case 0xab: case 0xac: case 0xad: case 0xae: case 0xaf:
                string(op, (op & 1) == 0 ? 1 : sz);
                return;
            case 0xa8: logicFlags(R[0] & fetch8(), 1); return;
            case 0xa9: logicFlags(getReg(0, sz) & fetchImm(sz), sz); return;
            case 0xb0: case 0xb1: case 0xb2: case 0xb3: case 0xb4: case 0xb5: case 0xb6: case 0xb7:
                setReg((op & 7) | (rex & 1) << 3, 1, fetch8()); return;
            case 0xb8: case 0xb9: case 0xba: case 0xbb: case 0xbc: case 0xbd: case 0xbe: case 0xbf:
                setReg((op & 7) | (rex & 1) << 3, sz, sz == 8 ? fetch64() : fetchImm(sz)); return;
            case 0xc0: case 0xc1: case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
                int s = (op & 1) == 0 ? 1 : sz;
                modrm(op < 0xc2 ? 1 : 0);
                int cnt = op < 0xc2 ? fetch8() : op < 0xd2 ? 1 : (int) R[1] & 0xff;
                long a = rmReadW(s);
                long r = shift(mrReg, a, cnt, s);
                rmWrite(s, r);
                commitShiftFlags();
                return;
            }
            case 0xc3: ret(0); return;
            case 0xc6: modrm(1); rmWrite(1, fetch8()); return;
            case 0xc7: modrm(Math.min(sz, 4)); rmWrite(sz, fetchImm(sz)); return;
            case 0xe0: case 0xe1: case 0xe2: {
                long d = (byte) fetch8();
                long c = (getReg(1, asz) - 1) & MASK[asz];
                setReg(1, asz, c);
                boolean take = c != 0 && (op == 0xe2 || (op == 0xe1) == zf());
                if (take) jumpRel(d);
                return;
            }
            case 0xe3: {
                long d = (byte) fetch8();
                if (getReg(1, asz) == 0) jumpRel(d);
                return;
            }
            case 0xe8: {
                int s2 = ssz();
                long d = sext(fetchImm(s2), s2);
                long ret = pc, t = branchTarget((ret + d) & MASK[s2]);
                push(ret, s2);
                pc = t;
                return;
            }
            case 0xe9: jumpRel(sext(fetchImm(sz), sz)); return;
            case 0xeb: jumpRel((byte) fetch8()); return;
            case 0xf6: case 0xf7: group3(op == 0xf6 ? 1 : sz); return;
            case 0xf8: setFlagBit(CF, false); return;
            case 0xf9: setFlagBit(CF, true); return;
            case 0xfa: cli(); return;
            case 0xfb: sti(); return;
            case 0xfc: eflags &= ~DF; return;
            case 0xfd: eflags |= DF; return;
            case 0xfe: {
                modrm();
                if (mrReg > 1) raise(UD);
                rmWrite(1, inc(rmReadW(1), 1, mrReg == 1));
                return;
            }
            case 0xff: group5(sz); return;

            default:
                stepRare(op, sz);
        }
    }

    /** The less frequent one-byte opcodes, kept out of step() so the hot dispatch stays small. */
    private void stepRare(int op, int sz) {
        switch (op) {
            case 0x06: push(sel[ES], sz); return;
            case 0x07: popSeg(ES); return;
            case 0x0e: push(sel[CS], sz); return;
            case 0x16: push(sel[SS], sz); return;
            case 0x17: popSeg(SS); return;
            case 0x1e: push(sel[DS], sz); return;
            case 0x1f: popSeg(DS); return;
            case 0x27: daa(false); return;
            case 0x2f: daa(true); return;
            case 0x37: aaa(false); return;
            case 0x3f: aaa(true); return;
            case 0x62: bound(sz); return;
            case 0x63: // MOVSXD in 64-bit mode; ARPL elsewhere
                if (!code64) { arpl(); return; }
                modrm();
                setReg(mrReg, sz, sext(rmRead(4), 4));
                return;
            case 0x60: pusha(sz); return;
            case 0x61: popa(sz); return;
            case 0x69: case 0x6b: {
                modrm(op == 0x6b ? 1 : Math.min(sz, 4));
                long a = sext(rmRead(sz), sz);
                long b = op == 0x6b ? (byte) fetch8() : sext(fetchImm(sz), sz);
                setReg(mrReg, sz, imul2(a, b, sz));
                return;
            }
            case 0x6c: case 0x6d: ioString(true, op == 0x6c ? 1 : Math.min(sz, 4)); return;
            case 0x6e: case 0x6f: ioString(false, op == 0x6e ? 1 : Math.min(sz, 4)); return;
            case 0x8c: {
                modrm();
                if (mrReg > 5) raise(UD);
                rmWrite(mrMod == 3 ? sz : 2, sel[mrReg]);
                return;
            }
            case 0x8e: {
                modrm();
                if (mrReg > 5 || mrReg == CS) raise(UD);
                loadSeg(mrReg, (int) rmRead(2));
                if (mrReg == SS) movSsShadow();
                return;
            }
            case 0x8f: {
                int s2 = ssz();
                modrm();
                long s0 = sp();
                long v = pop(s2);
                if (mrMod != 3) {
                    // SDM POP: an ESP-based address uses ESP after the pop; undo on fault
                    try { rmWrite(s2, v); } catch (RuntimeException e) { setSp(s0); throw e; }
                } else setReg(mrRm, s2, v);
                return;
            }
            case 0x98:
                if (sz == 2) setReg(0, 2, (byte) R[0]); else if (sz == 4) setReg(0, 4, (short) R[0]); else R[0] = (int) R[0];
                return;
            case 0x99:
                if (sz == 2) setReg(2, 2, ((short) R[0]) < 0 ? 0xffff : 0);
                else if (sz == 4) setReg(2, 4, ((int) R[0]) < 0 ? 0xffffffffL : 0);
                else R[2] = R[0] < 0 ? -1L : 0;
                return;
            case 0x9a: {
                long off = fetchImm(sz);
                int s = fetch16();
                farCall(s, off, sz);
                return;
            }
            case 0x9b: fwait(); return;
            case 0x9e: {
                long f = flags();
                eflags = (f & ~0xd5L) | (R[0] >>> 8 & 0xd5) | 2;
                return;
            }
            case 0x9f: setReg(4, 1, flags() & 0xd7 | 2); return;
            case 0xa0: case 0xa1: case 0xa2: case 0xa3: {
                int s = (op & 1) == 0 ? 1 : sz;
                long off = asz == 2 ? fetch16() : asz == 4 ? fetch32() : fetch64();
                long lin = linear(DS, off, s, op >= 0xa2);
                if (op < 0xa2) setReg(0, s, rd(lin, s)); else wr(lin, s, getReg(0, s));
                return;
            }
            case 0xc2: ret(fetch16()); return;
            case 0xc4: case 0xc5: loadFarPointer(op == 0xc4 ? ES : DS, sz); return;
            case 0xc8: enter(ssz()); return;
            case 0xc9: {
                int s2 = ssz();
                long bp = getReg(5, code64 ? 8 : stack32 ? 4 : 2);
                stackCheck(bp & spMask, s2);
                long v = rd(ebase[SS] + (bp & spMask), s2);
                setSp(bp + s2);
                setReg(5, s2, v);
                return;
            }
            case 0xca: case 0xcb: {
                int n = op == 0xca ? fetch16() : 0;
                farReturn(sz, n);
                return;
            }
            case 0xcc: softInt(BP, INTR_TYPE_SOFT_EXCEPTION); return;
            case 0xcd: softInt(fetch8(), INTR_TYPE_SOFT_INTR); return;
            case 0xce: if (of()) softInt(OFV, INTR_TYPE_SOFT_EXCEPTION); return;
            case 0xcf: if (longMode) iret64(sz); else iret(sz); return;
            case 0xd4: {
                int b = fetch8();
                if (b == 0) raise(DE);
                int al = (int) R[0] & 0xff;
                setReg(0, 2, ((al / b) << 8) | (al % b));
                logicFlags(al % b, 1);
                return;
            }
            case 0xd5: {
                int b = fetch8();
                int v = ((int) (R[0] >>> 8 & 0xff) * b + (int) (R[0] & 0xff)) & 0xff;
                setReg(0, 2, v);
                logicFlags(v, 1);
                return;
            }
            case 0xd6: setReg(0, 1, cf() ? 0xff : 0); return;
            case 0xd7: setReg(0, 1, rd(linear(DS, (getReg(3, asz) + (R[0] & 0xff)) & MASK[asz], 1, false), 1)); return;
            case 0xd8: case 0xd9: case 0xda: case 0xdb: case 0xdc: case 0xdd: case 0xde: case 0xdf:
                x87();
                return;
            case 0xe4: case 0xe5: io(true, fetch8(), op == 0xe4 ? 1 : Math.min(sz, 4), true); return;
            case 0xe6: case 0xe7: io(false, fetch8(), op == 0xe6 ? 1 : Math.min(sz, 4), true); return;
            case 0xec: case 0xed: io(true, (int) R[2] & 0xffff, op == 0xec ? 1 : Math.min(sz, 4), false); return;
            case 0xee: case 0xef: io(false, (int) R[2] & 0xffff, op == 0xee ? 1 : Math.min(sz, 4), false); return;
            case 0xea: {
                long off = fetchImm(sz);
                int s = fetch16();
                farJump(s, off);
                return;
            }
            case 0xf1: softInt(DB, 0x500); return;
            case 0xf4: hlt(); return;
            case 0xf5: setFlagBit(CF, !cf()); return;
            default:
                raise(UD);
        }
    }

    /** One-byte opcodes that do not exist in 64-bit mode (SDM Appendix A, "i64"). */
    static final boolean[] INVALID64 = new boolean[256];
    static {
        for (int op : new int[]{0x06, 0x07, 0x0e, 0x16, 0x17, 0x1e, 0x1f, 0x27, 0x2f, 0x37, 0x3f, 0x60, 0x61, 0x62,
                0x82, 0x9a, 0xc4, 0xc5, 0xce, 0xd4, 0xd5, 0xd6, 0xea})
            INVALID64[op] = true;
    }

    /** Operand size of stack operations and near branches: 64 bits by default in 64-bit mode. */
    private int ssz() { return code64 ? (osz == 2 ? 2 : 8) : osz; }

    private void aluRmReg(int op, int sz) {
        modrm();
        long r;
        if (mrMod == 3) {
            r = alu(op, getReg(mrRm, sz), getReg(mrReg, sz), sz);
            if (op != 7) setReg(mrRm, sz, r);
        } else {
            if (segChk[eaSeg]) segCheck(eaSeg, eaOff, sz, op != 7);
            r = alu(op, rd(ea, sz), getReg(mrReg, sz), sz);
            if (op != 7) wr(ea, sz, r);
        }
    }

    private void aluRegRm(int op, int sz) {
        modrm();
        long r = alu(op, getReg(mrReg, sz), rmRead(sz), sz);
        if (op != 7) setReg(mrReg, sz, r);
    }

    void jumpRel(long d) { pc = branchTarget((pc + d) & (code64 ? -1L : osz == 2 ? 0xffff : 0xffffffffL)); }

    private boolean ioplOk() {
        if (realMode) return true;
        return ((eflags >> 12) & 3) >= cpl();
    }

    /**
     * Whether an IOPL-sensitive instruction at IOPL < 3 works on VIF instead of faulting: in
     * virtual-8086 mode with CR4.VME, or (CLI/STI only, {@code pvi}) at CPL 3 with CR4.PVI (SDM 20.3
     * "Interrupt and Exception Handling in Virtual-8086 Mode", 20.4 "Protected-Mode Virtual Interrupts").
     */
    private boolean virtualIf(boolean pvi) {
        if (v86) return (cr4 & CR4_VME_BIT) != 0;
        return pvi && !realMode && cpl() == 3 && (cr4 & CR4_PVI_BIT) != 0;
    }

    /** CLI (SDM "CLI"): #GP(0) when CPL > IOPL, unless VME/PVI make it clear VIF. */
    private void cli() {
        if (ioplOk()) { eflags &= ~IF; return; }
        if (!virtualIf(true)) raise(GP, 0);
        eflags &= ~VIF;
    }

    /** STI (SDM "STI"): sets IF with a one-instruction interrupt shadow, or VIF under VME/PVI (#GP(0) if VIP). */
    private void sti() {
        if (!ioplOk()) {
            if (!virtualIf(true) || (eflags & VIP) != 0) raise(GP, 0);
            eflags |= VIF;
            return;
        }
        if ((eflags & IF) == 0) {
            eflags |= IF;
            interruptibility = (interruptibility & ~3) | GUEST_INTR_STATE_STI;
            shadowFresh = true;
        }
        attention = true;
    }

    /** RFLAGS.VIF and VIP (SDM 2.3 "System Flags and Fields in the EFLAGS Register"). */
    static final long VIF = 0x80000, VIP = 0x100000;
    static final long CR4_VME_BIT = 1, CR4_PVI_BIT = 2, CR4_DE_BIT = 8;

    /** Whether virtual-8086 code runs with IOPL below 3, where the IOPL-sensitive instructions trap (SDM 20.2.7). */
    private boolean v86Sensitive() {
        return v86 && ((eflags >> 12) & 3) < 3;
    }

    private void movSsShadow() {
        if ((interruptibility & 3) == 0) {
            interruptibility |= GUEST_INTR_STATE_MOV_SS;
            shadowFresh = true;
            attention = true;
        }
    }

    private void popSeg(int s) {
        long s0 = sp();
        int v = (int) pop(ssz());
        try { loadSeg(s, v); } catch (RuntimeException e) { setSp(s0); throw e; }
        if (s == SS) movSsShadow();
    }

    private void pusha(int sz) {
        long s = sp();
        long b = ebase[SS];
        long orig = getReg(4, sz);
        for (int k = 0; k < 8; k++) stackCheck((s - (k + 1) * sz) & spMask, sz);
        for (int k = 0; k < 8; k++) {
            s = (s - sz) & spMask;
            wr(b + s, sz, k == 4 ? orig : getReg(k, sz));
        }
        setSp(s);
    }

    private void popa(int sz) {
        long s = sp();
        long b = ebase[SS];
        long[] v = scratch;
        for (int k = 7; k >= 0; k--) { stackCheck(s, sz); v[k] = rd(b + s, sz); s = (s + sz) & spMask; }
        for (int k = 0; k < 8; k++) if (k != 4) setReg(k, sz, v[k]);
        setSp(s);
    }

    private final long[] scratch = new long[8];

    /** PUSHF (SDM "PUSHF"): in virtual-8086 mode at IOPL < 3 #GP(0), or under VME (16-bit) VIF in the IF position and IOPL 3. */
    private void pushf(int sz) {
        long f = flags();
        if (v86Sensitive()) {
            if (sz != 2 || !virtualIf(false)) raise(GP, 0);
            f = (f & ~IF) | ((f & VIF) != 0 ? IF : 0) | IOPL;
        }
        push(f & (sz == 2 ? 0xffff : 0xfcffff), sz);
    }

    /** POPF (SDM "POPF"): in virtual-8086 mode at IOPL < 3 #GP(0), or under VME (16-bit) the popped IF goes to VIF. */
    private void popf(int sz) {
        if (!v86Sensitive()) { writeFlags(pop(sz), sz); return; }
        if (sz != 2 || !virtualIf(false)) raise(GP, 0);
        long s0 = sp();
        long v = pop(2);
        if (!virtualFlagsOk(v)) { setSp(s0); raise(GP, 0); }
        writeVirtualFlags(v);
    }

    /** Under VME a popped FLAGS image with TF set, or with IF set while VIP is pending, is #GP(0). */
    private boolean virtualFlagsOk(long v) {
        return (v & TF) == 0 && ((eflags & VIP) == 0 || (v & IF) == 0);
    }

    /** FLAGS written under VME: IF and IOPL stay (writeFlags leaves them at CPL 3), VIF takes the popped IF. */
    private void writeVirtualFlags(long v) {
        writeFlags(v, 2);
        eflags = (eflags & ~VIF) | ((v & IF) != 0 ? VIF : 0);
    }

    /** IRET's RFLAGS load: writeFlags, and RF as popped (it suppresses an instruction breakpoint once, SDM 17.3.1.1). */
    private void iretFlags(long v, int sz) {
        writeFlags(v, sz);
        if (sz >= 4 && (v & RF) != 0) eflags |= RF;
    }

    /** POPF/IRET write of RFLAGS, honouring which bits the privilege level may change (SDM POPF). */
    private void writeFlags(long v, int sz) {
        long old = flags();
        long writable = 0x247fd5L;
        if (!realMode) {
            if (cpl() > 0) writable &= ~IOPL;
            if (cpl() > ((old >> 12) & 3)) writable &= ~IF;
        }
        if (sz == 2) writable &= 0xffff;
        eflags = (old & ~writable) | (v & writable) | 2;
        attention = true;
    }

    private void loadFarPointer(int s, int sz) {
        modrm();
        if (mrMod == 3) raise(UD);
        rmCheck(sz + 2, false);
        long off = rd(ea, sz);
        int selector = (int) rd((ea + sz) & linMask, 2);
        loadSeg(s, selector);
        setReg(mrReg, sz, off);
        if (s == SS) movSsShadow();
    }

    private void enter(int sz) {
        int size = fetch16();
        int level = fetch8() & 31;
        long s = sp();
        long b = ebase[SS];
        long bp = getReg(5, stack32 ? 4 : 2);
        s = (s - sz) & spMask;
        stackCheck(s, sz);
        wr(b + s, sz, getReg(5, sz));
        long frame = s;
        for (int k = 1; k < level; k++) {
            bp = (bp - sz) & spMask;
            stackCheck(bp, sz);
            long v = rd(b + bp, sz);
            s = (s - sz) & spMask;
            stackCheck(s, sz);
            wr(b + s, sz, v);
        }
        if (level > 0) { s = (s - sz) & spMask; stackCheck(s, sz); wr(b + s, sz, frame); }
        setReg(5, sz, frame);
        setSp((s - size) & spMask);
    }

    private void farJump(int s, long off) {
        if (throughGate(s, false)) return;
        loadSeg(CS, s);
        pc = off & ipMask;
    }

    /**
     * A far CALL or JMP whose selector does not name a code segment (SDM "CALL—Call Procedure" and
     * "JMP—Jump", protected mode). A TSS descriptor or a task gate is a task switch, which causes a VM
     * exit unconditionally (SDM 25.1.2) with the qualification of SDM Table 27-2 "Exit Qualification
     * for Task Switches": the new TSS selector (from the gate for a task gate) and the source, 0 CALL
     * or 2 JMP; the descriptor's DPL and present bit are checked first. A call gate transfers through
     * the gate ({@link #callGate}). Returns false for a code segment (an ordinary far transfer).
     */
    private boolean throughGate(int selector, boolean call) {
        if (realMode || v86 || (selector & ~3) == 0) return false;
        if (!rawDescriptor(selector)) raise(GP, selector & ~3);
        if ((rawHi & 0x1000) != 0) return false;
        int type = (int) (rawHi >>> 8) & 0xf, dpl = (int) (rawHi >>> 13) & 3;
        boolean gate = type == 0xc || (!longMode && type == 4); // in IA-32e mode only 64-bit call gates
        boolean task = !longMode && (type == 5 || type == 1 || type == 9);
        if (!gate && !task) raise(GP, selector & ~3);
        if (dpl < cpl() || dpl < (selector & 3)) raise(GP, selector & ~3);
        if ((rawHi & 0x8000) == 0) raise(NP, selector & ~3);
        if (task) {
            int tss = type == 5 ? (int) (rawLo >>> 16) : selector;
            instrExit(EXIT_REASON_TASK_SWITCH, (tss & 0xffff) | (long) (call ? 0 : 2) << 30);
        }
        callGate(selector, type, call);
        return true;
    }

    /**
     * The transfer through a call gate (SDM 5.8.3 "Call Gates", 5.8.4 "Accessing a Code Segment
     * Through a Call Gate", 5.8.5 "Stack Switching", 5.8.6 "Returning from a Called Procedure", and
     * 5.8.3.1 "IA-32e Mode Call Gates"). The gate names the code segment and entry point; a CALL to a
     * non-conforming segment of higher privilege switches to the stack of that level from the TSS,
     * pushes the caller's SS:ESP, copies the gate's parameter count of words/doublewords from the
     * caller's stack (none for a 64-bit gate), then pushes CS:EIP. A JMP never changes privilege.
     */
    private void callGate(int gateSel, int type, boolean call) {
        boolean gate64 = longMode;
        int gsz = gate64 ? 8 : type == 0xc ? 4 : 2;
        int csSel = (int) (rawLo >>> 16) & 0xffff;
        long off = (rawLo & 0xffff) | (rawHi & 0xffff0000L);
        int params = (int) rawHi & 0x1f;
        if (gate64) {
            long tb = (gateSel & 4) != 0 ? base[LDTR] : gdtBase;
            long upper = sysRd(tb + (gateSel & ~7) + 8, 8);
            if (((upper >>> 8) & 0x1f) != 0) raise(GP, gateSel & ~3); // the upper half's type must be 0
            off |= (upper & 0xffffffffL) << 32;
            params = 0;
        } else if (gsz == 2) off &= 0xffff;
        if ((csSel & ~3) == 0) raise(GP, 0);
        long[] d = descriptor(csSel, -1);
        long[] dk = {d[0], d[1], d[2]};
        int a = (int) dk[2], dpl = (a >> 5) & 3, c = cpl();
        boolean conforming = (a & 4) != 0;
        if ((a & 0x18) != 0x18 || dpl > c) raise(GP, csSel & ~3);
        if (gate64 && (a & 0x6000) != 0x2000) raise(GP, csSel & ~3); // a 64-bit gate leads to 64-bit code
        if (!call && !conforming && dpl != c) raise(GP, csSel & ~3);
        if ((a & 0x80) == 0) raise(NP, csSel & ~3);
        if (!gate64 && off > (dk[1] & 0xffffffffL)) raise(GP, 0);
        long ret = pc;
        int oldCs = sel[CS], oldSs = sel[SS];
        long oldSp = R[RSP_];
        if (call && !conforming && dpl < c) {
            int n = dpl;
            long tss = base[TR];
            long nsp;
            int nss;
            long[] sdk = null;
            long m, sb;
            if (gate64) {
                nsp = sysRd(tss + 4 + 8L * n, 8);
                nss = n; // a null SS with RPL = new CPL
                if (nonCanonical(nsp)) raise(SS_FAULT, 0);
                m = -1L;
                sb = 0;
            } else {
                boolean tss32 = (ar[TR] & 8) != 0;
                nsp = tss32 ? sysRd(tss + 4 + 8L * n, 4) : sysRd(tss + 2 + 4L * n, 2);
                nss = (int) sysRd(tss + (tss32 ? 8 + 8L * n : 4 + 4L * n), 2);
                if ((nss & ~3) == 0) raise(TS, 0);
                if ((nss & 3) != n) raise(TS, nss & ~3);
                long[] sd = descriptor(nss, -1);
                sdk = new long[]{sd[0], sd[1], sd[2]};
                if ((sdk[2] & 0x1a) != 0x12 || ((sdk[2] >> 5) & 3) != n) raise(TS, nss & ~3);
                if ((sdk[2] & 0x80) == 0) raise(SS_FAULT, nss & ~3);
                m = (sdk[2] & 0x4000) != 0 ? 0xffffffffL : 0xffff;
                sb = sdk[0];
                for (int k = 4 + params; k > 0; k--) // the new stack must hold the whole frame (SDM 5.8.5)
                    if (outsideLimit((nsp - (long) k * gsz) & m, gsz, sdk[1], (int) sdk[2])) raise(SS_FAULT, nss & ~3);
            }
            long sp = nsp & m;
            long[] copied = new long[params];
            long osb = ebase[SS], osp = sp();
            for (int k = 0; k < params; k++) {
                long o = (osp + (long) (params - 1 - k) * gsz) & spMask;
                stackCheck(o, gsz);
                copied[k] = rd(osb + o, gsz);
            }
            boolean sys = sysAccess;
            sysAccess = true; // the new stack is written at its own privilege level
            try {
                sp = (sp - gsz) & m; wr(sb + sp, gsz, oldSs);
                sp = (sp - gsz) & m; wr(sb + sp, gsz, oldSp & MASK[gsz]);
                for (int k = 0; k < params; k++) { sp = (sp - gsz) & m; wr(sb + sp, gsz, copied[k]); }
                sp = (sp - gsz) & m; wr(sb + sp, gsz, oldCs);
                sp = (sp - gsz) & m; wr(sb + sp, gsz, ret);
            } finally { sysAccess = sys; }
            if (gate64) {
                sel[SS] = nss; base[SS] = ebase[SS] = 0; limit[SS] = 0; ar[SS] = 0x10000 | n << 5;
            } else commitSeg(SS, nss, sdk);
            commitSeg(CS, (csSel & ~3) | n, dk);
            R[RSP_] = gate64 ? sp : (m == 0xffff ? (R[RSP_] & ~0xffffL) | sp : sp);
            pc = off & ipMask;
            return;
        }
        if (call) {
            // same privilege: the return address goes on the current stack in the gate's size
            long b = ebase[SS];
            long mask = gate64 ? -1L : spMask;
            long s1 = (R[RSP_] - gsz) & mask, s2 = (s1 - gsz) & mask;
            if (!gate64) { stackCheck(s1, gsz); stackCheck(s2, gsz); }
            probeWrite(b + s2, gsz);
            probeWrite(b + s1, gsz);
            wr(b + s1, gsz, oldCs);
            wr(b + s2, gsz, ret);
            if (gate64) R[RSP_] = s2; else setSp(s2);
        }
        commitSeg(CS, (csSel & ~3) | c, dk);
        pc = off & ipMask;
    }

    private void farCall(int s, long off, int sz) {
        if (throughGate(s, true)) return;
        long sp0 = sp();
        long b = ebase[SS];
        long s1 = (sp0 - sz) & spMask, s2 = (s1 - sz) & spMask;
        stackCheck(s1, sz);
        stackCheck(s2, sz);
        probeWrite(b + s2, sz);
        probeWrite(b + s1, sz);
        int oldCs = sel[CS];
        long ret = pc;
        loadSeg(CS, s);
        wr(b + s1, sz, oldCs);
        wr(b + s2, sz, ret);
        setSp(s2);
        pc = off & ipMask;
    }

    /**
     * RET far (SDM "RET—Return from Procedure"): to the same privilege level an ordinary CS load; to an
     * outer level (RPL of the popped CS above CPL, protected mode) also pops the caller's SS:ESP, checks
     * both descriptors as SDM 5.8.6 "Returning from a Called Procedure" lists, releases the immediate's
     * bytes on both stacks, and nulls data segment registers the outer level may not use.
     */
    private void farReturn(int sz, int n) {
        long s = sp();
        long b = ebase[SS];
        stackCheck(s, sz);
        stackCheck((s + sz) & spMask, sz);
        long off = rd(b + s, sz);
        int cs = (int) rd(b + ((s + sz) & spMask), sz) & 0xffff;
        if (!realMode && !v86 && (cs & 3) > cpl()) {
            int rpl = cs & 3;
            long[] cd = outerCs(cs);
            long o = (s + 2L * sz + n) & spMask;
            stackCheck(o, sz);
            stackCheck((o + sz) & spMask, sz);
            long esp = rd(b + o, sz);
            int ss = (int) rd(b + ((o + sz) & spMask), sz) & 0xffff;
            long[] sd = outerSs(ss, rpl, (cd[2] & 0x2000) != 0);
            commitSeg(CS, cs, cd);
            if (sd == null) { sel[SS] = ss; base[SS] = ebase[SS] = 0; limit[SS] = 0; ar[SS] = 0x10000 | rpl << 5; updateMode(); }
            else commitSeg(SS, ss, sd);
            R[RSP_] = code64 ? esp : stack32 ? esp & 0xffffffffL : (R[RSP_] & ~0xffffL) | (esp & 0xffff);
            setSp(sp() + n);
            nullInaccessibleSegments();
            pc = off & ipMask;
            return;
        }
        loadSeg(CS, cs);
        setSp(s + 2L * sz + n);
        pc = off & ipMask;
    }

    /** The code segment of a return to an outer privilege level: code, DPL = RPL (conforming: DPL <= RPL), present. */
    private long[] outerCs(int cs) {
        if ((cs & ~3) == 0) raise(GP, 0);
        long[] d = descriptor(cs, -1);
        long[] dk = {d[0], d[1], d[2]};
        int a = (int) dk[2], dpl = (a >> 5) & 3, rpl = cs & 3;
        if ((a & 0x18) != 0x18 || ((a & 4) == 0 ? dpl != rpl : dpl > rpl)) raise(GP, cs & ~3);
        if (longMode && (a & 0x6000) == 0x6000) raise(GP, cs & ~3);
        if ((a & 0x80) == 0) raise(NP, cs & ~3);
        markAccessed(a);
        return dk;
    }

    /**
     * The stack segment of a return to an outer level: RPL and DPL equal to the new CPL, writable data,
     * present (#GP(selector), #SS(selector)); null only when returning to 64-bit code below ring 3
     * (then null is returned).
     */
    private long[] outerSs(int ss, int rpl, boolean to64) {
        if ((ss & ~3) == 0) {
            if (to64 && rpl < 3) return null;
            raise(GP, 0);
        }
        if ((ss & 3) != rpl) raise(GP, ss & ~3);
        long[] d = descriptor(ss, -1);
        long[] dk = {d[0], d[1], d[2]};
        if ((dk[2] & 0x1a) != 0x12 || ((dk[2] >> 5) & 3) != rpl) raise(GP, ss & ~3);
        if ((dk[2] & 0x80) == 0) raise(SS_FAULT, ss & ~3);
        markAccessed((int) dk[2]);
        return dk;
    }

    /**
     * After a return to an outer privilege level, ES, DS, FS and GS are nulled when they hold a data or
     * non-conforming code segment more privileged than the new CPL (SDM "RET", "IRET": "FOR each of
     * segment register (ES, FS, GS, and DS)").
     */
    private void nullInaccessibleSegments() {
        int c = cpl();
        for (int s : new int[]{ES, DS, FS, GS}) {
            int a = ar[s];
            if ((a & 0x10000) != 0) continue;
            boolean confCode = (a & 0xc) == 0xc && (a & 0x10) != 0;
            if (!confCode && ((a >> 5) & 3) < c) {
                sel[s] = 0; // the selector is nulled; 64-bit code keeps the FS/GS bases (not modelled)
                ar[s] = 0x10000;
                segCache(s);
            }
        }
    }

    /**
     * IRET outside 64-bit mode (SDM "IRET/IRETD"): real-address and virtual-8086 returns; in protected
     * and compatibility mode a nested-task return (NT=1) is a task switch and so a VM exit (#GP(0) in
     * IA-32e mode, which has no tasks); a return to an outer level also pops SS:ESP.
     */
    private void iret(int sz) {
        if (v86Sensitive() && (sz != 2 || !virtualIf(false))) raise(GP, 0);
        long s = sp();
        long b = ebase[SS];
        for (int k = 0; k < 3; k++) stackCheck((s + (long) k * sz) & spMask, sz);
        long off = rd(b + s, sz);
        int cs = (int) rd(b + ((s + sz) & spMask), sz) & 0xffff;
        long f = rd(b + ((s + 2L * sz) & spMask), sz);
        if (!realMode && !v86) {
            if ((eflags & NT) != 0) {
                if (longMode) raise(GP, 0);
                // a nested-task return: a task switch back to the TSS's back link
                instrExit(EXIT_REASON_TASK_SWITCH, (sysRd(base[TR], 2) & 0xffff) | 1L << 30);
            }
            if (!longMode && (f & VM) != 0 && sz == 4 && cpl() == 0) { iretToV86(s, b, off, cs, f); return; }
            int rpl = cs & 3;
            if (rpl < cpl()) raise(GP, cs & ~3);
            if (rpl > cpl()) {
                // SDM IRET, RETURN-TO-OUTER-PRIVILEGE-LEVEL: pops ESP and SS as well
                stackCheck((s + 3L * sz) & spMask, sz);
                stackCheck((s + 4L * sz) & spMask, sz);
                long esp = rd(b + ((s + 3L * sz) & spMask), sz);
                int ss = (int) rd(b + ((s + 4L * sz) & spMask), sz) & 0xffff;
                long[] dk = outerCs(cs);
                long[] sdk = outerSs(ss, rpl, false);
                iretFlags(f, sz);
                commitSeg(CS, cs, dk);
                commitSeg(SS, ss, sdk);
                setSp(esp);
                nullInaccessibleSegments();
                pc = off & ipMask;
                interruptibility &= ~GUEST_INTR_STATE_NMI;
                return;
            }
        }
        if (v86Sensitive()) {
            // SDM "IRET" under CR4.VME at IOPL < 3: the popped IF goes to VIF, TF or IF with VIP pending faults
            if (!virtualFlagsOk(f)) raise(GP, 0);
            loadSeg(CS, cs);
            setSp(s + 6);
            writeVirtualFlags(f);
        } else {
            loadSeg(CS, cs);
            setSp(s + 3L * sz);
            iretFlags(f, sz);
        }
        pc = off & ipMask;
        interruptibility &= ~GUEST_INTR_STATE_NMI; // IRET unblocks NMIs (SDM 6.7.1)
    }

    /**
     * SDM "IRET", RETURN-TO-VIRTUAL-8086-MODE: at CPL 0 an EFLAGS image with VM set resumes the
     * virtual-8086 task; ESP, SS, ES, DS, FS and GS follow EIP, CS and EFLAGS on the stack (each in a
     * doubleword), all of EFLAGS is loaded, and the segments get 8086 semantics (base = selector * 16).
     */
    private void iretToV86(long s, long b, long eip, int cs, long f) {
        if ((eip & 0xffffffffL) > (limit[CS] & 0xffffffffL)) raise(GP, 0);
        long[] v = new long[6];
        for (int k = 0; k < 6; k++) {
            long o = (s + 4L * (k + 3)) & spMask;
            stackCheck(o, 4);
            v[k] = rd(b + o, 4);
        }
        setFlags(f);
        updateMode(); // now virtual-8086: the segment loads below take 8086 semantics
        R[RSP_] = v[0] & 0xffffffffL;
        int[] segs = {SS, ES, DS, FS, GS};
        for (int k = 0; k < 5; k++) loadSegReal(segs[k], (int) v[k + 1]);
        loadSegReal(CS, cs);
        pc = eip & 0xffff;
        attention = true;
        interruptibility &= ~GUEST_INTR_STATE_NMI;
    }

    /** IRET in IA-32e mode (SDM "IRET/IRETD/IRETQ"): pops RIP, CS, RFLAGS, RSP and SS. */
    private void iret64(int sz) {
        if (!code64) { iret(sz); return; } // compatibility mode: the protected-mode IRET, with IA-32e rules
        if ((eflags & NT) != 0) raise(GP, 0); // no nested tasks in IA-32e mode
        long s = sp();
        long b = ebase[SS];
        long rip2 = rd(b + s, sz);
        int cs = (int) rd(b + s + sz, sz) & 0xffff;
        long f = rd(b + s + 2L * sz, sz);
        long rsp = rd(b + s + 3L * sz, sz);
        int ss = (int) rd(b + s + 4L * sz, sz) & 0xffff;
        int oldCpl = cpl();
        int newCpl = cs & 3;
        if ((cs & ~3) == 0) raise(GP, 0);
        if (newCpl < oldCpl) raise(GP, cs & ~3);
        long[] d = descriptor(cs, NP);
        int a = (int) d[2];
        if ((a & 0x18) != 0x18 || (a & 0x6000) == 0x6000) raise(GP, cs & ~3);
        int cdpl = (a >> 5) & 3;
        if ((a & 4) == 0 ? cdpl != newCpl : cdpl > newCpl) raise(GP, cs & ~3);
        long[] keep = {d[0], d[1], d[2]};
        long[] ssk = null;
        if ((ss & ~3) == 0) {
            if (newCpl == 3) raise(GP, 0); // a null SS is only for CPL < 3 in 64-bit mode
        } else {
            long[] sd = descriptor(ss, SS_FAULT);
            ssk = new long[]{sd[0], sd[1], sd[2]};
            if ((ssk[2] & 0x1a) != 0x12 || ((ssk[2] >> 5) & 3) != newCpl || (ss & 3) != newCpl) raise(GP, ss & ~3);
        }
        iretFlags(f, sz == 2 ? 2 : 8);
        commitSeg(CS, cs, keep);
        if (ssk == null) {
            sel[SS] = ss; base[SS] = ebase[SS] = 0; limit[SS] = 0xffffffff; ar[SS] = 0x10000 | (newCpl << 5) | 0x93;
        } else {
            commitSeg(SS, ss, ssk);
        }
        R[RSP_] = rsp;
        updateMode();
        pc = rip2 & ipMask;
        interruptibility &= ~GUEST_INTR_STATE_NMI;
    }

    private void softInt(int vector, int type) {
        // SDM "INT n": in virtual-8086 mode at IOPL < 3, #GP(0) unless CR4.VME redirects it to the 8086 handler
        if (type == INTR_TYPE_SOFT_INTR && v86Sensitive() && ((cr4 & CR4_VME_BIT) == 0 || v86Redirected(vector))) raise(GP, 0);
        long next = pc & ipMask;
        exception(vector, type, false, 0, next);
        // delivery set rip/pc to the handler
    }

    /**
     * SYSCALL (SDM "SYSCALL—Fast System Call"): #UD outside 64-bit mode (Intel processors do not
     * recognise it in compatibility or legacy mode) or with IA32_EFER.SCE = 0; RCX and R11 take the
     * return RIP and RFLAGS, CS/SS come from IA32_STAR[47:32], RIP from IA32_LSTAR, RFLAGS is masked by
     * IA32_FMASK (and loses RF).
     */
    private void syscall() {
        if (!code64 || (efer & EFER_SCE) == 0) raise(UD);
        R[1] = pc;
        R[11] = flags();
        int cs = (int) (star >>> 32) & 0xfffc;
        eflags = (eflags & ~sfmask & ~RF) | 2;
        flatCsSs(cs, cs + 8, 0, true);
        pc = lstar;
    }

    /**
     * SYSRET (SDM "SYSRET—Return From Fast System Call"): #UD outside 64-bit mode or with SCE = 0,
     * #GP(0) above ring 0 or, returning to 64-bit mode (REX.W), with a non-canonical RCX; ring 3 with
     * CS = IA32_STAR[63:48] (+16 for 64-bit), SS = IA32_STAR[63:48]+8, RFLAGS from R11. Without REX.W
     * the return is to compatibility mode at ECX.
     */
    private void sysret() {
        if (!code64 || (efer & EFER_SCE) == 0) raise(UD);
        if (cpl() != 0) raise(GP, 0);
        boolean to64 = osz == 8;
        if (to64 && nonCanonical(R[1])) raise(GP, 0);
        int s = (int) (star >>> 48) & 0xffff;
        setFlags((R[11] & 0x3c7fd7L) | 2);
        flatCsSs((to64 ? s + 16 : s) | 3, (s + 8) | 3, 3, to64);
        pc = to64 ? R[1] : R[1] & 0xffffffffL;
    }

    private void hlt() {
        if (cpl() != 0) raise(GP, 0);
        if ((procControls & CPU_BASED_HLT_EXITING) != 0) instrExit(EXIT_REASON_HLT, 0);
        // SDM 25.1.3: without HLT exiting the processor enters the HLT activity state
        rip = pc & ipMask;
        // With TF set HLT completes and its single-step trap is pending at once; a pending debug
        // exception is an event that ends the HLT state (SDM 26.3.1.5 pairs activity state HLT with a
        // pending BS), so the handler runs and returns past the HLT
        if (stepArmed) return;
        activity = 1;
        waitInactive();
    }

    // ---------------------------------------------------------------- group 3 / 5, shifts, mul/div

    private void group3(int sz) {
        modrm(-Math.min(sz, 4));
        switch (mrReg) {
            case 0: case 1: logicFlags(rmRead(sz) & fetchImm(sz), sz); return;
            case 2: rmWrite(sz, ~rmReadW(sz) & MASK[sz]); return;
            case 3: {
                long a = rmReadW(sz);
                long r = alu(5, 0, a, sz);
                rmWrite(sz, r);
                return;
            }
            case 4: case 5: mul(rmRead(sz), sz, mrReg == 5); return;
            default: div(rmRead(sz), sz, mrReg == 7);
        }
    }

    /** RET near, releasing n more bytes of stack: the stack pointer moves only once the target is good. */
    private void ret(int n) {
        long s = sp();
        long t = pop(ssz());
        if (badTarget(t)) { setSp(s); raise(GP, 0); }
        setSp(sp() + n);
        pc = t;
    }

    private void group5(int sz) {
        modrm();
        switch (mrReg) {
            case 0: case 1: rmWrite(sz, inc(rmReadW(sz), sz, mrReg == 1)); return;
            case 2: {
                int s2 = ssz();
                long t = branchTarget(rmRead(s2) & ipMask);
                push(pc, s2);
                pc = t;
                return;
            }
            case 3: case 5: {
                if (mrMod == 3) raise(UD);
                rmCheck(sz + 2, false);
                long off = rd(ea, sz);
                int s = (int) rd((ea + sz) & linMask, 2);
                if (mrReg == 3) farCall(s, off, sz); else farJump(s, off);
                return;
            }
            case 4: pc = branchTarget(rmRead(ssz()) & ipMask); return;
            case 6: { int s2 = ssz(); push(rmRead(s2), s2); return; }
            default: raise(UD);
        }
    }

    private void mul(long src, int sz, boolean signed) {
        long a = getReg(0, sz);
        long lo, hi;
        boolean ovf;
        if (sz == 8) {
            lo = a * src;
            hi = signed ? Math.multiplyHigh(a, src) : Math.multiplyHigh(a, src) + ((a >> 63) & src) + ((src >> 63) & a);
            ovf = signed ? hi != (lo >> 63) : hi != 0;
        } else {
            int bits = sz * 8;
            long p = signed ? sext(a, sz) * sext(src, sz) : a * src;
            lo = p & MASK[sz];
            hi = (p >> bits) & MASK[sz];
            ovf = signed ? sext(lo, sz) != p : hi != 0;
        }
        if (sz == 1) setReg(0, 2, (hi << 8) | lo);
        else { setReg(0, sz, lo); setReg(2, sz, hi); }
        setSzp(lo, sz, ovf, ovf);
    }

    private long imul2(long a, long b, int sz) {
        long p = a * b;
        long r = p & MASK[sz];
        boolean ovf = sz == 8 ? Math.multiplyHigh(a, b) != (p >> 63) : sext(r, sz) != p;
        setSzp(r, sz, ovf, ovf);
        return r;
    }

    private void div(long src, int sz, boolean signed) {
        if ((src & MASK[sz]) == 0) raise(DE);
        if (sz == 8) { div128(src, signed); return; }
        int bits = sz * 8;
        long dividend = sz == 1 ? R[0] & 0xffff : (getReg(2, sz) << bits) | getReg(0, sz);
        long q, r;
        if (signed) {
            long n = sz == 4 ? dividend : sext(dividend, sz * 2);
            long d = sext(src, sz);
            if (n == Long.MIN_VALUE && d == -1) raise(DE);
            q = n / d;
            r = n % d;
            if (q != sext(q & MASK[sz], sz)) raise(DE);
        } else {
            q = Long.divideUnsigned(dividend, src);
            r = Long.remainderUnsigned(dividend, src);
            if ((q & ~MASK[sz]) != 0) raise(DE);
        }
        if (sz == 1) setReg(0, 2, ((r & 0xff) << 8) | (q & 0xff));
        else { setReg(0, sz, q); setReg(2, sz, r); }
    }

    /** RDX:RAX divided by a 64-bit source (rare enough to use BigInteger). */
    private void div128(long src, boolean signed) {
        java.math.BigInteger n = java.math.BigInteger.valueOf(R[2]).shiftLeft(64)
                .or(java.math.BigInteger.valueOf(R[0]).and(U64));
        java.math.BigInteger d = java.math.BigInteger.valueOf(src);
        if (!signed) {
            n = n.and(U128);
            d = d.and(U64);
        }
        java.math.BigInteger[] qr = n.divideAndRemainder(d);
        java.math.BigInteger q = qr[0];
        if (signed ? q.bitLength() > 63 : q.bitLength() > 64) raise(DE);
        R[0] = q.longValue();
        R[2] = qr[1].longValue();
    }

    private static final java.math.BigInteger U64 = java.math.BigInteger.ONE.shiftLeft(64).subtract(java.math.BigInteger.ONE);
    private static final java.math.BigInteger U128 = java.math.BigInteger.ONE.shiftLeft(128).subtract(java.math.BigInteger.ONE);

    private long shiftFlags;
    private boolean shiftFlagsPending;

    /** Group 2 rotates and shifts (SDM "SAL/SAR/SHL/SHR", "RCL/RCR/ROL/ROR"); flags committed after the write. */
    private long shift(int op, long a, int cnt, int sz) {
        int bits = sz * 8;
        cnt &= sz == 8 ? 63 : 31;
        long m = MASK[sz];
        a &= m;
        shiftFlagsPending = false;
        if (cnt == 0) return a;
        long f = flags();
        long res;
        boolean c, o;
        switch (op) {
            case 0: { // ROL
                int n = cnt % bits;
                res = n == 0 ? a : ((a << n) | (a >>> (bits - n))) & m;
                c = (res & 1) != 0;
                o = ((res & SIGN[sz]) != 0) ^ c;
                f = (f & ~(CF | OF)) | (c ? CF : 0) | (o ? OF : 0);
                break;
            }
            case 1: { // ROR
                int n = cnt % bits;
                res = n == 0 ? a : ((a >>> n) | (a << (bits - n))) & m;
                c = (res & SIGN[sz]) != 0;
                o = c ^ ((res & (SIGN[sz] >>> 1)) != 0);
                f = (f & ~(CF | OF)) | (c ? CF : 0) | (o ? OF : 0);
                break;
            }
            case 2: case 3: { // RCL, RCR: rotate through CF (bits+1 wide)
                int n = sz < 4 ? cnt % (bits + 1) : cnt;
                long cin = f & CF;
                res = a;
                c = cin != 0;
                for (int k = 0; k < n; k++) {
                    if (op == 2) {
                        boolean out = (res & SIGN[sz]) != 0;
                        res = ((res << 1) | (c ? 1 : 0)) & m;
                        c = out;
                    } else {
                        boolean out = (res & 1) != 0;
                        res = (res >>> 1) | (c ? SIGN[sz] : 0);
                        c = out;
                    }
                }
                o = op == 2 ? ((res & SIGN[sz]) != 0) ^ c : ((res & SIGN[sz]) != 0) ^ ((res & (SIGN[sz] >>> 1)) != 0);
                f = (f & ~(CF | OF)) | (c ? CF : 0) | (o ? OF : 0);
                break;
            }
            case 4: case 6: { // SHL/SAL
                res = cnt >= 64 ? 0 : (a << cnt) & m;
                c = cnt <= bits && ((a >>> (bits - cnt)) & 1) != 0;
                o = ((res & SIGN[sz]) != 0) ^ c;
                f = szp(f, res, sz, c, o);
                break;
            }
            case 5: { // SHR
                res = cnt >= 64 ? 0 : a >>> cnt;
                c = cnt <= bits && ((a >>> (cnt - 1)) & 1) != 0;
                o = (a & SIGN[sz]) != 0;
                f = szp(f, res, sz, c, o);
                break;
            }
            default: { // SAR
                long s = sext(a, sz);
                res = (s >> Math.min(cnt, 63)) & m;
                c = ((s >> Math.min(cnt - 1, 63)) & 1) != 0;
                f = szp(f, res, sz, c, false);
                break;
            }
        }
        shiftFlags = f;
        shiftFlagsPending = true;
        return res;
    }

    private void commitShiftFlags() {
        if (shiftFlagsPending) { fOp = F_NONE; eflags = shiftFlags; shiftFlagsPending = false; }
    }

    private static long szp(long f, long res, int sz, boolean c, boolean o) {
        f &= ~ARITH_FLAGS;
        if (c) f |= CF;
        if (o) f |= OF;
        if ((res & MASK[sz]) == 0) f |= ZF;
        if ((res & SIGN[sz]) != 0) f |= SF;
        if ((Integer.bitCount((int) res & 0xff) & 1) == 0) f |= PF;
        return f;
    }

    private void daa(boolean das) {
        long f = flags();
        int al = (int) R[0] & 0xff;
        int old = al;
        boolean c = (f & CF) != 0, a = (f & AF) != 0;
        boolean nc = false;
        if ((al & 0xf) > 9 || a) {
            al = das ? al - 6 : al + 6;
            a = true;
        } else a = false;
        if (old > 0x99 || c) { al = das ? al - 0x60 : al + 0x60; nc = true; }
        al &= 0xff;
        setReg(0, 1, al);
        f = szp(f, al, 1, nc, false);
        if (a) f |= AF;
        eflags = f;
    }

    private void aaa(boolean aas) {
        long f = flags();
        int ax = (int) R[0] & 0xffff;
        boolean adj = (ax & 0xf) > 9 || (f & AF) != 0;
        if (adj) {
            ax = aas ? ((ax - 6) & 0xff) | (((ax >> 8) - 1) & 0xff) << 8 : ((ax + 0x106) & 0xffff);
            f |= AF | CF;
        } else f &= ~(AF | CF);
        ax &= 0xff0f;
        setReg(0, 2, ax);
        eflags = f;
    }

    // ---------------------------------------------------------------- strings

    private void string(int op, int sz) {
        long cm = MASK[asz];
        boolean repeat = rep != 0;
        long count = repeat ? R[1] & cm : 1;
        if (count == 0) return;
        long delta = (eflags & DF) != 0 ? -sz : sz;
        int srcSeg = segOv >= 0 ? segOv : DS;
        int iter = 0;
        while (true) {
            long si = R[6] & cm, di = R[7] & cm;
            boolean stop = false;
            switch (op & 0xfe) {
                case 0xa4: {
                    strCheck(srcSeg, si, sz, false);
                    strCheck(ES, di, sz, true);
                    long v = rd(ebase[srcSeg] + si, sz);
                    wr(ebase[ES] + di, sz, v);
                    setReg(6, asz, si + delta);
                    setReg(7, asz, di + delta);
                    break;
                }
                case 0xa6: {
                    strCheck(srcSeg, si, sz, false);
                    strCheck(ES, di, sz, false);
                    long a = rd(ebase[srcSeg] + si, sz), b = rd(ebase[ES] + di, sz);
                    alu(7, a, b, sz);
                    setReg(6, asz, si + delta);
                    setReg(7, asz, di + delta);
                    stop = repeat && (rep == 0xf3 ? !zf() : zf());
                    break;
                }
                case 0xaa:
                    strCheck(ES, di, sz, true);
                    wr(ebase[ES] + di, sz, getReg(0, sz));
                    setReg(7, asz, di + delta);
                    break;
                case 0xac:
                    strCheck(srcSeg, si, sz, false);
                    setReg(0, sz, rd(ebase[srcSeg] + si, sz));
                    setReg(6, asz, si + delta);
                    break;
                default: { // SCAS
                    strCheck(ES, di, sz, false);
                    long b = rd(ebase[ES] + di, sz);
                    alu(7, getReg(0, sz), b, sz);
                    setReg(7, asz, di + delta);
                    stop = repeat && (rep == 0xf3 ? !zf() : zf());
                    break;
                }
            }
            if (!repeat) return;
            count = (count - 1) & cm;
            setReg(1, asz, count);
            if (count == 0 || stop) return;
            if (trapBetweenIterations()) return;
            icount++; // each further iteration takes time: the soft TSC counts it
            if ((++iter & 4095) == 0 && (kicked || icount >= stopAt)) { // resumable between iterations
                pc = ip0;
                attention = true;
                stepArmed = false;
                return;
            }
        }
    }

    // ---------------------------------------------------------------- I/O

    /** Whether an I/O access exits (SDM 25.1.3 and 24.6.4 "I/O-Bitmap Addresses"). */
    private boolean ioExits(int port, int sz) {
        if ((procControls & CPU_BASED_USE_IO_BITMAPS) == 0) return (procControls & CPU_BASED_UNCOND_IO_EXITING) != 0;
        for (int k = 0; k < sz; k++) {
            int p = port + k;
            if (p > 0xffff) return true;
            long bm = p < 0x8000 ? ioBitmapA : ioBitmapB;
            int bit = p & 0x7fff;
            if ((mem.read8(bm + (bit >> 3)) & (1 << (bit & 7))) != 0) return true;
        }
        return false;
    }

    /**
     * SDM 18.5.2 "I/O Permission Bit Map": in virtual-8086 mode, or when CPL > IOPL, the TSS bitmap
     * decides; its #GP has priority over the I/O VM exit (SDM 25.1.1).
     */
    private void ioPermission(int port, int sz) {
        if (realMode) return;
        if (!v86 && cpl() <= ((eflags >> 12) & 3)) return;
        long tss = base[TR];
        long lim = limit[TR] & 0xffffffffL;
        if (lim < 0x67) raise(GP, 0);
        int iomap = (int) sysRd(tss + 0x66, 2);
        long off = iomap + (port >> 3);
        if (off + 1 > lim) raise(GP, 0);
        int bits = (int) sysRd(tss + off, 2);
        if (((bits >> (port & 7)) & ((1 << sz) - 1)) != 0) raise(GP, 0);
    }

    private void io(boolean in, int port, int sz, boolean imm) {
        ioPermission(port, sz);
        if (ioExits(port, sz)) {
            // SDM Table 27-5 "Exit Qualification for I/O Instructions"
            long q = (sz - 1) | (in ? 8 : 0) | (imm ? 64 : 0) | ((long) port << 16);
            instrExit(EXIT_REASON_IO_INSTRUCTION, q);
        }
        // Nothing answers on the port: reads float to all ones, writes vanish.
        if (in) setReg(0, sz, MASK[sz]);
        ioWatch(port, sz);
    }

    private void ioString(boolean in, int sz) {
        int port = (int) R[2] & 0xffff;
        long cm = MASK[asz];
        int srcSeg = segOv >= 0 ? segOv : DS;
        ioPermission(port, sz);
        if (ioExits(port, sz)) {
            long q = (sz - 1) | (in ? 8 : 0) | 16 | (rep != 0 ? 32 : 0) | ((long) port << 16);
            // SDM 27.2.4 "Information for VM Exits Due to Instruction Execution": INS/OUTS info
            exitInstrInfo = (asz == 2 ? 0 : asz == 4 ? 1 : 2) << 7 | (in ? ES : srcSeg) << 15;
            exitGla = in ? ebase[ES] + (R[7] & cm) : ebase[srcSeg] + (R[6] & cm);
            exitGla &= linMask;
            exitGlaValid = true;
            instrExit(EXIT_REASON_IO_INSTRUCTION, q);
        }
        long count = rep != 0 ? R[1] & cm : 1;
        long delta = (eflags & DF) != 0 ? -sz : sz;
        while (count != 0) {
            if (in) {
                long di = R[7] & cm;
                strCheck(ES, di, sz, true);
                wr(ebase[ES] + di, sz, MASK[sz]);
                setReg(7, asz, di + delta);
            } else {
                long si = R[6] & cm;
                strCheck(srcSeg, si, sz, false);
                rd(ebase[srcSeg] + si, sz);
                setReg(6, asz, si + delta);
            }
            ioWatch(port, sz);
            count = (count - 1) & cm;
            if (rep != 0) setReg(1, asz, count);
            else break;
            if (count != 0 && trapBetweenIterations()) return;
            icount++;
            if ((count & 4095) == 0 && count != 0 && (kicked || icount >= stopAt)) {
                pc = ip0;
                attention = true;
                stepArmed = false;
                return;
            }
        }
    }

    // ---------------------------------------------------------------- two-byte opcodes

    private void step0f() {
        int op = fetch8();
        int sz = osz;
        switch (op) {
            case 0x00: {
                modrm();
                if (realMode || v86) raise(UD);
                switch (mrReg) {
                    case 0: rmWrite(mrMod == 3 ? sz : 2, sel[LDTR]); return;
                    case 1: rmWrite(mrMod == 3 ? sz : 2, sel[TR]); return;
                    case 2: case 3: {
                        if (cpl() != 0) raise(GP, 0);
                        int s = (int) rmRead(2);
                        if (mrReg == 2) {
                            if ((s & ~3) == 0) { sel[LDTR] = s; ar[LDTR] = 0x10000; return; }
                            long[] d = descriptor(s, NP);
                            sel[LDTR] = s; base[LDTR] = d[0]; limit[LDTR] = (int) d[1]; ar[LDTR] = (int) d[2];
                        } else {
                            long[] d = descriptor(s, NP);
                            sel[TR] = s; base[TR] = d[0]; limit[TR] = (int) d[1]; ar[TR] = (int) d[2] | 2;
                        }
                        return;
                    }
                    case 4: case 5: verify(mrReg == 5); return;
                    default: raise(UD);
                }
                return;
            }
            case 0x01: group7(sz); return;
            case 0x06: { // CLTS (SDM 25.1.3: exits when TS is owned by the host and its shadow is 1)
                if (cpl() != 0) raise(GP, 0);
                if ((cr0Mask & CR0_TS) != 0 && (cr0Shadow & CR0_TS) != 0) instrExit(EXIT_REASON_CR_ACCESS, 2 << 4);
                if ((cr0Mask & CR0_TS) == 0) cr0 &= ~CR0_TS;
                return;
            }
            case 0x08: case 0x09:
                if (cpl() != 0) raise(GP, 0);
                if (op == 0x08) instrExit(EXIT_REASON_INVD, 0); // INVD exits unconditionally (SDM 25.1.2)
                if (op == 0x09 && (proc2Controls & SECONDARY_EXEC_WBINVD_EXITING) != 0 && secondary())
                    instrExit(EXIT_REASON_WBINVD, 0);
                return;
            case 0x0b: raise(UD); return;
            case 0x18: case 0x19: case 0x1a: case 0x1b: case 0x1c: case 0x1d: case 0x1e: case 0x1f:
                modrm(); return; // hint NOPs
            case 0x20: case 0x22: movCr(op == 0x22); return;
            case 0x21: case 0x23: movDr(op == 0x23); return;
            case 0x30: case 0x32: msr(op == 0x30); return;
            case 0x31: {
                if ((procControls & CPU_BASED_RDTSC_EXITING) != 0) instrExit(EXIT_REASON_RDTSC, 0);
                long t = tsc();
                R[0] = t & 0xffffffffL;
                R[2] = t >>> 32;
                return;
            }
            case 0x33:
                if ((procControls & CPU_BASED_RDPMC_EXITING) != 0) instrExit(EXIT_REASON_RDPMC, 0);
                raise(GP, 0);
                return;
            case 0x38: {
                int op3 = fetch8();
                if ((op3 == 0x80 || op3 == 0x81) && osz != (code32 ? 4 : 2)) {
                    modrm();
                    vmxInstrExit(op3 == 0x80 ? EXIT_REASON_INVEPT : EXIT_REASON_INVVPID, true);
                }
                if (op3 >= 0xf0) raise(UD); // MOVBE, CRC32: integer instructions, not modelled
                simd(op);
                return;
            }
            case 0x40: case 0x41: case 0x42: case 0x43: case 0x44: case 0x45: case 0x46: case 0x47:
            case 0x48: case 0x49: case 0x4a: case 0x4b: case 0x4c: case 0x4d: case 0x4e: case 0x4f: {
                modrm();
                long v = rmRead(sz);
                if (cond(op)) setReg(mrReg, sz, v);
                else if (sz == 4) setReg(mrReg, 4, getReg(mrReg, 4));
                return;
            }
            case 0x78: case 0x79:
                modrm();
                vmxInstrExit(op == 0x78 ? EXIT_REASON_VMREAD : EXIT_REASON_VMWRITE, true);
                return;
            case 0x80: case 0x81: case 0x82: case 0x83: case 0x84: case 0x85: case 0x86: case 0x87:
            case 0x88: case 0x89: case 0x8a: case 0x8b: case 0x8c: case 0x8d: case 0x8e: case 0x8f: {
                long d = sext(fetchImm(sz), sz);
                if (cond(op)) jumpRel(d);
                return;
            }
            case 0x90: case 0x91: case 0x92: case 0x93: case 0x94: case 0x95: case 0x96: case 0x97:
            case 0x98: case 0x99: case 0x9a: case 0x9b: case 0x9c: case 0x9d: case 0x9e: case 0x9f:
                modrm();
                rmWrite(1, cond(op) ? 1 : 0);
                return;
            case 0xa0: push(sel[FS], ssz()); return;
            case 0xa1: popSeg(FS); return;
            case 0xa2: instrExit(EXIT_REASON_CPUID, 0); return; // CPUID exits unconditionally (SDM 25.1.2)
            case 0xa8: push(sel[GS], ssz()); return;
            case 0xa9: popSeg(GS); return;
            case 0xa3: case 0xab: case 0xb3: case 0xbb: bitTest(op, sz, false); return;
            case 0xba: bitTest(op, sz, true); return;
            case 0xa4: case 0xa5: case 0xac: case 0xad: {
                modrm((op & 1) == 0 ? 1 : 0);
                int cnt = (op & 1) == 0 ? fetch8() : (int) R[1];
                shiftDouble(op >= 0xac, sz, cnt);
                return;
            }
            case 0xaf: {
                modrm();
                setReg(mrReg, sz, imul2(sext(getReg(mrReg, sz), sz), sext(rmRead(sz), sz), sz));
                return;
            }
            case 0xb0: case 0xb1: {
                int s = op == 0xb0 ? 1 : sz;
                modrm();
                long d = rmReadW(s); // CMPXCHG always writes its destination
                alu(7, getReg(0, s), d, s);
                if (zf()) rmWrite(s, getReg(mrReg, s));
                else { rmWrite(s, d); setReg(0, s, d); }
                return;
            }
            case 0xb2: loadFarPointer(SS, sz); return;
            case 0xb4: loadFarPointer(FS, sz); return;
            case 0xb5: loadFarPointer(GS, sz); return;
            case 0xb6: case 0xb7: case 0xbe: case 0xbf: {
                int s = (op & 1) == 0 ? 1 : 2;
                modrm();
                long v = rmRead(s);
                setReg(mrReg, sz, op >= 0xbe ? sext(v, s) : v);
                return;
            }
            case 0xbc: case 0xbd: {
                modrm();
                long v = rmRead(sz) & MASK[sz];
                long f = flags() & ~ZF;
                if (v == 0) f |= ZF;
                else setReg(mrReg, sz, op == 0xbc ? Long.numberOfTrailingZeros(v) : 63 - Long.numberOfLeadingZeros(v));
                eflags = f;
                return;
            }
            case 0xc0: case 0xc1: {
                int s = op == 0xc0 ? 1 : sz;
                modrm();
                long d = rmReadW(s);
                long r = alu(0, d, getReg(mrReg, s), s);
                rmWrite(s, r);
                setReg(mrReg, s, d);
                return;
            }
            case 0xc7: group9(sz); return;
            case 0xc8: case 0xc9: case 0xca: case 0xcb: case 0xcc: case 0xcd: case 0xce: case 0xcf: {
                int r = (op & 7) | (rex & 1) << 3;
                if (sz == 8) R[r] = Long.reverseBytes(R[r]);
                else setReg(r, 4, Integer.reverseBytes((int) R[r]) & 0xffffffffL);
                return;
            }
            case 0x05: syscall(); return;
            case 0x07: sysret(); return;
            case 0x02: case 0x03: larLsl(op == 0x02, sz); return;
            case 0x34: sysenter(); return;
            case 0x35: sysexit(); return;
            case 0xae: group15(); return;
            case 0xc3: movnti(sz); return;
            default:
                if (simdOpcode(op)) simd(op);
                raise(UD);
        }
    }

    private boolean secondary() { return (procControls & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) != 0; }

    private void group7(int sz) {
        int m = fetch8();
        mrMod = m >> 6;
        mrReg = (m >> 3) & 7;
        mrRm = m & 7;
        if (mrMod == 3) {
            switch (m) {
                case 0xc1: instrExit(EXIT_REASON_VMCALL, 0); return; // VMCALL exits in every mode (SDM 30 VMCALL)
                case 0xc2: vmxInstrExit(EXIT_REASON_VMLAUNCH, false); return;
                case 0xc3: vmxInstrExit(EXIT_REASON_VMRESUME, false); return;
                case 0xc4: vmxInstrExit(EXIT_REASON_VMOFF, false); return;
                case 0xc8:
                    if ((procControls & CPU_BASED_MONITOR_EXITING) != 0) instrExit(EXIT_REASON_MONITOR_INSTRUCTION, 0);
                    raise(UD); return;
                case 0xc9:
                    if ((procControls & CPU_BASED_MWAIT_EXITING) != 0) instrExit(EXIT_REASON_MWAIT_INSTRUCTION, 0);
                    raise(UD); return;
                case 0xf8: { // SWAPGS (64-bit mode only)
                    if (!code64) raise(UD);
                    if (cpl() != 0) raise(GP, 0);
                    long t = base[GS];
                    base[GS] = ebase[GS] = guestKernelGsBase;
                    guestKernelGsBase = t;
                    return;
                }
                default: break;
            }
            if (mrReg == 4) { setReg(mrRm, sz, cr0Read() & MASK[sz]); return; }
            if (mrReg == 6) { lmsw(getReg(mrRm, 2), false); return; }
            raise(UD);
            return;
        }
        if (asz == 2) ea16(); else ea32(m & 7);
        if (ripRelative) eaOff = (eaOff + pc) & MASK[asz];
        ea = (ebase[eaSeg] + eaOff) & linMask;
        switch (mrReg) {
            case 0: case 1: {
                long b = mrReg == 0 ? gdtBase : idtBase;
                int l = mrReg == 0 ? gdtLimit : idtLimit;
                int bw = code64 ? 8 : 4;
                rmCheck(2 + bw, true);
                probeWrite(ea, 2 + bw);
                wr(ea, 2, l);
                wr(ea + 2, bw, sz == 2 ? b & 0xffffff : b);
                return;
            }
            case 2: case 3: {
                if (cpl() != 0) raise(GP, 0);
                rmCheck(2 + (code64 ? 8 : 4), false);
                int l = (int) rd(ea, 2);
                long b = rd(ea + 2, code64 ? 8 : 4);
                if (sz == 2 && !code64) b &= 0xffffff;
                if (mrReg == 2) { gdtLimit = l; gdtBase = b; } else { idtLimit = l; idtBase = b; }
                return;
            }
            case 4: rmWrite(2, cr0Read()); return;
            case 6: lmsw(rmRead(2), true); return;
            case 7:
                if (cpl() != 0) raise(GP, 0);
                if ((procControls & CPU_BASED_INVLPG_EXITING) != 0) instrExit(EXIT_REASON_INVLPG, ea);
                flushTlbPage(ea);
                return;
            default: raise(UD);
        }
    }

    private void group9(int sz) {
        modrm();
        if (mrMod == 3) raise(UD);
        if (mrReg == 6) {
            int reason = rep == 0xf3 ? EXIT_REASON_VMON : osz != (code32 ? 4 : 2) ? EXIT_REASON_VMCLEAR : EXIT_REASON_VMPTRLD;
            vmxInstrExit(reason, true);
        }
        if (mrReg == 7) vmxInstrExit(EXIT_REASON_VMPTRST, true);
        if (mrReg == 1) { cmpxchgDouble(); return; }
        raise(UD);
    }

    /**
     * A VMX instruction executed by the guest: #UD where the instruction does not exist (real and
     * virtual-8086 mode), otherwise an unconditional VM exit with the instruction information of
     * SDM 27.2.4 (Table 27-9 "Format of the VM-Exit Instruction-Information Field").
     */
    private void vmxInstrExit(int reason, boolean hasOperand) {
        if (realMode || v86) raise(UD);
        if (hasOperand) {
            int info = eaScale | (asz == 2 ? 0 : asz == 4 ? 1 : 2) << 7;
            if (mrMod == 3) info |= 1 << 10 | mrRm << 3;
            else {
                info |= eaSeg << 15;
                info |= eaIndex < 0 ? 1 << 22 : eaIndex << 18;
                info |= eaBase < 0 ? 1 << 27 : eaBase << 23;
            }
            info |= mrReg << 28;
            exitInstrInfo = info;
            long disp = mrMod == 3 ? 0 : eaOff - (eaBase >= 0 ? R[eaBase] : 0) - (eaIndex >= 0 ? R[eaIndex] << eaScale : 0);
            instrExit(reason, disp & MASK[asz]);
        }
        instrExit(reason, 0);
    }

    private void bitTest(int op, int sz, boolean imm) {
        modrm(imm ? 1 : 0);
        int kind;
        long bit;
        if (imm) {
            if (mrReg < 4) raise(UD);
            kind = mrReg - 4;
            bit = fetch8() & (sz * 8 - 1);
        } else {
            kind = op == 0xa3 ? 0 : op == 0xab ? 1 : op == 0xb3 ? 2 : 3;
            bit = sext(getReg(mrReg, sz), sz);
        }
        long addr = ea;
        long v;
        int b;
        if (mrMod == 3) {
            b = (int) bit & (sz * 8 - 1);
            v = getReg(mrRm, sz);
        } else {
            // SDM "BT—Bit Test": a register bit offset addresses memory beyond the operand
            long off = imm ? eaOff : (eaOff + (bit >> (sz == 2 ? 4 : sz == 4 ? 5 : 6)) * sz) & MASK[asz];
            if (segChk[eaSeg]) segCheck(eaSeg, off, sz, kind != 0);
            if (!imm) addr = (ebase[eaSeg] + off) & linMask;
            b = (int) bit & (sz * 8 - 1);
            v = rd(addr, sz);
        }
        boolean old = ((v >>> b) & 1) != 0;
        long nv = v;
        if (kind == 1) nv = v | (1L << b);
        else if (kind == 2) nv = v & ~(1L << b);
        else if (kind == 3) nv = v ^ (1L << b);
        if (kind != 0) {
            if (mrMod == 3) setReg(mrRm, sz, nv); else wr(addr, sz, nv);
        }
        setFlagBit(CF, old);
    }

    private void shiftDouble(boolean right, int sz, int cnt) {
        int bits = sz * 8;
        cnt &= sz == 8 ? 63 : 31;
        if (cnt == 0) return;
        long d = rmReadW(sz) & MASK[sz];
        long s = getReg(mrReg, sz);
        long res;
        boolean c;
        if (right) {
            res = ((d >>> cnt) | (cnt >= bits ? 0 : s << (bits - cnt))) & MASK[sz];
            c = ((d >>> (cnt - 1)) & 1) != 0;
        } else {
            res = ((d << cnt) | (cnt >= bits ? 0 : s >>> (bits - cnt))) & MASK[sz];
            c = ((d >>> (bits - cnt)) & 1) != 0;
        }
        rmWrite(sz, res);
        boolean o = ((res ^ d) & SIGN[sz]) != 0;
        setSzp(res, sz, c, o);
    }

    // ---------------------------------------------------------------- control and debug registers

    /** CR0 as the guest reads it: host-owned bits come from the read shadow (SDM 25.3 "Changes to Instruction Behavior"). */
    long cr0Read() { return (cr0 & ~cr0Mask) | (cr0Shadow & cr0Mask); }

    long cr4Read() { return (cr4 & ~cr4Mask) | (cr4Shadow & cr4Mask); }

    private void movCr(boolean toCr) {
        int m = fetch8();
        int cr = ((m >> 3) & 7) | (rex & 4) << 1, gpr = (m & 7) | (rex & 1) << 3;
        if (cpl() != 0) raise(GP, 0);
        // SDM Table 27-3 "Exit Qualification for Control-Register Accesses"
        long qual = cr | (toCr ? 0 : 1 << 4) | (long) gpr << 8;
        int sz = code64 ? 8 : 4; // MOV CR moves 32 bits outside 64-bit mode
        if (cr == 8) { movCr8(toCr, gpr, qual); return; }
        if (!toCr) {
            long v;
            switch (cr) {
                case 0: v = cr0Read(); break;
                case 2: v = cr2; break;
                case 3:
                    if ((procControls & CPU_BASED_CR3_STORE_EXITING) != 0) instrExit(EXIT_REASON_CR_ACCESS, qual);
                    v = cr3; break;
                case 4: v = cr4Read(); break;
                default: raise(UD); return;
            }
            setReg(gpr, sz, v);
            return;
        }
        long v = getReg(gpr, sz);
        switch (cr) {
            case 0: {
                if (((v ^ cr0Shadow) & cr0Mask) != 0) instrExit(EXIT_REASON_CR_ACCESS, qual);
                if ((v & CR0_PG) != 0 && (v & CR0_PE) == 0) raise(GP, 0);
                if ((v & CR0_NW) != 0 && (v & CR0_CD) == 0) raise(GP, 0);
                long nv = (cr0 & cr0Mask) | (v & ~cr0Mask);
                // SDM 23.8 "Restrictions on VMX Operation": CR0 keeps its fixed-1 bits (NE; PE and PG
                // too unless the guest is unrestricted) -- clearing one is a #GP
                long fixed1 = unrestricted ? CR0_NE : CR0_NE | CR0_PE | CR0_PG;
                if ((nv & fixed1) != fixed1) raise(GP, 0);
                // SDM 9.8.5 "Initializing IA-32e Mode": paging on with EFER.LME activates IA-32e mode
                boolean pgOn = (nv & CR0_PG) != 0 && (cr0 & CR0_PG) == 0, pgOff = (nv & CR0_PG) == 0 && (cr0 & CR0_PG) != 0;
                if (pgOn && (efer & EFER_LME) != 0) {
                    if ((cr4 & CR4_PAE) == 0) raise(GP, 0);
                    efer |= EFER_LMA;
                } else if (pgOff && (efer & EFER_LMA) != 0) {
                    if (code64) raise(GP, 0);
                    efer &= ~EFER_LMA;
                }
                cr0 = nv | CR0_ET;
                flushTlb();
                updateMode();
                return;
            }
            case 2: cr2 = v; return;
            case 3: {
                if ((procControls & CPU_BASED_CR3_LOAD_EXITING) != 0) {
                    boolean target = false;
                    for (int k = 0; k < cr3TargetCount && k < 4; k++) if (cr3Targets[k] == v) target = true;
                    if (!target) instrExit(EXIT_REASON_CR_ACCESS, qual);
                }
                cr3 = v;
                flushTlb();
                return;
            }
            case 4: {
                if (((v ^ cr4Shadow) & cr4Mask) != 0) instrExit(EXIT_REASON_CR_ACCESS, qual);
                if ((v & ~0x27ffL & ~cr4Mask) != 0) raise(GP, 0);
                long n4 = (cr4 & cr4Mask) | (v & ~cr4Mask);
                if ((n4 & CR4_VMXE) == 0) raise(GP, 0); // CR4.VMXE is fixed to 1 in VMX operation
                if (longMode && (n4 & CR4_PAE) == 0) raise(GP, 0);
                cr4 = n4;
                flushTlb();
                return;
            }
            default: raise(UD);
        }
    }

    /** Task-priority level when neither the TPR shadow nor CR8 exiting applies. */
    long cr8;
    long virtualApicPage = -1;
    int tprThreshold;

    /**
     * MOV to/from CR8 (64-bit mode): CR8-load/store exiting first, then the TPR shadow in the
     * virtual-APIC page (SDM 25.1.3 and 29.1.2 "TPR Virtualization", with the TPR-below-threshold
     * exit after a write that drops VTPR[7:4] below the threshold).
     */
    private void movCr8(boolean toCr, int gpr, long qual) {
        if (!code64) raise(UD);
        boolean shadow = (procControls & CPU_BASED_TPR_SHADOW) != 0;
        if (toCr) {
            if ((procControls & CPU_BASED_CR8_LOAD_EXITING) != 0) instrExit(EXIT_REASON_CR_ACCESS, qual);
            long v = R[gpr];
            if ((v & ~0xfL) != 0) raise(GP, 0);
            if (!shadow) { cr8 = v; return; }
            mem.write32(virtualApicPage + 0x80, (int) (v << 4));
            if (v < (tprThreshold & 0xf)) {
                rip = pc & ipMask;
                pc = ip0 = rip;
                vmexit(EXIT_REASON_TPR_BELOW_THRESHOLD, 0, 0);
            }
        } else {
            if ((procControls & CPU_BASED_CR8_STORE_EXITING) != 0) instrExit(EXIT_REASON_CR_ACCESS, qual);
            R[gpr] = shadow ? (mem.read32(virtualApicPage + 0x80) >>> 4) & 0xf : cr8;
        }
    }

    private void lmsw(long v, boolean mem) {
        if (cpl() != 0) raise(GP, 0);
        v &= 0xf;
        long owned = cr0Mask & 0xf;
        // SDM 25.1.3: LMSW exits if an owned bit among PE/MP/EM/TS would differ from its shadow (PE is never cleared)
        boolean exit = ((v ^ cr0Shadow) & owned & 0xe) != 0 || ((owned & 1) != 0 && (cr0Shadow & 1) == 0 && (v & 1) != 0);
        if (exit) {
            long q = 3 << 4 | (mem ? 1 << 6 : 0) | (v << 16);
            if (mem) exitGla = ea;
            instrExit(EXIT_REASON_CR_ACCESS, q);
        }
        long nv = (cr0 & ~0xeL) | (v & 0xe) | (cr0 & 1) | (v & 1);
        cr0 = (cr0 & cr0Mask) | (nv & ~cr0Mask);
        updateMode();
    }

    private void movDr(boolean toDr) {
        int m = fetch8();
        int n = (m >> 3) & 7, gpr = (m & 7) | (rex & 1) << 3;
        if (cpl() != 0) raise(GP, 0);
        if ((procControls & CPU_BASED_MOV_DR_EXITING) != 0)
            instrExit(EXIT_REASON_DR_ACCESS, n | (toDr ? 0 : 1 << 4) | (long) gpr << 8);
        if (n == 4 || n == 5) {
            if ((cr4 & 8) != 0) raise(UD);
            n += 2;
        }
        if (toDr) {
            dr[n] = getReg(gpr, code64 ? 8 : 4);
            attention = true; // DR7 may have enabled a breakpoint: boundaries check it
            if (n != 6) debugRegsChanged();
        } else setReg(gpr, code64 ? 8 : 4, dr[n]);
    }

    long tsc() {
        long t = icount;
        if ((procControls & CPU_BASED_USE_TSC_OFFSETING) != 0) t += tscOffset;
        return t;
    }

    /** Guest MSRs the soft CPU keeps without exiting (the rest #GP). */
    long guestPat = 0x0007040600070406L, guestKernelGsBase, star, lstar, cstar, sfmask;

    private void msr(boolean write) {
        if (cpl() != 0) raise(GP, 0);
        int idx = (int) R[1];
        if (msrExits(idx, write)) instrExit(write ? EXIT_REASON_MSR_WRITE : EXIT_REASON_MSR_READ, 0);
        if (write) {
            if (!msrWrite(idx, (R[2] & 0xffffffffL) << 32 | (R[0] & 0xffffffffL))) raise(GP, 0);
            return;
        }
        long out = msrRead(idx);
        if (!msrOk) raise(GP, 0);
        R[0] = out & 0xffffffffL;
        R[2] = out >>> 32;
    }

    private boolean msrOk;

    /** A guest MSR (RDMSR without exit, the VM-exit MSR-store area); msrOk says whether it exists. */
    long msrRead(int idx) {
        msrOk = true;
        switch (idx) {
            case 0x10: return tsc();
            case 0x174: return sysenterCs;
            case 0x175: return sysenterEsp;
            case 0x176: return sysenterEip;
            case 0x277: return guestPat;
            case 0xc0000080: return efer;
            case 0xc0000081: return star;
            case 0xc0000082: return lstar;
            case 0xc0000083: return cstar;
            case 0xc0000084: return sfmask;
            case 0xc0000100: return base[FS];
            case 0xc0000101: return base[GS];
            case 0xc0000102: return guestKernelGsBase;
            default: msrOk = false; return 0;
        }
    }

    /** A guest MSR write (WRMSR without exit, the VM-entry MSR-load area); false where WRMSR would #GP. */
    boolean msrWrite(int idx, long v) {
        switch (idx) {
            case 0x10: icount = v - (tsc() - icount); return true;
            case 0x174: sysenterCs = v; return true;
            case 0x175: sysenterEsp = v; return true;
            case 0x176: sysenterEip = v; return true;
            case 0x277: guestPat = v; return true;
            case 0xc0000080:
                if ((v & ~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE)) != 0) return false;
                if ((cr0 & CR0_PG) != 0 && ((v ^ efer) & EFER_LME) != 0) return false;
                efer = (v & ~EFER_LMA) | (efer & EFER_LMA); // LMA follows CR0.PG, not WRMSR
                flushTlb();
                return true;
            case 0xc0000081: star = v; return true;
            case 0xc0000082: lstar = v; return true;
            case 0xc0000083: cstar = v; return true;
            case 0xc0000084: sfmask = v; return true;
            case 0xc0000100: base[FS] = ebase[FS] = v; return true;
            case 0xc0000101: base[GS] = ebase[GS] = v; return true;
            case 0xc0000102: guestKernelGsBase = v; return true;
            default: return false;
        }
    }

    /** SDM 24.6.9 "MSR-Bitmap Address": four 1-KiB bitmaps, read-low/read-high/write-low/write-high. */
    private boolean msrExits(int idx, boolean write) {
        if ((procControls & CPU_BASED_USE_MSR_BITMAPS) == 0) return true;
        long off;
        if (idx >= 0 && idx <= 0x1fff) off = 0;
        else if (idx >= 0xc0000000 && idx <= 0xc0001fff) off = 1024;
        else return true;
        if (write) off += 2048;
        int bit = idx & 0x1fff;
        return (mem.read8(msrBitmap + off + (bit >> 3)) & (1 << (bit & 7))) != 0;
    }

    // ---------------------------------------------------------------- fast system calls, SYSENTER/SYSEXIT

    /** Whether a linear address is outside the canonical range of 48-bit linear addresses (SDM 3.3.7.1). */
    private static boolean nonCanonical(long a) { return ((a << 16) >> 16) != a; }

    /**
     * Loads CS and SS with the fixed flat descriptors of SYSENTER/SYSEXIT/SYSCALL/SYSRET, which the
     * processor does not read from the GDT: CS type 0xb, SS type 3, base 0, limit 4 GiB, DPL {@code dpl};
     * CS is 64-bit (L=1, D=0) when {@code cs64}, else 32-bit.
     */
    private void flatCsSs(int cs, int ss, int dpl, boolean cs64) {
        sel[CS] = cs; base[CS] = 0; limit[CS] = -1; ar[CS] = (cs64 ? 0xa09b : 0xc09b) | dpl << 5;
        sel[SS] = ss; base[SS] = 0; limit[SS] = -1; ar[SS] = 0xc093 | dpl << 5;
        updateMode();
        attention = true;
    }

    /**
     * SYSENTER (SDM "SYSENTER—Fast System Call"): #GP(0) in real-address mode or with a null
     * IA32_SYSENTER_CS; otherwise ring 0 at IA32_SYSENTER_EIP on IA32_SYSENTER_ESP, with VM, IF and RF
     * cleared, CS 64-bit when IA32_EFER.LMA = 1 (also from compatibility or virtual-8086 mode).
     */
    private void sysenter() {
        if (realMode || (sysenterCs & 0xfffc) == 0) raise(GP, 0);
        flags();
        eflags &= ~(VM | IF | RF);
        int cs = (int) sysenterCs & 0xfffc;
        flatCsSs(cs, cs + 8, 0, longMode);
        R[RSP_] = longMode ? sysenterEsp : sysenterEsp & 0xffffffffL;
        pc = longMode ? sysenterEip : sysenterEip & 0xffffffffL;
    }

    /**
     * SYSEXIT (SDM "SYSEXIT—Fast Return from Fast System Call"): #GP(0) unless CPL 0 in protected mode with
     * a non-null IA32_SYSENTER_CS; to ring 3 at RDX/EDX on RCX/ECX, with CS = SYSENTER_CS+16 (32-bit) or,
     * with REX.W, SYSENTER_CS+32 (64-bit, where a non-canonical RIP or RSP is #GP(0)).
     */
    private void sysexit() {
        if (realMode || v86 || cpl() != 0 || (sysenterCs & 0xfffc) == 0) raise(GP, 0);
        boolean to64 = osz == 8;
        long nrip = to64 ? R[2] : R[2] & 0xffffffffL, nrsp = to64 ? R[1] : R[1] & 0xffffffffL;
        if (to64 && (nonCanonical(nrip) || nonCanonical(nrsp))) raise(GP, 0);
        int b = (int) sysenterCs & 0xfffc;
        flatCsSs((b + (to64 ? 32 : 16)) | 3, (b + (to64 ? 40 : 24)) | 3, 3, to64);
        R[RSP_] = nrsp;
        pc = nrip;
    }

    // ---------------------------------------------------------------- descriptor instructions

    private long rawLo, rawHi;

    /** Reads the 8-byte descriptor a selector names into rawLo/rawHi; false for a null selector or one beyond its table. */
    private boolean rawDescriptor(int selector) {
        if ((selector & ~3) == 0) return false;
        boolean ldt = (selector & 4) != 0;
        if (ldt && (ar[LDTR] & 0x10000) != 0) return false;
        long tb = ldt ? base[LDTR] : gdtBase;
        long tl = ldt ? limit[LDTR] & 0xffffffffL : gdtLimit;
        if ((selector & ~7) + 7 > tl) return false;
        rawLo = sysRd(tb + (selector & ~7), 4);
        rawHi = sysRd(tb + (selector & ~7) + 4, 4);
        return true;
    }

    /**
     * Whether the descriptor in rawHi is visible to LAR/LSL/VERR/VERW from the current CPL and a
     * selector's RPL (SDM "LAR", "LSL", "VERR/VERW"): conforming code always, everything else only with
     * DPL >= max(CPL, RPL).
     */
    private boolean rawVisible(int selector) {
        int a = (int) (rawHi >>> 8) & 0x1f, dpl = (int) (rawHi >>> 13) & 3;
        if ((a & 0x1c) == 0x1c) return true;
        return dpl >= Math.max(cpl(), selector & 3);
    }

    /**
     * LAR and LSL (SDM "LAR—Load Access Rights Byte", "LSL—Load Segment Limit"): ZF=1 and the access
     * rights (dword 2 AND 00FxFF00H) or the byte-granular limit when the descriptor is valid for the
     * instruction and visible, else ZF=0 and the destination unchanged. #UD outside protected mode.
     */
    private void larLsl(boolean lar, int sz) {
        if (realMode || v86) raise(UD);
        modrm();
        int selector = (int) rmRead(2);
        boolean ok = rawDescriptor(selector);
        if (ok) {
            int type = (int) (rawHi >>> 8) & 0x1f;
            if ((type & 0x10) == 0) {
                type &= 0xf;
                // valid system types: TSS (available/busy), LDT, and for LAR the call and task gates
                boolean valid = longMode ? type == 2 || type == 9 || type == 0xb || (lar && type == 0xc)
                        : type == 1 || type == 2 || type == 3 || type == 9 || type == 0xb
                        || (lar && (type == 4 || type == 5 || type == 0xc));
                ok = valid;
            }
            ok = ok && rawVisible(selector);
        }
        if (ok) {
            long v;
            if (lar) v = rawHi & 0x00f0ff00L;
            else {
                v = (rawLo & 0xffff) | (rawHi & 0xf0000L);
                if ((rawHi & 0x800000) != 0) v = (v << 12) | 0xfff;
            }
            setReg(mrReg, sz, v);
        }
        setFlagBit(ZF, ok);
    }

    /** VERR/VERW (SDM "VERR/VERW—Verify a Segment for Reading or Writing"): ZF says whether the segment is readable/writable. */
    private void verify(boolean write) {
        if (realMode || v86) raise(UD);
        int selector = (int) rmRead(2);
        boolean ok = rawDescriptor(selector) && (rawHi & 0x1000) != 0 && rawVisible(selector);
        if (ok) {
            int type = (int) (rawHi >>> 8) & 0xf;
            ok = write ? (type & 0xa) == 2 : (type & 0xa) != 8; // writable data / data or readable code
        }
        setFlagBit(ZF, ok);
    }

    /** ARPL (SDM "ARPL—Adjust RPL Field of Segment Selector"): raises the destination's RPL to the source's. */
    private void arpl() {
        if (realMode || v86) raise(UD);
        modrm();
        long d = rmReadW(2);
        int srpl = (int) getReg(mrReg, 2) & 3;
        boolean adj = (d & 3) < srpl;
        if (adj) rmWrite(2, (d & ~3L) | srpl);
        setFlagBit(ZF, adj);
    }

    /** BOUND (SDM "BOUND—Check Array Index Against Bounds"): #BR when the signed index is outside [lower, upper]. */
    private void bound(int sz) {
        modrm();
        if (mrMod == 3) raise(UD);
        rmCheck(2 * sz, false);
        long idx = sext(getReg(mrReg, sz), sz);
        long lo = sext(rd(ea, sz), sz), hi = sext(rd((ea + sz) & linMask, sz), sz);
        if (idx < lo || idx > hi) raise(BR);
    }

    /** CMPXCHG8B/CMPXCHG16B (SDM "CMPXCHG8B/CMPXCHG16B"): the 16-byte form needs a 16-byte-aligned operand (#GP(0)). */
    private void cmpxchgDouble() {
        if (osz == 8) {
            if ((ea & 15) != 0) raise(GP, 0);
            rmCheck(16, true);
            probeWrite(ea, 16);
            long lo = rd(ea, 8), hi = rd((ea + 8) & linMask, 8);
            boolean eq = lo == R[0] && hi == R[2];
            if (eq) { wr(ea, 8, R[3]); wr((ea + 8) & linMask, 8, R[1]); }
            else { wr(ea, 8, lo); wr((ea + 8) & linMask, 8, hi); R[0] = lo; R[2] = hi; }
            setFlagBit(ZF, eq);
            return;
        }
        rmCheck(8, true);
        long v = rd(ea, 8);
        long cmp = (R[2] & 0xffffffffL) << 32 | (R[0] & 0xffffffffL);
        boolean eq = v == cmp;
        if (eq) wr(ea, 8, (R[1] & 0xffffffffL) << 32 | (R[3] & 0xffffffffL));
        else { wr(ea, 8, v); R[0] = v & 0xffffffffL; R[2] = v >>> 32; }
        setFlagBit(ZF, eq);
    }

    // ---------------------------------------------------------------- x87, MMX, SSE: the exceptions only

    /*
     * The soft CPU has no x87/MMX/SSE/AVX execution units. What their opcodes do, per the SDM rules on
     * CR0.EM/MP/TS and CR4.OSFXSR (Vol. 3 2.5 "Control Registers", Table 2-2 "Action Taken By x87 FPU
     * Instructions for Different Combinations of EM, MP, and TS", and the exception list of each instruction):
     *   x87 (D8-DF), FXSAVE/FXRSTOR:  #NM if CR0.EM or CR0.TS;
     *   WAIT/FWAIT:                   #NM if CR0.TS and CR0.MP, else nothing (no x87 exception pending);
     *   MMX (0F 60-7F, D0-FF, no 66/F2/F3 prefix): #UD if CR0.EM, #NM if CR0.TS;
     *   SSE/SSE2/SSE3/SSSE3/SSE4 (0F 10-17, 28-2F, 50-7F, C2, C4-C6, D0-FF with a prefix, 0F 38, 0F 3A,
     *   LDMXCSR/STMXCSR): #UD if CR0.EM or CR4.OSFXSR = 0, #NM if CR0.TS;
     *   VEX (C4/C5): #UD (no XSAVE/AVX: CR4.OSXSAVE cannot be set).
     * Past those checks the instruction would execute; since it is not modelled the outcome is #UD, as
     * on a processor without the feature. LFENCE/MFENCE/SFENCE, CLFLUSH, PREFETCHh and MOVNTI execute
     * (the first four order or hint nothing a single in-order interpreter needs).
     */

    private static final long CR4_OSFXSR = 0x200;

    /** The x87 checks (escape opcodes D8-DF, FXSAVE/FXRSTOR): #NM when CR0.EM or CR0.TS, else not modelled (#UD). */
    private void x87() {
        if ((cr0 & (CR0_EM | CR0_TS)) != 0) raise(NM);
        raise(UD);
    }

    /** WAIT/FWAIT: #NM when both CR0.TS and CR0.MP are set (SDM Table 2-2 "Action Taken By x87 FPU Instructions..."). */
    private void fwait() {
        if ((cr0 & (CR0_TS | CR0_MP)) == (CR0_TS | CR0_MP)) raise(NM);
    }

    /** A two-byte SIMD opcode (no other meaning in the 0F map): its #UD/#NM, else not modelled (#UD). */
    private void simd(int op) {
        boolean p66 = code64 ? osz == 2 : osz != (code32 ? 4 : 2); // REX.W is not a mandatory prefix
        boolean prefixed = p66 || rep != 0;
        boolean mmx = !prefixed && ((op >= 0x60 && op <= 0x7f) || op >= 0xd0) && op != 0x78 && op != 0x79;
        if ((cr0 & CR0_EM) != 0) raise(UD);
        if (!mmx && (cr4 & CR4_OSFXSR) == 0) raise(UD);
        if ((cr0 & CR0_TS) != 0) raise(NM);
        raise(UD);
    }

    /** Whether a two-byte opcode belongs to the MMX/SSE maps (SDM Vol. 2 Appendix A, Table A-3). */
    static boolean simdOpcode(int op) {
        return (op >= 0x10 && op <= 0x17) || (op >= 0x28 && op <= 0x2f) || (op >= 0x50 && op <= 0x7f && op != 0x78 && op != 0x79)
                || op == 0xc2 || (op >= 0xc4 && op <= 0xc6) || (op >= 0xd0 && op <= 0xfe) || op == 0x38 || op == 0x3a;
    }

    /** Group 15 (0F AE): FXSAVE/FXRSTOR, LDMXCSR/STMXCSR, XSAVE*, the fences and CLFLUSH. */
    private void group15() {
        modrm();
        if (mrMod == 3) {
            if (mrReg >= 5) return; // LFENCE, MFENCE, SFENCE
            raise(UD);
        }
        switch (mrReg) {
            case 0: case 1: x87(); return;  // FXSAVE / FXRSTOR
            case 2: case 3: simd(0x10); return; // LDMXCSR / STMXCSR: the SSE rules
            case 7: rmCheck(1, false); rd(ea, 1); return; // CLFLUSH: faults like a byte read, else nothing to flush
            default: raise(UD); // XSAVE/XRSTOR/XSAVEOPT: CR4.OSXSAVE is never set
        }
    }

    /** MOVNTI m32/m64, r (SDM "MOVNTI"): a store; the non-temporal hint means nothing here. */
    private void movnti(int sz) {
        modrm();
        if (mrMod == 3) raise(UD);
        rmWrite(sz == 8 ? 8 : 4, getReg(mrReg, sz == 8 ? 8 : 4));
    }

    // ---------------------------------------------------------------- debug exceptions (SDM 17.3 "Debug Exceptions")

    static final long DR6_BS = 0x4000;
    /** TF was set when the current instruction began: if it completes, a single-step trap follows (SDM 17.3.1.4). */
    private boolean stepArmed;
    /**
     * Debug exceptions waiting for the next instruction boundary, in the format of the VMCS field
     * "pending debug exceptions" (SDM 24.4.2): B3-B0 in bits 3:0, BS in bit 14. Loaded at VM entry and
     * saved at VM exit by SoftCpu.
     */
    long pendingDbg;
    /** The exit qualification of a #DB that causes a VM exit (SDM Table 27-1 "Exit Qualification for Debug Exceptions"). */
    private long dbQual;

    /** Whether boundaries must look at debug state: TF, a pending or armed trap, RF to clear, enabled DR7 breakpoints. */
    private boolean debugPending() {
        return stepArmed || dataHit != 0 || pendingDbg != 0 || (eflags & (TF | RF)) != 0 || (dr[7] & 0xff) != 0;
    }

    /**
     * Debug work at an instruction boundary. The single-step trap of the instruction just completed
     * becomes pending and is delivered, unless blocking by MOV SS is in effect (SDM 6.8.3 "Masking
     * Exceptions and Interrupts When Switching Stacks": it then waits one more instruction). Then the
     * instruction breakpoints of DR0-DR3 (DR7 L/G enabled, R/W = 00) are checked against the linear
     * address of the next instruction; a match is a fault-class #DB with the matching B bits, which
     * RFLAGS.RF suppresses for one instruction (SDM 17.3.1.1 "Instruction-Breakpoint Exception
     * Condition"). RF is then cleared (the processor clears it once an instruction completes).
     */
    private void debugBoundary() {
        if (stepArmed) { pendingDbg |= DR6_BS; stepArmed = false; }
        if (dataHit != 0) { pendingDbg |= dataHit; dataHit = 0; }
        if (pendingDbg != 0 && (interruptibility & GUEST_INTR_STATE_MOV_SS) == 0) {
            long bits = pendingDbg;
            pendingDbg = 0;
            debugException(bits, false);
        }
        if ((eflags & RF) != 0) { eflags &= ~RF; return; }
        if ((dr[7] & 0xff) == 0) return;
        long lin = (base[CS] + rip) & linMask;
        int hit = 0;
        for (int n = 0; n < 4; n++) {
            boolean enabled = ((dr[7] >>> (2 * n)) & 3) != 0;
            boolean exec = ((dr[7] >>> (16 + 4 * n)) & 3) == 0;
            if (enabled && exec && dr[n] == lin) hit |= 1 << n;
        }
        if (hit != 0) debugException(hit, true);
    }

    /**
     * Raises #DB at the current boundary: a VM exit with the B/BS bits as qualification when the
     * exception bitmap intercepts it (DR6 untouched, SDM 27.1 "Architectural State Before a VM Exit"),
     * else delivery with the bits set in DR6. A fault (instruction breakpoint) pushes RF = 1.
     */
    private void debugException(long bits, boolean fault) {
        ip0 = pc = rip;
        dbQual = bits;
        faultRf = fault || repTrap;
        try {
            exception(DB, INTR_TYPE_HARD_EXCEPTION, false, 0, rip);
        } finally {
            faultRf = repTrap = false;
            dbQual = 0;
        }
        dr[6] = (dr[6] & ~0xfL) | bits | 0xffff0ff0L;
        deliveryDepth = 0;
    }

    /**
     * Pending debug exceptions to save at a VM exit: what is waiting, plus BS when the exit came after an
     * instruction with TF set had completed (the budget or kick exit of the run loop, a TPR-below-threshold
     * exit) -- an instruction that itself exits has not completed and takes no trap.
     */
    long pendingDebugAtExit() {
        long p = pendingDbg;
        boolean completed = exitReason == EXIT_REASON_EXTERNAL_INTERRUPT || exitReason == EXIT_REASON_TPR_BELOW_THRESHOLD;
        if (stepArmed && completed) p |= DR6_BS;
        if (completed) p |= dataHit;
        dataHit = 0; // consumed: the next entry starts from the VMCS field
        if (p == 0) repTrap = false;
        return p;
    }

    // ---------------------------------------------------------------- data and I/O breakpoints (SDM 17.2, 17.3.1.2)

    /**
     * DR0-DR3 matches of the current instruction's data accesses (bits 3:0, as in DR6). Data and I/O
     * breakpoints are traps: the matches become pending debug exceptions once the instruction completes
     * (SDM 17.3.1.2 "Data Memory and I/O Breakpoint Exception Conditions").
     */
    private int dataHit;
    /** The enabled data breakpoints that watch reads (R/W = 11) and writes (R/W = 01 or 11), as bit masks of DR0-DR3. */
    private int watchR, watchW;
    /** A REP string instruction stopped between iterations for a trap: the #DB pushes RF = 1 (SDM 17.3.1.1). */
    private boolean repTrap;

    /** Breakpoint lengths by DR7 LENn (SDM 17.2.5 "Breakpoint Field Recognition": 00 1, 01 2, 10 8, 11 4 bytes). */
    private static final int[] BP_LEN = {1, 2, 8, 4};

    private int bpLen(int n) { return BP_LEN[(int) (dr[7] >>> (18 + 4 * n)) & 3]; }

    private int bpRw(int n) { return (int) (dr[7] >>> (16 + 4 * n)) & 3; }

    private boolean bpEnabled(int n) { return ((dr[7] >>> (2 * n)) & 3) != 0; }

    /**
     * Recomputes which breakpoints watch data accesses after DR0-DR3 or DR7 changed (MOV DR, VM entry).
     * Pages holding a watched range stay out of the TLB for the watched access kind, so the unchecked
     * fast paths of rd/wr never see them and only the slow paths test the ranges.
     */
    void debugRegsChanged() {
        int r = 0, w = 0;
        for (int n = 0; n < 4; n++) {
            if (!bpEnabled(n)) continue;
            int rw = bpRw(n);
            if (rw == 1 || rw == 3) w |= 1 << n;
            if (rw == 3) r |= 1 << n;
        }
        if ((r | w) != 0 || (watchR | watchW) != 0) flushTlb();
        watchR = r;
        watchW = w;
    }

    private boolean watchedPage(long page, int mask) {
        for (int n = 0; mask != 0; n++, mask >>>= 1)
            if ((mask & 1) != 0 && ((dr[n] & linMask) >>> 12) == page) return true;
        return false;
    }

    /** Matches an access of sz bytes at a linear address against the breakpoints in mask (the range is aligned to LENn). */
    private void watch(long lin, int sz, int mask) {
        for (int n = 0; n < 4; n++) {
            if ((mask & 1 << n) == 0) continue;
            int len = bpLen(n);
            long a = dr[n] & linMask & -len;
            if (lin < a + len && a < lin + sz) { dataHit |= 1 << n; attention = true; }
        }
    }

    /** I/O breakpoints (R/W = 10, defined only with CR4.DE): an access to ports [port, port+sz) within LENn of DRn. */
    private void ioWatch(int port, int sz) {
        if ((cr4 & CR4_DE_BIT) == 0 || (dr[7] & 0xff) == 0) return;
        for (int n = 0; n < 4; n++) {
            if (!bpEnabled(n) || bpRw(n) != 2) continue;
            int len = bpLen(n);
            long a = dr[n] & 0xffff & -len;
            if (port < a + len && a < port + sz) { dataHit |= 1 << n; attention = true; }
        }
    }

    /**
     * Between two iterations of a REP string instruction: when a trap is due -- the single-step trap of
     * TF, which comes after every iteration (SDM 17.3.1.4 "Single-Step Exception Condition"), or a data
     * breakpoint the iteration matched (SDM 17.3.1.2) -- the instruction stops with RIP still at it and
     * RCX/RSI/RDI advanced, and the trap is taken; the handler's IRET resumes the remaining iterations.
     */
    private boolean trapBetweenIterations() {
        if (!stepArmed && dataHit == 0) return false;
        pc = ip0;
        repTrap = true;
        return true;
    }
}
