package kvmkmod.x86;

import kvmkmod.include.KvmVcpu;
import kvmkmod.include.Origin;
import kvmkmod.x86.Mmu.KvmMmuPage;

import static kvmkmod.hw.HostMemory.PAGE_SHIFT;
import static kvmkmod.x86.Mmu.ACC_EXEC_MASK;
import static kvmkmod.x86.Mmu.ACC_WRITE_MASK;
import static kvmkmod.x86.Mmu.PFERR_FETCH_MASK;
import static kvmkmod.x86.Mmu.PFERR_PRESENT_MASK;
import static kvmkmod.x86.Mmu.PFERR_RSVD_MASK;
import static kvmkmod.x86.Mmu.PFERR_USER_MASK;
import static kvmkmod.x86.Mmu.PFERR_WRITE_MASK;
import static kvmkmod.x86.Mmu.PT64_BASE_ADDR_MASK;
import static kvmkmod.x86.Mmu.PT64_ENT_PER_PAGE;
import static kvmkmod.x86.Mmu.PT64_LEVEL_BITS;
import static kvmkmod.x86.Mmu.PT64_NX_MASK;
import static kvmkmod.x86.Mmu.PT_ACCESSED_MASK;
import static kvmkmod.x86.Mmu.PT_DIRECTORY_LEVEL;
import static kvmkmod.x86.Mmu.PT_DIRTY_MASK;
import static kvmkmod.x86.Mmu.PT_PAGE_SIZE_MASK;
import static kvmkmod.x86.Mmu.PT_PAGE_TABLE_LEVEL;
import static kvmkmod.x86.Mmu.PT_PDPE_LEVEL;
import static kvmkmod.x86.Mmu.PT_PRESENT_MASK;
import static kvmkmod.x86.Mmu.PT_USER_MASK;
import static kvmkmod.x86.Mmu.PT_WRITABLE_MASK;
import static kvmkmod.x86.Mmu.SPTE_HOST_WRITEABLE;
import static kvmkmod.x86.Mmu.is_dirty_gpte;
import static kvmkmod.x86.Mmu.is_large_pte;
import static kvmkmod.x86.Mmu.is_present_gpte;
import static kvmkmod.x86.Mmu.is_shadow_present_pte;

/**
 * arch/x86/kvm/paging_tmpl.h: the guest page-table walker and the shadow-page builder, written once and
 * instantiated per guest entry format, as mmu.c includes the header twice (PTTYPE 64, then 32). The body
 * of each FNAME(x) is here; {@link Paging64} and {@link Paging32} are the two instances and carry the
 * names the compiler gives them (paging64_walk_addr, paging32_walk_addr, ...), so a trace shows which
 * one ran. PAE guests use paging64 with three levels, as paging32E_init_context does.
 */
public abstract class PagingTmpl {
    final Mmu mmu;
    /** PTTYPE: the width of a guest entry in bits. */
    final int PTTYPE;
    /** sizeof(pt_element_t), PT_LEVEL_BITS, PT_BASE_ADDR_MASK, PT_MAX_FULL_LEVELS. */
    private final int size, PT_LEVEL_BITS, PT_MAX_FULL_LEVELS;
    private final long PT_BASE_ADDR_MASK;

    PagingTmpl(Mmu mmu, int pttype) {
        this.mmu = mmu;
        this.PTTYPE = pttype;
        this.size = pttype / 8;
        this.PT_LEVEL_BITS = pttype == 64 ? PT64_LEVEL_BITS : 10;
        this.PT_MAX_FULL_LEVELS = pttype == 64 ? 4 : 2;
        this.PT_BASE_ADDR_MASK = pttype == 64 ? PT64_BASE_ADDR_MASK : 0xfffff000L;
    }

    /** struct guest_walker: the entries met on the way from CR3 to the guest frame. */
    public final class GuestWalker {
        public int level;
        public final long[] table_gfn = new long[PT_MAX_FULL_LEVELS];
        public final long[] ptes = new long[PT_MAX_FULL_LEVELS];
        public final long[] pte_gpa = new long[PT_MAX_FULL_LEVELS];
        public int pt_access, pte_access;
        public long gfn;
        public int error_code;
    }

