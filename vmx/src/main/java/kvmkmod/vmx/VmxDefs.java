package kvmkmod.vmx;

import kvmkmod.include.Kvm;

import static kvmkmod.x86.X86.*;

/**
 * Constants vmx.c takes from kernel headers that no other module of the project defines, under their C
 * names: asm/msr-index.h, asm/kvm_host.h (guest CR masks, the real-mode TSS, DR6/DR7 bits),
 * asm/vmx.h (segment access rights, private memslots, vectoring-info masks), asm/kvm.h and linux/kvm.h
 * (guest-debug flags), asm/mtrr.h, asm/pgtable_types.h and the
 * x86_64 kernel's GDT layout.
 *
 * <p>Everything else vmx.c uses has one definition elsewhere and is imported from there:
 * {@link kvmkmod.x86.X86} (CR0/CR4/EFLAGS/EFER bits, exception vectors, VCPU_SREG_*, EMULATE_*,
 * DR6/DR7_FIXED_1), {@link kvmkmod.x86.Mmu} (PT_* and root levels), {@link kvmkmod.kvm_main.KvmMain}
 * (KVM_REQ_*), {@link Kvm} (KVM_MEMORY_SLOTS), {@link kvmkmod.include.KvmVcpuArch} (VCPU_REGS_*,
 * VCPU_EXREG_PDPTR, KVM_MP_STATE_*), {@link kvmkmod.hw.VmxArch} (VMCS fields, controls, exit
 * reasons, capability MSRs, EPT bits) and {@link kvmkmod.emulator.X86EmulateCtxt} (X86_SHADOW_INT_*).
 */
public final class VmxDefs {
    private VmxDefs() {}

    /** asm/cpufeature.h: CPUID.1:ECX bit 5, X86_FEATURE_VMX. */
    public static final int X86_FEATURE_VMX_ECX_BIT = 5;

    /** asm/kvm_host.h: the one exception vector X86 does not name. */
    public static final int NMI_VECTOR = 2;

    // asm/kvm_host.h
    public static final long KVM_GUEST_CR0_MASK_UNRESTRICTED_GUEST = X86_CR0_WP | X86_CR0_NE | X86_CR0_NW | X86_CR0_CD;
    public static final long KVM_GUEST_CR0_MASK = KVM_GUEST_CR0_MASK_UNRESTRICTED_GUEST | X86_CR0_PG | X86_CR0_PE;
    public static final long KVM_VM_CR0_ALWAYS_ON_UNRESTRICTED_GUEST = X86_CR0_WP | X86_CR0_NE | X86_CR0_TS | X86_CR0_MP;
    public static final long KVM_VM_CR0_ALWAYS_ON = KVM_VM_CR0_ALWAYS_ON_UNRESTRICTED_GUEST | X86_CR0_PG | X86_CR0_PE;
    public static final long KVM_GUEST_CR4_MASK = X86_CR4_VME | X86_CR4_PSE | X86_CR4_PAE | X86_CR4_PGE | X86_CR4_VMXE;
    public static final long KVM_PMODE_VM_CR4_ALWAYS_ON = X86_CR4_PAE | X86_CR4_VMXE;
    public static final long KVM_RMODE_VM_CR4_ALWAYS_ON = X86_CR4_VME | X86_CR4_PAE | X86_CR4_VMXE;
    public static final int TSS_IOPB_BASE_OFFSET = 0x66, TSS_BASE_SIZE = 0x68, TSS_IOPB_SIZE = 65536 / 8,
            TSS_REDIRECTION_SIZE = 256 / 8;
    public static final int RMODE_TSS_SIZE = TSS_BASE_SIZE + TSS_REDIRECTION_SIZE + TSS_IOPB_SIZE + 1;
    public static final int TASK_SWITCH_CALL = 0, TASK_SWITCH_IRET = 1, TASK_SWITCH_JMP = 2, TASK_SWITCH_GATE = 3;
    public static final long DR6_BD = 1L << 13, DR6_BS = 1L << 14, DR6_VOLATILE = 0x0000e00fL;
    public static final long DR7_BP_EN_MASK = 0xff, DR7_GD = 1L << 13, DR7_VOLATILE = 0xffff23ffL;

