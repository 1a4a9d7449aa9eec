package kvmkmod.x86;

import kvmkmod.hw.HostMemory;
import kvmkmod.include.Kvm;
import kvmkmod.include.KvmMemorySlot;
import kvmkmod.include.KvmMmu;
import kvmkmod.include.KvmVcpu;
import kvmkmod.include.Origin;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import static kvmkmod.hw.HostMemory.PAGE_SHIFT;
import static kvmkmod.hw.HostMemory.PAGE_SIZE;
import static kvmkmod.include.Errno.ENOMEM;
import static kvmkmod.include.KvmMmu.INVALID_PAGE;
import static kvmkmod.include.KvmMmu.VALID_PAGE;
import static kvmkmod.include.Kvm_h.KVM_EXIT_INTERNAL_ERROR;
import static kvmkmod.include.Kvm_h.KVM_INTERNAL_ERROR_EMULATION;
import static kvmkmod.kvm_main.KvmMain.KVM_REQ_TRIPLE_FAULT;

/**
 * arch/x86/kvm/mmu.c: the guest-physical → host-physical mapping that the processor walks. With EPT
 * (tdp_enabled) the tables built here are the EPT tables themselves: an EPT violation comes back as
 * kvm_mmu_page_fault → tdp_page_fault → __direct_map, which allocates table pages (kvm_mmu_get_page)
 * and fills the leaf entry (mmu_set_spte → set_spte). Table pages are host pages; every entry is read
 * and written by host-physical address, exactly where the processor will look for it.
 *
 * <p>Shadow paging (paging_tmpl.h) is the MMU issue's work; without EPT this MMU has no guest-paging
 * walker yet.
 */
public final class Mmu {
    final X86 x86;

    // mmu.h
    public static final long PT_PRESENT_MASK = 1L << 0, PT_WRITABLE_MASK = 1L << 1, PT_USER_MASK = 1L << 2,
            PT_ACCESSED_MASK = 1L << 5, PT_DIRTY_MASK = 1L << 6, PT_PAGE_SIZE_MASK = 1L << 7,
            PT64_NX_MASK = 1L << 63;
    public static final int PT64_ROOT_LEVEL = 4, PT32E_ROOT_LEVEL = 3, PT32_ROOT_LEVEL = 2;
    public static final int PT_DIRECTORY_LEVEL = 2, PT_PAGE_TABLE_LEVEL = 1;
    static final int PT64_LEVEL_BITS = 9, PT64_ENT_PER_PAGE = 512;
    static final long PT64_BASE_ADDR_MASK = ((1L << 52) - 1) & ~(long) (PAGE_SIZE - 1);
    static final int ACC_EXEC_MASK = 1, ACC_WRITE_MASK = (int) PT_WRITABLE_MASK, ACC_USER_MASK = (int) PT_USER_MASK,
            ACC_ALL = ACC_EXEC_MASK | ACC_WRITE_MASK | ACC_USER_MASK;
    static final long SPTE_HOST_WRITEABLE = 1L << 9;
    static final int KVM_MMU_HASH_SHIFT = 10;
    static final int KVM_PERMILLE_MMU_PAGES = 20, KVM_MIN_ALLOC_MMU_PAGES = 64;
    /** Page-fault error-code bits (PFERR_*). */
    public static final int PFERR_PRESENT_MASK = 1, PFERR_WRITE_MASK = 2, PFERR_USER_MASK = 4, PFERR_FETCH_MASK = 16;

    /** kvm_mmu_page_role bit positions within its word. */
    static final int ROLE_LEVEL_SHIFT = 4, ROLE_DIRECT = 1 << 16, ROLE_ACCESS_SHIFT = 17, ROLE_INVALID = 1 << 20;

    // The module's shadow-pte templates (set by kvm_arch_init and vmx_init)
    long shadow_trap_nonpresent_pte, shadow_notrap_nonpresent_pte, shadow_base_present_pte;
    long shadow_nx_mask, shadow_x_mask, shadow_user_mask, shadow_accessed_mask, shadow_dirty_mask;
    public boolean tdp_enabled;

    /** page_header: the kvm_mmu_page that owns a table page, by its host-physical address. */
    private final Map<Long, KvmMmuPage> page_header = new ConcurrentHashMap<>();
    /** Reverse-map descriptors for frames mapped more than once (struct kvm_rmap_desc). */
    private final Map<Long, List<Long>> rmap_desc = new ConcurrentHashMap<>();
    private long next_desc;

