package kvmkmod.include;

/** struct kvm_memory_slot (linux/kvm_host.h): guest frames base_gfn.. backed by userspace memory. */
public final class KvmMemorySlot {
    public long base_gfn;
    public long npages;
    public long flags;
    /** Reverse map per guest page: the shadow/EPT entries that map it (used by mmu.c). */
    public long[] rmap;
    public long[] dirty_bitmap;
    /** struct kvm_lpage_info per 2 MiB (index 0) and 1 GiB (index 1) frame of the slot (asm KVM_NR_PAGE_SIZES - 1). */
    public KvmLpageInfo[][] lpage_info = new KvmLpageInfo[KVM_NR_PAGE_SIZES - 1][];
    public static final int KVM_NR_PAGE_SIZES = 3;

    /** Frames of 4 KiB in one page of a level: 1, 512, 512*512 (KVM_PAGES_PER_HPAGE). */
    public static long KVM_PAGES_PER_HPAGE(int level) { return 1L << ((level - 1) * 9); }

    /** struct kvm_lpage_info: the large-page reverse map and how many reasons forbid a large page here. */
    public static final class KvmLpageInfo {
        public long rmap_pde;
        public int write_count;
    }
    public long userspace_addr;
    public int user_alloc;

    public void copyFrom(KvmMemorySlot o) {
        base_gfn = o.base_gfn; npages = o.npages; flags = o.flags; rmap = o.rmap;
        dirty_bitmap = o.dirty_bitmap; userspace_addr = o.userspace_addr; user_alloc = o.user_alloc;
        lpage_info = o.lpage_info.clone();
    }
}
