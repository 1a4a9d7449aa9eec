package kvmkmod.hw.soft;

import kvmkmod.hw.VmxCapabilities;

import static kvmkmod.hw.VmxArch.*;
import static kvmkmod.hw.soft.SoftArch.*;

/**
 * The checks a VM entry performs before it loads guest state (SDM 26.2 "Checks on VMX Controls and
 * Host-State Area" and 26.3.1 "Checks on the Guest State Area"). Each returns null when the VMCS passes,
 * or a sentence that names the SDM section and says which value broke which rule.
 */
final class EntryChecks {
    private EntryChecks() {}

    private static final String CTL = "SDM 26.2.1 Checks on VMX Controls: ";
    private static final String HOST = "SDM 26.2.2 Checks on Host Control Registers and MSRs: ";
    private static final String HOST_SEG = "SDM 26.2.3 Checks on Host Segment and Descriptor-Table Registers: ";
    private static final String G_CR = "SDM 26.3.1.1 Checks on Guest Control Registers, Debug Registers, and MSRs: ";
    private static final String G_SEG = "SDM 26.3.1.2 Checks on Guest Segment Registers: ";
    private static final String G_DT = "SDM 26.3.1.3 Checks on Guest Descriptor-Table Registers: ";
    private static final String G_RIP = "SDM 26.3.1.4 Checks on Guest RIP and RFLAGS: ";
    private static final String G_NR = "SDM 26.3.1.5 Checks on Guest Non-Register State: ";

    private static String hex(long v) { return "0x" + Long.toHexString(v); }

    private static boolean physOk(long a) { return (a >>> 40) == 0; }

    private static boolean canonical(long a) { return ((a << 16) >> 16) == a; }

    private static String ctlCheck(VmxCapabilities caps, String name, int msr, int value) {
        long cap = caps.rdmsr(msr);
        // SDM A.3.2 "Primary Processor-Based VM-Execution Controls": CR3-load and CR3-store exiting are
        // default1 in IA32_VMX_PROCBASED_CTLS, but every processor with EPT lets them be 0 (its
        // IA32_VMX_TRUE_PROCBASED_CTLS says so); the entry checks follow those true capabilities.
        if (msr == MSR_IA32_VMX_PROCBASED_CTLS) cap &= ~(long) (CPU_BASED_CR3_LOAD_EXITING | CPU_BASED_CR3_STORE_EXITING);
        if (VmxCapabilities.controlsAllowed(cap, value)) return null;
        int must1 = (int) cap, may1 = (int) (cap >>> 32);
        int missing = must1 & ~value, forbidden = value & ~may1;
        return CTL + name + " " + hex(value & 0xffffffffL) + " is not allowed by MSR " + hex(msr)
                + (missing != 0 ? ": bits " + hex(missing & 0xffffffffL) + " must be 1" : "")
                + (forbidden != 0 ? ": bits " + hex(forbidden & 0xffffffffL) + " must be 0" : "");
    }

    // Checked on every entry: constant tables and the CPU's scratch arrays keep the checks allocation-free.
    private static final int[][] MSR_AREAS = {{VM_EXIT_MSR_STORE_COUNT, VM_EXIT_MSR_STORE_ADDR},
            {VM_EXIT_MSR_LOAD_COUNT, VM_EXIT_MSR_LOAD_ADDR}, {VM_ENTRY_MSR_LOAD_COUNT, VM_ENTRY_MSR_LOAD_ADDR}};
    private static final int[] HOST_SELECTORS = {HOST_ES_SELECTOR, HOST_CS_SELECTOR, HOST_SS_SELECTOR, HOST_DS_SELECTOR,
            HOST_FS_SELECTOR, HOST_GS_SELECTOR, HOST_TR_SELECTOR};
    private static final String[] HOST_SELECTOR_NAMES = {"ES", "CS", "SS", "DS", "FS", "GS", "TR"};
    private static final int[] HOST_BASES = {HOST_FS_BASE, HOST_GS_BASE, HOST_GDTR_BASE, HOST_IDTR_BASE, HOST_TR_BASE};

    /** "ES access rights 93H: ", built only when a check fails. */
    private static String nm(int k, int a) { return SEG_NAMES[k] + " access rights " + hex(a) + ": "; }

