package kvmkmod.hw;

/**
 * Architectural VMX numbers: VMCS field encodings, control bits, exit reasons and event-information
 * bits, with the names that arch/x86/include/asm/vmx.h gives them (values per the Intel SDM vol. 3,
 * Appendix B "Field Encoding in VMCS" and Appendix C "VMX Basic Exit Reasons"). They describe the
 * processor, so they live here; the KVM modules import them from this one place.
 */
public final class VmxArch {
    private VmxArch() {}

    // VMCS fields, 16-bit (SDM Appendix B.1)
    public static final int VIRTUAL_PROCESSOR_ID = 0x0;
    public static final int GUEST_ES_SELECTOR = 0x800;
    public static final int GUEST_CS_SELECTOR = 0x802;
    public static final int GUEST_SS_SELECTOR = 0x804;
    public static final int GUEST_DS_SELECTOR = 0x806;
    public static final int GUEST_FS_SELECTOR = 0x808;
    public static final int GUEST_GS_SELECTOR = 0x80a;
    public static final int GUEST_LDTR_SELECTOR = 0x80c;
    public static final int GUEST_TR_SELECTOR = 0x80e;
    public static final int HOST_ES_SELECTOR = 0xc00;
    public static final int HOST_CS_SELECTOR = 0xc02;
    public static final int HOST_SS_SELECTOR = 0xc04;
    public static final int HOST_DS_SELECTOR = 0xc06;
    public static final int HOST_FS_SELECTOR = 0xc08;
    public static final int HOST_GS_SELECTOR = 0xc0a;
    public static final int HOST_TR_SELECTOR = 0xc0c;

    // VMCS fields, 32-bit (SDM Appendix B.3)
    public static final int PIN_BASED_VM_EXEC_CONTROL = 0x4000;
    public static final int CPU_BASED_VM_EXEC_CONTROL = 0x4002;
    public static final int EXCEPTION_BITMAP = 0x4004;
    public static final int PAGE_FAULT_ERROR_CODE_MASK = 0x4006;
    public static final int PAGE_FAULT_ERROR_CODE_MATCH = 0x4008;
    public static final int CR3_TARGET_COUNT = 0x400a;
    public static final int VM_EXIT_CONTROLS = 0x400c;
    public static final int VM_EXIT_MSR_STORE_COUNT = 0x400e;
    public static final int VM_EXIT_MSR_LOAD_COUNT = 0x4010;
    public static final int VM_ENTRY_CONTROLS = 0x4012;
    public static final int VM_ENTRY_MSR_LOAD_COUNT = 0x4014;
    public static final int VM_ENTRY_INTR_INFO_FIELD = 0x4016;
    public static final int VM_ENTRY_EXCEPTION_ERROR_CODE = 0x4018;
    public static final int VM_ENTRY_INSTRUCTION_LEN = 0x401a;
    public static final int TPR_THRESHOLD = 0x401c;
    public static final int SECONDARY_VM_EXEC_CONTROL = 0x401e;
    public static final int PLE_GAP = 0x4020;
    public static final int PLE_WINDOW = 0x4022;
    public static final int VM_INSTRUCTION_ERROR = 0x4400;
    public static final int VM_EXIT_REASON = 0x4402;
    public static final int VM_EXIT_INTR_INFO = 0x4404;
    public static final int VM_EXIT_INTR_ERROR_CODE = 0x4406;
    public static final int IDT_VECTORING_INFO_FIELD = 0x4408;
    public static final int IDT_VECTORING_ERROR_CODE = 0x440a;
    public static final int VM_EXIT_INSTRUCTION_LEN = 0x440c;
    public static final int VMX_INSTRUCTION_INFO = 0x440e;
    public static final int GUEST_ES_LIMIT = 0x4800;
    public static final int GUEST_CS_LIMIT = 0x4802;
    public static final int GUEST_SS_LIMIT = 0x4804;
    public static final int GUEST_DS_LIMIT = 0x4806;
    public static final int GUEST_FS_LIMIT = 0x4808;
    public static final int GUEST_GS_LIMIT = 0x480a;
    public static final int GUEST_LDTR_LIMIT = 0x480c;
    public static final int GUEST_TR_LIMIT = 0x480e;
    public static final int GUEST_GDTR_LIMIT = 0x4810;
    public static final int GUEST_IDTR_LIMIT = 0x4812;
    public static final int GUEST_ES_AR_BYTES = 0x4814;
    public static final int GUEST_CS_AR_BYTES = 0x4816;
    public static final int GUEST_SS_AR_BYTES = 0x4818;
    public static final int GUEST_DS_AR_BYTES = 0x481a;
    public static final int GUEST_FS_AR_BYTES = 0x481c;
    public static final int GUEST_GS_AR_BYTES = 0x481e;
    public static final int GUEST_LDTR_AR_BYTES = 0x4820;
    public static final int GUEST_TR_AR_BYTES = 0x4822;
    public static final int GUEST_INTERRUPTIBILITY_INFO = 0x4824;
    public static final int GUEST_ACTIVITY_STATE = 0x4826;
    public static final int GUEST_SYSENTER_CS = 0x482a;
    public static final int HOST_IA32_SYSENTER_CS = 0x4c00;

