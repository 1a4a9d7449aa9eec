package kvmkmod.vmx;

import kvmkmod.hw.HostMemory;
import kvmkmod.hw.Platform;
import kvmkmod.hw.VmxCpu;
import kvmkmod.include.DescriptorTable;
import kvmkmod.include.ErrPtr;
import kvmkmod.include.Kernel;
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
import static kvmkmod.emulator.X86EmulateCtxt.X86_SHADOW_INT_MOV_SS;
import static kvmkmod.emulator.X86EmulateCtxt.X86_SHADOW_INT_STI;
import static kvmkmod.hw.MsrIndex.*;
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
public final class Vmx implements KvmX86Ops {
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

        init_kvm_vmx_exit_handlers();
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

    // ---- vmx.c:552-1105: exceptions, host state, vCPU load/put, flags, MSRs, register cache ----

    @Origin(file = "arch/x86/kvm/vmx.c", line = 552)
    void update_exception_bitmap(KvmVcpu vcpu) {
        int eb = (1 << PF_VECTOR) | (1 << UD_VECTOR) | (1 << MC_VECTOR);
        if (vcpu.fpu_active == 0) eb |= 1 << NM_VECTOR;
        // #DB always exits, so DR6 need not be read on every exit
        eb |= 1 << DB_VECTOR;
        if ((vcpu.guest_debug & KVM_GUESTDBG_ENABLE) != 0) {
            if ((vcpu.guest_debug & KVM_GUESTDBG_USE_SW_BP) != 0) eb |= 1 << BP_VECTOR;
        }
        if (to_vmx(vcpu).rmode.vm86_active != 0) eb = ~0;
        if (enable_ept != 0) eb &= ~(1 << PF_VECTOR);
        vmcs_write32(EXCEPTION_BITMAP, eb);
    }