    private int levelShift(int level) { return PAGE_SHIFT + (level - 1) * PT_LEVEL_BITS; }

    long PT_LVL_ADDR_MASK(int level) { return PT_BASE_ADDR_MASK & ~((1L << levelShift(level)) - 1); }

    long PT_LVL_OFFSET_MASK(int level) { return PT_BASE_ADDR_MASK & ((1L << levelShift(level)) - 1); }

    int PT_INDEX(long addr, int level) { return (int) ((addr >>> levelShift(level)) & ((1 << PT_LEVEL_BITS) - 1)); }

    long gpte_to_gfn(long gpte) { return gpte_to_gfn_lvl(gpte, PT_PAGE_TABLE_LEVEL); }

    private long readGuestPte(KvmVcpu vcpu, long gpa) {
        byte[] b = new byte[size];
        if (mmu.x86.kvm_main.kvm_read_guest(vcpu.kvm, gpa, b, 0, size) < 0) return -1;
        java.nio.ByteBuffer bb = java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        return size == 8 ? bb.getLong(0) : bb.getInt(0) & 0xffffffffL;
    }

    /** A guest entry that cannot be read is treated as absent (the walk ends in not_present). */
    private static final long UNREADABLE = -1;

    // ---- the FNAME(x) bodies, in paging_tmpl.h order; each instance overrides them under its own name ----

    @Origin(file = "arch/x86/kvm/paging_tmpl.h", line = 76)
    long gpte_to_gfn_lvl(long gpte, int lvl) { return (gpte & PT_LVL_ADDR_MASK(lvl)) >>> PAGE_SHIFT; }

    /** Sets accessed/dirty in a guest entry unless the guest changed it meanwhile; true when it did. */
    boolean cmpxchg_gpte(KvmVcpu vcpu, long table_gfn, int index, long orig_pte, long new_pte) {
        long pfn = mmu.x86.kvm_main.gfn_to_pfn(vcpu.kvm, table_gfn);
        if (mmu.x86.kvm_main.is_error_pfn(pfn)) return true;
        long hpa = (pfn << PAGE_SHIFT) + (long) index * size;
        synchronized (vcpu.kvm.mmu_lock) {
            long cur = size == 8 ? mmu.mem().read64(hpa) : mmu.mem().read32(hpa) & 0xffffffffL;
            if (cur != orig_pte) return true;
            if (size == 8) mmu.mem().write64(hpa, new_pte); else mmu.mem().write32(hpa, (int) new_pte);
        }
        return false;
    }

    int gpte_access(KvmVcpu vcpu, long gpte) {
        int access = (int) (gpte & (PT_WRITABLE_MASK | PT_USER_MASK)) | ACC_EXEC_MASK;
        if (PTTYPE == 64 && Mmu.is_nx(vcpu) && (gpte & PT64_NX_MASK) != 0) access &= ~ACC_EXEC_MASK;
        return access;
    }