    /** struct kvm_mmu_page: one page of EPT/shadow entries and what it maps. */
    public static final class KvmMmuPage {
        public long gfn;
        public int role;
        /** The table page itself. */
        public HostMemory.Region spt;
        /** Host-physical address of the entry that points at this page (0 for a root). */
        public long parent_pte;
        public int root_count;

        public int level() { return (role >>> ROLE_LEVEL_SHIFT) & 0xf; }
        public boolean direct() { return (role & ROLE_DIRECT) != 0; }
        public boolean invalid() { return (role & ROLE_INVALID) != 0; }
    }

    Mmu(X86 x86) { this.x86 = x86; }

    private HostMemory mem() { return x86.kvm_main.kernel.platform.memory(); }

    /** The kvm_mmu_page whose table holds host-physical address {@code hpa}, or null. */
    public KvmMmuPage page_header(long hpa) { return page_header.get(hpa & PT64_BASE_ADDR_MASK); }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 206)
    public void kvm_mmu_set_nonpresent_ptes(long trap_pte, long notrap_pte) {
        shadow_trap_nonpresent_pte = trap_pte;
        shadow_notrap_nonpresent_pte = notrap_pte;
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 213)
    public void kvm_mmu_set_base_ptes(long base_pte) { shadow_base_present_pte = base_pte; }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 219)
    public void kvm_mmu_set_mask_ptes(long user_mask, long accessed_mask, long dirty_mask, long nx_mask, long x_mask) {
        shadow_user_mask = user_mask;
        shadow_accessed_mask = accessed_mask;
        shadow_dirty_mask = dirty_mask;
        shadow_nx_mask = nx_mask;
        shadow_x_mask = x_mask;
    }

    static boolean is_shadow_present_pte(Mmu m, long pte) {
        return pte != m.shadow_trap_nonpresent_pte && pte != m.shadow_notrap_nonpresent_pte;
    }

    static boolean is_large_pte(long pte) { return (pte & PT_PAGE_SIZE_MASK) != 0; }

    static boolean is_writable_pte(long pte) { return (pte & PT_WRITABLE_MASK) != 0; }

    static boolean is_last_spte(long pte, int level) {
        return level == PT_PAGE_TABLE_LEVEL || (level == PT_DIRECTORY_LEVEL && is_large_pte(pte));
    }

    static long spte_to_pfn(long pte) { return (pte & PT64_BASE_ADDR_MASK) >>> PAGE_SHIFT; }

    /** Shadow/EPT entries are written with one 64-bit store, as the processor may read them at any time. */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 292)
    void __set_spte(long sptep, long spte) { mem().write64(sptep, spte); }

    /** Java allocates on demand, so there is no per-vCPU object cache to refill before taking mmu_lock. */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 346, status = Origin.Status.SIMPLIFIED,
            note = "no memory caches: pages are allocated when needed")
    int mmu_topup_memory_caches(KvmVcpu vcpu) { return 0; }

    /** Large pages need the slot's lpage_info, which arrives with the MMU issue: every mapping is 4 KiB. */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 503, status = Origin.Status.SIMPLIFIED,
            note = "always 4 KiB: large-page tracking (lpage_info) arrives with the MMU issue")
    int mapping_level(KvmVcpu vcpu, long large_gfn) { return PT_PAGE_TABLE_LEVEL; }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 558, status = Origin.Status.SIMPLIFIED,
            note = "4 KiB frames only; descriptors are Java lists")
    int rmap_add(KvmVcpu vcpu, long spte, long gfn) {
        KvmMemorySlot slot = x86.kvm_main.gfn_to_memslot(vcpu.kvm, gfn);
        if (slot == null || slot.rmap == null) return 0;
        int i = (int) (gfn - slot.base_gfn);
        long r = slot.rmap[i];
        if (r == 0) {
            slot.rmap[i] = spte;
            return 0;
        }
        if ((r & 1) == 0) {
            List<Long> desc = new ArrayList<>();
            desc.add(r);
            desc.add(spte);
            long id;
            synchronized (rmap_desc) { id = ++next_desc; }
            rmap_desc.put(id, desc);
            slot.rmap[i] = (id << 1) | 1;
            return 1;
        }
        List<Long> desc = rmap_desc.get(r >>> 1);
        desc.add(spte);
        return desc.size() - 1;
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 621, status = Origin.Status.SIMPLIFIED,
            note = "4 KiB frames only; descriptors are Java lists")
    void rmap_remove(Kvm kvm, long spte) {
        long gfn = spte_gfn.getOrDefault(spte, -1L);
        spte_gfn.remove(spte);
        if (gfn < 0) return;
        KvmMemorySlot slot = x86.kvm_main.gfn_to_memslot(kvm, gfn);
        if (slot == null || slot.rmap == null) return;
        int i = (int) (gfn - slot.base_gfn);
        long r = slot.rmap[i];
        if (r == spte) {
            slot.rmap[i] = 0;
        } else if ((r & 1) != 0) {
            List<Long> desc = rmap_desc.get(r >>> 1);
            desc.remove(spte);
            if (desc.size() == 1) {
                slot.rmap[i] = desc.get(0);
                rmap_desc.remove(r >>> 1);
            }
        }
    }

    /** The guest frame each leaf entry maps (struct kvm_mmu_page's gfns[] array, kept per entry). */
    private final Map<Long, Long> spte_gfn = new ConcurrentHashMap<>();

    @Origin(file = "arch/x86/kvm/mmu.c", line = 915)
    void kvm_mmu_free_page(Kvm kvm, KvmMmuPage sp) {
        kvm.arch.active_mmu_pages.remove(sp);
        page_header.remove(sp.spt.hpa);
        mem().free(sp.spt);
        ++kvm.arch.n_free_mmu_pages;
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 925)
    static long kvm_page_table_hashfn(long gfn) { return gfn & ((1 << KVM_MMU_HASH_SHIFT) - 1); }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 930)
    KvmMmuPage kvm_mmu_alloc_page(KvmVcpu vcpu, long parent_pte) {
        KvmMmuPage sp = new KvmMmuPage();
        sp.spt = mem().allocPages(PAGE_SIZE);
        if (sp.spt == null) return null;
        page_header.put(sp.spt.hpa, sp);
        vcpu.kvm.arch.active_mmu_pages.add(0, sp);
        sp.parent_pte = parent_pte;
        --vcpu.kvm.arch.n_free_mmu_pages;
        return sp;
    }

    /** Finds the table page for (gfn, role) in the VM's hash, or allocates one. */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 1328, status = Origin.Status.SIMPLIFIED,
            note = "direct (TDP) pages only: no unsync pages, write protection or prefetch of guest tables")
    KvmMmuPage kvm_mmu_get_page(KvmVcpu vcpu, long gfn, long gaddr, int level, int direct, int access, long parent_pte) {
        int role = vcpu.arch.mmu.base_role;
        role = (role & ~(0xf << ROLE_LEVEL_SHIFT)) | (level << ROLE_LEVEL_SHIFT);
        role = direct != 0 ? role | ROLE_DIRECT : role & ~ROLE_DIRECT;
        role = (role & ~(7 << ROLE_ACCESS_SHIFT)) | (access << ROLE_ACCESS_SHIFT);
        long index = kvm_page_table_hashfn(gfn);
        List<Object> bucket = vcpu.kvm.arch.mmu_page_hash.computeIfAbsent(index, k -> new ArrayList<>());
        for (Object o : bucket) {
            KvmMmuPage sp = (KvmMmuPage) o;
            if (sp.gfn == gfn && sp.role == role) return sp;
        }
        KvmMmuPage sp = kvm_mmu_alloc_page(vcpu, parent_pte);
        if (sp == null) return null;
        sp.gfn = gfn;
        sp.role = role;
        bucket.add(0, sp);
        if (shadow_trap_nonpresent_pte != 0) {
            for (int i = 0; i < PT64_ENT_PER_PAGE; i++) sp.spt.buf.putLong(8 * i, shadow_trap_nonpresent_pte);
        }
        return sp;
    }

    /** struct kvm_shadow_walk_iterator with shadow_walk_init/okay/next: a walk down the tables for addr. */
    final class ShadowWalk {
        long addr;
        long shadow_addr;
        long sptep;
        int level;
        int index;

        @Origin(file = "arch/x86/kvm/mmu.c", line = 1391, status = Origin.Status.SIMPLIFIED,
                note = "4-level roots only (TDP); the PAE-root case comes with shadow paging")
        void shadow_walk_init(KvmVcpu vcpu, long a) {
            addr = a;
            shadow_addr = vcpu.arch.mmu.root_hpa;
            level = vcpu.arch.mmu.shadow_root_level;
        }

        @Origin(file = "arch/x86/kvm/mmu.c", line = 1407)
        boolean shadow_walk_okay() {
            if (level < PT_PAGE_TABLE_LEVEL) return false;
            if (level == PT_PAGE_TABLE_LEVEL && is_large_pte(mem().read64(sptep))) return false;
            index = (int) ((addr >>> (PAGE_SHIFT + (level - 1) * PT64_LEVEL_BITS)) & (PT64_ENT_PER_PAGE - 1));
            sptep = shadow_addr + 8L * index;
            return true;
        }

        @Origin(file = "arch/x86/kvm/mmu.c", line = 1421)
        void shadow_walk_next() {
            shadow_addr = mem().read64(sptep) & PT64_BASE_ADDR_MASK;
            --level;
        }
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 1427)
    void kvm_mmu_page_unlink_children(Kvm kvm, KvmMmuPage sp) {
        for (int i = 0; i < PT64_ENT_PER_PAGE; ++i) {
            long entp = sp.spt.hpa + 8L * i;
            long ent = sp.spt.buf.getLong(8 * i);
            if (is_shadow_present_pte(this, ent)) {
                if (!is_last_spte(ent, sp.level())) {
                    KvmMmuPage child = page_header(ent & PT64_BASE_ADDR_MASK);
                    if (child != null && child.parent_pte == entp) child.parent_pte = 0;
                } else {
                    rmap_remove(kvm, entp);
                }
            }
            sp.spt.buf.putLong(8 * i, shadow_trap_nonpresent_pte);
        }
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 1468)
    void kvm_mmu_unlink_parents(Kvm kvm, KvmMmuPage sp) {
        if (sp.parent_pte != 0) {
            __set_spte(sp.parent_pte, shadow_trap_nonpresent_pte);
            sp.parent_pte = 0;
        }
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 1513, status = Origin.Status.SIMPLIFIED,
            note = "no unsync children or shadowed-gfn accounting (shadow paging)")
    int kvm_mmu_zap_page(Kvm kvm, KvmMmuPage sp) {
        kvm_mmu_page_unlink_children(kvm, sp);
        kvm_mmu_unlink_parents(kvm, sp);
        x86.kvm_main.kvm_flush_remote_tlbs(kvm);
        if (sp.root_count == 0) {
            List<Object> bucket = kvm.arch.mmu_page_hash.get(kvm_page_table_hashfn(sp.gfn));
            if (bucket != null) bucket.remove(sp);
            kvm_mmu_free_page(kvm, sp);
        } else {
            sp.role |= ROLE_INVALID;
            kvm.arch.active_mmu_pages.remove(sp);
            kvm.arch.active_mmu_pages.add(0, sp);
            x86.kvm_main.kvm_reload_remote_mmus(kvm);
        }
        return 0;
    }

    /** Sets the VM's budget of table pages, zapping the oldest pages when it shrinks below use. */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 1543)
    void kvm_mmu_change_mmu_pages(Kvm kvm, int kvm_nr_mmu_pages) {
        int used_pages = Math.max(0, kvm.arch.n_alloc_mmu_pages - kvm.arch.n_free_mmu_pages);
        if (used_pages > kvm_nr_mmu_pages) {
            while (used_pages > kvm_nr_mmu_pages && !kvm.arch.active_mmu_pages.isEmpty()) {
                KvmMmuPage page = (KvmMmuPage) kvm.arch.active_mmu_pages.get(kvm.arch.active_mmu_pages.size() - 1);
                kvm_mmu_zap_page(kvm, page);
                used_pages--;
            }
            kvm.arch.n_free_mmu_pages = 0;
        } else {
            kvm.arch.n_free_mmu_pages += kvm_nr_mmu_pages - kvm.arch.n_alloc_mmu_pages;
        }
        kvm.arch.n_alloc_mmu_pages = kvm_nr_mmu_pages;
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 1804, status = Origin.Status.SIMPLIFIED,
            note = "direct maps only: no write protection of shadowed guest tables or large-page checks")
    int set_spte(KvmVcpu vcpu, long sptep, int pte_access, int user_fault, int write_fault, int dirty, int level,
                 long gfn, long pfn, boolean speculative, boolean can_unsync, boolean reset_host_protection) {
        long spte = shadow_base_present_pte | shadow_dirty_mask;
        if (!speculative) spte |= shadow_accessed_mask;
        if (dirty == 0) pte_access &= ~ACC_WRITE_MASK;
        if ((pte_access & ACC_EXEC_MASK) != 0) spte |= shadow_x_mask;
        else spte |= shadow_nx_mask;
        if ((pte_access & ACC_USER_MASK) != 0) spte |= shadow_user_mask;
        if (level > PT_PAGE_TABLE_LEVEL) spte |= PT_PAGE_SIZE_MASK;
        if (tdp_enabled) spte |= x86.kvm_x86_ops.get_mt_mask(vcpu, gfn, false);
        if (reset_host_protection) spte |= SPTE_HOST_WRITEABLE;
        spte |= pfn << PAGE_SHIFT;
        if ((pte_access & ACC_WRITE_MASK) != 0) spte |= PT_WRITABLE_MASK;
        if ((pte_access & ACC_WRITE_MASK) != 0) x86.kvm_main.mark_page_dirty(vcpu.kvm, gfn);
        __set_spte(sptep, spte);
        return 0;
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 1879, status = Origin.Status.SIMPLIFIED,
            note = "no large-page replacement or rmap recycling")
    void mmu_set_spte(KvmVcpu vcpu, long sptep, int pt_access, int pte_access, int user_fault, int write_fault,
                      int dirty, int[] ptwrite, int level, long gfn, long pfn, boolean speculative,
                      boolean reset_host_protection) {
        boolean was_rmapped = false;
        long old = mem().read64(sptep);
        if (is_shadow_present_pte(this, old)) {
            if (pfn != spte_to_pfn(old)) rmap_remove(vcpu.kvm, sptep);
            else was_rmapped = true;
        }
        if (set_spte(vcpu, sptep, pte_access, user_fault, write_fault, dirty, level, gfn, pfn, speculative, true,
                reset_host_protection) != 0) {
            if (write_fault != 0) ptwrite[0] = 1;
            x86.kvm_x86_ops.tlb_flush(vcpu);
        }
        if (!was_rmapped) {
            spte_gfn.put(sptep, gfn);
            rmap_add(vcpu, sptep, gfn);
        }
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 1949)
    void nonpaging_new_cr3(KvmVcpu vcpu) { }

    /** Walks from the root to {@code level} for gfn, allocating missing table pages, and sets the leaf. */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 1953)
    int __direct_map(KvmVcpu vcpu, long v, int write, int level, long gfn, long pfn) {
        int[] pt_write = {0};
        ShadowWalk it = new ShadowWalk();
        for (it.shadow_walk_init(vcpu, gfn << PAGE_SHIFT); it.shadow_walk_okay(); it.shadow_walk_next()) {
            if (it.level == level) {
                mmu_set_spte(vcpu, it.sptep, ACC_ALL, ACC_ALL, 0, write, 1, pt_write, level, gfn, pfn, false, true);
                ++vcpu.stat.pf_fixed;
                break;
            }
            if (mem().read64(it.sptep) == shadow_trap_nonpresent_pte) {
                long pseudo_gfn = (it.addr & dirBaseMask(it.level)) >>> PAGE_SHIFT;
                KvmMmuPage sp = kvm_mmu_get_page(vcpu, pseudo_gfn, it.addr, it.level - 1, 1, ACC_ALL, it.sptep);
                if (sp == null) return -ENOMEM;
                __set_spte(it.sptep, sp.spt.hpa | PT_PRESENT_MASK | PT_WRITABLE_MASK | shadow_user_mask | shadow_x_mask);
            }
        }
        return pt_write[0];
    }

    /** PT64_DIR_BASE_ADDR_MASK for a level: the address bits above what one entry at that level maps. */
    private static long dirBaseMask(int level) {
        return PT64_BASE_ADDR_MASK & ~((1L << (PAGE_SHIFT + (level - 1) * PT64_LEVEL_BITS)) - 1);
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 2035, status = Origin.Status.SIMPLIFIED,
            note = "4-level roots only; PAE roots come with shadow paging")
    void mmu_free_roots(KvmVcpu vcpu) {
        if (!VALID_PAGE(vcpu.arch.mmu.root_hpa)) return;
        synchronized (vcpu.kvm.mmu_lock) {
            KvmMmuPage sp = page_header(vcpu.arch.mmu.root_hpa);
            if (sp != null) {
                --sp.root_count;
                if (sp.root_count == 0 && sp.invalid()) kvm_mmu_zap_page(vcpu.kvm, sp);
            }
            vcpu.arch.mmu.root_hpa = INVALID_PAGE;
        }
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 2070)
    int mmu_check_root(KvmVcpu vcpu, long root_gfn) {
        if (!x86.kvm_main.kvm_is_visible_gfn(vcpu.kvm, root_gfn)) {
            vcpu.requests |= 1L << KVM_REQ_TRIPLE_FAULT;
            return 1;
        }
        return 0;
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 2082, status = Origin.Status.SIMPLIFIED,
            note = "4-level roots only; PAE roots come with shadow paging")
    int mmu_alloc_roots(KvmVcpu vcpu) {
        long root_gfn = vcpu.arch.cr3 >>> PAGE_SHIFT;
        int direct = tdp_enabled ? 1 : 0;
        if (direct == 0 && mmu_check_root(vcpu, root_gfn) != 0) return 1;
        if (direct != 0) root_gfn = 0;
        KvmMmuPage sp = kvm_mmu_get_page(vcpu, root_gfn, 0, PT64_ROOT_LEVEL, direct, ACC_ALL, 0);
        if (sp == null) return -ENOMEM;
        ++sp.root_count;
        vcpu.arch.mmu.root_hpa = sp.spt.hpa;
        return 0;
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 2168)
    long nonpaging_gva_to_gpa(KvmVcpu vcpu, long vaddr) { return vaddr; }

    /** EPT violation handling: map the faulting guest frame, or report that it has no memory (MMIO). */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 2193, status = Origin.Status.SIMPLIFIED,
            note = "no MMU-notifier retry; 4 KiB pages")
    int tdp_page_fault(KvmVcpu vcpu, long gpa, int error_code) {
        long gfn = gpa >>> PAGE_SHIFT;
        int r = mmu_topup_memory_caches(vcpu);
        if (r != 0) return r;
        int level = mapping_level(vcpu, gfn);
        gfn &= ~((1L << ((level - 1) * PT64_LEVEL_BITS)) - 1);
        long pfn = x86.kvm_main.gfn_to_pfn(vcpu.kvm, gfn);
        if (x86.kvm_main.is_error_pfn(pfn)) return 1;
        synchronized (vcpu.kvm.mmu_lock) {
            return __direct_map(vcpu, gpa, error_code & PFERR_WRITE_MASK, level, gfn, pfn);
        }
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 2236)
    void nonpaging_free(KvmVcpu vcpu) { mmu_free_roots(vcpu); }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 2401, status = Origin.Status.SIMPLIFIED,
            note = "guest-paging gva_to_gpa walkers (paging32/64) come with shadow paging; nonpaging is used")
    int init_kvm_tdp_mmu(KvmVcpu vcpu) {
        KvmMmu context = vcpu.arch.mmu;
        context.new_cr3 = this::nonpaging_new_cr3;
        context.page_fault = this::tdp_page_fault;
        context.free = this::nonpaging_free;
        context.invlpg = (v, gva) -> { };
        context.shadow_root_level = x86.kvm_x86_ops.get_tdp_level();
        context.root_hpa = INVALID_PAGE;
        context.gva_to_gpa = this::nonpaging_gva_to_gpa;
        context.root_level = X86.is_paging(vcpu) ? (X86.is_long_mode(vcpu) ? PT64_ROOT_LEVEL
                : X86.is_pae(vcpu) ? PT32E_ROOT_LEVEL : PT32_ROOT_LEVEL) : 0;
        return 0;
    }

    /** Without EPT the guest's own page tables must be shadowed (paging_tmpl.h), which is the MMU issue's work. */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 2455, status = Origin.Status.SIMPLIFIED,
            note = "shadow paging (init_kvm_softmmu) not yet mirrored: without EPT the vCPU cannot be set up")
    int init_kvm_mmu(KvmVcpu vcpu) {
        if (tdp_enabled) return init_kvm_tdp_mmu(vcpu);
        throw new UnsupportedOperationException("mmu.c: shadow paging (ept=0) is not mirrored yet");
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 2465)
    void destroy_kvm_mmu(KvmVcpu vcpu) {
        if (VALID_PAGE(vcpu.arch.mmu.root_hpa)) {
            vcpu.arch.mmu.free.free(vcpu);
            vcpu.arch.mmu.root_hpa = INVALID_PAGE;
        }
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 2474)
    public int kvm_mmu_reset_context(KvmVcpu vcpu) {
        destroy_kvm_mmu(vcpu);
        return init_kvm_mmu(vcpu);
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 2481)
    public int kvm_mmu_load(KvmVcpu vcpu) {
        int r = mmu_topup_memory_caches(vcpu);
        if (r != 0) return r;
        synchronized (vcpu.kvm.mmu_lock) {
            r = mmu_alloc_roots(vcpu);
        }
        if (r != 0) return r;
        x86.kvm_x86_ops.set_cr3(vcpu, vcpu.arch.mmu.root_hpa);
        return 0;
    }

    /** mmu.h: loads the roots before entering the guest if they were dropped. */
    public int kvm_mmu_reload(KvmVcpu vcpu) {
        if (VALID_PAGE(vcpu.arch.mmu.root_hpa)) return 0;
        return kvm_mmu_load(vcpu);
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 2502)
    public void kvm_mmu_unload(KvmVcpu vcpu) { mmu_free_roots(vcpu); }

    /**
     * An exit the MMU must resolve: a fault it maps is retried by re-entering the guest; a fault on a
     * frame with no memory is emulated as MMIO.
     */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 2775)
    public int kvm_mmu_page_fault(KvmVcpu vcpu, long cr2, int error_code) {
        int r = vcpu.arch.mmu.page_fault.page_fault(vcpu, cr2, error_code);
        if (r < 0) return r;
        if (r == 0) return 1;
        r = mmu_topup_memory_caches(vcpu);
        if (r != 0) return r;
        int er = x86.emulate_instruction(vcpu, cr2, error_code, 0);
        switch (er) {
            case X86.EMULATE_DONE:
                return 1;
            case X86.EMULATE_DO_MMIO:
                ++vcpu.stat.mmio_exits;
                return 0;
            default:
                vcpu.run.exit_reason(KVM_EXIT_INTERNAL_ERROR);
                vcpu.run.internal.suberror(KVM_INTERNAL_ERROR_EMULATION);
                vcpu.run.internal.ndata(0);
                return 0;
        }
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 2814)
    public void kvm_mmu_invlpg(KvmVcpu vcpu, long gva) {
        vcpu.arch.mmu.invlpg.invlpg(vcpu, gva);
        x86.kvm_x86_ops.tlb_flush(vcpu);
        ++vcpu.stat.invlpg;
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 2822)
    public void kvm_enable_tdp() { tdp_enabled = true; }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 2828)
    public void kvm_disable_tdp() { tdp_enabled = false; }

    /** The PAE root page of the C is only used by shadow paging; TDP needs none. */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 2834)
    void free_mmu_pages(KvmVcpu vcpu) { }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 2839, status = Origin.Status.SIMPLIFIED,
            note = "no PAE root page: only shadow paging uses it")
    int alloc_mmu_pages(KvmVcpu vcpu) { return 0; }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 2865)
    public int kvm_mmu_create(KvmVcpu vcpu) { return alloc_mmu_pages(vcpu); }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 2873)
    public int kvm_mmu_setup(KvmVcpu vcpu) { return init_kvm_mmu(vcpu); }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 2881)
    public void kvm_mmu_destroy(KvmVcpu vcpu) {
        destroy_kvm_mmu(vcpu);
        free_mmu_pages(vcpu);
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 2910)
    public void kvm_mmu_zap_all(Kvm kvm) {
        synchronized (kvm.mmu_lock) {
            for (Object o : new ArrayList<>(kvm.arch.active_mmu_pages)) kvm_mmu_zap_page(kvm, (KvmMmuPage) o);
        }
        x86.kvm_main.kvm_flush_remote_tlbs(kvm);
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 2983)
    void kvm_mmu_module_exit() { }

    /** The slab caches of the C have no Java counterpart; the function is kept for the init path. */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 2989, status = Origin.Status.SIMPLIFIED,
            note = "no slab caches or shrinker")
    int kvm_mmu_module_init() { return 0; }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 3020)
    int kvm_mmu_calculate_mmu_pages(Kvm kvm) {
        long nr_pages = 0;
        for (int i = 0; i < kvm.nmemslots; i++) nr_pages += kvm.memslots[i].npages;
        int nr_mmu_pages = (int) (nr_pages * KVM_PERMILLE_MMU_PAGES / 1000);
        return Math.max(nr_mmu_pages, KVM_MIN_ALLOC_MMU_PAGES);
    }
}
