package kvmkmod.include;

/**
 * The userspace ABI of include/linux/kvm.h in 2.6.33: API version, ioctl numbers (x86_64), capability
 * numbers and the kvm_run exit reasons. The structures of that header are the classes of this package
 * named after them ({@link KvmRegs}, {@link KvmSregs}, {@link KvmRun}, ...).
 */
public final class Kvm_h {
    private Kvm_h() {}

    public static final int KVM_API_VERSION = 12;

    /** Flags of kvm_userspace_memory_region. */
    public static final int KVM_MEM_LOG_DIRTY_PAGES = 1;

    /** Pages of the vCPU mapping: kvm_run, then the PIO data page, then the coalesced MMIO ring (asm/kvm_host.h). */
    public static final int KVM_PIO_PAGE_OFFSET = 1;
    public static final int KVM_COALESCED_MMIO_PAGE_OFFSET = 2;

    // ioctl request numbers, x86_64 encoding
    public static final int KVM_GET_API_VERSION = 0x0000ae00;
    public static final int KVM_CREATE_VM = 0x0000ae01;
    public static final int KVM_CHECK_EXTENSION = 0x0000ae03;
    public static final int KVM_GET_VCPU_MMAP_SIZE = 0x0000ae04;
    public static final int KVM_TRACE_ENABLE = 0x4008ae06;
    public static final int KVM_TRACE_PAUSE = 0x0000ae07;
    public static final int KVM_TRACE_DISABLE = 0x0000ae08;
    public static final int KVM_GET_MSR_INDEX_LIST = 0xc004ae02;
    public static final int KVM_GET_SUPPORTED_CPUID = 0xc008ae05;
    public static final int KVM_X86_GET_MCE_CAP_SUPPORTED = 0x8008ae9d;
    public static final int KVM_CREATE_VCPU = 0x0000ae41;
    public static final int KVM_SET_USER_MEMORY_REGION = 0x4020ae46;
    public static final int KVM_GET_DIRTY_LOG = 0x4010ae42;
    public static final int KVM_REGISTER_COALESCED_MMIO = 0x4010ae67;
    public static final int KVM_UNREGISTER_COALESCED_MMIO = 0x4010ae68;
    public static final int KVM_IRQFD = 0x4020ae76;
    public static final int KVM_IOEVENTFD = 0x4040ae79;
    public static final int KVM_SET_BOOT_CPU_ID = 0x0000ae78;
    public static final int KVM_SET_TSS_ADDR = 0x0000ae47;
    public static final int KVM_SET_IDENTITY_MAP_ADDR = 0x4008ae48;
    public static final int KVM_SET_MEMORY_REGION = 0x4018ae40;
    public static final int KVM_SET_NR_MMU_PAGES = 0x0000ae44;
    public static final int KVM_GET_NR_MMU_PAGES = 0x0000ae45;
    public static final int KVM_SET_MEMORY_ALIAS = 0x4020ae43;
    public static final int KVM_CREATE_IRQCHIP = 0x0000ae60;
    public static final int KVM_CREATE_PIT = 0x0000ae64;
    public static final int KVM_CREATE_PIT2 = 0x4040ae77;
    public static final int KVM_IRQ_LINE_STATUS = 0xc008ae67;
    public static final int KVM_IRQ_LINE = 0x4008ae61;
    public static final int KVM_GET_IRQCHIP = 0xc208ae62;
    public static final int KVM_SET_IRQCHIP = 0x8208ae63;
    public static final int KVM_GET_PIT = 0xc048ae65;
    public static final int KVM_SET_PIT = 0x8048ae66;
    public static final int KVM_GET_PIT2 = 0x8070ae9f;
    public static final int KVM_SET_PIT2 = 0x4070aea0;
    public static final int KVM_REINJECT_CONTROL = 0x0000ae71;
    public static final int KVM_XEN_HVM_CONFIG = 0x4038ae7a;
    public static final int KVM_SET_CLOCK = 0x4030ae7b;
    public static final int KVM_GET_CLOCK = 0x8030ae7c;
    public static final int KVM_ASSIGN_PCI_DEVICE = 0x8040ae69;
    public static final int KVM_ASSIGN_IRQ = 0x8040ae70;
    public static final int KVM_ASSIGN_DEV_IRQ = 0x4040ae70;
    public static final int KVM_DEASSIGN_DEV_IRQ = 0x4040ae75;
    public static final int KVM_DEASSIGN_PCI_DEVICE = 0x4040ae72;
    public static final int KVM_SET_GSI_ROUTING = 0x4008ae6a;
    public static final int KVM_ASSIGN_SET_MSIX_NR = 0x4008ae73;
    public static final int KVM_ASSIGN_SET_MSIX_ENTRY = 0x4010ae74;
    public static final int KVM_RUN = 0x0000ae80;
    public static final int KVM_GET_REGS = 0x8090ae81;
    public static final int KVM_SET_REGS = 0x4090ae82;
    public static final int KVM_GET_SREGS = 0x8138ae83;
    public static final int KVM_SET_SREGS = 0x4138ae84;
    public static final int KVM_GET_MP_STATE = 0x8004ae98;
    public static final int KVM_SET_MP_STATE = 0x4004ae99;
    public static final int KVM_TRANSLATE = 0xc018ae85;
    public static final int KVM_SET_GUEST_DEBUG = 0x4048ae9b;
    public static final int KVM_SET_SIGNAL_MASK = 0x4004ae8b;
    public static final int KVM_GET_FPU = 0x81a0ae8c;
    public static final int KVM_SET_FPU = 0x41a0ae8d;
    public static final int KVM_GET_LAPIC = 0x8400ae8e;
    public static final int KVM_SET_LAPIC = 0x4400ae8f;
    public static final int KVM_INTERRUPT = 0x4004ae86;
    public static final int KVM_NMI = 0x0000ae9a;
    public static final int KVM_SET_CPUID = 0x4008ae8a;
    public static final int KVM_SET_CPUID2 = 0x4008ae90;
    public static final int KVM_GET_CPUID2 = 0xc008ae91;
    public static final int KVM_GET_MSRS = 0xc008ae88;
    public static final int KVM_SET_MSRS = 0x4008ae89;
    public static final int KVM_TPR_ACCESS_REPORTING = 0xc028ae92;
    public static final int KVM_SET_VAPIC_ADDR = 0x4008ae93;
    public static final int KVM_X86_SETUP_MCE = 0x4008ae9c;
    public static final int KVM_X86_SET_MCE = 0x4040ae9e;
    public static final int KVM_GET_VCPU_EVENTS = 0x8040ae9f;
    public static final int KVM_SET_VCPU_EVENTS = 0x4040aea0;

