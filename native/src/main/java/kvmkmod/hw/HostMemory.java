package kvmkmod.hw;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Map;
import java.util.TreeMap;

/**
 * The host machine's physical memory and the virtual addresses that reach it.
 *
 * <p>Every allocation is a {@link Region}: a run of contiguous host-physical pages (its {@code hpa})
 * backed by native memory, whose native address is also its virtual address ({@code va}). Kernel
 * allocations ({@code __get_free_pages}, the VMXON region, a VMCS, EPT tables) and the userspace VMM's
 * anonymous mappings (guest RAM, ioctl argument buffers) are both regions; they differ only in
 * {@link Kind}, which is what {@code copy_from_user} checks. Because guest RAM is native memory, the
 * same pages can be handed to the host's /dev/kvm.
 *
 * <p>The processor (soft or host) reaches memory only by host-physical address, as silicon does.
 */
public final class HostMemory implements AutoCloseable {
    public static final int PAGE_SHIFT = 12;
    public static final int PAGE_SIZE = 1 << PAGE_SHIFT;
    public static final long PAGE_MASK = ~(long) (PAGE_SIZE - 1);

    /** Who owns a region: the kernel (reached through __va) or a userspace mapping (reached by hva). */
    public enum Kind { KERNEL, USER }

    /** A contiguous, page-aligned, zero-filled block of host-physical memory. */
    public static final class Region {
        public final long hpa;
        public final long va;
        public final long size;
        public final Kind kind;
        /** The page size the region is mapped with: 4 KiB, or 2 MiB for hugetlbfs memory (vma_kernel_pagesize). */
        public final long pageSize;
        /** Little-endian view of the whole region; use absolute get/put only (shared across threads). */
        public final ByteBuffer buf;
        final Memory owner;
        /** False once freed, so a cached lookup never returns a dead region. */
        volatile boolean live = true;

        Region(long hpa, long size, Kind kind, Memory owner, Pointer aligned, long pageSize) {
            this.pageSize = pageSize;
            this.hpa = hpa;
            this.size = size;
            this.kind = kind;
            this.owner = owner;
            this.va = Pointer.nativeValue(aligned);
            this.buf = aligned.getByteBuffer(0, size).order(ByteOrder.LITTLE_ENDIAN);
        }

        public boolean containsHpa(long a) { return a >= hpa && a - hpa < size; }
        public boolean containsVa(long a, long len) { return a >= va && len >= 0 && a - va <= size - len; }
        public Pointer pointer() { return new Pointer(va); }
        @Override public String toString() {
            return String.format("%s region hpa %#x-%#x va %#x", kind, hpa, hpa + size - 1, va);
        }
    }

    private final TreeMap<Long, Region> byHpa = new TreeMap<>();
    private final TreeMap<Long, Region> byVa = new TreeMap<>();
    /** Host-physical addresses are handed out upwards from 1 MiB, leaving a guard page between regions. */
    private long nextHpa = 0x100000;
    private final long limit;
    private long allocated;

    /** @param limitBytes the most memory this host may hand out (its "installed RAM") */
    public HostMemory(long limitBytes) { this.limit = limitBytes; }

    public HostMemory() { this(1L << 32); }

    /** Kernel allocation of zeroed, contiguous pages; null when the host is out of memory (-ENOMEM). */
    public Region allocPages(long bytes) { return allocate(bytes, Kind.KERNEL); }

    /** Anonymous userspace mapping (mmap MAP_ANONYMOUS); null when out of memory. */
    public Region mmap(long bytes) { return allocate(bytes, Kind.USER); }

    /** Huge pages of 2 MiB, as hugetlbfs hands them out. */
    public static final long HPAGE_SIZE = 2L << 20;

    /**
     * A userspace mapping of hugetlbfs memory: whole 2 MiB pages, aligned to 2 MiB both host-physically
     * and virtually, so that KVM may map it with large pages. Null when out of memory.
     */
    public Region mmapHuge(long bytes) { return allocate((bytes + HPAGE_SIZE - 1) & -HPAGE_SIZE, Kind.USER, HPAGE_SIZE); }

    private Region allocate(long bytes, Kind kind) { return allocate(bytes, kind, PAGE_SIZE); }

    private synchronized Region allocate(long bytes, Kind kind, long pageSize) {
        if (bytes <= 0) throw new IllegalArgumentException("allocation of " + bytes + " bytes");
        long size = (bytes + PAGE_SIZE - 1) & PAGE_MASK;
        if (size > Integer.MAX_VALUE || allocated + size > limit) return null;
        Memory m = new Memory(size + pageSize);
        Pointer aligned = m.align((int) pageSize);
        aligned.setMemory(0, size, (byte) 0);
        long hpa = (nextHpa + pageSize - 1) & -pageSize;
        Region r = new Region(hpa, size, kind, m, aligned, pageSize);
        nextHpa = hpa + size + PAGE_SIZE;
        allocated += size;
        byHpa.put(r.hpa, r);
        byVa.put(r.va, r);
        return r;
    }

