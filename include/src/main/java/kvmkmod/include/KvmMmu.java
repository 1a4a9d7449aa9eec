package kvmkmod.include;

/**
 * struct kvm_mmu (asm/kvm_host.h): the per-vCPU MMU context. The function-pointer members are set by
 * mmu.c's init_kvm_*_mmu for the paging mode in force (TDP, nonpaging, paging32, paging32E, paging64).
 */
public final class KvmMmu {
    public interface NewCr3 { void new_cr3(KvmVcpu vcpu); }
    public interface PageFault { int page_fault(KvmVcpu vcpu, long gva, int error_code); }
    public interface Free { void free(KvmVcpu vcpu); }
    public interface GvaToGpa { long gva_to_gpa(KvmVcpu vcpu, long gva); }
    public interface Invlpg { void invlpg(KvmVcpu vcpu, long gva); }
    /** prefetch_page and sync_page take mmu.c's struct kvm_mmu_page, typed by mmu.c. */
    public interface PrefetchPage { void prefetch_page(KvmVcpu vcpu, Object sp); }
    public interface SyncPage { int sync_page(KvmVcpu vcpu, Object sp); }

    public NewCr3 new_cr3;
    public PageFault page_fault;
    public Free free;
    public GvaToGpa gva_to_gpa;
    public Invlpg invlpg;
    public PrefetchPage prefetch_page;
    public SyncPage sync_page;
    public long root_hpa = INVALID_PAGE;
    public int root_level;
    public int shadow_root_level;
    /** union kvm_mmu_page_role, as its packed word. */
    public int base_role;
    /** The four PAE roots of a shadowed 32-bit or PAE guest, in one host page below 4 GiB. */
    public kvmkmod.hw.HostMemory.Region pae_root;
    /** Reserved bits per [PS bit][level-1] of guest paging entries (reset_rsvds_bits_mask). */
    public final long[][] rsvd_bits_mask = new long[2][4];

    public static final long INVALID_PAGE = -1L;

    public static boolean VALID_PAGE(long hpa) { return hpa != INVALID_PAGE; }
}
