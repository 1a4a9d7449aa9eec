package kvmkmod.vmx;

import kvmkmod.hw.HostMemory;
import kvmkmod.hw.Platform;
import kvmkmod.hw.VmxCpu;
import kvmkmod.include.DescriptorTable;
import kvmkmod.include.ErrPtr;
import kvmkmod.include.Kvm;
import kvmkmod.include.KvmSegment;
import kvmkmod.include.KvmUserspaceMemoryRegion;
import kvmkmod.include.KvmVcpu;
import kvmkmod.include.KvmX86Ops;
import kvmkmod.include.Origin;
import kvmkmod.kvm_main.KvmMain;
import kvmkmod.x86.KvmTrace;
import kvmkmod.x86.Mmu;
import kvmkmod.x86.X86;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;

import static kvmkmod.hw.HostMemory.PAGE_MASK;
import static kvmkmod.hw.HostMemory.PAGE_SHIFT;
import static kvmkmod.hw.HostMemory.PAGE_SIZE;
import static kvmkmod.hw.VmxArch.*;
import static kvmkmod.include.Errno.*;
import static kvmkmod.include.KvmVcpuArch.*;
import static kvmkmod.include.Kvm_h.*;
import static kvmkmod.kvm_main.KvmMain.KVM_REQ_TLB_FLUSH;
import static kvmkmod.vmx.VmxDefs.*;
import static kvmkmod.x86.Mmu.PT64_ROOT_LEVEL;
import static kvmkmod.x86.X86.*;

/**
 * arch/x86/kvm/vmx.c: kvm-intel.ko, the Intel VMX backend of KVM. It fills {@link KvmX86Ops} (the C's
 * vmx_x86_ops, vmx.c:3996) and drives the processor through the VMX instructions of {@link VmxCpu}.
 *
 * <p>The file's static globals (vmcs_config, the per-CPU VMXON areas, the I/O and MSR bitmaps, the VPID
 * bitmap, the module parameters) are fields of one object: one loaded module, so several hosts can live
 * in one JVM. A C function keeps its name, parameter order and call order; where the Java does less,
 * its {@link Origin} says so. The interface members whose names differ from the C functions
 * ({@code vcpu_create} for vmx_create_vcpu, ...) are one-line bridges at the end of the class.
 *
 * <p>The host side of the C (the Linux kernel's own FS/GS, GDT, TSS, CR0/CR3, SYSENTER MSRs) has no
 * counterpart in a JVM: the few host values the VMCS needs come from {@link #read_cr0()} and its
 * neighbours, which describe a fixed x86_64 host kernel.
 */
public final class Vmx /* implements KvmX86Ops: completed below */ {
    // ---- kvm.ko, which this module links against ----
    final KvmMain kvm_main;
    final X86 x86;
    final Mmu mmu;
    final Platform platform;

    // ---- module parameters (vmx.c:44-81); hardware_setup clears the ones the processor lacks ----
    int bypass_guest_pf = 1;
    int enable_vpid = 1;
    int flexpriority_enabled = 1;
    int enable_ept = 1;
    int enable_unrestricted_guest = 1;
    int emulate_invalid_guest_state = 0;
    int ple_gap = KVM_VMX_DEFAULT_PLE_GAP;
    int ple_window = KVM_VMX_DEFAULT_PLE_WINDOW;

    // ---- per-CPU variables (vmx.c:150-152) ----
    /** The VMXON region of each processor. */
    final HostMemory.Region[] vmxarea;
    /** The VMCS each processor has loaded with VMPTRLD. */
    final HostMemory.Region[] current_vmcs;
    /** The vCPUs whose VMCS may be active on each processor (local_vcpus_link). */
    final List<List<VcpuVmx>> vcpus_on_cpu = new ArrayList<>();

    // ---- file globals (vmx.c:154-209) ----
    HostMemory.Region vmx_io_bitmap_a;
    HostMemory.Region vmx_io_bitmap_b;
    HostMemory.Region vmx_msr_bitmap_legacy;
    HostMemory.Region vmx_msr_bitmap_longmode;

    final BitSet vmx_vpid_bitmap = new BitSet(VMX_NR_VPIDS);
    private final Object vmx_vpid_lock = new Object();

    final VmcsConfig vmcs_config = new VmcsConfig();

    /** struct vmx_capability (vmx.c:173): the two halves of IA32_VMX_EPT_VPID_CAP. */
    static final class VmxCapability {
        int ept;
        int vpid;
    }