    /** VM exit loads TR with a fixed limit; the C marks the host's TSS descriptor available and reloads TR. */
    @Origin(file = "arch/x86/kvm/vmx.c", line = 575, status = Origin.Status.SIMPLIFIED,
            note = "the Java host kernel has no GDT or TR to reload")
    void reload_tss() { }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 589)
    boolean update_transition_efer(VcpuVmx vmx, int efer_offset) {
        long guest_efer = vmx.arch.shadow_efer;
        // NX is emulated, LMA/LME switched by the VM-entry controls; SCE matters only in long mode
        long ignore_bits = EFER_NX | EFER_SCE;
        ignore_bits |= EFER_LMA | EFER_LME;
        if ((guest_efer & EFER_LMA) != 0) ignore_bits &= ~EFER_SCE;
        guest_efer &= ~ignore_bits;
        guest_efer |= host_efer & ignore_bits;
        vmx.guest_msrs[efer_offset].data = guest_efer;
        vmx.guest_msrs[efer_offset].mask = ~ignore_bits;
        return true;
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 614, status = Origin.Status.SIMPLIFIED,
            note = "host selectors and bases are those of the Java host kernel (all null selectors)")
    void vmx_save_host_state(KvmVcpu vcpu) {
        VcpuVmx vmx = to_vmx(vcpu);
        if (vmx.host_state.loaded != 0) return;

        vmx.host_state.loaded = 1;
        // VM exit can only load host selectors with RPL 0 and TI 0; others are reloaded by hand
        vmx.host_state.ldt_sel = kvm_read_ldt();
        vmx.host_state.gs_ldt_reload_needed = vmx.host_state.ldt_sel;
        vmx.host_state.fs_sel = kvm_read_fs();
        if ((vmx.host_state.fs_sel & 7) == 0) {
            vmcs_write16(HOST_FS_SELECTOR, vmx.host_state.fs_sel);
            vmx.host_state.fs_reload_needed = 0;
        } else {
            vmcs_write16(HOST_FS_SELECTOR, 0);
            vmx.host_state.fs_reload_needed = 1;
        }
        vmx.host_state.gs_sel = kvm_read_gs();
        if ((vmx.host_state.gs_sel & 7) == 0) {
            vmcs_write16(HOST_GS_SELECTOR, vmx.host_state.gs_sel);
        } else {
            vmcs_write16(HOST_GS_SELECTOR, 0);
            vmx.host_state.gs_ldt_reload_needed = 1;
        }

        vmcs_writel(HOST_FS_BASE, host_rdmsrl(MSR_FS_BASE));
        vmcs_writel(HOST_GS_BASE, host_rdmsrl(MSR_GS_BASE));

        if (is_long_mode(vmx)) {
            vmx.msr_host_kernel_gs_base = host_rdmsrl(MSR_KERNEL_GS_BASE);
            host_wrmsrl(MSR_KERNEL_GS_BASE, vmx.msr_guest_kernel_gs_base);
        }
        for (int i = 0; i < vmx.save_nmsrs; ++i)
            x86.kvm_set_shared_msr(vmx.guest_msrs[i].index, vmx.guest_msrs[i].data, vmx.guest_msrs[i].mask);
    }

    /** wrmsrl of an MSR VMX does not switch; a processor without it ignores the write (see host_rdmsrl). */
    private void host_wrmsrl(int msr, long value) {
        try {
            cpu().wrmsr(msr, value);
        } catch (IllegalArgumentException gp) {
            // no such MSR on this processor: nothing of the host's to preserve
        }
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 665, status = Origin.Status.SIMPLIFIED,
            note = "no host FS/GS/LDT selectors to reload: the Java host kernel uses none")
    void __vmx_load_host_state(VcpuVmx vmx) {
        if (vmx.host_state.loaded == 0) return;

        ++vmx.stat.host_state_reload;
        vmx.host_state.loaded = 0;
        if (vmx.host_state.gs_ldt_reload_needed != 0) {
            // the GS reload would clobber the GS base, so it is restored from the VMCS
            host_wrmsrl(MSR_GS_BASE, vmcs_readl(HOST_GS_BASE));
        }
        reload_tss();
        if (is_long_mode(vmx)) {
            vmx.msr_guest_kernel_gs_base = host_rdmsrl(MSR_KERNEL_GS_BASE);
            host_wrmsrl(MSR_KERNEL_GS_BASE, vmx.msr_host_kernel_gs_base);
        }
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 698)
    void vmx_load_host_state(VcpuVmx vmx) {
        platform.get_cpu();
        try {
            __vmx_load_host_state(vmx);
        } finally {
            platform.put_cpu();
        }
    }

    /** kvm_migrate_timers is omitted: no in-kernel timers (PIT, LAPIC) follow the vCPU yet. */
    @Origin(file = "arch/x86/kvm/vmx.c", line = 709, status = Origin.Status.SIMPLIFIED,
            note = "no in-kernel timers to migrate (kvm_migrate_timers)")
    void vmx_vcpu_load(KvmVcpu vcpu, int cpu) {
        VcpuVmx vmx = to_vmx(vcpu);
        long phys_addr = __pa(vmx.vmcs);

        if (vcpu.cpu != cpu) {
            vcpu_clear(vmx);
            vcpu.requests |= 1L << KVM_REQ_TLB_FLUSH;
            synchronized (vcpus_on_cpu) {
                vcpus_on_cpu.get(cpu).add(vmx);
            }
        }

        if (current_vmcs[cpu] != vmx.vmcs) {
            current_vmcs[cpu] = vmx.vmcs;
            int error = platform.cpu(cpu).vmptrld(phys_addr);
            if (error != VmxCpu.VM_SUCCEED)
                System.err.printf("kvm: vmptrld %s/%x fail%n", vmx.vmcs, phys_addr);
        }

        if (vcpu.cpu != cpu) {
            DescriptorTable dt = new DescriptorTable();
            vcpu.cpu = cpu;
            // the host's TSS and GDT are per-CPU, so they follow the processor
            vmcs_writel(HOST_TR_BASE, kvm_read_tr_base());
            kvm_get_gdt(dt);
            vmcs_writel(HOST_GDTR_BASE, dt.base);

            long sysenter_esp = host_rdmsrl(MSR_IA32_SYSENTER_ESP);
            vmcs_writel(HOST_IA32_SYSENTER_ESP, sysenter_esp);

            // keep the guest TSC monotonic across processors
            long tsc_this = rdtscll();
            if (Long.compareUnsigned(tsc_this, vcpu.arch.host_tsc) < 0) {
                long delta = vcpu.arch.host_tsc - tsc_this;
                long new_offset = vmcs_read64(TSC_OFFSET) + delta;
                vmcs_write64(TSC_OFFSET, new_offset);
            }
        }
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 765)
    void vmx_vcpu_put(KvmVcpu vcpu) { __vmx_load_host_state(to_vmx(vcpu)); }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 770)
    void vmx_fpu_activate(KvmVcpu vcpu) {
        if (vcpu.fpu_active != 0) return;
        vcpu.fpu_active = 1;
        vmcs_clear_bits(GUEST_CR0, (int) X86_CR0_TS);
        if ((vcpu.arch.cr0 & X86_CR0_TS) != 0) vmcs_set_bits(GUEST_CR0, (int) X86_CR0_TS);
        update_exception_bitmap(vcpu);
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 781)
    void vmx_fpu_deactivate(KvmVcpu vcpu) {
        if (vcpu.fpu_active == 0) return;
        vcpu.fpu_active = 0;
        vmcs_set_bits(GUEST_CR0, (int) X86_CR0_TS);
        update_exception_bitmap(vcpu);
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 790)
    long vmx_get_rflags(KvmVcpu vcpu) {
        long rflags = vmcs_readl(GUEST_RFLAGS);
        if (to_vmx(vcpu).rmode.vm86_active != 0) {
            rflags &= RMODE_GUEST_OWNED_EFLAGS_BITS;
            long save_rflags = to_vmx(vcpu).rmode.save_rflags;
            rflags |= save_rflags & ~RMODE_GUEST_OWNED_EFLAGS_BITS;
        }
        return rflags;
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 803)
    void vmx_set_rflags(KvmVcpu vcpu, long rflags) {
        if (to_vmx(vcpu).rmode.vm86_active != 0) {
            to_vmx(vcpu).rmode.save_rflags = rflags;
            rflags |= X86_EFLAGS_IOPL | X86_EFLAGS_VM;
        }
        vmcs_writel(GUEST_RFLAGS, rflags);
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 812)
    int vmx_get_interrupt_shadow(KvmVcpu vcpu, int mask) {
        int interruptibility = vmcs_read32(GUEST_INTERRUPTIBILITY_INFO);
        int ret = 0;
        if ((interruptibility & GUEST_INTR_STATE_STI) != 0) ret |= X86_SHADOW_INT_STI;
        if ((interruptibility & GUEST_INTR_STATE_MOV_SS) != 0) ret |= X86_SHADOW_INT_MOV_SS;
        return ret & mask;
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 825)
    void vmx_set_interrupt_shadow(KvmVcpu vcpu, int mask) {
        int interruptibility_old = vmcs_read32(GUEST_INTERRUPTIBILITY_INFO);
        int interruptibility = interruptibility_old;
        interruptibility &= ~(GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS);
        if ((mask & X86_SHADOW_INT_MOV_SS) != 0) interruptibility |= GUEST_INTR_STATE_MOV_SS;
        if ((mask & X86_SHADOW_INT_STI) != 0) interruptibility |= GUEST_INTR_STATE_STI;
        if (interruptibility != interruptibility_old)
            vmcs_write32(GUEST_INTERRUPTIBILITY_INFO, interruptibility);
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 841)
    public void skip_emulated_instruction(KvmVcpu vcpu) {
        long rip = x86.kvm_rip_read(vcpu);
        rip += vmcs_read32(VM_EXIT_INSTRUCTION_LEN) & 0xffffffffL;
        x86.kvm_rip_write(vcpu, rip);
        // an emulated instruction ends any STI / MOV SS shadow, like an executed one
        vmx_set_interrupt_shadow(vcpu, 0);
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 853)
    void vmx_queue_exception(KvmVcpu vcpu, int nr, boolean has_error_code, int error_code) {
        VcpuVmx vmx = to_vmx(vcpu);
        int intr_info = nr | INTR_INFO_VALID_MASK;

        if (has_error_code) {
            vmcs_write32(VM_ENTRY_EXCEPTION_ERROR_CODE, error_code);
            intr_info |= INTR_INFO_DELIVER_CODE_MASK;
        }

        if (vmx.rmode.vm86_active != 0) {
            // vm86 delivers it as a software interrupt through the real-mode IVT, one byte before RIP
            vmx.rmode.irq.pending = true;
            vmx.rmode.irq.vector = nr;
            vmx.rmode.irq.rip = x86.kvm_rip_read(vcpu);
            if (kvm_exception_is_soft(nr)) vmx.rmode.irq.rip += vmx.arch.event_exit_inst_len;
            intr_info |= INTR_TYPE_SOFT_INTR;
            vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, intr_info);
            vmcs_write32(VM_ENTRY_INSTRUCTION_LEN, 1);
            x86.kvm_rip_write(vcpu, vmx.rmode.irq.rip - 1);
            return;
        }

        if (kvm_exception_is_soft(nr)) {
            vmcs_write32(VM_ENTRY_INSTRUCTION_LEN, vmx.arch.event_exit_inst_len);
            intr_info |= INTR_TYPE_SOFT_EXCEPTION;
        } else {
            intr_info |= INTR_TYPE_HARD_EXCEPTION;
        }
        vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, intr_info);
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 891)
    static void move_msr_up(VcpuVmx vmx, int from, int to) {
        VcpuVmx.SharedMsrEntry tmp = vmx.guest_msrs[to];
        vmx.guest_msrs[to] = vmx.guest_msrs[from];
        vmx.guest_msrs[from] = tmp;
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 905)
    void setup_msrs(VcpuVmx vmx) {
        int save_nmsrs, index;
        HostMemory.Region msr_bitmap;

        vmx_load_host_state(vmx);
        save_nmsrs = 0;
        if (is_long_mode(vmx)) {
            index = __find_msr_index(vmx, MSR_SYSCALL_MASK);
            if (index >= 0) move_msr_up(vmx, index, save_nmsrs++);
            index = __find_msr_index(vmx, MSR_LSTAR);
            if (index >= 0) move_msr_up(vmx, index, save_nmsrs++);
            index = __find_msr_index(vmx, MSR_CSTAR);
            if (index >= 0) move_msr_up(vmx, index, save_nmsrs++);
            // STAR matters only to a long-mode guest with SYSCALL enabled
            index = __find_msr_index(vmx, MSR_K6_STAR);
            if (index >= 0 && (vmx.arch.shadow_efer & EFER_SCE) != 0) move_msr_up(vmx, index, save_nmsrs++);
        }
        index = __find_msr_index(vmx, MSR_EFER);
        if (index >= 0 && update_transition_efer(vmx, index)) move_msr_up(vmx, index, save_nmsrs++);

        vmx.save_nmsrs = save_nmsrs;

        if (cpu_has_vmx_msr_bitmap()) {
            if (is_long_mode(vmx)) msr_bitmap = vmx_msr_bitmap_longmode;
            else msr_bitmap = vmx_msr_bitmap_legacy;
            vmcs_write64(MSR_BITMAP, __pa(msr_bitmap));
        }
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 952)
    long guest_read_tsc() {
        long host_tsc = rdtscll();
        long tsc_offset = vmcs_read64(TSC_OFFSET);
        return host_tsc + tsc_offset;
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 965)
    void guest_write_tsc(long guest_tsc, long host_tsc) { vmcs_write64(TSC_OFFSET, guest_tsc - host_tsc); }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 975)
    int vmx_get_msr(KvmVcpu vcpu, int msr_index, long[] pdata) {
        long data;
        VcpuVmx.SharedMsrEntry msr;

        if (pdata == null) {
            System.err.println("BUG: get_msr called with NULL pdata");
            return -EINVAL;
        }

        switch (msr_index) {
            case MSR_FS_BASE:
                data = vmcs_readl(GUEST_FS_BASE);
                break;
            case MSR_GS_BASE:
                data = vmcs_readl(GUEST_GS_BASE);
                break;
            case MSR_KERNEL_GS_BASE:
                vmx_load_host_state(to_vmx(vcpu));
                data = to_vmx(vcpu).msr_guest_kernel_gs_base;
                break;
            case MSR_EFER:
                return x86.kvm_get_msr_common(vcpu, msr_index, pdata);
            case MSR_IA32_TSC:
                data = guest_read_tsc();
                break;
            case MSR_IA32_SYSENTER_CS:
                data = vmcs_read32(GUEST_SYSENTER_CS) & 0xffffffffL;
                break;
            case MSR_IA32_SYSENTER_EIP:
                data = vmcs_readl(GUEST_SYSENTER_EIP);
                break;
            case MSR_IA32_SYSENTER_ESP:
                data = vmcs_readl(GUEST_SYSENTER_ESP);
                break;
            default:
                vmx_load_host_state(to_vmx(vcpu));
                msr = find_msr_entry(to_vmx(vcpu), msr_index);
                if (msr != null) {
                    vmx_load_host_state(to_vmx(vcpu));
                    data = msr.data;
                    break;
                }
                return x86.kvm_get_msr_common(vcpu, msr_index, pdata);
        }

        pdata[0] = data;
        return 0;
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 1032)
    int vmx_set_msr(KvmVcpu vcpu, int msr_index, long data) {
        VcpuVmx vmx = to_vmx(vcpu);
        VcpuVmx.SharedMsrEntry msr;
        int ret = 0;

        switch (msr_index) {
            case MSR_EFER:
                vmx_load_host_state(vmx);
                ret = x86.kvm_set_msr_common(vcpu, msr_index, data);
                break;
            case MSR_FS_BASE:
                vmcs_writel(GUEST_FS_BASE, data);
                break;
            case MSR_GS_BASE:
                vmcs_writel(GUEST_GS_BASE, data);
                break;
            case MSR_KERNEL_GS_BASE:
                vmx_load_host_state(vmx);
                vmx.msr_guest_kernel_gs_base = data;
                break;
            case MSR_IA32_SYSENTER_CS:
                vmcs_write32(GUEST_SYSENTER_CS, (int) data);
                break;
            case MSR_IA32_SYSENTER_EIP:
                vmcs_writel(GUEST_SYSENTER_EIP, data);
                break;
            case MSR_IA32_SYSENTER_ESP:
                vmcs_writel(GUEST_SYSENTER_ESP, data);
                break;
            case MSR_IA32_TSC: {
                long host_tsc = rdtscll();
                guest_write_tsc(data, host_tsc);
                break;
            }
            case MSR_IA32_CR_PAT:
                if ((vmcs_config.vmentry_ctrl & VM_ENTRY_LOAD_IA32_PAT) != 0) {
                    vmcs_write64(GUEST_IA32_PAT, data);
                    vcpu.arch.pat = (int) data;
                    break;
                }
                // without the PAT entry control it is an ordinary MSR: fall through
            default:
                msr = find_msr_entry(vmx, msr_index);
                if (msr != null) {
                    vmx_load_host_state(vmx);
                    msr.data = data;
                    break;
                }
                ret = x86.kvm_set_msr_common(vcpu, msr_index, data);
        }
        return ret;
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 1089)
    void vmx_cache_reg(KvmVcpu vcpu, int reg) {
        vcpu.arch.regs_avail |= 1 << reg;
        switch (reg) {
            case VCPU_REGS_RSP:
                vcpu.arch.regs[VCPU_REGS_RSP] = vmcs_readl(GUEST_RSP);
                break;
            case VCPU_REGS_RIP:
                vcpu.arch.regs[VCPU_REGS_RIP] = vmcs_readl(GUEST_RIP);
                break;
            case VCPU_EXREG_PDPTR:
                if (enable_ept != 0) ept_save_pdptrs(vcpu);
                break;
            default:
                break;
        }
    }

    /** struct kvm_guest_debug is not mirrored yet; the caller passes its arch.debugreg[8] as a long[]. */
    @Origin(file = "arch/x86/kvm/vmx.c", line = 1108, status = Origin.Status.SIMPLIFIED,
            note = "dbg is the debugreg[] of struct kvm_guest_debug, which is not mirrored yet")
    public void set_guest_debug(KvmVcpu vcpu, Object dbg) {
        if ((vcpu.guest_debug & KVM_GUESTDBG_USE_HW_BP) != 0) vmcs_writel(GUEST_DR7, ((long[]) dbg)[7]);
        else vmcs_writel(GUEST_DR7, vcpu.arch.dr7);
        update_exception_bitmap(vcpu);
    }

    // ---- vmx.c:1118-1410: module init, VMXON/VMXOFF, the VMCS configuration ----

    /** cpu_has_vmx (asm/virtext.h): CPUID.1:ECX.VMX of the boot processor. */
    @Origin(file = "arch/x86/kvm/vmx.c", line = 1118)
    public int cpu_has_kvm_support() {
        int[] r = new int[4];
        platform.cpu(0).cpuid(1, 0, r);
        return (r[2] >>> X86_FEATURE_VMX_ECX_BIT) & 1;
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 1123)
    int vmx_disabled_by_bios() {
        long msr = rdmsrl(MSR_IA32_FEATURE_CONTROL);
        // locked with VMXON still disabled: the BIOS switched VMX off
        return (msr & (FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMXON_ENABLED)) == FEATURE_CONTROL_LOCKED ? 1 : 0;
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 1134)
    public int hardware_enable(Object garbage) {
        int cpu = platform.smp_processor_id();
        long phys_addr = __pa(vmxarea[cpu]);
        VmxCpu c = platform.cpu(cpu);

        if ((c.read_cr4() & X86_CR4_VMXE) != 0) return -EBUSY;

        synchronized (vcpus_on_cpu) {
            vcpus_on_cpu.get(cpu).clear();
        }
        long old = c.rdmsr(MSR_IA32_FEATURE_CONTROL);
        if ((old & (FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMXON_ENABLED))
                != (FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMXON_ENABLED))
            c.wrmsr(MSR_IA32_FEATURE_CONTROL, old | FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMXON_ENABLED);
        c.write_cr4(c.read_cr4() | X86_CR4_VMXE);
        c.vmxon(phys_addr);

        ept_sync_global();
        return 0;
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 1163)
    void vmclear_local_vcpus() {
        int cpu = platform.smp_processor_id();
        List<VcpuVmx> local;
        synchronized (vcpus_on_cpu) {
            local = new ArrayList<>(vcpus_on_cpu.get(cpu));
        }
        for (VcpuVmx vmx : local) __vcpu_clear(vmx);
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 1177)
    void kvm_cpu_vmxoff() {
        cpu().vmxoff();
        cpu().write_cr4(cpu().read_cr4() & ~X86_CR4_VMXE);
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 1183)
    public void hardware_disable(Object garbage) {
        vmclear_local_vcpus();
        kvm_cpu_vmxoff();
    }

    /** The allowed-1 half may clear optional bits; the allowed-0 half forces bits on; a missing minimum bit is -EIO. */
    @Origin(file = "arch/x86/kvm/vmx.c", line = 1189)
    int adjust_vmx_controls(int ctl_min, int ctl_opt, int msr, int[] result) {
        long v = rdmsrl(msr);
        int vmx_msr_low = (int) v, vmx_msr_high = (int) (v >>> 32);
        int ctl = ctl_min | ctl_opt;

        ctl &= vmx_msr_high;
        ctl |= vmx_msr_low;

        if ((ctl_min & ~ctl) != 0) return -EIO;

        result[0] = ctl;
        return 0;
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 1208)
    int setup_vmcs_config(VmcsConfig vmcs_conf) {
        int min, opt, min2, opt2;
        int[] _pin_based_exec_control = {0};
        int[] _cpu_based_exec_control = {0};
        int[] _cpu_based_2nd_exec_control = {0};
        int[] _vmexit_control = {0};
        int[] _vmentry_control = {0};

        min = PIN_BASED_EXT_INTR_MASK | PIN_BASED_NMI_EXITING;
        opt = PIN_BASED_VIRTUAL_NMIS;
        if (adjust_vmx_controls(min, opt, MSR_IA32_VMX_PINBASED_CTLS, _pin_based_exec_control) < 0) return -EIO;

        min = CPU_BASED_HLT_EXITING
                | CPU_BASED_CR8_LOAD_EXITING
                | CPU_BASED_CR8_STORE_EXITING
                | CPU_BASED_CR3_LOAD_EXITING
                | CPU_BASED_CR3_STORE_EXITING
                | CPU_BASED_USE_IO_BITMAPS
                | CPU_BASED_MOV_DR_EXITING
                | CPU_BASED_USE_TSC_OFFSETING
                | CPU_BASED_MWAIT_EXITING
                | CPU_BASED_MONITOR_EXITING
                | CPU_BASED_INVLPG_EXITING;
        opt = CPU_BASED_TPR_SHADOW | CPU_BASED_USE_MSR_BITMAPS | CPU_BASED_ACTIVATE_SECONDARY_CONTROLS;
        if (adjust_vmx_controls(min, opt, MSR_IA32_VMX_PROCBASED_CTLS, _cpu_based_exec_control) < 0) return -EIO;
        // with a TPR shadow, CR8 accesses need not exit
        if ((_cpu_based_exec_control[0] & CPU_BASED_TPR_SHADOW) != 0)
            _cpu_based_exec_control[0] &= ~CPU_BASED_CR8_LOAD_EXITING & ~CPU_BASED_CR8_STORE_EXITING;
        if ((_cpu_based_exec_control[0] & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) != 0) {
            min2 = 0;
            opt2 = SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES
                    | SECONDARY_EXEC_WBINVD_EXITING
                    | SECONDARY_EXEC_ENABLE_VPID
                    | SECONDARY_EXEC_ENABLE_EPT
                    | SECONDARY_EXEC_UNRESTRICTED_GUEST
                    | SECONDARY_EXEC_PAUSE_LOOP_EXITING;
            if (adjust_vmx_controls(min2, opt2, MSR_IA32_VMX_PROCBASED_CTLS2, _cpu_based_2nd_exec_control) < 0)
                return -EIO;
        }
        if ((_cpu_based_2nd_exec_control[0] & SECONDARY_EXEC_ENABLE_EPT) != 0) {
            // EPT translates guest-physical addresses itself: CR3 accesses and INVLPG may stay in the guest
            _cpu_based_exec_control[0] &= ~(CPU_BASED_CR3_LOAD_EXITING | CPU_BASED_CR3_STORE_EXITING
                    | CPU_BASED_INVLPG_EXITING);
            long cap = rdmsrl(MSR_IA32_VMX_EPT_VPID_CAP);
            vmx_capability.ept = (int) cap;
            vmx_capability.vpid = (int) (cap >>> 32);
        }

        min = 0;
        min |= VM_EXIT_HOST_ADDR_SPACE_SIZE;
        opt = VM_EXIT_SAVE_IA32_PAT | VM_EXIT_LOAD_IA32_PAT;
        if (adjust_vmx_controls(min, opt, MSR_IA32_VMX_EXIT_CTLS, _vmexit_control) < 0) return -EIO;

        min = 0;
        opt = VM_ENTRY_LOAD_IA32_PAT;
        if (adjust_vmx_controls(min, opt, MSR_IA32_VMX_ENTRY_CTLS, _vmentry_control) < 0) return -EIO;

        long basic = rdmsrl(MSR_IA32_VMX_BASIC);
        int vmx_msr_low = (int) basic, vmx_msr_high = (int) (basic >>> 32);

        // a VMCS never exceeds one page (SDM Appendix A.1)
        if ((vmx_msr_high & 0x1fff) > PAGE_SIZE) return -EIO;

        // bit 48 (32-bit physical addresses only) is always 0 on 64-bit processors
        if ((vmx_msr_high & (1 << 16)) != 0) return -EIO;

        // the VMCS must be write-back memory
        if (((vmx_msr_high >>> 18) & 15) != 6) return -EIO;

        vmcs_conf.size = vmx_msr_high & 0x1fff;
        vmcs_conf.order = get_order(vmcs_config.size);
        vmcs_conf.revision_id = vmx_msr_low;

        vmcs_conf.pin_based_exec_ctrl = _pin_based_exec_control[0];
        vmcs_conf.cpu_based_exec_ctrl = _cpu_based_exec_control[0];
        vmcs_conf.cpu_based_2nd_exec_ctrl = _cpu_based_2nd_exec_control[0];
        vmcs_conf.vmexit_ctrl = _vmexit_control[0];
        vmcs_conf.vmentry_ctrl = _vmentry_control[0];

        return 0;
    }

    /** get_order (asm-generic/getorder.h): the page order that holds {@code size} bytes. */
    private static int get_order(long size) {
        int order = 0;
        long pages = (size + PAGE_SIZE - 1) >>> PAGE_SHIFT;
        while ((1L << order) < pages) order++;
        return order;
    }

    /** NUMA placement has no meaning here, so cpu only names the processor the region is for. */
    @Origin(file = "arch/x86/kvm/vmx.c", line = 1320)
    HostMemory.Region alloc_vmcs_cpu(int cpu) {
        HostMemory.Region vmcs = mem().allocPages((long) PAGE_SIZE << vmcs_config.order);
        if (vmcs == null) return null;
        // allocPages hands out zeroed pages, which is the C's memset
        vmcs.buf.putInt(0, vmcs_config.revision_id);
        return vmcs;
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 1335)
    HostMemory.Region alloc_vmcs() {
        int cpu = platform.get_cpu();
        platform.put_cpu();
        return alloc_vmcs_cpu(cpu);
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 1340)
    void free_vmcs(HostMemory.Region vmcs) { mem().free(vmcs); }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 1345)
    void free_kvm_area() {
        for (int cpu = 0; cpu < platform.num_possible_cpus(); cpu++) {
            free_vmcs(vmxarea[cpu]);
            vmxarea[cpu] = null;
        }
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 1355)
    int alloc_kvm_area() {
        for (int cpu = 0; cpu < platform.num_possible_cpus(); cpu++) {
            HostMemory.Region vmcs = alloc_vmcs_cpu(cpu);
            if (vmcs == null) {
                free_kvm_area();
                return -ENOMEM;
            }
            vmxarea[cpu] = vmcs;
        }
        return 0;
    }

    /** boot_cpu_has(X86_FEATURE_NX): CPUID.80000001H:EDX bit 20 of the boot processor. */
    private boolean boot_cpu_has_nx() {
        int[] r = new int[4];
        platform.cpu(0).cpuid(0x80000001, 0, r);
        return (r[3] & (1 << 20)) != 0;
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 1373)
    public int hardware_setup() {
        if (setup_vmcs_config(vmcs_config) < 0) return -EIO;

        if (boot_cpu_has_nx()) x86.kvm_enable_efer_bits(EFER_NX);

        if (!cpu_has_vmx_vpid()) enable_vpid = 0;

        if (!cpu_has_vmx_ept()) {
            enable_ept = 0;
            enable_unrestricted_guest = 0;
        }

        if (!cpu_has_vmx_unrestricted_guest()) enable_unrestricted_guest = 0;

        if (!cpu_has_vmx_flexpriority()) flexpriority_enabled = 0;

        if (!cpu_has_vmx_tpr_shadow()) update_cr8_intercept_present = false;

        if (enable_ept != 0 && !cpu_has_vmx_ept_2m_page()) kvm_main.kvm_disable_largepages();

        if (!cpu_has_vmx_ple()) ple_gap = 0;

        return alloc_kvm_area();
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 1407)
    public void hardware_unsetup() { free_kvm_area(); }

    // ---- vmx.c:1412-1600: real mode through vm86, long mode ----

    @Origin(file = "arch/x86/kvm/vmx.c", line = 1412)
    void fix_pmode_dataseg(int seg, VcpuVmx.KvmSaveSegment save) {
        KvmVmxSegmentField sf = kvm_vmx_segment_fields[seg];

        if (vmcs_readl(sf.base) == save.base && (save.base & AR_S_MASK) != 0) {
            vmcs_write16(sf.selector, save.selector);
            vmcs_writel(sf.base, save.base);
            vmcs_write32(sf.limit, save.limit);
            vmcs_write32(sf.ar_bytes, save.ar);
        } else {
            int dpl = (vmcs_read16(sf.selector) & SELECTOR_RPL_MASK) << AR_DPL_SHIFT;
            vmcs_write32(sf.ar_bytes, 0x93 | dpl);
        }
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 1428)
    void enter_pmode(KvmVcpu vcpu) {
        VcpuVmx vmx = to_vmx(vcpu);

        vmx.emulation_required = true;
        vmx.rmode.vm86_active = 0;

        vmcs_writel(GUEST_TR_BASE, vmx.rmode.tr.base);
        vmcs_write32(GUEST_TR_LIMIT, vmx.rmode.tr.limit);
        vmcs_write32(GUEST_TR_AR_BYTES, vmx.rmode.tr.ar);

        long flags = vmcs_readl(GUEST_RFLAGS);
        flags &= RMODE_GUEST_OWNED_EFLAGS_BITS;
        flags |= vmx.rmode.save_rflags & ~RMODE_GUEST_OWNED_EFLAGS_BITS;
        vmcs_writel(GUEST_RFLAGS, flags);

        vmcs_writel(GUEST_CR4, (vmcs_readl(GUEST_CR4) & ~X86_CR4_VME) | (vmcs_readl(CR4_READ_SHADOW) & X86_CR4_VME));

        update_exception_bitmap(vcpu);

        if (emulate_invalid_guest_state != 0) return;

        fix_pmode_dataseg(VCPU_SREG_ES, vmx.rmode.es);
        fix_pmode_dataseg(VCPU_SREG_DS, vmx.rmode.ds);
        fix_pmode_dataseg(VCPU_SREG_GS, vmx.rmode.gs);
        fix_pmode_dataseg(VCPU_SREG_FS, vmx.rmode.fs);

        vmcs_write16(GUEST_SS_SELECTOR, 0);
        vmcs_write32(GUEST_SS_AR_BYTES, 0x93);

        vmcs_write16(GUEST_CS_SELECTOR, vmcs_read16(GUEST_CS_SELECTOR) & ~SELECTOR_RPL_MASK);
        vmcs_write32(GUEST_CS_AR_BYTES, 0x9b);
    }

    /** Without KVM_SET_TSS_ADDR the vm86 TSS takes the last three pages of slot 0. */
    @Origin(file = "arch/x86/kvm/vmx.c", line = 1466)
    static long rmode_tss_base(Kvm kvm) {
        if (kvm.arch.tss_addr == 0) {
            long base_gfn = kvm.memslots[0].base_gfn + kvm.memslots[0].npages - 3;
            return base_gfn << PAGE_SHIFT;
        }
        return kvm.arch.tss_addr & 0xffffffffL;
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 1476)
    void fix_rmode_seg(int seg, VcpuVmx.KvmSaveSegment save) {
        KvmVmxSegmentField sf = kvm_vmx_segment_fields[seg];

        save.selector = vmcs_read16(sf.selector);
        save.base = vmcs_readl(sf.base);
        save.limit = vmcs_read32(sf.limit);
        save.ar = vmcs_read32(sf.ar_bytes);
        vmcs_write16(sf.selector, (int) (save.base >>> 4));
        vmcs_write32(sf.base, (int) (save.base & 0xfffff));
        vmcs_write32(sf.limit, 0xffff);
        vmcs_write32(sf.ar_bytes, 0xf3);
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 1490)
    void enter_rmode(KvmVcpu vcpu) {
        VcpuVmx vmx = to_vmx(vcpu);

        if (enable_unrestricted_guest != 0) return;

        vmx.emulation_required = true;
        vmx.rmode.vm86_active = 1;

        vmx.rmode.tr.base = vmcs_readl(GUEST_TR_BASE);
        vmcs_writel(GUEST_TR_BASE, rmode_tss_base(vcpu.kvm));

        vmx.rmode.tr.limit = vmcs_read32(GUEST_TR_LIMIT);
        vmcs_write32(GUEST_TR_LIMIT, RMODE_TSS_SIZE - 1);

        vmx.rmode.tr.ar = vmcs_read32(GUEST_TR_AR_BYTES);
        vmcs_write32(GUEST_TR_AR_BYTES, 0x008b);

        long flags = vmcs_readl(GUEST_RFLAGS);
        vmx.rmode.save_rflags = flags;

        flags |= X86_EFLAGS_IOPL | X86_EFLAGS_VM;

        vmcs_writel(GUEST_RFLAGS, flags);
        vmcs_writel(GUEST_CR4, vmcs_readl(GUEST_CR4) | X86_CR4_VME);
        update_exception_bitmap(vcpu);

        if (emulate_invalid_guest_state == 0) {
            vmcs_write16(GUEST_SS_SELECTOR, (int) (vmcs_readl(GUEST_SS_BASE) >>> 4));
            vmcs_write32(GUEST_SS_LIMIT, 0xffff);
            vmcs_write32(GUEST_SS_AR_BYTES, 0xf3);

            vmcs_write32(GUEST_CS_AR_BYTES, 0xf3);
            vmcs_write32(GUEST_CS_LIMIT, 0xffff);
            if (vmcs_readl(GUEST_CS_BASE) == 0xffff0000L) vmcs_writel(GUEST_CS_BASE, 0xf0000);
            vmcs_write16(GUEST_CS_SELECTOR, (int) (vmcs_readl(GUEST_CS_BASE) >>> 4));

            fix_rmode_seg(VCPU_SREG_ES, vmx.rmode.es);
            fix_rmode_seg(VCPU_SREG_DS, vmx.rmode.ds);
            fix_rmode_seg(VCPU_SREG_GS, vmx.rmode.gs);
            fix_rmode_seg(VCPU_SREG_FS, vmx.rmode.fs);
        }

        // continue_rmode:
        mmu.kvm_mmu_reset_context(vcpu);
        init_rmode(vcpu.kvm);
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 1542)
    void vmx_set_efer(KvmVcpu vcpu, long efer) {
        VcpuVmx vmx = to_vmx(vcpu);
        VcpuVmx.SharedMsrEntry msr = find_msr_entry(vmx, MSR_EFER);

        if (msr == null) return;

        // KERNEL_GS_BASE switching depends on is_long_mode, so the host's goes back first
        vmx_load_host_state(to_vmx(vcpu));
        vcpu.arch.shadow_efer = efer;
        if ((efer & EFER_LMA) != 0) {
            vmcs_write32(VM_ENTRY_CONTROLS, vmcs_read32(VM_ENTRY_CONTROLS) | VM_ENTRY_IA32E_MODE);
            msr.data = efer;
        } else {
            vmcs_write32(VM_ENTRY_CONTROLS, vmcs_read32(VM_ENTRY_CONTROLS) & ~VM_ENTRY_IA32E_MODE);
            msr.data = efer & ~EFER_LME;
        }
        setup_msrs(vmx);
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 1575)
    void enter_lmode(KvmVcpu vcpu) {
        int guest_tr_ar = vmcs_read32(GUEST_TR_AR_BYTES);
        if ((guest_tr_ar & AR_TYPE_MASK) != AR_TYPE_BUSY_64_TSS) {
            System.err.println("enter_lmode: tss fixup for long mode.");
            vmcs_write32(GUEST_TR_AR_BYTES, (guest_tr_ar & ~AR_TYPE_MASK) | AR_TYPE_BUSY_64_TSS);
        }
        vcpu.arch.shadow_efer |= EFER_LMA;
        vmx_set_efer(vcpu, vcpu.arch.shadow_efer);
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 1591)
    void exit_lmode(KvmVcpu vcpu) {
        vcpu.arch.shadow_efer &= ~EFER_LMA;
        vmcs_write32(VM_ENTRY_CONTROLS, vmcs_read32(VM_ENTRY_CONTROLS) & ~VM_ENTRY_IA32E_MODE);
    }

    // ---- vmx.c:1602-1905: TLB, control registers, segments, descriptor tables ----

    @Origin(file = "arch/x86/kvm/vmx.c", line = 1602)
    void vmx_flush_tlb(KvmVcpu vcpu) {
        vpid_sync_vcpu_all(to_vmx(vcpu));
        if (enable_ept != 0) ept_sync_context(construct_eptp(vcpu.arch.mmu.root_hpa));
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 1609)
    void vmx_decache_cr4_guest_bits(KvmVcpu vcpu) {
        vcpu.arch.cr4 &= KVM_GUEST_CR4_MASK;
        vcpu.arch.cr4 |= vmcs_readl(GUEST_CR4) & ~KVM_GUEST_CR4_MASK;
    }

    /** With EPT the processor takes a PAE guest's PDPTEs from the VMCS, so the cached ones go there. */
    @Origin(file = "arch/x86/kvm/vmx.c", line = 1615)
    void ept_load_pdptrs(KvmVcpu vcpu) {
        if ((vcpu.arch.regs_dirty & (1 << VCPU_EXREG_PDPTR)) == 0) return;

        if (is_paging(vcpu) && is_pae(vcpu) && !is_long_mode(vcpu)) {
            vmcs_write64(GUEST_PDPTR0, vcpu.arch.pdptrs[0]);
            vmcs_write64(GUEST_PDPTR1, vcpu.arch.pdptrs[1]);
            vmcs_write64(GUEST_PDPTR2, vcpu.arch.pdptrs[2]);
            vmcs_write64(GUEST_PDPTR3, vcpu.arch.pdptrs[3]);
        }
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 1629)
    void ept_save_pdptrs(KvmVcpu vcpu) {
        if (is_paging(vcpu) && is_pae(vcpu) && !is_long_mode(vcpu)) {
            vcpu.arch.pdptrs[0] = vmcs_read64(GUEST_PDPTR0);
            vcpu.arch.pdptrs[1] = vmcs_read64(GUEST_PDPTR1);
            vcpu.arch.pdptrs[2] = vmcs_read64(GUEST_PDPTR2);
            vcpu.arch.pdptrs[3] = vmcs_read64(GUEST_PDPTR3);
        }

        vcpu.arch.regs_avail |= 1 << VCPU_EXREG_PDPTR;
        vcpu.arch.regs_dirty |= 1 << VCPU_EXREG_PDPTR;
    }

    /** hw_cr0 is the C's unsigned long * out-parameter. */
    @Origin(file = "arch/x86/kvm/vmx.c", line = 1646)
    void ept_update_paging_mode_cr0(long[] hw_cr0, long cr0, KvmVcpu vcpu) {
        if ((cr0 & X86_CR0_PG) == 0) {
            // paging off: the guest's CR3 is the identity map's, so its own must be trapped
            vmcs_write32(CPU_BASED_VM_EXEC_CONTROL, vmcs_read32(CPU_BASED_VM_EXEC_CONTROL)
                    | (CPU_BASED_CR3_LOAD_EXITING | CPU_BASED_CR3_STORE_EXITING));
            vcpu.arch.cr0 = cr0;
            vmx_set_cr4(vcpu, vcpu.arch.cr4);
        } else if (!is_paging(vcpu)) {
            // paging on: CR3 belongs to the guest again
            vmcs_write32(CPU_BASED_VM_EXEC_CONTROL, vmcs_read32(CPU_BASED_VM_EXEC_CONTROL)
                    & ~(CPU_BASED_CR3_LOAD_EXITING | CPU_BASED_CR3_STORE_EXITING));
            vcpu.arch.cr0 = cr0;
            vmx_set_cr4(vcpu, vcpu.arch.cr4);
        }

        if ((cr0 & X86_CR0_WP) == 0) hw_cr0[0] &= ~X86_CR0_WP;
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 1672)
    void ept_update_paging_mode_cr4(long[] hw_cr4, KvmVcpu vcpu) {
        if (!is_paging(vcpu)) {
            hw_cr4[0] &= ~X86_CR4_PAE;
            hw_cr4[0] |= X86_CR4_PSE;
        } else if ((vcpu.arch.cr4 & X86_CR4_PAE) == 0) {
            hw_cr4[0] &= ~X86_CR4_PAE;
        }
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 1682)
    void vmx_set_cr0(KvmVcpu vcpu, long cr0) {
        VcpuVmx vmx = to_vmx(vcpu);
        long[] hw_cr0 = new long[1];

        if (enable_unrestricted_guest != 0)
            hw_cr0[0] = (cr0 & ~KVM_GUEST_CR0_MASK_UNRESTRICTED_GUEST) | KVM_VM_CR0_ALWAYS_ON_UNRESTRICTED_GUEST;
        else
            hw_cr0[0] = (cr0 & ~KVM_GUEST_CR0_MASK) | KVM_VM_CR0_ALWAYS_ON;

        vmx_fpu_deactivate(vcpu);

        if (vmx.rmode.vm86_active != 0 && (cr0 & X86_CR0_PE) != 0) enter_pmode(vcpu);

        if (vmx.rmode.vm86_active == 0 && (cr0 & X86_CR0_PE) == 0) enter_rmode(vcpu);

        if ((vcpu.arch.shadow_efer & EFER_LME) != 0) {
            if (!is_paging(vcpu) && (cr0 & X86_CR0_PG) != 0) enter_lmode(vcpu);
            if (is_paging(vcpu) && (cr0 & X86_CR0_PG) == 0) exit_lmode(vcpu);
        }

        if (enable_ept != 0) ept_update_paging_mode_cr0(hw_cr0, cr0, vcpu);

        vmcs_writel(CR0_READ_SHADOW, cr0);
        vmcs_writel(GUEST_CR0, hw_cr0[0]);
        vcpu.arch.cr0 = cr0;

        if ((cr0 & X86_CR0_TS) == 0 || (cr0 & X86_CR0_PE) == 0) vmx_fpu_activate(vcpu);
    }

    /** Memory type and walk length are the defaults, not read from IA32_VMX_EPT_VPID_CAP (as in 2.6.33). */
    @Origin(file = "arch/x86/kvm/vmx.c", line = 1721)
    static long construct_eptp(long root_hpa) {
        long eptp = VMX_EPT_DEFAULT_MT | (long) VMX_EPT_DEFAULT_GAW << VMX_EPT_GAW_EPTP_SHIFT;
        eptp |= root_hpa & PAGE_MASK;
        return eptp;
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 1733)
    void vmx_set_cr3(KvmVcpu vcpu, long cr3) {
        long guest_cr3 = cr3;
        if (enable_ept != 0) {
            long eptp = construct_eptp(cr3);
            vmcs_write64(EPT_POINTER, eptp);
            // without guest paging the processor still walks CR3: it gets the identity map
            guest_cr3 = is_paging(vcpu) ? vcpu.arch.cr3 : vcpu.kvm.arch.ept_identity_map_addr;
            ept_load_pdptrs(vcpu);
        }

        vmx_flush_tlb(vcpu);
        vmcs_writel(GUEST_CR3, guest_cr3);
        if ((vcpu.arch.cr0 & X86_CR0_PE) != 0) vmx_fpu_deactivate(vcpu);
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 1753)
    void vmx_set_cr4(KvmVcpu vcpu, long cr4) {
        long[] hw_cr4 = { cr4 | (to_vmx(vcpu).rmode.vm86_active != 0 ? KVM_RMODE_VM_CR4_ALWAYS_ON : KVM_PMODE_VM_CR4_ALWAYS_ON) };

        vcpu.arch.cr4 = cr4;
        if (enable_ept != 0) ept_update_paging_mode_cr4(hw_cr4, vcpu);

        vmcs_writel(CR4_READ_SHADOW, cr4);
        vmcs_writel(GUEST_CR4, hw_cr4[0]);
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 1766)
    long vmx_get_segment_base(KvmVcpu vcpu, int seg) {
        KvmVmxSegmentField sf = kvm_vmx_segment_fields[seg];
        return vmcs_readl(sf.base);
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 1773)
    void vmx_get_segment(KvmVcpu vcpu, KvmSegment var, int seg) {
        KvmVmxSegmentField sf = kvm_vmx_segment_fields[seg];

        var.base = vmcs_readl(sf.base);
        var.limit = vmcs_read32(sf.limit);
        var.selector = vmcs_read16(sf.selector);
        int ar = vmcs_read32(sf.ar_bytes);
        if ((ar & AR_UNUSABLE_MASK) != 0 && emulate_invalid_guest_state == 0) ar = 0;
        var.type = ar & 15;
        var.s = (ar >> 4) & 1;
        var.dpl = (ar >> 5) & 3;
        var.present = (ar >> 7) & 1;
        var.avl = (ar >> 12) & 1;
        var.l = (ar >> 13) & 1;
        var.db = (ar >> 14) & 1;
        var.g = (ar >> 15) & 1;
        var.unusable = (ar >> 16) & 1;
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 1796)
    int vmx_get_cpl(KvmVcpu vcpu) {
        if ((vcpu.arch.cr0 & X86_CR0_PE) == 0) return 0;

        if ((vmx_get_rflags(vcpu) & X86_EFLAGS_VM) != 0) return 3;

        return vmcs_read16(GUEST_CS_SELECTOR) & 3;
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 1807)
    static int vmx_segment_access_rights(KvmSegment var) {
        int ar;

        if (var.unusable != 0) {
            ar = 1 << 16;
        } else {
            ar = var.type & 15;
            ar |= (var.s & 1) << 4;
            ar |= (var.dpl & 3) << 5;
            ar |= (var.present & 1) << 7;
            ar |= (var.avl & 1) << 12;
            ar |= (var.l & 1) << 13;
            ar |= (var.db & 1) << 14;
            ar |= (var.g & 1) << 15;
        }
        // all-zero access rights would read as usable: mark them unusable
        if (ar == 0) ar = AR_UNUSABLE_MASK;

        return ar;
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 1829)
    void vmx_set_segment(KvmVcpu vcpu, KvmSegment var, int seg) {
        VcpuVmx vmx = to_vmx(vcpu);
        KvmVmxSegmentField sf = kvm_vmx_segment_fields[seg];
        int ar;

        if (vmx.rmode.vm86_active != 0 && seg == VCPU_SREG_TR) {
            vmx.rmode.tr.selector = var.selector;
            vmx.rmode.tr.base = var.base;
            vmx.rmode.tr.limit = var.limit;
            vmx.rmode.tr.ar = vmx_segment_access_rights(var);
            return;
        }
        vmcs_writel(sf.base, var.base);
        vmcs_write32(sf.limit, var.limit);
        vmcs_write16(sf.selector, var.selector);
        if (vmx.rmode.vm86_active != 0 && var.s != 0) {
            // vm86 needs base == selector << 4, so the reset CS alias is moved below 1 MiB
            if (var.base == 0xffff0000L && var.selector == 0xf000) vmcs_writel(sf.base, 0xf0000);
            ar = 0xf3;
        } else {
            ar = vmx_segment_access_rights(var);
        }

        // unrestricted guests fail entry on a clear accessed bit, which old userspace left clear
        if (enable_unrestricted_guest != 0 && seg != VCPU_SREG_LDTR) ar |= 0x1;

        vmcs_write32(sf.ar_bytes, ar);
    }

    /** db and l are the C's two int * out-parameters, db_l[0] and db_l[1]. */
    @Origin(file = "arch/x86/kvm/vmx.c", line = 1873)
    void vmx_get_cs_db_l_bits(KvmVcpu vcpu, int[] db_l) {
        int ar = vmcs_read32(GUEST_CS_AR_BYTES);
        db_l[0] = (ar >> 14) & 1;
        db_l[1] = (ar >> 13) & 1;
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 1881)
    void vmx_get_idt(KvmVcpu vcpu, DescriptorTable dt) {
        dt.limit = vmcs_read32(GUEST_IDTR_LIMIT);
        dt.base = vmcs_readl(GUEST_IDTR_BASE);
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 1887)
    void vmx_set_idt(KvmVcpu vcpu, DescriptorTable dt) {
        vmcs_write32(GUEST_IDTR_LIMIT, dt.limit);
        vmcs_writel(GUEST_IDTR_BASE, dt.base);
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 1893)
    void vmx_get_gdt(KvmVcpu vcpu, DescriptorTable dt) {
        dt.limit = vmcs_read32(GUEST_GDTR_LIMIT);
        dt.base = vmcs_readl(GUEST_GDTR_BASE);
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 1899)
    void vmx_set_gdt(KvmVcpu vcpu, DescriptorTable dt) {
        vmcs_write32(GUEST_GDTR_LIMIT, dt.limit);
        vmcs_writel(GUEST_GDTR_BASE, dt.base);
    }

    // ---- vmx.c:1905-2093: the guest-state checks emulate_invalid_guest_state uses ----

    @Origin(file = "arch/x86/kvm/vmx.c", line = 1905)
    boolean rmode_segment_valid(KvmVcpu vcpu, int seg) {
        KvmSegment var = new KvmSegment();
        vmx_get_segment(vcpu, var, seg);
        int ar = vmx_segment_access_rights(var);

        if (var.base != ((long) var.selector << 4)) return false;
        if (var.limit != 0xffff) return false;
        if (ar != 0xf3) return false;

        return true;
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 1923)
    boolean code_segment_valid(KvmVcpu vcpu) {
        KvmSegment cs = new KvmSegment();
        vmx_get_segment(vcpu, cs, VCPU_SREG_CS);
        int cs_rpl = cs.selector & SELECTOR_RPL_MASK;

        if (cs.unusable != 0) return false;
        if ((~cs.type & (AR_TYPE_CODE_MASK | AR_TYPE_ACCESSES_MASK)) != 0) return false;
        if (cs.s == 0) return false;
        if ((cs.type & AR_TYPE_WRITEABLE_MASK) != 0) {
            if (cs.dpl > cs_rpl) return false;
        } else {
            if (cs.dpl != cs_rpl) return false;
        }
        if (cs.present == 0) return false;

        return true;
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 1951)
    boolean stack_segment_valid(KvmVcpu vcpu) {
        KvmSegment ss = new KvmSegment();
        vmx_get_segment(vcpu, ss, VCPU_SREG_SS);
        int ss_rpl = ss.selector & SELECTOR_RPL_MASK;

        if (ss.unusable != 0) return true;
        if (ss.type != 3 && ss.type != 7) return false;
        if (ss.s == 0) return false;
        if (ss.dpl != ss_rpl) return false;
        if (ss.present == 0) return false;

        return true;
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 1973)
    boolean data_segment_valid(KvmVcpu vcpu, int seg) {
        KvmSegment var = new KvmSegment();
        vmx_get_segment(vcpu, var, seg);
        int rpl = var.selector & SELECTOR_RPL_MASK;

        if (var.unusable != 0) return true;
        if (var.s == 0) return false;
        if (var.present == 0) return false;
        if ((~var.type & (AR_TYPE_CODE_MASK | AR_TYPE_WRITEABLE_MASK)) != 0) {
            if (var.dpl < rpl) return false;
        }

        return true;
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 1998)
    boolean tr_valid(KvmVcpu vcpu) {
        KvmSegment tr = new KvmSegment();
        vmx_get_segment(vcpu, tr, VCPU_SREG_TR);

        if (tr.unusable != 0) return false;
        if ((tr.selector & SELECTOR_TI_MASK) != 0) return false;
        if (tr.type != 3 && tr.type != 11) return false;
        if (tr.present == 0) return false;

        return true;
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 2016)
    boolean ldtr_valid(KvmVcpu vcpu) {
        KvmSegment ldtr = new KvmSegment();
        vmx_get_segment(vcpu, ldtr, VCPU_SREG_LDTR);

        if (ldtr.unusable != 0) return true;
        if ((ldtr.selector & SELECTOR_TI_MASK) != 0) return false;
        if (ldtr.type != 2) return false;
        if (ldtr.present == 0) return false;

        return true;
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 2034)
    boolean cs_ss_rpl_check(KvmVcpu vcpu) {
        KvmSegment cs = new KvmSegment(), ss = new KvmSegment();
        vmx_get_segment(vcpu, cs, VCPU_SREG_CS);
        vmx_get_segment(vcpu, ss, VCPU_SREG_SS);
        return (cs.selector & SELECTOR_RPL_MASK) == (ss.selector & SELECTOR_RPL_MASK);
    }

    /** A subset of the SDM's entry checks: enough to know when emulation may stop. */
    @Origin(file = "arch/x86/kvm/vmx.c", line = 2050)
    boolean guest_state_valid(KvmVcpu vcpu) {
        if ((vcpu.arch.cr0 & X86_CR0_PE) == 0) {
            if (!rmode_segment_valid(vcpu, VCPU_SREG_CS)) return false;
            if (!rmode_segment_valid(vcpu, VCPU_SREG_SS)) return false;
            if (!rmode_segment_valid(vcpu, VCPU_SREG_DS)) return false;
            if (!rmode_segment_valid(vcpu, VCPU_SREG_ES)) return false;
            if (!rmode_segment_valid(vcpu, VCPU_SREG_FS)) return false;
            if (!rmode_segment_valid(vcpu, VCPU_SREG_GS)) return false;
        } else {
            if (!cs_ss_rpl_check(vcpu)) return false;
            if (!code_segment_valid(vcpu)) return false;
            if (!stack_segment_valid(vcpu)) return false;
            if (!data_segment_valid(vcpu, VCPU_SREG_DS)) return false;
            if (!data_segment_valid(vcpu, VCPU_SREG_ES)) return false;
            if (!data_segment_valid(vcpu, VCPU_SREG_FS)) return false;
            if (!data_segment_valid(vcpu, VCPU_SREG_GS)) return false;
            if (!tr_valid(vcpu)) return false;
            if (!ldtr_valid(vcpu)) return false;
        }
        return true;
    }

    // ---- vmx.c:2095-2273: real-mode TSS, EPT identity map, private memslots, VPIDs, MSR bitmaps ----

    /** The vm86 TSS: an I/O bitmap that traps nothing, an interrupt redirection map, a final 0xff byte. */
    @Origin(file = "arch/x86/kvm/vmx.c", line = 2095)
    int init_rmode_tss(Kvm kvm) {
        long fn = rmode_tss_base(kvm) >> PAGE_SHIFT;
        byte[] data = new byte[2];
        int r;

        r = kvm_main.kvm_clear_guest_page(kvm, fn, 0, PAGE_SIZE);
        if (r < 0) return 0;
        int v = TSS_BASE_SIZE + TSS_REDIRECTION_SIZE;
        data[0] = (byte) v;
        data[1] = (byte) (v >> 8);
        r = kvm_main.kvm_write_guest_page(kvm, fn++, data, 0, TSS_IOPB_BASE_OFFSET, 2);
        if (r < 0) return 0;
        r = kvm_main.kvm_clear_guest_page(kvm, fn++, 0, PAGE_SIZE);
        if (r < 0) return 0;
        r = kvm_main.kvm_clear_guest_page(kvm, fn, 0, PAGE_SIZE);
        if (r < 0) return 0;
        data[0] = (byte) 0xff;
        r = kvm_main.kvm_write_guest_page(kvm, fn, data, 0, RMODE_TSS_SIZE - 2 * PAGE_SIZE - 1, 1);
        if (r < 0) return 0;

        return 1;
    }

    /** With EPT and paging off, the processor still translates through CR3: 4 MiB pages mapping 1:1. */
    @Origin(file = "arch/x86/kvm/vmx.c", line = 2128)
    int init_rmode_identity_map(Kvm kvm) {
        if (enable_ept == 0) return 1;
        if (kvm.arch.ept_identity_pagetable == null) {
            System.err.println("EPT: identity-mapping pagetable haven't been allocated!");
            return 0;
        }
        if (kvm.arch.ept_identity_pagetable_done) return 1;
        long identity_map_pfn = kvm.arch.ept_identity_map_addr >> PAGE_SHIFT;
        int r = kvm_main.kvm_clear_guest_page(kvm, identity_map_pfn, 0, PAGE_SIZE);
        if (r < 0) return 0;
        byte[] tmp = new byte[4];
        for (int i = 0; i < PT32_ENT_PER_PAGE; i++) {
            int pde = (i << 22) + (_PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_PSE);
            tmp[0] = (byte) pde;
            tmp[1] = (byte) (pde >> 8);
            tmp[2] = (byte) (pde >> 16);
            tmp[3] = (byte) (pde >> 24);
            r = kvm_main.kvm_write_guest_page(kvm, identity_map_pfn, tmp, 0, i * 4, 4);
            if (r < 0) return 0;
        }
        kvm.arch.ept_identity_pagetable_done = true;
        return 1;
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 2163)
    void seg_setup(int seg) {
        KvmVmxSegmentField sf = kvm_vmx_segment_fields[seg];
        int ar;

        vmcs_write16(sf.selector, 0);
        vmcs_writel(sf.base, 0);
        vmcs_write32(sf.limit, 0xffff);
        if (enable_unrestricted_guest != 0) {
            ar = 0x93;
            if (seg == VCPU_SREG_CS) ar |= 0x08;
        } else {
            ar = 0xf3;
        }
        vmcs_write32(sf.ar_bytes, ar);
    }

    /** gfn_to_page is not mirrored: the page is kept as its frame number (gfn_to_pfn), which page_to_phys needs. */
    @Origin(file = "arch/x86/kvm/vmx.c", line = 2181, status = Origin.Status.SIMPLIFIED,
            note = "kvm->arch.apic_access_page holds the pfn (gfn_to_page not mirrored)")
    int alloc_apic_access_page(Kvm kvm) {
        KvmUserspaceMemoryRegion kvm_userspace_mem = new KvmUserspaceMemoryRegion();
        int r = 0;

        kvm.slots_lock.writeLock().lock();
        try {
            if (kvm.arch.apic_access_page != null) return r;
            kvm_userspace_mem.slot = APIC_ACCESS_PAGE_PRIVATE_MEMSLOT;
            kvm_userspace_mem.flags = 0;
            kvm_userspace_mem.guest_phys_addr = 0xfee00000L;
            kvm_userspace_mem.memory_size = PAGE_SIZE;
            r = kvm_main.__kvm_set_memory_region(kvm, kvm_userspace_mem, 0);
            if (r != 0) return r;

            kvm.arch.apic_access_page = kvm_main.gfn_to_pfn(kvm, 0xfee00);
            return r;
        } finally {
            kvm.slots_lock.writeLock().unlock();
        }
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 2203, status = Origin.Status.SIMPLIFIED,
            note = "kvm->arch.ept_identity_pagetable holds the pfn (gfn_to_page not mirrored)")
    int alloc_identity_pagetable(Kvm kvm) {
        KvmUserspaceMemoryRegion kvm_userspace_mem = new KvmUserspaceMemoryRegion();
        int r = 0;

        kvm.slots_lock.writeLock().lock();
        try {
            if (kvm.arch.ept_identity_pagetable != null) return r;
            kvm_userspace_mem.slot = IDENTITY_PAGETABLE_PRIVATE_MEMSLOT;
            kvm_userspace_mem.flags = 0;
            kvm_userspace_mem.guest_phys_addr = kvm.arch.ept_identity_map_addr;
            kvm_userspace_mem.memory_size = PAGE_SIZE;
            r = kvm_main.__kvm_set_memory_region(kvm, kvm_userspace_mem, 0);
            if (r != 0) return r;

            kvm.arch.ept_identity_pagetable = kvm_main.gfn_to_pfn(kvm, kvm.arch.ept_identity_map_addr >> PAGE_SHIFT);
            return r;
        } finally {
            kvm.slots_lock.writeLock().unlock();
        }
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 2227)
    void allocate_vpid(VcpuVmx vmx) {
        vmx.vpid = 0;
        if (enable_vpid == 0) return;
        synchronized (vmx_vpid_lock) {
            int vpid = vmx_vpid_bitmap.nextClearBit(0);
            if (vpid < VMX_NR_VPIDS) {
                vmx.vpid = vpid;
                vmx_vpid_bitmap.set(vpid);
            }
        }
    }

    /** A clear bit lets the guest access the MSR without an exit (SDM 24.6.9 "MSR-Bitmap Address"). */
    @Origin(file = "arch/x86/kvm/vmx.c", line = 2243)
    void __vmx_disable_intercept_for_msr(HostMemory.Region msr_bitmap, int msr) {
        if (!cpu_has_vmx_msr_bitmap()) return;

        if (Integer.compareUnsigned(msr, 0x1fff) <= 0) {
            __clear_bit(msr, msr_bitmap, 0x000); // read-low
            __clear_bit(msr, msr_bitmap, 0x800); // write-low
        } else if (Integer.compareUnsigned(msr, 0xc0000000) >= 0 && Integer.compareUnsigned(msr, 0xc0001fff) <= 0) {
            msr &= 0x1fff;
            __clear_bit(msr, msr_bitmap, 0x400); // read-high
            __clear_bit(msr, msr_bitmap, 0xc00); // write-high
        }
    }

    /** __clear_bit(nr, page + byteOffset): bit nr of the bitmap that starts byteOffset into the page. */
    private static void __clear_bit(int nr, HostMemory.Region page, int byteOffset) {
        int i = byteOffset + (nr >>> 3);
        page.buf.put(i, (byte) (page.buf.get(i) & ~(1 << (nr & 7))));
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 2265)
    void vmx_disable_intercept_for_msr(int msr, boolean longmode_only) {
        if (!longmode_only) __vmx_disable_intercept_for_msr(vmx_msr_bitmap_legacy, msr);
        __vmx_disable_intercept_for_msr(vmx_msr_bitmap_longmode, msr);
    }

    // ---- vmx.c:2275-2435: the VMCS of a new vCPU ----

    /**
     * Fills the VMCS made current by vmx_vcpu_load, in the C's order. HOST_RIP gets
     * {@link #KVM_VMX_RETURN}: the C stores the address of the asm label vmx_vcpu_run resumes at.
     */
    @Origin(file = "arch/x86/kvm/vmx.c", line = 2275, status = Origin.Status.SIMPLIFIED,
            note = "host state is the Java host kernel's; HOST_RIP is a marker, Java code has no address")
    int vmx_vcpu_setup(VcpuVmx vmx) {
        long host_pat, tsc_this, tsc_base, a;
        DescriptorTable dt = new DescriptorTable();
        int exec_control;

        // I/O
        vmcs_write64(IO_BITMAP_A, __pa(vmx_io_bitmap_a));
        vmcs_write64(IO_BITMAP_B, __pa(vmx_io_bitmap_b));

        if (cpu_has_vmx_msr_bitmap()) vmcs_write64(MSR_BITMAP, __pa(vmx_msr_bitmap_legacy));

        vmcs_write64(VMCS_LINK_POINTER, -1L);

        // Control
        vmcs_write32(PIN_BASED_VM_EXEC_CONTROL, vmcs_config.pin_based_exec_ctrl);

        exec_control = vmcs_config.cpu_based_exec_ctrl;
        if (!vm_need_tpr_shadow(vmx.kvm)) {
            exec_control &= ~CPU_BASED_TPR_SHADOW;
            exec_control |= CPU_BASED_CR8_STORE_EXITING | CPU_BASED_CR8_LOAD_EXITING;
        }
        if (enable_ept == 0)
            exec_control |= CPU_BASED_CR3_STORE_EXITING | CPU_BASED_CR3_LOAD_EXITING | CPU_BASED_INVLPG_EXITING;
        vmcs_write32(CPU_BASED_VM_EXEC_CONTROL, exec_control);

        if (cpu_has_secondary_exec_ctrls()) {
            exec_control = vmcs_config.cpu_based_2nd_exec_ctrl;
            if (!vm_need_virtualize_apic_accesses(vmx.kvm)) exec_control &= ~SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES;
            if (vmx.vpid == 0) exec_control &= ~SECONDARY_EXEC_ENABLE_VPID;
            if (enable_ept == 0) {
                exec_control &= ~SECONDARY_EXEC_ENABLE_EPT;
                enable_unrestricted_guest = 0;
            }
            if (enable_unrestricted_guest == 0) exec_control &= ~SECONDARY_EXEC_UNRESTRICTED_GUEST;
            if (ple_gap == 0) exec_control &= ~SECONDARY_EXEC_PAUSE_LOOP_EXITING;
            vmcs_write32(SECONDARY_VM_EXEC_CONTROL, exec_control);
        }

        if (ple_gap != 0) {
            vmcs_write32(PLE_GAP, ple_gap);
            vmcs_write32(PLE_WINDOW, ple_window);
        }

        vmcs_write32(PAGE_FAULT_ERROR_CODE_MASK, bypass_guest_pf != 0 ? 1 : 0);
        vmcs_write32(PAGE_FAULT_ERROR_CODE_MATCH, bypass_guest_pf != 0 ? 1 : 0);
        vmcs_write32(CR3_TARGET_COUNT, 0);

        vmcs_writel(HOST_CR0, read_cr0());
        vmcs_writel(HOST_CR4, read_cr4());
        vmcs_writel(HOST_CR3, read_cr3());

        vmcs_write16(HOST_CS_SELECTOR, __KERNEL_CS);
        vmcs_write16(HOST_DS_SELECTOR, __KERNEL_DS);
        vmcs_write16(HOST_ES_SELECTOR, __KERNEL_DS);
        vmcs_write16(HOST_FS_SELECTOR, kvm_read_fs());
        vmcs_write16(HOST_GS_SELECTOR, kvm_read_gs());
        vmcs_write16(HOST_SS_SELECTOR, __KERNEL_DS);
        a = host_rdmsrl(MSR_FS_BASE);
        vmcs_writel(HOST_FS_BASE, a);
        a = host_rdmsrl(MSR_GS_BASE);
        vmcs_writel(HOST_GS_BASE, a);

        vmcs_write16(HOST_TR_SELECTOR, GDT_ENTRY_TSS * 8);

        kvm_get_idt(dt);
        vmcs_writel(HOST_IDTR_BASE, dt.base);

        vmcs_writel(HOST_RIP, KVM_VMX_RETURN);
        vmcs_write32(VM_EXIT_MSR_STORE_COUNT, 0);
        vmcs_write32(VM_EXIT_MSR_LOAD_COUNT, 0);
        vmcs_write32(VM_ENTRY_MSR_LOAD_COUNT, 0);

        int host_sysenter_cs = (int) host_rdmsrl(MSR_IA32_SYSENTER_CS);
        vmcs_write32(HOST_IA32_SYSENTER_CS, host_sysenter_cs);
        a = host_rdmsrl(MSR_IA32_SYSENTER_ESP);
        vmcs_writel(HOST_IA32_SYSENTER_ESP, a);
        a = host_rdmsrl(MSR_IA32_SYSENTER_EIP);
        vmcs_writel(HOST_IA32_SYSENTER_EIP, a);

        if ((vmcs_config.vmexit_ctrl & VM_EXIT_LOAD_IA32_PAT) != 0) {
            host_pat = host_rdmsrl(MSR_IA32_CR_PAT);
            vmcs_write64(HOST_IA32_PAT, host_pat);
        }
        if ((vmcs_config.vmentry_ctrl & VM_ENTRY_LOAD_IA32_PAT) != 0) {
            host_pat = host_rdmsrl(MSR_IA32_CR_PAT);
            // the guest starts with the host's PAT, and arch.pat mirrors the VMCS field
            vmcs_write64(GUEST_IA32_PAT, host_pat);
            vmx.arch.pat = (int) host_pat;
        }

        // only the MSRs this processor has go into the switched list (rdmsr_safe / wrmsr_safe)
        VmxCpu c = cpu();
        for (int i = 0; i < NR_VMX_MSR; ++i) {
            int index = vmx_msr_index[i];
            int j = vmx.nmsrs;
            long data;
            try {
                data = c.rdmsr(index);
            } catch (IllegalArgumentException gp) {
                continue;
            }
            try {
                c.wrmsr(index, data);
            } catch (IllegalArgumentException gp) {
                continue;
            }
            vmx.guest_msrs[j].index = i;
            vmx.guest_msrs[j].data = 0;
            vmx.guest_msrs[j].mask = -1L;
            ++vmx.nmsrs;
        }

        vmcs_write32(VM_EXIT_CONTROLS, vmcs_config.vmexit_ctrl);

        vmcs_write32(VM_ENTRY_CONTROLS, vmcs_config.vmentry_ctrl);

        vmcs_writel(CR0_GUEST_HOST_MASK, ~0L);
        vmcs_writel(CR4_GUEST_HOST_MASK, KVM_GUEST_CR4_MASK);

        tsc_base = vmx.kvm.arch.vm_init_tsc;
        tsc_this = rdtscll();
        if (Long.compareUnsigned(tsc_this, vmx.kvm.arch.vm_init_tsc) < 0) tsc_base = tsc_this;

        guest_write_tsc(0, tsc_base);

        return 0;
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 2427)
    int init_rmode(Kvm kvm) {
        if (init_rmode_tss(kvm) == 0) return 0;
        if (init_rmode_identity_map(kvm) == 0) return 0;
        return 1;
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 2436)
    int vmx_vcpu_reset(KvmVcpu vcpu) {
        VcpuVmx vmx = to_vmx(vcpu);
        long msr;
        int ret;

        vcpu.arch.regs_avail = ~((1 << VCPU_REGS_RIP) | (1 << VCPU_REGS_RSP));
        vcpu.kvm.slots_lock.readLock().lock();
        try {
            if (init_rmode(vmx.kvm) == 0) {
                ret = -ENOMEM;
                return ret;
            }

            vmx.rmode.vm86_active = 0;

            vmx.soft_vnmi_blocked = 0;

            vmx.arch.regs[VCPU_REGS_RDX] = get_rdx_init_val();
            x86.kvm_set_cr8(vmx, 0);
            msr = 0xfee00000L | MSR_IA32_APICBASE_ENABLE;
            if (kvm_vcpu_is_bsp(vmx)) msr |= MSR_IA32_APICBASE_BSP;
            x86.kvm_set_apic_base(vmx, msr);

            x86.fx_init(vmx);

            seg_setup(VCPU_SREG_CS);
            // vm86 wants CS.base == CS.selector << 4, so the reset CS is f000:0 based at 0xf0000
            if (kvm_vcpu_is_bsp(vmx)) {
                vmcs_write16(GUEST_CS_SELECTOR, 0xf000);
                vmcs_writel(GUEST_CS_BASE, 0x000f0000);
            } else {
                vmcs_write16(GUEST_CS_SELECTOR, vmx.arch.sipi_vector << 8);
                vmcs_writel(GUEST_CS_BASE, (long) vmx.arch.sipi_vector << 12);
            }

            seg_setup(VCPU_SREG_DS);
            seg_setup(VCPU_SREG_ES);
            seg_setup(VCPU_SREG_FS);
            seg_setup(VCPU_SREG_GS);
            seg_setup(VCPU_SREG_SS);

            vmcs_write16(GUEST_TR_SELECTOR, 0);
            vmcs_writel(GUEST_TR_BASE, 0);
            vmcs_write32(GUEST_TR_LIMIT, 0xffff);
            vmcs_write32(GUEST_TR_AR_BYTES, 0x008b);

            vmcs_write16(GUEST_LDTR_SELECTOR, 0);
            vmcs_writel(GUEST_LDTR_BASE, 0);
            vmcs_write32(GUEST_LDTR_LIMIT, 0xffff);
            vmcs_write32(GUEST_LDTR_AR_BYTES, 0x00082);

            vmcs_write32(GUEST_SYSENTER_CS, 0);
            vmcs_writel(GUEST_SYSENTER_ESP, 0);
            vmcs_writel(GUEST_SYSENTER_EIP, 0);

            vmcs_writel(GUEST_RFLAGS, 0x02);
            if (kvm_vcpu_is_bsp(vmx)) x86.kvm_rip_write(vcpu, 0xfff0);
            else x86.kvm_rip_write(vcpu, 0);
            x86.kvm_register_write(vcpu, VCPU_REGS_RSP, 0);

            vmcs_writel(GUEST_DR7, 0x400);

            vmcs_writel(GUEST_GDTR_BASE, 0);
            vmcs_write32(GUEST_GDTR_LIMIT, 0xffff);

            vmcs_writel(GUEST_IDTR_BASE, 0);
            vmcs_write32(GUEST_IDTR_LIMIT, 0xffff);

            vmcs_write32(GUEST_ACTIVITY_STATE, 0);
            vmcs_write32(GUEST_INTERRUPTIBILITY_INFO, 0);
            vmcs_write32(GUEST_PENDING_DBG_EXCEPTIONS, 0);

            vmcs_write64(GUEST_IA32_DEBUGCTL, 0);

            setup_msrs(vmx);

            vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, 0);

            if (cpu_has_vmx_tpr_shadow()) {
                vmcs_write64(VIRTUAL_APIC_PAGE_ADDR, 0);
                if (vm_need_tpr_shadow(vmx.kvm))
                    throw new UnsupportedOperationException("vmx.c: VIRTUAL_APIC_PAGE_ADDR needs the in-kernel local APIC (lapic.c), not yet mirrored");
                vmcs_write32(TPR_THRESHOLD, 0);
            }

            if (vm_need_virtualize_apic_accesses(vmx.kvm))
                vmcs_write64(APIC_ACCESS_ADDR, ((Long) vmx.kvm.arch.apic_access_page) << PAGE_SHIFT);

            if (vmx.vpid != 0) vmcs_write16(VIRTUAL_PROCESSOR_ID, vmx.vpid);

            vmx.arch.cr0 = X86_CR0_NW | X86_CR0_CD | X86_CR0_ET;
            vmx_set_cr0(vmx, vmx.arch.cr0); // into real mode
            vmx_set_cr4(vmx, 0);
            vmx_set_efer(vmx, 0);
            vmx_fpu_activate(vmx);
            update_exception_bitmap(vmx);

            vpid_sync_vcpu_all(vmx);

            ret = 0;

            // a reset guest starts in valid real-mode state: no emulation needed
            vmx.emulation_required = false;
            return ret;
        } finally {
            vcpu.kvm.slots_lock.readLock().unlock();
        }
    }

    // ---- vmx.c:2555-2700: event injection ----

    @Origin(file = "arch/x86/kvm/vmx.c", line = 2555)
    public void enable_irq_window(KvmVcpu vcpu) {
        int cpu_based_vm_exec_control = vmcs_read32(CPU_BASED_VM_EXEC_CONTROL);
        cpu_based_vm_exec_control |= CPU_BASED_VIRTUAL_INTR_PENDING;
        vmcs_write32(CPU_BASED_VM_EXEC_CONTROL, cpu_based_vm_exec_control);
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 2564)
    public void enable_nmi_window(KvmVcpu vcpu) {
        if (!cpu_has_virtual_nmis()) {
            enable_irq_window(vcpu);
            return;
        }
        int cpu_based_vm_exec_control = vmcs_read32(CPU_BASED_VM_EXEC_CONTROL);
        cpu_based_vm_exec_control |= CPU_BASED_VIRTUAL_NMI_PENDING;
        vmcs_write32(CPU_BASED_VM_EXEC_CONTROL, cpu_based_vm_exec_control);
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 2578)
    void vmx_inject_irq(KvmVcpu vcpu) {
        VcpuVmx vmx = to_vmx(vcpu);
        int intr;
        int irq = vcpu.arch.interrupt.nr;

        VmxTrace.trace_kvm_inj_virq(irq);

        ++vcpu.stat.irq_injections;
        if (vmx.rmode.vm86_active != 0) {
            vmx.rmode.irq.pending = true;
            vmx.rmode.irq.vector = irq;
            vmx.rmode.irq.rip = x86.kvm_rip_read(vcpu);
            if (vcpu.arch.interrupt.soft) vmx.rmode.irq.rip += vmx.arch.event_exit_inst_len;
            vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, irq | INTR_TYPE_SOFT_INTR | INTR_INFO_VALID_MASK);
            vmcs_write32(VM_ENTRY_INSTRUCTION_LEN, 1);
            x86.kvm_rip_write(vcpu, vmx.rmode.irq.rip - 1);
            return;
        }
        intr = irq | INTR_INFO_VALID_MASK;
        if (vcpu.arch.interrupt.soft) {
            intr |= INTR_TYPE_SOFT_INTR;
            vmcs_write32(VM_ENTRY_INSTRUCTION_LEN, vmx.arch.event_exit_inst_len);
        } else {
            intr |= INTR_TYPE_EXT_INTR;
        }
        vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, intr);
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 2610)
    void vmx_inject_nmi(KvmVcpu vcpu) {
        VcpuVmx vmx = to_vmx(vcpu);

        if (!cpu_has_virtual_nmis()) {
            // NMI blocking is tracked in software until the next open interrupt window
            vmx.soft_vnmi_blocked = 1;
            vmx.vnmi_blocked_time = 0;
        }

        ++vcpu.stat.nmi_injections;
        if (vmx.rmode.vm86_active != 0) {
            vmx.rmode.irq.pending = true;
            vmx.rmode.irq.vector = NMI_VECTOR;
            vmx.rmode.irq.rip = x86.kvm_rip_read(vcpu);
            vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, NMI_VECTOR | INTR_TYPE_SOFT_INTR | INTR_INFO_VALID_MASK);
            vmcs_write32(VM_ENTRY_INSTRUCTION_LEN, 1);
            x86.kvm_rip_write(vcpu, vmx.rmode.irq.rip - 1);
            return;
        }
        vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, INTR_TYPE_NMI_INTR | INTR_INFO_VALID_MASK | NMI_VECTOR);
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 2643)
    int vmx_nmi_allowed(KvmVcpu vcpu) {
        if (!cpu_has_virtual_nmis() && to_vmx(vcpu).soft_vnmi_blocked != 0) return 0;

        return (vmcs_read32(GUEST_INTERRUPTIBILITY_INFO)
                & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS | GUEST_INTR_STATE_NMI)) == 0 ? 1 : 0;
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 2653)
    boolean vmx_get_nmi_mask(KvmVcpu vcpu) {
        if (!cpu_has_virtual_nmis()) return to_vmx(vcpu).soft_vnmi_blocked != 0;
        return (vmcs_read32(GUEST_INTERRUPTIBILITY_INFO) & GUEST_INTR_STATE_NMI) != 0;
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 2662)
    void vmx_set_nmi_mask(KvmVcpu vcpu, boolean masked) {
        VcpuVmx vmx = to_vmx(vcpu);

        if (!cpu_has_virtual_nmis()) {
            if ((vmx.soft_vnmi_blocked != 0) != masked) {
                vmx.soft_vnmi_blocked = masked ? 1 : 0;
                vmx.vnmi_blocked_time = 0;
            }
        } else {
            if (masked) vmcs_set_bits(GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_NMI);
            else vmcs_clear_bits(GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_NMI);
        }
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 2681)
    int vmx_interrupt_allowed(KvmVcpu vcpu) {
        return (vmcs_readl(GUEST_RFLAGS) & X86_EFLAGS_IF) != 0
                && (vmcs_read32(GUEST_INTERRUPTIBILITY_INFO) & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS)) == 0
                ? 1 : 0;
    }

    /** The three pages of the vm86 TSS become a private memslot at the address userspace chose. */
    @Origin(file = "arch/x86/kvm/vmx.c", line = 2688)
    int vmx_set_tss_addr(Kvm kvm, int addr) {
        KvmUserspaceMemoryRegion tss_mem = new KvmUserspaceMemoryRegion();
        tss_mem.slot = TSS_PRIVATE_MEMSLOT;
        tss_mem.guest_phys_addr = addr & 0xffffffffL;
        tss_mem.memory_size = PAGE_SIZE * 3;
        tss_mem.flags = 0;

        int ret = kvm_main.kvm_set_memory_region(kvm, tss_mem, 0);
        if (ret != 0) return ret;
        kvm.arch.tss_addr = addr;
        return 0;
    }

    // ---- vmx.c:2705-3450: the exit handlers ----

    @Origin(file = "arch/x86/kvm/vmx.c", line = 2705)
    int handle_rmode_exception(KvmVcpu vcpu, int vec, int err_code) {
        // an address-size prefix faults with #GP/#SS(0) in vm86: emulate the instruction instead
        if ((vec == GP_VECTOR || vec == SS_VECTOR) && err_code == 0)
            if (x86.emulate_instruction(vcpu, 0, 0, 0) == EMULATE_DONE) return 1;
        // other exceptions that exist in real mode go back to the guest
        switch (vec) {
            case DB_VECTOR:
                if ((vcpu.guest_debug & (KVM_GUESTDBG_SINGLESTEP | KVM_GUESTDBG_USE_HW_BP)) != 0) return 0;
                x86.kvm_queue_exception(vcpu, vec);
                return 1;
            case BP_VECTOR:
                // userspace may reinject #BP, and needs the instruction length for it
                to_vmx(vcpu).arch.event_exit_inst_len = vmcs_read32(VM_EXIT_INSTRUCTION_LEN);
                if ((vcpu.guest_debug & KVM_GUESTDBG_USE_SW_BP) != 0) return 0;
                // fall through
            case DE_VECTOR:
            case OF_VECTOR:
            case BR_VECTOR:
            case UD_VECTOR:
            case DF_VECTOR:
            case SS_VECTOR:
            case GP_VECTOR:
            case MF_VECTOR:
                x86.kvm_queue_exception(vcpu, vec);
                return 1;
            default:
                break;
        }
        return 0;
    }

    /** The C hands the machine check to the host's do_machine_check; a Java host has no MCE handler. */
    @Origin(file = "arch/x86/kvm/vmx.c", line = 2758, status = Origin.Status.SIMPLIFIED,
            note = "no host machine-check handler to call")
    void kvm_machine_check() { }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 2770)
    int handle_machine_check(KvmVcpu vcpu) {
        // vmx_complete_interrupts already passed it to the host
        return 1;
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 2776)
    int handle_exception(KvmVcpu vcpu) {
        VcpuVmx vmx = to_vmx(vcpu);
        var kvm_run = vcpu.run;
        int intr_info, ex_no, error_code;
        long cr2, rip, dr6;
        int vect_info;
        int er;

        vect_info = vmx.idt_vectoring_info;
        intr_info = vmcs_read32(VM_EXIT_INTR_INFO);

        if (is_machine_check(intr_info)) return handle_machine_check(vcpu);

        if ((vect_info & VECTORING_INFO_VALID_MASK) != 0 && !is_page_fault(intr_info)) {
            // an exception while delivering an event: nothing here can sort that out
            vcpu.run.exit_reason(KVM_EXIT_INTERNAL_ERROR);
            vcpu.run.internal.suberror(KVM_INTERNAL_ERROR_SIMUL_EX);
            vcpu.run.internal.ndata(2);
            vcpu.run.internal.data(0, vect_info & 0xffffffffL);
            vcpu.run.internal.data(1, intr_info & 0xffffffffL);
            return 0;
        }

        if ((intr_info & INTR_INFO_INTR_TYPE_MASK) == INTR_TYPE_NMI_INTR) return 1; // handled in vmx_vcpu_run

        if (is_no_device(intr_info)) {
            vmx_fpu_activate(vcpu);
            return 1;
        }

        if (is_invalid_opcode(intr_info)) {
            er = x86.emulate_instruction(vcpu, 0, 0, EMULTYPE_TRAP_UD);
            if (er != EMULATE_DONE) x86.kvm_queue_exception(vcpu, UD_VECTOR);
            return 1;
        }

        error_code = 0;
        rip = x86.kvm_rip_read(vcpu);
        if ((intr_info & INTR_INFO_DELIVER_CODE_MASK) != 0) error_code = vmcs_read32(VM_EXIT_INTR_ERROR_CODE);
        if (is_page_fault(intr_info)) {
            // with EPT the guest's own page faults never exit
            if (enable_ept != 0) throw new IllegalStateException("BUG: #PF exit with EPT enabled");
            cr2 = vmcs_readl(EXIT_QUALIFICATION);
            KvmTrace.trace_kvm_page_fault(cr2, error_code);

            if (x86.kvm_event_needs_reinjection(vcpu)) mmu.kvm_mmu_unprotect_page_virt(vcpu, cr2);
            return mmu.kvm_mmu_page_fault(vcpu, cr2, error_code);
        }

        if (vmx.rmode.vm86_active != 0 && handle_rmode_exception(vcpu, intr_info & INTR_INFO_VECTOR_MASK, error_code) != 0) {
            // HLT faults in vm86; the emulator ran it and asks for the halt here
            if (vcpu.arch.halt_request != 0) {
                vcpu.arch.halt_request = 0;
                return x86.kvm_emulate_halt(vcpu);
            }
            return 1;
        }

        ex_no = intr_info & INTR_INFO_VECTOR_MASK;
        switch (ex_no) {
            case DB_VECTOR:
                dr6 = vmcs_readl(EXIT_QUALIFICATION);
                if ((vcpu.guest_debug & (KVM_GUESTDBG_SINGLESTEP | KVM_GUESTDBG_USE_HW_BP)) == 0) {
                    vcpu.arch.dr6 = dr6 | DR6_FIXED_1;
                    x86.kvm_queue_exception(vcpu, DB_VECTOR);
                    return 1;
                }
                kvm_run.debug.dr6(dr6 | DR6_FIXED_1);
                kvm_run.debug.dr7(vmcs_readl(GUEST_DR7));
                // fall through
            case BP_VECTOR:
                // userspace may reinject #BP while debugging, so it needs the length too
                vmx.arch.event_exit_inst_len = vmcs_read32(VM_EXIT_INSTRUCTION_LEN);
                kvm_run.exit_reason(KVM_EXIT_DEBUG);
                kvm_run.debug.pc(vmcs_readl(GUEST_CS_BASE) + rip);
                kvm_run.debug.exception(ex_no);
                break;
            default:
                kvm_run.exit_reason(KVM_EXIT_EXCEPTION);
                kvm_run.ex.exception(ex_no);
                kvm_run.ex.error_code(error_code);
                break;
        }
        return 0;
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 2876)
    int handle_external_interrupt(KvmVcpu vcpu) {
        ++vcpu.stat.irq_exits;
        return 1;
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 2882)
    int handle_triple_fault(KvmVcpu vcpu) {
        vcpu.run.exit_reason(KVM_EXIT_SHUTDOWN);
        return 0;
    }

    /** Exit qualification (SDM table 27-5): size-1 in bits 2:0, IN in bit 3, string in bit 4, port in 31:16. */
    @Origin(file = "arch/x86/kvm/vmx.c", line = 2888)
    int handle_io(KvmVcpu vcpu) {
        long exit_qualification;
        int size, in;
        boolean string;
        int port;

        ++vcpu.stat.io_exits;
        exit_qualification = vmcs_readl(EXIT_QUALIFICATION);
        string = (exit_qualification & 16) != 0;

        if (string) {
            if (x86.emulate_instruction(vcpu, 0, 0, 0) == EMULATE_DO_MMIO) return 0;
            return 1;
        }

        size = (int) (exit_qualification & 7) + 1;
        in = (exit_qualification & 8) != 0 ? 1 : 0;
        port = (int) ((exit_qualification >>> 16) & 0xffff);

        skip_emulated_instruction(vcpu);
        return x86.kvm_emulate_pio(vcpu, in, size, port);
    }

    /** VMCALL: 0f 01 c1. */
    @Origin(file = "arch/x86/kvm/vmx.c", line = 2913)
    void vmx_patch_hypercall(KvmVcpu vcpu, byte[] hypercall) {
        hypercall[0] = 0x0f;
        hypercall[1] = 0x01;
        hypercall[2] = (byte) 0xc1;
    }

    /** Exit qualification (SDM table 27-3): CR in 3:0, access type in 5:4, GPR in 11:8, LMSW data in 31:16. */
    @Origin(file = "arch/x86/kvm/vmx.c", line = 2923)
    int handle_cr(KvmVcpu vcpu) {
        long exit_qualification, val;
        int cr, reg;

        exit_qualification = vmcs_readl(EXIT_QUALIFICATION);
        cr = (int) (exit_qualification & 15);
        reg = (int) ((exit_qualification >> 8) & 15);
        switch ((int) ((exit_qualification >> 4) & 3)) {
            case 0: // mov to cr
                val = x86.kvm_register_read(vcpu, reg);
                VmxTrace.trace_kvm_cr_write(cr, val);
                switch (cr) {
                    case 0:
                        x86.kvm_set_cr0(vcpu, val);
                        skip_emulated_instruction(vcpu);
                        return 1;
                    case 3:
                        x86.kvm_set_cr3(vcpu, val);
                        skip_emulated_instruction(vcpu);
                        return 1;
                    case 4:
                        x86.kvm_set_cr4(vcpu, val);
                        skip_emulated_instruction(vcpu);
                        return 1;
                    case 8: {
                        int cr8_prev = (int) (x86.kvm_get_cr8(vcpu) & 0xff);
                        int cr8 = (int) (x86.kvm_register_read(vcpu, reg) & 0xff);
                        x86.kvm_set_cr8(vcpu, cr8);
                        skip_emulated_instruction(vcpu);
                        if (irqchip_in_kernel(vcpu.kvm)) return 1;
                        if (cr8_prev <= cr8) return 1;
                        // a lowered TPR may unmask an interrupt userspace holds
                        vcpu.run.exit_reason(KVM_EXIT_SET_TPR);
                        return 0;
                    }
                    default:
                        break;
                }
                break;
            case 2: // clts
                vmx_fpu_deactivate(vcpu);
                vcpu.arch.cr0 &= ~X86_CR0_TS;
                vmcs_writel(CR0_READ_SHADOW, vcpu.arch.cr0);
                vmx_fpu_activate(vcpu);
                skip_emulated_instruction(vcpu);
                return 1;
            case 1: // mov from cr
                switch (cr) {
                    case 3:
                        x86.kvm_register_write(vcpu, reg, vcpu.arch.cr3);
                        VmxTrace.trace_kvm_cr_read(cr, vcpu.arch.cr3);
                        skip_emulated_instruction(vcpu);
                        return 1;
                    case 8:
                        val = x86.kvm_get_cr8(vcpu);
                        x86.kvm_register_write(vcpu, reg, val);
                        VmxTrace.trace_kvm_cr_read(cr, val);
                        skip_emulated_instruction(vcpu);
                        return 1;
                    default:
                        break;
                }
                break;
            case 3: // lmsw
                x86.kvm_lmsw(vcpu, (exit_qualification >> LMSW_SOURCE_DATA_SHIFT) & 0x0f);
                skip_emulated_instruction(vcpu);
                return 1;
            default:
                break;
        }
        vcpu.run.exit_reason(0);
        System.err.printf("kvm: unhandled control register: op %d cr %d%n", (int) (exit_qualification >> 4) & 3, cr);
        return 0;
    }

    /** Exit qualification (SDM table 27-4): DR in 2:0, direction in bit 4, GPR in 11:8. */
    @Origin(file = "arch/x86/kvm/vmx.c", line = 2999)
    int handle_dr(KvmVcpu vcpu) {
        long exit_qualification, val;
        int dr, reg;

        if (!x86.kvm_require_cpl(vcpu, 0)) return 1;
        dr = (int) vmcs_readl(GUEST_DR7);
        if ((dr & DR7_GD) != 0) {
            // the exit wins over the #DB that DR7.GD asks for, so the #DB is made here
            if ((vcpu.guest_debug & KVM_GUESTDBG_USE_HW_BP) != 0) {
                vcpu.run.debug.dr6(vcpu.arch.dr6);
                vcpu.run.debug.dr7(dr);
                vcpu.run.debug.pc(vmcs_readl(GUEST_CS_BASE) + vmcs_readl(GUEST_RIP));
                vcpu.run.debug.exception(DB_VECTOR);
                vcpu.run.exit_reason(KVM_EXIT_DEBUG);
                return 0;
            } else {
                vcpu.arch.dr7 &= ~DR7_GD;
                vcpu.arch.dr6 |= DR6_BD;
                vmcs_writel(GUEST_DR7, vcpu.arch.dr7);
                x86.kvm_queue_exception(vcpu, DB_VECTOR);
                return 1;
            }
        }

        exit_qualification = vmcs_readl(EXIT_QUALIFICATION);
        dr = (int) (exit_qualification & DEBUG_REG_ACCESS_NUM);
        reg = DEBUG_REG_ACCESS_REG(exit_qualification);
        if ((exit_qualification & TYPE_MOV_FROM_DR) != 0) {
            switch (dr) {
                case 0: case 1: case 2: case 3:
                    val = vcpu.arch.db[dr];
                    break;
                case 6:
                    val = vcpu.arch.dr6;
                    break;
                case 7:
                    val = vcpu.arch.dr7;
                    break;
                default:
                    val = 0;
            }
            x86.kvm_register_write(vcpu, reg, val);
        } else {
            val = vcpu.arch.regs[reg];
            switch (dr) {
                case 0: case 1: case 2: case 3:
                    vcpu.arch.db[dr] = val;
                    if ((vcpu.guest_debug & KVM_GUESTDBG_USE_HW_BP) == 0) vcpu.arch.eff_db[dr] = val;
                    break;
                case 4: case 5:
                    if ((vcpu.arch.cr4 & X86_CR4_DE) != 0) x86.kvm_queue_exception(vcpu, UD_VECTOR);
                    break;
                case 6:
                    if ((val & 0xffffffff00000000L) != 0) {
                        x86.kvm_queue_exception(vcpu, GP_VECTOR);
                        break;
                    }
                    vcpu.arch.dr6 = (val & DR6_VOLATILE) | DR6_FIXED_1;
                    break;
                case 7:
                    if ((val & 0xffffffff00000000L) != 0) {
                        x86.kvm_queue_exception(vcpu, GP_VECTOR);
                        break;
                    }
                    vcpu.arch.dr7 = (val & DR7_VOLATILE) | DR7_FIXED_1;
                    if ((vcpu.guest_debug & KVM_GUESTDBG_USE_HW_BP) == 0) {
                        vmcs_writel(GUEST_DR7, vcpu.arch.dr7);
                        vcpu.arch.switch_db_regs = val & DR7_BP_EN_MASK;
                    }
                    break;
                default:
                    break;
            }
        }
        skip_emulated_instruction(vcpu);
        return 1;
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 3087)
    int handle_cpuid(KvmVcpu vcpu) {
        x86.kvm_emulate_cpuid(vcpu);
        return 1;
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 3093)
    int handle_rdmsr(KvmVcpu vcpu) {
        int ecx = (int) vcpu.arch.regs[VCPU_REGS_RCX];
        long[] data = new long[1];

        if (vmx_get_msr(vcpu, ecx, data) != 0) {
            x86.kvm_inject_gp(vcpu, 0);
            return 1;
        }

        VmxTrace.trace_kvm_msr_read(ecx, data[0]);

        vcpu.arch.regs[VCPU_REGS_RAX] = data[0] & 0xffffffffL;
        vcpu.arch.regs[VCPU_REGS_RDX] = (data[0] >>> 32) & 0xffffffffL;
        skip_emulated_instruction(vcpu);
        return 1;
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 3112)
    int handle_wrmsr(KvmVcpu vcpu) {
        int ecx = (int) vcpu.arch.regs[VCPU_REGS_RCX];
        long data = (vcpu.arch.regs[VCPU_REGS_RAX] & 0xffffffffL) | ((vcpu.arch.regs[VCPU_REGS_RDX] & 0xffffffffL) << 32);

        VmxTrace.trace_kvm_msr_write(ecx, data);

        if (vmx_set_msr(vcpu, ecx, data) != 0) {
            x86.kvm_inject_gp(vcpu, 0);
            return 1;
        }

        skip_emulated_instruction(vcpu);
        return 1;
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 3129)
    int handle_tpr_below_threshold(KvmVcpu vcpu) { return 1; }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 3134)
    int handle_interrupt_window(KvmVcpu vcpu) {
        int cpu_based_vm_exec_control = vmcs_read32(CPU_BASED_VM_EXEC_CONTROL);
        cpu_based_vm_exec_control &= ~CPU_BASED_VIRTUAL_INTR_PENDING;
        vmcs_write32(CPU_BASED_VM_EXEC_CONTROL, cpu_based_vm_exec_control);

        ++vcpu.stat.irq_window_exits;

        // userspace waiting to inject gets control back at once
        if (!irqchip_in_kernel(vcpu.kvm) && vcpu.run.request_interrupt_window() != 0 && !kvm_cpu_has_interrupt(vcpu)) {
            vcpu.run.exit_reason(KVM_EXIT_IRQ_WINDOW_OPEN);
            return 0;
        }
        return 1;
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 3158)
    int handle_halt(KvmVcpu vcpu) {
        skip_emulated_instruction(vcpu);
        return x86.kvm_emulate_halt(vcpu);
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 3164)
    int handle_vmcall(KvmVcpu vcpu) {
        skip_emulated_instruction(vcpu);
        x86.kvm_emulate_hypercall(vcpu);
        return 1;
    }

    /** The guest gets no nested VMX: every VMX instruction is #UD. */
    @Origin(file = "arch/x86/kvm/vmx.c", line = 3171)
    int handle_vmx_insn(KvmVcpu vcpu) {
        x86.kvm_queue_exception(vcpu, UD_VECTOR);
        return 1;
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 3177)
    int handle_invlpg(KvmVcpu vcpu) {
        long exit_qualification = vmcs_readl(EXIT_QUALIFICATION);
        mmu.kvm_mmu_invlpg(vcpu, exit_qualification);
        skip_emulated_instruction(vcpu);
        return 1;
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 3186)
    int handle_wbinvd(KvmVcpu vcpu) {
        skip_emulated_instruction(vcpu);
        // nothing to flush without pass-through devices
        return 1;
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 3193)
    int handle_apic_access(KvmVcpu vcpu) {
        long exit_qualification = vmcs_readl(EXIT_QUALIFICATION);
        long offset = exit_qualification & 0xfffL;

        int er = x86.emulate_instruction(vcpu, 0, 0, 0);

        if (er != EMULATE_DONE) {
            System.err.printf("Fail to handle apic access vmexit! Offset is 0x%x%n", offset);
            return -ENOEXEC;
        }
        return 1;
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 3213)
    int handle_task_switch(KvmVcpu vcpu) {
        VcpuVmx vmx = to_vmx(vcpu);
        long exit_qualification;
        int tss_selector;
        int reason, type;
        boolean idt_v;

        idt_v = (vmx.idt_vectoring_info & VECTORING_INFO_VALID_MASK) != 0;
        type = vmx.idt_vectoring_info & VECTORING_INFO_TYPE_MASK;

        exit_qualification = vmcs_readl(EXIT_QUALIFICATION);

        reason = (int) ((exit_qualification & 0xffffffffL) >>> 30);
        if (reason == TASK_SWITCH_GATE && idt_v) {
            // the event that went through the task gate is delivered by the switch: drop its requeue
            switch (type) {
                case INTR_TYPE_NMI_INTR:
                    vcpu.arch.nmi_injected = false;
                    if (cpu_has_virtual_nmis()) vmcs_set_bits(GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_NMI);
                    break;
                case INTR_TYPE_EXT_INTR:
                case INTR_TYPE_SOFT_INTR:
                    x86.kvm_clear_interrupt_queue(vcpu);
                    break;
                case INTR_TYPE_HARD_EXCEPTION:
                case INTR_TYPE_SOFT_EXCEPTION:
                    x86.kvm_clear_exception_queue(vcpu);
                    break;
                default:
                    break;
            }
        }
        tss_selector = (int) (exit_qualification & 0xffff);

        if (!idt_v || (type != INTR_TYPE_HARD_EXCEPTION && type != INTR_TYPE_EXT_INTR && type != INTR_TYPE_NMI_INTR))
            skip_emulated_instruction(vcpu);

        if (x86.kvm_task_switch(vcpu, tss_selector, reason) == 0) return 0;

        // the new task starts with its local breakpoints disabled
        vmcs_writel(GUEST_DR7, vmcs_readl(GUEST_DR7) & ~55L);

        return 1;
    }

    /** Exit qualification (SDM table 27-7): bit 6 GPA beyond the guest address width, bits 8:7 linear-address validity. */
    @Origin(file = "arch/x86/kvm/vmx.c", line = 3267)
    int handle_ept_violation(KvmVcpu vcpu) {
        long exit_qualification;
        long gpa;
        int gla_validity;

        exit_qualification = vmcs_readl(EXIT_QUALIFICATION);

        if ((exit_qualification & (1 << 6)) != 0) {
            System.err.println("EPT: GPA exceeds GAW!");
            return -EINVAL;
        }

        gla_validity = (int) ((exit_qualification >> 7) & 0x3);
        if (gla_validity != 0x3 && gla_validity != 0x1 && gla_validity != 0) {
            System.err.println("EPT: Handling EPT violation failed!");
            System.err.printf("EPT: GPA: 0x%x, GVA: 0x%x%n", vmcs_read64(GUEST_PHYSICAL_ADDRESS), vmcs_readl(GUEST_LINEAR_ADDRESS));
            System.err.printf("EPT: Exit qualification is 0x%x%n", exit_qualification);
            vcpu.run.exit_reason(KVM_EXIT_UNKNOWN);
            vcpu.run.hw.hardware_exit_reason(EXIT_REASON_EPT_VIOLATION);
            return 0;
        }

        gpa = vmcs_read64(GUEST_PHYSICAL_ADDRESS);
        KvmTrace.trace_kvm_page_fault(gpa, (int) exit_qualification);
        return mmu.kvm_mmu_page_fault(vcpu, gpa & PAGE_MASK, 0);
    }

    /** boot_cpu_data.x86_phys_bits: CPUID.80000008H:EAX[7:0] of the boot processor. */
    private int x86_phys_bits() {
        int[] r = new int[4];
        platform.cpu(0).cpuid(0x80000008, 0, r);
        int bits = r[0] & 0xff;
        return bits != 0 ? bits : 36;
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 3298)
    long ept_rsvd_mask(long spte, int level) {
        long mask = 0;

        for (int i = 51; i > x86_phys_bits(); i--) mask |= 1L << i;

        if (level > 2) {
            mask |= 0xf8; // bits 7:3
        } else if (level == 2) {
            if ((spte & (1L << 7)) != 0) mask |= 0x1ff000; // a 2 MiB page: bits 20:12
            else mask |= 0x78; // bits 6:3
        }
        return mask;
    }

    private static void WARN_ON(boolean cond, String what) {
        if (cond) System.err.println("WARNING: ept_misconfig_inspect_spte: " + what);
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 3321)
    void ept_misconfig_inspect_spte(KvmVcpu vcpu, long spte, int level) {
        System.err.printf("ept_misconfig_inspect_spte: spte 0x%x level %d%n", spte, level);

        WARN_ON((spte & 0x7) == 0x2, "write-only");
        WARN_ON((spte & 0x7) == 0x6, "write/execute");
        if (!cpu_has_vmx_ept_execute_only()) WARN_ON((spte & 0x7) == 0x4, "execute-only unsupported");

        if ((spte & 0x7) != 0) {
            long rsvd_bits = spte & ept_rsvd_mask(spte, level);
            if (rsvd_bits != 0) {
                System.err.printf("ept_misconfig_inspect_spte: rsvd_bits = 0x%x%n", rsvd_bits);
                WARN_ON(true, "reserved bits set");
            }
            if (level == 1 || (level == 2 && (spte & (1L << 7)) != 0)) {
                long ept_mem_type = (spte & 0x38) >> 3;
                if (ept_mem_type == 2 || ept_mem_type == 3 || ept_mem_type == 7) {
                    System.err.printf("ept_misconfig_inspect_spte: ept_mem_type=0x%x%n", ept_mem_type);
                    WARN_ON(true, "bad memory type");
                }
            }
        }
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 3359)
    int handle_ept_misconfig(KvmVcpu vcpu) {
        long[] sptes = new long[4];
        int nr_sptes;
        long gpa;

        gpa = vmcs_read64(GUEST_PHYSICAL_ADDRESS);

        System.err.println("EPT: Misconfiguration.");
        System.err.printf("EPT: GPA: 0x%x%n", gpa);

        nr_sptes = mmu.kvm_mmu_get_spte_hierarchy(vcpu, gpa, sptes);

        for (int i = PT64_ROOT_LEVEL; i > PT64_ROOT_LEVEL - nr_sptes; --i)
            ept_misconfig_inspect_spte(vcpu, sptes[i - 1], i);

        vcpu.run.exit_reason(KVM_EXIT_UNKNOWN);
        vcpu.run.hw.hardware_exit_reason(EXIT_REASON_EPT_MISCONFIG);

        return 0;
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 3381)
    int handle_nmi_window(KvmVcpu vcpu) {
        int cpu_based_vm_exec_control = vmcs_read32(CPU_BASED_VM_EXEC_CONTROL);
        cpu_based_vm_exec_control &= ~CPU_BASED_VIRTUAL_NMI_PENDING;
        vmcs_write32(CPU_BASED_VM_EXEC_CONTROL, cpu_based_vm_exec_control);
        ++vcpu.stat.nmi_window_exits;

        return 1;
    }

    /** need_resched/schedule become Thread.yield; signal_pending is the thread's pending signal. */
    @Origin(file = "arch/x86/kvm/vmx.c", line = 3394)
    int handle_invalid_guest_state(KvmVcpu vcpu) {
        VcpuVmx vmx = to_vmx(vcpu);
        int err;
        int ret = 1;

        while (!guest_state_valid(vcpu)) {
            err = x86.emulate_instruction(vcpu, 0, 0, 0);

            if (err == EMULATE_DO_MMIO) return 0;

            if (err != EMULATE_DONE) {
                x86.kvm_report_emulation_failure(vcpu, "emulation failure");
                vcpu.run.exit_reason(KVM_EXIT_INTERNAL_ERROR);
                vcpu.run.internal.suberror(KVM_INTERNAL_ERROR_EMULATION);
                vcpu.run.internal.ndata(0);
                return 0;
            }

            if (Kernel.signal_pending()) return ret;
            Thread.yield();
        }

        vmx.emulation_required = false;
        return ret;
    }

    /** Pause-loop exiting: the vCPU spins on a lock, so let another run. */
    @Origin(file = "arch/x86/kvm/vmx.c", line = 3432)
    int handle_pause(KvmVcpu vcpu) {
        skip_emulated_instruction(vcpu);
        kvm_main.kvm_vcpu_on_spin(vcpu);
        return 1;
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 3440)
    int handle_invalid_op(KvmVcpu vcpu) {
        x86.kvm_queue_exception(vcpu, UD_VECTOR);
        return 1;
    }

    // ---- vmx.c:3451-3835: dispatch, completion of events, the VM entry itself ----

    /** kvm_vmx_exit_handlers[] (vmx.c:3451-3485), slot by slot in the C's order. */
    private void init_kvm_vmx_exit_handlers() {
        kvm_vmx_exit_handlers[EXIT_REASON_EXCEPTION_NMI] = this::handle_exception;
        kvm_vmx_exit_handlers[EXIT_REASON_EXTERNAL_INTERRUPT] = this::handle_external_interrupt;
        kvm_vmx_exit_handlers[EXIT_REASON_TRIPLE_FAULT] = this::handle_triple_fault;
        kvm_vmx_exit_handlers[EXIT_REASON_NMI_WINDOW] = this::handle_nmi_window;
        kvm_vmx_exit_handlers[EXIT_REASON_IO_INSTRUCTION] = this::handle_io;
        kvm_vmx_exit_handlers[EXIT_REASON_CR_ACCESS] = this::handle_cr;
        kvm_vmx_exit_handlers[EXIT_REASON_DR_ACCESS] = this::handle_dr;
        kvm_vmx_exit_handlers[EXIT_REASON_CPUID] = this::handle_cpuid;
        kvm_vmx_exit_handlers[EXIT_REASON_MSR_READ] = this::handle_rdmsr;
        kvm_vmx_exit_handlers[EXIT_REASON_MSR_WRITE] = this::handle_wrmsr;
        kvm_vmx_exit_handlers[EXIT_REASON_PENDING_INTERRUPT] = this::handle_interrupt_window;
        kvm_vmx_exit_handlers[EXIT_REASON_HLT] = this::handle_halt;
        kvm_vmx_exit_handlers[EXIT_REASON_INVLPG] = this::handle_invlpg;
        kvm_vmx_exit_handlers[EXIT_REASON_VMCALL] = this::handle_vmcall;
        kvm_vmx_exit_handlers[EXIT_REASON_VMCLEAR] = this::handle_vmx_insn;
        kvm_vmx_exit_handlers[EXIT_REASON_VMLAUNCH] = this::handle_vmx_insn;
        kvm_vmx_exit_handlers[EXIT_REASON_VMPTRLD] = this::handle_vmx_insn;
        kvm_vmx_exit_handlers[EXIT_REASON_VMPTRST] = this::handle_vmx_insn;
        kvm_vmx_exit_handlers[EXIT_REASON_VMREAD] = this::handle_vmx_insn;
        kvm_vmx_exit_handlers[EXIT_REASON_VMRESUME] = this::handle_vmx_insn;
        kvm_vmx_exit_handlers[EXIT_REASON_VMWRITE] = this::handle_vmx_insn;
        kvm_vmx_exit_handlers[EXIT_REASON_VMOFF] = this::handle_vmx_insn;
        kvm_vmx_exit_handlers[EXIT_REASON_VMON] = this::handle_vmx_insn;
        kvm_vmx_exit_handlers[EXIT_REASON_TPR_BELOW_THRESHOLD] = this::handle_tpr_below_threshold;
        kvm_vmx_exit_handlers[EXIT_REASON_APIC_ACCESS] = this::handle_apic_access;
        kvm_vmx_exit_handlers[EXIT_REASON_WBINVD] = this::handle_wbinvd;
        kvm_vmx_exit_handlers[EXIT_REASON_TASK_SWITCH] = this::handle_task_switch;
        kvm_vmx_exit_handlers[EXIT_REASON_MCE_DURING_VMENTRY] = this::handle_machine_check;
        kvm_vmx_exit_handlers[EXIT_REASON_EPT_VIOLATION] = this::handle_ept_violation;
        kvm_vmx_exit_handlers[EXIT_REASON_EPT_MISCONFIG] = this::handle_ept_misconfig;
        kvm_vmx_exit_handlers[EXIT_REASON_PAUSE_INSTRUCTION] = this::handle_pause;
        kvm_vmx_exit_handlers[EXIT_REASON_MWAIT_INSTRUCTION] = this::handle_invalid_op;
        kvm_vmx_exit_handlers[EXIT_REASON_MONITOR_INSTRUCTION] = this::handle_invalid_op;
    }

    /** Returns 1 to re-enter the guest, 0 with kvm_run filled in for userspace, or a negative errno. */
    @Origin(file = "arch/x86/kvm/vmx.c", line = 3494)
    int vmx_handle_exit(KvmVcpu vcpu) {
        VcpuVmx vmx = to_vmx(vcpu);
        int exit_reason = vmx.exit_reason;
        int vectoring_info = vmx.idt_vectoring_info;

        KvmTrace.trace_kvm_exit(exit_reason, exit_reason_str(exit_reason), x86.kvm_rip_read(vcpu));

        // invalid guest state: emulate until it is valid again
        if (vmx.emulation_required && emulate_invalid_guest_state != 0) return handle_invalid_guest_state(vcpu);

        // with EPT, guest CR3 writes do not exit once paging is on: pick up the current value
        if (enable_ept != 0 && is_paging(vcpu)) vcpu.arch.cr3 = vmcs_readl(GUEST_CR3);

        if (vmx.fail != 0) {
            vcpu.run.exit_reason(KVM_EXIT_FAIL_ENTRY);
            vcpu.run.fail_entry.hardware_entry_failure_reason(vmcs_read32(VM_INSTRUCTION_ERROR) & 0xffffffffL);
            return 0;
        }

        if ((vectoring_info & VECTORING_INFO_VALID_MASK) != 0
                && (exit_reason != EXIT_REASON_EXCEPTION_NMI && exit_reason != EXIT_REASON_EPT_VIOLATION
                && exit_reason != EXIT_REASON_TASK_SWITCH))
            System.err.printf("vmx_handle_exit: unexpected, valid vectoring info (0x%x) and exit reason is 0x%x%n",
                    vectoring_info, exit_reason);

        if (!cpu_has_virtual_nmis() && vmx.soft_vnmi_blocked != 0) {
            if (vmx_interrupt_allowed(vcpu) != 0) {
                vmx.soft_vnmi_blocked = 0;
            } else if (vmx.vnmi_blocked_time > 1000000000L && vcpu.arch.nmi_pending) {
                // no way to see the end of the NMI-blocked window with IRQs off: give up after 1 s
                System.err.printf("vmx_handle_exit: Breaking out of NMI-blocked state on VCPU %d after 1 s timeout%n",
                        vcpu.vcpu_id);
                vmx.soft_vnmi_blocked = 0;
            }
        }

        if (Integer.compareUnsigned(exit_reason, kvm_vmx_max_exit_handlers) < 0 && kvm_vmx_exit_handlers[exit_reason] != null)
            return kvm_vmx_exit_handlers[exit_reason].handle(vcpu);
        else {
            vcpu.run.exit_reason(KVM_EXIT_UNKNOWN);
            vcpu.run.hw.hardware_exit_reason(exit_reason & 0xffffffffL);
        }
        return 0;
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 3554)
    public void update_cr8_intercept(KvmVcpu vcpu, int tpr, int irr) {
        if (irr == -1 || tpr < irr) {
            vmcs_write32(TPR_THRESHOLD, 0);
            return;
        }
        vmcs_write32(TPR_THRESHOLD, irr);
    }

    /** The host side of an NMI exit (the C's "int $2") has no Java counterpart; the rest is as the C. */
    @Origin(file = "arch/x86/kvm/vmx.c", line = 3564, status = Origin.Status.SIMPLIFIED,
            note = "no host NMI handler to invoke for an NMI exit")
    void vmx_complete_interrupts(VcpuVmx vmx) {
        int exit_intr_info;
        int idt_vectoring_info = vmx.idt_vectoring_info;
        boolean unblock_nmi;
        int vector;
        int type;
        boolean idtv_info_valid;

        exit_intr_info = vmcs_read32(VM_EXIT_INTR_INFO);

        vmx.exit_reason = vmcs_read32(VM_EXIT_REASON);

        // machine checks go to the host before anything else runs
        if (vmx.exit_reason == EXIT_REASON_MCE_DURING_VMENTRY
                || (vmx.exit_reason == EXIT_REASON_EXCEPTION_NMI && is_machine_check(exit_intr_info)))
            kvm_machine_check();

        // an NMI that caused the exit belongs to the host; the C raises it with int $2 here

        idtv_info_valid = (idt_vectoring_info & VECTORING_INFO_VALID_MASK) != 0;

        if (cpu_has_virtual_nmis()) {
            unblock_nmi = (exit_intr_info & INTR_INFO_UNBLOCK_NMI) != 0;
            vector = exit_intr_info & INTR_INFO_VECTOR_MASK;
            // a faulting IRET unblocked NMIs; re-block them before re-entry (SDM 27.7.1.2)
            if ((exit_intr_info & INTR_INFO_VALID_MASK) != 0 && unblock_nmi && vector != DF_VECTOR && !idtv_info_valid)
                vmcs_set_bits(GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_NMI);
        } else if (vmx.soft_vnmi_blocked != 0) {
            vmx.vnmi_blocked_time += System.nanoTime() - vmx.entry_time;
        }

        vmx.arch.nmi_injected = false;
        x86.kvm_clear_exception_queue(vmx);
        x86.kvm_clear_interrupt_queue(vmx);

        if (!idtv_info_valid) return;

        // an event was being delivered when the exit came: queue it again
        vector = idt_vectoring_info & VECTORING_INFO_VECTOR_MASK;
        type = idt_vectoring_info & VECTORING_INFO_TYPE_MASK;

        switch (type) {
            case INTR_TYPE_NMI_INTR:
                vmx.arch.nmi_injected = true;
                // NMI delivery faulted: NMIs are not blocked yet (SDM 27.7.1.2)
                vmcs_clear_bits(GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_NMI);
                break;
            case INTR_TYPE_SOFT_EXCEPTION:
                vmx.arch.event_exit_inst_len = vmcs_read32(VM_EXIT_INSTRUCTION_LEN);
                // fall through
            case INTR_TYPE_HARD_EXCEPTION:
                if ((idt_vectoring_info & VECTORING_INFO_DELIVER_CODE_MASK) != 0) {
                    int err = vmcs_read32(IDT_VECTORING_ERROR_CODE);
                    x86.kvm_queue_exception_e(vmx, vector, err);
                } else {
                    x86.kvm_queue_exception(vmx, vector);
                }
                break;
            case INTR_TYPE_SOFT_INTR:
                vmx.arch.event_exit_inst_len = vmcs_read32(VM_EXIT_INSTRUCTION_LEN);
                // fall through
            case INTR_TYPE_EXT_INTR:
                x86.kvm_queue_interrupt(vmx, vector, type == INTR_TYPE_SOFT_INTR);
                break;
            default:
                break;
        }
    }

    /** An interrupt injected in vm86 that faulted on the TSS redirection map leaves no IDT-vectoring info. */
    @Origin(file = "arch/x86/kvm/vmx.c", line = 3662)
    void fixup_rmode_irq(VcpuVmx vmx) {
        vmx.rmode.irq.pending = false;
        if (x86.kvm_rip_read(vmx) + 1 != vmx.rmode.irq.rip) return;
        x86.kvm_rip_write(vmx, vmx.rmode.irq.rip);
        if ((vmx.idt_vectoring_info & VECTORING_INFO_VALID_MASK) != 0) {
            vmx.idt_vectoring_info &= ~VECTORING_INFO_TYPE_MASK;
            vmx.idt_vectoring_info |= INTR_TYPE_EXT_INTR;
            return;
        }
        vmx.idt_vectoring_info = VECTORING_INFO_VALID_MASK | INTR_TYPE_EXT_INTR | vmx.rmode.irq.vector;
    }

    /**
     * The C's inline asm, step by step: HOST_RSP if it moved, CR2 if it differs, the guest GPRs into the
     * processor, VMLAUNCH or VMRESUME by the launched flag, then the GPRs and CR2 back and fail from the
     * flags (CF or ZF set). {@link VmxCpu#regs()} is the register file the asm loads and saves.
     */
    @Origin(file = "arch/x86/kvm/vmx.c", line = 3687, status = Origin.Status.SIMPLIFIED,
            note = "no host DS/ES to reload")
    void vmx_vcpu_run(KvmVcpu vcpu) {
        VcpuVmx vmx = to_vmx(vcpu);

        // the guest's own run time bounds a software-tracked NMI window
        if (!cpu_has_virtual_nmis() && vmx.soft_vnmi_blocked != 0) vmx.entry_time = System.nanoTime();

        // invalid guest state: do not enter; vmx_handle_exit emulates instead
        if (vmx.emulation_required && emulate_invalid_guest_state != 0) return;

        if ((vcpu.arch.regs_dirty & (1 << VCPU_REGS_RSP)) != 0) vmcs_writel(GUEST_RSP, vcpu.arch.regs[VCPU_REGS_RSP]);
        if ((vcpu.arch.regs_dirty & (1 << VCPU_REGS_RIP)) != 0) vmcs_writel(GUEST_RIP, vcpu.arch.regs[VCPU_REGS_RIP]);

        // single-stepping over STI / MOV SS: entry would demand a pending #DB, so drop the shadow
        if ((vcpu.guest_debug & KVM_GUESTDBG_SINGLESTEP) != 0) vmx_set_interrupt_shadow(vcpu, 0);

        // loading the guest FPU may have cleared host CR0.TS
        vmcs_writel(HOST_CR0, read_cr0());

        // DR6 is not in the VMCS: the guest's goes into the processor while its breakpoints are live
        if (vcpu.arch.switch_db_regs != 0) cpu().set_debugreg(vcpu.arch.dr6, 6);

        // ---- the asm block ----
        VmxCpu c = cpu();
        if (vmx.host_rsp != KVM_VMX_HOST_RSP) {
            vmx.host_rsp = KVM_VMX_HOST_RSP;
            vmcs_writel(HOST_RSP, KVM_VMX_HOST_RSP);
        }
        if (c.cr2() != vcpu.arch.cr2) c.set_cr2(vcpu.arch.cr2);
        long[] r = c.regs();
        for (int i = VCPU_REGS_RAX; i <= VCPU_REGS_R15; i++)
            if (i != VCPU_REGS_RSP) r[i] = vcpu.arch.regs[i];

        int status = vmx.launched == 0 ? c.vmlaunch() : c.vmresume();

        // .Lkvm_vmx_return
        for (int i = VCPU_REGS_RAX; i <= VCPU_REGS_R15; i++)
            if (i != VCPU_REGS_RSP) vcpu.arch.regs[i] = r[i];
        vcpu.arch.cr2 = c.cr2();
        vmx.fail = status != VmxCpu.VM_SUCCEED ? 1 : 0;
        // ---- end of the asm block ----

        vcpu.arch.regs_avail = ~((1 << VCPU_REGS_RIP) | (1 << VCPU_REGS_RSP) | (1 << VCPU_EXREG_PDPTR));
        vcpu.arch.regs_dirty = 0;

        if (vcpu.arch.switch_db_regs != 0) vcpu.arch.dr6 = cpu().get_debugreg(6);

        vmx.idt_vectoring_info = vmcs_read32(IDT_VECTORING_INFO_FIELD);
        if (vmx.rmode.irq.pending) fixup_rmode_irq(vmx);

        vmx.launched = 1;

        vmx_complete_interrupts(vmx);
    }

    // ---- vmx.c:3837-3995: vCPU lifetime, compatibility, EPT parameters ----

    @Origin(file = "arch/x86/kvm/vmx.c", line = 3837)
    void vmx_free_vmcs(KvmVcpu vcpu) {
        VcpuVmx vmx = to_vmx(vcpu);
        if (vmx.vmcs != null) {
            vcpu_clear(vmx);
            free_vmcs(vmx.vmcs);
            vmx.vmcs = null;
        }
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 3848)
    void vmx_free_vcpu(KvmVcpu vcpu) {
        VcpuVmx vmx = to_vmx(vcpu);

        synchronized (vmx_vpid_lock) {
            if (vmx.vpid != 0) vmx_vpid_bitmap.clear(vmx.vpid);
        }
        vmx_free_vmcs(vcpu);
        vmx.guest_msrs = null;
        kvm_main.kvm_vcpu_uninit(vcpu);
    }

    /** guest_msrs: the C kmallocs a page; here an entry per switchable MSR, which is all the page ever holds. */
    @Origin(file = "arch/x86/kvm/vmx.c", line = 3862, status = Origin.Status.SIMPLIFIED,
            note = "a failed VMCS allocation reports -ENOMEM where the C returns ERR_PTR(0)")
    KvmVcpu vmx_create_vcpu(Kvm kvm, int id) {
        int err;
        VcpuVmx vmx = new VcpuVmx();
        int cpu;

        allocate_vpid(vmx);

        err = kvm_main.kvm_vcpu_init(vmx, kvm, id);
        if (err != 0) {
            // free_vcpu:
            throw new ErrPtr(err);
        }

        vmx.guest_msrs = new VcpuVmx.SharedMsrEntry[NR_VMX_MSR];
        for (int i = 0; i < NR_VMX_MSR; i++) vmx.guest_msrs[i] = new VcpuVmx.SharedMsrEntry();

        vmx.vmcs = alloc_vmcs();
        if (vmx.vmcs == null) {
            err = -ENOMEM;
            return create_vcpu_fail(vmx, err, false);
        }

        vmcs_clear(vmx.vmcs);

        cpu = platform.get_cpu();
        try {
            vmx_vcpu_load(vmx, cpu);
            err = vmx_vcpu_setup(vmx);
            vmx_vcpu_put(vmx);
        } finally {
            platform.put_cpu();
        }
        if (err != 0) return create_vcpu_fail(vmx, err, true);
        if (vm_need_virtualize_apic_accesses(kvm))
            if (alloc_apic_access_page(kvm) != 0) return create_vcpu_fail(vmx, err, true);

        if (enable_ept != 0) {
            if (kvm.arch.ept_identity_map_addr == 0) kvm.arch.ept_identity_map_addr = VMX_EPT_IDENTITY_PAGETABLE_ADDR;
            if (alloc_identity_pagetable(kvm) != 0) return create_vcpu_fail(vmx, err, true);
        }

        return vmx;
    }

    /** The error labels of vmx_create_vcpu: free_vmcs, free_msrs, uninit_vcpu, free_vcpu. */
    private KvmVcpu create_vcpu_fail(VcpuVmx vmx, int err, boolean free_vmcs) {
        if (free_vmcs) free_vmcs(vmx.vmcs);
        vmx.guest_msrs = null;
        kvm_main.kvm_vcpu_uninit(vmx);
        throw new ErrPtr(err);
    }

    /** Every processor must derive the same controls as the boot processor did (the C's memcmp). */
    @Origin(file = "arch/x86/kvm/vmx.c", line = 3921)
    void vmx_check_processor_compat(int[] rtn) {
        VmcsConfig vmcs_conf = new VmcsConfig();

        rtn[0] = 0;
        if (setup_vmcs_config(vmcs_conf) < 0) rtn[0] = -EIO;
        if (!vmcs_config.equals(vmcs_conf)) {
            System.err.printf("kvm: CPU %d feature inconsistency!%n", platform.smp_processor_id());
            rtn[0] = -EIO;
        }
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 3935)
    static int get_ept_level() { return VMX_EPT_DEFAULT_GAW + 1; }

    /** MMIO is uncached; RAM is write-back with the guest's PAT ignored, as no device shares it. */
    @Origin(file = "arch/x86/kvm/vmx.c", line = 3940, status = Origin.Status.SIMPLIFIED,
            note = "no IOMMU domain (VT-d) case: kvm->arch.iommu_domain is not mirrored")
    long vmx_get_mt_mask(KvmVcpu vcpu, long gfn, boolean is_mmio) {
        long ret;
        if (is_mmio) ret = MTRR_TYPE_UNCACHABLE << VMX_EPT_MT_EPTE_SHIFT;
        else ret = (MTRR_TYPE_WRBACK << VMX_EPT_MT_EPTE_SHIFT) | VMX_EPT_IGMT_BIT;
        return ret;
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 3991)
    boolean vmx_gb_page_enable() { return false; }

    // ---- vmx.c:4062-4152: module init and exit ----

    /** Allocates one zeroed kernel page (__get_free_page). */
    private HostMemory.Region __get_free_page() { return mem().allocPages(PAGE_SIZE); }

    private void free_page(HostMemory.Region page) { mem().free(page); }

    /** vmx_io_bitmap_a bit {@code nr}, cleared: accesses to that port do not exit. */
    private static void clear_bit(int nr, HostMemory.Region page) { __clear_bit(nr, page, 0); }

    private static void memset_ff(HostMemory.Region page) {
        for (int i = 0; i < PAGE_SIZE; i += 8) page.buf.putLong(i, -1L);
    }

    /** Returns 0 or the negative errno that makes insmod fail. */
    @Origin(file = "arch/x86/kvm/vmx.c", line = 4062)
    public int vmx_init() {
        int r;

        try {
            host_efer = rdmsrl(MSR_EFER);
        } catch (IllegalArgumentException gp) {
            // rdmsrl_safe: a processor without EFER leaves host_efer 0
        }

        for (int i = 0; i < NR_VMX_MSR; ++i) x86.kvm_define_shared_msr(i, vmx_msr_index[i]);

        vmx_io_bitmap_a = __get_free_page();
        if (vmx_io_bitmap_a == null) return -ENOMEM;

        vmx_io_bitmap_b = __get_free_page();
        if (vmx_io_bitmap_b == null) {
            r = -ENOMEM;
            free_page(vmx_io_bitmap_a);
            return r;
        }

        vmx_msr_bitmap_legacy = __get_free_page();
        if (vmx_msr_bitmap_legacy == null) {
            r = -ENOMEM;
            free_page(vmx_io_bitmap_b);
            free_page(vmx_io_bitmap_a);
            return r;
        }

        vmx_msr_bitmap_longmode = __get_free_page();
        if (vmx_msr_bitmap_longmode == null) {
            r = -ENOMEM;
            free_page(vmx_msr_bitmap_legacy);
            free_page(vmx_io_bitmap_b);
            free_page(vmx_io_bitmap_a);
            return r;
        }

        // port 0x80 (POST codes, I/O delays) is not worth an exit
        memset_ff(vmx_io_bitmap_a);
        clear_bit(0x80, vmx_io_bitmap_a);

        memset_ff(vmx_io_bitmap_b);

        memset_ff(vmx_msr_bitmap_legacy);
        memset_ff(vmx_msr_bitmap_longmode);

        vmx_vpid_bitmap.set(0); // VPID 0 is the host's

        r = kvm_main.kvm_init(this, VCPU_VMX_SIZE);
        if (r != 0) {
            // out3:
            free_page(vmx_msr_bitmap_longmode);
            free_page(vmx_msr_bitmap_legacy);
            free_page(vmx_io_bitmap_b);
            free_page(vmx_io_bitmap_a);
            return r;
        }

        vmx_disable_intercept_for_msr(MSR_FS_BASE, false);
        vmx_disable_intercept_for_msr(MSR_GS_BASE, false);
        vmx_disable_intercept_for_msr(MSR_KERNEL_GS_BASE, true);
        vmx_disable_intercept_for_msr(MSR_IA32_SYSENTER_CS, false);
        vmx_disable_intercept_for_msr(MSR_IA32_SYSENTER_ESP, false);
        vmx_disable_intercept_for_msr(MSR_IA32_SYSENTER_EIP, false);

        if (enable_ept != 0) {
            bypass_guest_pf = 0;
            mmu.kvm_mmu_set_base_ptes(VMX_EPT_READABLE_MASK | VMX_EPT_WRITABLE_MASK);
            mmu.kvm_mmu_set_mask_ptes(0L, 0L, 0L, 0L, VMX_EPT_EXECUTABLE_MASK);
            mmu.kvm_enable_tdp();
        } else {
            mmu.kvm_disable_tdp();
        }

        if (bypass_guest_pf != 0) mmu.kvm_mmu_set_nonpresent_ptes(~0xffeL, 0L);

        return 0;
    }

    /** sizeof(struct vcpu_vmx) for kvm_init's vcpu cache; the Java kvm_init keeps no slab, so it is nominal. */
    static final int VCPU_VMX_SIZE = 0;

    @Origin(file = "arch/x86/kvm/vmx.c", line = 4144)
    public void vmx_exit() {
        free_page(vmx_msr_bitmap_legacy);
        free_page(vmx_msr_bitmap_longmode);
        free_page(vmx_io_bitmap_b);
        free_page(vmx_io_bitmap_a);

        kvm_main.kvm_exit();
    }

    // ---- struct kvm_x86_ops vmx_x86_ops (vmx.c:3996): members whose names differ from the functions ----

    @Override public int disabled_by_bios() { return vmx_disabled_by_bios(); }
    @Override public void check_processor_compatibility(int[] rtn) { vmx_check_processor_compat(rtn); }
    @Override public boolean cpu_has_accelerated_tpr() { return report_flexpriority(); }
    /** 2.6.33's struct kvm_x86_ops has no cpuid_update member; nothing to do. */
    @Override public void cpuid_update(KvmVcpu vcpu) { }

    @Override public KvmVcpu vcpu_create(Kvm kvm, int id) { return vmx_create_vcpu(kvm, id); }
    @Override public void vcpu_free(KvmVcpu vcpu) { vmx_free_vcpu(vcpu); }
    @Override public int vcpu_reset(KvmVcpu vcpu) { return vmx_vcpu_reset(vcpu); }

    @Override public void prepare_guest_switch(KvmVcpu vcpu) { vmx_save_host_state(vcpu); }
    @Override public void vcpu_load(KvmVcpu vcpu, int cpu) { vmx_vcpu_load(vcpu, cpu); }
    @Override public void vcpu_put(KvmVcpu vcpu) { vmx_vcpu_put(vcpu); }

    @Override public int get_msr(KvmVcpu vcpu, int msr_index, long[] pdata) { return vmx_get_msr(vcpu, msr_index, pdata); }
    @Override public int set_msr(KvmVcpu vcpu, int msr_index, long data) { return vmx_set_msr(vcpu, msr_index, data); }
    @Override public long get_segment_base(KvmVcpu vcpu, int seg) { return vmx_get_segment_base(vcpu, seg); }
    @Override public void get_segment(KvmVcpu vcpu, KvmSegment var, int seg) { vmx_get_segment(vcpu, var, seg); }
    @Override public int get_cpl(KvmVcpu vcpu) { return vmx_get_cpl(vcpu); }
    @Override public void set_segment(KvmVcpu vcpu, KvmSegment var, int seg) { vmx_set_segment(vcpu, var, seg); }
    @Override public void get_cs_db_l_bits(KvmVcpu vcpu, int[] db_l) { vmx_get_cs_db_l_bits(vcpu, db_l); }
    @Override public void decache_cr4_guest_bits(KvmVcpu vcpu) { vmx_decache_cr4_guest_bits(vcpu); }
    @Override public void set_cr0(KvmVcpu vcpu, long cr0) { vmx_set_cr0(vcpu, cr0); }
    @Override public void set_cr3(KvmVcpu vcpu, long cr3) { vmx_set_cr3(vcpu, cr3); }
    @Override public void set_cr4(KvmVcpu vcpu, long cr4) { vmx_set_cr4(vcpu, cr4); }
    @Override public void set_efer(KvmVcpu vcpu, long efer) { vmx_set_efer(vcpu, efer); }
    @Override public void get_idt(KvmVcpu vcpu, DescriptorTable dt) { vmx_get_idt(vcpu, dt); }
    @Override public void set_idt(KvmVcpu vcpu, DescriptorTable dt) { vmx_set_idt(vcpu, dt); }
    @Override public void get_gdt(KvmVcpu vcpu, DescriptorTable dt) { vmx_get_gdt(vcpu, dt); }
    @Override public void set_gdt(KvmVcpu vcpu, DescriptorTable dt) { vmx_set_gdt(vcpu, dt); }
    /** vmx_x86_ops leaves get_dr/set_dr NULL in 2.6.33: MOV DR exits go to handle_dr instead. */
    @Override public long get_dr(KvmVcpu vcpu, int dr) { throw new UnsupportedOperationException("vmx_x86_ops has no get_dr in 2.6.33"); }
    @Override public void set_dr(KvmVcpu vcpu, int dr, long value, int[] exception) { throw new UnsupportedOperationException("vmx_x86_ops has no set_dr in 2.6.33"); }
    @Override public void cache_reg(KvmVcpu vcpu, int reg) { vmx_cache_reg(vcpu, reg); }
    @Override public long get_rflags(KvmVcpu vcpu) { return vmx_get_rflags(vcpu); }
    @Override public void set_rflags(KvmVcpu vcpu, long rflags) { vmx_set_rflags(vcpu, rflags); }

    @Override public void tlb_flush(KvmVcpu vcpu) { vmx_flush_tlb(vcpu); }

    @Override public void run(KvmVcpu vcpu) { vmx_vcpu_run(vcpu); }
    @Override public int handle_exit(KvmVcpu vcpu) { return vmx_handle_exit(vcpu); }
    @Override public void set_interrupt_shadow(KvmVcpu vcpu, int mask) { vmx_set_interrupt_shadow(vcpu, mask); }
    @Override public int get_interrupt_shadow(KvmVcpu vcpu, int mask) { return vmx_get_interrupt_shadow(vcpu, mask); }
    @Override public void patch_hypercall(KvmVcpu vcpu, byte[] hypercall_addr) { vmx_patch_hypercall(vcpu, hypercall_addr); }
    @Override public void set_irq(KvmVcpu vcpu) { vmx_inject_irq(vcpu); }
    @Override public void set_nmi(KvmVcpu vcpu) { vmx_inject_nmi(vcpu); }
    @Override public void queue_exception(KvmVcpu vcpu, int nr, boolean has_error_code, int error_code) {
        vmx_queue_exception(vcpu, nr, has_error_code, error_code);
    }
    @Override public int interrupt_allowed(KvmVcpu vcpu) { return vmx_interrupt_allowed(vcpu); }
    @Override public int nmi_allowed(KvmVcpu vcpu) { return vmx_nmi_allowed(vcpu); }
    @Override public boolean get_nmi_mask(KvmVcpu vcpu) { return vmx_get_nmi_mask(vcpu); }
    @Override public void set_nmi_mask(KvmVcpu vcpu, boolean masked) { vmx_set_nmi_mask(vcpu, masked); }
    @Override public int set_tss_addr(Kvm kvm, int addr) { return vmx_set_tss_addr(kvm, addr); }
    @Override public int get_tdp_level() { return get_ept_level(); }
    @Override public long get_mt_mask(KvmVcpu vcpu, long gfn, boolean is_mmio) { return vmx_get_mt_mask(vcpu, gfn, is_mmio); }
    @Override public boolean gb_page_enable() { return vmx_gb_page_enable(); }

    /** exit_reasons_str: the trace name of a basic exit reason, or null where 2.6.33 names none. */
    @Override public String exit_reason_str(int exit_reason) {
        return Integer.compareUnsigned(exit_reason, vmx_exit_reasons_str.length) < 0 ? vmx_exit_reasons_str[exit_reason] : null;
    }
}