    // KVM_CHECK_EXTENSION capability numbers
    public static final int KVM_CAP_IRQCHIP = 0;
    public static final int KVM_CAP_HLT = 1;
    public static final int KVM_CAP_MMU_SHADOW_CACHE_CONTROL = 2;
    public static final int KVM_CAP_USER_MEMORY = 3;
    public static final int KVM_CAP_SET_TSS_ADDR = 4;
    public static final int KVM_CAP_VAPIC = 6;
    public static final int KVM_CAP_EXT_CPUID = 7;
    public static final int KVM_CAP_CLOCKSOURCE = 8;
    public static final int KVM_CAP_NR_VCPUS = 9;
    public static final int KVM_CAP_NR_MEMSLOTS = 10;
    public static final int KVM_CAP_PIT = 11;
    public static final int KVM_CAP_NOP_IO_DELAY = 12;
    public static final int KVM_CAP_PV_MMU = 13;
    public static final int KVM_CAP_MP_STATE = 14;
    public static final int KVM_CAP_COALESCED_MMIO = 15;
    public static final int KVM_CAP_SYNC_MMU = 16;
    public static final int KVM_CAP_DEVICE_ASSIGNMENT = 17;
    public static final int KVM_CAP_IOMMU = 18;
    public static final int KVM_CAP_DEVICE_MSI = 20;
    public static final int KVM_CAP_DESTROY_MEMORY_REGION_WORKS = 21;
    public static final int KVM_CAP_USER_NMI = 22;
    public static final int KVM_CAP_SET_GUEST_DEBUG = 23;
    public static final int KVM_CAP_REINJECT_CONTROL = 24;
    public static final int KVM_CAP_IRQ_ROUTING = 25;
    public static final int KVM_CAP_IRQ_INJECT_STATUS = 26;
    public static final int KVM_CAP_DEVICE_DEASSIGNMENT = 27;
    public static final int KVM_CAP_DEVICE_MSIX = 28;
    public static final int KVM_CAP_ASSIGN_DEV_IRQ = 29;
    public static final int KVM_CAP_JOIN_MEMORY_REGIONS_WORKS = 30;
    public static final int KVM_CAP_MCE = 31;
    public static final int KVM_CAP_IRQFD = 32;
    public static final int KVM_CAP_PIT2 = 33;
    public static final int KVM_CAP_SET_BOOT_CPU_ID = 34;
    public static final int KVM_CAP_PIT_STATE2 = 35;
    public static final int KVM_CAP_IOEVENTFD = 36;
    public static final int KVM_CAP_SET_IDENTITY_MAP_ADDR = 37;
    public static final int KVM_CAP_XEN_HVM = 38;
    public static final int KVM_CAP_ADJUST_CLOCK = 39;
    public static final int KVM_CAP_INTERNAL_ERROR_DATA = 40;
    public static final int KVM_CAP_VCPU_EVENTS = 41;
    public static final int KVM_CAP_S390_PSW = 42;
    public static final int KVM_CAP_PPC_SEGSTATE = 43;
    public static final int KVM_CAP_X86_ROBUST_SINGLESTEP = 51;

    // kvm_run.exit_reason values and their sub-codes
    public static final int KVM_EXIT_UNKNOWN = 0;
    public static final int KVM_EXIT_EXCEPTION = 1;
    public static final int KVM_EXIT_IO = 2;
    public static final int KVM_EXIT_HYPERCALL = 3;
    public static final int KVM_EXIT_DEBUG = 4;
    public static final int KVM_EXIT_HLT = 5;
    public static final int KVM_EXIT_MMIO = 6;
    public static final int KVM_EXIT_IRQ_WINDOW_OPEN = 7;
    public static final int KVM_EXIT_SHUTDOWN = 8;
    public static final int KVM_EXIT_FAIL_ENTRY = 9;
    public static final int KVM_EXIT_INTR = 10;
    public static final int KVM_EXIT_SET_TPR = 11;
    public static final int KVM_EXIT_TPR_ACCESS = 12;
    public static final int KVM_EXIT_S390_SIEIC = 13;
    public static final int KVM_EXIT_S390_RESET = 14;
    public static final int KVM_EXIT_DCR = 15;
    public static final int KVM_EXIT_NMI = 16;
    public static final int KVM_EXIT_INTERNAL_ERROR = 17;
    public static final int KVM_INTERNAL_ERROR_EMULATION = 1;
    public static final int KVM_INTERNAL_ERROR_SIMUL_EX = 2;
    public static final int KVM_EXIT_IO_IN = 0;
    public static final int KVM_EXIT_IO_OUT = 1;
}