    final VmxCapability vmx_capability = new VmxCapability();

    /** struct kvm_vmx_segment_field (vmx.c:186): the four VMCS fields of one segment register. */
    static final class KvmVmxSegmentField {
        final int selector, base, limit, ar_bytes;

        KvmVmxSegmentField(int selector, int base, int limit, int ar_bytes) {
            this.selector = selector;
            this.base = base;
            this.limit = limit;
            this.ar_bytes = ar_bytes;
        }
    }

    /** kvm_vmx_segment_fields[] (vmx.c:191), indexed by VCPU_SREG_*. */
    static final KvmVmxSegmentField[] kvm_vmx_segment_fields = new KvmVmxSegmentField[8];

    static {
        kvm_vmx_segment_fields[VCPU_SREG_CS] = new KvmVmxSegmentField(GUEST_CS_SELECTOR, GUEST_CS_BASE, GUEST_CS_LIMIT, GUEST_CS_AR_BYTES);
        kvm_vmx_segment_fields[VCPU_SREG_DS] = new KvmVmxSegmentField(GUEST_DS_SELECTOR, GUEST_DS_BASE, GUEST_DS_LIMIT, GUEST_DS_AR_BYTES);
        kvm_vmx_segment_fields[VCPU_SREG_ES] = new KvmVmxSegmentField(GUEST_ES_SELECTOR, GUEST_ES_BASE, GUEST_ES_LIMIT, GUEST_ES_AR_BYTES);
        kvm_vmx_segment_fields[VCPU_SREG_FS] = new KvmVmxSegmentField(GUEST_FS_SELECTOR, GUEST_FS_BASE, GUEST_FS_LIMIT, GUEST_FS_AR_BYTES);
        kvm_vmx_segment_fields[VCPU_SREG_GS] = new KvmVmxSegmentField(GUEST_GS_SELECTOR, GUEST_GS_BASE, GUEST_GS_LIMIT, GUEST_GS_AR_BYTES);
        kvm_vmx_segment_fields[VCPU_SREG_SS] = new KvmVmxSegmentField(GUEST_SS_SELECTOR, GUEST_SS_BASE, GUEST_SS_LIMIT, GUEST_SS_AR_BYTES);
        kvm_vmx_segment_fields[VCPU_SREG_TR] = new KvmVmxSegmentField(GUEST_TR_SELECTOR, GUEST_TR_BASE, GUEST_TR_LIMIT, GUEST_TR_AR_BYTES);
        kvm_vmx_segment_fields[VCPU_SREG_LDTR] = new KvmVmxSegmentField(GUEST_LDTR_SELECTOR, GUEST_LDTR_BASE, GUEST_LDTR_LIMIT, GUEST_LDTR_AR_BYTES);
    }

    long host_efer;

    /** vmx_msr_index[] (vmx.c:207): MSR_K6_STAR stays last so setup_msrs can drop it by shortening the list. */
    static final int[] vmx_msr_index = { MSR_SYSCALL_MASK, MSR_LSTAR, MSR_CSTAR, MSR_EFER, MSR_K6_STAR };
    static final int NR_VMX_MSR = vmx_msr_index.length;

    /**
     * Whether kvm_x86_ops->update_cr8_intercept is set: hardware_setup clears the C pointer when the
     * processor has no TPR shadow; a Java interface member cannot be NULL, so this flag says it.
     */
    boolean update_cr8_intercept_present = true;

    /** An exit handler of kvm_vmx_exit_handlers[]; serializable so a test can name the method behind each slot. */
    @FunctionalInterface
    interface ExitHandler extends Serializable {
        int handle(KvmVcpu vcpu);
    }

    /** kvm_vmx_exit_handlers[] (vmx.c:3451), indexed by basic exit reason; sized as the C's designated initializer. */
    final ExitHandler[] kvm_vmx_exit_handlers = new ExitHandler[EXIT_REASON_WBINVD + 1];
    final int kvm_vmx_max_exit_handlers = kvm_vmx_exit_handlers.length;

    /** vmx_exit_reasons_str[] (vmx.c:3965): the names trace_kvm_exit prints; 2.6.33 names only these 19. */
    static final String[] vmx_exit_reasons_str = new String[EXIT_REASON_WBINVD + 1];