    static String controls(SoftCpu cpu) {
        VmxCapabilities caps = cpu.caps();
        int pin = (int) cpu.field(PIN_BASED_VM_EXEC_CONTROL);
        int proc = (int) cpu.field(CPU_BASED_VM_EXEC_CONTROL);
        int exit = (int) cpu.field(VM_EXIT_CONTROLS);
        int entry = (int) cpu.field(VM_ENTRY_CONTROLS);
        String w;
        if ((w = ctlCheck(caps, "the pin-based VM-execution controls", MSR_IA32_VMX_PINBASED_CTLS, pin)) != null) return w;
        if ((w = ctlCheck(caps, "the primary processor-based VM-execution controls", MSR_IA32_VMX_PROCBASED_CTLS, proc)) != null) return w;
        int proc2 = 0;
        if ((proc & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) != 0) {
            proc2 = (int) cpu.field(SECONDARY_VM_EXEC_CONTROL);
            if ((w = ctlCheck(caps, "the secondary processor-based VM-execution controls", MSR_IA32_VMX_PROCBASED_CTLS2, proc2)) != null) return w;
        }
        if ((w = ctlCheck(caps, "the VM-exit controls", MSR_IA32_VMX_EXIT_CTLS, exit)) != null) return w;
        if ((w = ctlCheck(caps, "the VM-entry controls", MSR_IA32_VMX_ENTRY_CTLS, entry)) != null) return w;
        long n = cpu.field(CR3_TARGET_COUNT);
        if (n > 4) return CTL + "CR3-target count " + n + " exceeds the 4 targets IA32_VMX_MISC reports";
        if ((proc & CPU_BASED_USE_IO_BITMAPS) != 0) {
            long a = cpu.field(IO_BITMAP_A), b = cpu.field(IO_BITMAP_B);
            if ((a & 0xfff) != 0 || !physOk(a)) return CTL + "I/O bitmap A address " + hex(a) + " is not 4-KByte aligned within the physical-address width";
            if ((b & 0xfff) != 0 || !physOk(b)) return CTL + "I/O bitmap B address " + hex(b) + " is not 4-KByte aligned within the physical-address width";
        }
        if ((proc & CPU_BASED_USE_MSR_BITMAPS) != 0) {
            long a = cpu.field(MSR_BITMAP);
            if ((a & 0xfff) != 0 || !physOk(a)) return CTL + "MSR-bitmap address " + hex(a) + " is not 4-KByte aligned";
        }
        if ((proc & CPU_BASED_TPR_SHADOW) != 0) {
            long a = cpu.field(VIRTUAL_APIC_PAGE_ADDR);
            if ((a & 0xfff) != 0 || !physOk(a)) return CTL + "virtual-APIC address " + hex(a) + " is not 4-KByte aligned";
            long t = cpu.field(TPR_THRESHOLD);
            if ((t & ~0xfL) != 0) return CTL + "TPR threshold " + hex(t) + " has bits 31:4 set";
        }
        if ((pin & PIN_BASED_NMI_EXITING) == 0 && (pin & PIN_BASED_VIRTUAL_NMIS) != 0)
            return CTL + "\"virtual NMIs\" is 1 but \"NMI exiting\" is 0";
        if ((pin & PIN_BASED_VIRTUAL_NMIS) == 0 && (proc & CPU_BASED_VIRTUAL_NMI_PENDING) != 0)
            return CTL + "\"NMI-window exiting\" is 1 but \"virtual NMIs\" is 0";
        if ((proc2 & SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES) != 0) {
            long a = cpu.field(APIC_ACCESS_ADDR);
            if ((a & 0xfff) != 0 || !physOk(a)) return CTL + "APIC-access address " + hex(a) + " is not 4-KByte aligned";
        }
        if ((proc2 & SECONDARY_EXEC_ENABLE_VPID) != 0 && cpu.field(VIRTUAL_PROCESSOR_ID) == 0)
            return CTL + "\"enable VPID\" is 1 but the VPID is 0";
        if ((proc2 & SECONDARY_EXEC_ENABLE_EPT) != 0) {
            long p = cpu.field(EPT_POINTER);
            int mt = (int) p & 7;
            if (mt != 0 && mt != 6) return CTL + "EPTP " + hex(p) + " has memory type " + mt + " (only UC=0 and WB=6 are supported)";
            if (((p >>> 3) & 7) != 3) return CTL + "EPTP " + hex(p) + " bits 5:3 must be 3 (a 4-level page walk)";
            if ((p & 0xfc0) != 0 || !physOk(p)) return CTL + "EPTP " + hex(p) + " has reserved bits set (11:6 or above the physical-address width)";
        }
        if ((proc2 & SECONDARY_EXEC_UNRESTRICTED_GUEST) != 0 && (proc2 & SECONDARY_EXEC_ENABLE_EPT) == 0)
            return CTL + "\"unrestricted guest\" is 1 but \"enable EPT\" is 0";
        for (int[] f : MSR_AREAS) {
            if (cpu.field(f[0]) != 0 && (cpu.field(f[1]) & 0xf) != 0)
                return CTL + "MSR area address " + hex(cpu.field(f[1])) + " is not 16-byte aligned";
        }
        if ((entry & (VM_ENTRY_SMM | VM_ENTRY_DEACT_DUAL_MONITOR)) != 0)
            return "SDM 26.2.1.3 VM-Entry Control Fields: \"entry to SMM\" and \"deactivate dual-monitor treatment\" must be 0 outside SMM";
        int info = (int) cpu.field(VM_ENTRY_INTR_INFO_FIELD);
        if ((info & INTR_INFO_VALID_MASK) != 0) {
            String e = "SDM 26.2.1.3 VM-Entry Control Fields: VM-entry interruption information " + hex(info & 0xffffffffL);
            int type = (info >> 8) & 7, vec = info & 0xff;
            if (type == 1 || type == 7) return e + " uses reserved interruption type " + type;
            if (type == 2 && vec != 2) return e + " is an NMI with vector " + vec + " (must be 2)";
            if (type == 3 && vec > 31) return e + " is a hardware exception with vector " + vec + " > 31";
            if ((info & INTR_INFO_DELIVER_CODE_MASK) != 0) {
                long cr0 = cpu.field(GUEST_CR0);
                boolean ug = (proc2 & SECONDARY_EXEC_UNRESTRICTED_GUEST) != 0;
                if (ug && (cr0 & CR0_PE) == 0) return e + " delivers an error code but the guest is in real mode (CR0.PE=0)";
                if (type != 3 || !(vec == 8 || (vec >= 10 && vec <= 14) || vec == 17))
                    return e + " delivers an error code for an event that has none";
                if ((cpu.field(VM_ENTRY_EXCEPTION_ERROR_CODE) & 0xffff8000L) != 0)
                    return e + ": error code bits 31:15 must be 0";
            }
            if ((info & 0x7ffff000) != 0) return e + " has reserved bits 30:12 set";
            if (type == 4 || type == 5 || type == 6) {
                long len = cpu.field(VM_ENTRY_INSTRUCTION_LEN);
                if (len < 1 || len > 15) return e + " is a software event but the VM-entry instruction length is " + len + " (must be 1-15)";
            }
        }
        return null;
    }

