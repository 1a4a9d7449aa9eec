package kvmkmod.include;

import kvmkmod.hw.HostMemory;

/** struct kvm_vcpu_arch (asm/kvm_host.h): the x86 part of a vCPU. */
public final class KvmVcpuArch {
    public static final int VCPU_REGS_RAX = 0, VCPU_REGS_RCX = 1, VCPU_REGS_RDX = 2, VCPU_REGS_RBX = 3,
            VCPU_REGS_RSP = 4, VCPU_REGS_RBP = 5, VCPU_REGS_RSI = 6, VCPU_REGS_RDI = 7,
            VCPU_REGS_R8 = 8, VCPU_REGS_R9 = 9, VCPU_REGS_R10 = 10, VCPU_REGS_R11 = 11,
            VCPU_REGS_R12 = 12, VCPU_REGS_R13 = 13, VCPU_REGS_R14 = 14, VCPU_REGS_R15 = 15,
            VCPU_REGS_RIP = 16, NR_VCPU_REGS = 17;
    public static final int VCPU_EXREG_PDPTR = NR_VCPU_REGS;

    public static final int KVM_MP_STATE_RUNNABLE = 0, KVM_MP_STATE_UNINITIALIZED = 1,
            KVM_MP_STATE_INIT_RECEIVED = 2, KVM_MP_STATE_HALTED = 3, KVM_MP_STATE_SIPI_RECEIVED = 4;

    public long host_tsc;
    public final long[] regs = new long[NR_VCPU_REGS];
    public int regs_avail;
    public int regs_dirty;

    public long cr0, cr2, cr3, cr4, cr8;
    public int hflags;
    public long shadow_efer;
    public long apic_base;
    public int mp_state;
    public int sipi_vector;

    public final KvmMmu mmu = new KvmMmu();
    /** The PAE page-directory-pointer entries loaded from CR3 (load_pdptrs). */
    public final long[] pdptrs = new long[4];

    /** The guest frame a guest page-table write is about to map (mmu_guess_page_from_pte_write). */
    public long update_pte_gfn, update_pte_pfn = -1;
    /** Host-physical address of the last shadow entry prefetched, and its frame (fork detection). */
    public long last_pte_updated, last_pte_gfn;
    public long last_pt_write_gfn;
    public int last_pt_write_count;

    public long mmio_fault_cr2;
    public final KvmPioRequest pio = new KvmPioRequest();
    /** The PIO data page, mapped to userspace at page KVM_PIO_PAGE_OFFSET of the vCPU fd. */
    public HostMemory.Region pio_data;

    public int event_exit_inst_len;
    /** Set by the emulator's HLT so the exit handler halts the vCPU once emulation finishes. */
    public int halt_request;

    /** struct kvm_queued_exception. */
    public static final class KvmQueuedException {
        public boolean pending;
        public boolean has_error_code;
        public int nr;
        public int error_code;
    }

    /** struct kvm_queued_interrupt. */
    public static final class KvmQueuedInterrupt {
        public boolean pending;
        public boolean soft;
        public int nr;
    }

    public final KvmQueuedException exception = new KvmQueuedException();
    public final KvmQueuedInterrupt interrupt = new KvmQueuedInterrupt();

    public boolean nmi_pending;
    public boolean nmi_injected;

    /** u32 in 2.6.33 (kvm_host.h:361): a guest reads back only the low half of what it wrote to IA32_PAT. */
    public int pat;
    public long dr6, dr7;
    public final long[] db = new long[4];
    /** The debug registers the guest runs with: userspace's under KVM_GUESTDBG_USE_HW_BP, else the guest's own. */
    public final long[] eff_db = new long[4];
    public long switch_db_regs;
    /** Where KVM_GUESTDBG_SINGLESTEP was armed: TF is forced on only while the guest is still there. */
    public int singlestep_cs;
    public long singlestep_rip;

    /** asm/kvm_host.h: the most CPUID entries a vCPU holds. */
    public static final int KVM_MAX_CPUID_ENTRIES = 40;
    public int cpuid_nent;
    public final KvmCpuidEntry2[] cpuid_entries = new KvmCpuidEntry2[KVM_MAX_CPUID_ENTRIES];
    { for (int i = 0; i < KVM_MAX_CPUID_ENTRIES; i++) cpuid_entries[i] = new KvmCpuidEntry2(); }

    public long ia32_misc_enable_msr;
    /** kvmclock's MSR_KVM_SYSTEM_TIME value, stored only. */
    public long time;

    /** struct mtrr_state_type as 2.6.33 keeps it: the variable ranges (base/mask pairs 0x200..0x20f). */
    public final long[] mtrr_var_ranges = new long[16];
    /** The fixed ranges: 64K (0x250), 16K (0x258, 0x259), 4K (0x268..0x26f), 8 bytes each packed in a u64. */
    public final long[] mtrr_fixed_ranges = new long[11];
    public int mtrr_def_type;
    public int mtrr_enabled;

    public long mcg_cap;
    public long mcg_status;
    public long mcg_ctl;
    /** KVM_MAX_MCE_BANKS banks of CTL, STATUS, ADDR, MISC. */
    public final long[] mce_banks = new long[32 * 4];

    /** guest_fx_image: the guest's FXSAVE area, kept in KVM_GET/SET_FPU's shape (the soft CPU has no FPU to load it into). */
    public final KvmFpu guest_fx_image = new KvmFpu();

    /** struct kvm_pv_mmu_op_buffer for the KVM_HC_MMU_OP hypercall, owned by mmu.c's paravirtual part. */
    public Object mmu_op_buffer;

    /** The emulator context (struct x86_emulate_ctxt), owned by x86.c and emulate.c. */
    public Object emulate_ctxt;
}