    static {
        vmx_exit_reasons_str[EXIT_REASON_EXCEPTION_NMI] = "exception";
        vmx_exit_reasons_str[EXIT_REASON_EXTERNAL_INTERRUPT] = "ext_irq";
        vmx_exit_reasons_str[EXIT_REASON_TRIPLE_FAULT] = "triple_fault";
        vmx_exit_reasons_str[EXIT_REASON_NMI_WINDOW] = "nmi_window";
        vmx_exit_reasons_str[EXIT_REASON_IO_INSTRUCTION] = "io_instruction";
        vmx_exit_reasons_str[EXIT_REASON_CR_ACCESS] = "cr_access";
        vmx_exit_reasons_str[EXIT_REASON_DR_ACCESS] = "dr_access";
        vmx_exit_reasons_str[EXIT_REASON_CPUID] = "cpuid";
        vmx_exit_reasons_str[EXIT_REASON_MSR_READ] = "rdmsr";
        vmx_exit_reasons_str[EXIT_REASON_MSR_WRITE] = "wrmsr";
        vmx_exit_reasons_str[EXIT_REASON_PENDING_INTERRUPT] = "interrupt_window";
        vmx_exit_reasons_str[EXIT_REASON_HLT] = "halt";
        vmx_exit_reasons_str[EXIT_REASON_INVLPG] = "invlpg";
        vmx_exit_reasons_str[EXIT_REASON_VMCALL] = "hypercall";
        vmx_exit_reasons_str[EXIT_REASON_TPR_BELOW_THRESHOLD] = "tpr_below_thres";
        vmx_exit_reasons_str[EXIT_REASON_APIC_ACCESS] = "apic_access";
        vmx_exit_reasons_str[EXIT_REASON_WBINVD] = "wbinvd";
        vmx_exit_reasons_str[EXIT_REASON_TASK_SWITCH] = "task_switch";
        vmx_exit_reasons_str[EXIT_REASON_EPT_VIOLATION] = "ept_violation";
    }

    /**
     * The HOST_RIP value vmx_vcpu_setup writes. In the C it is the address of the asm label
     * .Lkvm_vmx_return inside vmx_vcpu_run; Java code has no address, so a recognisable marker stands in.
     * Both processors return from VMLAUNCH/VMRESUME to the Java caller whatever this holds.
     */
    public static final long KVM_VMX_RETURN = 0xffffffffa0000000L | 0x3763L;

    /** The host stack pointer vmx_vcpu_run stores in HOST_RSP, a marker for the same reason. */
    public static final long KVM_VMX_HOST_RSP = 0xffff880000010000L - 8 * 3;

    public Vmx(KvmMain kvm_main, X86 x86) {
        this.kvm_main = kvm_main;
        this.x86 = x86;
        this.mmu = x86.mmu;
        this.platform = kvm_main.kernel.platform;
        int n = platform.num_possible_cpus();
        this.vmxarea = new HostMemory.Region[n];
        this.current_vmcs = new HostMemory.Region[n];
        for (int i = 0; i < n; i++) vcpus_on_cpu.add(new ArrayList<>());

        // kvm_vmx_exit_handlers[] is filled by its section below (C order)
    }

    // ---- the host kernel and processor as vmx.c sees them ----

    /** The processor the calling thread runs on; VMX instructions act on its current VMCS. */
    private VmxCpu cpu() { return platform.this_cpu(); }

    private HostMemory mem() { return platform.memory(); }

    /** __pa of a kernel allocation. */
    private static long __pa(HostMemory.Region r) { return r.hpa; }

    /** rdmsrl on the processor the thread is on (taking one for the duration if it holds none). */
    private long rdmsrl(int msr) {
        int c = platform.get_cpu();
        try {
            return platform.cpu(c).rdmsr(msr);
        } finally {
            platform.put_cpu();
        }
    }

    /**
     * A host MSR the Java host kernel never set up (FS/GS base, SYSENTER, PAT): read where the processor
     * has it, 0 where it does not, since no Linux host stands behind these values.
     */
    private long host_rdmsrl(int msr) {
        try {
            return rdmsrl(msr);
        } catch (IllegalArgumentException gp) {
            return 0;
        }
    }

    /** rdtscll: the host TSC, in the same unit x86.c uses for kvm->arch.vm_init_tsc. */
    private static long rdtscll() { return System.nanoTime(); }

    /** The host kernel's CR0 (PG, AM, WP, NE, ET, MP, PE: an x86_64 Linux kernel). */
    private static long read_cr0() { return 0x80050033L; }

