package kvmkmod.x86;

import kvmkmod.hw.HostMemory;
import kvmkmod.include.Kvm;
import kvmkmod.include.KvmMemorySlot;
import kvmkmod.include.KvmMmu;
import kvmkmod.include.KvmVcpu;
import kvmkmod.include.Origin;

import java.util.ArrayList;
import java.util.BitSet;
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
import static kvmkmod.kvm_main.KvmMain.KVM_REQ_MMU_SYNC;
import static kvmkmod.kvm_main.KvmMain.KVM_REQ_TRIPLE_FAULT;

/**
 * arch/x86/kvm/mmu.c: the tables the processor walks to reach host memory. With EPT (tdp_enabled)
 * they are the EPT tables: an EPT violation comes back as kvm_mmu_page_fault → tdp_page_fault →
 * __direct_map. Without EPT they are shadow page tables: the guest's own tables are walked by
 * {@link PagingTmpl} (paging_tmpl.h), and each shadow page mirrors one guest table page, which is
 * write-protected (rmap_write_protect) so that a guest write to it comes back through the emulator
 * to kvm_mmu_pte_write — or, with oos_shadow, is left writable and resynchronised later (kvm_unsync_page,
 * kvm_sync_page). Table pages are host pages; every entry is read and written by host-physical address,
 * exactly where the processor will look for it.
 */
public final class Mmu {
    final X86 x86;

    /** Module parameter oos_shadow (mmu.c:71): let leaf shadow pages go out of sync with the guest's. */
    public boolean oos_shadow = true;

    // mmu.h and mmu.c:90-170
    public static final long PT_PRESENT_MASK = 1L << 0, PT_WRITABLE_MASK = 1L << 1, PT_USER_MASK = 1L << 2,
            PT_ACCESSED_MASK = 1L << 5, PT_DIRTY_MASK = 1L << 6, PT_PAGE_SIZE_MASK = 1L << 7,
            PT64_NX_MASK = 1L << 63;
    public static final int PT64_ROOT_LEVEL = 4, PT32E_ROOT_LEVEL = 3, PT32_ROOT_LEVEL = 2;
    public static final int PT_PDPE_LEVEL = 3, PT_DIRECTORY_LEVEL = 2, PT_PAGE_TABLE_LEVEL = 1;
    static final int PT64_LEVEL_BITS = 9, PT64_ENT_PER_PAGE = 512, PT32_LEVEL_BITS = 10;
    static final int PT64_PT_BITS = 9, PT32_PT_BITS = 10;
    public static final long PT64_BASE_ADDR_MASK = ((1L << 52) - 1) & ~(long) (PAGE_SIZE - 1);
    static final long PT64_PERM_MASK = PT_PRESENT_MASK | PT_WRITABLE_MASK | PT_USER_MASK | PT64_NX_MASK;
    static final int ACC_EXEC_MASK = 1, ACC_WRITE_MASK = (int) PT_WRITABLE_MASK, ACC_USER_MASK = (int) PT_USER_MASK,
            ACC_ALL = ACC_EXEC_MASK | ACC_WRITE_MASK | ACC_USER_MASK;
    static final long SPTE_HOST_WRITEABLE = 1L << 9;
    static final int KVM_MMU_HASH_SHIFT = 10;
    static final int KVM_PERMILLE_MMU_PAGES = 20, KVM_MIN_ALLOC_MMU_PAGES = 64;
    static final int KVM_MIN_FREE_MMU_PAGES = 5, KVM_REFILL_PAGES = 25;
    static final long CR3_NONPAE_RESERVED_BITS = 0xfe7L;
    /** Page-fault error-code bits (PFERR_*). */
    public static final int PFERR_PRESENT_MASK = 1, PFERR_WRITE_MASK = 2, PFERR_USER_MASK = 4, PFERR_RSVD_MASK = 8,
            PFERR_FETCH_MASK = 16;

    /**
     * union kvm_mmu_page_role, packed as in asm/kvm_host.h: glevels:4 level:4 quadrant:2 pad:6 direct:1
     * access:3 invalid:1 cr4_pge:1 nxe:1.
     */
    static final int ROLE_GLEVELS_MASK = 0xf, ROLE_LEVEL_SHIFT = 4, ROLE_QUADRANT_SHIFT = 8, ROLE_DIRECT = 1 << 16,
            ROLE_ACCESS_SHIFT = 17, ROLE_INVALID = 1 << 20;
    public static final int ROLE_CR4_PGE = 1 << 21, ROLE_NXE = 1 << 22;

    /** Sets or clears one bit of the vCPU's base_role (the part of every new page's role that the paging mode gives). */
    static void setBaseRole(KvmVcpu vcpu, int bit, boolean on) {
        vcpu.arch.mmu.base_role = on ? vcpu.arch.mmu.base_role | bit : vcpu.arch.mmu.base_role & ~bit;
    }

    // The module's shadow-pte templates (set by kvm_arch_init and vmx_init)
    long shadow_trap_nonpresent_pte, shadow_notrap_nonpresent_pte, shadow_base_present_pte;
    long shadow_nx_mask, shadow_x_mask, shadow_user_mask, shadow_accessed_mask, shadow_dirty_mask;
    public boolean tdp_enabled;

    /** page_header: the kvm_mmu_page that owns a table page, by its host-physical address. */
    private final Map<Long, KvmMmuPage> page_header = new ConcurrentHashMap<>();
    /** Reverse-map descriptors for frames mapped more than once (struct kvm_rmap_desc). */
    private final Map<Long, List<Long>> rmap_desc = new ConcurrentHashMap<>();
    private long next_desc;

    /** The two instances of paging_tmpl.h (PTTYPE 64 and 32); PAE guests use paging64 with three levels. */
    final PagingTmpl paging64 = new PagingTmpl.Paging64(this), paging32 = new PagingTmpl.Paging32(this);

    /** struct kvm_mmu_page: one page of EPT/shadow entries and what it maps. */
    public static final class KvmMmuPage {
        public long gfn;
        public int role;
        /** The table page itself. */
        public HostMemory.Region spt;
        /** The guest frame each entry maps (sp->gfns). */
        public final long[] gfns = new long[PT64_ENT_PER_PAGE];
        /** Host-physical addresses of the entries that point at this page (parent_pte / parent_ptes). */
        public final List<Long> parent_ptes = new ArrayList<>();
        public int root_count;
        public boolean unsync;
        public int unsync_children;
        public final BitSet unsync_child_bitmap = new BitSet(PT64_ENT_PER_PAGE);
        /** The memory slots whose frames this page maps (slot_bitmap). */
        public long slot_bitmap;

        public int level() { return (role >>> ROLE_LEVEL_SHIFT) & 0xf; }
        public int glevels() { return role & ROLE_GLEVELS_MASK; }
        public int quadrant() { return (role >>> ROLE_QUADRANT_SHIFT) & 3; }
        public int access() { return (role >>> ROLE_ACCESS_SHIFT) & 7; }
        public boolean direct() { return (role & ROLE_DIRECT) != 0; }
        public boolean invalid() { return (role & ROLE_INVALID) != 0; }
        int index(long sptep) { return (int) ((sptep - spt.hpa) >>> 3); }
        long spte(int i) { return spt.buf.getLong(8 * i); }
    }

    Mmu(X86 x86) { this.x86 = x86; }

    HostMemory mem() { return x86.kvm_main.kernel.platform.memory(); }

    /** The kvm_mmu_page whose table holds host-physical address {@code hpa}, or null. */
    public KvmMmuPage page_header(long hpa) { return page_header.get(hpa & PT64_BASE_ADDR_MASK); }

    /** Every table page of a VM, newest first (kvm->arch.active_mmu_pages), for views and tests. */
    public static List<KvmMmuPage> activePages(Kvm kvm) {
        List<KvmMmuPage> r = new ArrayList<>();
        synchronized (kvm.mmu_lock) { for (Object o : kvm.arch.active_mmu_pages) r.add((KvmMmuPage) o); }
        return r;
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 201)
    static long rsvd_bits(int s, int e) { return ((1L << (e - s + 1)) - 1) << s; }

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