    // VMCS fields, 64-bit (SDM Appendix B.2)
    public static final int IO_BITMAP_A = 0x2000;
    public static final int IO_BITMAP_B = 0x2002;
    public static final int MSR_BITMAP = 0x2004;
    public static final int VM_EXIT_MSR_STORE_ADDR = 0x2006;
    public static final int VM_EXIT_MSR_LOAD_ADDR = 0x2008;
    public static final int VM_ENTRY_MSR_LOAD_ADDR = 0x200a;
    public static final int TSC_OFFSET = 0x2010;
    public static final int VIRTUAL_APIC_PAGE_ADDR = 0x2012;
    public static final int APIC_ACCESS_ADDR = 0x2014;
    public static final int EPT_POINTER = 0x201a;
    public static final int GUEST_PHYSICAL_ADDRESS = 0x2400;
    public static final int VMCS_LINK_POINTER = 0x2800;
    public static final int GUEST_IA32_DEBUGCTL = 0x2802;
    public static final int GUEST_IA32_PAT = 0x2804;
    public static final int GUEST_PDPTR0 = 0x280a;
    public static final int GUEST_PDPTR1 = 0x280c;
    public static final int GUEST_PDPTR2 = 0x280e;
    public static final int GUEST_PDPTR3 = 0x2810;
    public static final int HOST_IA32_PAT = 0x2c00;

    // VMCS fields, high halves of 64-bit fields (access type high)
    public static final int IO_BITMAP_A_HIGH = 0x2001;
    public static final int IO_BITMAP_B_HIGH = 0x2003;
    public static final int MSR_BITMAP_HIGH = 0x2005;
    public static final int VM_EXIT_MSR_STORE_ADDR_HIGH = 0x2007;
    public static final int VM_EXIT_MSR_LOAD_ADDR_HIGH = 0x2009;
    public static final int VM_ENTRY_MSR_LOAD_ADDR_HIGH = 0x200b;
    public static final int TSC_OFFSET_HIGH = 0x2011;
    public static final int VIRTUAL_APIC_PAGE_ADDR_HIGH = 0x2013;
    public static final int APIC_ACCESS_ADDR_HIGH = 0x2015;
    public static final int EPT_POINTER_HIGH = 0x201b;
    public static final int GUEST_PHYSICAL_ADDRESS_HIGH = 0x2401;
    public static final int VMCS_LINK_POINTER_HIGH = 0x2801;
    public static final int GUEST_IA32_DEBUGCTL_HIGH = 0x2803;
    public static final int GUEST_IA32_PAT_HIGH = 0x2805;
    public static final int GUEST_PDPTR0_HIGH = 0x280b;
    public static final int GUEST_PDPTR1_HIGH = 0x280d;
    public static final int GUEST_PDPTR2_HIGH = 0x280f;
    public static final int GUEST_PDPTR3_HIGH = 0x2811;
    public static final int HOST_IA32_PAT_HIGH = 0x2c01;