    /**
     * Walks the guest's tables for addr as the processor would, checking the access and setting the
     * accessed (and, for a write, dirty) bits in the guest's entries. Returns 1 with the guest frame in
     * the walker, or 0 with the #PF error code the guest must see.
     */
    int walk_addr(GuestWalker walker, KvmVcpu vcpu, long addr, int write_fault, int user_fault, int fetch_fault) {
        boolean rsvd_fault = false;
        walk:
        for (;;) {
            walker.level = vcpu.arch.mmu.root_level;
            long pte = vcpu.arch.cr3;
            long table_gfn = 0;
            int index = 0, pt_access = Mmu.ACC_ALL, pte_access = 0;
            boolean present = true, access_error = false;
            if (PTTYPE == 64 && !X86.is_long_mode(vcpu)) {
                pte = mmu.kvm_pdptr_read(vcpu, (int) ((addr >>> 30) & 3));
                if (!is_present_gpte(pte)) present = false;
                --walker.level;
            }
            while (present) {
                index = PT_INDEX(addr, walker.level);
                table_gfn = gpte_to_gfn(pte);
                long pte_gpa = (table_gfn << PAGE_SHIFT) + (long) index * size;
                walker.table_gfn[walker.level - 1] = table_gfn;
                walker.pte_gpa[walker.level - 1] = pte_gpa;
                pte = readGuestPte(vcpu, pte_gpa);
                if (pte == UNREADABLE || !is_present_gpte(pte)) { present = false; break; }
                rsvd_fault = Mmu.is_rsvd_bits_set(vcpu, pte, walker.level);
                if (rsvd_fault) { access_error = true; break; }
                if (write_fault != 0 && (pte & PT_WRITABLE_MASK) == 0
                        && (user_fault != 0 || Mmu.is_write_protection(vcpu))) { access_error = true; break; }
                if (user_fault != 0 && (pte & PT_USER_MASK) == 0) { access_error = true; break; }
                if (PTTYPE == 64 && fetch_fault != 0 && Mmu.is_nx(vcpu) && (pte & PT64_NX_MASK) != 0) {
                    access_error = true;
                    break;
                }
                if ((pte & PT_ACCESSED_MASK) == 0) {
                    mmu.x86.kvm_main.mark_page_dirty(vcpu.kvm, table_gfn);
                    if (cmpxchg_gpte(vcpu, table_gfn, index, pte, pte | PT_ACCESSED_MASK)) continue walk;
                    pte |= PT_ACCESSED_MASK;
                }
                pte_access = pt_access & gpte_access(vcpu, pte);
                walker.ptes[walker.level - 1] = pte;
                if (walker.level == PT_PAGE_TABLE_LEVEL
                        || (walker.level == PT_DIRECTORY_LEVEL && (pte & PT_PAGE_SIZE_MASK) != 0
                            && (PTTYPE == 64 || (vcpu.arch.cr4 & X86.X86_CR4_PSE) != 0))
                        || (walker.level == PT_PDPE_LEVEL && (pte & PT_PAGE_SIZE_MASK) != 0 && X86.is_long_mode(vcpu))) {
                    int lvl = walker.level;
                    walker.gfn = gpte_to_gfn_lvl(pte, lvl);
                    walker.gfn += (addr & PT_LVL_OFFSET_MASK(lvl)) >>> PAGE_SHIFT;
                    break;
                }
                pt_access = pte_access;
                --walker.level;
            }
            if (present && !access_error) {
                if (write_fault != 0 && !is_dirty_gpte(pte)) {
                    mmu.x86.kvm_main.mark_page_dirty(vcpu.kvm, table_gfn);
                    if (cmpxchg_gpte(vcpu, table_gfn, index, pte, pte | PT_DIRTY_MASK)) continue walk;
                    pte |= PT_DIRTY_MASK;
                    walker.ptes[walker.level - 1] = pte;
                }
                walker.pt_access = pt_access;
                walker.pte_access = pte_access;
                return 1;
            }
            walker.error_code = access_error ? PFERR_PRESENT_MASK : 0;
            if (write_fault != 0) walker.error_code |= PFERR_WRITE_MASK;
            if (user_fault != 0) walker.error_code |= PFERR_USER_MASK;
            if (fetch_fault != 0) walker.error_code |= PFERR_FETCH_MASK;
            if (rsvd_fault) walker.error_code |= PFERR_RSVD_MASK;
            return 0;
        }
    }

    /** After a guest write to a leaf table: maps the new entry at once if it is present and accessed. */
    void update_pte(KvmVcpu vcpu, KvmMmuPage page, long spte, long gpte) {
        if ((~gpte & (PT_PRESENT_MASK | PT_ACCESSED_MASK)) != 0) {
            if (!is_present_gpte(gpte)) mmu.__set_spte(spte, mmu.shadow_notrap_nonpresent_pte);
            return;
        }
        int pte_access = page.access() & gpte_access(vcpu, gpte);
        if (gpte_to_gfn(gpte) != vcpu.arch.update_pte_gfn) return;
        long pfn = vcpu.arch.update_pte_pfn;
        if (mmu.x86.kvm_main.is_error_pfn(pfn)) return;
        mmu.mmu_set_spte(vcpu, spte, page.access(), pte_access, 0, 0, (int) (gpte & PT_DIRTY_MASK), null,
                PT_PAGE_TABLE_LEVEL, gpte_to_gfn(gpte), pfn, true, true);
    }

