package kvmkmod.vmx;

import kvmkmod.hw.HostMemory;
import kvmkmod.include.KvmVcpu;

/**
 * struct vcpu_vmx (vmx.c:97). In C it embeds struct kvm_vcpu as its first member and to_vmx is
 * container_of; here it extends {@link KvmVcpu} and to_vmx is a cast.
 */
public final class VcpuVmx extends KvmVcpu {
    /** struct shared_msr_entry (vmx.c:91): a guest MSR value switched in by kvm_set_shared_msr. */
    public static final class SharedMsrEntry {
        /** Index into vmx_msr_index[], not the MSR number. */
        public int index;
        public long data;
        public long mask;

        void copyFrom(SharedMsrEntry o) { index = o.index; data = o.data; mask = o.mask; }
    }

    /** struct kvm_save_segment: a segment saved while the guest runs in vm86 mode. */
    public static final class KvmSaveSegment {
        public int selector;
        public long base;
        public int limit;
        public int ar;
    }

    /** The host_state member. */
    public static final class HostState {
        public int loaded;
        public int fs_sel, gs_sel, ldt_sel;
        public int gs_ldt_reload_needed;
        public int fs_reload_needed;
    }

    /** The rmode member: what vm86-based real-mode emulation needs to remember. */
    public static final class Rmode {
        public int vm86_active;
        public long save_rflags;
        public final KvmSaveSegment tr = new KvmSaveSegment(), es = new KvmSaveSegment(),
                ds = new KvmSaveSegment(), fs = new KvmSaveSegment(), gs = new KvmSaveSegment();
        public final Irq irq = new Irq();

        public static final class Irq {
            public boolean pending;
            public int vector;
            /** unsigned in C: the RIP an injected real-mode interrupt returns to. */
            public long rip;
        }
    }

    // local_vcpus_link is membership of Vmx.vcpus_on_cpu[cpu]
    public long host_rsp;
    public int launched;
    public int fail;
    public int idt_vectoring_info;
    public SharedMsrEntry[] guest_msrs;
    public int nmsrs;
    public int save_nmsrs;
    public long msr_host_kernel_gs_base;
    public long msr_guest_kernel_gs_base;
    /** struct vmcs *: the kernel pages of this vCPU's VMCS. */
    public HostMemory.Region vmcs;
    public final HostState host_state = new HostState();
    public final Rmode rmode = new Rmode();
    public int vpid;
    public boolean emulation_required;

    public int soft_vnmi_blocked;
    /** ktime_t, in nanoseconds. */
    public long entry_time;
    public long vnmi_blocked_time;
    public int exit_reason;
}