    // VMCS fields, natural width (SDM Appendix B.4)
    public static final int CR0_GUEST_HOST_MASK = 0x6000;
    public static final int CR4_GUEST_HOST_MASK = 0x6002;
    public static final int CR0_READ_SHADOW = 0x6004;
    public static final int CR4_READ_SHADOW = 0x6006;
    public static final int CR3_TARGET_VALUE0 = 0x6008;
    public static final int CR3_TARGET_VALUE1 = 0x600a;
    public static final int CR3_TARGET_VALUE2 = 0x600c;
    public static final int CR3_TARGET_VALUE3 = 0x600e;
    public static final int EXIT_QUALIFICATION = 0x6400;
    public static final int GUEST_LINEAR_ADDRESS = 0x640a;
    public static final int GUEST_CR0 = 0x6800;
    public static final int GUEST_CR3 = 0x6802;
    public static final int GUEST_CR4 = 0x6804;
    public static final int GUEST_ES_BASE = 0x6806;
    public static final int GUEST_CS_BASE = 0x6808;
    public static final int GUEST_SS_BASE = 0x680a;
    public static final int GUEST_DS_BASE = 0x680c;
    public static final int GUEST_FS_BASE = 0x680e;
    public static final int GUEST_GS_BASE = 0x6810;
    public static final int GUEST_LDTR_BASE = 0x6812;
    public static final int GUEST_TR_BASE = 0x6814;
    public static final int GUEST_GDTR_BASE = 0x6816;
    public static final int GUEST_IDTR_BASE = 0x6818;
    public static final int GUEST_DR7 = 0x681a;
    public static final int GUEST_RSP = 0x681c;
    public static final int GUEST_RIP = 0x681e;
    public static final int GUEST_RFLAGS = 0x6820;
    public static final int GUEST_PENDING_DBG_EXCEPTIONS = 0x6822;
    public static final int GUEST_SYSENTER_ESP = 0x6824;
    public static final int GUEST_SYSENTER_EIP = 0x6826;
    public static final int HOST_CR0 = 0x6c00;
    public static final int HOST_CR3 = 0x6c02;
    public static final int HOST_CR4 = 0x6c04;
    public static final int HOST_FS_BASE = 0x6c06;
    public static final int HOST_GS_BASE = 0x6c08;
    public static final int HOST_TR_BASE = 0x6c0a;
    public static final int HOST_GDTR_BASE = 0x6c0c;
    public static final int HOST_IDTR_BASE = 0x6c0e;
    public static final int HOST_IA32_SYSENTER_ESP = 0x6c10;
    public static final int HOST_IA32_SYSENTER_EIP = 0x6c12;
    public static final int HOST_RSP = 0x6c14;
    public static final int HOST_RIP = 0x6c16;

    // Pin-based VM-execution controls
    public static final int PIN_BASED_EXT_INTR_MASK = 0x1;
    public static final int PIN_BASED_NMI_EXITING = 0x8;
    public static final int PIN_BASED_VIRTUAL_NMIS = 0x20;

    // Primary processor-based VM-execution controls
    public static final int CPU_BASED_VIRTUAL_INTR_PENDING = 0x4;
    public static final int CPU_BASED_USE_TSC_OFFSETING = 0x8;
    public static final int CPU_BASED_HLT_EXITING = 0x80;
    public static final int CPU_BASED_INVLPG_EXITING = 0x200;
    public static final int CPU_BASED_MWAIT_EXITING = 0x400;
    public static final int CPU_BASED_RDPMC_EXITING = 0x800;
    public static final int CPU_BASED_RDTSC_EXITING = 0x1000;
    public static final int CPU_BASED_CR3_LOAD_EXITING = 0x8000;
    public static final int CPU_BASED_CR3_STORE_EXITING = 0x10000;
    public static final int CPU_BASED_CR8_LOAD_EXITING = 0x80000;
    public static final int CPU_BASED_CR8_STORE_EXITING = 0x100000;
    public static final int CPU_BASED_TPR_SHADOW = 0x200000;
    public static final int CPU_BASED_VIRTUAL_NMI_PENDING = 0x400000;
    public static final int CPU_BASED_MOV_DR_EXITING = 0x800000;
    public static final int CPU_BASED_UNCOND_IO_EXITING = 0x1000000;
    public static final int CPU_BASED_USE_IO_BITMAPS = 0x2000000;
    public static final int CPU_BASED_USE_MSR_BITMAPS = 0x10000000;
    public static final int CPU_BASED_MONITOR_EXITING = 0x20000000;
    public static final int CPU_BASED_PAUSE_EXITING = 0x40000000;
    public static final int CPU_BASED_ACTIVATE_SECONDARY_CONTROLS = 0x80000000;

    // Secondary processor-based VM-execution controls
    public static final int SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES = 0x1;
    public static final int SECONDARY_EXEC_ENABLE_EPT = 0x2;
    public static final int SECONDARY_EXEC_ENABLE_VPID = 0x20;
    public static final int SECONDARY_EXEC_WBINVD_EXITING = 0x40;
    public static final int SECONDARY_EXEC_UNRESTRICTED_GUEST = 0x80;
    public static final int SECONDARY_EXEC_PAUSE_LOOP_EXITING = 0x400;

    // VM-exit controls
    public static final int VM_EXIT_HOST_ADDR_SPACE_SIZE = 0x200;
    public static final int VM_EXIT_ACK_INTR_ON_EXIT = 0x8000;
    public static final int VM_EXIT_SAVE_IA32_PAT = 0x40000;
    public static final int VM_EXIT_LOAD_IA32_PAT = 0x80000;