    /**
     * Builds the shadow path for addr down to hlevel: one shadow page per guest table (kvm_mmu_get_page
     * with the guest table's frame), then the leaf entry for the guest frame. Returns the leaf's
     * host-physical address, or 0 when the guest changed its tables meanwhile.
     */
    long fetch(KvmVcpu vcpu, long addr, GuestWalker gw, int user_fault, int write_fault, int hlevel, int[] ptwrite, long pfn) {
        int access = gw.pt_access;
        long sptep = 0;
        if (!is_present_gpte(gw.ptes[gw.level - 1])) return 0;
        Mmu.ShadowWalk it = mmu.new ShadowWalk();
        for (it.shadow_walk_init(vcpu, addr); it.shadow_walk_okay(); it.shadow_walk_next()) {
            int level = it.level;
            sptep = it.sptep;
            if (level == hlevel) {
                mmu.mmu_set_spte(vcpu, sptep, access, gw.pte_access & access, user_fault, write_fault,
                        (int) (gw.ptes[gw.level - 1] & PT_DIRTY_MASK), ptwrite, level, gw.gfn, pfn, false, true);
                break;
            }
            long cur = mmu.get_spte(sptep);
            if (is_shadow_present_pte(mmu, cur) && !is_large_pte(cur)) continue;
            if (is_large_pte(cur)) {
                mmu.rmap_remove(vcpu.kvm, sptep);
                mmu.__set_spte(sptep, mmu.shadow_trap_nonpresent_pte);
                mmu.x86.kvm_main.kvm_flush_remote_tlbs(vcpu.kvm);
            }
            int direct;
            long table_gfn;
            if (level <= gw.level) {
                // the guest maps a large page here: shadow it with a directly mapped table of small pages
                int delta = level - gw.level + 1;
                direct = 1;
                if (!is_dirty_gpte(gw.ptes[level - delta])) access &= ~ACC_WRITE_MASK;
                table_gfn = gpte_to_gfn(gw.ptes[level - delta]);
                if (delta == 0) table_gfn += PT_INDEX(addr, level);
            } else {
                direct = 0;
                table_gfn = gw.table_gfn[level - 2];
            }
            KvmMmuPage shadow_page = mmu.kvm_mmu_get_page(vcpu, table_gfn, addr, level - 1, direct, access, sptep);
            if (shadow_page == null) return 0;
            if (direct == 0) {
                long curr_pte = readGuestPte(vcpu, gw.pte_gpa[level - 2]);
                if (curr_pte != gw.ptes[level - 2]) {
                    mmu.kvm_mmu_put_page(shadow_page, sptep);
                    sptep = 0;
                    break;
                }
            }
            mmu.__set_spte(sptep, shadow_page.spt.hpa | PT_PRESENT_MASK | Mmu.PT_ACCESSED_MASK | PT_WRITABLE_MASK | PT_USER_MASK);
        }
        return sptep;
    }