    static String host(SoftCpu cpu) {
        VmxCapabilities caps = cpu.caps();
        long cr0 = cpu.field(HOST_CR0), cr4 = cpu.field(HOST_CR4), cr3 = cpu.field(HOST_CR3);
        long f0 = caps.rdmsr(MSR_IA32_VMX_CR0_FIXED0), f1 = caps.rdmsr(MSR_IA32_VMX_CR0_FIXED1);
        if ((cr0 & f0) != f0 || (cr0 & ~f1 & 0xffffffffL) != 0)
            return HOST + "HOST_CR0 " + hex(cr0) + " does not have the bits IA32_VMX_CR0_FIXED0 (" + hex(f0) + ") requires (PE, NE, PG)";
        f0 = caps.rdmsr(MSR_IA32_VMX_CR4_FIXED0);
        f1 = caps.rdmsr(MSR_IA32_VMX_CR4_FIXED1);
        if ((cr4 & f0) != f0) return HOST + "HOST_CR4 " + hex(cr4) + " lacks CR4.VMXE required by IA32_VMX_CR4_FIXED0";
        if ((cr4 & ~f1) != 0) return HOST + "HOST_CR4 " + hex(cr4) + " sets bits IA32_VMX_CR4_FIXED1 (" + hex(f1) + ") forbids";
        if (!physOk(cr3)) return HOST + "HOST_CR3 " + hex(cr3) + " has bits above the physical-address width";
        if (!canonical(cpu.field(HOST_IA32_SYSENTER_ESP)) || !canonical(cpu.field(HOST_IA32_SYSENTER_EIP)))
            return HOST + "HOST_IA32_SYSENTER_ESP/EIP must be canonical";
        int exit = (int) cpu.field(VM_EXIT_CONTROLS);
        boolean host64 = (exit & VM_EXIT_HOST_ADDR_SPACE_SIZE) != 0;
        // The soft processor's host runs in IA-32e mode (its EFER reports LMA), as a 64-bit kernel does.
        if (!host64)
            return "SDM 26.2.4 Checks Related to Address-Space Size: the processor is in IA-32e mode, so the \"host address-space size\" VM-exit control must be 1";
        if ((cr4 & CR4_PAE) == 0) return "SDM 26.2.4 Checks Related to Address-Space Size: \"host address-space size\" is 1 but HOST_CR4.PAE is 0";
        if (!canonical(cpu.field(HOST_RIP))) return "SDM 26.2.4 Checks Related to Address-Space Size: HOST_RIP " + hex(cpu.field(HOST_RIP)) + " is not canonical";
        for (int k = 0; k < HOST_SELECTORS.length; k++) {
            long s = cpu.field(HOST_SELECTORS[k]);
            if ((s & 7) != 0) return HOST_SEG + "host " + HOST_SELECTOR_NAMES[k] + " selector " + hex(s) + " must have RPL 0 and TI 0";
        }
        if (cpu.field(HOST_CS_SELECTOR) == 0) return HOST_SEG + "the host CS selector must not be 0000H";
        if (cpu.field(HOST_TR_SELECTOR) == 0) return HOST_SEG + "the host TR selector must not be 0000H";
        for (int f : HOST_BASES)
            if (!canonical(cpu.field(f))) return HOST_SEG + "host base field " + hex(f) + " holds non-canonical " + hex(cpu.field(f));
        return null;
    }