    /** The host kernel's CR3: the Java host keeps no page tables of its own. */
    private static long read_cr3() { return 0; }

    private long read_cr4() { return cpu().read_cr4(); }

    /** Host selectors: the Java host never loads FS, GS or an LDT. */
    private static int kvm_read_fs() { return 0; }

    private static int kvm_read_gs() { return 0; }

    private static int kvm_read_ldt() { return 0; }

    /** The per-CPU TSS and GDT of the host kernel (x86_64 layout, one page apart per processor). */
    private long kvm_read_tr_base() { return 0xffff880000100000L + (long) platform.smp_processor_id() * PAGE_SIZE; }

    private void kvm_get_gdt(DescriptorTable dt) {
        dt.base = 0xffff880000200000L + (long) platform.smp_processor_id() * PAGE_SIZE;
        dt.limit = GDT_ENTRY_TSS * 8 + 15;
    }

    private static void kvm_get_idt(DescriptorTable dt) {
        dt.base = 0xffffffff81000000L;
        dt.limit = 256 * 16 - 1;
    }

    /** irqchip_in_kernel (irq.h); X86 keeps its own copy package-private. No in-kernel PIC/IOAPIC yet. */
    private static boolean irqchip_in_kernel(Kvm kvm) { return false; }

    /** kvm_cpu_has_interrupt (irq.c) without an in-kernel irqchip, as X86 answers it. */
    private static boolean kvm_cpu_has_interrupt(KvmVcpu vcpu) { return false; }

    /** kvm_exception_is_soft (x86.h): #BP and #OF are raised by INT3/INTO and need the instruction length. */
    private static boolean kvm_exception_is_soft(int nr) { return nr == BP_VECTOR || nr == OF_VECTOR; }

    /** get_rdx_init_val (asm/kvm_host.h:757): RDX after reset holds the processor signature. */
    private static long get_rdx_init_val() { return 0x600; }