    /**
     * A #PF exit without EPT: a fault the guest's own tables explain is reflected to the guest; otherwise
     * the shadow entry is built. Returns 1 when the instruction must be emulated (MMIO, or a write to a
     * write-protected guest page table), else 0.
     */
    int page_fault(KvmVcpu vcpu, long addr, int error_code) {
        int write_fault = error_code & PFERR_WRITE_MASK;
        int user_fault = error_code & PFERR_USER_MASK;
        int fetch_fault = error_code & PFERR_FETCH_MASK;
        int[] write_pt = {0};
        int level = PT_PAGE_TABLE_LEVEL;
        int r = mmu.mmu_topup_memory_caches(vcpu);
        if (r != 0) return r;
        GuestWalker walker = new GuestWalker();
        r = walk_addr(walker, vcpu, addr, write_fault, user_fault, fetch_fault);
        if (r == 0) {
            mmu.inject_page_fault(vcpu, addr, walker.error_code);
            vcpu.arch.last_pt_write_count = 0;
            return 0;
        }
        if (walker.level >= PT_DIRECTORY_LEVEL) {
            level = Math.min(walker.level, mmu.mapping_level(vcpu, walker.gfn));
            walker.gfn = walker.gfn & ~((1L << ((level - 1) * PT64_LEVEL_BITS)) - 1);
        }
        long pfn = mmu.x86.kvm_main.gfn_to_pfn(vcpu.kvm, walker.gfn);
        if (mmu.x86.kvm_main.is_error_pfn(pfn)) return 1; // mmio
        synchronized (vcpu.kvm.mmu_lock) {
            mmu.kvm_mmu_free_some_pages(vcpu);
            fetch(vcpu, addr, walker, user_fault, write_fault, level, write_pt, pfn);
            if (write_pt[0] == 0) vcpu.arch.last_pt_write_count = 0;
            ++vcpu.stat.pf_fixed;
        }
        return write_pt[0];
    }

    /** INVLPG: drops the shadow leaf for gva, so the next access walks the guest's tables again. */
    void invlpg(KvmVcpu vcpu, long gva) {
        boolean need_flush = false;
        synchronized (vcpu.kvm.mmu_lock) {
            Mmu.ShadowWalk it = mmu.new ShadowWalk();
            for (it.shadow_walk_init(vcpu, gva); it.shadow_walk_okay(); it.shadow_walk_next()) {
                int level = it.level;
                long sptep = it.sptep;
                long v = mmu.get_spte(sptep);
                if (level == PT_PAGE_TABLE_LEVEL || ((level == PT_DIRECTORY_LEVEL || level == PT_PDPE_LEVEL) && is_large_pte(v))) {
                    if (is_shadow_present_pte(mmu, v)) {
                        mmu.rmap_remove(vcpu.kvm, sptep);
                        if (is_large_pte(v)) --vcpu.kvm.stat.lpages;
                        need_flush = true;
                    }
                    mmu.__set_spte(sptep, mmu.shadow_trap_nonpresent_pte);
                    break;
                }
                if (!is_shadow_present_pte(mmu, v)) break;
            }
            if (need_flush) mmu.x86.kvm_main.kvm_flush_remote_tlbs(vcpu.kvm);
        }
    }

    long gva_to_gpa(KvmVcpu vcpu, long vaddr) {
        GuestWalker walker = new GuestWalker();
        long gpa = X86.UNMAPPED_GVA;
        if (walk_addr(walker, vcpu, vaddr, 0, 0, 0) != 0) gpa = (walker.gfn << PAGE_SHIFT) | (vaddr & 0xfff);
        return gpa;
    }

    /** A new shadow page: entries whose guest entry is absent need not trap (notrap), the rest must. */
    void prefetch_page(KvmVcpu vcpu, KvmMmuPage sp) {
        if (sp.direct() || (PTTYPE == 32 && sp.level() > PT_PAGE_TABLE_LEVEL)) {
            mmu.nonpaging_prefetch_page(vcpu, sp);
            return;
        }
        long pte_gpa = sp.gfn << PAGE_SHIFT;
        if (PTTYPE == 32) pte_gpa += (long) (sp.quadrant() << PT64_LEVEL_BITS) * size;
        for (int i = 0; i < PT64_ENT_PER_PAGE; i++) {
            long pt = readGuestPte(vcpu, pte_gpa + (long) i * size);
            boolean trap = pt == UNREADABLE || is_present_gpte(pt);
            sp.spt.buf.putLong(8 * i, trap ? mmu.shadow_trap_nonpresent_pte : mmu.shadow_notrap_nonpresent_pte);
        }
    }