    // VM-entry controls
    public static final int VM_ENTRY_IA32E_MODE = 0x200;
    public static final int VM_ENTRY_SMM = 0x400;
    public static final int VM_ENTRY_DEACT_DUAL_MONITOR = 0x800;
    public static final int VM_ENTRY_LOAD_IA32_PAT = 0x4000;

    // Basic exit reasons (SDM Appendix C)
    public static final int VMX_EXIT_REASONS_FAILED_VMENTRY = 0x80000000;
    public static final int EXIT_REASON_EXCEPTION_NMI = 0x0;
    public static final int EXIT_REASON_EXTERNAL_INTERRUPT = 0x1;
    public static final int EXIT_REASON_TRIPLE_FAULT = 0x2;
    public static final int EXIT_REASON_PENDING_INTERRUPT = 0x7;
    public static final int EXIT_REASON_NMI_WINDOW = 0x8;
    public static final int EXIT_REASON_TASK_SWITCH = 0x9;
    public static final int EXIT_REASON_CPUID = 0xa;
    public static final int EXIT_REASON_HLT = 0xc;
    public static final int EXIT_REASON_INVLPG = 0xe;
    public static final int EXIT_REASON_RDPMC = 0xf;
    public static final int EXIT_REASON_RDTSC = 0x10;
    public static final int EXIT_REASON_VMCALL = 0x12;
    public static final int EXIT_REASON_VMCLEAR = 0x13;
    public static final int EXIT_REASON_VMLAUNCH = 0x14;
    public static final int EXIT_REASON_VMPTRLD = 0x15;
    public static final int EXIT_REASON_VMPTRST = 0x16;
    public static final int EXIT_REASON_VMREAD = 0x17;
    public static final int EXIT_REASON_VMRESUME = 0x18;
    public static final int EXIT_REASON_VMWRITE = 0x19;
    public static final int EXIT_REASON_VMOFF = 0x1a;
    public static final int EXIT_REASON_VMON = 0x1b;
    public static final int EXIT_REASON_CR_ACCESS = 0x1c;
    public static final int EXIT_REASON_DR_ACCESS = 0x1d;
    public static final int EXIT_REASON_IO_INSTRUCTION = 0x1e;
    public static final int EXIT_REASON_MSR_READ = 0x1f;
    public static final int EXIT_REASON_MSR_WRITE = 0x20;
    public static final int EXIT_REASON_MWAIT_INSTRUCTION = 0x24;
    public static final int EXIT_REASON_MONITOR_INSTRUCTION = 0x27;
    public static final int EXIT_REASON_PAUSE_INSTRUCTION = 0x28;
    public static final int EXIT_REASON_MCE_DURING_VMENTRY = 0x29;
    public static final int EXIT_REASON_TPR_BELOW_THRESHOLD = 0x2b;
    public static final int EXIT_REASON_APIC_ACCESS = 0x2c;
    public static final int EXIT_REASON_EPT_VIOLATION = 0x30;
    public static final int EXIT_REASON_EPT_MISCONFIG = 0x31;
    public static final int EXIT_REASON_WBINVD = 0x36;

    // Interruption-information fields
    public static final int INTR_INFO_VECTOR_MASK = 0xff;
    public static final int INTR_INFO_INTR_TYPE_MASK = 0x700;
    public static final int INTR_INFO_DELIVER_CODE_MASK = 0x800;
    public static final int INTR_INFO_UNBLOCK_NMI = 0x1000;
    public static final int INTR_INFO_VALID_MASK = 0x80000000;
    public static final int INTR_INFO_RESVD_BITS_MASK = 0x7ffff000;

    // Interruption types
    public static final int INTR_TYPE_EXT_INTR = 0x0;
    public static final int INTR_TYPE_NMI_INTR = 0x200;
    public static final int INTR_TYPE_HARD_EXCEPTION = 0x300;
    public static final int INTR_TYPE_SOFT_INTR = 0x400;
    public static final int INTR_TYPE_SOFT_EXCEPTION = 0x600;

    // Guest interruptibility state
    public static final int GUEST_INTR_STATE_STI = 0x1;
    public static final int GUEST_INTR_STATE_MOV_SS = 0x2;
    public static final int GUEST_INTR_STATE_SMI = 0x4;
    public static final int GUEST_INTR_STATE_NMI = 0x8;