    @Origin(file = "arch/x86/kvm/mmu.c", line = 230)
    static boolean is_write_protection(KvmVcpu vcpu) { return (vcpu.arch.cr0 & X86.X86_CR0_WP) != 0; }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 240)
    static boolean is_nx(KvmVcpu vcpu) { return (vcpu.arch.shadow_efer & X86.EFER_NX) != 0; }

    /** Whether a shadow/EPT entry maps something (not one of the two non-present patterns). */
    public boolean shadowPresent(long pte) { return is_shadow_present_pte(this, pte); }

    /** Static in the C, reading the module's two non-present patterns; here they belong to the Mmu. */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 245)
    static boolean is_shadow_present_pte(Mmu m, long pte) {
        return pte != m.shadow_trap_nonpresent_pte && pte != m.shadow_notrap_nonpresent_pte;
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 251)
    static boolean is_large_pte(long pte) { return (pte & PT_PAGE_SIZE_MASK) != 0; }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 256)
    static boolean is_writeble_pte(long pte) { return (pte & PT_WRITABLE_MASK) != 0; }

    /** mmu.h: is_present_gpte. */
    static boolean is_present_gpte(long pte) { return (pte & PT_PRESENT_MASK) != 0; }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 261)
    static boolean is_dirty_gpte(long pte) { return (pte & PT_DIRTY_MASK) != 0; }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 266)
    boolean is_rmap_spte(long pte) { return is_shadow_present_pte(this, pte); }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 271)
    static boolean is_last_spte(long pte, int level) {
        return level == PT_PAGE_TABLE_LEVEL || is_large_pte(pte);
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 280)
    static long spte_to_pfn(long pte) { return (pte & PT64_BASE_ADDR_MASK) >>> PAGE_SHIFT; }

    /** Shadow/EPT entries are written with one 64-bit store, as the processor may read them at any time. */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 292)
    void __set_spte(long sptep, long spte) { mem().write64(sptep, spte); }

    long get_spte(long sptep) { return mem().read64(sptep); }

    /** Java allocates on demand, so there is no per-vCPU object cache to refill before taking mmu_lock. */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 346, status = Origin.Status.SIMPLIFIED,
            note = "no memory caches: pages are allocated when needed")
    int mmu_topup_memory_caches(KvmVcpu vcpu) { return 0; }

    /** The lpage_info of the large page of {@code level} that holds gfn in its slot. */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 411)
    static KvmMemorySlot.KvmLpageInfo slot_largepage_idx(long gfn, KvmMemorySlot slot, int level) {
        long per = KvmMemorySlot.KVM_PAGES_PER_HPAGE(level);
        int idx = (int) (gfn / per - slot.base_gfn / per);
        return slot.lpage_info[level - 2][idx];
    }

    /** A shadowed guest table in a frame forbids mapping the large pages around it (they must stay protectable). */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 422)
    void account_shadowed(Kvm kvm, long gfn) {
        KvmMemorySlot slot = x86.kvm_main.gfn_to_memslot(kvm, gfn);
        if (slot == null) return;
        for (int i = PT_DIRECTORY_LEVEL; i < PT_PAGE_TABLE_LEVEL + KvmMemorySlot.KVM_NR_PAGE_SIZES; ++i)
            slot_largepage_idx(gfn, slot, i).write_count += 1;
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 438)
    void unaccount_shadowed(Kvm kvm, long gfn) {
        KvmMemorySlot slot = x86.kvm_main.gfn_to_memslot(kvm, gfn);
        if (slot == null) return;
        for (int i = PT_DIRECTORY_LEVEL; i < PT_PAGE_TABLE_LEVEL + KvmMemorySlot.KVM_NR_PAGE_SIZES; ++i)
            slot_largepage_idx(gfn, slot, i).write_count -= 1;
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 454)
    int has_wrprotected_page(Kvm kvm, long gfn, int level) {
        KvmMemorySlot slot = x86.kvm_main.gfn_to_memslot(kvm, gfn);
        if (slot != null) return slot_largepage_idx(gfn, slot, level).write_count;
        return 1;
    }

    /** The largest page the host backs gfn with: 2 MiB for hugetlbfs memory, else 4 KiB (vma_kernel_pagesize). */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 471)
    int host_mapping_level(Kvm kvm, long gfn) {
        long page_size = PAGE_SIZE;
        long addr = x86.kvm_main.gfn_to_hva(kvm, gfn);
        if (kvmkmod.kvm_main.KvmMain.kvm_is_error_hva(addr)) return PT_PAGE_TABLE_LEVEL;
        HostMemory.Region vma = mem().regionAtVa(addr, 1);
        if (vma != null) page_size = vma.pageSize;
        int ret = 0;
        for (int i = PT_PAGE_TABLE_LEVEL; i < PT_PAGE_TABLE_LEVEL + KvmMemorySlot.KVM_NR_PAGE_SIZES; ++i) {
            if (page_size >= (PAGE_SIZE * KvmMemorySlot.KVM_PAGES_PER_HPAGE(i))) ret = i;
            else break;
        }
        return ret;
    }

    /**
     * The level to map large_gfn at: as large as the host page behind it, unless the slot logs dirty pages
     * or a frame in the way holds a shadowed guest table (or lies at an unaligned slot edge).
     */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 503)
    int mapping_level(KvmVcpu vcpu, long large_gfn) {
        KvmMemorySlot slot = x86.kvm_main.gfn_to_memslot(vcpu.kvm, large_gfn);
        if (slot != null && slot.dirty_bitmap != null) return PT_PAGE_TABLE_LEVEL;
        int host_level = host_mapping_level(vcpu.kvm, large_gfn);
        if (host_level == PT_PAGE_TABLE_LEVEL) return host_level;
        int level;
        for (level = PT_DIRECTORY_LEVEL; level <= host_level; ++level)
            if (has_wrprotected_page(vcpu.kvm, large_gfn, level) != 0) break;
        return level - 1;
    }

    /** Where the reverse map of one frame at one level starts: slot.rmap[i], or lpage_info's rmap_pde. */
    static final class Rmapp {
        final KvmMemorySlot slot;
        final int level, idx;

        Rmapp(KvmMemorySlot slot, int level, int idx) { this.slot = slot; this.level = level; this.idx = idx; }

        long get() { return level == PT_PAGE_TABLE_LEVEL ? slot.rmap[idx] : slot.lpage_info[level - 2][idx].rmap_pde; }

        void set(long v) {
            if (level == PT_PAGE_TABLE_LEVEL) slot.rmap[idx] = v;
            else slot.lpage_info[level - 2][idx].rmap_pde = v;
        }
    }

    /** The reverse-map head of gfn at level (a 4 KiB frame, or the large page holding it); null without a slot. */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 530)
    Rmapp gfn_to_rmap(Kvm kvm, long gfn, int level) {
        KvmMemorySlot slot = x86.kvm_main.gfn_to_memslot(kvm, gfn);
        if (slot == null || slot.rmap == null) return null;
        if (level == PT_PAGE_TABLE_LEVEL) return new Rmapp(slot, level, (int) (gfn - slot.base_gfn));
        long per = KvmMemorySlot.KVM_PAGES_PER_HPAGE(level);
        return new Rmapp(slot, level, (int) (gfn / per - slot.base_gfn / per));
    }

    /** Records that the entry at sptep maps gfn; returns how many other entries map it. */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 558, status = Origin.Status.SIMPLIFIED,
            note = "descriptors are Java lists")
    int rmap_add(KvmVcpu vcpu, long spte, long gfn) {
        if (!is_rmap_spte(get_spte(spte))) return 0;
        KvmMmuPage sp = page_header(spte);
        if (sp == null) return 0;
        sp.gfns[sp.index(spte)] = gfn;
        Rmapp rmapp = gfn_to_rmap(vcpu.kvm, gfn, sp.level());
        if (rmapp == null) return 0;
        long r = rmapp.get();
        if (r == 0) {
            rmapp.set(spte);
            return 0;
        }
        if ((r & 1) == 0) {
            List<Long> desc = new ArrayList<>();
            desc.add(r);
            desc.add(spte);
            long id;
            synchronized (rmap_desc) { id = ++next_desc; }
            rmap_desc.put(id, desc);
            rmapp.set((id << 1) | 1);
            return 1;
        }
        List<Long> desc = rmap_desc.get(r >>> 1);
        desc.add(spte);
        return desc.size() - 1;
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 621, status = Origin.Status.SIMPLIFIED,
            note = "descriptors are Java lists; no page reference counts")
    void rmap_remove(Kvm kvm, long spte) {
        if (!is_rmap_spte(get_spte(spte))) return;
        KvmMmuPage sp = page_header(spte);
        if (sp == null) return;
        long gfn = sp.gfns[sp.index(spte)];
        Rmapp rmapp = gfn_to_rmap(kvm, gfn, sp.level());
        if (rmapp == null) return;
        long r = rmapp.get();
        if (r == spte) {
            rmapp.set(0);
        } else if ((r & 1) != 0) {
            List<Long> desc = rmap_desc.get(r >>> 1);
            desc.remove(spte);
            if (desc.size() == 1) {
                rmapp.set(desc.get(0));
                rmap_desc.remove(r >>> 1);
            }
        }
    }

    /** The entries on one reverse map, in order (rmap_next walked from the head to the end). */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 669, status = Origin.Status.SIMPLIFIED,
            note = "returns the whole chain at once instead of one entry per call")
    List<Long> rmap_next(Rmapp rmapp) {
        long r = rmapp.get();
        if (r == 0) return List.of();
        if ((r & 1) == 0) return List.of(r);
        List<Long> desc = rmap_desc.get(r >>> 1);
        return desc == null ? List.of() : new ArrayList<>(desc);
    }

    /**
     * Makes every 4 KiB entry that maps gfn read-only, and drops every writable large mapping that covers
     * it; says whether any was writable.
     */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 697)
    int rmap_write_protect(Kvm kvm, long gfn) {
        Rmapp rmapp = gfn_to_rmap(kvm, gfn, PT_PAGE_TABLE_LEVEL);
        if (rmapp == null) return 0;
        int write_protected = 0;
        for (long spte : rmap_next(rmapp)) {
            long v = get_spte(spte);
            if (is_writeble_pte(v)) {
                __set_spte(spte, v & ~PT_WRITABLE_MASK);
                write_protected = 1;
            }
        }
        for (int i = PT_DIRECTORY_LEVEL; i < PT_PAGE_TABLE_LEVEL + KvmMemorySlot.KVM_NR_PAGE_SIZES; ++i) {
            rmapp = gfn_to_rmap(kvm, gfn, i);
            for (long spte : rmap_next(rmapp)) {
                if (is_writeble_pte(get_spte(spte))) {
                    rmap_remove(kvm, spte);
                    --kvm.stat.lpages;
                    __set_spte(spte, shadow_trap_nonpresent_pte);
                    write_protected = 1;
                }
            }
        }
        return write_protected;
    }

    /** Drops every entry on one reverse map; says whether a TLB flush is needed. */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 749)
    int kvm_unmap_rmapp(Kvm kvm, Rmapp rmapp, long data) {
        int need_tlb_flush = 0;
        for (long spte : rmap_next(rmapp)) {
            rmap_remove(kvm, spte);
            __set_spte(spte, shadow_trap_nonpresent_pte);
            need_tlb_flush = 1;
        }
        return need_tlb_flush;
    }

    /** A frame mapped by too many entries (RMAP_RECYCLE_THRESHOLD): all of them are dropped. */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 880)
    void rmap_recycle(KvmVcpu vcpu, long spte, long gfn) {
        KvmMmuPage sp = page_header(spte);
        Rmapp rmapp = gfn_to_rmap(vcpu.kvm, gfn, sp.level());
        kvm_unmap_rmapp(vcpu.kvm, rmapp, 0);
        x86.kvm_main.kvm_flush_remote_tlbs(vcpu.kvm);
    }

    static final int RMAP_RECYCLE_THRESHOLD = 1000;

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
        if (parent_pte != 0) sp.parent_ptes.add(parent_pte);
        --vcpu.kvm.arch.n_free_mmu_pages;
        return sp;
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 948)
    void mmu_page_add_parent_pte(KvmVcpu vcpu, KvmMmuPage sp, long parent_pte) {
        if (parent_pte == 0) return;
        sp.parent_ptes.add(parent_pte);
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 985)
    void mmu_page_remove_parent_pte(KvmMmuPage sp, long parent_pte) {
        if (sp != null) sp.parent_ptes.remove(parent_pte);
    }

    /** Calls fn on every page that points at sp, and on their parents for as long as fn says so. */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 1024)
    void mmu_parent_walk(KvmMmuPage sp, java.util.function.Predicate<KvmMmuPage> fn) {
        for (long pte : new ArrayList<>(sp.parent_ptes)) {
            KvmMmuPage parent = page_header(pte);
            if (parent != null && fn.test(parent)) mmu_parent_walk(parent, fn);
        }
    }

    /** Marks, in the page holding spte, that the child it points at has unsync pages below it. */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 1048)
    void kvm_mmu_update_unsync_bitmap(long spte) {
        KvmMmuPage sp = page_header(spte);
        if (sp == null) return;
        int index = sp.index(spte);
        if (!sp.unsync_child_bitmap.get(index)) {
            sp.unsync_child_bitmap.set(index);
            sp.unsync_children++;
        }
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 1059)
    void kvm_mmu_update_parents_unsync(KvmMmuPage sp) {
        for (long pte : sp.parent_ptes) kvm_mmu_update_unsync_bitmap(pte);
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 1081)
    boolean unsync_walk_fn(KvmMmuPage sp) {
        kvm_mmu_update_parents_unsync(sp);
        return true;
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 1087)
    void kvm_mmu_mark_parents_unsync(KvmVcpu vcpu, KvmMmuPage sp) {
        mmu_parent_walk(sp, this::unsync_walk_fn);
        kvm_mmu_update_parents_unsync(sp);
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 1094)
    void nonpaging_prefetch_page(KvmVcpu vcpu, KvmMmuPage sp) {
        for (int i = 0; i < PT64_ENT_PER_PAGE; ++i) sp.spt.buf.putLong(8 * i, shadow_trap_nonpresent_pte);
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 1103)
    int nonpaging_sync_page(KvmVcpu vcpu, KvmMmuPage sp) { return 1; }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 1109)
    void nonpaging_invlpg(KvmVcpu vcpu, long gva) { }

    /** One level of the unsync walk: each child marked in the bitmap, its unsync pages first. */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 1144, status = Origin.Status.SIMPLIFIED,
            note = "collects into a list, clearing each child bit as it goes (no kvm_mmu_pages vector)")
    void __mmu_unsync_walk(KvmMmuPage sp, List<KvmMmuPage> pages) {
        for (int i = sp.unsync_child_bitmap.nextSetBit(0); i >= 0; i = sp.unsync_child_bitmap.nextSetBit(i + 1)) {
            long ent = sp.spte(i);
            KvmMmuPage child = is_shadow_present_pte(this, ent) ? page_header(ent & PT64_BASE_ADDR_MASK) : null;
            if (child != null && child.unsync_children != 0) __mmu_unsync_walk(child, pages);
            if (child != null && child.unsync) pages.add(child);
            sp.unsync_child_bitmap.clear(i);
            sp.unsync_children--;
        }
    }

    /**
     * Collects the unsync leaf pages below sp, depth first, in order (mmu_unsync_walk with
     * __mmu_unsync_walk); clears the child bits of parents that have no unsync page left below them.
     */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 1183, status = Origin.Status.SIMPLIFIED,
            note = "returns all unsync pages in one list; parents' child bits are cleared during the walk")
    List<KvmMmuPage> mmu_unsync_walk(KvmMmuPage sp) {
        List<KvmMmuPage> pages = new ArrayList<>();
        __mmu_unsync_walk(sp, pages);
        return pages;
    }

    /** The one shadow page (not direct) for gfn, if any. */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 1193)
    KvmMmuPage kvm_mmu_lookup_page(Kvm kvm, long gfn) {
        List<Object> bucket = kvm.arch.mmu_page_hash.get(kvm_page_table_hashfn(gfn));
        if (bucket == null) return null;
        for (Object o : bucket) {
            KvmMmuPage sp = (KvmMmuPage) o;
            if (sp.gfn == gfn && !sp.direct() && !sp.invalid()) return sp;
        }
        return null;
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 1213)
    void kvm_unlink_unsync_page(Kvm kvm, KvmMmuPage sp) {
        sp.unsync = false;
        --kvm.stat.mmu_unsync;
    }

    /** Write-protects an unsync page again and brings its entries up to date with the guest's table. */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 1222)
    int kvm_sync_page(KvmVcpu vcpu, KvmMmuPage sp) {
        if (sp.glevels() != vcpu.arch.mmu.root_level) {
            kvm_mmu_zap_page(vcpu.kvm, sp);
            return 1;
        }
        if (rmap_write_protect(vcpu.kvm, sp.gfn) != 0) x86.kvm_main.kvm_flush_remote_tlbs(vcpu.kvm);
        kvm_unlink_unsync_page(vcpu.kvm, sp);
        if (vcpu.arch.mmu.sync_page.sync_page(vcpu, sp) != 0) {
            kvm_mmu_zap_page(vcpu.kvm, sp);
            return 1;
        }
        kvm_mmu_flush_tlb(vcpu);
        return 0;
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 1301, status = Origin.Status.SIMPLIFIED,
            note = "one pass over the collected pages; no cond_resched_lock")
    void mmu_sync_children(KvmVcpu vcpu, KvmMmuPage parent) {
        List<KvmMmuPage> pages;
        while (!(pages = mmu_unsync_walk(parent)).isEmpty()) {
            int protected_ = 0;
            for (KvmMmuPage sp : pages) protected_ |= rmap_write_protect(vcpu.kvm, sp.gfn);
            if (protected_ != 0) x86.kvm_main.kvm_flush_remote_tlbs(vcpu.kvm);
            for (KvmMmuPage sp : pages) if (sp.unsync) kvm_sync_page(vcpu, sp);
        }
    }

    /**
     * Finds the table page for (gfn, role) in the VM's hash, or allocates one. A new shadow page of a
     * guest table write-protects that table, so the guest's edits of it come back to the MMU.
     */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 1328)
    KvmMmuPage kvm_mmu_get_page(KvmVcpu vcpu, long gfn, long gaddr, int level, int direct, int access, long parent_pte) {
        int role = vcpu.arch.mmu.base_role;
        role = (role & ~(0xf << ROLE_LEVEL_SHIFT)) | (level << ROLE_LEVEL_SHIFT);
        role = direct != 0 ? role | ROLE_DIRECT : role & ~ROLE_DIRECT;
        role = (role & ~(7 << ROLE_ACCESS_SHIFT)) | (access << ROLE_ACCESS_SHIFT);
        if (vcpu.arch.mmu.root_level <= PT32_ROOT_LEVEL) {
            // a 32-bit guest table has 1024 entries: which half (or quarter, for a PDE page) this page shadows
            long quadrant = gaddr >>> (PAGE_SHIFT + (PT64_PT_BITS * level));
            quadrant &= (1L << ((PT32_PT_BITS - PT64_PT_BITS) * level)) - 1;
            role = (role & ~(3 << ROLE_QUADRANT_SHIFT)) | ((int) quadrant << ROLE_QUADRANT_SHIFT);
        }
        long index = kvm_page_table_hashfn(gfn);
        List<Object> bucket = vcpu.kvm.arch.mmu_page_hash.computeIfAbsent(index, k -> new ArrayList<>());
        for (Object o : new ArrayList<>(bucket)) {
            KvmMmuPage sp = (KvmMmuPage) o;
            if (sp.gfn != gfn) continue;
            if (sp.unsync && kvm_sync_page(vcpu, sp) != 0) continue;
            if (sp.role != role) continue;
            mmu_page_add_parent_pte(vcpu, sp, parent_pte);
            if (sp.unsync_children != 0) {
                vcpu.requests |= 1L << KVM_REQ_MMU_SYNC;
                kvm_mmu_mark_parents_unsync(vcpu, sp);
            }
            return sp;
        }
        ++vcpu.kvm.stat.mmu_cache_miss;
        KvmMmuPage sp = kvm_mmu_alloc_page(vcpu, parent_pte);
        if (sp == null) return null;
        sp.gfn = gfn;
        sp.role = role;
        bucket.add(0, sp);
        if (direct == 0) {
            if (rmap_write_protect(vcpu.kvm, gfn) != 0) x86.kvm_main.kvm_flush_remote_tlbs(vcpu.kvm);
            account_shadowed(vcpu.kvm, gfn);
        }
        if (shadow_trap_nonpresent_pte != shadow_notrap_nonpresent_pte)
            vcpu.arch.mmu.prefetch_page.prefetch_page(vcpu, sp);
        else
            nonpaging_prefetch_page(vcpu, sp);
        return sp;
    }

    /** struct kvm_shadow_walk_iterator with shadow_walk_init/okay/next: a walk down the tables for addr. */
    public final class ShadowWalk {
        public long addr;
        long shadow_addr;
        public long sptep;
        public int level;
        int index;

        /** A PAE root starts one level down, at the quarter of the address space the address lies in. */
        @Origin(file = "arch/x86/kvm/mmu.c", line = 1391)
        public void shadow_walk_init(KvmVcpu vcpu, long a) {
            addr = a;
            shadow_addr = vcpu.arch.mmu.root_hpa;
            level = vcpu.arch.mmu.shadow_root_level;
            if (level == PT32E_ROOT_LEVEL) {
                shadow_addr = vcpu.arch.mmu.pae_root.buf.getLong(8 * (int) ((a >>> 30) & 3));
                shadow_addr &= PT64_BASE_ADDR_MASK;
                --level;
                if (shadow_addr == 0) level = 0;
            }
        }

        @Origin(file = "arch/x86/kvm/mmu.c", line = 1407)
        public boolean shadow_walk_okay() {
            if (level < PT_PAGE_TABLE_LEVEL) return false;
            if (level == PT_PAGE_TABLE_LEVEL && is_large_pte(mem().read64(sptep))) return false;
            index = (int) ((addr >>> (PAGE_SHIFT + (level - 1) * PT64_LEVEL_BITS)) & (PT64_ENT_PER_PAGE - 1));
            sptep = shadow_addr + 8L * index;
            return true;
        }

        @Origin(file = "arch/x86/kvm/mmu.c", line = 1421)
        public void shadow_walk_next() {
            shadow_addr = mem().read64(sptep) & PT64_BASE_ADDR_MASK;
            --level;
        }
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 1427)
    void kvm_mmu_page_unlink_children(Kvm kvm, KvmMmuPage sp) {
        for (int i = 0; i < PT64_ENT_PER_PAGE; ++i) {
            long entp = sp.spt.hpa + 8L * i;
            long ent = sp.spte(i);
            if (is_shadow_present_pte(this, ent)) {
                if (!is_last_spte(ent, sp.level())) {
                    mmu_page_remove_parent_pte(page_header(ent & PT64_BASE_ADDR_MASK), entp);
                } else {
                    if (is_large_pte(ent)) --kvm.stat.lpages;
                    rmap_remove(kvm, entp);
                }
            }
            sp.spt.buf.putLong(8 * i, shadow_trap_nonpresent_pte);
        }
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 1454)
    void kvm_mmu_put_page(KvmMmuPage sp, long parent_pte) { mmu_page_remove_parent_pte(sp, parent_pte); }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 1459)
    void kvm_mmu_reset_last_pte_updated(Kvm kvm) {
        for (KvmVcpu v : kvm.vcpus) if (v != null) v.arch.last_pte_updated = 0;
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 1468)
    void kvm_mmu_unlink_parents(Kvm kvm, KvmMmuPage sp) {
        for (long parent_pte : new ArrayList<>(sp.parent_ptes)) {
            kvm_mmu_put_page(sp, parent_pte);
            __set_spte(parent_pte, shadow_trap_nonpresent_pte);
        }
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 1488)
    int mmu_zap_unsync_children(Kvm kvm, KvmMmuPage parent) {
        if (parent.level() == PT_PAGE_TABLE_LEVEL) return 0;
        int zapped = 0;
        List<KvmMmuPage> pages;
        while (!(pages = mmu_unsync_walk(parent)).isEmpty()) {
            for (KvmMmuPage sp : pages) {
                kvm_mmu_zap_page(kvm, sp);
                zapped++;
            }
        }
        return zapped;
    }

    /** Drops a table page: its entries, the entries pointing at it, and the page itself once no root uses it. */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 1513)
    int kvm_mmu_zap_page(Kvm kvm, KvmMmuPage sp) {
        if (!kvm.arch.active_mmu_pages.contains(sp)) return 0;
        ++kvm.stat.mmu_shadow_zapped;
        int ret = mmu_zap_unsync_children(kvm, sp);
        kvm_mmu_page_unlink_children(kvm, sp);
        kvm_mmu_unlink_parents(kvm, sp);
        x86.kvm_main.kvm_flush_remote_tlbs(kvm);
        if (!sp.invalid() && !sp.direct()) unaccount_shadowed(kvm, sp.gfn);
        if (sp.unsync) kvm_unlink_unsync_page(kvm, sp);
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
        kvm_mmu_reset_last_pte_updated(kvm);
        return ret;
    }

    /** Sets the VM's budget of table pages, zapping the oldest pages when it shrinks below use. */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 1543)
    public void kvm_mmu_change_mmu_pages(Kvm kvm, int kvm_nr_mmu_pages) {
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

    /** Zaps every shadow page of gfn, so the guest may write that frame freely again. */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 1576)
    int kvm_mmu_unprotect_page(Kvm kvm, long gfn) {
        int r = 0;
        List<Object> bucket = kvm.arch.mmu_page_hash.get(kvm_page_table_hashfn(gfn));
        if (bucket == null) return 0;
        for (Object o : new ArrayList<>(bucket)) {
            KvmMmuPage sp = (KvmMmuPage) o;
            if (sp.gfn == gfn && !sp.direct()) {
                r = 1;
                kvm_mmu_zap_page(kvm, sp);
            }
        }
        return r;
    }

    /** Like kvm_mmu_unprotect_page, but leaves pages already marked invalid to their last root's release. */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 1599)
    void mmu_unshadow(Kvm kvm, long gfn) {
        List<Object> bucket = kvm.arch.mmu_page_hash.get(kvm_page_table_hashfn(gfn));
        if (bucket == null) return;
        for (Object o : new ArrayList<>(bucket)) {
            KvmMmuPage sp = (KvmMmuPage) o;
            if (sp.gfn == gfn && !sp.direct() && !sp.invalid()) kvm_mmu_zap_page(kvm, sp);
        }
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 1619)
    void page_header_update_slot(Kvm kvm, long pte, long gfn) {
        KvmMemorySlot slot = x86.kvm_main.gfn_to_memslot(kvm, gfn);
        KvmMmuPage sp = page_header(pte);
        if (slot == null || sp == null) return;
        for (int i = 0; i < kvm.nmemslots; i++) if (kvm.memslots[i] == slot) sp.slot_bitmap |= 1L << i;
    }

    /** An unsync page's not-present entries must trap, so that the guest's new entries are looked at. */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 1627)
    void mmu_convert_notrap(KvmMmuPage sp) {
        for (int i = 0; i < PT64_ENT_PER_PAGE; ++i)
            if (sp.spte(i) == shadow_notrap_nonpresent_pte) __set_spte(sp.spt.hpa + 8L * i, shadow_trap_nonpresent_pte);
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 1760)
    int kvm_unsync_page(KvmVcpu vcpu, KvmMmuPage sp) {
        List<Object> bucket = vcpu.kvm.arch.mmu_page_hash.get(kvm_page_table_hashfn(sp.gfn));
        if (bucket != null) {
            for (Object o : bucket) {
                KvmMmuPage s = (KvmMmuPage) o;
                if (s.gfn != sp.gfn || s.direct()) continue;
                if (s.role != sp.role) return 1; // shadowed in more than one role: keep it protected
            }
        }
        ++vcpu.kvm.stat.mmu_unsync;
        sp.unsync = true;
        kvm_mmu_mark_parents_unsync(vcpu, sp);
        mmu_convert_notrap(sp);
        return 0;
    }

    /** Whether a writable mapping of gfn must be refused because gfn holds a shadowed guest table. */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 1786)
    int mmu_need_write_protect(KvmVcpu vcpu, long gfn, boolean can_unsync) {
        KvmMmuPage shadow = kvm_mmu_lookup_page(vcpu.kvm, gfn);
        if (shadow != null) {
            if (shadow.level() != PT_PAGE_TABLE_LEVEL) return 1;
            if (shadow.unsync) return 0;
            if (can_unsync && oos_shadow) return kvm_unsync_page(vcpu, shadow);
            return 1;
        }
        return 0;
    }

    /**
     * Builds one leaf entry. Returns 1 when a write had to be refused because the frame holds a shadowed
     * guest table (the faulting write is then emulated).
     */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 1804)
    int set_spte(KvmVcpu vcpu, long sptep, int pte_access, int user_fault, int write_fault, int dirty, int level,
                 long gfn, long pfn, boolean speculative, boolean can_unsync, boolean reset_host_protection) {
        int ret = 0;
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
        if ((pte_access & ACC_WRITE_MASK) != 0 || (write_fault != 0 && !is_write_protection(vcpu) && user_fault == 0)) {
            if (level > PT_PAGE_TABLE_LEVEL && has_wrprotected_page(vcpu.kvm, gfn, level) != 0) {
                __set_spte(sptep, shadow_trap_nonpresent_pte);
                return 1;
            }
            spte |= PT_WRITABLE_MASK;
            if (!can_unsync && is_writeble_pte(get_spte(sptep))) {
                __set_spte(sptep, spte);
                return ret;
            }
            if (mmu_need_write_protect(vcpu, gfn, can_unsync) != 0) {
                ret = 1;
                pte_access &= ~ACC_WRITE_MASK;
                spte &= ~PT_WRITABLE_MASK;
            }
        }
        if ((pte_access & ACC_WRITE_MASK) != 0) x86.kvm_main.mark_page_dirty(vcpu.kvm, gfn);
        __set_spte(sptep, spte);
        return ret;
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 1879, status = Origin.Status.SIMPLIFIED,
            note = "no page reference counts (kvm_release_pfn_*)")
    void mmu_set_spte(KvmVcpu vcpu, long sptep, int pt_access, int pte_access, int user_fault, int write_fault,
                      int dirty, int[] ptwrite, int level, long gfn, long pfn, boolean speculative,
                      boolean reset_host_protection) {
        boolean was_rmapped = false;
        long old = get_spte(sptep);
        if (is_rmap_spte(old)) {
            if (level > PT_PAGE_TABLE_LEVEL && !is_large_pte(old)) {
                mmu_page_remove_parent_pte(page_header(old & PT64_BASE_ADDR_MASK), sptep);
            } else if (pfn != spte_to_pfn(old)) {
                rmap_remove(vcpu.kvm, sptep);
            } else {
                was_rmapped = true;
            }
        }
        if (set_spte(vcpu, sptep, pte_access, user_fault, write_fault, dirty, level, gfn, pfn, speculative, true,
                reset_host_protection) != 0) {
            if (write_fault != 0 && ptwrite != null) ptwrite[0] = 1;
            x86.kvm_x86_ops.tlb_flush(vcpu);
        }
        if (!was_rmapped && is_large_pte(get_spte(sptep))) ++vcpu.kvm.stat.lpages;
        page_header_update_slot(vcpu.kvm, sptep, gfn);
        if (!was_rmapped) {
            int rmap_count = rmap_add(vcpu, sptep, gfn);
            if (rmap_count > RMAP_RECYCLE_THRESHOLD) rmap_recycle(vcpu, sptep, gfn);
        }
        if (speculative) {
            vcpu.arch.last_pte_updated = sptep;
            vcpu.arch.last_pte_gfn = gfn;
        }
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 1949)
    void nonpaging_new_cr3(KvmVcpu vcpu) { }

    /** Walks from the root to {@code level} for gfn, allocating missing table pages, and sets the leaf. */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 1953)
    int __direct_map(KvmVcpu vcpu, long v, int write, int level, long gfn, long pfn) {
        int[] pt_write = {0};
        ShadowWalk it = new ShadowWalk();
        for (it.shadow_walk_init(vcpu, v); it.shadow_walk_okay(); it.shadow_walk_next()) {
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

    /** Shadow paging of a guest without paging: guest-virtual = guest-physical, mapped like TDP. */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 1990, status = Origin.Status.SIMPLIFIED,
            note = "no MMU-notifier retry")
    int nonpaging_map(KvmVcpu vcpu, long v, int write, long gfn) {
        int level = mapping_level(vcpu, gfn);
        if (level > PT_DIRECTORY_LEVEL) level = PT_DIRECTORY_LEVEL; // a PAE shadow maps at most 2 MiB
        gfn &= ~(KvmMemorySlot.KVM_PAGES_PER_HPAGE(level) - 1);
        long pfn = x86.kvm_main.gfn_to_pfn(vcpu.kvm, gfn);
        if (x86.kvm_main.is_error_pfn(pfn)) return 1;
        synchronized (vcpu.kvm.mmu_lock) {
            kvm_mmu_free_some_pages(vcpu);
            return __direct_map(vcpu, v, write, level, gfn, pfn);
        }
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 2035)
    void mmu_free_roots(KvmVcpu vcpu) {
        if (!VALID_PAGE(vcpu.arch.mmu.root_hpa)) return;
        synchronized (vcpu.kvm.mmu_lock) {
            if (vcpu.arch.mmu.shadow_root_level == PT64_ROOT_LEVEL) {
                KvmMmuPage sp = page_header(vcpu.arch.mmu.root_hpa);
                if (sp != null) {
                    --sp.root_count;
                    if (sp.root_count == 0 && sp.invalid()) kvm_mmu_zap_page(vcpu.kvm, sp);
                }
                vcpu.arch.mmu.root_hpa = INVALID_PAGE;
                return;
            }
            for (int i = 0; i < 4; ++i) {
                long root = vcpu.arch.mmu.pae_root.buf.getLong(8 * i);
                if (root != 0 && VALID_PAGE(root)) {
                    KvmMmuPage sp = page_header(root & PT64_BASE_ADDR_MASK);
                    if (sp != null) {
                        --sp.root_count;
                        if (sp.root_count == 0 && sp.invalid()) kvm_mmu_zap_page(vcpu.kvm, sp);
                    }
                }
                vcpu.arch.mmu.pae_root.buf.putLong(8 * i, INVALID_PAGE);
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

    /** One 4-level root, or four PAE roots (one per guest PDPTE) in the vCPU's pae_root page. */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 2082)
    int mmu_alloc_roots(KvmVcpu vcpu) {
        long root_gfn = vcpu.arch.cr3 >>> PAGE_SHIFT;
        KvmMmu mmu = vcpu.arch.mmu;
        if (mmu.shadow_root_level == PT64_ROOT_LEVEL) {
            int direct = tdp_enabled ? 1 : 0;
            if (mmu_check_root(vcpu, root_gfn) != 0) return 1;
            KvmMmuPage sp = kvm_mmu_get_page(vcpu, root_gfn, 0, PT64_ROOT_LEVEL, direct, ACC_ALL, 0);
            if (sp == null) return -ENOMEM;
            ++sp.root_count;
            mmu.root_hpa = sp.spt.hpa;
            return 0;
        }
        int direct = X86.is_paging(vcpu) ? 0 : 1;
        if (tdp_enabled) direct = 1;
        for (int i = 0; i < 4; ++i) {
            if (mmu.root_level == PT32E_ROOT_LEVEL) {
                long pdptr = kvm_pdptr_read(vcpu, i);
                if (!is_present_gpte(pdptr)) {
                    mmu.pae_root.buf.putLong(8 * i, 0);
                    continue;
                }
                root_gfn = (pdptr & PT64_BASE_ADDR_MASK) >>> PAGE_SHIFT;
            } else if (mmu.root_level == 0) {
                root_gfn = 0;
            }
            if (mmu_check_root(vcpu, root_gfn) != 0) return 1;
            KvmMmuPage sp = kvm_mmu_get_page(vcpu, root_gfn, (long) i << 30, PT32_ROOT_LEVEL, direct, ACC_ALL, 0);
            if (sp == null) return -ENOMEM;
            ++sp.root_count;
            mmu.pae_root.buf.putLong(8 * i, sp.spt.hpa | PT_PRESENT_MASK);
        }
        mmu.root_hpa = mmu.pae_root.hpa;
        return 0;
    }

    /** kvm_cache_regs.h: kvm_pdptr_read, asking the vendor module for the PDPTEs when they are not cached. */
    long kvm_pdptr_read(KvmVcpu vcpu, int index) {
        if ((vcpu.arch.regs_avail & (1 << kvmkmod.include.KvmVcpuArch.VCPU_EXREG_PDPTR)) == 0)
            x86.kvm_x86_ops.cache_reg(vcpu, kvmkmod.include.KvmVcpuArch.VCPU_EXREG_PDPTR);
        return vcpu.arch.pdptrs[index];
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 2137)
    void mmu_sync_roots(KvmVcpu vcpu) {
        if (!VALID_PAGE(vcpu.arch.mmu.root_hpa)) return;
        if (vcpu.arch.mmu.shadow_root_level == PT64_ROOT_LEVEL) {
            KvmMmuPage sp = page_header(vcpu.arch.mmu.root_hpa);
            if (sp != null) mmu_sync_children(vcpu, sp);
            return;
        }
        for (int i = 0; i < 4; ++i) {
            long root = vcpu.arch.mmu.pae_root.buf.getLong(8 * i);
            if (root != 0 && VALID_PAGE(root)) {
                KvmMmuPage sp = page_header(root & PT64_BASE_ADDR_MASK);
                if (sp != null) mmu_sync_children(vcpu, sp);
            }
        }
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 2161)
    public void kvm_mmu_sync_roots(KvmVcpu vcpu) {
        synchronized (vcpu.kvm.mmu_lock) { mmu_sync_roots(vcpu); }
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 2168)
    long nonpaging_gva_to_gpa(KvmVcpu vcpu, long vaddr) { return vaddr; }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 2173)
    int nonpaging_page_fault(KvmVcpu vcpu, long gva, int error_code) {
        int r = mmu_topup_memory_caches(vcpu);
        if (r != 0) return r;
        long gfn = gva >>> PAGE_SHIFT;
        return nonpaging_map(vcpu, gva & HostMemory.PAGE_MASK, error_code & PFERR_WRITE_MASK, gfn);
    }

    /** EPT violation handling: map the faulting guest frame, or report that it has no memory (MMIO). */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 2193, status = Origin.Status.SIMPLIFIED,
            note = "no MMU-notifier retry")
    int tdp_page_fault(KvmVcpu vcpu, long gpa, int error_code) {
        long gfn = gpa >>> PAGE_SHIFT;
        int r = mmu_topup_memory_caches(vcpu);
        if (r != 0) return r;
        int level = mapping_level(vcpu, gfn);
        gfn &= ~((1L << ((level - 1) * PT64_LEVEL_BITS)) - 1);
        long pfn = x86.kvm_main.gfn_to_pfn(vcpu.kvm, gfn);
        if (x86.kvm_main.is_error_pfn(pfn)) return 1;
        synchronized (vcpu.kvm.mmu_lock) {
            kvm_mmu_free_some_pages(vcpu);
            return __direct_map(vcpu, gpa, error_code & PFERR_WRITE_MASK, level, gfn, pfn);
        }
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 2236)
    void nonpaging_free(KvmVcpu vcpu) { mmu_free_roots(vcpu); }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 2241)
    int nonpaging_init_context(KvmVcpu vcpu) {
        KvmMmu context = vcpu.arch.mmu;
        context.new_cr3 = this::nonpaging_new_cr3;
        context.page_fault = this::nonpaging_page_fault;
        context.gva_to_gpa = this::nonpaging_gva_to_gpa;
        context.free = this::nonpaging_free;
        context.prefetch_page = (v, sp) -> nonpaging_prefetch_page(v, (KvmMmuPage) sp);
        context.sync_page = (v, sp) -> nonpaging_sync_page(v, (KvmMmuPage) sp);
        context.invlpg = this::nonpaging_invlpg;
        context.root_level = 0;
        context.shadow_root_level = PT32E_ROOT_LEVEL;
        context.root_hpa = INVALID_PAGE;
        return 0;
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 2258)
    public void kvm_mmu_flush_tlb(KvmVcpu vcpu) {
        ++vcpu.stat.tlb_flush;
        x86.kvm_x86_ops.tlb_flush(vcpu);
    }

    /** A new guest CR3 under shadow paging: the roots are dropped and rebuilt for it on the next entry. */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 2264)
    void paging_new_cr3(KvmVcpu vcpu) { mmu_free_roots(vcpu); }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 2270)
    void inject_page_fault(KvmVcpu vcpu, long addr, int err_code) { x86.kvm_inject_page_fault(vcpu, addr, err_code); }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 2277)
    void paging_free(KvmVcpu vcpu) { nonpaging_free(vcpu); }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 2282)
    static boolean is_rsvd_bits_set(KvmVcpu vcpu, long gpte, int level) {
        int bit7 = (int) ((gpte >>> 7) & 1);
        return (gpte & vcpu.arch.mmu.rsvd_bits_mask[bit7][level - 1]) != 0;
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 2298, status = Origin.Status.SIMPLIFIED,
            note = "no PSE-36: CPUID does not report it, so 4-MiB pages use the 32-bit layout")
    void reset_rsvds_bits_mask(KvmVcpu vcpu, int level) {
        long[][] m = vcpu.arch.mmu.rsvd_bits_mask;
        int maxphyaddr = x86.cpuid_maxphyaddr(vcpu);
        long exb_bit_rsvd = is_nx(vcpu) ? 0 : rsvd_bits(63, 63);
        switch (level) {
            case PT32_ROOT_LEVEL:
                m[0][1] = 0;
                m[0][0] = 0;
                m[1][1] = rsvd_bits(13, 21);
                break;
            case PT32E_ROOT_LEVEL:
                m[0][2] = rsvd_bits(maxphyaddr, 63) | rsvd_bits(7, 8) | rsvd_bits(1, 2);
                m[0][1] = exb_bit_rsvd | rsvd_bits(maxphyaddr, 62);
                m[0][0] = exb_bit_rsvd | rsvd_bits(maxphyaddr, 62);
                m[1][1] = exb_bit_rsvd | rsvd_bits(maxphyaddr, 62) | rsvd_bits(13, 20);
                break;
            case PT64_ROOT_LEVEL:
                m[0][3] = exb_bit_rsvd | rsvd_bits(maxphyaddr, 51) | rsvd_bits(7, 8);
                m[0][2] = exb_bit_rsvd | rsvd_bits(maxphyaddr, 51) | rsvd_bits(7, 8);
                m[0][1] = exb_bit_rsvd | rsvd_bits(maxphyaddr, 51);
                m[0][0] = exb_bit_rsvd | rsvd_bits(maxphyaddr, 51);
                m[1][3] = m[0][3];
                m[1][2] = exb_bit_rsvd | rsvd_bits(maxphyaddr, 51) | rsvd_bits(13, 29);
                m[1][1] = exb_bit_rsvd | rsvd_bits(maxphyaddr, 51) | rsvd_bits(13, 20);
                break;
            default:
                break;
        }
    }

    /** The paging_tmpl.h instance's callbacks: paging64 for long mode and PAE, paging32 for 32-bit paging. */
    private static void setPagingOps(KvmMmu context, PagingTmpl p) {
        context.page_fault = p::page_fault;
        context.gva_to_gpa = p::gva_to_gpa;
        context.prefetch_page = (v, sp) -> p.prefetch_page(v, (KvmMmuPage) sp);
        context.sync_page = (v, sp) -> p.sync_page(v, (KvmMmuPage) sp);
        context.invlpg = p::invlpg;
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 2353)
    int paging64_init_context_common(KvmVcpu vcpu, int level) {
        KvmMmu context = vcpu.arch.mmu;
        context.new_cr3 = this::paging_new_cr3;
        setPagingOps(context, paging64);
        context.free = this::paging_free;
        context.root_level = level;
        context.shadow_root_level = level;
        context.root_hpa = INVALID_PAGE;
        return 0;
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 2371)
    int paging64_init_context(KvmVcpu vcpu) {
        reset_rsvds_bits_mask(vcpu, PT64_ROOT_LEVEL);
        return paging64_init_context_common(vcpu, PT64_ROOT_LEVEL);
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 2377)
    int paging32_init_context(KvmVcpu vcpu) {
        KvmMmu context = vcpu.arch.mmu;
        reset_rsvds_bits_mask(vcpu, PT32_ROOT_LEVEL);
        context.new_cr3 = this::paging_new_cr3;
        setPagingOps(context, paging32);
        context.free = this::paging_free;
        context.root_level = PT32_ROOT_LEVEL;
        context.shadow_root_level = PT32E_ROOT_LEVEL;
        context.root_hpa = INVALID_PAGE;
        return 0;
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 2395)
    int paging32E_init_context(KvmVcpu vcpu) {
        reset_rsvds_bits_mask(vcpu, PT32E_ROOT_LEVEL);
        return paging64_init_context_common(vcpu, PT32E_ROOT_LEVEL);
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 2401)
    int init_kvm_tdp_mmu(KvmVcpu vcpu) {
        KvmMmu context = vcpu.arch.mmu;
        context.new_cr3 = this::nonpaging_new_cr3;
        context.page_fault = this::tdp_page_fault;
        context.free = this::nonpaging_free;
        context.prefetch_page = (v, sp) -> nonpaging_prefetch_page(v, (KvmMmuPage) sp);
        context.sync_page = (v, sp) -> nonpaging_sync_page(v, (KvmMmuPage) sp);
        context.invlpg = this::nonpaging_invlpg;
        context.shadow_root_level = x86.kvm_x86_ops.get_tdp_level();
        context.root_hpa = INVALID_PAGE;
        if (!X86.is_paging(vcpu)) {
            context.gva_to_gpa = this::nonpaging_gva_to_gpa;
            context.root_level = 0;
        } else if (X86.is_long_mode(vcpu)) {
            reset_rsvds_bits_mask(vcpu, PT64_ROOT_LEVEL);
            context.gva_to_gpa = paging64::gva_to_gpa;
            context.root_level = PT64_ROOT_LEVEL;
        } else if (X86.is_pae(vcpu)) {
            reset_rsvds_bits_mask(vcpu, PT32E_ROOT_LEVEL);
            context.gva_to_gpa = paging64::gva_to_gpa;
            context.root_level = PT32E_ROOT_LEVEL;
        } else {
            reset_rsvds_bits_mask(vcpu, PT32_ROOT_LEVEL);
            context.gva_to_gpa = paging32::gva_to_gpa;
            context.root_level = PT32_ROOT_LEVEL;
        }
        return 0;
    }

    /** Shadow paging: the context for the guest's paging mode; pages are tagged with its level count. */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 2434)
    int init_kvm_softmmu(KvmVcpu vcpu) {
        int r;
        if (!X86.is_paging(vcpu)) r = nonpaging_init_context(vcpu);
        else if (X86.is_long_mode(vcpu)) r = paging64_init_context(vcpu);
        else if (X86.is_pae(vcpu)) r = paging32E_init_context(vcpu);
        else r = paging32_init_context(vcpu);
        KvmMmu m = vcpu.arch.mmu;
        m.base_role = (m.base_role & ~ROLE_GLEVELS_MASK) | m.root_level;
        return r;
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 2455)
    int init_kvm_mmu(KvmVcpu vcpu) {
        vcpu.arch.update_pte_pfn = x86.kvm_main.bad_pfn;
        if (tdp_enabled) return init_kvm_tdp_mmu(vcpu);
        return init_kvm_softmmu(vcpu);
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
            kvm_mmu_free_some_pages(vcpu);
            r = mmu_alloc_roots(vcpu);
            mmu_sync_roots(vcpu);
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

    /** mmu.h: keeps a few table pages free before a fault may need them. */
    void kvm_mmu_free_some_pages(KvmVcpu vcpu) {
        if (vcpu.kvm.arch.n_free_mmu_pages < KVM_MIN_FREE_MMU_PAGES) __kvm_mmu_free_some_pages(vcpu);
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 2502)
    public void kvm_mmu_unload(KvmVcpu vcpu) { mmu_free_roots(vcpu); }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 2507)
    void mmu_pte_write_zap_pte(KvmVcpu vcpu, KvmMmuPage sp, long spte) {
        long pte = get_spte(spte);
        if (is_shadow_present_pte(this, pte)) {
            if (is_last_spte(pte, sp.level())) rmap_remove(vcpu.kvm, spte);
            else mmu_page_remove_parent_pte(page_header(pte & PT64_BASE_ADDR_MASK), spte);
        }
        __set_spte(spte, shadow_trap_nonpresent_pte);
        if (is_large_pte(pte)) --vcpu.kvm.stat.lpages;
    }

    /** Only a leaf table's entry is re-created at once; higher levels fault back in when used. */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 2528)
    void mmu_pte_write_new_pte(KvmVcpu vcpu, KvmMmuPage sp, long spte, long gpte) {
        if (sp.level() != PT_PAGE_TABLE_LEVEL) {
            ++vcpu.kvm.stat.mmu_pde_zapped;
            return;
        }
        ++vcpu.kvm.stat.mmu_pte_updated;
        if (sp.glevels() == PT32_ROOT_LEVEL) paging32.update_pte(vcpu, sp, spte, gpte);
        else paging64.update_pte(vcpu, sp, spte, gpte);
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 2545)
    boolean need_remote_flush(long old, long nw) {
        if (!is_shadow_present_pte(this, old)) return false;
        if (!is_shadow_present_pte(this, nw)) return true;
        if (((old ^ nw) & PT64_BASE_ADDR_MASK) != 0) return true;
        old ^= PT64_NX_MASK;
        nw ^= PT64_NX_MASK;
        return (old & ~nw & PT64_PERM_MASK) != 0;
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 2558)
    void mmu_pte_write_flush_tlb(KvmVcpu vcpu, long old, long nw) {
        if (need_remote_flush(old, nw)) x86.kvm_main.kvm_flush_remote_tlbs(vcpu.kvm);
        else kvm_mmu_flush_tlb(vcpu);
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 2566)
    boolean last_updated_pte_accessed(KvmVcpu vcpu) {
        long spte = vcpu.arch.last_pte_updated;
        return spte != 0 && (get_spte(spte) & shadow_accessed_mask) != 0;
    }

    /** Reads the new guest entry being written and resolves the frame it will map, before taking mmu_lock. */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 2573)
    void mmu_guess_page_from_pte_write(KvmVcpu vcpu, long gpa, byte[] nw, int bytes) {
        if (bytes != 4 && bytes != 8) return;
        long gpte = 0;
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(nw).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        if (X86.is_pae(vcpu)) {
            if (bytes == 4 && gpa % 4 == 0) {
                byte[] q = new byte[8];
                if (x86.kvm_main.kvm_read_guest(vcpu.kvm, gpa & ~7L, q, 0, 8) < 0) return;
                System.arraycopy(nw, 0, q, (int) (gpa % 8), 4);
                gpte = java.nio.ByteBuffer.wrap(q).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong(0);
            } else if (bytes == 8 && gpa % 8 == 0) {
                gpte = b.getLong(0);
            }
        } else {
            if (bytes == 4 && gpa % 4 == 0) gpte = b.getInt(0) & 0xffffffffL;
        }
        if (!is_present_gpte(gpte)) return;
        long gfn = (gpte & PT64_BASE_ADDR_MASK) >>> PAGE_SHIFT;
        long pfn = x86.kvm_main.gfn_to_pfn(vcpu.kvm, gfn);
        if (x86.kvm_main.is_error_pfn(pfn)) return;
        vcpu.arch.update_pte_gfn = gfn;
        vcpu.arch.update_pte_pfn = pfn;
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 2620)
    void kvm_mmu_access_page(KvmVcpu vcpu, long gfn) {
        long spte = vcpu.arch.last_pte_updated;
        if (spte != 0 && vcpu.arch.last_pte_gfn == gfn && shadow_accessed_mask != 0) {
            long v = get_spte(spte);
            if ((v & shadow_accessed_mask) == 0 && is_shadow_present_pte(this, v)) __set_spte(spte, v | shadow_accessed_mask);
        }
    }

    /**
     * The guest wrote {@code bytes} bytes at gpa, a frame that holds a write-protected guest page table:
     * every shadow page of that table drops the entry written and, for a leaf table, maps the new one.
     * Misaligned writes, or a third write in a row to one table, zap the shadow page instead.
     */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 2632)
    public void kvm_mmu_pte_write(KvmVcpu vcpu, long gpa, byte[] nw, int bytes, boolean guest_initiated) {
        long gfn = gpa >>> PAGE_SHIFT;
        int offset = (int) (gpa & (PAGE_SIZE - 1));
        boolean flooded = false;
        mmu_guess_page_from_pte_write(vcpu, gpa, nw, bytes);
        synchronized (vcpu.kvm.mmu_lock) {
            kvm_mmu_access_page(vcpu, gfn);
            kvm_mmu_free_some_pages(vcpu);
            ++vcpu.kvm.stat.mmu_pte_write;
            if (guest_initiated) {
                if (gfn == vcpu.arch.last_pt_write_gfn && !last_updated_pte_accessed(vcpu)) {
                    ++vcpu.arch.last_pt_write_count;
                    if (vcpu.arch.last_pt_write_count >= 3) flooded = true;
                } else {
                    vcpu.arch.last_pt_write_gfn = gfn;
                    vcpu.arch.last_pt_write_count = 1;
                    vcpu.arch.last_pte_updated = 0;
                }
            }
            List<Object> bucket = vcpu.kvm.arch.mmu_page_hash.get(kvm_page_table_hashfn(gfn));
            for (Object o : bucket == null ? List.of() : new ArrayList<>(bucket)) {
                KvmMmuPage sp = (KvmMmuPage) o;
                if (sp.gfn != gfn || sp.direct() || sp.invalid()) continue;
                if (!vcpu.kvm.arch.active_mmu_pages.contains(sp)) continue; // zapped earlier in this loop
                int pte_size = sp.glevels() == PT32_ROOT_LEVEL ? 4 : 8;
                int misaligned = (offset ^ (offset + bytes - 1)) & ~(pte_size - 1);
                if (bytes < 4) misaligned |= 1;
                if (misaligned != 0 || flooded) {
                    kvm_mmu_zap_page(vcpu.kvm, sp);
                    ++vcpu.kvm.stat.mmu_flooded;
                    continue;
                }
                int page_offset = offset;
                int level = sp.level();
                int npte = 1;
                if (sp.glevels() == PT32_ROOT_LEVEL) {
                    page_offset <<= 1; // a 32-bit entry is shadowed by a 64-bit one
                    if (level == PT32_ROOT_LEVEL) {
                        // a 32-bit PDE maps 4 MiB, two shadow PDEs of 2 MiB each
                        page_offset &= ~7;
                        page_offset <<= 1;
                        npte = 2;
                    }
                    int quadrant = page_offset >>> PAGE_SHIFT;
                    page_offset &= PAGE_SIZE - 1;
                    if (quadrant != sp.quadrant()) continue;
                }
                long spte = sp.spt.hpa + (page_offset & ~7);
                long gentry;
                boolean have = true;
                if ((gpa & (pte_size - 1)) != 0 || bytes < pte_size) {
                    byte[] q = new byte[pte_size];
                    have = x86.kvm_main.kvm_read_guest(vcpu.kvm, gpa & ~(long) (pte_size - 1), q, 0, pte_size) >= 0;
                    java.nio.ByteBuffer qb = java.nio.ByteBuffer.wrap(q).order(java.nio.ByteOrder.LITTLE_ENDIAN);
                    gentry = pte_size == 4 ? qb.getInt(0) & 0xffffffffL : qb.getLong(0);
                } else {
                    java.nio.ByteBuffer nb = java.nio.ByteBuffer.wrap(nw).order(java.nio.ByteOrder.LITTLE_ENDIAN);
                    gentry = pte_size == 4 ? nb.getInt(0) & 0xffffffffL : nb.getLong(0);
                }
                while (npte-- > 0) {
                    long entry = get_spte(spte);
                    mmu_pte_write_zap_pte(vcpu, sp, spte);
                    if (have) mmu_pte_write_new_pte(vcpu, sp, spte, gentry);
                    mmu_pte_write_flush_tlb(vcpu, entry, get_spte(spte));
                    spte += 8;
                }
            }
        }
        vcpu.arch.update_pte_pfn = x86.kvm_main.bad_pfn;
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 2745)
    public int kvm_mmu_unprotect_page_virt(KvmVcpu vcpu, long gva) {
        if (tdp_enabled) return 0;
        long gpa = vcpu.arch.mmu.gva_to_gpa.gva_to_gpa(vcpu, gva);
        synchronized (vcpu.kvm.mmu_lock) {
            return kvm_mmu_unprotect_page(vcpu.kvm, gpa >>> PAGE_SHIFT);
        }
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 2762)
    public void __kvm_mmu_free_some_pages(KvmVcpu vcpu) {
        Kvm kvm = vcpu.kvm;
        // a page still used as a root only moves to the front, so give up after one pass over the list
        for (int budget = kvm.arch.active_mmu_pages.size();
             kvm.arch.n_free_mmu_pages < KVM_REFILL_PAGES && !kvm.arch.active_mmu_pages.isEmpty() && budget > 0; budget--) {
            KvmMmuPage sp = (KvmMmuPage) kvm.arch.active_mmu_pages.get(kvm.arch.active_mmu_pages.size() - 1);
            kvm_mmu_zap_page(kvm, sp);
            ++kvm.stat.mmu_recycled;
        }
    }

    /**
     * An exit the MMU must resolve: a fault it maps is retried by re-entering the guest; a fault on a
     * frame with no memory, or a write to a shadowed guest page table, is emulated.
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

    @Origin(file = "arch/x86/kvm/mmu.c", line = 2834)
    void free_mmu_pages(KvmVcpu vcpu) {
        if (vcpu.arch.mmu.pae_root != null) mem().free(vcpu.arch.mmu.pae_root);
        vcpu.arch.mmu.pae_root = null;
    }

    /** The PAE root page: four entries the processor reads through CR3 when the shadow root is PAE. */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 2839, status = Origin.Status.SIMPLIFIED,
            note = "the VM's page budget is set by kvm_arch_set_memory_region, not here")
    int alloc_mmu_pages(KvmVcpu vcpu) {
        HostMemory.Region page = mem().allocPages(PAGE_SIZE);
        if (page == null) return -ENOMEM;
        vcpu.arch.mmu.pae_root = page;
        for (int i = 0; i < 4; ++i) page.buf.putLong(8 * i, INVALID_PAGE);
        return 0;
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 2865)
    public int kvm_mmu_create(KvmVcpu vcpu) { return alloc_mmu_pages(vcpu); }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 2873)
    public int kvm_mmu_setup(KvmVcpu vcpu) { return init_kvm_mmu(vcpu); }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 2881)
    public void kvm_mmu_destroy(KvmVcpu vcpu) {
        destroy_kvm_mmu(vcpu);
        free_mmu_pages(vcpu);
    }

    /** Dirty logging: every entry of a page that maps the slot becomes read-only, so the next write faults. */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 2890)
    public void kvm_mmu_slot_remove_write_access(Kvm kvm, int slot) {
        for (Object o : kvm.arch.active_mmu_pages) {
            KvmMmuPage sp = (KvmMmuPage) o;
            if ((sp.slot_bitmap & (1L << slot)) == 0) continue;
            for (int i = 0; i < PT64_ENT_PER_PAGE; ++i) {
                long pt = sp.spte(i);
                if ((pt & PT_WRITABLE_MASK) != 0) sp.spt.buf.putLong(8 * i, pt & ~PT_WRITABLE_MASK);
            }
        }
        x86.kvm_main.kvm_flush_remote_tlbs(kvm);
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

    /** The entries on the way to addr, by level (sptes[level-1]); returns how many were read. */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 3157)
    public int kvm_mmu_get_spte_hierarchy(KvmVcpu vcpu, long addr, long[] sptes) {
        int nr_sptes = 0;
        synchronized (vcpu.kvm.mmu_lock) {
            ShadowWalk it = new ShadowWalk();
            for (it.shadow_walk_init(vcpu, addr); it.shadow_walk_okay(); it.shadow_walk_next()) {
                long v = get_spte(it.sptep);
                sptes[it.level - 1] = v;
                nr_sptes++;
                if (!is_shadow_present_pte(this, v)) break;
            }
        }
        return nr_sptes;
    }
}