    /** Brings an unsync page in line with the guest table: entries that changed are dropped or remapped. */
    int sync_page(KvmVcpu vcpu, KvmMmuPage sp) {
        int offset = 0, nr_present = 0;
        if (PTTYPE == 32) offset = sp.quadrant() << PT64_LEVEL_BITS;
        for (int i = 0; i < PT64_ENT_PER_PAGE; i++) {
            long sptep = sp.spt.hpa + 8L * i;
            long v = sp.spte(i);
            long gfn = sp.gfns[i];
            if (!is_shadow_present_pte(mmu, v)) continue;
            long pte_gpa = (sp.gfn << PAGE_SHIFT) + (long) (i + offset) * size;
            long gpte = readGuestPte(vcpu, pte_gpa);
            if (gpte == UNREADABLE) return -kvmkmod.include.Errno.EINVAL;
            if (gpte_to_gfn(gpte) != gfn || !is_present_gpte(gpte) || (gpte & PT_ACCESSED_MASK) == 0) {
                mmu.rmap_remove(vcpu.kvm, sptep);
                mmu.__set_spte(sptep, is_present_gpte(gpte) ? mmu.shadow_trap_nonpresent_pte : mmu.shadow_notrap_nonpresent_pte);
                continue;
            }
            nr_present++;
            int pte_access = sp.access() & gpte_access(vcpu, gpte);
            boolean reset_host_protection = (v & SPTE_HOST_WRITEABLE) != 0;
            if (!reset_host_protection) pte_access &= ~ACC_WRITE_MASK;
            mmu.set_spte(vcpu, sptep, pte_access, 0, 0, is_dirty_gpte(gpte) ? 1 : 0, PT_PAGE_TABLE_LEVEL, gfn,
                    Mmu.spte_to_pfn(v), true, false, reset_host_protection);
        }
        return nr_present == 0 ? 1 : 0;
    }

    /** The PTTYPE 64 instance: guest entries of 64 bits, also used for PAE. */
    static final class Paging64 extends PagingTmpl {
        Paging64(Mmu mmu) { super(mmu, 64); }

        @Origin(file = "arch/x86/kvm/paging_tmpl.h", line = 81, function = "paging64_cmpxchg_gpte")
        @Override boolean cmpxchg_gpte(KvmVcpu vcpu, long table_gfn, int index, long orig_pte, long new_pte) {
            return super.cmpxchg_gpte(vcpu, table_gfn, index, orig_pte, new_pte);
        }

        @Origin(file = "arch/x86/kvm/paging_tmpl.h", line = 100, function = "paging64_gpte_access")
        @Override int gpte_access(KvmVcpu vcpu, long gpte) { return super.gpte_access(vcpu, gpte); }

        @Origin(file = "arch/x86/kvm/paging_tmpl.h", line = 115, function = "paging64_walk_addr")
        @Override int walk_addr(
                GuestWalker walker, KvmVcpu vcpu, long addr, int write_fault, int user_fault, int fetch_fault) {
            return super.walk_addr(walker, vcpu, addr, write_fault, user_fault, fetch_fault);
        }

        @Origin(file = "arch/x86/kvm/paging_tmpl.h", line = 255, function = "paging64_update_pte", status = Origin.Status.SIMPLIFIED,
                note = "no MMU-notifier sequence check")
        @Override void update_pte(KvmVcpu vcpu, KvmMmuPage page, long spte, long gpte) {
            super.update_pte(vcpu, page, spte, gpte);
        }

        @Origin(file = "arch/x86/kvm/paging_tmpl.h", line = 290, function = "paging64_fetch")
        @Override long fetch(
                KvmVcpu vcpu, long addr, GuestWalker gw, int user_fault, int write_fault, int hlevel, int[] ptwrite, long pfn) {
            return super.fetch(vcpu, addr, gw, user_fault, write_fault, hlevel, ptwrite, pfn);
        }

        @Origin(file = "arch/x86/kvm/paging_tmpl.h", line = 380, function = "paging64_page_fault", status = Origin.Status.SIMPLIFIED,
                note = "no MMU-notifier retry")
        @Override int page_fault(KvmVcpu vcpu, long addr, int error_code) {
            return super.page_fault(vcpu, addr, error_code);
        }

        @Origin(file = "arch/x86/kvm/paging_tmpl.h", line = 457, function = "paging64_invlpg")
        @Override void invlpg(KvmVcpu vcpu, long gva) { super.invlpg(vcpu, gva); }