    /** smp_call_function_single(cpu, fn, arg, 1): runs fn on that processor and waits for it. */
    private void smp_call_function_single(int cpu, Runnable fn) {
        int self = platform.get_cpu();
        try {
            if (self == cpu) {
                fn.run();
                return;
            }
        } finally {
            platform.put_cpu();
        }
        Thread t = new Thread(() -> {
            platform.get_cpu(cpu);
            try {
                fn.run();
            } finally {
                platform.put_cpu();
            }
        }, "smp-call-cpu" + cpu);
        t.start();
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---- vmx.c:143-470: small helpers ----

    @Origin(file = "arch/x86/kvm/vmx.c", line = 143)
    static VcpuVmx to_vmx(KvmVcpu vcpu) { return (VcpuVmx) vcpu; }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 219)
    static boolean is_page_fault(int intr_info) {
        return (intr_info & (INTR_INFO_INTR_TYPE_MASK | INTR_INFO_VECTOR_MASK | INTR_INFO_VALID_MASK))
                == (INTR_TYPE_HARD_EXCEPTION | PF_VECTOR | INTR_INFO_VALID_MASK);
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 226)
    static boolean is_no_device(int intr_info) {
        return (intr_info & (INTR_INFO_INTR_TYPE_MASK | INTR_INFO_VECTOR_MASK | INTR_INFO_VALID_MASK))
                == (INTR_TYPE_HARD_EXCEPTION | NM_VECTOR | INTR_INFO_VALID_MASK);
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 233)
    static boolean is_invalid_opcode(int intr_info) {
        return (intr_info & (INTR_INFO_INTR_TYPE_MASK | INTR_INFO_VECTOR_MASK | INTR_INFO_VALID_MASK))
                == (INTR_TYPE_HARD_EXCEPTION | UD_VECTOR | INTR_INFO_VALID_MASK);
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 240)
    static boolean is_external_interrupt(int intr_info) {
        return (intr_info & (INTR_INFO_INTR_TYPE_MASK | INTR_INFO_VALID_MASK))
                == (INTR_TYPE_EXT_INTR | INTR_INFO_VALID_MASK);
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 246)
    static boolean is_machine_check(int intr_info) {
        return (intr_info & (INTR_INFO_INTR_TYPE_MASK | INTR_INFO_VECTOR_MASK | INTR_INFO_VALID_MASK))
                == (INTR_TYPE_HARD_EXCEPTION | MC_VECTOR | INTR_INFO_VALID_MASK);
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 253)
    boolean cpu_has_vmx_msr_bitmap() { return (vmcs_config.cpu_based_exec_ctrl & CPU_BASED_USE_MSR_BITMAPS) != 0; }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 258)
    boolean cpu_has_vmx_tpr_shadow() { return (vmcs_config.cpu_based_exec_ctrl & CPU_BASED_TPR_SHADOW) != 0; }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 263)
    boolean vm_need_tpr_shadow(Kvm kvm) { return cpu_has_vmx_tpr_shadow() && irqchip_in_kernel(kvm); }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 268)
    boolean cpu_has_secondary_exec_ctrls() {
        return (vmcs_config.cpu_based_exec_ctrl & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) != 0;
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 274)
    boolean cpu_has_vmx_virtualize_apic_accesses() {
        return (vmcs_config.cpu_based_2nd_exec_ctrl & SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES) != 0;
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 280)
    boolean cpu_has_vmx_flexpriority() { return cpu_has_vmx_tpr_shadow() && cpu_has_vmx_virtualize_apic_accesses(); }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 286)
    boolean cpu_has_vmx_ept_execute_only() { return (vmx_capability.ept & VMX_EPT_EXECUTE_ONLY_BIT) != 0; }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 291)
    boolean cpu_has_vmx_eptp_uncacheable() { return (vmx_capability.ept & VMX_EPTP_UC_BIT) != 0; }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 296)
    boolean cpu_has_vmx_eptp_writeback() { return (vmx_capability.ept & VMX_EPTP_WB_BIT) != 0; }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 301)
    boolean cpu_has_vmx_ept_2m_page() { return (vmx_capability.ept & VMX_EPT_2MB_PAGE_BIT) != 0; }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 306)
    boolean cpu_has_vmx_invept_individual_addr() { return (vmx_capability.ept & VMX_EPT_EXTENT_INDIVIDUAL_BIT) != 0; }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 311)
    boolean cpu_has_vmx_invept_context() { return (vmx_capability.ept & VMX_EPT_EXTENT_CONTEXT_BIT) != 0; }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 316)
    boolean cpu_has_vmx_invept_global() { return (vmx_capability.ept & VMX_EPT_EXTENT_GLOBAL_BIT) != 0; }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 321)
    boolean cpu_has_vmx_ept() { return (vmcs_config.cpu_based_2nd_exec_ctrl & SECONDARY_EXEC_ENABLE_EPT) != 0; }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 327)
    boolean cpu_has_vmx_unrestricted_guest() {
        return (vmcs_config.cpu_based_2nd_exec_ctrl & SECONDARY_EXEC_UNRESTRICTED_GUEST) != 0;
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 333)
    boolean cpu_has_vmx_ple() { return (vmcs_config.cpu_based_2nd_exec_ctrl & SECONDARY_EXEC_PAUSE_LOOP_EXITING) != 0; }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 339)
    boolean vm_need_virtualize_apic_accesses(Kvm kvm) {
        return flexpriority_enabled != 0 && cpu_has_vmx_virtualize_apic_accesses() && irqchip_in_kernel(kvm);
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 346)
    boolean cpu_has_vmx_vpid() { return (vmcs_config.cpu_based_2nd_exec_ctrl & SECONDARY_EXEC_ENABLE_VPID) != 0; }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 352)
    boolean cpu_has_virtual_nmis() { return (vmcs_config.pin_based_exec_ctrl & PIN_BASED_VIRTUAL_NMIS) != 0; }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 357)
    boolean report_flexpriority() { return flexpriority_enabled != 0; }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 362)
    static int __find_msr_index(VcpuVmx vmx, int msr) {
        for (int i = 0; i < vmx.nmsrs; ++i)
            if (vmx_msr_index[vmx.guest_msrs[i].index] == msr) return i;
        return -1;
    }

    /** A failed INVVPID is a ud2 (BUG) in the C; here it is an exception. */
    @Origin(file = "arch/x86/kvm/vmx.c", line = 372)
    void __invvpid(int ext, int vpid, long gva) {
        if (cpu().invvpid(ext, vpid & 0xffff, gva) != VmxCpu.VM_SUCCEED)
            throw new IllegalStateException("kvm: invvpid failed (ud2)");
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 386)
    void __invept(int ext, long eptp, long gpa) {
        if (cpu().invept(ext, eptp) != VmxCpu.VM_SUCCEED)
            throw new IllegalStateException("kvm: invept failed (ud2)");
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 398)
    static VcpuVmx.SharedMsrEntry find_msr_entry(VcpuVmx vmx, int msr) {
        int i = __find_msr_index(vmx, msr);
        if (i >= 0) return vmx.guest_msrs[i];
        return null;
    }

    /** VMCLEAR runs on whichever processor the thread is on, as the preemptible C caller's would. */
    @Origin(file = "arch/x86/kvm/vmx.c", line = 408)
    void vmcs_clear(HostMemory.Region vmcs) {
        long phys_addr = __pa(vmcs);
        int c = platform.get_cpu();
        int error;
        try {
            error = platform.cpu(c).vmclear(phys_addr);
        } finally {
            platform.put_cpu();
        }
        if (error != VmxCpu.VM_SUCCEED)
            System.err.printf("kvm: vmclear fail: %s/%x%n", vmcs, phys_addr);
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 421)
    void __vcpu_clear(VcpuVmx vmx) {
        int cpu = platform.smp_processor_id();
        if (vmx.cpu == cpu) vmcs_clear(vmx.vmcs);
        if (current_vmcs[cpu] == vmx.vmcs) current_vmcs[cpu] = null;
        vmx.arch.host_tsc = rdtscll();
        synchronized (vcpus_on_cpu) {
            for (List<VcpuVmx> l : vcpus_on_cpu) l.remove(vmx);
        }
        vmx.cpu = -1;
        vmx.launched = 0;
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 436)
    void vcpu_clear(VcpuVmx vmx) {
        if (vmx.cpu == -1) return;
        smp_call_function_single(vmx.cpu, () -> __vcpu_clear(vmx));
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 443)
    void vpid_sync_vcpu_all(VcpuVmx vmx) {
        if (vmx.vpid == 0) return;
        __invvpid(VMX_VPID_EXTENT_SINGLE_CONTEXT, vmx.vpid, 0);
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 451)
    void ept_sync_global() {
        if (cpu_has_vmx_invept_global()) __invept(VMX_EPT_EXTENT_GLOBAL, 0, 0);
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 457)
    void ept_sync_context(long eptp) {
        if (enable_ept != 0) {
            if (cpu_has_vmx_invept_context()) __invept(VMX_EPT_EXTENT_CONTEXT, eptp, 0);
            else ept_sync_global();
        }
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 467)
    void ept_sync_individual_addr(long eptp, long gpa) {
        if (enable_ept != 0) {
            if (cpu_has_vmx_invept_individual_addr()) __invept(VMX_EPT_EXTENT_INDIVIDUAL_ADDR, eptp, gpa);
            else ept_sync_context(eptp);
        }
    }

    // ---- vmx.c:478-550: VMREAD / VMWRITE on the current VMCS ----

    @Origin(file = "arch/x86/kvm/vmx.c", line = 478)
    long vmcs_readl(int field) { return cpu().vmread(field); }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 487)
    int vmcs_read16(int field) { return (int) vmcs_readl(field) & 0xffff; }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 492)
    int vmcs_read32(int field) { return (int) vmcs_readl(field); }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 497)
    long vmcs_read64(int field) { return vmcs_readl(field); }

    /** The C also dumps the stack; a Java stack trace on stderr plays that part. */
    @Origin(file = "arch/x86/kvm/vmx.c", line = 506)
    void vmwrite_error(int field, long value) {
        System.err.printf("vmwrite error: reg %x value %x (err %d)%n", field, value, vmcs_read32(VM_INSTRUCTION_ERROR));
        new Throwable("dump_stack").printStackTrace();
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 513)
    void vmcs_writel(int field, long value) {
        int error = cpu().vmwrite(field, value);
        if (error != VmxCpu.VM_SUCCEED) vmwrite_error(field, value);
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 523)
    void vmcs_write16(int field, int value) { vmcs_writel(field, value & 0xffffL); }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 528)
    void vmcs_write32(int field, int value) { vmcs_writel(field, value & 0xffffffffL); }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 533)
    void vmcs_write64(int field, long value) { vmcs_writel(field, value); }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 542)
    void vmcs_clear_bits(int field, int mask) { vmcs_writel(field, vmcs_readl(field) & ~(mask & 0xffffffffL)); }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 547)
    void vmcs_set_bits(int field, int mask) { vmcs_writel(field, vmcs_readl(field) | (mask & 0xffffffffL)); }
}
