package kvmkmod.hw;

/**
 * Architectural model-specific register numbers (SDM vol. 4, "Model-Specific Registers"), with the names
 * asm/msr-index.h gives them. The VMX capability MSRs are in {@link VmxArch}. The processors and the
 * KVM modules all take MSR numbers from here.
 */
public final class MsrIndex {
    private MsrIndex() {}

    public static final int MSR_IA32_TSC = 0x10;
    public static final int MSR_IA32_APICBASE = 0x1b;
    public static final long MSR_IA32_APICBASE_BSP = 1L << 8, MSR_IA32_APICBASE_ENABLE = 1L << 11;
    public static final int MSR_IA32_SYSENTER_CS = 0x174, MSR_IA32_SYSENTER_ESP = 0x175, MSR_IA32_SYSENTER_EIP = 0x176;
    public static final int MSR_IA32_CR_PAT = 0x277;
    public static final int MSR_EFER = 0xc0000080;
    /** Also called MSR_K6_STAR in asm/msr-index.h. */
    public static final int MSR_STAR = 0xc0000081, MSR_K6_STAR = MSR_STAR;
    public static final int MSR_LSTAR = 0xc0000082, MSR_CSTAR = 0xc0000083, MSR_SYSCALL_MASK = 0xc0000084;
    public static final int MSR_FS_BASE = 0xc0000100, MSR_GS_BASE = 0xc0000101, MSR_KERNEL_GS_BASE = 0xc0000102;
    public static final int MSR_TSC_AUX = 0xc0000103;
}