        @Origin(file = "arch/x86/kvm/paging_tmpl.h", line = 493, function = "paging64_gva_to_gpa")
        @Override long gva_to_gpa(KvmVcpu vcpu, long vaddr) { return super.gva_to_gpa(vcpu, vaddr); }

        @Origin(file = "arch/x86/kvm/paging_tmpl.h", line = 509, function = "paging64_prefetch_page")
        @Override void prefetch_page(KvmVcpu vcpu, KvmMmuPage sp) { super.prefetch_page(vcpu, sp); }

        @Origin(file = "arch/x86/kvm/paging_tmpl.h", line = 545, function = "paging64_sync_page")
        @Override int sync_page(KvmVcpu vcpu, KvmMmuPage sp) { return super.sync_page(vcpu, sp); }
    }

    /** The PTTYPE 32 instance: guest entries of 32 bits. */
    static final class Paging32 extends PagingTmpl {
        Paging32(Mmu mmu) { super(mmu, 32); }

        @Origin(file = "arch/x86/kvm/paging_tmpl.h", line = 81, function = "paging32_cmpxchg_gpte")
        @Override boolean cmpxchg_gpte(KvmVcpu vcpu, long table_gfn, int index, long orig_pte, long new_pte) {
            return super.cmpxchg_gpte(vcpu, table_gfn, index, orig_pte, new_pte);
        }

        @Origin(file = "arch/x86/kvm/paging_tmpl.h", line = 100, function = "paging32_gpte_access")
        @Override int gpte_access(KvmVcpu vcpu, long gpte) { return super.gpte_access(vcpu, gpte); }

        @Origin(file = "arch/x86/kvm/paging_tmpl.h", line = 115, function = "paging32_walk_addr")
        @Override int walk_addr(
                GuestWalker walker, KvmVcpu vcpu, long addr, int write_fault, int user_fault, int fetch_fault) {
            return super.walk_addr(walker, vcpu, addr, write_fault, user_fault, fetch_fault);
        }

        @Origin(file = "arch/x86/kvm/paging_tmpl.h", line = 255, function = "paging32_update_pte", status = Origin.Status.SIMPLIFIED,
                note = "no MMU-notifier sequence check")
        @Override void update_pte(KvmVcpu vcpu, KvmMmuPage page, long spte, long gpte) {
            super.update_pte(vcpu, page, spte, gpte);
        }

        @Origin(file = "arch/x86/kvm/paging_tmpl.h", line = 290, function = "paging32_fetch")
        @Override long fetch(
                KvmVcpu vcpu, long addr, GuestWalker gw, int user_fault, int write_fault, int hlevel, int[] ptwrite, long pfn) {
            return super.fetch(vcpu, addr, gw, user_fault, write_fault, hlevel, ptwrite, pfn);
        }

        @Origin(file = "arch/x86/kvm/paging_tmpl.h", line = 380, function = "paging32_page_fault", status = Origin.Status.SIMPLIFIED,
                note = "no MMU-notifier retry")
        @Override int page_fault(KvmVcpu vcpu, long addr, int error_code) {
            return super.page_fault(vcpu, addr, error_code);
        }

        @Origin(file = "arch/x86/kvm/paging_tmpl.h", line = 457, function = "paging32_invlpg")
        @Override void invlpg(KvmVcpu vcpu, long gva) { super.invlpg(vcpu, gva); }

        @Origin(file = "arch/x86/kvm/paging_tmpl.h", line = 493, function = "paging32_gva_to_gpa")
        @Override long gva_to_gpa(KvmVcpu vcpu, long vaddr) { return super.gva_to_gpa(vcpu, vaddr); }

        @Origin(file = "arch/x86/kvm/paging_tmpl.h", line = 509, function = "paging32_prefetch_page")
        @Override void prefetch_page(KvmVcpu vcpu, KvmMmuPage sp) { super.prefetch_page(vcpu, sp); }

        @Origin(file = "arch/x86/kvm/paging_tmpl.h", line = 545, function = "paging32_sync_page")
        @Override int sync_page(KvmVcpu vcpu, KvmMmuPage sp) { return super.sync_page(vcpu, sp); }
    }
}