    /** Returns a region to the host; its addresses are never reused, so stale pointers stay detectable. */
    public synchronized void free(Region r) {
        if (r == null || byHpa.remove(r.hpa) == null) return;
        byVa.remove(r.va);
        r.live = false;
        allocated -= r.size;
        r.owner.close();
    }

    /** The last region found by virtual address, checked first: lookups repeat on the exit path and must not box keys. */
    private volatile Region lastVa;

    /** The region holding this host-physical address, or null. */
    public Region regionAtHpa(long hpa) {
        // A page walk alternates between several regions (paging structures, EPT tables, guest RAM): the
        // last region found for each of a few page-indexed slots answers most lookups without the lock.
        int slot = (int) (hpa >>> 12) & (RECENT_HPA - 1);
        Region r = recentHpa[slot];
        if (r != null && r.containsHpa(hpa) && r.live) return r;
        synchronized (this) {
            Map.Entry<Long, Region> e = byHpa.floorEntry(hpa);
            r = e != null && e.getValue().containsHpa(hpa) ? e.getValue() : null;
        }
        if (r != null) recentHpa[slot] = r;
        return r;
    }

    private static final int RECENT_HPA = 64;
    /** Read and written without the lock: a stale slot is only a miss (its region is checked, and must be live). */
    private final Region[] recentHpa = new Region[RECENT_HPA];

    /** The region holding [va, va+len), or null: the access_ok check. */
    public Region regionAtVa(long va, long len) {
        Region r = lastVa;
        if (r != null && r.containsVa(va, len) && r.live) return r;
        synchronized (this) {
            Map.Entry<Long, Region> e = byVa.floorEntry(va);
            r = e != null && e.getValue().containsVa(va, len) ? e.getValue() : null;
        }
        if (r != null) lastVa = r;
        return r;
    }

    /** Host-physical address behind a virtual address, or -1 when nothing is mapped there. */
    public long vaToHpa(long va) {
        Region r = regionAtVa(va, 1);
        return r == null ? -1 : r.hpa + (va - r.va);
    }

    /** Virtual address of a host-physical address (the kernel's __va), or -1. */
    public long hpaToVa(long hpa) {
        Region r = regionAtHpa(hpa);
        return r == null ? -1 : r.va + (hpa - r.hpa);
    }

    // Physical accessors for the processor and for the kernel's own pages. An address outside every
    // region reads as all ones and ignores writes, like a bus with nothing behind it.

    public long read64(long hpa) { Region r = regionAtHpa(hpa); return r == null || !r.containsHpa(hpa + 7) ? -1L : r.buf.getLong((int) (hpa - r.hpa)); }
    public int read32(long hpa) { Region r = regionAtHpa(hpa); return r == null || !r.containsHpa(hpa + 3) ? -1 : r.buf.getInt((int) (hpa - r.hpa)); }
    public int read16(long hpa) { Region r = regionAtHpa(hpa); return r == null || !r.containsHpa(hpa + 1) ? 0xffff : r.buf.getShort((int) (hpa - r.hpa)) & 0xffff; }
    public int read8(long hpa) { Region r = regionAtHpa(hpa); return r == null ? 0xff : r.buf.get((int) (hpa - r.hpa)) & 0xff; }
    public void write64(long hpa, long v) { Region r = regionAtHpa(hpa); if (r != null && r.containsHpa(hpa + 7)) r.buf.putLong((int) (hpa - r.hpa), v); }
    public void write32(long hpa, int v) { Region r = regionAtHpa(hpa); if (r != null && r.containsHpa(hpa + 3)) r.buf.putInt((int) (hpa - r.hpa), v); }
    public void write16(long hpa, int v) { Region r = regionAtHpa(hpa); if (r != null && r.containsHpa(hpa + 1)) r.buf.putShort((int) (hpa - r.hpa), (short) v); }
    public void write8(long hpa, int v) { Region r = regionAtHpa(hpa); if (r != null) r.buf.put((int) (hpa - r.hpa), (byte) v); }

    public synchronized long allocatedBytes() { return allocated; }

    @Override public synchronized void close() {
        for (Region r : byHpa.values()) { r.live = false; r.owner.close(); }
        byHpa.clear();
        byVa.clear();
        allocated = 0;
    }
}
