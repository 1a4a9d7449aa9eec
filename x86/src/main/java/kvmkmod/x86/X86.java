package kvmkmod.x86;

import kvmkmod.hw.HostMemory;
import kvmkmod.include.DescriptorTable;
import kvmkmod.include.ErrPtr;
import kvmkmod.include.File;
import kvmkmod.include.Kvm;
import kvmkmod.include.Kernel;
import kvmkmod.include.KvmArchHooks;
import kvmkmod.include.KvmCpuidEntry2;
import kvmkmod.include.KvmFpu;
import kvmkmod.include.KvmGuestDebug;
import kvmkmod.include.KvmTranslation;
import kvmkmod.include.KvmVcpuEvents;
import kvmkmod.include.KvmMsrEntry;
import kvmkmod.include.KvmMemorySlot;
import kvmkmod.include.KvmPioRequest;
import kvmkmod.include.KvmRegs;
import kvmkmod.include.KvmRun;
import kvmkmod.include.KvmSegment;
import kvmkmod.include.KvmSregs;
import kvmkmod.include.KvmStatsDebugfsItem;
import kvmkmod.include.KvmUserspaceMemoryRegion;
import kvmkmod.include.KvmVcpu;
import kvmkmod.include.KvmX86Ops;
import kvmkmod.include.Origin;
import kvmkmod.include.Uaccess;
import kvmkmod.include.Vfs;
import kvmkmod.emulator.Emulate;
import kvmkmod.emulator.EmulatorVcpuOps;
import kvmkmod.emulator.X86EmulateCtxt;
import kvmkmod.emulator.X86EmulateOps;
import kvmkmod.kvm_main.KvmMain;

import java.nio.ByteBuffer;

import static kvmkmod.hw.HostMemory.PAGE_SIZE;
import static kvmkmod.include.Errno.*;
import static kvmkmod.include.KvmVcpuArch.*;
import static kvmkmod.hw.MsrIndex.*;
import static kvmkmod.include.Kvm_h.*;
import static kvmkmod.include.KvmStatsDebugfsItem.VCPU_STAT;
import static kvmkmod.include.KvmStatsDebugfsItem.VM_STAT;
import static kvmkmod.kvm_main.KvmMain.*;

/**
 * arch/x86/kvm/x86.c: the x86 part of kvm.ko — the kvm_arch_* functions kvm_main.c calls, the run loop
 * (kvm_arch_vcpu_ioctl_run → __vcpu_run → vcpu_enter_guest → kvm_x86_ops->run / ->handle_exit), port
 * I/O emulation (kvm_emulate_pio, kernel_pio, complete_pio), control registers and the register ioctls.
 * The static inlines of x86.h and kvm_cache_regs.h that it and vmx.c use live here too, with their
 * headers named where they are defined.
 */
public final class X86 implements KvmArchHooks, EmulatorVcpuOps {
    public final KvmMain kvm_main;
    /** The vendor module's operations, set by kvm_arch_init (x86.c:3423). */
    public KvmX86Ops kvm_x86_ops;
    public final Mmu mmu;
    /** mmu.c's paravirtual MMU operations (the KVM_HC_MMU_OP hypercall). */
    final PvMmu pv_mmu;

    // Control register and flag bits (asm/processor-flags.h) and reserved-bit masks (asm/kvm_host.h)
    public static final long X86_CR0_PE = 1L << 0, X86_CR0_MP = 1L << 1, X86_CR0_EM = 1L << 2, X86_CR0_TS = 1L << 3,
            X86_CR0_ET = 1L << 4, X86_CR0_NE = 1L << 5, X86_CR0_WP = 1L << 16, X86_CR0_AM = 1L << 18,
            X86_CR0_NW = 1L << 29, X86_CR0_CD = 1L << 30, X86_CR0_PG = 1L << 31;
    public static final long X86_CR4_VME = 1L << 0, X86_CR4_PVI = 1L << 1, X86_CR4_TSD = 1L << 2, X86_CR4_DE = 1L << 3,
            X86_CR4_PSE = 1L << 4, X86_CR4_PAE = 1L << 5, X86_CR4_MCE = 1L << 6, X86_CR4_PGE = 1L << 7,
            X86_CR4_PCE = 1L << 8, X86_CR4_OSFXSR = 1L << 9, X86_CR4_OSXMMEXCPT = 1L << 10, X86_CR4_VMXE = 1L << 13;
    public static final long X86_EFLAGS_CF = 1L << 0, X86_EFLAGS_TF = 1L << 8, X86_EFLAGS_IF = 1L << 9,
            X86_EFLAGS_IOPL = 3L << 12, X86_EFLAGS_RF = 1L << 16, X86_EFLAGS_VM = 1L << 17;
    /** x86.c: CR3 bits that must be zero in IA-32e and PAE paging. */
    static final long CR3_L_MODE_RESERVED_BITS = 0xFFFFFF0000000000L | 0xfe7L, CR3_PAE_RESERVED_BITS = 0x17L;
    public static final long EFER_SCE = 1L << 0, EFER_LME = 1L << 8, EFER_LMA = 1L << 10, EFER_NX = 1L << 11;
    public static final long CR0_RESERVED_BITS = ~(X86_CR0_PE | X86_CR0_MP | X86_CR0_EM | X86_CR0_TS | X86_CR0_ET
            | X86_CR0_NE | X86_CR0_WP | X86_CR0_AM | X86_CR0_NW | X86_CR0_CD | X86_CR0_PG) & 0xffffffffL;
    public static final long CR4_RESERVED_BITS = ~(X86_CR4_VME | X86_CR4_PVI | X86_CR4_TSD | X86_CR4_DE | X86_CR4_PSE
            | X86_CR4_PAE | X86_CR4_MCE | X86_CR4_PGE | X86_CR4_PCE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT | X86_CR4_VMXE);
    public static final long CR8_RESERVED_BITS = ~0xfL;
    public static final long DR6_FIXED_1 = 0xffff0ff0L, DR7_FIXED_1 = 0x400L;
    public static final long KVM_GUESTDBG_SINGLESTEP = 0x2;
    // not public: vmx.c's Java imports these names from its own VmxDefs
    static final long KVM_GUESTDBG_ENABLE = 0x1, KVM_GUESTDBG_INJECT_DB = 0x40000, KVM_GUESTDBG_INJECT_BP = 0x80000,
            KVM_GUESTDBG_USE_HW_BP = 0x20000;
    static final long DR7_BP_EN_MASK = 0xff;
    static final int KVM_NR_DB_REGS = 4;
    /** Exception vectors. */
    public static final int DE_VECTOR = 0, DB_VECTOR = 1, BP_VECTOR = 3, OF_VECTOR = 4, BR_VECTOR = 5, UD_VECTOR = 6,
            NM_VECTOR = 7, DF_VECTOR = 8, TS_VECTOR = 10, NP_VECTOR = 11, SS_VECTOR = 12, GP_VECTOR = 13,
            PF_VECTOR = 14, MF_VECTOR = 16, MC_VECTOR = 18;
    /** Segment register indexes (enum kvm_reg / VCPU_SREG_*). */
    public static final int VCPU_SREG_ES = 0, VCPU_SREG_CS = 1, VCPU_SREG_SS = 2, VCPU_SREG_DS = 3, VCPU_SREG_FS = 4,
            VCPU_SREG_GS = 5, VCPU_SREG_TR = 6, VCPU_SREG_LDTR = 7;
    /** Results of emulate_instruction (asm/kvm_host.h). */
    public static final int EMULATE_DONE = 0, EMULATE_DO_MMIO = 1, EMULATE_FAIL = 2;
    public static final int EMULTYPE_NO_DECODE = 1 << 0, EMULTYPE_TRAP_UD = 1 << 1, EMULTYPE_SKIP = 1 << 2;
    public static final int KVM_MAX_MCE_BANKS = 32;
    static final int KVM_MIN_ALLOC_MMU_PAGES = 64;

    /** debugfs_entries[] (x86.c:111): the kvm_stat counters, in the C's order and with its file names. */
    static final KvmStatsDebugfsItem[] debugfs_entries = {
        VCPU_STAT("pf_fixed", s -> s.pf_fixed), VCPU_STAT("pf_guest", s -> s.pf_guest),
        VCPU_STAT("tlb_flush", s -> s.tlb_flush), VCPU_STAT("invlpg", s -> s.invlpg),
        VCPU_STAT("exits", s -> s.exits), VCPU_STAT("io_exits", s -> s.io_exits),
        VCPU_STAT("mmio_exits", s -> s.mmio_exits), VCPU_STAT("signal_exits", s -> s.signal_exits),
        VCPU_STAT("irq_window", s -> s.irq_window_exits), VCPU_STAT("nmi_window", s -> s.nmi_window_exits),
        VCPU_STAT("halt_exits", s -> s.halt_exits), VCPU_STAT("halt_wakeup", s -> s.halt_wakeup),
        VCPU_STAT("hypercalls", s -> s.hypercalls), VCPU_STAT("request_irq", s -> s.request_irq_exits),
        VCPU_STAT("irq_exits", s -> s.irq_exits), VCPU_STAT("host_state_reload", s -> s.host_state_reload),
        VCPU_STAT("efer_reload", s -> s.efer_reload), VCPU_STAT("fpu_reload", s -> s.fpu_reload),
        VCPU_STAT("insn_emulation", s -> s.insn_emulation), VCPU_STAT("insn_emulation_fail", s -> s.insn_emulation_fail),
        VCPU_STAT("irq_injections", s -> s.irq_injections), VCPU_STAT("nmi_injections", s -> s.nmi_injections),
        VM_STAT("mmu_shadow_zapped", s -> s.mmu_shadow_zapped), VM_STAT("mmu_pte_write", s -> s.mmu_pte_write),
        VM_STAT("mmu_pte_updated", s -> s.mmu_pte_updated), VM_STAT("mmu_pde_zapped", s -> s.mmu_pde_zapped),
        VM_STAT("mmu_flooded", s -> s.mmu_flooded), VM_STAT("mmu_recycled", s -> s.mmu_recycled),
        VM_STAT("mmu_cache_miss", s -> s.mmu_cache_miss), VM_STAT("mmu_unsync", s -> s.mmu_unsync),
        VM_STAT("remote_tlb_flush", s -> s.remote_tlb_flush), VM_STAT("largepages", s -> s.lpages),
    };

    @Override public KvmStatsDebugfsItem[] debugfs_entries() { return debugfs_entries.clone(); }

    /** The shared-MSR slots vmx.c defines (struct kvm_shared_msrs_global). */
    private final int[] shared_msrs_global = new int[16];
    private int shared_msrs_nr;
    private long efer_reserved_bits = ~(EFER_SCE | EFER_LME | EFER_LMA);

    public X86(KvmMain kvm_main) {
        this.kvm_main = kvm_main;
        this.mmu = new Mmu(this);
        this.pv_mmu = new PvMmu(this);
    }

    // ---- x86.h and kvm_cache_regs.h inlines ----

    /** kvm_cache_regs.h: reads a register, asking the vendor module to fetch it from hardware first. */
    public long kvm_register_read(KvmVcpu vcpu, int reg) {
        if ((vcpu.arch.regs_avail & (1 << reg)) == 0) kvm_x86_ops.cache_reg(vcpu, reg);
        return vcpu.arch.regs[reg];
    }

    /** kvm_cache_regs.h: writes a register and marks it dirty so the vendor module writes it back. */
    public void kvm_register_write(KvmVcpu vcpu, int reg, long val) {
        vcpu.arch.regs[reg] = val;
        vcpu.arch.regs_dirty |= 1 << reg;
        vcpu.arch.regs_avail |= 1 << reg;
    }

    public long kvm_rip_read(KvmVcpu vcpu) { return kvm_register_read(vcpu, VCPU_REGS_RIP); }

    public void kvm_rip_write(KvmVcpu vcpu, long val) { kvm_register_write(vcpu, VCPU_REGS_RIP, val); }

    /** x86.h / mmu.h mode tests. */
    public static boolean is_paging(KvmVcpu vcpu) { return (vcpu.arch.cr0 & X86_CR0_PG) != 0; }
    public static boolean is_pae(KvmVcpu vcpu) { return (vcpu.arch.cr4 & X86_CR4_PAE) != 0; }
    public static boolean is_protmode(KvmVcpu vcpu) { return (vcpu.arch.cr0 & X86_CR0_PE) != 0; }
    public static boolean is_long_mode(KvmVcpu vcpu) { return (vcpu.arch.shadow_efer & EFER_LMA) != 0; }

    /** irqchip_in_kernel (irq.h): no in-kernel PIC/IOAPIC is modelled yet, so userspace owns interrupts. */
    public static boolean irqchip_in_kernel(Kvm kvm) { return false; }

    /** kvm_cpu_has_interrupt (irq.c) without an in-kernel irqchip: nothing pending in the kernel. */
    public static boolean kvm_cpu_has_interrupt(KvmVcpu vcpu) { return false; }

    /** x86.h: #BP and #OF are raised by INT3/INTO, so their injection needs the instruction length. */
    public static boolean kvm_exception_is_soft(int nr) { return nr == BP_VECTOR || nr == OF_VECTOR; }

    // ---- APIC base, exceptions ----

    @Origin(file = "arch/x86/kvm/x86.c", line = 241)
    public long kvm_get_apic_base(KvmVcpu vcpu) { return vcpu.arch.apic_base; }

    @Origin(file = "arch/x86/kvm/x86.c", line = 250, status = Origin.Status.SIMPLIFIED,
            note = "no in-kernel local APIC to hand the value to")
    public void kvm_set_apic_base(KvmVcpu vcpu, long data) { vcpu.arch.apic_base = data; }

    @Origin(file = "arch/x86/kvm/x86.c", line = 260)
    public void kvm_queue_exception(KvmVcpu vcpu, int nr) {
        vcpu.arch.exception.pending = true;
        vcpu.arch.exception.has_error_code = false;
        vcpu.arch.exception.nr = nr;
    }

    /** A #PF for the guest; a fault while delivering one becomes #DF, and a fault on #DF a triple fault. */
    @Origin(file = "arch/x86/kvm/x86.c", line = 269)
    public void kvm_inject_page_fault(KvmVcpu vcpu, long addr, int error_code) {
        ++vcpu.stat.pf_guest;
        if (vcpu.arch.exception.pending) {
            switch (vcpu.arch.exception.nr) {
                case DF_VECTOR:
                    vcpu.requests |= 1L << KVM_REQ_TRIPLE_FAULT;
                    return;
                case PF_VECTOR:
                    vcpu.arch.exception.nr = DF_VECTOR;
                    vcpu.arch.exception.error_code = 0;
                    return;
                default:
                    vcpu.arch.exception.pending = false;
                    break;
            }
        }
        vcpu.arch.cr2 = addr;
        kvm_queue_exception_e(vcpu, PF_VECTOR, error_code);
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 302)
    public void kvm_queue_exception_e(KvmVcpu vcpu, int nr, int error_code) {
        vcpu.arch.exception.pending = true;
        vcpu.arch.exception.has_error_code = true;
        vcpu.arch.exception.nr = nr;
        vcpu.arch.exception.error_code = error_code;
    }

    /** A privileged instruction from CPL above {@code required_cpl} is refused with #GP(0). */
    @Origin(file = "arch/x86/kvm/x86.c", line = 316)
    public boolean kvm_require_cpl(KvmVcpu vcpu, int required_cpl) {
        if (kvm_x86_ops.get_cpl(vcpu) <= required_cpl) return true;
        kvm_queue_exception_e(vcpu, GP_VECTOR, 0);
        return false;
    }

    /** x86.h: kvm_inject_gp. */
    public void kvm_inject_gp(KvmVcpu vcpu, int error_code) { kvm_queue_exception_e(vcpu, GP_VECTOR, error_code); }

    @Origin(file = "arch/x86/kvm/x86.c", line = 296)
    public void kvm_inject_nmi(KvmVcpu vcpu) { vcpu.arch.nmi_pending = true; }

    public void kvm_clear_exception_queue(KvmVcpu vcpu) { vcpu.arch.exception.pending = false; }

    public void kvm_clear_interrupt_queue(KvmVcpu vcpu) { vcpu.arch.interrupt.pending = false; }

    public void kvm_queue_interrupt(KvmVcpu vcpu, int vector, boolean soft) {
        vcpu.arch.interrupt.pending = true;
        vcpu.arch.interrupt.soft = soft;
        vcpu.arch.interrupt.nr = vector;
    }

    public boolean kvm_event_needs_reinjection(KvmVcpu vcpu) {
        return vcpu.arch.exception.pending || vcpu.arch.interrupt.pending || vcpu.arch.nmi_injected;
    }

    /** linux/kvm_host.h: by id, since kvm->bsp_vcpu is only set once the vCPU is published. */
    public static boolean kvm_vcpu_is_bsp(KvmVcpu vcpu) { return vcpu.kvm.bsp_vcpu_id == vcpu.vcpu_id; }

    // ---- shared MSRs and EFER ----

    /** Host MSRs the guest may clobber are restored on return to userspace (user-return notifier). */
    @Origin(file = "arch/x86/kvm/x86.c", line = 165, status = Origin.Status.SIMPLIFIED,
            note = "no user-return notifier: a Java host has no MSRs of its own to restore")
    public void kvm_define_shared_msr(int slot, int msr) {
        if (slot >= shared_msrs_nr) shared_msrs_nr = slot + 1;
        shared_msrs_global[slot] = msr;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 189, status = Origin.Status.SIMPLIFIED,
            note = "no host MSR to load: the value lives in the guest's VMCS-visible state only")
    public void kvm_set_shared_msr(int slot, long value, long mask) { }

    @Origin(file = "arch/x86/kvm/x86.c", line = 617)
    public void kvm_enable_efer_bits(long mask) { efer_reserved_bits &= ~mask; }

    // ---- MSRs (x86.c:557-1285) ----

    static final int KVM_NR_VAR_MTRR = 8;
    static final int MAX_IO_MSRS = 256;
    static final int X86_FEATURE_FXSR_OPT = 25, X86_FEATURE_SVM = 2, X86_FEATURE_NX = 20;

    /** The kvm module parameter ignore_msrs (x86.c:95): unknown MSRs read 0 and writes are dropped. */
    public boolean ignore_msrs;

    /** msrs_to_save (x86.c:557), x86_64 build; kvm_init_msr_list keeps those the host can rdmsr. */
    static final int[] msrs_to_save_all = {
        MSR_KVM_SYSTEM_TIME, MSR_KVM_WALL_CLOCK,
        MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
        MSR_K6_STAR, MSR_CSTAR, MSR_KERNEL_GS_BASE, MSR_SYSCALL_MASK, MSR_LSTAR,
        MSR_IA32_TSC, MSR_IA32_PERF_STATUS, MSR_IA32_CR_PAT, MSR_VM_HSAVE_PA
    };
    final int[] msrs_to_save = new int[msrs_to_save_all.length];
    int num_msrs_to_save;
    static final int[] emulated_msrs = { MSR_IA32_MISC_ENABLE };

