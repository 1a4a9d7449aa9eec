package kvmkmod.include;

/** struct kvm_memory_slot (linux/kvm_host.h): guest frames base_gfn.. backed by userspace memory. */
public final class KvmMemorySlot {
    public long base_gfn;
    public long npages;
    public long flags;
    /** Reverse map per guest page: the shadow/EPT entries that map it (used by mmu.c). */
    public long[] rmap;
    public long[] dirty_bitmap;
    public long userspace_addr;
    public int user_alloc;

    public void copyFrom(KvmMemorySlot o) {
        base_gfn = o.base_gfn; npages = o.npages; flags = o.flags; rmap = o.rmap;
        dirty_bitmap = o.dirty_bitmap; userspace_addr = o.userspace_addr; user_alloc = o.user_alloc;
    }
}
