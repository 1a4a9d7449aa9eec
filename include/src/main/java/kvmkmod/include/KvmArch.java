package kvmkmod.include;

/** struct kvm_arch (asm/kvm_host.h): the x86 part of a VM. */
public final class KvmArch {
    public int n_free_mmu_pages;
    /** MSR_KVM_WALL_CLOCK: the guest-physical address of its wall-clock structure (stored only). */
    public long wall_clock;
    public int n_requested_mmu_pages;
    public int n_alloc_mmu_pages;
    /** struct kvm_mmu_page objects, owned and typed by mmu.c. */
    public final java.util.List<Object> active_mmu_pages = new java.util.ArrayList<>();
    public final java.util.Map<Long, java.util.List<Object>> mmu_page_hash = new java.util.HashMap<>();
    public int tss_addr;
    public Object apic_access_page;
    public Object ept_identity_pagetable;
    public boolean ept_identity_pagetable_done;
    public long ept_identity_map_addr;
    public long vm_init_tsc;
}