    @Origin(file = "arch/x86/kvm/x86.c", line = 573)
    void set_efer(KvmVcpu vcpu, long efer) {
        if ((efer & efer_reserved_bits) != 0) { kvm_inject_gp(vcpu, 0); return; }
        // LME may not change while paging is on
        if (is_paging(vcpu) && (vcpu.arch.shadow_efer & EFER_LME) != (efer & EFER_LME)) { kvm_inject_gp(vcpu, 0); return; }
        if ((efer & EFER_FFXSR) != 0) {
            KvmCpuidEntry2 feat = kvm_find_cpuid_entry(vcpu, 0x80000001, 0);
            if (feat == null || (feat.edx & (1 << X86_FEATURE_FXSR_OPT)) == 0) { kvm_inject_gp(vcpu, 0); return; }
        }
        if ((efer & EFER_SVME) != 0) {
            KvmCpuidEntry2 feat = kvm_find_cpuid_entry(vcpu, 0x80000001, 0);
            if (feat == null || (feat.ecx & (1 << X86_FEATURE_SVM)) == 0) { kvm_inject_gp(vcpu, 0); return; }
        }
        kvm_x86_ops.set_efer(vcpu, efer);
        // LMA is the processor's to set, not the guest's
        efer &= ~EFER_LMA;
        efer |= vcpu.arch.shadow_efer & EFER_LMA;
        vcpu.arch.shadow_efer = efer;
        Mmu.setBaseRole(vcpu, Mmu.ROLE_NXE, (efer & EFER_NX) != 0 && !mmu.tdp_enabled);
        mmu.kvm_mmu_reset_context(vcpu);
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 629)
    @Override public int kvm_set_msr(KvmVcpu vcpu, int msr_index, long data) { return kvm_x86_ops.set_msr(vcpu, msr_index, data); }

    @Origin(file = "arch/x86/kvm/x86.c", line = 637)
    int do_set_msr(KvmVcpu vcpu, int index, long[] data) { return kvm_set_msr(vcpu, index, data[0]); }

    @Origin(file = "arch/x86/kvm/x86.c", line = 771)
    static boolean msr_mtrr_valid(int msr) {
        if (msr >= 0x200 && msr < 0x200 + 2 * KVM_NR_VAR_MTRR) return true;
        if (msr == MSR_MTRRfix64K_00000 || msr == MSR_MTRRfix16K_80000 || msr == MSR_MTRRfix16K_A0000) return true;
        if (msr >= MSR_MTRRfix4K_C0000 && msr <= MSR_MTRRfix4K_F8000) return true;
        return msr == MSR_MTRRdefType || msr == MSR_IA32_CR_PAT || msr == 0x2f8;
    }

    private static boolean valid_pat_type(long t) { return t < 8 && ((1 << t) & 0xf3) != 0; }

    @Origin(file = "arch/x86/kvm/x86.c", line = 800)
    static boolean valid_mtrr_type(long t) { return t < 8 && ((1 << t) & 0x73) != 0; }

    @Origin(file = "arch/x86/kvm/x86.c", line = 805)
    static boolean mtrr_valid(KvmVcpu vcpu, int msr, long data) {
        if (!msr_mtrr_valid(msr)) return false;
        if (msr == MSR_IA32_CR_PAT) {
            for (int i = 0; i < 8; i++) if (!valid_pat_type((data >>> (i * 8)) & 0xff)) return false;
            return true;
        } else if (msr == MSR_MTRRdefType) {
            if ((data & ~0xcffL) != 0) return false;
            return valid_mtrr_type(data & 0xff);
        } else if (msr >= MSR_MTRRfix64K_00000 && msr <= MSR_MTRRfix4K_F8000) {
            for (int i = 0; i < 8; i++) if (!valid_mtrr_type((data >>> (i * 8)) & 0xff)) return false;
            return true;
        }
        return valid_mtrr_type(data & 0xff);
    }

    /** Where a fixed-range MTRR lives in the packed fixed_ranges (64K, 2x16K, 8x4K); -1 if it is not one. */
    private static int mtrr_fixed_slot(int msr) {
        if (msr == MSR_MTRRfix64K_00000) return 0;
        if (msr == MSR_MTRRfix16K_80000 || msr == MSR_MTRRfix16K_A0000) return 1 + msr - MSR_MTRRfix16K_80000;
        if (msr >= MSR_MTRRfix4K_C0000 && msr <= MSR_MTRRfix4K_F8000) return 3 + msr - MSR_MTRRfix4K_C0000;
        return -1;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 832, status = Origin.Status.SIMPLIFIED,
            note = "a variable range is one u64 per base/mask MSR instead of the lo/hi halves of struct mtrr_var_range; 0x2f8 is accepted but stored nowhere, as in 2.6.33 it lands in var_ranges past the 8 pairs")
    int set_msr_mtrr(KvmVcpu vcpu, int msr, long data) {
        if (!mtrr_valid(vcpu, msr, data)) return 1;
        int fixed = mtrr_fixed_slot(msr);
        if (msr == MSR_MTRRdefType) {
            vcpu.arch.mtrr_def_type = (int) (data & 0xff); // a u8 mtrr_type in struct mtrr_state_type
            vcpu.arch.mtrr_enabled = (int) ((data & 0xc00) >> 10);
        } else if (fixed >= 0) {
            vcpu.arch.mtrr_fixed_ranges[fixed] = data;
        } else if (msr == MSR_IA32_CR_PAT) {
            vcpu.arch.pat = (int) data;
        } else if (msr - 0x200 < vcpu.arch.mtrr_var_ranges.length) {
            vcpu.arch.mtrr_var_ranges[msr - 0x200] = data;
        }
        mmu.kvm_mmu_reset_context(vcpu);
        return 0;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 869)
    int set_msr_mce(KvmVcpu vcpu, int msr, long data) {
        long mcg_cap = vcpu.arch.mcg_cap;
        int bank_num = (int) (mcg_cap & 0xff);
        if (msr == MSR_IA32_MCG_STATUS) {
            vcpu.arch.mcg_status = data;
        } else if (msr == MSR_IA32_MCG_CTL) {
            if ((mcg_cap & MCG_CTL_P) == 0) return 1;
            if (data != 0 && data != ~0L) return -1;
            vcpu.arch.mcg_ctl = data;
        } else if (msr >= MSR_IA32_MC0_CTL && msr < MSR_IA32_MC0_CTL + 4 * bank_num) {
            int offset = msr - MSR_IA32_MC0_CTL;
            // MCi_CTL takes 0 or all ones; bit 10 of it is forgiven (old Linux clears it on K8)
            if ((offset & 3) == 0 && data != 0 && (data | (1L << 10)) != ~0L) return -1;
            vcpu.arch.mce_banks[offset] = data;
        } else {
            return 1;
        }
        return 0;
    }

    private static boolean in(int msr, int lo, int hi) { return Integer.compareUnsigned(msr, lo) >= 0 && Integer.compareUnsigned(msr, hi) <= 0; }

    private void pr_unimpl(KvmVcpu vcpu, String what) {
        System.err.println("kvm: " + Thread.currentThread().getId() + ": cpu" + vcpu.vcpu_id + " " + what);
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 937, status = Origin.Status.SIMPLIFIED,
            note = "no x2APIC (no in-kernel APIC: those MSRs fail), kvmclock MSRs are stored but no clock page is written, no Xen HVM config MSR")
    public int kvm_set_msr_common(KvmVcpu vcpu, int msr, long data) {
        if (msr == MSR_EFER) {
            set_efer(vcpu, data);
        } else if (msr == MSR_K7_HWCR) {
            data &= ~0x40L; // flush-filter disable is harmless
            if (data != 0) { pr_unimpl(vcpu, String.format("unimplemented HWCR wrmsr: 0x%x", data)); return 1; }
        } else if (msr == MSR_FAM10H_MMIO_CONF_BASE) {
            if (data != 0) { pr_unimpl(vcpu, String.format("unimplemented MMIO_CONF_BASE wrmsr: 0x%x", data)); return 1; }
        } else if (msr == MSR_AMD64_NB_CFG) {
            // accepted and dropped
        } else if (msr == MSR_IA32_DEBUGCTLMSR) {
            if (data != 0) {
                if ((data & ~(DEBUGCTLMSR_LBR | DEBUGCTLMSR_BTF)) != 0) return 1;
                pr_unimpl(vcpu, String.format("MSR_IA32_DEBUGCTLMSR 0x%x, nop", data));
            }
        } else if (msr == MSR_IA32_UCODE_REV || msr == MSR_IA32_UCODE_WRITE || msr == MSR_VM_HSAVE_PA
                || msr == MSR_AMD64_PATCH_LOADER) {
            // accepted and dropped
        } else if (in(msr, 0x200, 0x2ff)) {
            return set_msr_mtrr(vcpu, msr, data);
        } else if (msr == MSR_IA32_APICBASE) {
            kvm_set_apic_base(vcpu, data);
        } else if (in(msr, APIC_BASE_MSR, APIC_BASE_MSR + 0x3ff)) {
            return 1; // kvm_x2apic_msr_write fails without an in-kernel APIC
        } else if (msr == MSR_IA32_MISC_ENABLE) {
            vcpu.arch.ia32_misc_enable_msr = data;
        } else if (msr == MSR_KVM_WALL_CLOCK) {
            vcpu.kvm.arch.wall_clock = data;
        } else if (msr == MSR_KVM_SYSTEM_TIME) {
            vcpu.arch.time = data;
        } else if (msr == MSR_IA32_MCG_CTL || msr == MSR_IA32_MCG_STATUS
                || in(msr, MSR_IA32_MC0_CTL, MSR_IA32_MC0_CTL + 4 * KVM_MAX_MCE_BANKS - 1)) {
            return set_msr_mce(vcpu, msr, data);
        } else if (msr == MSR_P6_EVNTSEL0 || msr == MSR_P6_EVNTSEL1 || in(msr, MSR_K7_EVNTSEL0, MSR_K7_EVNTSEL3)) {
            // writing 0 disables a counter, which is exactly what we emulate
            if (data != 0) pr_unimpl(vcpu, String.format("unimplemented perfctr wrmsr: 0x%x data 0x%x", msr, data));
        } else if (msr == MSR_P6_PERFCTR0 || msr == MSR_P6_PERFCTR1 || in(msr, MSR_K7_PERFCTR0, MSR_K7_PERFCTR3)) {
            pr_unimpl(vcpu, String.format("unimplemented perfctr wrmsr: 0x%x data 0x%x", msr, data));
        } else if (!ignore_msrs) {
            pr_unimpl(vcpu, String.format("unhandled wrmsr: 0x%x data %x", msr, data));
            return 1;
        } else {
            pr_unimpl(vcpu, String.format("ignored wrmsr: 0x%x data %x", msr, data));
        }
        return 0;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 1074)
    @Override public int kvm_get_msr(KvmVcpu vcpu, int msr_index, long[] pdata) { return kvm_x86_ops.get_msr(vcpu, msr_index, pdata); }

    @Origin(file = "arch/x86/kvm/x86.c", line = 1079, status = Origin.Status.SIMPLIFIED,
            note = "a variable range is one u64 per base/mask MSR; 0x2f8 reads 0")
    int get_msr_mtrr(KvmVcpu vcpu, int msr, long[] pdata) {
        if (!msr_mtrr_valid(msr)) return 1;
        int fixed = mtrr_fixed_slot(msr);
        if (msr == MSR_MTRRdefType) pdata[0] = vcpu.arch.mtrr_def_type + ((long) vcpu.arch.mtrr_enabled << 10);
        else if (fixed >= 0) pdata[0] = vcpu.arch.mtrr_fixed_ranges[fixed];
        else if (msr == MSR_IA32_CR_PAT) pdata[0] = Integer.toUnsignedLong(vcpu.arch.pat);
        else pdata[0] = msr - 0x200 < vcpu.arch.mtrr_var_ranges.length ? vcpu.arch.mtrr_var_ranges[msr - 0x200] : 0;
        return 0;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 1115)
    int get_msr_mce(KvmVcpu vcpu, int msr, long[] pdata) {
        long data;
        long mcg_cap = vcpu.arch.mcg_cap;
        int bank_num = (int) (mcg_cap & 0xff);
        if (msr == MSR_IA32_P5_MC_ADDR || msr == MSR_IA32_P5_MC_TYPE) data = 0;
        else if (msr == MSR_IA32_MCG_CAP) data = vcpu.arch.mcg_cap;
        else if (msr == MSR_IA32_MCG_CTL) {
            if ((mcg_cap & MCG_CTL_P) == 0) return 1;
            data = vcpu.arch.mcg_ctl;
        } else if (msr == MSR_IA32_MCG_STATUS) data = vcpu.arch.mcg_status;
        else if (msr >= MSR_IA32_MC0_CTL && msr < MSR_IA32_MC0_CTL + 4 * bank_num) data = vcpu.arch.mce_banks[msr - MSR_IA32_MC0_CTL];
        else return 1;
        pdata[0] = data;
        return 0;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 1150, status = Origin.Status.SIMPLIFIED,
            note = "no x2APIC MSRs (no in-kernel APIC: they fail)")
    public int kvm_get_msr_common(KvmVcpu vcpu, int msr, long[] pdata) {
        long data;
        if (msr == MSR_IA32_PLATFORM_ID || msr == MSR_IA32_UCODE_REV || msr == MSR_IA32_EBL_CR_POWERON
                || msr == MSR_IA32_DEBUGCTLMSR || in(msr, MSR_IA32_LASTBRANCHFROMIP, MSR_IA32_LASTINTTOIP)
                || msr == MSR_K8_SYSCFG || msr == MSR_K7_HWCR || msr == MSR_VM_HSAVE_PA
                || msr == MSR_P6_PERFCTR0 || msr == MSR_P6_PERFCTR1 || msr == MSR_P6_EVNTSEL0 || msr == MSR_P6_EVNTSEL1
                || msr == MSR_K7_EVNTSEL0 || msr == MSR_K7_PERFCTR0 || msr == MSR_K8_INT_PENDING_MSG
                || msr == MSR_AMD64_NB_CFG || msr == MSR_FAM10H_MMIO_CONF_BASE) {
            data = 0;
        } else if (msr == MSR_MTRRcap) {
            data = 0x500 | KVM_NR_VAR_MTRR; // fixed ranges and write-combining, 8 variable ranges
        } else if (in(msr, 0x200, 0x2ff)) {
            return get_msr_mtrr(vcpu, msr, pdata);
        } else if (msr == 0xcd) {
            data = 3; // FSB frequency
        } else if (msr == MSR_IA32_APICBASE) {
            data = kvm_get_apic_base(vcpu);
        } else if (in(msr, APIC_BASE_MSR, APIC_BASE_MSR + 0x3ff)) {
            return 1;
        } else if (msr == MSR_IA32_MISC_ENABLE) {
            data = vcpu.arch.ia32_misc_enable_msr;
        } else if (msr == MSR_IA32_PERF_STATUS) {
            data = 1000L | (4L << 40); // TSC step per tick, CPU multiplier
        } else if (msr == MSR_EFER) {
            data = vcpu.arch.shadow_efer;
        } else if (msr == MSR_KVM_WALL_CLOCK) {
            data = vcpu.kvm.arch.wall_clock;
        } else if (msr == MSR_KVM_SYSTEM_TIME) {
            data = vcpu.arch.time;
        } else if (msr == MSR_IA32_P5_MC_ADDR || msr == MSR_IA32_P5_MC_TYPE || msr == MSR_IA32_MCG_CAP
                || msr == MSR_IA32_MCG_CTL || msr == MSR_IA32_MCG_STATUS
                || in(msr, MSR_IA32_MC0_CTL, MSR_IA32_MC0_CTL + 4 * KVM_MAX_MCE_BANKS - 1)) {
            return get_msr_mce(vcpu, msr, pdata);
        } else if (!ignore_msrs) {
            pr_unimpl(vcpu, String.format("unhandled rdmsr: 0x%x", msr));
            return 1;
        } else {
            pr_unimpl(vcpu, String.format("ignored rdmsr: 0x%x", msr));
            data = 0;
        }
        pdata[0] = data;
        return 0;
    }

    interface DoMsr { int apply(KvmVcpu vcpu, int index, long[] data); }

    @Origin(file = "arch/x86/kvm/x86.c", line = 1236)
    int __msr_io(KvmVcpu vcpu, int nmsrs, KvmMsrEntry[] entries, DoMsr do_msr) {
        int i;
        kvm_main.vcpu_load(vcpu);
        vcpu.kvm.slots_lock.readLock().lock();
        try {
            long[] d = new long[1];
            for (i = 0; i < nmsrs; ++i) {
                d[0] = entries[i].data;
                int failed = do_msr.apply(vcpu, entries[i].index, d);
                entries[i].data = d[0];
                if (failed != 0) break;
            }
        } finally {
            vcpu.kvm.slots_lock.readLock().unlock();
            kvm_main.vcpu_put(vcpu);
        }
        return i;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 1261)
    int msr_io(KvmVcpu vcpu, long user_msrs, DoMsr do_msr, boolean writeback) {
        HostMemory.Region u = Uaccess.access_ok(vcpu.kvm.mm, user_msrs, KvmMsrEntry.MSRS_HEADER_SIZE);
        if (u == null) return -EFAULT;
        int nmsrs = u.buf.getInt(Uaccess.off(u, user_msrs));
        if (Integer.compareUnsigned(nmsrs, MAX_IO_MSRS) >= 0) return -E2BIG;
        long ents = user_msrs + KvmMsrEntry.MSRS_HEADER_SIZE;
        int size = KvmMsrEntry.SIZE * nmsrs;
        HostMemory.Region e = Uaccess.access_ok(vcpu.kvm.mm, ents, size);
        if (e == null) return -EFAULT;
        KvmMsrEntry[] entries = new KvmMsrEntry[nmsrs];
        for (int i = 0; i < nmsrs; i++) entries[i] = new KvmMsrEntry().read(e.buf, Uaccess.off(e, ents) + i * KvmMsrEntry.SIZE);
        int n = __msr_io(vcpu, nmsrs, entries, do_msr);
        if (n < 0) return n;
        if (writeback)
            for (int i = 0; i < nmsrs; i++) entries[i].write(e.buf, Uaccess.off(e, ents) + i * KvmMsrEntry.SIZE);
        return n;
    }


    // ---- control registers ----

