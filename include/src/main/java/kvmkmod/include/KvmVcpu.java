package kvmkmod.include;

import kvmkmod.hw.HostMemory;

import java.util.concurrent.locks.ReentrantLock;

/**
 * struct kvm_vcpu (linux/kvm_host.h). A vendor module extends it (vmx.c's struct vcpu_vmx embeds it
 * first; here {@code VcpuVmx extends KvmVcpu}, and to_vmx is a cast).
 */
public class KvmVcpu {
    public Kvm kvm;
    public int vcpu_id;
    public final ReentrantLock mutex = new ReentrantLock();
    /** The processor this vCPU is loaded on, or -1. */
    public int cpu = -1;
    /** The kvm_run page (kernel side) and its view. */
    public HostMemory.Region run_page;
    public KvmRun run;
    public volatile long requests;
    public long guest_debug;
    public int fpu_active;
    public int guest_fpu_loaded;
    public int sigset_active;
    /** The signal mask KVM_RUN runs with while sigset_active (KVM_SET_SIGNAL_MASK); bit sig-1 blocks sig. */
    public long sigset;
    public final KvmVcpuStat stat = new KvmVcpuStat();

    public int mmio_needed;
    public int mmio_read_completed;
    public int mmio_is_write;
    public int mmio_size;
    public final byte[] mmio_data = new byte[8];
    public long mmio_phys_addr;

    public final KvmVcpuArch arch = new KvmVcpuArch();

    /** What a signal to the thread in KVM_RUN runs to take this vCPU out of the guest (made once). */
    public Runnable signal_waker;
    /** The thread in KVM_RUN, so another thread can kick it out of the guest. */
    public volatile Thread running;

    /** struct kvm_vcpu_stat (asm/kvm_host.h): the counters kvm_stat shows. */
    public static final class KvmVcpuStat {
        public long pf_fixed, pf_guest, tlb_flush, invlpg, exits, io_exits, mmio_exits, signal_exits,
                irq_window_exits, nmi_window_exits, halt_exits, halt_wakeup, request_irq_exits, irq_exits,
                host_state_reload, efer_reload, fpu_reload, insn_emulation, insn_emulation_fail,
                hypercalls, irq_injections, nmi_injections;
    }
}
