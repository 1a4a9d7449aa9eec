package kvmkmod.hw;

import static kvmkmod.hw.VmxArch.*;

/**
 * The VMX capability MSRs a processor reports (SDM Appendix A "VMX Capability Reporting Facility"),
 * modelled on a Westmere-class part, with switches that remove features the way older processors
 * lacked them. Each control MSR holds the allowed-0 settings in its low half (bits that must be 1) and
 * the allowed-1 settings in its high half (bits that may be 1).
 */
public final class VmxCapabilities {
    /** Revision identifier written at offset 0 of every VMXON region and VMCS. */
    public static final int VMCS_REVISION_ID = 0x10;
    public static final int VMCS_SIZE = HostMemory.PAGE_SIZE;

    public boolean secondaryControls = true;
    public boolean ept = true;
    public boolean unrestrictedGuest = true;
    public boolean vpid = true;
    public boolean tprShadow = true;
    public boolean virtualizeApicAccesses = true;
    public boolean pauseLoopExiting = true;
    public boolean ept2mPages = true;

    /** The full Westmere-class feature set. */
    public static VmxCapabilities westmere() { return new VmxCapabilities(); }

    public VmxCapabilities copy() {
        VmxCapabilities c = new VmxCapabilities();
        c.secondaryControls = secondaryControls; c.ept = ept; c.unrestrictedGuest = unrestrictedGuest;
        c.vpid = vpid; c.tprShadow = tprShadow; c.virtualizeApicAccesses = virtualizeApicAccesses;
        c.pauseLoopExiting = pauseLoopExiting; c.ept2mPages = ept2mPages;
        return c;
    }

    private static long ctl(long allowed0, long allowed1) { return (allowed1 << 32) | (allowed0 & 0xffffffffL); }

    /** The value of a VMX capability MSR, or throws {@link IllegalArgumentException} (#GP) for another index. */
    public long rdmsr(int msr) {
        switch (msr) {
            case MSR_IA32_VMX_BASIC:
                // bit 55: TRUE controls not reported (0); bit 54: INS/OUTS information reported; WB memory type
                return (1L << 54) | (6L << 50) | ((long) VMCS_SIZE << 32) | VMCS_REVISION_ID;
            case MSR_IA32_VMX_PINBASED_CTLS: {
                long def1 = 0x16;
                return ctl(def1, def1 | PIN_BASED_EXT_INTR_MASK | PIN_BASED_NMI_EXITING | PIN_BASED_VIRTUAL_NMIS);
            }
            case MSR_IA32_VMX_PROCBASED_CTLS: {
                long def1 = 0x0401e172L;
                long a1 = def1 | CPU_BASED_VIRTUAL_INTR_PENDING | CPU_BASED_USE_TSC_OFFSETING | CPU_BASED_HLT_EXITING
                        | CPU_BASED_INVLPG_EXITING | CPU_BASED_MWAIT_EXITING | CPU_BASED_RDPMC_EXITING
                        | CPU_BASED_RDTSC_EXITING | CPU_BASED_CR3_LOAD_EXITING | CPU_BASED_CR3_STORE_EXITING
                        | CPU_BASED_CR8_LOAD_EXITING | CPU_BASED_CR8_STORE_EXITING | CPU_BASED_VIRTUAL_NMI_PENDING
                        | CPU_BASED_MOV_DR_EXITING | CPU_BASED_UNCOND_IO_EXITING | CPU_BASED_USE_IO_BITMAPS
                        | CPU_BASED_USE_MSR_BITMAPS | CPU_BASED_MONITOR_EXITING | CPU_BASED_PAUSE_EXITING;
                if (tprShadow) a1 |= CPU_BASED_TPR_SHADOW;
                if (secondaryControls) a1 |= CPU_BASED_ACTIVATE_SECONDARY_CONTROLS;
                return ctl(def1, a1 & 0xffffffffL);
            }
            case MSR_IA32_VMX_PROCBASED_CTLS2: {
                if (!secondaryControls) throw new IllegalArgumentException("#GP: no secondary controls");
                long a1 = SECONDARY_EXEC_WBINVD_EXITING;
                if (virtualizeApicAccesses) a1 |= SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES;
                if (ept) a1 |= SECONDARY_EXEC_ENABLE_EPT;
                if (vpid) a1 |= SECONDARY_EXEC_ENABLE_VPID;
                if (unrestrictedGuest && ept) a1 |= SECONDARY_EXEC_UNRESTRICTED_GUEST;
                if (pauseLoopExiting) a1 |= SECONDARY_EXEC_PAUSE_LOOP_EXITING;
                return ctl(0, a1);
            }
            case MSR_IA32_VMX_EXIT_CTLS: {
                long def1 = 0x00036dffL;
                return ctl(def1, def1 | VM_EXIT_HOST_ADDR_SPACE_SIZE | VM_EXIT_ACK_INTR_ON_EXIT
                        | (1L << 18) | (1L << 19) | (1L << 20) | (1L << 21));
            }
            case MSR_IA32_VMX_ENTRY_CTLS: {
                long def1 = 0x000011ffL;
                return ctl(def1, def1 | VM_ENTRY_IA32E_MODE | VM_ENTRY_SMM | VM_ENTRY_DEACT_DUAL_MONITOR
                        | (1L << 14) | (1L << 15));
            }
            case MSR_IA32_VMX_MISC:
                // CR3-target count 4; activity states HLT, shutdown, wait-for-SIPI; LMA stored on exit
                return (4L << 16) | (1L << 8) | (1L << 7) | (1L << 6) | (1L << 5);
            case MSR_IA32_VMX_CR0_FIXED0: return 0x80000021L;
            case MSR_IA32_VMX_CR0_FIXED1: return 0xffffffffL;
            case MSR_IA32_VMX_CR4_FIXED0: return 0x2000L;
            case MSR_IA32_VMX_CR4_FIXED1: return 0x27ffL;
            case MSR_IA32_VMX_VMCS_ENUM: return 0x2c;
            case MSR_IA32_VMX_EPT_VPID_CAP: {
                if (!secondaryControls || (!ept && !vpid)) throw new IllegalArgumentException("#GP: no EPT/VPID");
                long v = 0;
                if (ept) {
                    v |= VMX_EPT_EXECUTE_ONLY_BIT | VMX_EPT_PAGE_WALK_4_BIT | VMX_EPTP_UC_BIT | VMX_EPTP_WB_BIT
                            | (1L << 20) | VMX_EPT_EXTENT_CONTEXT_BIT | VMX_EPT_EXTENT_GLOBAL_BIT;
                    if (ept2mPages) v |= VMX_EPT_2MB_PAGE_BIT;
                }
                if (vpid) v |= (1L << 32) | (1L << 40) | VMX_VPID_EXTENT_SINGLE_CONTEXT_BIT
                        | VMX_VPID_EXTENT_ALL_CONTEXT_BIT | (1L << 43);
                return v;
            }
            default:
                throw new IllegalArgumentException(String.format("#GP: rdmsr of unknown VMX MSR %#x", msr));
        }
    }

    /** Whether a control value is allowed by a control MSR's allowed-0/allowed-1 halves. */
    public static boolean controlsAllowed(long capMsr, int value) {
        int must1 = (int) capMsr, may1 = (int) (capMsr >>> 32);
        return (value & must1) == must1 && (value & ~may1) == 0;
    }
}