    // VMX capability and control MSRs (SDM Appendix A "VMX Capability Reporting Facility")
    public static final int MSR_IA32_FEATURE_CONTROL = 0x3a;
    public static final int MSR_IA32_VMX_BASIC = 0x480;
    public static final int MSR_IA32_VMX_PINBASED_CTLS = 0x481;
    public static final int MSR_IA32_VMX_PROCBASED_CTLS = 0x482;
    public static final int MSR_IA32_VMX_EXIT_CTLS = 0x483;
    public static final int MSR_IA32_VMX_ENTRY_CTLS = 0x484;
    public static final int MSR_IA32_VMX_MISC = 0x485;
    public static final int MSR_IA32_VMX_CR0_FIXED0 = 0x486;
    public static final int MSR_IA32_VMX_CR0_FIXED1 = 0x487;
    public static final int MSR_IA32_VMX_CR4_FIXED0 = 0x488;
    public static final int MSR_IA32_VMX_CR4_FIXED1 = 0x489;
    public static final int MSR_IA32_VMX_VMCS_ENUM = 0x48a;
    public static final int MSR_IA32_VMX_PROCBASED_CTLS2 = 0x48b;
    public static final int MSR_IA32_VMX_EPT_VPID_CAP = 0x48c;
    public static final int FEATURE_CONTROL_LOCKED = 1 << 0;
    public static final int FEATURE_CONTROL_VMXON_ENABLED = 1 << 2;

    // IA32_VMX_EPT_VPID_CAP bits (SDM Appendix A.10)
    public static final long VMX_EPT_EXECUTE_ONLY_BIT = 1L << 0;
    public static final long VMX_EPT_PAGE_WALK_4_BIT = 1L << 6;
    public static final long VMX_EPTP_UC_BIT = 1L << 8;
    public static final long VMX_EPTP_WB_BIT = 1L << 14;
    public static final long VMX_EPT_2MB_PAGE_BIT = 1L << 16;
    public static final long VMX_EPT_EXTENT_INDIVIDUAL_BIT = 1L << 24;
    public static final long VMX_EPT_EXTENT_CONTEXT_BIT = 1L << 25;
    public static final long VMX_EPT_EXTENT_GLOBAL_BIT = 1L << 26;
    public static final long VMX_VPID_EXTENT_SINGLE_CONTEXT_BIT = 1L << (32 + 9);
    public static final long VMX_VPID_EXTENT_ALL_CONTEXT_BIT = 1L << (32 + 10);

    // EPT paging-structure entries (SDM 25.2 "The Extended Page Table Mechanism")
    public static final long VMX_EPT_READABLE_MASK = 1L << 0;
    public static final long VMX_EPT_WRITABLE_MASK = 1L << 1;
    public static final long VMX_EPT_EXECUTABLE_MASK = 1L << 2;
    public static final int VMX_EPT_MT_EPTE_SHIFT = 3;
    public static final long VMX_EPT_IGMT_BIT = 1L << 6;
    public static final long VMX_EPT_LARGE_PAGE = 1L << 7;
    public static final int VMX_EPT_DEFAULT_GAW = 3;
    public static final int VMX_EPT_GAW_EPTP_SHIFT = 3;
    public static final int VMX_EPT_DEFAULT_MT = 6;

    // INVEPT / INVVPID types
    public static final int VMX_EPT_EXTENT_INDIVIDUAL_ADDR = 0;
    public static final int VMX_EPT_EXTENT_CONTEXT = 1;
    public static final int VMX_EPT_EXTENT_GLOBAL = 2;
    public static final int VMX_VPID_EXTENT_SINGLE_CONTEXT = 1;
    public static final int VMX_VPID_EXTENT_ALL_CONTEXT = 2;

    // VM-instruction error numbers (SDM 30.4 "VM Instruction Error Numbers")
    public static final int VMXERR_VMCLEAR_INVALID_ADDRESS = 2;
    public static final int VMXERR_VMCLEAR_VMXON_POINTER = 3;
    public static final int VMXERR_VMLAUNCH_NONCLEAR_VMCS = 4;
    public static final int VMXERR_VMRESUME_NONLAUNCHED_VMCS = 5;
    public static final int VMXERR_ENTRY_INVALID_CONTROL_FIELD = 7;
    public static final int VMXERR_ENTRY_INVALID_HOST_STATE_FIELD = 8;
    public static final int VMXERR_VMPTRLD_INVALID_ADDRESS = 9;
    public static final int VMXERR_VMPTRLD_VMXON_POINTER = 10;
    public static final int VMXERR_VMPTRLD_INCORRECT_VMCS_REVISION_ID = 11;
    public static final int VMXERR_UNSUPPORTED_VMCS_COMPONENT = 12;
    public static final int VMXERR_VMXON_IN_VMX_ROOT_OPERATION = 15;
    public static final int VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID = 28;
}