    /** Loads the four PAE PDPTEs CR3 points at; 0 when one that is present has reserved bits set. */
    @Origin(file = "arch/x86/kvm/x86.c", line = 328)
    public int load_pdptrs(KvmVcpu vcpu, long cr3) {
        long pdpt_gfn = cr3 >>> HostMemory.PAGE_SHIFT;
        int offset = (int) (((cr3 & (HostMemory.PAGE_SIZE - 1)) >>> 5) << 2);
        byte[] b = new byte[32];
        if (kvm_main.kvm_read_guest(vcpu.kvm, (pdpt_gfn << HostMemory.PAGE_SHIFT) + offset * 8L, b, 0, 32) < 0) return 0;
        ByteBuffer bb = ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        long[] pdpte = new long[4];
        for (int i = 0; i < 4; ++i) {
            pdpte[i] = bb.getLong(8 * i);
            if ((pdpte[i] & 1) != 0 && (pdpte[i] & vcpu.arch.mmu.rsvd_bits_mask[0][2]) != 0) return 0;
        }
        System.arraycopy(pdpte, 0, vcpu.arch.pdptrs, 0, 4);
        vcpu.arch.regs_avail |= 1 << VCPU_EXREG_PDPTR;
        vcpu.arch.regs_dirty |= 1 << VCPU_EXREG_PDPTR;
        return 1;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 362)
    boolean pdptrs_changed(KvmVcpu vcpu) {
        if (is_long_mode(vcpu) || !is_pae(vcpu)) return false;
        if ((vcpu.arch.regs_avail & (1 << VCPU_EXREG_PDPTR)) == 0) return true;
        byte[] b = new byte[32];
        if (kvm_main.kvm_read_guest(vcpu.kvm, vcpu.arch.cr3 & ~31L, b, 0, 32) < 0) return true;
        ByteBuffer bb = ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 4; i++) if (bb.getLong(8 * i) != vcpu.arch.pdptrs[i]) return true;
        return false;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 384)
    public void kvm_set_cr0(KvmVcpu vcpu, long cr0) {
        if ((cr0 & CR0_RESERVED_BITS) != 0) { kvm_inject_gp(vcpu, 0); return; }
        if ((cr0 & X86_CR0_NW) != 0 && (cr0 & X86_CR0_CD) == 0) { kvm_inject_gp(vcpu, 0); return; }
        if ((cr0 & X86_CR0_PG) != 0 && (cr0 & X86_CR0_PE) == 0) { kvm_inject_gp(vcpu, 0); return; }
        if (!is_paging(vcpu) && (cr0 & X86_CR0_PG) != 0) {
            if ((vcpu.arch.shadow_efer & EFER_LME) != 0) {
                if (!is_pae(vcpu)) { kvm_inject_gp(vcpu, 0); return; }
                int[] db_l = new int[2];
                kvm_x86_ops.get_cs_db_l_bits(vcpu, db_l);
                if (db_l[1] != 0) { kvm_inject_gp(vcpu, 0); return; }
            } else if (is_pae(vcpu) && load_pdptrs(vcpu, vcpu.arch.cr3) == 0) {
                kvm_inject_gp(vcpu, 0);
                return;
            }
        }
        kvm_x86_ops.set_cr0(vcpu, cr0);
        vcpu.arch.cr0 = cr0;
        mmu.kvm_mmu_reset_context(vcpu);
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 433)
    public void kvm_lmsw(KvmVcpu vcpu, long msw) { kvm_set_cr0(vcpu, (vcpu.arch.cr0 & ~0x0fL) | (msw & 0x0f)); }

    @Origin(file = "arch/x86/kvm/x86.c", line = 439)
    public void kvm_set_cr4(KvmVcpu vcpu, long cr4) {
        long old_cr4 = vcpu.arch.cr4;
        long pdptr_bits = X86_CR4_PGE | X86_CR4_PSE | X86_CR4_PAE;
        if ((cr4 & CR4_RESERVED_BITS) != 0) { kvm_inject_gp(vcpu, 0); return; }
        if (is_long_mode(vcpu)) {
            if ((cr4 & X86_CR4_PAE) == 0) { kvm_inject_gp(vcpu, 0); return; }
        } else if (is_paging(vcpu) && (cr4 & X86_CR4_PAE) != 0 && ((cr4 ^ old_cr4) & pdptr_bits) != 0
                && load_pdptrs(vcpu, vcpu.arch.cr3) == 0) {
            kvm_inject_gp(vcpu, 0);
            return;
        }
        if ((cr4 & X86_CR4_VMXE) != 0) { kvm_inject_gp(vcpu, 0); return; }
        kvm_x86_ops.set_cr4(vcpu, cr4);
        vcpu.arch.cr4 = cr4;
        Mmu.setBaseRole(vcpu, Mmu.ROLE_CR4_PGE, (cr4 & X86_CR4_PGE) != 0 && !mmu.tdp_enabled);
        mmu.kvm_mmu_reset_context(vcpu);
    }

    /** The same CR3 again only resynchronises unsync shadow pages; a new one switches address space. */
    @Origin(file = "arch/x86/kvm/x86.c", line = 472)
    public void kvm_set_cr3(KvmVcpu vcpu, long cr3) {
        if (cr3 == vcpu.arch.cr3 && !pdptrs_changed(vcpu)) {
            mmu.kvm_mmu_sync_roots(vcpu);
            mmu.kvm_mmu_flush_tlb(vcpu);
            return;
        }
        if (is_long_mode(vcpu)) {
            if ((cr3 & CR3_L_MODE_RESERVED_BITS) != 0) { kvm_inject_gp(vcpu, 0); return; }
        } else if (is_pae(vcpu)) {
            if ((cr3 & CR3_PAE_RESERVED_BITS) != 0) { kvm_inject_gp(vcpu, 0); return; }
            if (is_paging(vcpu) && load_pdptrs(vcpu, cr3) == 0) { kvm_inject_gp(vcpu, 0); return; }
        }
        if (kvm_main.gfn_to_memslot(vcpu.kvm, cr3 >>> HostMemory.PAGE_SHIFT) == null) {
            kvm_inject_gp(vcpu, 0);
        } else {
            vcpu.arch.cr3 = cr3;
            vcpu.arch.mmu.new_cr3.new_cr3(vcpu);
        }
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 520)
    public void kvm_set_cr8(KvmVcpu vcpu, long cr8) {
        if ((cr8 & CR8_RESERVED_BITS) != 0) { kvm_inject_gp(vcpu, 0); return; }
        vcpu.arch.cr8 = cr8;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 533)
    public long kvm_get_cr8(KvmVcpu vcpu) { return vcpu.arch.cr8; }

    // ---- /dev/kvm capabilities ----

    @Origin(file = "arch/x86/kvm/x86.c", line = 1305, status = Origin.Status.SIMPLIFIED,
            note = "answers 0 for what is not built yet (irqchip, PIT, MCE, ...), never a false yes")
    @Override public int kvm_dev_ioctl_check_extension(long ext) {
        if (ext == KVM_CAP_HLT || ext == KVM_CAP_SET_TSS_ADDR || ext == KVM_CAP_IOEVENTFD
                || ext == KVM_CAP_SET_IDENTITY_MAP_ADDR || ext == KVM_CAP_MMU_SHADOW_CACHE_CONTROL
                || ext == KVM_CAP_SYNC_MMU
                || ext == KVM_CAP_EXT_CPUID || ext == KVM_CAP_MP_STATE || ext == KVM_CAP_VCPU_EVENTS)
            return 1;
        if (ext == KVM_CAP_COALESCED_MMIO) return KVM_COALESCED_MMIO_PAGE_OFFSET;
        if (ext == KVM_CAP_VAPIC) return kvm_x86_ops.cpu_has_accelerated_tpr() ? 0 : 1;
        if (ext == KVM_CAP_NR_VCPUS) return Kvm.KVM_MAX_VCPUS;
        if (ext == KVM_CAP_NR_MEMSLOTS) return Kvm.KVM_MEMORY_SLOTS;
        return 0;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 1363, status = Origin.Status.SIMPLIFIED,
            note = "no KVM_X86_GET_MCE_CAP_SUPPORTED yet (MCE injection is not built): it answers -EINVAL")
    @Override public long kvm_arch_dev_ioctl(File filp, int ioctl, long arg) {
        Vfs mm = Vfs.current();
        switch (ioctl) {
            case KVM_GET_MSR_INDEX_LIST: {
                HostMemory.Region u = Uaccess.access_ok(mm, arg, KvmMsrEntry.MSR_LIST_HEADER_SIZE);
                if (u == null) return -EFAULT;
                int n = u.buf.getInt(Uaccess.off(u, arg));
                int nmsrs = num_msrs_to_save + emulated_msrs.length;
                // the count needed goes back even when the buffer is too small
                u.buf.putInt(Uaccess.off(u, arg), nmsrs);
                if (Integer.compareUnsigned(n, nmsrs) < 0) return -E2BIG;
                long indices = arg + KvmMsrEntry.MSR_LIST_HEADER_SIZE;
                HostMemory.Region v = Uaccess.access_ok(mm, indices, 4L * nmsrs);
                if (v == null) return -EFAULT;
                for (int i = 0; i < num_msrs_to_save; i++) v.buf.putInt(Uaccess.off(v, indices) + 4 * i, msrs_to_save[i]);
                for (int i = 0; i < emulated_msrs.length; i++)
                    v.buf.putInt(Uaccess.off(v, indices) + 4 * (num_msrs_to_save + i), emulated_msrs[i]);
                return 0;
            }
            case KVM_GET_SUPPORTED_CPUID: {
                HostMemory.Region u = Uaccess.access_ok(mm, arg, KvmCpuidEntry2.HEADER_SIZE);
                if (u == null) return -EFAULT;
                int[] nent = {u.buf.getInt(Uaccess.off(u, arg))};
                int r = kvm_dev_ioctl_get_supported_cpuid(mm, nent, arg + KvmCpuidEntry2.HEADER_SIZE);
                if (r != 0) return r;
                u.buf.putInt(Uaccess.off(u, arg), nent[0]);
                return 0;
            }
            default:
                return -EINVAL;
        }
    }

    // ---- vCPU load/put ----

    @Origin(file = "arch/x86/kvm/x86.c", line = 1431, status = Origin.Status.SIMPLIFIED,
            note = "no per-CPU TSC frequency or kvmclock update")
    @Override public void kvm_arch_vcpu_load(KvmVcpu vcpu, int cpu) {
        kvm_x86_ops.vcpu_load(vcpu, cpu);
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 1443)
    @Override public void kvm_arch_vcpu_put(KvmVcpu vcpu) {
        kvm_x86_ops.vcpu_put(vcpu);
        kvm_put_guest_fpu(vcpu);
    }

    // ---- CPUID tables (x86.c:1449-1760) ----

    static final int X86_FEATURE_X2APIC = 21;
    /** cpuid 1.edx (word 0) bits KVM passes on: FPU..SELFSNOOP without PSN, DS, ACPI, HTT, TM, PBE. */
    static final int kvm_supported_word0_x86_features = 0x0f8bfbff & ~(1 << 10) & ~(1 << 18) & ~(1 << 21) & ~(1 << 22);
    /** cpuid 0x80000001.edx (word 1), without NX, GBPAGES and LM, which depend on the host. */
    static final int kvm_supported_word1_x86_features_base = 0xc3dbfbff & ~(1 << 10) & ~(1 << 18) & ~(1 << 19) & ~(1 << 21) & ~(1 << 26) & ~(1 << 27) & ~(1 << 28) & ~(1 << 29) & ~(1 << 20);
    /** cpuid 1.ecx (word 4): SSE3, SSSE3, CX16, SSE4.1, SSE4.2, x2APIC, MOVBE, POPCNT. */
    static final int kvm_supported_word4_x86_features = (1 << 0) | (1 << 9) | (1 << 13) | (1 << 19) | (1 << 20) | (1 << 21) | (1 << 22) | (1 << 23);
    /** cpuid 0x80000001.ecx (word 6): LAHF_LM, CMP_LEGACY, SVM, CR8_LEGACY, ABM, SSE4A, MISALIGNSSE, 3DNOWPREFETCH, SSE5. */
    static final int kvm_supported_word6_x86_features = (1 << 0) | (1 << 1) | (1 << 2) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 11);

    @Origin(file = "arch/x86/kvm/x86.c", line = 1449)
    boolean is_efer_nx() {
        int[] r = new int[4];
        kvm_main.kernel.platform.cpu(0).cpuid(0x80000001, 0, r);
        return (r[3] & (1 << X86_FEATURE_NX)) != 0;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 1457, status = Origin.Status.SIMPLIFIED,
            note = "asks the host's CPUID for NX instead of its EFER")
    void cpuid_fix_nx_cap(KvmVcpu vcpu) {
        // a guest must not see NX when the host runs without it
        KvmCpuidEntry2 e = null;
        for (int i = 0; i < vcpu.arch.cpuid_nent; ++i) {
            KvmCpuidEntry2 e1 = vcpu.arch.cpuid_entries[i];
            if (e1.function == 0x80000001) { e = e1; break; }
        }
        if (e != null && (e.edx & (1 << X86_FEATURE_NX)) != 0 && !is_efer_nx()) {
            e.edx &= ~(1 << X86_FEATURE_NX);
            System.err.println("kvm: guest NX capability removed");
        }
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 1477, status = Origin.Status.SIMPLIFIED,
            note = "no in-kernel APIC, so no kvm_apic_set_version")
    int kvm_vcpu_ioctl_set_cpuid(KvmVcpu vcpu, int nent, long entries) {
        if (Integer.compareUnsigned(nent, KVM_MAX_CPUID_ENTRIES) > 0) return -E2BIG;
        HostMemory.Region u = Uaccess.access_ok(vcpu.kvm.mm, entries, (long) nent * KvmCpuidEntry2.OLD_SIZE);
        if (u == null) return -EFAULT;
        for (int i = 0; i < nent; i++)
            vcpu.arch.cpuid_entries[i].readOld(u.buf, Uaccess.off(u, entries) + i * KvmCpuidEntry2.OLD_SIZE);
        vcpu.arch.cpuid_nent = nent;
        cpuid_fix_nx_cap(vcpu);
        return 0;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 1518, status = Origin.Status.SIMPLIFIED,
            note = "no in-kernel APIC, so no kvm_apic_set_version")
    int kvm_vcpu_ioctl_set_cpuid2(KvmVcpu vcpu, int nent, long entries) {
        if (Integer.compareUnsigned(nent, KVM_MAX_CPUID_ENTRIES) > 0) return -E2BIG;
        HostMemory.Region u = Uaccess.access_ok(vcpu.kvm.mm, entries, (long) nent * KvmCpuidEntry2.SIZE);
        if (u == null) return -EFAULT;
        for (int i = 0; i < nent; i++)
            vcpu.arch.cpuid_entries[i].read(u.buf, Uaccess.off(u, entries) + i * KvmCpuidEntry2.SIZE);
        vcpu.arch.cpuid_nent = nent;
        return 0;
    }

    /** Returns the errno; on -E2BIG nent[0] holds the count needed (2.6.33 does not copy it back to the user). */
    @Origin(file = "arch/x86/kvm/x86.c", line = 1539)
    int kvm_vcpu_ioctl_get_cpuid2(KvmVcpu vcpu, int[] nent, long entries) {
        int r;
        if (Integer.compareUnsigned(nent[0], vcpu.arch.cpuid_nent) < 0) {
            r = -E2BIG;
        } else {
            HostMemory.Region u = Uaccess.access_ok(vcpu.kvm.mm, entries, (long) vcpu.arch.cpuid_nent * KvmCpuidEntry2.SIZE);
            if (u != null) {
                for (int i = 0; i < vcpu.arch.cpuid_nent; i++)
                    vcpu.arch.cpuid_entries[i].write(u.buf, Uaccess.off(u, entries) + i * KvmCpuidEntry2.SIZE);
                return 0;
            }
            r = -EFAULT;
        }
        nent[0] = vcpu.arch.cpuid_nent;
        return r;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 1559)
    void do_cpuid_1_ent(KvmCpuidEntry2 entry, int function, int index) {
        entry.function = function;
        entry.index = index;
        int[] r = new int[4];
        kvm_main.kernel.platform.cpu(0).cpuid(function, index, r);
        entry.eax = r[0]; entry.ebx = r[1]; entry.ecx = r[2]; entry.edx = r[3];
        entry.flags = 0;
    }

    /** Fills entries[at..] for one function; nent[0] counts what the table holds. */
    @Origin(file = "arch/x86/kvm/x86.c", line = 1571, status = Origin.Status.SIMPLIFIED,
            note = "a 64-bit host build (LM passed on); GBPAGES is never offered (vmx_gb_page_enable is false)")
    void do_cpuid_ent(KvmCpuidEntry2[] entries, int at, int function, int index, int[] nent, int maxnent) {
        int f_nx = is_efer_nx() ? 1 << X86_FEATURE_NX : 0;
        int f_lm = 1 << 29;
        int word1 = kvm_supported_word1_x86_features_base | f_nx | f_lm;
        KvmCpuidEntry2 entry = entries[at];
        do_cpuid_1_ent(entry, function, index);
        ++nent[0];
        switch (function) {
            case 0:
                entry.eax = Integer.compareUnsigned(entry.eax, 0xb) < 0 ? entry.eax : 0xb;
                break;
            case 1:
                entry.edx &= kvm_supported_word0_x86_features;
                entry.ecx &= kvm_supported_word4_x86_features;
                entry.ecx |= 1 << X86_FEATURE_X2APIC; // KVM emulates x2APIC whatever the host has
                break;
            case 2: {
                // leaf 2 is stateful: AL says how many times to execute it
                int times = entry.eax & 0xff;
                entry.flags |= KvmCpuidEntry2.KVM_CPUID_FLAG_STATEFUL_FUNC | KvmCpuidEntry2.KVM_CPUID_FLAG_STATE_READ_NEXT;
                for (int t = 1; t < times && nent[0] < maxnent; ++t) {
                    do_cpuid_1_ent(entries[at + t], function, 0);
                    entries[at + t].flags |= KvmCpuidEntry2.KVM_CPUID_FLAG_STATEFUL_FUNC;
                    ++nent[0];
                }
                break;
            }
            case 4:
            case 0xb: {
                // indexed leaves: one entry per subleaf until the type field reads 0
                entry.flags |= KvmCpuidEntry2.KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
                for (int i = 1; nent[0] < maxnent; ++i) {
                    KvmCpuidEntry2 prev = entries[at + i - 1];
                    int type = function == 4 ? prev.eax & 0x1f : prev.ecx & 0xff00;
                    if (type == 0) break;
                    do_cpuid_1_ent(entries[at + i], function, i);
                    entries[at + i].flags |= KvmCpuidEntry2.KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
                    ++nent[0];
                }
                break;
            }
            case 0x80000000:
                entry.eax = Integer.compareUnsigned(entry.eax, 0x8000001a) < 0 ? entry.eax : 0x8000001a;
                break;
            case 0x80000001:
                entry.edx &= word1;
                entry.ecx &= kvm_supported_word6_x86_features;
                break;
            default:
                break;
        }
    }

    /** Returns 0 with nent[0] the count written, or the errno. */
    @Origin(file = "arch/x86/kvm/x86.c", line = 1696)
    int kvm_dev_ioctl_get_supported_cpuid(Vfs mm, int[] cpuid_nent, long entries) {
        if (Integer.compareUnsigned(cpuid_nent[0], 1) < 0) return -E2BIG;
        int max = Integer.compareUnsigned(cpuid_nent[0], KVM_MAX_CPUID_ENTRIES) > 0 ? KVM_MAX_CPUID_ENTRIES : cpuid_nent[0];
        KvmCpuidEntry2[] cpuid_entries = new KvmCpuidEntry2[max];
        for (int i = 0; i < max; i++) cpuid_entries[i] = new KvmCpuidEntry2();
        int[] nent = {0};
        do_cpuid_ent(cpuid_entries, 0, 0, 0, nent, max);
        int limit = cpuid_entries[0].eax;
        for (int func = 1; Integer.compareUnsigned(func, limit) <= 0 && nent[0] < max; ++func)
            do_cpuid_ent(cpuid_entries, nent[0], func, 0, nent, max);
        if (nent[0] >= max) return -E2BIG;
        do_cpuid_ent(cpuid_entries, nent[0], 0x80000000, 0, nent, max);
        limit = cpuid_entries[nent[0] - 1].eax;
        for (int func = 0x80000001; Integer.compareUnsigned(func, limit) <= 0 && nent[0] < max; ++func)
            do_cpuid_ent(cpuid_entries, nent[0], func, 0, nent, max);
        if (nent[0] >= max) return -E2BIG;
        HostMemory.Region u = Uaccess.access_ok(mm, entries, (long) nent[0] * KvmCpuidEntry2.SIZE);
        if (u == null) return -EFAULT;
        for (int i = 0; i < nent[0]; i++) cpuid_entries[i].write(u.buf, Uaccess.off(u, entries) + i * KvmCpuidEntry2.SIZE);
        cpuid_nent[0] = nent[0];
        return 0;
    }

    // ---- event injection from userspace (x86.c:1765-1930) ----

    @Origin(file = "arch/x86/kvm/x86.c", line = 1765)
    int kvm_vcpu_ioctl_interrupt(KvmVcpu vcpu, int irq) {
        if (irq < 0 || irq >= 256) return -EINVAL;
        if (irqchip_in_kernel(vcpu.kvm)) return -ENXIO;
        kvm_main.vcpu_load(vcpu);
        try {
            kvm_queue_interrupt(vcpu, irq, false);
        } finally {
            kvm_main.vcpu_put(vcpu);
        }
        return 0;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 1781)
    int kvm_vcpu_ioctl_nmi(KvmVcpu vcpu) {
        kvm_main.vcpu_load(vcpu);
        try {
            kvm_inject_nmi(vcpu);
        } finally {
            kvm_main.vcpu_put(vcpu);
        }
        return 0;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 1873)
    void kvm_vcpu_ioctl_x86_get_vcpu_events(KvmVcpu vcpu, KvmVcpuEvents events) {
        kvm_main.vcpu_load(vcpu);
        events.exception_injected = (byte) (vcpu.arch.exception.pending ? 1 : 0);
        events.exception_nr = (byte) vcpu.arch.exception.nr;
        events.exception_has_error_code = (byte) (vcpu.arch.exception.has_error_code ? 1 : 0);
        events.exception_error_code = vcpu.arch.exception.error_code;
        events.interrupt_injected = (byte) (vcpu.arch.interrupt.pending ? 1 : 0);
        events.interrupt_nr = (byte) vcpu.arch.interrupt.nr;
        events.interrupt_soft = (byte) (vcpu.arch.interrupt.soft ? 1 : 0);
        events.nmi_injected = (byte) (vcpu.arch.nmi_injected ? 1 : 0);
        events.nmi_pending = (byte) (vcpu.arch.nmi_pending ? 1 : 0);
        events.nmi_masked = (byte) (kvm_x86_ops.get_nmi_mask(vcpu) ? 1 : 0);
        events.sipi_vector = vcpu.arch.sipi_vector;
        events.flags = KvmVcpuEvents.KVM_VCPUEVENT_VALID_NMI_PENDING | KvmVcpuEvents.KVM_VCPUEVENT_VALID_SIPI_VECTOR;
        kvm_main.vcpu_put(vcpu);
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 1899, status = Origin.Status.SIMPLIFIED,
            note = "no in-kernel PIC whose ISR acknowledgement to clear")
    int kvm_vcpu_ioctl_x86_set_vcpu_events(KvmVcpu vcpu, KvmVcpuEvents events) {
        if ((events.flags & ~(KvmVcpuEvents.KVM_VCPUEVENT_VALID_NMI_PENDING | KvmVcpuEvents.KVM_VCPUEVENT_VALID_SIPI_VECTOR)) != 0)
            return -EINVAL;
        kvm_main.vcpu_load(vcpu);
        vcpu.arch.exception.pending = events.exception_injected != 0;
        vcpu.arch.exception.nr = events.exception_nr & 0xff;
        vcpu.arch.exception.has_error_code = events.exception_has_error_code != 0;
        vcpu.arch.exception.error_code = events.exception_error_code;
        vcpu.arch.interrupt.pending = events.interrupt_injected != 0;
        vcpu.arch.interrupt.nr = events.interrupt_nr & 0xff;
        vcpu.arch.interrupt.soft = events.interrupt_soft != 0;
        vcpu.arch.nmi_injected = events.nmi_injected != 0;
        if ((events.flags & KvmVcpuEvents.KVM_VCPUEVENT_VALID_NMI_PENDING) != 0)
            vcpu.arch.nmi_pending = events.nmi_pending != 0;
        kvm_x86_ops.set_nmi_mask(vcpu, events.nmi_masked != 0);
        if ((events.flags & KvmVcpuEvents.KVM_VCPUEVENT_VALID_SIPI_VECTOR) != 0)
            vcpu.arch.sipi_vector = events.sipi_vector;
        kvm_main.vcpu_put(vcpu);
        return 0;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 1932, status = Origin.Status.SIMPLIFIED,
            note = "no in-kernel LAPIC, TPR reporting, vAPIC, MCE or debug-register ioctls yet: they answer -EINVAL")
    @Override public long kvm_arch_vcpu_ioctl(File filp, int ioctl, long arg) {
        KvmVcpu vcpu = (KvmVcpu) filp.private_data;
        Vfs mm = Vfs.current();
        switch (ioctl) {
            case KVM_INTERRUPT: {
                HostMemory.Region u = Uaccess.access_ok(mm, arg, 4);
                if (u == null) return -EFAULT;
                return kvm_vcpu_ioctl_interrupt(vcpu, u.buf.getInt(Uaccess.off(u, arg)));
            }
            case KVM_NMI:
                return kvm_vcpu_ioctl_nmi(vcpu);
            case KVM_SET_CPUID: {
                HostMemory.Region u = Uaccess.access_ok(mm, arg, KvmCpuidEntry2.HEADER_SIZE);
                if (u == null) return -EFAULT;
                return kvm_vcpu_ioctl_set_cpuid(vcpu, u.buf.getInt(Uaccess.off(u, arg)), arg + KvmCpuidEntry2.HEADER_SIZE);
            }
            case KVM_SET_CPUID2: {
                HostMemory.Region u = Uaccess.access_ok(mm, arg, KvmCpuidEntry2.HEADER_SIZE);
                if (u == null) return -EFAULT;
                return kvm_vcpu_ioctl_set_cpuid2(vcpu, u.buf.getInt(Uaccess.off(u, arg)), arg + KvmCpuidEntry2.HEADER_SIZE);
            }
            case KVM_GET_CPUID2: {
                HostMemory.Region u = Uaccess.access_ok(mm, arg, KvmCpuidEntry2.HEADER_SIZE);
                if (u == null) return -EFAULT;
                int[] nent = {u.buf.getInt(Uaccess.off(u, arg))};
                int r = kvm_vcpu_ioctl_get_cpuid2(vcpu, nent, arg + KvmCpuidEntry2.HEADER_SIZE);
                if (r != 0) return r;
                u.buf.putInt(Uaccess.off(u, arg), nent[0]);
                return 0;
            }
            case KVM_GET_MSRS:
                return msr_io(vcpu, arg, this::kvm_get_msr, true);
            case KVM_SET_MSRS:
                return msr_io(vcpu, arg, this::do_set_msr, false);
            case KVM_GET_VCPU_EVENTS: {
                KvmVcpuEvents events = new KvmVcpuEvents();
                kvm_vcpu_ioctl_x86_get_vcpu_events(vcpu, events);
                HostMemory.Region u = Uaccess.access_ok(mm, arg, KvmVcpuEvents.SIZE);
                if (u == null) return -EFAULT;
                events.write(u.buf, Uaccess.off(u, arg));
                return 0;
            }
            case KVM_SET_VCPU_EVENTS: {
                HostMemory.Region u = Uaccess.access_ok(mm, arg, KvmVcpuEvents.SIZE);
                if (u == null) return -EFAULT;
                return kvm_vcpu_ioctl_x86_set_vcpu_events(vcpu, new KvmVcpuEvents().read(u.buf, Uaccess.off(u, arg)));
            }
            default:
                return -EINVAL;
        }
    }

    // ---- VM ioctls ----

    @Origin(file = "arch/x86/kvm/x86.c", line = 2118)
    int kvm_vm_ioctl_set_tss_addr(Kvm kvm, long addr) {
        if (Long.compareUnsigned(addr, (-3L * PAGE_SIZE) & 0xffffffffL) > 0) return -1;
        return kvm_x86_ops.set_tss_addr(kvm, (int) addr);
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 2128)
    int kvm_vm_ioctl_set_identity_map_addr(Kvm kvm, long ident_addr) {
        kvm.arch.ept_identity_map_addr = ident_addr;
        return 0;
    }

    /**
     * KVM_GET_DIRTY_LOG: hands userspace the frames written since the last call, then write-protects the
     * slot again so the next write to each frame faults and marks it anew.
     */
    @Origin(file = "arch/x86/kvm/x86.c", line = 2342)
    @Override public int kvm_vm_ioctl_get_dirty_log(Kvm kvm, kvmkmod.include.KvmDirtyLog log) {
        int[] is_dirty = {0};
        kvm.slots_lock.writeLock().lock();
        try {
            int r = kvm_main.kvm_get_dirty_log(kvm, log, is_dirty);
            if (r != 0) return r;
            if (is_dirty[0] != 0) {
                synchronized (kvm.mmu_lock) { mmu.kvm_mmu_slot_remove_write_access(kvm, log.slot); }
                java.util.Arrays.fill(kvm.memslots[log.slot].dirty_bitmap, 0);
            }
            return 0;
        } finally {
            kvm.slots_lock.writeLock().unlock();
        }
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 2135)
    int kvm_vm_ioctl_set_nr_mmu_pages(Kvm kvm, int kvm_nr_mmu_pages) {
        if (Integer.toUnsignedLong(kvm_nr_mmu_pages) < KVM_MIN_ALLOC_MMU_PAGES) return -EINVAL;
        kvm.slots_lock.writeLock().lock();
        try {
            synchronized (kvm.mmu_lock) {
                mmu.kvm_mmu_change_mmu_pages(kvm, kvm_nr_mmu_pages);
                kvm.arch.n_requested_mmu_pages = kvm_nr_mmu_pages;
            }
        } finally {
            kvm.slots_lock.writeLock().unlock();
        }
        return 0;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 2152)
    int kvm_vm_ioctl_get_nr_mmu_pages(Kvm kvm) { return kvm.arch.n_alloc_mmu_pages; }

    @Origin(file = "arch/x86/kvm/x86.c", line = 2371, status = Origin.Status.SIMPLIFIED,
            note = "irqchip, PIT, aliases, clock and Xen ioctls arrive with later issues; they answer -ENOTTY")
    @Override public long kvm_arch_vm_ioctl(File filp, int ioctl, long arg) {
        Kvm kvm = (Kvm) filp.private_data;
        switch (ioctl) {
            case KVM_SET_TSS_ADDR: {
                int r = kvm_vm_ioctl_set_tss_addr(kvm, arg);
                return r;
            }
            case KVM_SET_IDENTITY_MAP_ADDR: {
                HostMemory.Region u = Uaccess.access_ok(kvm.mm, arg, 8);
                if (u == null) return -EFAULT;
                return kvm_vm_ioctl_set_identity_map_addr(kvm, u.buf.getLong(Uaccess.off(u, arg)));
            }
            case KVM_SET_NR_MMU_PAGES:
                return kvm_vm_ioctl_set_nr_mmu_pages(kvm, (int) arg);
            case KVM_GET_NR_MMU_PAGES:
                return kvm_vm_ioctl_get_nr_mmu_pages(kvm);
            default:
                return -ENOTTY;
        }
    }

    // ---- instruction emulation (the callbacks emulate.c uses, and emulate_instruction) ----

    /** The gva_to_gpa result for an address the guest's paging does not map (mmu.h). */
    public static final long UNMAPPED_GVA = -1L;
    /** The local APIC's default physical page, routed to MMIO even when RAM lies behind it. */
    static final long APIC_DEFAULT_PHYS_BASE = 0xfee00000L;

    private final Emulate emulator = new Emulate(this);

    /** No in-kernel local APIC yet, so only devices on the VM's MMIO bus can claim an access. */
    @Origin(file = "arch/x86/kvm/x86.c", line = 2699, status = Origin.Status.SIMPLIFIED, note = "no in-kernel local APIC")
    int vcpu_mmio_write(KvmVcpu vcpu, long addr, int len, ByteBuffer v, int off) {
        return kvm_main.kvm_io_bus_write(vcpu.kvm.mmio_bus, addr, len, v, off);
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 2709, status = Origin.Status.SIMPLIFIED, note = "no in-kernel local APIC")
    int vcpu_mmio_read(KvmVcpu vcpu, long addr, int len, ByteBuffer v, int off) {
        return kvm_main.kvm_io_bus_read(vcpu.kvm.mmio_bus, addr, len, v, off);
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 2718)
    int kvm_read_guest_virt(long addr, byte[] val, int bytes, KvmVcpu vcpu) {
        int done = 0;
        while (bytes > 0) {
            long gpa = vcpu.arch.mmu.gva_to_gpa.gva_to_gpa(vcpu, addr);
            int offset = (int) (addr & (PAGE_SIZE - 1));
            int toread = Math.min(bytes, PAGE_SIZE - offset);
            if (gpa == UNMAPPED_GVA) return X86EmulateOps.X86EMUL_PROPAGATE_FAULT;
            if (kvm_main.kvm_read_guest(vcpu.kvm, gpa, val, done, toread) < 0) return X86EmulateOps.X86EMUL_UNHANDLEABLE;
            bytes -= toread;
            done += toread;
            addr += toread;
        }
        return X86EmulateOps.X86EMUL_CONTINUE;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 2748)
    int kvm_write_guest_virt(long addr, byte[] val, int bytes, KvmVcpu vcpu) {
        int done = 0;
        while (bytes > 0) {
            long gpa = vcpu.arch.mmu.gva_to_gpa.gva_to_gpa(vcpu, addr);
            int offset = (int) (addr & (PAGE_SIZE - 1));
            int towrite = Math.min(bytes, PAGE_SIZE - offset);
            if (gpa == UNMAPPED_GVA) return X86EmulateOps.X86EMUL_PROPAGATE_FAULT;
            if (kvm_main.kvm_write_guest(vcpu.kvm, gpa, val, done, towrite) < 0) return X86EmulateOps.X86EMUL_UNHANDLEABLE;
            bytes -= towrite;
            done += towrite;
            addr += towrite;
        }
        return X86EmulateOps.X86EMUL_CONTINUE;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 2779)
    int emulator_read_emulated(long addr, byte[] val, int bytes, KvmVcpu vcpu) {
        if (vcpu.mmio_read_completed != 0) {
            System.arraycopy(vcpu.mmio_data, 0, val, 0, bytes);
            vcpu.mmio_read_completed = 0;
            return X86EmulateOps.X86EMUL_CONTINUE;
        }
        long gpa = vcpu.arch.mmu.gva_to_gpa.gva_to_gpa(vcpu, addr);
        if ((gpa & HostMemory.PAGE_MASK) != APIC_DEFAULT_PHYS_BASE) {
            if (kvm_read_guest_virt(addr, val, bytes, vcpu) == X86EmulateOps.X86EMUL_CONTINUE)
                return X86EmulateOps.X86EMUL_CONTINUE;
            if (gpa == UNMAPPED_GVA) return X86EmulateOps.X86EMUL_PROPAGATE_FAULT;
        }
        ByteBuffer tmp = ByteBuffer.wrap(val).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        if (vcpu_mmio_read(vcpu, gpa, bytes, tmp, 0) == 0) return X86EmulateOps.X86EMUL_CONTINUE;

        vcpu.mmio_needed = 1;
        vcpu.mmio_phys_addr = gpa;
        vcpu.mmio_size = bytes;
        vcpu.mmio_is_write = 0;
        return X86EmulateOps.X86EMUL_UNHANDLEABLE;
    }

    /** A write the emulator completes in guest RAM; the shadow MMU hears of it in case it hit a guest page table. */
    @Origin(file = "arch/x86/kvm/x86.c", line = 2825)
    int emulator_write_phys(KvmVcpu vcpu, long gpa, byte[] val, int valOff, int bytes) {
        if (kvm_main.kvm_write_guest(vcpu.kvm, gpa, val, valOff, bytes) < 0) return 0;
        byte[] nw = valOff == 0 && val.length == bytes ? val : java.util.Arrays.copyOfRange(val, valOff, valOff + bytes);
        mmu.kvm_mmu_pte_write(vcpu, gpa, nw, bytes, true);
        return 1;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 2837)
    int emulator_write_emulated_onepage(long addr, byte[] val, int valOff, int bytes, KvmVcpu vcpu) {
        long gpa = vcpu.arch.mmu.gva_to_gpa.gva_to_gpa(vcpu, addr);
        if (gpa == UNMAPPED_GVA) {
            kvm_queue_exception_e(vcpu, PF_VECTOR, 2);
            return X86EmulateOps.X86EMUL_PROPAGATE_FAULT;
        }
        if ((gpa & HostMemory.PAGE_MASK) != APIC_DEFAULT_PHYS_BASE && emulator_write_phys(vcpu, gpa, val, valOff, bytes) != 0)
            return X86EmulateOps.X86EMUL_CONTINUE;

        ByteBuffer tmp = ByteBuffer.wrap(val).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        if (vcpu_mmio_write(vcpu, gpa, bytes, tmp, valOff) == 0) return X86EmulateOps.X86EMUL_CONTINUE;

        vcpu.mmio_needed = 1;
        vcpu.mmio_phys_addr = gpa;
        vcpu.mmio_size = bytes;
        vcpu.mmio_is_write = 1;
        System.arraycopy(val, valOff, vcpu.mmio_data, 0, bytes);
        return X86EmulateOps.X86EMUL_CONTINUE;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 2875)
    int emulator_write_emulated(long addr, byte[] val, int bytes, KvmVcpu vcpu) {
        int valOff = 0;
        if ((((addr + bytes - 1) ^ addr) & HostMemory.PAGE_MASK) != 0) {
            int now = (int) (-addr & (PAGE_SIZE - 1));
            int rc = emulator_write_emulated_onepage(addr, val, 0, now, vcpu);
            if (rc != X86EmulateOps.X86EMUL_CONTINUE) return rc;
            addr += now;
            valOff = now;
            bytes -= now;
        }
        return emulator_write_emulated_onepage(addr, val, valOff, bytes, vcpu);
    }

    /** On x86_64 the C emulates an exchange as a plain write. */
    @Origin(file = "arch/x86/kvm/x86.c", line = 2896)
    int emulator_cmpxchg_emulated(long addr, byte[] old, byte[] new_, int bytes, KvmVcpu vcpu) {
        return emulator_write_emulated(addr, new_, bytes, vcpu);
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 2935)
    @Override public long get_segment_base(KvmVcpu vcpu, int seg) { return kvm_x86_ops.get_segment_base(vcpu, seg); }

    @Origin(file = "arch/x86/kvm/x86.c", line = 2940)
    @Override public int emulate_invlpg(KvmVcpu vcpu, long address) {
        mmu.kvm_mmu_invlpg(vcpu, address);
        return X86EmulateOps.X86EMUL_CONTINUE;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 2946)
    @Override public int emulate_clts(KvmVcpu vcpu) {
        kvm_x86_ops.set_cr0(vcpu, vcpu.arch.cr0 & ~X86_CR0_TS);
        return X86EmulateOps.X86EMUL_CONTINUE;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 2952)
    @Override public int emulator_get_dr(X86EmulateCtxt ctxt, int dr, long[] dest) {
        if (dr < 0 || dr > 3) return X86EmulateOps.X86EMUL_UNHANDLEABLE;
        dest[0] = kvm_x86_ops.get_dr(ctxt.vcpu, dr);
        return X86EmulateOps.X86EMUL_CONTINUE;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 2966)
    @Override public int emulator_set_dr(X86EmulateCtxt ctxt, int dr, long value) {
        long mask = ctxt.mode == X86EmulateCtxt.X86EMUL_MODE_PROT64 ? ~0L : 0xffffffffL;
        int[] exception = {0};
        kvm_x86_ops.set_dr(ctxt.vcpu, dr, value & mask, exception);
        return exception[0] != 0 ? X86EmulateOps.X86EMUL_UNHANDLEABLE : X86EmulateOps.X86EMUL_CONTINUE;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 2979)
    @Override public void kvm_report_emulation_failure(KvmVcpu vcpu, String context) {
        byte[] opcodes = new byte[4];
        long rip = kvm_rip_read(vcpu);
        long rip_linear = rip + get_segment_base(vcpu, VCPU_SREG_CS);
        kvm_read_guest_virt(rip_linear, opcodes, 4, vcpu);
        System.err.printf("emulation failed (%s) rip %x %02x %02x %02x %02x%n", context, rip,
                opcodes[0] & 0xff, opcodes[1] & 0xff, opcodes[2] & 0xff, opcodes[3] & 0xff);
    }

    /** struct x86_emulate_ops emulate_ops (x86.c:2997): guest memory as the emulator sees it. */
    private final X86EmulateOps emulate_ops = new X86EmulateOps() {
        @Override public int read_std(long addr, byte[] val, int bytes, KvmVcpu vcpu) { return kvm_read_guest_virt(addr, val, bytes, vcpu); }
        @Override public int read_emulated(long addr, byte[] val, int bytes, KvmVcpu vcpu) { return emulator_read_emulated(addr, val, bytes, vcpu); }
        @Override public int write_emulated(long addr, byte[] val, int bytes, KvmVcpu vcpu) { return emulator_write_emulated(addr, val, bytes, vcpu); }
        @Override public int cmpxchg_emulated(long addr, byte[] old, byte[] new_, int bytes, KvmVcpu vcpu) {
            return emulator_cmpxchg_emulated(addr, old, new_, bytes, vcpu);
        }
    };

    @Origin(file = "arch/x86/kvm/x86.c", line = 3004)
    void cache_all_regs(KvmVcpu vcpu) {
        kvm_register_read(vcpu, VCPU_REGS_RAX);
        kvm_register_read(vcpu, VCPU_REGS_RSP);
        kvm_register_read(vcpu, VCPU_REGS_RIP);
        vcpu.arch.regs_dirty = ~0;
    }

    static X86EmulateCtxt emulate_ctxt(KvmVcpu vcpu) {
        if (vcpu.arch.emulate_ctxt == null) vcpu.arch.emulate_ctxt = new X86EmulateCtxt();
        return (X86EmulateCtxt) vcpu.arch.emulate_ctxt;
    }

    /**
     * Decodes and runs one guest instruction in the emulator: the MMIO path, string I/O, #UD
     * (VMCALL patching) and invalid guest state come here. An instruction the emulator cannot do that
     * faulted on a write-protected guest page table unshadows that page and is retried in the guest
     * (kvm_mmu_unprotect_page_virt; with EPT there is no such page).
     */
    @Origin(file = "arch/x86/kvm/x86.c", line = 3012)
    public int emulate_instruction(KvmVcpu vcpu, long cr2, int error_code, int emulation_type) {
        KvmRun run = vcpu.run;
        X86EmulateCtxt ctxt = emulate_ctxt(vcpu);
        kvm_clear_exception_queue(vcpu);
        vcpu.arch.mmio_fault_cr2 = cr2;
        cache_all_regs(vcpu);

        vcpu.mmio_is_write = 0;
        vcpu.arch.pio.string = 0;

        int r;
        if ((emulation_type & EMULTYPE_NO_DECODE) == 0) {
            int[] db_l = new int[2];
            kvm_x86_ops.get_cs_db_l_bits(vcpu, db_l);
            ctxt.vcpu = vcpu;
            ctxt.eflags = kvm_get_rflags(vcpu);
            ctxt.mode = (ctxt.eflags & X86_EFLAGS_VM) != 0 ? X86EmulateCtxt.X86EMUL_MODE_REAL
                    : db_l[1] != 0 ? X86EmulateCtxt.X86EMUL_MODE_PROT64
                    : db_l[0] != 0 ? X86EmulateCtxt.X86EMUL_MODE_PROT32 : X86EmulateCtxt.X86EMUL_MODE_PROT16;

            r = emulator.x86_decode_insn(ctxt, emulate_ops);

            if ((emulation_type & EMULTYPE_TRAP_UD) != 0) {
                var c = ctxt.decode;
                if (c.twobyte == 0) return EMULATE_FAIL;
                switch (c.b) {
                    case 0x01:
                        if (c.modrm_mod != 3 || c.modrm_rm != 1) return EMULATE_FAIL;
                        break;
                    case 0x34: case 0x35: case 0x05:
                        if (c.modrm_mod != 0 || c.modrm_rm != 0) return EMULATE_FAIL;
                        break;
                    default:
                        return EMULATE_FAIL;
                }
                if (!(c.modrm_reg == 0 || c.modrm_reg == 3)) return EMULATE_FAIL;
            }

            ++vcpu.stat.insn_emulation;
            if (r != 0) {
                ++vcpu.stat.insn_emulation_fail;
                if (mmu.kvm_mmu_unprotect_page_virt(vcpu, cr2) != 0) return EMULATE_DONE;
                return EMULATE_FAIL;
            }
        }

        if ((emulation_type & EMULTYPE_SKIP) != 0) {
            kvm_rip_write(vcpu, ctxt.decode.eip);
            return EMULATE_DONE;
        }

        r = emulator.x86_emulate_insn(ctxt, emulate_ops);
        int shadow_mask = ctxt.interruptibility;
        if (r == 0) kvm_x86_ops.set_interrupt_shadow(vcpu, shadow_mask);

        if (vcpu.arch.pio.string != 0) return EMULATE_DO_MMIO;

        if ((r != 0 || vcpu.mmio_is_write != 0) && run != null) {
            run.exit_reason(KVM_EXIT_MMIO);
            run.mmio.phys_addr(vcpu.mmio_phys_addr);
            run.buffer().put(run.mmio.data_offset(), vcpu.mmio_data, 0, 8);
            run.mmio.len(vcpu.mmio_size);
            run.mmio.is_write(vcpu.mmio_is_write);
        }

        if (r != 0) {
            if (mmu.kvm_mmu_unprotect_page_virt(vcpu, cr2) != 0) return EMULATE_DONE;
            if (vcpu.mmio_needed == 0) {
                kvm_report_emulation_failure(vcpu, "mmio");
                return EMULATE_FAIL;
            }
            return EMULATE_DO_MMIO;
        }

        kvm_set_rflags(vcpu, ctxt.eflags);

        if (vcpu.mmio_is_write != 0) {
            vcpu.mmio_needed = 0;
            return EMULATE_DO_MMIO;
        }
        return EMULATE_DONE;
    }

    // ---- port I/O ----

    /** Moves string-I/O data between the PIO page and guest memory at the string's address. */
    @Origin(file = "arch/x86/kvm/x86.c", line = 3128)
    int pio_copy_data(KvmVcpu vcpu) {
        int bytes = vcpu.arch.pio.size * vcpu.arch.pio.cur_count;
        byte[] p = new byte[bytes];
        ByteBuffer pd = vcpu.arch.pio_data.buf;
        int base = pio_data_offset(vcpu);
        if (vcpu.arch.pio.in != 0) {
            pd.get(base, p, 0, bytes);
            return kvm_write_guest_virt(vcpu.arch.pio.guest_gva, p, bytes, vcpu);
        }
        int ret = kvm_read_guest_virt(vcpu.arch.pio.guest_gva, p, bytes, vcpu);
        pd.put(base, p, 0, bytes);
        return ret;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 3143)
    public int complete_pio(KvmVcpu vcpu) {
        KvmPioRequest io = vcpu.arch.pio;
        if (io.string == 0) {
            if (io.in != 0) {
                long val = kvm_register_read(vcpu, VCPU_REGS_RAX);
                ByteBuffer pd = vcpu.arch.pio_data.buf;
                int base = pio_data_offset(vcpu);
                for (int i = 0; i < io.size; i++) {
                    int shift = 8 * i;
                    val = (val & ~(0xffL << shift)) | ((long) (pd.get(base + i) & 0xff) << shift);
                }
                kvm_register_write(vcpu, VCPU_REGS_RAX, val);
            }
        } else {
            if (io.in != 0) {
                int r = pio_copy_data(vcpu);
                if (r != 0) return r;
            }
            long delta = 1;
            if (io.rep != 0) {
                delta *= io.cur_count;
                kvm_register_write(vcpu, VCPU_REGS_RCX, kvm_register_read(vcpu, VCPU_REGS_RCX) - delta);
            }
            if (io.down != 0) delta = -delta;
            delta *= io.size;
            if (io.in != 0) kvm_register_write(vcpu, VCPU_REGS_RDI, kvm_register_read(vcpu, VCPU_REGS_RDI) + delta);
            else kvm_register_write(vcpu, VCPU_REGS_RSI, kvm_register_read(vcpu, VCPU_REGS_RSI) + delta);
        }
        io.count -= io.cur_count;
        io.cur_count = 0;
        return 0;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 3194)
    int kernel_pio(KvmVcpu vcpu, ByteBuffer pd, int off) {
        if (vcpu.arch.pio.in != 0)
            return kvm_main.kvm_io_bus_read(vcpu.kvm.pio_bus, vcpu.arch.pio.port, vcpu.arch.pio.size, pd, off);
        return kvm_main.kvm_io_bus_write(vcpu.kvm.pio_bus, vcpu.arch.pio.port, vcpu.arch.pio.size, pd, off);
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 3225)
    public int kvm_emulate_pio(KvmVcpu vcpu, int in, int size, int port) {
        KvmRun run = vcpu.run;
        run.exit_reason(KVM_EXIT_IO);
        run.io.direction(in != 0 ? KVM_EXIT_IO_IN : KVM_EXIT_IO_OUT);
        run.io.size(vcpu.arch.pio.size = size);
        run.io.data_offset(KVM_PIO_PAGE_OFFSET * PAGE_SIZE);
        vcpu.arch.pio.count = vcpu.arch.pio.cur_count = 1;
        run.io.count(1);
        run.io.port(vcpu.arch.pio.port = port);
        vcpu.arch.pio.in = in;
        vcpu.arch.pio.string = 0;
        vcpu.arch.pio.down = 0;
        vcpu.arch.pio.rep = 0;

        KvmTrace.trace_kvm_pio(run.io.direction() == KVM_EXIT_IO_OUT, port, size, 1);

        long val = kvm_register_read(vcpu, VCPU_REGS_RAX);
        ByteBuffer pd = vcpu.arch.pio_data.buf;
        int base = pio_data_offset(vcpu);
        pd.putInt(base, (int) val);

        if (kernel_pio(vcpu, pd, base) == 0) {
            complete_pio(vcpu);
            return 1;
        }
        return 0;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 3208)
    int pio_string_write(KvmVcpu vcpu) {
        KvmPioRequest io = vcpu.arch.pio;
        ByteBuffer pd = vcpu.arch.pio_data.buf;
        int off = pio_data_offset(vcpu);
        for (int i = 0; i < io.cur_count; i++) {
            if (kvm_main.kvm_io_bus_write(vcpu.kvm.pio_bus, io.port, io.size, pd, off) != 0) return -EOPNOTSUPP;
            off += io.size;
        }
        return 0;
    }

    /**
     * INS/OUTS (with or without REP), reached from the emulator: as many items as fit in the guest
     * page go out in one exit; complete_pio moves RSI/RDI/RCX on the next KVM_RUN.
     */
    @Origin(file = "arch/x86/kvm/x86.c", line = 3254)
    @Override public int kvm_emulate_pio_string(KvmVcpu vcpu, int in, int size, long count, int down, long address,
                                                int rep, int port) {
        KvmRun run = vcpu.run;
        run.exit_reason(KVM_EXIT_IO);
        run.io.direction(in != 0 ? KVM_EXIT_IO_IN : KVM_EXIT_IO_OUT);
        run.io.size(vcpu.arch.pio.size = size);
        run.io.data_offset(KVM_PIO_PAGE_OFFSET * PAGE_SIZE);
        vcpu.arch.pio.count = count;
        vcpu.arch.pio.cur_count = (int) count;
        run.io.count((int) count);
        run.io.port(vcpu.arch.pio.port = port);
        vcpu.arch.pio.in = in;
        vcpu.arch.pio.string = 1;
        vcpu.arch.pio.down = down;
        vcpu.arch.pio.rep = rep;

        KvmTrace.trace_kvm_pio(run.io.direction() == KVM_EXIT_IO_OUT, port, size, count);

        if (count == 0) {
            kvm_x86_ops.skip_emulated_instruction(vcpu);
            return 1;
        }
        long in_page = down == 0 ? PAGE_SIZE - (address & (PAGE_SIZE - 1)) : (address & (PAGE_SIZE - 1)) + size;
        int now = (int) Math.min(count, in_page / size);
        if (now == 0) now = 1;
        if (down != 0) {
            // 2.6.33 does not implement string I/O with DF set: it injects #GP.
            kvm_inject_gp(vcpu, 0);
            return 1;
        }
        run.io.count(now);
        vcpu.arch.pio.cur_count = now;

        if (vcpu.arch.pio.cur_count == vcpu.arch.pio.count) kvm_x86_ops.skip_emulated_instruction(vcpu);

        vcpu.arch.pio.guest_gva = address;

        int ret = 0;
        if (vcpu.arch.pio.in == 0) {
            ret = pio_copy_data(vcpu);
            if (ret == X86EmulateOps.X86EMUL_PROPAGATE_FAULT) {
                kvm_inject_gp(vcpu, 0);
                return 1;
            }
            if (ret == 0 && pio_string_write(vcpu) == 0) {
                complete_pio(vcpu);
                if (vcpu.arch.pio.count == 0) ret = 1;
            }
        }
        return ret;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 3446)
    public int kvm_emulate_halt(KvmVcpu vcpu) {
        ++vcpu.stat.halt_exits;
        if (irqchip_in_kernel(vcpu.kvm)) {
            vcpu.arch.mp_state = KVM_MP_STATE_HALTED;
            return 1;
        }
        vcpu.run.exit_reason(KVM_EXIT_HLT);
        return 0;
    }

    /** Hypercall numbers and results (linux/kvm_para.h). */
    public static final int KVM_HC_VAPIC_POLL_IRQ = 1, KVM_HC_MMU_OP = 2;
    public static final long KVM_ENOSYS = 1000, KVM_EFAULT = EFAULT, KVM_E2BIG = E2BIG, KVM_EPERM = EPERM;

    /** x86.c's static inline hc_gpa: a 64-bit guest passes the address in one register, a 32-bit one in two. */
    static long hc_gpa(KvmVcpu vcpu, long a0, long a1) { return is_long_mode(vcpu) ? a0 : a0 | (a1 << 32); }

    /**
     * The KVM hypercall ABI: number in RAX, arguments in RBX, RCX, RDX, RSI, result back in RAX. Only ring 0
     * may call; an unknown number answers -KVM_ENOSYS (a value the guest sees, not a host errno).
     */
    @Origin(file = "arch/x86/kvm/x86.c", line = 3468)
    public int kvm_emulate_hypercall(KvmVcpu vcpu) {
        long nr, a0, a1, a2, a3;
        long[] ret = new long[1];
        int r = 1;

        nr = kvm_register_read(vcpu, VCPU_REGS_RAX);
        a0 = kvm_register_read(vcpu, VCPU_REGS_RBX);
        a1 = kvm_register_read(vcpu, VCPU_REGS_RCX);
        a2 = kvm_register_read(vcpu, VCPU_REGS_RDX);
        a3 = kvm_register_read(vcpu, VCPU_REGS_RSI);

        KvmTrace.trace_kvm_hypercall(nr, a0, a1, a2, a3);

        if (!is_long_mode(vcpu)) {
            nr &= 0xffffffffL;
            a0 &= 0xffffffffL;
            a1 &= 0xffffffffL;
            a2 &= 0xffffffffL;
            a3 &= 0xffffffffL;
        }

        if (kvm_x86_ops.get_cpl(vcpu) != 0) {
            ret[0] = -KVM_EPERM;
        } else if (nr == KVM_HC_VAPIC_POLL_IRQ) {
            ret[0] = 0;
        } else if (nr == KVM_HC_MMU_OP) {
            r = pv_mmu.kvm_pv_mmu_op(vcpu, a0, hc_gpa(vcpu, a1, a2), ret);
        } else {
            ret[0] = -KVM_ENOSYS;
        }
        kvm_register_write(vcpu, VCPU_REGS_RAX, ret[0]);
        ++vcpu.stat.hypercalls;
        return r;
    }

    // ---- helpers the emulator calls ----

    @Origin(file = "arch/x86/kvm/x86.c", line = 3512)
    @Override public int kvm_fix_hypercall(KvmVcpu vcpu) {
        byte[] instruction = new byte[3];
        long rip = kvm_rip_read(vcpu);
        mmu.kvm_mmu_zap_all(vcpu.kvm);
        kvm_x86_ops.patch_hypercall(vcpu, instruction);
        return emulator_write_emulated(rip, instruction, 3, vcpu) != X86EmulateOps.X86EMUL_CONTINUE ? -EFAULT : 0;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 3534)
    static long mk_cr_64(long curr_cr, int new_val) { return (curr_cr & ~0xffffffffL) | (new_val & 0xffffffffL); }

    @Origin(file = "arch/x86/kvm/x86.c", line = 3539)
    @Override public void realmode_lgdt(KvmVcpu vcpu, int limit, long base) {
        DescriptorTable dt = new DescriptorTable();
        dt.limit = limit;
        dt.base = base;
        kvm_x86_ops.set_gdt(vcpu, dt);
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 3546)
    @Override public void realmode_lidt(KvmVcpu vcpu, int limit, long base) {
        DescriptorTable dt = new DescriptorTable();
        dt.limit = limit;
        dt.base = base;
        kvm_x86_ops.set_idt(vcpu, dt);
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 3553)
    @Override public void realmode_lmsw(KvmVcpu vcpu, long msw, long[] rflags) {
        kvm_lmsw(vcpu, msw);
        rflags[0] = kvm_get_rflags(vcpu);
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 3560)
    @Override public long realmode_get_cr(KvmVcpu vcpu, int cr) {
        kvm_x86_ops.decache_cr4_guest_bits(vcpu);
        switch (cr) {
            case 0: return vcpu.arch.cr0;
            case 2: return vcpu.arch.cr2;
            case 3: return vcpu.arch.cr3;
            case 4: return vcpu.arch.cr4;
            case 8: return kvm_get_cr8(vcpu);
            default: return 0;
        }
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 3589)
    @Override public void realmode_set_cr(KvmVcpu vcpu, int cr, long val, long[] rflags) {
        switch (cr) {
            case 0:
                kvm_set_cr0(vcpu, mk_cr_64(vcpu.arch.cr0, (int) val));
                rflags[0] = kvm_get_rflags(vcpu);
                break;
            case 2: vcpu.arch.cr2 = val; break;
            case 3: kvm_set_cr3(vcpu, val); break;
            case 4: kvm_set_cr4(vcpu, mk_cr_64(vcpu.arch.cr4, (int) val)); break;
            case 8: kvm_set_cr8(vcpu, val & 0xfL); break;
            default: break;
        }
    }

    /** Unpacks an 8-byte segment descriptor (struct desc_struct) into a kvm_segment. */
    @Origin(file = "arch/x86/kvm/x86.c", line = 4229)
    static void seg_desct_to_kvm_desct(long seg_desc, int selector, KvmSegment kvm_desct) {
        int lo = (int) seg_desc, hi = (int) (seg_desc >>> 32);
        kvm_desct.base = ((lo >>> 16) & 0xffff) | ((long) (hi & 0xff) << 16) | ((long) (hi >>> 24 & 0xff) << 24);
        kvm_desct.limit = (lo & 0xffff) | (hi & 0x000f0000);
        int g = (hi >>> 23) & 1;
        if (g != 0) kvm_desct.limit = (kvm_desct.limit << 12) | 0xfff;
        kvm_desct.selector = selector;
        kvm_desct.type = (hi >>> 8) & 0xf;
        kvm_desct.present = (hi >>> 15) & 1;
        kvm_desct.dpl = (hi >>> 13) & 3;
        kvm_desct.db = (hi >>> 22) & 1;
        kvm_desct.s = (hi >>> 12) & 1;
        kvm_desct.l = (hi >>> 21) & 1;
        kvm_desct.g = g;
        kvm_desct.avl = (hi >>> 20) & 1;
        kvm_desct.unusable = selector == 0 ? 1 : 0;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 4254)
    void get_segment_descriptor_dtable(KvmVcpu vcpu, int selector, DescriptorTable dtable) {
        if ((selector & (1 << 2)) != 0) {
            KvmSegment kvm_seg = new KvmSegment();
            kvm_get_segment(vcpu, kvm_seg, VCPU_SREG_LDTR);
            dtable.limit = kvm_seg.unusable != 0 ? 0 : kvm_seg.limit;
            dtable.base = kvm_seg.base;
        } else {
            kvm_x86_ops.get_gdt(vcpu, dtable);
        }
    }

    /** Reads the descriptor for {@code selector}; seg_desc[0] receives it. Non-zero on failure. */
    @Origin(file = "arch/x86/kvm/x86.c", line = 4274)
    int load_guest_segment_descriptor(KvmVcpu vcpu, int selector, long[] seg_desc) {
        DescriptorTable dtable = new DescriptorTable();
        int index = (selector & 0xffff) >>> 3;
        get_segment_descriptor_dtable(vcpu, selector, dtable);
        if (Integer.toUnsignedLong(dtable.limit) < index * 8L + 7) {
            kvm_queue_exception_e(vcpu, GP_VECTOR, selector & 0xfffc);
            return 1;
        }
        byte[] b = new byte[8];
        int r = kvm_read_guest_virt(dtable.base + index * 8L, b, 8, vcpu);
        seg_desc[0] = ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong(0);
        return r;
    }

    /** Writes an 8-byte descriptor back into its table (the busy bit of a TSS descriptor). Non-zero on failure. */
    @Origin(file = "arch/x86/kvm/x86.c", line = 4290)
    int save_guest_segment_descriptor(KvmVcpu vcpu, int selector, long seg_desc) {
        DescriptorTable dtable = new DescriptorTable();
        int index = (selector & 0xffff) >>> 3;
        get_segment_descriptor_dtable(vcpu, selector, dtable);
        if ((dtable.limit & 0xffff) < index * 8 + 7) return 1;
        byte[] b = new byte[8];
        ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(0, seg_desc);
        return kvm_write_guest_virt(dtable.base + index * 8L, b, 8, vcpu);
    }

    /** desc.h get_desc_base: bits 15:0 of the base in 31:16 of the low word, 23:16 and 31:24 in the high word. */
    static long get_desc_base(long desc) {
        return ((desc >>> 16) & 0xffffff) | (((desc >>> 56) & 0xff) << 24);
    }

    /** desc.h get_desc_limit: the raw 20-bit limit, granularity not applied (as 2.6.33 compares it). */
    static int get_desc_limit(long desc) { return (int) (desc & 0xffff) | (int) ((desc >>> 32) & 0xf0000); }

    static int desc_type(long desc) { return (int) (desc >>> 40) & 0xf; }
    static int desc_dpl(long desc) { return (int) (desc >>> 45) & 3; }
    static boolean desc_p(long desc) { return ((desc >>> 47) & 1) != 0; }

    @Origin(file = "arch/x86/kvm/x86.c", line = 4303)
    long get_tss_base_addr(KvmVcpu vcpu, long seg_desc) {
        long base_addr = get_desc_base(seg_desc);
        return vcpu.arch.mmu.gva_to_gpa.gva_to_gpa(vcpu, base_addr);
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 4311)
    int get_segment_selector(KvmVcpu vcpu, int seg) {
        KvmSegment kvm_seg = new KvmSegment();
        kvm_get_segment(vcpu, kvm_seg, seg);
        return kvm_seg.selector;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 4319)
    int load_segment_descriptor_to_kvm_desct(KvmVcpu vcpu, int selector, KvmSegment kvm_seg) {
        long[] seg_desc = new long[1];
        if (load_guest_segment_descriptor(vcpu, selector, seg_desc) != 0) return 1;
        seg_desct_to_kvm_desct(seg_desc[0], selector, kvm_seg);
        return 0;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 4331)
    int kvm_load_realmode_segment(KvmVcpu vcpu, int selector, int seg) {
        KvmSegment segvar = new KvmSegment();
        segvar.base = (long) (selector & 0xffff) << 4;
        segvar.limit = 0xffff;
        segvar.selector = selector & 0xffff;
        segvar.type = 3;
        segvar.present = 1;
        segvar.dpl = 3;
        segvar.s = 1;
        kvm_x86_ops.set_segment(vcpu, segvar, seg);
        return 0;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 4351)
    boolean is_vm86_segment(KvmVcpu vcpu, int seg) {
        return seg != VCPU_SREG_LDTR && seg != VCPU_SREG_TR && (kvm_get_rflags(vcpu) & X86_EFLAGS_VM) != 0;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 4358)
    @Override public int kvm_load_segment_descriptor(KvmVcpu vcpu, int selector, int type_bits, int seg) {
        KvmSegment kvm_seg = new KvmSegment();
        if (is_vm86_segment(vcpu, seg) || (vcpu.arch.cr0 & X86_CR0_PE) == 0)
            return kvm_load_realmode_segment(vcpu, selector, seg);
        if (load_segment_descriptor_to_kvm_desct(vcpu, selector, kvm_seg) != 0) return 1;
        kvm_seg.type |= type_bits;
        if (seg != VCPU_SREG_SS && seg != VCPU_SREG_CS && seg != VCPU_SREG_LDTR && kvm_seg.s == 0)
            kvm_seg.unusable = 1;
        kvm_set_segment(vcpu, kvm_seg, seg);
        return 0;
    }

    // ---- hardware task switches (x86.c:4378-4641), SDM 7.3 "Task Switching" ----

    /** Task-switch sources, as the exit qualification gives them (asm/kvm_host.h); vmx.c has its own copy in VmxDefs. */
    /** EFLAGS.NT (asm/processor-flags.h): the running task was entered by CALL or a task gate. */
    public static final long X86_EFLAGS_NT = 1L << 14;
    static final int TASK_SWITCH_CALL = 0, TASK_SWITCH_IRET = 1, TASK_SWITCH_JMP = 2, TASK_SWITCH_GATE = 3;

    /** struct tss_segment_32 (tss.h) as bytes: the offsets of its fields, 104 bytes in all. */
    static final int TSS32_SIZE = 104, TSS32_PREV_TASK_LINK = 0, TSS32_CR3 = 28, TSS32_EIP = 32, TSS32_EFLAGS = 36,
            TSS32_EAX = 40, TSS32_ES = 72, TSS32_LDT = 96;
    /** struct tss_segment_16 (tss.h): 44 bytes; every field is 16 bits. */
    static final int TSS16_SIZE = 44, TSS16_PREV_TASK_LINK = 0, TSS16_IP = 14, TSS16_FLAG = 16, TSS16_AX = 18,
            TSS16_ES = 34, TSS16_LDT = 42;
    /** The general registers in TSS order (EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI) are VCPU_REGS_* 0..7. */
    private static final int TSS_GPRS = 8;
    /** Segment registers in TSS order: ES, CS, SS, DS, FS, GS. */
    private static final int[] TSS_SREGS = {VCPU_SREG_ES, VCPU_SREG_CS, VCPU_SREG_SS, VCPU_SREG_DS, VCPU_SREG_FS, VCPU_SREG_GS};

    static ByteBuffer le(byte[] b) { return ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN); }

    @Origin(file = "arch/x86/kvm/x86.c", line = 4378)
    void save_state_to_tss32(KvmVcpu vcpu, ByteBuffer tss) {
        tss.putInt(TSS32_CR3, (int) vcpu.arch.cr3);
        tss.putInt(TSS32_EIP, (int) kvm_rip_read(vcpu));
        tss.putInt(TSS32_EFLAGS, (int) kvm_get_rflags(vcpu));
        for (int r = 0; r < TSS_GPRS; r++) tss.putInt(TSS32_EAX + 4 * r, (int) kvm_register_read(vcpu, r));
        for (int i = 0; i < TSS_SREGS.length; i++) tss.putInt(TSS32_ES + 4 * i, get_segment_selector(vcpu, TSS_SREGS[i]));
        tss.putInt(TSS32_LDT, get_segment_selector(vcpu, VCPU_SREG_LDTR));
    }

    /** The selectors load with the accessed bit set (type_bits 1, CS 9 = accessed code), LDTR first. */
    @Origin(file = "arch/x86/kvm/x86.c", line = 4401)
    int load_state_from_tss32(KvmVcpu vcpu, ByteBuffer tss) {
        kvm_set_cr3(vcpu, tss.getInt(TSS32_CR3) & 0xffffffffL);

        kvm_rip_write(vcpu, tss.getInt(TSS32_EIP) & 0xffffffffL);
        kvm_set_rflags(vcpu, (tss.getInt(TSS32_EFLAGS) & 0xffffffffL) | 2);

        for (int r = 0; r < TSS_GPRS; r++) kvm_register_write(vcpu, r, tss.getInt(TSS32_EAX + 4 * r) & 0xffffffffL);

        if (kvm_load_segment_descriptor(vcpu, tss.getInt(TSS32_LDT) & 0xffff, 0, VCPU_SREG_LDTR) != 0) return 1;
        for (int i = 0; i < TSS_SREGS.length; i++) {
            int seg = TSS_SREGS[i];
            if (kvm_load_segment_descriptor(vcpu, tss.getInt(TSS32_ES + 4 * i) & 0xffff, seg == VCPU_SREG_CS ? 9 : 1, seg) != 0)
                return 1;
        }
        return 0;
    }

    /** A 16-bit TSS has no CR3, FS or GS. */
    @Origin(file = "arch/x86/kvm/x86.c", line = 4441)
    void save_state_to_tss16(KvmVcpu vcpu, ByteBuffer tss) {
        tss.putShort(TSS16_IP, (short) kvm_rip_read(vcpu));
        tss.putShort(TSS16_FLAG, (short) kvm_get_rflags(vcpu));
        for (int r = 0; r < TSS_GPRS; r++) tss.putShort(TSS16_AX + 2 * r, (short) kvm_register_read(vcpu, r));
        for (int i = 0; i < 4; i++) tss.putShort(TSS16_ES + 2 * i, (short) get_segment_selector(vcpu, TSS_SREGS[i]));
        tss.putShort(TSS16_LDT, (short) get_segment_selector(vcpu, VCPU_SREG_LDTR));
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 4462)
    int load_state_from_tss16(KvmVcpu vcpu, ByteBuffer tss) {
        kvm_rip_write(vcpu, tss.getShort(TSS16_IP) & 0xffffL);
        kvm_set_rflags(vcpu, (tss.getShort(TSS16_FLAG) & 0xffffL) | 2);
        for (int r = 0; r < TSS_GPRS; r++) kvm_register_write(vcpu, r, tss.getShort(TSS16_AX + 2 * r) & 0xffffL);

        if (kvm_load_segment_descriptor(vcpu, tss.getShort(TSS16_LDT) & 0xffff, 0, VCPU_SREG_LDTR) != 0) return 1;
        for (int i = 0; i < 4; i++) {
            int seg = TSS_SREGS[i];
            if (kvm_load_segment_descriptor(vcpu, tss.getShort(TSS16_ES + 2 * i) & 0xffff, seg == VCPU_SREG_CS ? 9 : 1, seg) != 0)
                return 1;
        }
        return 0;
    }

    /**
     * Saves the outgoing task into its TSS, links the new TSS back to it (only when old_tss_sel is not
     * 0xffff) and loads the new task. 1 on success, 0 when a guest memory access or a segment load failed.
     */
    @Origin(file = "arch/x86/kvm/x86.c", line = 4493)
    int kvm_task_switch_16(KvmVcpu vcpu, int tss_selector, int old_tss_sel, long old_tss_base, long nseg_desc) {
        return task_switch_image(vcpu, old_tss_sel, old_tss_base, nseg_desc, false);
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 4532)
    int kvm_task_switch_32(KvmVcpu vcpu, int tss_selector, int old_tss_sel, long old_tss_base, long nseg_desc) {
        return task_switch_image(vcpu, old_tss_sel, old_tss_base, nseg_desc, true);
    }

    /** The body kvm_task_switch_16 and _32 share in the C, with the TSS layout as the only difference. */
    private int task_switch_image(KvmVcpu vcpu, int old_tss_sel, long old_tss_base, long nseg_desc, boolean tss32) {
        int size = tss32 ? TSS32_SIZE : TSS16_SIZE;
        byte[] tss_segment = new byte[size];
        ByteBuffer tss = le(tss_segment);
        Kvm kvm = vcpu.kvm;

        if (kvm_main.kvm_read_guest(kvm, old_tss_base, tss_segment, 0, size) != 0) return 0;
        if (tss32) save_state_to_tss32(vcpu, tss);
        else save_state_to_tss16(vcpu, tss);
        if (kvm_main.kvm_write_guest(kvm, old_tss_base, tss_segment, 0, size) != 0) return 0;

        if (kvm_main.kvm_read_guest(kvm, get_tss_base_addr(vcpu, nseg_desc), tss_segment, 0, size) != 0) return 0;

        if (old_tss_sel != 0xffff) {
            // prev_task_link is 32 bits wide in a 32-bit TSS, 16 in a 16-bit one
            int link = tss32 ? 4 : 2;
            if (tss32) tss.putInt(TSS32_PREV_TASK_LINK, old_tss_sel);
            else tss.putShort(TSS16_PREV_TASK_LINK, (short) old_tss_sel);
            if (kvm_main.kvm_write_guest(kvm, get_tss_base_addr(vcpu, nseg_desc), tss_segment, 0, link) != 0) return 0;
        }

        if ((tss32 ? load_state_from_tss32(vcpu, tss) : load_state_from_tss16(vcpu, tss)) != 0) return 0;
        return 1;
    }

    /**
     * A task switch the processor could not do itself under VMX (SDM 25.1.2: task switches always exit).
     * As 2.6.33: no error code is pushed for an exception delivered through a task gate, the new task's
     * descriptor is checked against the raw 20-bit limit, and failures reading the TSS leave the guest where
     * it was (the C's FIXME).
     */
    @Origin(file = "arch/x86/kvm/x86.c", line = 4571)
    public int kvm_task_switch(KvmVcpu vcpu, int tss_selector, int reason) {
        KvmSegment tr_seg = new KvmSegment();
        long[] cseg_desc = new long[1];
        long[] nseg_desc = new long[1];
        int ret = 0;
        long old_tss_base = get_segment_base(vcpu, VCPU_SREG_TR) & 0xffffffffL;
        int old_tss_sel = get_segment_selector(vcpu, VCPU_SREG_TR);
        int desc_limit;

        tss_selector &= 0xffff;
        old_tss_base = vcpu.arch.mmu.gva_to_gpa.gva_to_gpa(vcpu, old_tss_base);

        if (load_guest_segment_descriptor(vcpu, tss_selector, nseg_desc) != 0) return ret;
        if (load_guest_segment_descriptor(vcpu, old_tss_sel, cseg_desc) != 0) return ret;

        if (reason != TASK_SWITCH_IRET) {
            int cpl = kvm_x86_ops.get_cpl(vcpu);
            if ((tss_selector & 3) > desc_dpl(nseg_desc[0]) || cpl > desc_dpl(nseg_desc[0])) {
                kvm_queue_exception_e(vcpu, GP_VECTOR, 0);
                return 1;
            }
        }

        desc_limit = get_desc_limit(nseg_desc[0]);
        if (!desc_p(nseg_desc[0]) || ((desc_limit < 0x67 && (desc_type(nseg_desc[0]) & 8) != 0) || desc_limit < 0x2b)) {
            kvm_queue_exception_e(vcpu, TS_VECTOR, tss_selector & 0xfffc);
            return 1;
        }

        if (reason == TASK_SWITCH_IRET || reason == TASK_SWITCH_JMP) {
            cseg_desc[0] &= ~(1L << (40 + 1)); // the outgoing TSS is no longer busy
            save_guest_segment_descriptor(vcpu, old_tss_sel, cseg_desc[0]);
        }

        if (reason == TASK_SWITCH_IRET) {
            long eflags = kvm_get_rflags(vcpu);
            kvm_set_rflags(vcpu, eflags & ~X86_EFLAGS_NT);
        }

        // only CALL and task gates nest: the others leave the back link alone
        if (reason != TASK_SWITCH_CALL && reason != TASK_SWITCH_GATE) old_tss_sel = 0xffff;

        if ((desc_type(nseg_desc[0]) & 8) != 0)
            ret = kvm_task_switch_32(vcpu, tss_selector, old_tss_sel, old_tss_base, nseg_desc[0]);
        else
            ret = kvm_task_switch_16(vcpu, tss_selector, old_tss_sel, old_tss_base, nseg_desc[0]);

        if (reason == TASK_SWITCH_CALL || reason == TASK_SWITCH_GATE) {
            long eflags = kvm_get_rflags(vcpu);
            kvm_set_rflags(vcpu, eflags | X86_EFLAGS_NT);
        }

        if (reason != TASK_SWITCH_IRET) {
            nseg_desc[0] |= 1L << (40 + 1);
            save_guest_segment_descriptor(vcpu, tss_selector, nseg_desc[0]);
        }

        kvm_x86_ops.set_cr0(vcpu, vcpu.arch.cr0 | X86_CR0_TS);
        seg_desct_to_kvm_desct(nseg_desc[0], tss_selector, tr_seg);
        tr_seg.type = 11;
        kvm_set_segment(vcpu, tr_seg, VCPU_SREG_TR);
        return ret;
    }

    // The kvm_x86_ops members emulate.c calls directly (through the ops pointer in C).
    @Override public void get_segment(KvmVcpu vcpu, KvmSegment var, int seg) { kvm_x86_ops.get_segment(vcpu, var, seg); }
    @Override public void set_segment(KvmVcpu vcpu, KvmSegment var, int seg) { kvm_x86_ops.set_segment(vcpu, var, seg); }
    @Override public int get_cpl(KvmVcpu vcpu) { return kvm_x86_ops.get_cpl(vcpu); }
    @Override public int get_msr(KvmVcpu vcpu, int msr_index, long[] pdata) { return kvm_x86_ops.get_msr(vcpu, msr_index, pdata); }
    @Override public int get_interrupt_shadow(KvmVcpu vcpu, int mask) { return kvm_x86_ops.get_interrupt_shadow(vcpu, mask); }

    // ---- module init ----

    @Origin(file = "arch/x86/kvm/x86.c", line = 3376, status = Origin.Status.SIMPLIFIED,
            note = "no cpufreq: the processors' TSC runs at a constant rate")
    void kvm_timer_init() { }

    @Origin(file = "arch/x86/kvm/x86.c", line = 3395)
    @Override public int kvm_arch_init(KvmX86Ops ops) {
        if (kvm_x86_ops != null) {
            System.err.println("kvm: already loaded the other module");
            return -EEXIST;
        }
        if (ops.cpu_has_kvm_support() == 0) {
            System.err.println("kvm: no hardware support");
            return -EOPNOTSUPP;
        }
        if (ops.disabled_by_bios() != 0) {
            System.err.println("kvm: disabled by bios");
            return -EOPNOTSUPP;
        }
        int r = mmu.kvm_mmu_module_init();
        if (r != 0) return r;

        kvm_init_msr_list();

        kvm_x86_ops = ops;
        mmu.kvm_mmu_set_nonpresent_ptes(0L, 0L);
        mmu.kvm_mmu_set_base_ptes(Mmu.PT_PRESENT_MASK);
        mmu.kvm_mmu_set_mask_ptes(Mmu.PT_USER_MASK, Mmu.PT_ACCESSED_MASK, Mmu.PT_DIRTY_MASK, Mmu.PT64_NX_MASK, 0);

        kvm_timer_init();
        return 0;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 2683, status = Origin.Status.SIMPLIFIED,
            note = "keeps every MSR of msrs_to_save: the host is not probed with rdmsr_safe")
    void kvm_init_msr_list() {
        int j = 0;
        for (int i = 0; i < msrs_to_save_all.length; i++) msrs_to_save[j++] = msrs_to_save_all[i];
        num_msrs_to_save = j;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 3437)
    @Override public void kvm_arch_exit() {
        kvm_x86_ops = null;
        mmu.kvm_mmu_module_exit();
    }

    // ---- the run loop ----

    // ---- CPUID emulation (x86.c:3614-3708) ----

    @Origin(file = "arch/x86/kvm/x86.c", line = 3614)
    int move_to_next_stateful_cpuid_entry(KvmVcpu vcpu, int i) {
        KvmCpuidEntry2 e = vcpu.arch.cpuid_entries[i];
        int nent = vcpu.arch.cpuid_nent;
        e.flags &= ~KvmCpuidEntry2.KVM_CPUID_FLAG_STATE_READ_NEXT;
        // the next entry of the same function becomes the one to read; with none, e itself again
        for (int j = (i + 1) % nent; ; j = (j + 1) % nent) {
            KvmCpuidEntry2 ej = vcpu.arch.cpuid_entries[j];
            if (ej.function == e.function) {
                ej.flags |= KvmCpuidEntry2.KVM_CPUID_FLAG_STATE_READ_NEXT;
                return j;
            }
        }
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 3633)
    static boolean is_matching_cpuid_entry(KvmCpuidEntry2 e, int function, int index) {
        if (e.function != function) return false;
        if ((e.flags & KvmCpuidEntry2.KVM_CPUID_FLAG_SIGNIFCANT_INDEX) != 0 && e.index != index) return false;
        if ((e.flags & KvmCpuidEntry2.KVM_CPUID_FLAG_STATEFUL_FUNC) != 0
                && (e.flags & KvmCpuidEntry2.KVM_CPUID_FLAG_STATE_READ_NEXT) == 0) return false;
        return true;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 3646)
    public KvmCpuidEntry2 kvm_find_cpuid_entry(KvmVcpu vcpu, int function, int index) {
        KvmCpuidEntry2 best = null;
        for (int i = 0; i < vcpu.arch.cpuid_nent; ++i) {
            KvmCpuidEntry2 e = vcpu.arch.cpuid_entries[i];
            if (is_matching_cpuid_entry(e, function, index)) {
                if ((e.flags & KvmCpuidEntry2.KVM_CPUID_FLAG_STATEFUL_FUNC) != 0)
                    move_to_next_stateful_cpuid_entry(vcpu, i);
                best = e;
                break;
            }
            // no exact match: the highest function of the same range (basic or extended) answers
            if (((e.function ^ function) & 0x80000000) == 0)
                if (best == null || Integer.compareUnsigned(e.function, best.function) > 0) best = e;
        }
        return best;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 3672)
    public int cpuid_maxphyaddr(KvmVcpu vcpu) {
        KvmCpuidEntry2 best = kvm_find_cpuid_entry(vcpu, 0x80000008, 0);
        return best != null ? best.eax & 0xff : 36;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 3682, status = Origin.Status.SIMPLIFIED,
            note = "no trace_kvm_cpuid tracepoint")
    public void kvm_emulate_cpuid(KvmVcpu vcpu) {
        int function = (int) kvm_register_read(vcpu, VCPU_REGS_RAX);
        int index = (int) kvm_register_read(vcpu, VCPU_REGS_RCX);
        kvm_register_write(vcpu, VCPU_REGS_RAX, 0);
        kvm_register_write(vcpu, VCPU_REGS_RBX, 0);
        kvm_register_write(vcpu, VCPU_REGS_RCX, 0);
        kvm_register_write(vcpu, VCPU_REGS_RDX, 0);
        KvmCpuidEntry2 best = kvm_find_cpuid_entry(vcpu, function, index);
        if (best != null) {
            kvm_register_write(vcpu, VCPU_REGS_RAX, best.eax & 0xffffffffL);
            kvm_register_write(vcpu, VCPU_REGS_RBX, best.ebx & 0xffffffffL);
            kvm_register_write(vcpu, VCPU_REGS_RCX, best.ecx & 0xffffffffL);
            kvm_register_write(vcpu, VCPU_REGS_RDX, best.edx & 0xffffffffL);
        }
        kvm_x86_ops.skip_emulated_instruction(vcpu);
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 3715)
    int dm_request_for_irq_injection(KvmVcpu vcpu) {
        return (!irqchip_in_kernel(vcpu.kvm) && !kvm_cpu_has_interrupt(vcpu)
                && vcpu.run.request_interrupt_window() != 0 && kvm_arch_interrupt_allowed(vcpu) != 0) ? 1 : 0;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 3722)
    void post_kvm_run_save(KvmVcpu vcpu) {
        KvmRun kvm_run = vcpu.run;
        kvm_run.if_flag((kvm_get_rflags(vcpu) & X86_EFLAGS_IF) != 0 ? 1 : 0);
        kvm_run.cr8(kvm_get_cr8(vcpu));
        kvm_run.apic_base(kvm_get_apic_base(vcpu));
        if (irqchip_in_kernel(vcpu.kvm)) kvm_run.ready_for_interrupt_injection(1);
        else kvm_run.ready_for_interrupt_injection(kvm_arch_interrupt_allowed(vcpu) != 0
                && !kvm_cpu_has_interrupt(vcpu) && !kvm_event_needs_reinjection(vcpu) ? 1 : 0);
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 3787)
    void inject_pending_event(KvmVcpu vcpu) {
        if (vcpu.arch.exception.pending) {
            kvm_x86_ops.queue_exception(vcpu, vcpu.arch.exception.nr, vcpu.arch.exception.has_error_code,
                    vcpu.arch.exception.error_code);
            return;
        }
        if (vcpu.arch.nmi_injected) {
            kvm_x86_ops.set_nmi(vcpu);
            return;
        }
        if (vcpu.arch.interrupt.pending) {
            kvm_x86_ops.set_irq(vcpu);
            return;
        }
        if (vcpu.arch.nmi_pending) {
            if (kvm_x86_ops.nmi_allowed(vcpu) != 0) {
                vcpu.arch.nmi_pending = false;
                vcpu.arch.nmi_injected = true;
                kvm_x86_ops.set_nmi(vcpu);
            }
        }
    }

    private static boolean test_and_clear_bit(int bit, KvmVcpu vcpu) {
        long m = 1L << bit;
        if ((vcpu.requests & m) == 0) return false;
        vcpu.requests &= ~m;
        return true;
    }

    /**
     * arch/x86/kernel/hw_breakpoint.c: the host's own breakpoints come back after the guest ran with its
     * own. The host here sets none, so DR0-3 and DR7 return to 0 and DR6 to its reset value.
     */
    void hw_breakpoint_restore() {
        kvmkmod.hw.VmxCpu cpu = kvm_main.kernel.platform.this_cpu();
        for (int i = 0; i < KVM_NR_DB_REGS; i++) cpu.set_debugreg(0, i);
        cpu.set_debugreg(DR6_FIXED_1, 6);
        cpu.set_debugreg(0, 7);
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 3823, status = Origin.Status.SIMPLIFIED,
            note = "no timers, kvmclock or local APIC")
    int vcpu_enter_guest(KvmVcpu vcpu) {
        int r;
        boolean req_int_win = !irqchip_in_kernel(vcpu.kvm) && vcpu.run.request_interrupt_window() != 0;

        if (vcpu.requests != 0 && test_and_clear_bit(KVM_REQ_MMU_RELOAD, vcpu)) mmu.kvm_mmu_unload(vcpu);

        r = mmu.kvm_mmu_reload(vcpu);
        if (r != 0) return r;

        if (vcpu.requests != 0) {
            if (test_and_clear_bit(KVM_REQ_MMU_SYNC, vcpu)) mmu.kvm_mmu_sync_roots(vcpu);
            if (test_and_clear_bit(KVM_REQ_TLB_FLUSH, vcpu)) kvm_x86_ops.tlb_flush(vcpu);
            if (test_and_clear_bit(KVM_REQ_TRIPLE_FAULT, vcpu)) {
                vcpu.run.exit_reason(KVM_EXIT_SHUTDOWN);
                return 0;
            }
        }

        kvm_x86_ops.prepare_guest_switch(vcpu);
        kvm_load_guest_fpu(vcpu);

        vcpu.requests &= ~(1L << KVM_REQ_KICK);
        if (vcpu.requests != 0 || Kernel.signal_pending()) {
            vcpu.requests |= 1L << KVM_REQ_KICK;
            return 1;
        }

        inject_pending_event(vcpu);

        if (vcpu.arch.nmi_pending) kvm_x86_ops.enable_nmi_window(vcpu);
        else if (kvm_cpu_has_interrupt(vcpu) || req_int_win) kvm_x86_ops.enable_irq_window(vcpu);

        vcpu.kvm.slots_lock.readLock().unlock();

        // the guest's (or userspace's) breakpoints go into the processor's DR0-3; DR7 comes from the VMCS
        if (vcpu.arch.switch_db_regs != 0) {
            kvmkmod.hw.VmxCpu cpu = kvm_main.kernel.platform.this_cpu();
            cpu.set_debugreg(0, 7);
            for (int i = 0; i < KVM_NR_DB_REGS; i++) cpu.set_debugreg(vcpu.arch.eff_db[i], i);
        }

        KvmTrace.trace_kvm_entry(vcpu.vcpu_id);
        kvm_x86_ops.run(vcpu);

        if (vcpu.arch.switch_db_regs != 0) hw_breakpoint_restore();

        vcpu.requests |= 1L << KVM_REQ_KICK;
        ++vcpu.stat.exits;

        vcpu.kvm.slots_lock.readLock().lock();

        r = kvm_x86_ops.handle_exit(vcpu);
        return r;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 3951, status = Origin.Status.SIMPLIFIED,
            note = "no SIPI, in-kernel timers or vapic; a pending signal is the stop request from another thread")
    int __vcpu_run(KvmVcpu vcpu) {
        vcpu.kvm.slots_lock.readLock().lock();
        int r = 1;
        while (r > 0) {
            if (vcpu.arch.mp_state == KVM_MP_STATE_RUNNABLE) {
                r = vcpu_enter_guest(vcpu);
            } else {
                vcpu.kvm.slots_lock.readLock().unlock();
                kvm_main.kvm_vcpu_block(vcpu);
                vcpu.kvm.slots_lock.readLock().lock();
                if (test_and_clear_bit(KVM_REQ_UNHALT, vcpu)) {
                    if (vcpu.arch.mp_state == KVM_MP_STATE_HALTED) vcpu.arch.mp_state = KVM_MP_STATE_RUNNABLE;
                    else if (vcpu.arch.mp_state != KVM_MP_STATE_RUNNABLE) r = -EINTR;
                }
            }
            if (r <= 0) break;

            if (dm_request_for_irq_injection(vcpu) != 0) {
                r = -EINTR;
                vcpu.run.exit_reason(KVM_EXIT_INTR);
                ++vcpu.stat.request_irq_exits;
            }
            if (Kernel.signal_pending()) {
                r = -EINTR;
                vcpu.run.exit_reason(KVM_EXIT_INTR);
                ++vcpu.stat.signal_exits;
            }
        }
        vcpu.kvm.slots_lock.readLock().unlock();
        post_kvm_run_save(vcpu);
        return r;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 4024)
    @Override public int kvm_arch_vcpu_ioctl_run(KvmVcpu vcpu, KvmRun kvm_run) {
        int r;
        long sigsaved = 0;
        kvm_main.vcpu_load(vcpu);

        if (vcpu.sigset_active != 0) sigsaved = Kernel.sigprocmask(Kernel.SIG_SETMASK, vcpu.sigset);
        vcpu.running = Thread.currentThread();
        if (vcpu.signal_waker == null) vcpu.signal_waker = () -> kvm_vcpu_kick(vcpu);
        kvm_main.kernel.set_signal_waker(vcpu.signal_waker);
        try {
            if (vcpu.arch.mp_state == KVM_MP_STATE_UNINITIALIZED) {
                kvm_main.kvm_vcpu_block(vcpu);
                vcpu.requests &= ~(1L << KVM_REQ_UNHALT);
                return -EAGAIN;
            }

            if (!irqchip_in_kernel(vcpu.kvm)) kvm_set_cr8(vcpu, kvm_run.cr8());

            if (vcpu.arch.pio.cur_count != 0) {
                r = complete_pio(vcpu);
                if (r != 0) return r;
            }
            if (vcpu.mmio_needed != 0) {
                kvm_run.buffer().get(kvm_run.mmio.data_offset(), vcpu.mmio_data, 0, 8);
                vcpu.mmio_read_completed = 1;
                vcpu.mmio_needed = 0;
                vcpu.kvm.slots_lock.readLock().lock();
                try {
                    r = emulate_instruction(vcpu, vcpu.arch.mmio_fault_cr2, 0, EMULTYPE_NO_DECODE);
                } finally {
                    vcpu.kvm.slots_lock.readLock().unlock();
                }
                if (r == EMULATE_DO_MMIO) return 0;
            }

            // userspace answering a KVM_EXIT_HYPERCALL puts the result in RAX
            if (kvm_run.exit_reason() == KVM_EXIT_HYPERCALL) kvm_register_write(vcpu, VCPU_REGS_RAX, kvm_run.hypercall.ret());

            r = __vcpu_run(vcpu);
            return r;
        } finally {
            kvm_main.kernel.set_signal_waker(null);
            if (vcpu.sigset_active != 0) Kernel.sigprocmask(Kernel.SIG_SETMASK, sigsaved);
            Kernel.deliver_signal();
            vcpu.running = null;
            kvm_main.vcpu_put(vcpu);
        }
    }

    // ---- registers ----

    @Origin(file = "arch/x86/kvm/x86.c", line = 4081)
    @Override public int kvm_arch_vcpu_ioctl_get_regs(KvmVcpu vcpu, KvmRegs regs) {
        kvm_main.vcpu_load(vcpu);
        regs.rax = kvm_register_read(vcpu, VCPU_REGS_RAX);
        regs.rbx = kvm_register_read(vcpu, VCPU_REGS_RBX);
        regs.rcx = kvm_register_read(vcpu, VCPU_REGS_RCX);
        regs.rdx = kvm_register_read(vcpu, VCPU_REGS_RDX);
        regs.rsi = kvm_register_read(vcpu, VCPU_REGS_RSI);
        regs.rdi = kvm_register_read(vcpu, VCPU_REGS_RDI);
        regs.rsp = kvm_register_read(vcpu, VCPU_REGS_RSP);
        regs.rbp = kvm_register_read(vcpu, VCPU_REGS_RBP);
        regs.r8 = kvm_register_read(vcpu, VCPU_REGS_R8);
        regs.r9 = kvm_register_read(vcpu, VCPU_REGS_R9);
        regs.r10 = kvm_register_read(vcpu, VCPU_REGS_R10);
        regs.r11 = kvm_register_read(vcpu, VCPU_REGS_R11);
        regs.r12 = kvm_register_read(vcpu, VCPU_REGS_R12);
        regs.r13 = kvm_register_read(vcpu, VCPU_REGS_R13);
        regs.r14 = kvm_register_read(vcpu, VCPU_REGS_R14);
        regs.r15 = kvm_register_read(vcpu, VCPU_REGS_R15);
        regs.rip = kvm_rip_read(vcpu);
        regs.rflags = kvm_get_rflags(vcpu);
        kvm_main.vcpu_put(vcpu);
        return 0;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 4112)
    @Override public int kvm_arch_vcpu_ioctl_set_regs(KvmVcpu vcpu, KvmRegs regs) {
        kvm_main.vcpu_load(vcpu);
        kvm_register_write(vcpu, VCPU_REGS_RAX, regs.rax);
        kvm_register_write(vcpu, VCPU_REGS_RBX, regs.rbx);
        kvm_register_write(vcpu, VCPU_REGS_RCX, regs.rcx);
        kvm_register_write(vcpu, VCPU_REGS_RDX, regs.rdx);
        kvm_register_write(vcpu, VCPU_REGS_RSI, regs.rsi);
        kvm_register_write(vcpu, VCPU_REGS_RDI, regs.rdi);
        kvm_register_write(vcpu, VCPU_REGS_RSP, regs.rsp);
        kvm_register_write(vcpu, VCPU_REGS_RBP, regs.rbp);
        kvm_register_write(vcpu, VCPU_REGS_R8, regs.r8);
        kvm_register_write(vcpu, VCPU_REGS_R9, regs.r9);
        kvm_register_write(vcpu, VCPU_REGS_R10, regs.r10);
        kvm_register_write(vcpu, VCPU_REGS_R11, regs.r11);
        kvm_register_write(vcpu, VCPU_REGS_R12, regs.r12);
        kvm_register_write(vcpu, VCPU_REGS_R13, regs.r13);
        kvm_register_write(vcpu, VCPU_REGS_R14, regs.r14);
        kvm_register_write(vcpu, VCPU_REGS_R15, regs.r15);
        kvm_rip_write(vcpu, regs.rip);
        kvm_set_rflags(vcpu, regs.rflags);
        vcpu.arch.exception.pending = false;
        kvm_main.vcpu_put(vcpu);
        return 0;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 4145)
    public void kvm_get_segment(KvmVcpu vcpu, KvmSegment var, int seg) { kvm_x86_ops.get_segment(vcpu, var, seg); }

    @Origin(file = "arch/x86/kvm/x86.c", line = 4151)
    public void kvm_get_cs_db_l_bits(KvmVcpu vcpu, int[] db_l) {
        KvmSegment cs = new KvmSegment();
        kvm_get_segment(vcpu, cs, VCPU_SREG_CS);
        db_l[0] = cs.db;
        db_l[1] = cs.l;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 4161)
    @Override public int kvm_arch_vcpu_ioctl_get_sregs(KvmVcpu vcpu, KvmSregs sregs) {
        DescriptorTable dt = new DescriptorTable();
        kvm_main.vcpu_load(vcpu);
        kvm_get_segment(vcpu, sregs.cs, VCPU_SREG_CS);
        kvm_get_segment(vcpu, sregs.ds, VCPU_SREG_DS);
        kvm_get_segment(vcpu, sregs.es, VCPU_SREG_ES);
        kvm_get_segment(vcpu, sregs.fs, VCPU_SREG_FS);
        kvm_get_segment(vcpu, sregs.gs, VCPU_SREG_GS);
        kvm_get_segment(vcpu, sregs.ss, VCPU_SREG_SS);
        kvm_get_segment(vcpu, sregs.tr, VCPU_SREG_TR);
        kvm_get_segment(vcpu, sregs.ldt, VCPU_SREG_LDTR);
        kvm_x86_ops.get_idt(vcpu, dt);
        sregs.idt.limit = dt.limit;
        sregs.idt.base = dt.base;
        kvm_x86_ops.get_gdt(vcpu, dt);
        sregs.gdt.limit = dt.limit;
        sregs.gdt.base = dt.base;
        kvm_x86_ops.decache_cr4_guest_bits(vcpu);
        sregs.cr0 = vcpu.arch.cr0;
        sregs.cr2 = vcpu.arch.cr2;
        sregs.cr3 = vcpu.arch.cr3;
        sregs.cr4 = vcpu.arch.cr4;
        sregs.cr8 = kvm_get_cr8(vcpu);
        sregs.efer = vcpu.arch.shadow_efer;
        sregs.apic_base = kvm_get_apic_base(vcpu);
        java.util.Arrays.fill(sregs.interrupt_bitmap, 0);
        if (vcpu.arch.interrupt.pending && !vcpu.arch.interrupt.soft)
            sregs.interrupt_bitmap[vcpu.arch.interrupt.nr / 64] |= 1L << (vcpu.arch.interrupt.nr % 64);
        kvm_main.vcpu_put(vcpu);
        return 0;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 4205)
    @Override public int kvm_arch_vcpu_ioctl_get_mpstate(KvmVcpu vcpu, int[] mp_state) {
        kvm_main.vcpu_load(vcpu);
        mp_state[0] = vcpu.arch.mp_state;
        kvm_main.vcpu_put(vcpu);
        return 0;
    }

    /** 2.6.33 takes any value, even one that is no KVM_MP_STATE_*. */
    @Origin(file = "arch/x86/kvm/x86.c", line = 4214)
    @Override public int kvm_arch_vcpu_ioctl_set_mpstate(KvmVcpu vcpu, int mp_state) {
        kvm_main.vcpu_load(vcpu);
        vcpu.arch.mp_state = mp_state;
        kvm_main.vcpu_put(vcpu);
        return 0;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 4223)
    void kvm_set_segment(KvmVcpu vcpu, KvmSegment var, int seg) { kvm_x86_ops.set_segment(vcpu, var, seg); }

    @Origin(file = "arch/x86/kvm/x86.c", line = 4652, status = Origin.Status.SIMPLIFIED,
            note = "PAE PDPTR loading arrives with guest paging")
    @Override public int kvm_arch_vcpu_ioctl_set_sregs(KvmVcpu vcpu, KvmSregs sregs) {
        boolean mmu_reset_needed = false;
        DescriptorTable dt = new DescriptorTable();
        kvm_main.vcpu_load(vcpu);

        dt.limit = sregs.idt.limit;
        dt.base = sregs.idt.base;
        kvm_x86_ops.set_idt(vcpu, dt);
        dt.limit = sregs.gdt.limit;
        dt.base = sregs.gdt.base;
        kvm_x86_ops.set_gdt(vcpu, dt);

        vcpu.arch.cr2 = sregs.cr2;
        mmu_reset_needed |= vcpu.arch.cr3 != sregs.cr3;
        vcpu.arch.cr3 = sregs.cr3;

        kvm_set_cr8(vcpu, sregs.cr8);

        mmu_reset_needed |= vcpu.arch.shadow_efer != sregs.efer;
        kvm_x86_ops.set_efer(vcpu, sregs.efer);
        kvm_set_apic_base(vcpu, sregs.apic_base);

        kvm_x86_ops.decache_cr4_guest_bits(vcpu);

        mmu_reset_needed |= vcpu.arch.cr0 != sregs.cr0;
        kvm_x86_ops.set_cr0(vcpu, sregs.cr0);
        vcpu.arch.cr0 = sregs.cr0;

        mmu_reset_needed |= vcpu.arch.cr4 != sregs.cr4;
        kvm_x86_ops.set_cr4(vcpu, sregs.cr4);

        if (mmu_reset_needed) mmu.kvm_mmu_reset_context(vcpu);

        for (int v = 0; v < 64 * KvmSregs.INTERRUPT_BITMAP_WORDS; v++) {
            if ((sregs.interrupt_bitmap[v / 64] & (1L << (v % 64))) != 0) {
                kvm_queue_interrupt(vcpu, v, false);
                break;
            }
        }

        kvm_set_segment(vcpu, sregs.cs, VCPU_SREG_CS);
        kvm_set_segment(vcpu, sregs.ds, VCPU_SREG_DS);
        kvm_set_segment(vcpu, sregs.es, VCPU_SREG_ES);
        kvm_set_segment(vcpu, sregs.fs, VCPU_SREG_FS);
        kvm_set_segment(vcpu, sregs.gs, VCPU_SREG_GS);
        kvm_set_segment(vcpu, sregs.ss, VCPU_SREG_SS);
        kvm_set_segment(vcpu, sregs.tr, VCPU_SREG_TR);
        kvm_set_segment(vcpu, sregs.ldt, VCPU_SREG_LDTR);

        if (kvm_vcpu_is_bsp(vcpu) && kvm_rip_read(vcpu) == 0xfff0 && sregs.cs.selector == 0xf000
                && sregs.cs.base == 0xffff0000L && (vcpu.arch.cr0 & X86_CR0_PE) == 0)
            vcpu.arch.mp_state = KVM_MP_STATE_RUNNABLE;

        kvm_main.vcpu_put(vcpu);
        return 0;
    }

    // ---- FPU ----

    /** The guest's x87/SSE state is not modelled (the soft CPU has no FPU), so there is nothing to swap. */
    @Origin(file = "arch/x86/kvm/x86.c", line = 4727)
    @Override public int kvm_arch_vcpu_ioctl_set_guest_debug(KvmVcpu vcpu, KvmGuestDebug dbg) {
        int r = 0;
        kvm_main.vcpu_load(vcpu);
        try {
            if ((dbg.control & (KVM_GUESTDBG_INJECT_DB | KVM_GUESTDBG_INJECT_BP)) != 0) {
                // one exception at a time: an injection on top of a pending one is refused
                if (vcpu.arch.exception.pending) return r = -EBUSY;
                if ((dbg.control & KVM_GUESTDBG_INJECT_DB) != 0) kvm_queue_exception(vcpu, DB_VECTOR);
                else kvm_queue_exception(vcpu, BP_VECTOR);
            }
            // read RFLAGS while the old guest_debug still hides our own TF
            long rflags = kvm_get_rflags(vcpu);
            vcpu.guest_debug = dbg.control & 0xffffffffL;
            if ((vcpu.guest_debug & KVM_GUESTDBG_ENABLE) == 0) vcpu.guest_debug = 0;
            if ((vcpu.guest_debug & KVM_GUESTDBG_USE_HW_BP) != 0) {
                for (int i = 0; i < KVM_NR_DB_REGS; ++i) vcpu.arch.eff_db[i] = dbg.debugreg[i];
                vcpu.arch.switch_db_regs = dbg.debugreg[7] & DR7_BP_EN_MASK;
            } else {
                for (int i = 0; i < KVM_NR_DB_REGS; i++) vcpu.arch.eff_db[i] = vcpu.arch.db[i];
                vcpu.arch.switch_db_regs = vcpu.arch.dr7 & DR7_BP_EN_MASK;
            }
            if ((vcpu.guest_debug & KVM_GUESTDBG_SINGLESTEP) != 0) {
                vcpu.arch.singlestep_cs = get_segment_selector(vcpu, VCPU_SREG_CS);
                vcpu.arch.singlestep_rip = kvm_rip_read(vcpu);
            }
            // writing RFLAGS back adds or removes the trap flag for the new mode
            kvm_set_rflags(vcpu, rflags);
            kvm_x86_ops.set_guest_debug(vcpu, dbg.debugreg);
            return r;
        } finally {
            kvm_main.vcpu_put(vcpu);
        }
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 4812)
    @Override public int kvm_arch_vcpu_ioctl_translate(KvmVcpu vcpu, KvmTranslation tr) {
        long vaddr = tr.linear_address;
        kvm_main.vcpu_load(vcpu);
        vcpu.kvm.slots_lock.readLock().lock();
        long gpa;
        try {
            gpa = vcpu.arch.mmu.gva_to_gpa.gva_to_gpa(vcpu, vaddr);
        } finally {
            vcpu.kvm.slots_lock.readLock().unlock();
        }
        tr.physical_address = gpa;
        tr.valid = (byte) (gpa != UNMAPPED_GVA ? 1 : 0);
        // 2.6.33 answers writeable and supervisor whatever the page tables say
        tr.writeable = 1;
        tr.usermode = 0;
        kvm_main.vcpu_put(vcpu);
        return 0;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 4831, status = Origin.Status.SIMPLIFIED,
            note = "the soft CPU has no FPU: the state is only stored in guest_fx_image and given back, never loaded")
    @Override public int kvm_arch_vcpu_ioctl_get_fpu(KvmVcpu vcpu, KvmFpu fpu) {
        KvmFpu fx = vcpu.arch.guest_fx_image;
        kvm_main.vcpu_load(vcpu);
        fpu.copyWithoutMxcsr(fx);
        kvm_main.vcpu_put(vcpu);
        return 0;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 4851, status = Origin.Status.SIMPLIFIED,
            note = "the soft CPU has no FPU: the state is only stored in guest_fx_image and given back, never loaded")
    @Override public int kvm_arch_vcpu_ioctl_set_fpu(KvmVcpu vcpu, KvmFpu fpu) {
        KvmFpu fx = vcpu.arch.guest_fx_image;
        kvm_main.vcpu_load(vcpu);
        fx.copyWithoutMxcsr(fpu);
        kvm_main.vcpu_put(vcpu);
        return 0;
    }

    /**
     * The guest's FPU starts as FNINIT leaves one (SDM 8.1.1: control word 0x37f, status 0, all tags empty),
     * with MXCSR at its reset value 0x1f80 and the registers zero. The C produces the image by running
     * FNINIT on the host FPU and saving it; here the same values are written directly.
     */
    @Origin(file = "arch/x86/kvm/x86.c", line = 4871, status = Origin.Status.SIMPLIFIED,
            note = "writes the FNINIT values instead of running FNINIT and FXSAVE on a host FPU")
    public void fx_init(KvmVcpu vcpu) {
        KvmFpu fx = vcpu.arch.guest_fx_image;
        fx.fcw = 0x37f;
        fx.fsw = 0;
        fx.ftwx = 0;
        fx.last_opcode = 0;
        fx.last_ip = 0;
        fx.last_dp = 0;

        vcpu.arch.cr0 |= X86_CR0_ET;
        fx.mxcsr = 0x1f80;
        java.util.Arrays.fill(fx.fpr, (byte) 0);
        java.util.Arrays.fill(fx.xmm, (byte) 0);
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 4900, status = Origin.Status.SIMPLIFIED,
            note = "no FPU state to swap yet")
    void kvm_load_guest_fpu(KvmVcpu vcpu) {
        if (vcpu.fpu_active == 0 || vcpu.guest_fpu_loaded != 0) return;
        vcpu.guest_fpu_loaded = 1;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 4911, status = Origin.Status.SIMPLIFIED,
            note = "no FPU state to swap yet")
    void kvm_put_guest_fpu(KvmVcpu vcpu) {
        if (vcpu.guest_fpu_loaded == 0) return;
        vcpu.guest_fpu_loaded = 0;
        ++vcpu.stat.fpu_reload;
    }

    // ---- vCPU lifetime ----

    @Origin(file = "arch/x86/kvm/x86.c", line = 4923)
    void kvm_arch_vcpu_free(KvmVcpu vcpu) { kvm_x86_ops.vcpu_free(vcpu); }

    @Origin(file = "arch/x86/kvm/x86.c", line = 4933)
    @Override public KvmVcpu kvm_arch_vcpu_create(Kvm kvm, int id) { return kvm_x86_ops.vcpu_create(kvm, id); }

    @Origin(file = "arch/x86/kvm/x86.c", line = 4939)
    @Override public int kvm_arch_vcpu_setup(KvmVcpu vcpu) {
        kvm_main.vcpu_load(vcpu);
        int r = kvm_arch_vcpu_reset(vcpu);
        if (r == 0) r = mmu.kvm_mmu_setup(vcpu);
        kvm_main.vcpu_put(vcpu);
        if (r < 0) {
            kvm_x86_ops.vcpu_free(vcpu);
            return r;
        }
        return 0;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 4961)
    @Override public void kvm_arch_vcpu_destroy(KvmVcpu vcpu) {
        kvm_main.vcpu_load(vcpu);
        mmu.kvm_mmu_unload(vcpu);
        kvm_main.vcpu_put(vcpu);
        kvm_x86_ops.vcpu_free(vcpu);
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 4970)
    public int kvm_arch_vcpu_reset(KvmVcpu vcpu) {
        vcpu.arch.nmi_pending = false;
        vcpu.arch.nmi_injected = false;
        java.util.Arrays.fill(vcpu.arch.db, 0);
        vcpu.arch.dr6 = DR6_FIXED_1;
        vcpu.arch.dr7 = DR7_FIXED_1;
        return kvm_x86_ops.vcpu_reset(vcpu);
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 4983, status = Origin.Status.SIMPLIFIED,
            note = "no TSC frequency bookkeeping or shared-MSR CPU notifier")
    @Override public int kvm_arch_hardware_enable(Object garbage) { return kvm_x86_ops.hardware_enable(garbage); }

    @Origin(file = "arch/x86/kvm/x86.c", line = 4999)
    @Override public void kvm_arch_hardware_disable(Object garbage) { kvm_x86_ops.hardware_disable(garbage); }

    @Origin(file = "arch/x86/kvm/x86.c", line = 5005)
    @Override public int kvm_arch_hardware_setup() { return kvm_x86_ops.hardware_setup(); }

    @Origin(file = "arch/x86/kvm/x86.c", line = 5010)
    @Override public void kvm_arch_hardware_unsetup() { kvm_x86_ops.hardware_unsetup(); }

    @Origin(file = "arch/x86/kvm/x86.c", line = 5015)
    @Override public void kvm_arch_check_processor_compat(int[] rtn) { kvm_x86_ops.check_processor_compatibility(rtn); }

    @Origin(file = "arch/x86/kvm/x86.c", line = 5020, status = Origin.Status.SIMPLIFIED,
            note = "no in-kernel local APIC or MCE banks")
    @Override public int kvm_arch_vcpu_init(KvmVcpu vcpu) {
        Kvm kvm = vcpu.kvm;
        vcpu.arch.mmu.root_hpa = kvmkmod.include.KvmMmu.INVALID_PAGE;
        vcpu.arch.mp_state = !irqchip_in_kernel(kvm) || kvm_vcpu_is_bsp(vcpu)
                ? KVM_MP_STATE_RUNNABLE : KVM_MP_STATE_UNINITIALIZED;
        HostMemory.Region page = kvm_main.kernel.platform.memory().allocPages(PAGE_SIZE);
        if (page == null) return -ENOMEM;
        vcpu.arch.pio_data = page;
        int r = mmu.kvm_mmu_create(vcpu);
        if (r < 0) {
            kvm_main.kernel.platform.memory().free(page);
            return r;
        }
        return 0;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 5071)
    @Override public void kvm_arch_vcpu_uninit(KvmVcpu vcpu) {
        vcpu.kvm.slots_lock.readLock().lock();
        try {
            mmu.kvm_mmu_destroy(vcpu);
        } finally {
            vcpu.kvm.slots_lock.readLock().unlock();
        }
        if (vcpu.arch.pio_data != vcpu.run_page) kvm_main.kernel.platform.memory().free(vcpu.arch.pio_data);
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 5081)
    @Override public Kvm kvm_arch_create_vm() {
        Kvm kvm = new Kvm();
        kvm.arch.vm_init_tsc = System.nanoTime();
        return kvm;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 5099)
    void kvm_unload_vcpu_mmu(KvmVcpu vcpu) {
        kvm_main.vcpu_load(vcpu);
        mmu.kvm_mmu_unload(vcpu);
        kvm_main.vcpu_put(vcpu);
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 5106)
    void kvm_free_vcpus(Kvm kvm) {
        int n = kvm.online_vcpus.get();
        for (int i = 0; i < n; i++) kvm_unload_vcpu_mmu(kvm.vcpus[i]);
        for (int i = 0; i < n; i++) kvm_arch_vcpu_free(kvm.vcpus[i]);
        kvm.lock.lock();
        try {
            for (int i = 0; i < n; i++) kvm.vcpus[i] = null;
            kvm.online_vcpus.set(0);
        } finally {
            kvm.lock.unlock();
        }
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 5127, status = Origin.Status.SIMPLIFIED,
            note = "no assigned devices to free")
    @Override public void kvm_arch_sync_events(Kvm kvm) { }

    @Origin(file = "arch/x86/kvm/x86.c", line = 5132, status = Origin.Status.SIMPLIFIED,
            note = "no IOMMU, PIT or irqchip to free")
    @Override public void kvm_arch_destroy_vm(Kvm kvm) {
        kvm_free_vcpus(kvm);
        kvm_main.kvm_free_physmem(kvm);
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 5147, status = Origin.Status.SIMPLIFIED,
            note = "no kernel-allocated (!user_alloc) slots; the MMU page budget is recomputed")
    @Override public int kvm_arch_set_memory_region(Kvm kvm, KvmUserspaceMemoryRegion mem, KvmMemorySlot old, int user_alloc) {
        if (user_alloc == 0 && mem.memory_size != 0 && old.rmap == null) {
            // A private slot without a user address (the APIC access page, the EPT identity table):
            // the kernel maps anonymous memory for it, as do_mmap does in the C.
            HostMemory.Region r = kvm_main.kernel.platform.memory().mmap(mem.memory_size);
            if (r == null) return -ENOMEM;
            synchronized (kvm.mmu_lock) { kvm.memslots[mem.slot].userspace_addr = r.va; }
        }
        synchronized (kvm.mmu_lock) {
            if (kvm.arch.n_requested_mmu_pages == 0)
                mmu.kvm_mmu_change_mmu_pages(kvm, mmu.kvm_mmu_calculate_mmu_pages(kvm));
        }
        return 0;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 5205)
    @Override public void kvm_arch_flush_shadow(Kvm kvm) {
        mmu.kvm_mmu_zap_all(kvm);
        kvm_main.kvm_reload_remote_mmus(kvm);
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 5211)
    @Override public int kvm_arch_vcpu_runnable(KvmVcpu vcpu) {
        return vcpu.arch.mp_state == KVM_MP_STATE_RUNNABLE || vcpu.arch.mp_state == KVM_MP_STATE_SIPI_RECEIVED
                || vcpu.arch.nmi_pending || (kvm_arch_interrupt_allowed(vcpu) != 0 && kvm_cpu_has_interrupt(vcpu)) ? 1 : 0;
    }

    /**
     * Makes a vCPU that is in KVM_RUN on another thread leave the guest: the request bit and the
     * processor's external-interrupt exit are what smp_send_reschedule achieves in the C.
     */
    @Origin(file = "arch/x86/kvm/x86.c", line = 5220, status = Origin.Status.SIMPLIFIED,
            note = "kicks through the processor's external-interrupt exit; no wait queue to wake")
    public void kvm_vcpu_kick(KvmVcpu vcpu) {
        int cpu = vcpu.cpu;
        if (cpu >= 0 && cpu < kvm_main.kernel.platform.num_possible_cpus()) {
            vcpu.requests |= 1L << KVM_REQ_KICK;
            kvm_main.kernel.platform.cpu(cpu).kick();
        }
        synchronized (vcpu) { vcpu.notifyAll(); }
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 5237)
    public int kvm_arch_interrupt_allowed(KvmVcpu vcpu) { return kvm_x86_ops.interrupt_allowed(vcpu); }

    @Origin(file = "arch/x86/kvm/x86.c", line = 5242)
    public long kvm_get_rflags(KvmVcpu vcpu) {
        long rflags = kvm_x86_ops.get_rflags(vcpu);
        if ((vcpu.guest_debug & KVM_GUESTDBG_SINGLESTEP) != 0) rflags &= ~(X86_EFLAGS_TF | X86_EFLAGS_RF);
        return rflags;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 5253)
    public void kvm_set_rflags(KvmVcpu vcpu, long rflags) {
        // while single-stepping, TF stays on as long as the guest has not left the armed instruction
        if ((vcpu.guest_debug & KVM_GUESTDBG_SINGLESTEP) != 0
                && vcpu.arch.singlestep_cs == get_segment_selector(vcpu, VCPU_SREG_CS)
                && vcpu.arch.singlestep_rip == kvm_rip_read(vcpu))
            rflags |= X86_EFLAGS_TF | X86_EFLAGS_RF;
        kvm_x86_ops.set_rflags(vcpu, rflags);
    }
}