    static String guest(SoftCpu cpu) {
        VmxCapabilities caps = cpu.caps();
        int proc = (int) cpu.field(CPU_BASED_VM_EXEC_CONTROL);
        int proc2 = (proc & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) != 0 ? (int) cpu.field(SECONDARY_VM_EXEC_CONTROL) : 0;
        int entry = (int) cpu.field(VM_ENTRY_CONTROLS);
        boolean ug = (proc2 & SECONDARY_EXEC_UNRESTRICTED_GUEST) != 0;
        boolean ia32e = (entry & VM_ENTRY_IA32E_MODE) != 0;
        long cr0 = cpu.field(GUEST_CR0), cr4 = cpu.field(GUEST_CR4);

        // 26.3.1.1
        long f0 = caps.rdmsr(MSR_IA32_VMX_CR0_FIXED0), f1 = caps.rdmsr(MSR_IA32_VMX_CR0_FIXED1);
        if (ug) f0 &= ~(CR0_PE | CR0_PG);
        if ((cr0 & CR0_PE) == 0 && (f0 & CR0_PE) != 0)
            return G_CR + "CR0.PE is 0 but unrestricted guest is off (GUEST_CR0 " + hex(cr0) + ")";
        if ((cr0 & CR0_PG) == 0 && (f0 & CR0_PG) != 0)
            return G_CR + "CR0.PG is 0 but unrestricted guest is off (GUEST_CR0 " + hex(cr0) + ")";
        if ((cr0 & f0) != f0) return G_CR + "GUEST_CR0 " + hex(cr0) + " lacks bits " + hex(f0 & ~cr0) + " that IA32_VMX_CR0_FIXED0 requires";
        if ((cr0 & ~f1 & 0xffffffffL) != 0 || (cr0 >>> 32) != 0) return G_CR + "GUEST_CR0 " + hex(cr0) + " sets bits IA32_VMX_CR0_FIXED1 forbids";
        if ((cr0 & CR0_PG) != 0 && (cr0 & CR0_PE) == 0) return G_CR + "CR0.PG is 1 but CR0.PE is 0";
        long c4f0 = caps.rdmsr(MSR_IA32_VMX_CR4_FIXED0), c4f1 = caps.rdmsr(MSR_IA32_VMX_CR4_FIXED1);
        if ((cr4 & c4f0) != c4f0) return G_CR + "GUEST_CR4 " + hex(cr4) + " lacks CR4.VMXE that IA32_VMX_CR4_FIXED0 requires";
        if ((cr4 & ~c4f1) != 0) return G_CR + "GUEST_CR4 " + hex(cr4) + " sets bits IA32_VMX_CR4_FIXED1 forbids";
        if ((entry & VM_ENTRY_LOAD_DEBUG_CONTROLS) != 0 && (cpu.field(GUEST_DR7) >>> 32) != 0)
            return G_CR + "DR7 bits 63:32 must be 0 (GUEST_DR7 " + hex(cpu.field(GUEST_DR7)) + ")";
        if (ia32e && ((cr0 & CR0_PG) == 0 || (cr4 & CR4_PAE) == 0))
            return G_CR + "\"IA-32e mode guest\" is 1 but CR0.PG or CR4.PAE is 0";
        if ((entry & VM_ENTRY_LOAD_IA32_EFER) != 0) {
            long efer = cpu.field(GUEST_IA32_EFER);
            if ((efer & ~0xd01L) != 0) return G_CR + "guest IA32_EFER " + hex(efer) + " sets reserved bits";
            if (((efer & 0x400) != 0) != ia32e) return G_CR + "guest IA32_EFER.LMA must equal \"IA-32e mode guest\"";
        }

        // 26.3.1.4 RFLAGS first: it decides whether the segments are checked as virtual-8086
        long rflags = cpu.field(GUEST_RFLAGS);
        if ((rflags & ~0x3f7fd7L) != 0 || (rflags & 2) == 0)
            return G_RIP + "RFLAGS " + hex(rflags) + " has reserved bits 63:22, 15, 5 or 3 set, or bit 1 clear";
        boolean v86 = (rflags & VM) != 0;
        if (v86 && (ia32e || (cr0 & CR0_PE) == 0)) return G_RIP + "RFLAGS.VM is 1 but CR0.PE is 0 or the guest is IA-32e";
        long rip = cpu.field(GUEST_RIP);
        boolean csL = (cpu.field(GUEST_CS_AR_BYTES) & 0x2000) != 0;
        if (!(ia32e && csL) && (rip >>> 32) != 0) return G_RIP + "RIP " + hex(rip) + " has bits 63:32 set outside 64-bit mode";
        if (ia32e && csL && !canonical(rip)) return G_RIP + "RIP " + hex(rip) + " is not canonical";
        int info = (int) cpu.field(VM_ENTRY_INTR_INFO_FIELD);
        boolean injExt = (info & INTR_INFO_VALID_MASK) != 0 && (info & INTR_INFO_INTR_TYPE_MASK) == INTR_TYPE_EXT_INTR;
        if (injExt && (rflags & IF) == 0) return G_RIP + "an external interrupt is injected but RFLAGS.IF is 0";

        // 26.3.1.2
        int[] s = cpu.chkSel, ar = cpu.chkAr, lim = cpu.chkLim;
        long[] b = cpu.chkBase;
        for (int k = 0; k < 8; k++) {
            s[k] = (int) cpu.field(GUEST_ES_SELECTOR + 2 * k);
            ar[k] = (int) cpu.field(GUEST_ES_AR_BYTES + 2 * k);
            lim[k] = (int) cpu.field(GUEST_ES_LIMIT + 2 * k);
            b[k] = cpu.field(GUEST_ES_BASE + 2 * k);
        }
        if ((s[TR] & 4) != 0) return G_SEG + "TR selector " + hex(s[TR]) + " has TI set";
        if ((ar[LDTR] & 0x10000) == 0 && (s[LDTR] & 4) != 0) return G_SEG + "LDTR selector " + hex(s[LDTR]) + " has TI set";
        if (!v86 && !ug && (s[SS] & 3) != (s[CS] & 3)) return G_SEG + "SS.RPL differs from CS.RPL";
        if (v86) {
            for (int k = 0; k < 6; k++) {
                if (b[k] != (long) (s[k] & 0xffff) << 4) return G_SEG + "virtual-8086 mode: " + SEG_NAMES[k] + " base " + hex(b[k]) + " is not selector*16";
                if (lim[k] != 0xffff) return G_SEG + "virtual-8086 mode: " + SEG_NAMES[k] + " limit " + hex(lim[k] & 0xffffffffL) + " is not FFFFH";
                if (ar[k] != 0xf3) return G_SEG + "virtual-8086 mode: " + SEG_NAMES[k] + " access rights " + hex(ar[k]) + " are not F3H";
            }
        } else {
            for (int k = 0; k < 6; k++) {
                int a = ar[k];
                boolean usable = (a & 0x10000) == 0;
                if (k == CS && !usable) return G_SEG + "CS must be usable (access-rights bit 16 is set: " + hex(a) + ")";
                if (!usable) continue;
                int type = a & 15;
                if (k == CS) {
                    if (!(type == 9 || type == 11 || type == 13 || type == 15 || (ug && type == 3)))
                        return G_SEG + nm(k, a) + "CS type must be 9, 11, 13 or 15" + (ug ? " (or 3 with unrestricted guest)" : "");
                } else if (k == SS) {
                    if (type != 3 && type != 7) return G_SEG + nm(k, a) + "SS type must be 3 or 7";
                } else {
                    if ((type & 1) == 0) return G_SEG + nm(k, a) + "the accessed bit (type bit 0) must be 1";
                    if ((type & 8) != 0 && (type & 2) == 0) return G_SEG + nm(k, a) + "a code segment must be readable";
                }
                if ((a & 0x10) == 0) return G_SEG + nm(k, a) + "S (descriptor type) must be 1";
                if ((a & 0x80) == 0) return G_SEG + nm(k, a) + "P (present) must be 1";
                if ((a & 0xf00) != 0 || (a & 0xfffe0000) != 0) return G_SEG + nm(k, a) + "reserved bits 11:8 or 31:17 are set";
                if ((lim[k] & 0xfff) != 0xfff && (a & 0x8000) != 0) return G_SEG + nm(k, a) + "G is 1 but limit " + hex(lim[k] & 0xffffffffL) + " has a 0 in bits 11:0";
                if ((lim[k] & 0xfff00000) != 0 && (a & 0x8000) == 0) return G_SEG + nm(k, a) + "G is 0 but limit " + hex(lim[k] & 0xffffffffL) + " has a 1 in bits 31:20";
            }
            if (ia32e && (ar[CS] & 0x6000) == 0x6000) return G_SEG + "CS access rights " + hex(ar[CS]) + ": L and D/B are both 1 in an IA-32e mode guest";
            if (!ia32e && (ar[CS] & 0x2000) != 0) return G_SEG + "CS access rights " + hex(ar[CS]) + ": L is 1 but the guest is not IA-32e";
            int csType = ar[CS] & 15, csDpl = (ar[CS] >> 5) & 3, ssDpl = (ar[SS] >> 5) & 3;
            if (csType == 3 && csDpl != 0) return G_SEG + "CS type 3 (unrestricted guest) requires CS.DPL 0";
            if ((csType == 9 || csType == 11) && csDpl != ssDpl) return G_SEG + "non-conforming CS.DPL " + csDpl + " differs from SS.DPL " + ssDpl;
            if ((csType == 13 || csType == 15) && csDpl > ssDpl) return G_SEG + "conforming CS.DPL exceeds SS.DPL";
            if (ug && (csType == 3 || (cr0 & CR0_PE) == 0) && ssDpl != 0 && (ar[SS] & 0x10000) == 0)
                return G_SEG + "SS.DPL must be 0 in real mode under unrestricted guest";
            if (!ug && (ar[SS] & 0x10000) == 0 && ssDpl != (s[SS] & 3)) return G_SEG + "SS.DPL differs from SS.RPL";
        }
        int trType = ar[TR] & 15;
        if (!(trType == 11 || (!ia32e && trType == 3))) return G_SEG + "TR access rights " + hex(ar[TR]) + ": type must be 3 or 11 (a busy TSS)";
        if ((ar[TR] & 0x10) != 0 || (ar[TR] & 0x80) == 0 || (ar[TR] & 0x10000) != 0)
            return G_SEG + "TR access rights " + hex(ar[TR]) + ": S must be 0, P 1, and TR usable";
        if ((ar[TR] & 0xf00) != 0 || (ar[TR] & 0xfffe0000) != 0) return G_SEG + "TR access rights " + hex(ar[TR]) + ": reserved bits set";
        if (((lim[TR] & 0xfff) != 0xfff && (ar[TR] & 0x8000) != 0) || ((lim[TR] & 0xfff00000) != 0 && (ar[TR] & 0x8000) == 0))
            return G_SEG + "TR limit " + hex(lim[TR] & 0xffffffffL) + " is inconsistent with its G bit";
        if ((ar[LDTR] & 0x10000) == 0) {
            if ((ar[LDTR] & 15) != 2 || (ar[LDTR] & 0x10) != 0 || (ar[LDTR] & 0x80) == 0)
                return G_SEG + "LDTR access rights " + hex(ar[LDTR]) + ": a usable LDTR must be type 2, S 0, P 1";
            if ((ar[LDTR] & 0xf00) != 0 || (ar[LDTR] & 0xfffe0000) != 0) return G_SEG + "LDTR access rights " + hex(ar[LDTR]) + ": reserved bits set";
        }
        for (int k = 0; k < 8; k++) if ((b[k] >>> 32) != 0 && k != FS && k != GS && k != LDTR && k != TR)
            return G_SEG + SEG_NAMES[k] + " base " + hex(b[k]) + " has bits 63:32 set";

        // 26.3.1.3
        if ((cpu.field(GUEST_GDTR_LIMIT) & ~0xffffL) != 0) return G_DT + "GDTR limit bits 31:16 must be 0";
        if ((cpu.field(GUEST_IDTR_LIMIT) & ~0xffffL) != 0) return G_DT + "IDTR limit bits 31:16 must be 0";
        if (!canonical(cpu.field(GUEST_GDTR_BASE)) || !canonical(cpu.field(GUEST_IDTR_BASE))) return G_DT + "GDTR/IDTR base must be canonical";

        // 26.3.1.5
        long act = cpu.field(GUEST_ACTIVITY_STATE);
        long misc = caps.rdmsr(MSR_IA32_VMX_MISC);
        if (act > 3) return G_NR + "activity state " + act + " is not 0-3";
        if (act != 0 && (misc & (1L << (5 + act))) == 0) return G_NR + "activity state " + act + " is not supported (IA32_VMX_MISC)";
        if (act == 1 && ((ar[SS] >> 5) & 3) != 0) return G_NR + "the HLT activity state requires SS.DPL 0";
        long intr = cpu.field(GUEST_INTERRUPTIBILITY_INFO);
        if ((intr & ~0xfL) != 0) return G_NR + "interruptibility state " + hex(intr) + " has reserved bits 31:4 set";
        if ((intr & 3) == 3) return G_NR + "interruptibility state blocks by both STI and MOV SS";
        if ((rflags & IF) == 0 && (intr & 1) != 0) return G_NR + "blocking by STI while RFLAGS.IF is 0";
        if (injExt && (intr & 3) != 0) return G_NR + "an external interrupt is injected while blocked by STI or MOV SS";
        if ((info & INTR_INFO_VALID_MASK) != 0 && (info & INTR_INFO_INTR_TYPE_MASK) == INTR_TYPE_NMI_INTR && (intr & 2) != 0)
            return G_NR + "an NMI is injected while blocked by MOV SS";
        if ((intr & 4) != 0) return G_NR + "blocking by SMI outside SMM";
        long pend = cpu.field(GUEST_PENDING_DBG_EXCEPTIONS);
        if ((pend & ~0x1500fL) != 0) return G_NR + "pending debug exceptions " + hex(pend) + " set reserved bits";
        long link = cpu.field(VMCS_LINK_POINTER);
        if (link != -1L) return G_NR + "the VMCS link pointer " + hex(link) + " must be FFFFFFFF_FFFFFFFFH (this processor has no VMCS shadowing)";
        return null;
    }
}