    // asm/kvm.h, linux/kvm.h: kvm_guest_debug.control (SINGLESTEP lives in X86)
    public static final long KVM_GUESTDBG_ENABLE = 0x1, KVM_GUESTDBG_USE_SW_BP = 0x10000, KVM_GUESTDBG_USE_HW_BP = 0x20000;

    // asm/vmx.h
    public static final int VECTORING_INFO_VECTOR_MASK = 0xff, VECTORING_INFO_TYPE_MASK = 0x700,
            VECTORING_INFO_DELIVER_CODE_MASK = 0x800, VECTORING_INFO_VALID_MASK = 0x80000000;
    public static final int LMSW_SOURCE_DATA_SHIFT = 16;
    public static final int DEBUG_REG_ACCESS_NUM = 0x7, TYPE_MOV_FROM_DR = 1 << 4;
    public static final int SELECTOR_TI_MASK = 1 << 2, SELECTOR_RPL_MASK = 0x03;
    public static final int AR_TYPE_ACCESSES_MASK = 1, AR_TYPE_READABLE_MASK = 1 << 1,
            AR_TYPE_WRITEABLE_MASK = 1 << 2, AR_TYPE_CODE_MASK = 1 << 3, AR_TYPE_MASK = 0x0f,
            AR_TYPE_BUSY_64_TSS = 11, AR_TYPE_BUSY_32_TSS = 11, AR_TYPE_BUSY_16_TSS = 3, AR_TYPE_LDT = 2;
    public static final int AR_UNUSABLE_MASK = 1 << 16, AR_S_MASK = 1 << 4, AR_P_MASK = 1 << 7,
            AR_L_MASK = 1 << 13, AR_DB_MASK = 1 << 14, AR_G_MASK = 1 << 15, AR_DPL_SHIFT = 5;
    public static final int TSS_PRIVATE_MEMSLOT = Kvm.KVM_MEMORY_SLOTS + 0,
            APIC_ACCESS_PAGE_PRIVATE_MEMSLOT = Kvm.KVM_MEMORY_SLOTS + 1,
            IDENTITY_PAGETABLE_PRIVATE_MEMSLOT = Kvm.KVM_MEMORY_SLOTS + 2;
    public static final int VMX_NR_VPIDS = 1 << 16;
    public static final long VMX_EPT_IDENTITY_PAGETABLE_ADDR = 0xfffbc000L;

    /** DEBUG_REG_ACCESS_REG (asm/vmx.h): the GPR of a MOV DR exit. */
    public static int DEBUG_REG_ACCESS_REG(long eq) { return (int) ((eq >> 8) & 0xf); }

    // asm/mtrr.h
    public static final long MTRR_TYPE_UNCACHABLE = 0, MTRR_TYPE_WRBACK = 6;

    // asm/pgtable_types.h, mmu.h
    public static final int _PAGE_PRESENT = 0x1, _PAGE_RW = 0x2, _PAGE_USER = 0x4, _PAGE_ACCESSED = 0x20,
            _PAGE_DIRTY = 0x40, _PAGE_PSE = 0x80;
    public static final int PT32_ENT_PER_PAGE = 1024;

    // asm/segment.h (x86_64): the host kernel's selectors
    public static final int GDT_ENTRY_KERNEL_CS = 2, GDT_ENTRY_KERNEL_DS = 3, GDT_ENTRY_DEFAULT_USER_DS = 5,
            GDT_ENTRY_TSS = 8;
    public static final int __KERNEL_CS = GDT_ENTRY_KERNEL_CS * 8, __KERNEL_DS = GDT_ENTRY_KERNEL_DS * 8,
            __USER_DS = GDT_ENTRY_DEFAULT_USER_DS * 8 + 3;


    // vmx.c's own defines
    /** vmx.c:64: the RFLAGS bits the guest owns while it runs in vm86 for real mode. */
    public static final long RMODE_GUEST_OWNED_EFLAGS_BITS = ~(X86_EFLAGS_IOPL | X86_EFLAGS_VM);
    /** vmx.c:77-78: pause-loop exiting defaults. */
    public static final int KVM_VMX_DEFAULT_PLE_GAP = 41, KVM_VMX_DEFAULT_PLE_WINDOW = 4096;
}
