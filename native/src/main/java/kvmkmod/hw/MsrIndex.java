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

    // the other MSRs kvm_get/set_msr_common (x86.c) know
    public static final int MSR_IA32_PLATFORM_ID = 0x17, MSR_IA32_EBL_CR_POWERON = 0x2a, MSR_IA32_UCODE_WRITE = 0x79,
            MSR_IA32_UCODE_REV = 0x8b, MSR_IA32_PERF_STATUS = 0x198, MSR_IA32_MISC_ENABLE = 0x1a0,
            MSR_IA32_DEBUGCTLMSR = 0x1d9, MSR_IA32_LASTBRANCHFROMIP = 0x1db, MSR_IA32_LASTBRANCHTOIP = 0x1dc,
            MSR_IA32_LASTINTFROMIP = 0x1dd, MSR_IA32_LASTINTTOIP = 0x1de;
    public static final int MSR_MTRRcap = 0xfe, MSR_MTRRdefType = 0x2ff, MSR_MTRRfix64K_00000 = 0x250,
            MSR_MTRRfix16K_80000 = 0x258, MSR_MTRRfix16K_A0000 = 0x259, MSR_MTRRfix4K_C0000 = 0x268,
            MSR_MTRRfix4K_F8000 = 0x26f;
    public static final int MSR_IA32_P5_MC_ADDR = 0, MSR_IA32_P5_MC_TYPE = 1, MSR_IA32_MCG_CAP = 0x179,
            MSR_IA32_MCG_STATUS = 0x17a, MSR_IA32_MCG_CTL = 0x17b, MSR_IA32_MC0_CTL = 0x400;
    public static final int MSR_P6_PERFCTR0 = 0xc1, MSR_P6_PERFCTR1 = 0xc2, MSR_P6_EVNTSEL0 = 0x186, MSR_P6_EVNTSEL1 = 0x187,
            MSR_K7_EVNTSEL0 = 0xc0010000, MSR_K7_EVNTSEL3 = 0xc0010003, MSR_K7_PERFCTR0 = 0xc0010004,
            MSR_K7_PERFCTR3 = 0xc0010007, MSR_K7_HWCR = 0xc0010015, MSR_K8_SYSCFG = 0xc0010010,
            MSR_K8_INT_PENDING_MSG = 0xc0010055, MSR_VM_HSAVE_PA = 0xc0010117, MSR_AMD64_NB_CFG = 0xc001001f,
            MSR_FAM10H_MMIO_CONF_BASE = 0xc0010058, MSR_AMD64_PATCH_LOADER = 0xc0010020;
    /** KVM's paravirtual clock MSRs (asm/kvm_para.h). */
    public static final int MSR_KVM_WALL_CLOCK = 0x11, MSR_KVM_SYSTEM_TIME = 0x12;
    /** The x2APIC MSR range starts here. */
    public static final int APIC_BASE_MSR = 0x800;
    public static final long EFER_FFXSR = 1L << 14, EFER_SVME = 1L << 12;
    public static final long DEBUGCTLMSR_LBR = 1, DEBUGCTLMSR_BTF = 2;
    public static final long MCG_CTL_P = 1L << 8;
}
