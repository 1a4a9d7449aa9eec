package kvmkmod.include;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/** struct kvm (linux/kvm_host.h): one virtual machine. */
public final class Kvm {
    public static final int KVM_MAX_VCPUS = 16;
    public static final int KVM_MEMORY_SLOTS = 32;
    public static final int KVM_PRIVATE_MEM_SLOTS = 4;

    public final Object mmu_lock = new Object();
    public final ReentrantReadWriteLock slots_lock = new ReentrantReadWriteLock();
    /** The userspace process this VM belongs to (kvm->mm). */
    public Vfs mm;
    public int nmemslots;
    public final KvmMemorySlot[] memslots = new KvmMemorySlot[KVM_MEMORY_SLOTS + KVM_PRIVATE_MEM_SLOTS];
    public int bsp_vcpu_id;
    public KvmVcpu bsp_vcpu;
    public final KvmVcpu[] vcpus = new KvmVcpu[KVM_MAX_VCPUS];
    public final AtomicInteger online_vcpus = new AtomicInteger();
    public final ReentrantLock lock = new ReentrantLock();
    public final KvmIoBus mmio_bus = new KvmIoBus();
    public final KvmIoBus pio_bus = new KvmIoBus();
    /** struct _ioeventfd entries registered with KVM_IOEVENTFD (eventfd.c). */
    public final List<Object> ioeventfds = new ArrayList<>();
    /**
     * The coalesced MMIO ring page (coalesced_mmio.c), shared with userspace: the region that holds it and
     * the ring's offset there (it moves into the first vCPU mapping that maps it).
     */
    public kvmkmod.hw.HostMemory.Region coalesced_mmio_ring;
    public int coalesced_mmio_ring_off;
    /** struct kvm_coalesced_mmio_dev, owned by coalesced_mmio.c. */
    public Object coalesced_mmio_dev;
    public final KvmArch arch = new KvmArch();
    public final KvmVmStat stat = new KvmVmStat();

    /** struct kvm_vm_stat (asm/kvm_host.h): the per-VM counters of the shadow MMU that kvm_stat shows. */
    public static final class KvmVmStat {
        public long mmu_shadow_zapped, mmu_pte_write, mmu_pte_updated, mmu_pde_zapped, mmu_flooded, mmu_recycled,
                mmu_cache_miss, mmu_unsync, remote_tlb_flush, lpages;
    }
    public final AtomicInteger users_count = new AtomicInteger();

    public Kvm() {
        for (int i = 0; i < memslots.length; i++) memslots[i] = new KvmMemorySlot();
    }
}
