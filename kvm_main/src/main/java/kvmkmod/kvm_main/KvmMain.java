package kvmkmod.kvm_main;

import kvmkmod.hw.HostMemory;
import kvmkmod.hw.Platform;
import kvmkmod.include.ErrPtr;
import kvmkmod.include.File;
import kvmkmod.include.FileOperations;
import kvmkmod.include.Kernel;
import kvmkmod.include.Kvm;
import kvmkmod.include.KvmArchHooks;
import kvmkmod.include.KvmIoBus;
import kvmkmod.include.KvmIoDevice;
import kvmkmod.include.KvmIoeventfd;
import kvmkmod.include.KvmDirtyLog;
import kvmkmod.include.KvmMemorySlot;
import kvmkmod.include.KvmFpu;
import kvmkmod.include.KvmGuestDebug;
import kvmkmod.include.KvmRegs;
import kvmkmod.include.KvmTranslation;
import kvmkmod.include.KvmRun;
import kvmkmod.include.KvmSregs;
import kvmkmod.include.KvmStatsDebugfsItem;
import kvmkmod.include.KvmUserspaceMemoryRegion;
import kvmkmod.include.KvmVcpu;
import kvmkmod.include.KvmX86Ops;
import kvmkmod.include.Origin;
import kvmkmod.include.Uaccess;
import kvmkmod.include.Vfs;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static kvmkmod.hw.HostMemory.PAGE_SHIFT;
import static kvmkmod.hw.HostMemory.PAGE_SIZE;
import static kvmkmod.include.Errno.*;
import static kvmkmod.include.Kvm.KVM_MAX_VCPUS;
import static kvmkmod.include.Kvm.KVM_MEMORY_SLOTS;
import static kvmkmod.include.Kvm.KVM_PRIVATE_MEM_SLOTS;
import static kvmkmod.include.Kvm_h.*;

/**
 * virt/kvm/kvm_main.c: the architecture-independent part of kvm.ko — the /dev/kvm character device,
 * the VM and vCPU files and their ioctl dispatch, memory slots and guest-memory access, the I/O buses,
 * and module init. One instance is one loaded kvm.ko; its fields are the file's static globals.
 */
public final class KvmMain {
    private static final String DEV_KVM = "/dev/kvm";

    public final Kernel kernel;
    final Platform platform;
    /** The architecture's kvm_arch_* functions (x86.c), bound when kvm.ko is assembled. */
    public KvmArchHooks arch;
    public final Eventfd eventfd = new Eventfd(this);
    public final CoalescedMmio coalesced_mmio = new CoalescedMmio(this);

    // the file's globals
    final List<Kvm> vm_list = new ArrayList<>();

    /** The VMs alive now (a copy of vm_list), for tools that inspect them. */
    public List<Kvm> vms() { synchronized (kvm_lock) { return new ArrayList<>(vm_list); } }
    private int kvm_usage_count;
    private boolean[] cpus_hardware_enabled;
    private final AtomicInteger hardware_enable_failed = new AtomicInteger();
    private HostMemory.Region bad_page;
    public long bad_pfn = -1;
    public boolean largepages_enabled = true;
    private final Object kvm_lock = new Object();

    private final FileOperations kvm_chardev_ops = (filp, ioctl, arg) -> kvm_dev_ioctl(filp, ioctl, arg);

    private final FileOperations kvm_vm_fops = new FileOperations() {
        @Override public long unlocked_ioctl(File filp, int ioctl, long arg) { return kvm_vm_ioctl(filp, ioctl, arg); }
        @Override public int release(File filp) { return kvm_vm_release(filp); }
    };

    private final FileOperations kvm_vcpu_fops = new FileOperations() {
        @Override public long unlocked_ioctl(File filp, int ioctl, long arg) { return kvm_vcpu_ioctl(filp, ioctl, arg); }
        @Override public long mmap(File filp, long length, long pgoff) { return kvm_vcpu_mmap(filp, length, pgoff); }
        @Override public int release(File filp) { return kvm_vcpu_release(filp); }
    };

    public KvmMain(Kernel kernel) {
        this.kernel = kernel;
        this.platform = kernel.platform;
    }

    private HostMemory mem() { return platform.memory(); }

    // ---- vCPU scheduling ----

    /**
     * The calling thread keeps the processor it gets here until vcpu_put: in the kernel a preempt
     * notifier reloads the vCPU if the task migrates; a Java thread is simply not migrated.
     */
    @Origin(file = "virt/kvm/kvm_main.c", line = 106)
    public void vcpu_load(KvmVcpu vcpu) {
        vcpu.mutex.lock();
        platform.get_cpu();
        int cpu = platform.get_cpu();
        arch.kvm_arch_vcpu_load(vcpu, cpu);
        platform.put_cpu();
    }

    @Origin(file = "virt/kvm/kvm_main.c", line = 117)
    public void vcpu_put(KvmVcpu vcpu) {
        platform.get_cpu();
        arch.kvm_arch_vcpu_put(vcpu);
        platform.put_cpu();
        platform.put_cpu();
        vcpu.mutex.unlock();
    }

    /**
     * Sets a request bit in every vCPU of the VM and kicks those running guest code, so each handles
     * the request before it next enters the guest.
     */
    @Origin(file = "virt/kvm/kvm_main.c", line = 130, status = Origin.Status.SIMPLIFIED,
            note = "the kick is the processor's external-interrupt exit instead of an IPI")
    boolean make_all_cpus_request(Kvm kvm, int req) {
        boolean called = false;
        for (int i = 0; i < kvm.online_vcpus.get(); i++) {
            KvmVcpu vcpu = kvm.vcpus[i];
            long bit = 1L << req;
            if ((vcpu.requests & bit) != 0) continue;
            vcpu.requests |= bit;
            int cpu = vcpu.cpu;
            if (cpu >= 0 && vcpu.running != null && vcpu.running != Thread.currentThread()) {
                platform.cpu(cpu).kick();
                called = true;
            }
        }
        return called;
    }

    @Origin(file = "virt/kvm/kvm_main.c", line = 159)
    public void kvm_flush_remote_tlbs(Kvm kvm) {
        if (make_all_cpus_request(kvm, KVM_REQ_TLB_FLUSH)) ++kvm.stat.remote_tlb_flush;
    }

    @Origin(file = "virt/kvm/kvm_main.c", line = 165)
    public void kvm_reload_remote_mmus(Kvm kvm) { make_all_cpus_request(kvm, KVM_REQ_MMU_RELOAD); }

    @Origin(file = "virt/kvm/kvm_main.c", line = 170)
    public int kvm_vcpu_init(KvmVcpu vcpu, Kvm kvm, int id) {
        vcpu.cpu = -1;
        vcpu.kvm = kvm;
        vcpu.vcpu_id = id;
        HostMemory.Region page = mem().allocPages(PAGE_SIZE);
        if (page == null) return -ENOMEM;
        vcpu.run_page = page;
        vcpu.run = new KvmRun(page.buf, 0);
        int r = arch.kvm_arch_vcpu_init(vcpu);
        if (r < 0) {
            mem().free(vcpu.run_page);
            return r;
        }
        return 0;
    }

    @Origin(file = "virt/kvm/kvm_main.c", line = 200)
    public void kvm_vcpu_uninit(KvmVcpu vcpu) {
        arch.kvm_arch_vcpu_uninit(vcpu);
        mem().free(vcpu.run_page);
    }

    // ---- VM lifetime ----

    @Origin(file = "virt/kvm/kvm_main.c", line = 346, status = Origin.Status.SIMPLIFIED,
            note = "no MMU notifier, irq routing or coalesced MMIO ring yet")
    Kvm kvm_create_vm() {
        Kvm kvm = arch.kvm_arch_create_vm();
        int r = hardware_enable_all();
        if (r != 0) throw new ErrPtr(r);
        HostMemory.Region page = mem().allocPages(PAGE_SIZE);
        if (page == null) {
            hardware_disable_all();
            throw new ErrPtr(-ENOMEM);
        }
        kvm.coalesced_mmio_ring = page;
        kvm.coalesced_mmio_ring_off = 0;
        kvm.mm = Vfs.current();
        kvm_io_bus_init(kvm.pio_bus);
        eventfd.kvm_eventfd_init(kvm);
        kvm_io_bus_init(kvm.mmio_bus);
        kvm.users_count.set(1);
        synchronized (kvm_lock) { vm_list.add(kvm); }
        coalesced_mmio.kvm_coalesced_mmio_init(kvm);
        return kvm;
    }

    @Origin(file = "virt/kvm/kvm_main.c", line = 422)
    void kvm_free_physmem_slot(KvmMemorySlot free, KvmMemorySlot dont) {
        if (dont == null || free.rmap != dont.rmap) free.rmap = null;
        if (dont == null || free.dirty_bitmap != dont.dirty_bitmap) free.dirty_bitmap = null;
        for (int i = 0; i < KvmMemorySlot.KVM_NR_PAGE_SIZES - 1; ++i)
            if (dont == null || free.lpage_info[i] != dont.lpage_info[i]) free.lpage_info[i] = null;
        free.npages = 0;
    }

    @Origin(file = "virt/kvm/kvm_main.c", line = 446)
    public void kvm_free_physmem(Kvm kvm) {
        for (int i = 0; i < kvm.nmemslots; ++i) kvm_free_physmem_slot(kvm.memslots[i], null);
    }

    @Origin(file = "virt/kvm/kvm_main.c", line = 454)
    void kvm_destroy_vm(Kvm kvm) {
        arch.kvm_arch_sync_events(kvm);
        synchronized (kvm_lock) { vm_list.remove(kvm); }
        kvm_io_bus_destroy(kvm.pio_bus);
        kvm_io_bus_destroy(kvm.mmio_bus);
        // a ring that moved into a vCPU mapping belongs to that mapping now
        if (kvm.coalesced_mmio_ring != null && kvm.coalesced_mmio_ring.kind == HostMemory.Kind.KERNEL)
            mem().free(kvm.coalesced_mmio_ring);
        kvm.coalesced_mmio_ring = null;
        arch.kvm_arch_flush_shadow(kvm);
        arch.kvm_arch_destroy_vm(kvm);
        hardware_disable_all();
    }

    @Origin(file = "virt/kvm/kvm_main.c", line = 479)
    public void kvm_get_kvm(Kvm kvm) { kvm.users_count.incrementAndGet(); }

    @Origin(file = "virt/kvm/kvm_main.c", line = 485)
    public void kvm_put_kvm(Kvm kvm) {
        if (kvm.users_count.decrementAndGet() == 0) kvm_destroy_vm(kvm);
    }

    @Origin(file = "virt/kvm/kvm_main.c", line = 493)
    int kvm_vm_release(File filp) {
        kvm_put_kvm((Kvm) filp.private_data);
        return 0;
    }

    // ---- memory slots ----

    /**
     * Adds, changes or removes a slot. Each slot counts, per 2 MiB and 1 GiB frame, the reasons that
     * frame may not be mapped with one large page (lpage_info.write_count): a frame the slot covers only
     * in part, a slot whose userspace address is not aligned like its guest address, or large pages off.
     */
    @Origin(file = "virt/kvm/kvm_main.c", line = 511, status = Origin.Status.SIMPLIFIED,
            note = "no IOMMU mapping")
    public int __kvm_set_memory_region(Kvm kvm, KvmUserspaceMemoryRegion mem, int user_alloc) {
        if ((mem.memory_size & (PAGE_SIZE - 1)) != 0) return -EINVAL;
        if ((mem.guest_phys_addr & (PAGE_SIZE - 1)) != 0) return -EINVAL;
        if (user_alloc != 0 && (mem.userspace_addr & (PAGE_SIZE - 1)) != 0) return -EINVAL;
        if (Integer.toUnsignedLong(mem.slot) >= KVM_MEMORY_SLOTS + KVM_PRIVATE_MEM_SLOTS) return -EINVAL;
        if (Long.compareUnsigned(mem.guest_phys_addr + mem.memory_size, mem.guest_phys_addr) < 0) return -EINVAL;

        KvmMemorySlot memslot = kvm.memslots[mem.slot];
        long base_gfn = mem.guest_phys_addr >>> PAGE_SHIFT;
        long npages = mem.memory_size >>> PAGE_SHIFT;

        if (npages == 0) mem.flags &= ~KVM_MEM_LOG_DIRTY_PAGES;

        KvmMemorySlot old = new KvmMemorySlot();
        old.copyFrom(memslot);
        KvmMemorySlot nw = new KvmMemorySlot();
        nw.copyFrom(memslot);
        nw.base_gfn = base_gfn;
        nw.npages = npages;
        nw.flags = mem.flags;

        if (npages != 0 && old.npages != 0 && npages != old.npages) return -EINVAL;

        for (int i = 0; i < KVM_MEMORY_SLOTS; ++i) {
            KvmMemorySlot s = kvm.memslots[i];
            if (s == memslot || s.npages == 0) continue;
            if (!((base_gfn + npages <= s.base_gfn) || (base_gfn >= s.base_gfn + s.npages))) return -EEXIST;
        }

        if ((nw.flags & KVM_MEM_LOG_DIRTY_PAGES) == 0) nw.dirty_bitmap = null;

        if (npages != 0 && nw.rmap == null) {
            if (npages > Integer.MAX_VALUE) return -ENOMEM;
            nw.rmap = new long[(int) npages];
            nw.user_alloc = user_alloc;
            nw.userspace_addr = user_alloc != 0 ? mem.userspace_addr : 0;
        }
        for (int i = 0; npages != 0 && i < KvmMemorySlot.KVM_NR_PAGE_SIZES - 1; ++i) {
            int level = i + 2;
            if (nw.lpage_info[i] != null) continue;
            long per = KvmMemorySlot.KVM_PAGES_PER_HPAGE(level);
            int lpages = (int) (1 + (base_gfn + npages - 1) / per - base_gfn / per);
            nw.lpage_info[i] = new KvmMemorySlot.KvmLpageInfo[lpages];
            for (int j = 0; j < lpages; ++j) nw.lpage_info[i][j] = new KvmMemorySlot.KvmLpageInfo();
            if (base_gfn % per != 0) nw.lpage_info[i][0].write_count = 1;
            if ((base_gfn + npages) % per != 0) nw.lpage_info[i][lpages - 1].write_count = 1;
            long ugfn = nw.userspace_addr >>> PAGE_SHIFT;
            if (((base_gfn ^ ugfn) & (per - 1)) != 0 || !largepages_enabled)
                for (int j = 0; j < lpages; ++j) nw.lpage_info[i][j].write_count = 1;
        }
        if ((nw.flags & KVM_MEM_LOG_DIRTY_PAGES) != 0 && nw.dirty_bitmap == null) {
            nw.dirty_bitmap = new long[(int) ((npages + 63) / 64)];
            if (old.npages != 0) arch.kvm_arch_flush_shadow(kvm);
        }

        if (npages == 0) arch.kvm_arch_flush_shadow(kvm);

        synchronized (kvm.mmu_lock) {
            if (mem.slot >= kvm.nmemslots) kvm.nmemslots = mem.slot + 1;
            memslot.copyFrom(nw);
        }

        int r = arch.kvm_arch_set_memory_region(kvm, mem, old, user_alloc);
        if (r != 0) {
            synchronized (kvm.mmu_lock) { memslot.copyFrom(old); }
            return r;
        }

        kvm_free_physmem_slot(old, npages != 0 ? nw : null);
        synchronized (kvm.mmu_lock) {
            if (npages == 0) memslot.copyFrom(old);
        }
        return 0;
    }

    @Origin(file = "virt/kvm/kvm_main.c", line = 694)
    public int kvm_set_memory_region(Kvm kvm, KvmUserspaceMemoryRegion mem, int user_alloc) {
        kvm.slots_lock.writeLock().lock();
        try {
            return __kvm_set_memory_region(kvm, mem, user_alloc);
        } finally {
            kvm.slots_lock.writeLock().unlock();
        }
    }

    @Origin(file = "virt/kvm/kvm_main.c", line = 707)
    int kvm_vm_ioctl_set_memory_region(Kvm kvm, KvmUserspaceMemoryRegion mem, int user_alloc) {
        if (Integer.toUnsignedLong(mem.slot) >= KVM_MEMORY_SLOTS) return -EINVAL;
        return kvm_set_memory_region(kvm, mem, user_alloc);
    }

    /** Copies a slot's dirty bitmap to userspace; is_dirty[0] says whether any bit was set. */
    @Origin(file = "virt/kvm/kvm_main.c", line = 717)
    public int kvm_get_dirty_log(Kvm kvm, KvmDirtyLog log, int[] is_dirty) {
        if (Integer.compareUnsigned(log.slot, KVM_MEMORY_SLOTS) >= 0) return -EINVAL;
        KvmMemorySlot memslot = kvm.memslots[log.slot];
        long[] bitmap = memslot.dirty_bitmap;
        if (bitmap == null) return -ENOENT;
        int n = bitmap.length * 8;
        long any = 0;
        for (int i = 0; any == 0 && i < bitmap.length; ++i) any = bitmap[i];
        HostMemory.Region u = Uaccess.access_ok(kvm.mm, log.dirty_bitmap, n);
        if (u == null) return -EFAULT;
        int off = Uaccess.off(u, log.dirty_bitmap);
        for (int i = 0; i < bitmap.length; i++) u.buf.putLong(off + 8 * i, bitmap[i]);
        if (any != 0) is_dirty[0] = 1;
        return 0;
    }

    @Origin(file = "virt/kvm/kvm_main.c", line = 751)
    public void kvm_disable_largepages() { largepages_enabled = false; }

    @Origin(file = "virt/kvm/kvm_main.c", line = 763)
    public boolean is_error_pfn(long pfn) { return pfn == bad_pfn; }

    @Origin(file = "virt/kvm/kvm_main.c", line = 769)
    static long bad_hva() { return -PAGE_SIZE; }

    @Origin(file = "virt/kvm/kvm_main.c", line = 774)
    public static boolean kvm_is_error_hva(long addr) { return addr == bad_hva(); }

    @Origin(file = "virt/kvm/kvm_main.c", line = 780)
    public KvmMemorySlot gfn_to_memslot_unaliased(Kvm kvm, long gfn) {
        for (int i = 0; i < kvm.nmemslots; ++i) {
            KvmMemorySlot memslot = kvm.memslots[i];
            if (gfn >= memslot.base_gfn && gfn < memslot.base_gfn + memslot.npages) return memslot;
        }
        return null;
    }

    /** Memory aliases (KVM_SET_MEMORY_ALIAS) are not supported, so unalias_gfn is the identity. */
    @Origin(file = "virt/kvm/kvm_main.c", line = 795, status = Origin.Status.SIMPLIFIED, note = "no memory aliases")
    public KvmMemorySlot gfn_to_memslot(Kvm kvm, long gfn) { return gfn_to_memslot_unaliased(kvm, gfn); }

    @Origin(file = "virt/kvm/kvm_main.c", line = 801)
    public boolean kvm_is_visible_gfn(Kvm kvm, long gfn) {
        for (int i = 0; i < KVM_MEMORY_SLOTS; ++i) {
            KvmMemorySlot memslot = kvm.memslots[i];
            if (gfn >= memslot.base_gfn && gfn < memslot.base_gfn + memslot.npages) return true;
        }
        return false;
    }

    @Origin(file = "virt/kvm/kvm_main.c", line = 817)
    public long gfn_to_hva(Kvm kvm, long gfn) {
        KvmMemorySlot slot = gfn_to_memslot_unaliased(kvm, gfn);
        if (slot == null) return bad_hva();
        return slot.userspace_addr + (gfn - slot.base_gfn) * PAGE_SIZE;
    }

    /**
     * The host page frame behind a guest frame: get_user_pages on the slot's userspace address. A frame
     * number here is a host-physical address shifted right by PAGE_SHIFT.
     */
    @Origin(file = "virt/kvm/kvm_main.c", line = 829, status = Origin.Status.SIMPLIFIED,
            note = "no VM_PFNMAP (device memory) mappings")
    public long gfn_to_pfn(Kvm kvm, long gfn) {
        long addr = gfn_to_hva(kvm, gfn);
        if (kvm_is_error_hva(addr)) return bad_pfn;
        HostMemory.Region r = Uaccess.access_ok(kvm.mm, addr, PAGE_SIZE);
        if (r == null) return bad_pfn;
        return (r.hpa + (addr - r.va)) >>> PAGE_SHIFT;
    }

    @Origin(file = "virt/kvm/kvm_main.c", line = 942)
    static int next_segment(long len, int offset) {
        return len > PAGE_SIZE - offset ? PAGE_SIZE - offset : (int) len;
    }

    @Origin(file = "virt/kvm/kvm_main.c", line = 950)
    public int kvm_read_guest_page(Kvm kvm, long gfn, byte[] data, int dataOff, int offset, int len) {
        long addr = gfn_to_hva(kvm, gfn);
        if (kvm_is_error_hva(addr)) return -EFAULT;
        if (Uaccess.copy_from_user(kvm.mm, data, dataOff, addr + offset, len) != 0) return -EFAULT;
        return 0;
    }

    @Origin(file = "virt/kvm/kvm_main.c", line = 966)
    public int kvm_read_guest(Kvm kvm, long gpa, byte[] data, int dataOff, int len) {
        long gfn = gpa >>> PAGE_SHIFT;
        int offset = (int) (gpa & (PAGE_SIZE - 1));
        int seg;
        while ((seg = next_segment(len, offset)) != 0) {
            int ret = kvm_read_guest_page(kvm, gfn, data, dataOff, offset, seg);
            if (ret < 0) return ret;
            offset = 0;
            len -= seg;
            dataOff += seg;
            ++gfn;
        }
        return 0;
    }

    @Origin(file = "virt/kvm/kvm_main.c", line = 1006)
    public int kvm_write_guest_page(Kvm kvm, long gfn, byte[] data, int dataOff, int offset, int len) {
        long addr = gfn_to_hva(kvm, gfn);
        if (kvm_is_error_hva(addr)) return -EFAULT;
        if (Uaccess.copy_to_user(kvm.mm, addr + offset, data, dataOff, len) != 0) return -EFAULT;
        mark_page_dirty(kvm, gfn);
        return 0;
    }

    @Origin(file = "virt/kvm/kvm_main.c", line = 1023)
    public int kvm_write_guest(Kvm kvm, long gpa, byte[] data, int dataOff, int len) {
        long gfn = gpa >>> PAGE_SHIFT;
        int offset = (int) (gpa & (PAGE_SIZE - 1));
        int seg;
        while ((seg = next_segment(len, offset)) != 0) {
            int ret = kvm_write_guest_page(kvm, gfn, data, dataOff, offset, seg);
            if (ret < 0) return ret;
            offset = 0;
            len -= seg;
            dataOff += seg;
            ++gfn;
        }
        return 0;
    }

    private static final byte[] empty_zero_page = new byte[PAGE_SIZE];

    @Origin(file = "virt/kvm/kvm_main.c", line = 1043)
    public int kvm_clear_guest_page(Kvm kvm, long gfn, int offset, int len) {
        return kvm_write_guest_page(kvm, gfn, empty_zero_page, 0, offset, len);
    }

    @Origin(file = "virt/kvm/kvm_main.c", line = 1049)
    public int kvm_clear_guest(Kvm kvm, long gpa, long len) {
        long gfn = gpa >>> PAGE_SHIFT;
        int offset = (int) (gpa & (PAGE_SIZE - 1));
        int seg;
        while ((seg = next_segment(len, offset)) != 0) {
            int ret = kvm_clear_guest_page(kvm, gfn, offset, seg);
            if (ret < 0) return ret;
            offset = 0;
            len -= seg;
            ++gfn;
        }
        return 0;
    }

    @Origin(file = "virt/kvm/kvm_main.c", line = 1068)
    public void mark_page_dirty(Kvm kvm, long gfn) {
        KvmMemorySlot memslot = gfn_to_memslot_unaliased(kvm, gfn);
        if (memslot != null && memslot.dirty_bitmap != null) {
            long rel_gfn = gfn - memslot.base_gfn;
            memslot.dirty_bitmap[(int) (rel_gfn / 64)] |= 1L << (rel_gfn % 64);
        }
    }

    /** Waits until the vCPU becomes runnable or the thread is asked to stop (a pending signal). */
    @Origin(file = "virt/kvm/kvm_main.c", line = 1089, status = Origin.Status.SIMPLIFIED,
            note = "no in-kernel timers to wake on; polls runnable/signal state instead of a wait queue")
    public void kvm_vcpu_block(KvmVcpu vcpu) {
        while (true) {
            if (arch.kvm_arch_vcpu_runnable(vcpu) != 0) {
                vcpu.requests |= 1L << KVM_REQ_UNHALT;
                break;
            }
            if (Kernel.signal_pending()) break;
            synchronized (vcpu) {
                try { vcpu.wait(1); } catch (InterruptedException e) { Thread.currentThread().interrupt(); break; }
            }
        }
    }

    /** A vCPU caught spinning in a PAUSE loop gives its processor away for 100 us, hoping the lock holder runs. */
    @Origin(file = "virt/kvm/kvm_main.c", line = 1119)
    public void kvm_vcpu_on_spin(KvmVcpu vcpu) {
        long expires = System.nanoTime() + 100_000L;
        synchronized (vcpu) {
            // a pending signal ends the sleep early, as in TASK_INTERRUPTIBLE
            for (long left; (left = expires - System.nanoTime()) > 0 && !Kernel.signal_pending(); ) {
                try { vcpu.wait(left / 1_000_000L, (int) (left % 1_000_000L)); } catch (InterruptedException e) { Thread.currentThread().interrupt(); break; }
            }
        }
    }

    /** Request bits of vcpu->requests (linux/kvm_host.h). */
    public static final int KVM_REQ_TLB_FLUSH = 0, KVM_REQ_MIGRATE_TIMER = 1, KVM_REQ_REPORT_TPR_ACCESS = 2,
            KVM_REQ_MMU_RELOAD = 3, KVM_REQ_TRIPLE_FAULT = 4, KVM_REQ_PENDING_TIMER = 5, KVM_REQ_UNHALT = 6,
            KVM_REQ_MMU_SYNC = 7, KVM_REQ_KVMCLOCK_UPDATE = 8, KVM_REQ_KICK = 9;

    // ---- the vCPU file ----

    /**
     * Native memory cannot show one page at two virtual addresses, so instead of mapping the kernel's
     * pages into the process, the process's mapping becomes the pages: the kvm_run and PIO pages move
     * into it on the first mmap, and kernel and VMM share them from then on, as in the C.
     */
    @Origin(file = "virt/kvm/kvm_main.c", line = 1160, status = Origin.Status.SIMPLIFIED,
            note = "pages move into the user mapping at mmap time instead of being faulted in; the VM's coalesced "
                    + "MMIO ring moves into the first vCPU mapping, a second vCPU's page 2 does not show it")
    long kvm_vcpu_mmap(File file, long length, long pgoff) {
        KvmVcpu vcpu = (KvmVcpu) file.private_data;
        if (pgoff != 0 || length > 3L * PAGE_SIZE) return -EINVAL;
        synchronized (vcpu) {
            if (vcpu.run_page.kind == HostMemory.Kind.USER) return vcpu.run_page.va;
            HostMemory.Region shared = mem().mmap(3L * PAGE_SIZE);
            if (shared == null) return -ENOMEM;
            copyPage(vcpu.run_page, shared, 0);
            copyPage(vcpu.arch.pio_data, shared, PAGE_SIZE);
            HostMemory.Region oldRun = vcpu.run_page, oldPio = vcpu.arch.pio_data;
            vcpu.run_page = shared;
            vcpu.run = new KvmRun(shared.buf, 0);
            vcpu.arch.pio_data = shared;
            mem().free(oldRun);
            mem().free(oldPio);
            Kvm kvm = vcpu.kvm;
            synchronized (kvm.coalesced_mmio_ring) {
                HostMemory.Region ring = kvm.coalesced_mmio_ring;
                if (ring.kind == HostMemory.Kind.KERNEL) {
                    copyPage(ring, shared, KVM_COALESCED_MMIO_PAGE_OFFSET * PAGE_SIZE);
                    kvm.coalesced_mmio_ring_off = KVM_COALESCED_MMIO_PAGE_OFFSET * PAGE_SIZE;
                    kvm.coalesced_mmio_ring = shared;
                    mem().free(ring);
                }
            }
            return shared.va;
        }
    }

    /** Byte offset of the PIO data page within vcpu.arch.pio_data (non-zero once it moved into the mapping). */
    public static int pio_data_offset(KvmVcpu vcpu) {
        return vcpu.arch.pio_data == vcpu.run_page ? PAGE_SIZE : 0;
    }

    private static void copyPage(HostMemory.Region from, HostMemory.Region to, int toOff) {
        byte[] tmp = new byte[PAGE_SIZE];
        from.buf.get(0, tmp, 0, PAGE_SIZE);
        to.buf.put(toOff, tmp, 0, PAGE_SIZE);
    }

    @Origin(file = "virt/kvm/kvm_main.c", line = 1166)
    int kvm_vcpu_release(File filp) {
        kvm_put_kvm(((KvmVcpu) filp.private_data).kvm);
        return 0;
    }

    @Origin(file = "virt/kvm/kvm_main.c", line = 1184)
    int create_vcpu_fd(KvmVcpu vcpu) {
        return Vfs.current().anon_inode_getfd("kvm-vcpu", kvm_vcpu_fops, vcpu);
    }

    @Origin(file = "virt/kvm/kvm_main.c", line = 1192)
    int kvm_vm_ioctl_create_vcpu(Kvm kvm, int id) {
        KvmVcpu vcpu;
        try {
            vcpu = arch.kvm_arch_vcpu_create(kvm, id);
        } catch (ErrPtr e) {
            return ErrPtr.PTR_ERR(e);
        }

        int r = arch.kvm_arch_vcpu_setup(vcpu);
        if (r != 0) return r;

        kvm.lock.lock();
        try {
            if (kvm.online_vcpus.get() == KVM_MAX_VCPUS) {
                r = -EINVAL;
            } else {
                r = 0;
                for (int i = 0; i < kvm.online_vcpus.get(); i++)
                    if (kvm.vcpus[i].vcpu_id == id) { r = -EEXIST; break; }
            }
            if (r == 0) {
                kvm_get_kvm(kvm);
                r = create_vcpu_fd(vcpu);
                if (r < 0) {
                    kvm_put_kvm(kvm);
                } else {
                    kvm.vcpus[kvm.online_vcpus.get()] = vcpu;
                    kvm.online_vcpus.incrementAndGet();
                    if (kvm.bsp_vcpu_id == id) kvm.bsp_vcpu = vcpu;
                    return r;
                }
            }
        } finally {
            kvm.lock.unlock();
        }
        arch.kvm_arch_vcpu_destroy(vcpu);
        return r;
    }

    /** SIGKILL and SIGSTOP cannot be blocked, not even while the guest runs. */
    @Origin(file = "virt/kvm/kvm_main.c", line = 1246)
    int kvm_vcpu_ioctl_set_sigmask(KvmVcpu vcpu, long[] sigset) {
        if (sigset != null) {
            vcpu.sigset_active = 1;
            vcpu.sigset = sigset[0] & ~(Kernel.sigmask(Kernel.SIGKILL) | Kernel.sigmask(Kernel.SIGSTOP));
        } else {
            vcpu.sigset_active = 0;
        }
        return 0;
    }

    /** The size of sigset_t on x86_64, which struct kvm_signal_mask.len must give. */
    static final int SIGSET_SIZE = 8;

    @Origin(file = "virt/kvm/kvm_main.c", line = 1257)
    long kvm_vcpu_ioctl(File filp, int ioctl, long arg) {
        KvmVcpu vcpu = (KvmVcpu) filp.private_data;
        Vfs mm = Vfs.current();
        if (vcpu.kvm.mm != mm) return -EIO;
        switch (ioctl) {
            case KVM_RUN:
                if (arg != 0) return -EINVAL;
                return arch.kvm_arch_vcpu_ioctl_run(vcpu, vcpu.run);
            case KVM_GET_REGS: {
                KvmRegs kvm_regs = new KvmRegs();
                int r = arch.kvm_arch_vcpu_ioctl_get_regs(vcpu, kvm_regs);
                if (r != 0) return r;
                HostMemory.Region u = Uaccess.access_ok(mm, arg, KvmRegs.SIZE);
                if (u == null) return -EFAULT;
                kvm_regs.write(u.buf, Uaccess.off(u, arg));
                return 0;
            }
            case KVM_SET_REGS: {
                HostMemory.Region u = Uaccess.access_ok(mm, arg, KvmRegs.SIZE);
                if (u == null) return -EFAULT;
                KvmRegs kvm_regs = new KvmRegs().read(u.buf, Uaccess.off(u, arg));
                return arch.kvm_arch_vcpu_ioctl_set_regs(vcpu, kvm_regs);
            }
            case KVM_GET_SREGS: {
                KvmSregs kvm_sregs = new KvmSregs();
                int r = arch.kvm_arch_vcpu_ioctl_get_sregs(vcpu, kvm_sregs);
                if (r != 0) return r;
                HostMemory.Region u = Uaccess.access_ok(mm, arg, KvmSregs.SIZE);
                if (u == null) return -EFAULT;
                kvm_sregs.write(u.buf, Uaccess.off(u, arg));
                return 0;
            }
            case KVM_SET_SREGS: {
                HostMemory.Region u = Uaccess.access_ok(mm, arg, KvmSregs.SIZE);
                if (u == null) return -EFAULT;
                KvmSregs kvm_sregs = new KvmSregs().read(u.buf, Uaccess.off(u, arg));
                return arch.kvm_arch_vcpu_ioctl_set_sregs(vcpu, kvm_sregs);
            }
            case KVM_GET_MP_STATE: {
                int[] mp_state = new int[1];
                int r = arch.kvm_arch_vcpu_ioctl_get_mpstate(vcpu, mp_state);
                if (r != 0) return r;
                HostMemory.Region u = Uaccess.access_ok(mm, arg, 4);
                if (u == null) return -EFAULT;
                u.buf.putInt(Uaccess.off(u, arg), mp_state[0]);
                return 0;
            }
            case KVM_SET_MP_STATE: {
                HostMemory.Region u = Uaccess.access_ok(mm, arg, 4);
                if (u == null) return -EFAULT;
                return arch.kvm_arch_vcpu_ioctl_set_mpstate(vcpu, u.buf.getInt(Uaccess.off(u, arg)));
            }
            case KVM_TRANSLATE: {
                HostMemory.Region u = Uaccess.access_ok(mm, arg, KvmTranslation.SIZE);
                if (u == null) return -EFAULT;
                KvmTranslation tr = new KvmTranslation().read(u.buf, Uaccess.off(u, arg));
                int r = arch.kvm_arch_vcpu_ioctl_translate(vcpu, tr);
                if (r != 0) return r;
                tr.write(u.buf, Uaccess.off(u, arg));
                return 0;
            }
            case KVM_SET_GUEST_DEBUG: {
                HostMemory.Region u = Uaccess.access_ok(mm, arg, KvmGuestDebug.SIZE);
                if (u == null) return -EFAULT;
                return arch.kvm_arch_vcpu_ioctl_set_guest_debug(vcpu, new KvmGuestDebug().read(u.buf, Uaccess.off(u, arg)));
            }
            case KVM_SET_SIGNAL_MASK: {
                // struct kvm_signal_mask: u32 len, then len bytes of sigset_t
                long[] sigset = {0};
                if (arg != 0) {
                    HostMemory.Region u = Uaccess.access_ok(mm, arg, 4);
                    if (u == null) return -EFAULT;
                    int len = u.buf.getInt(Uaccess.off(u, arg));
                    if (len != SIGSET_SIZE) return -EINVAL;
                    u = Uaccess.access_ok(mm, arg + 4, SIGSET_SIZE);
                    if (u == null) return -EFAULT;
                    sigset[0] = u.buf.getLong(Uaccess.off(u, arg + 4));
                }
                // 2.6.33 hands over its local sigset even for a NULL argument (kvm_main.c:1410), so a
                // NULL mask does not turn the mask off: it makes KVM_RUN run with an uninitialised one.
                // Here that stack garbage is an empty set.
                return kvm_vcpu_ioctl_set_sigmask(vcpu, sigset);
            }
            case KVM_GET_FPU: {
                KvmFpu fpu = new KvmFpu(); // zeroed, as the kernel's kzalloc: mxcsr reads 0
                int r = arch.kvm_arch_vcpu_ioctl_get_fpu(vcpu, fpu);
                if (r != 0) return r;
                HostMemory.Region u = Uaccess.access_ok(mm, arg, KvmFpu.SIZE);
                if (u == null) return -EFAULT;
                fpu.write(u.buf, Uaccess.off(u, arg));
                return 0;
            }
            case KVM_SET_FPU: {
                HostMemory.Region u = Uaccess.access_ok(mm, arg, KvmFpu.SIZE);
                if (u == null) return -EFAULT;
                return arch.kvm_arch_vcpu_ioctl_set_fpu(vcpu, new KvmFpu().read(u.buf, Uaccess.off(u, arg)));
            }
            default:
                return arch.kvm_arch_vcpu_ioctl(filp, ioctl, arg);
        }
    }

    // ---- the VM file ----

    @Origin(file = "virt/kvm/kvm_main.c", line = 1450, status = Origin.Status.SIMPLIFIED,
            note = "irqfd and device assignment arrive with later issues")
    long kvm_vm_ioctl(File filp, int ioctl, long arg) {
        Kvm kvm = (Kvm) filp.private_data;
        Vfs mm = Vfs.current();
        if (kvm.mm != mm) return -EIO;
        switch (ioctl) {
            case KVM_CREATE_VCPU:
                return kvm_vm_ioctl_create_vcpu(kvm, (int) arg);
            case KVM_SET_USER_MEMORY_REGION: {
                HostMemory.Region u = Uaccess.access_ok(mm, arg, KvmUserspaceMemoryRegion.SIZE);
                if (u == null) return -EFAULT;
                KvmUserspaceMemoryRegion kvm_userspace_mem = new KvmUserspaceMemoryRegion().read(u.buf, Uaccess.off(u, arg));
                return kvm_vm_ioctl_set_memory_region(kvm, kvm_userspace_mem, 1);
            }
            case KVM_REGISTER_COALESCED_MMIO:
            case KVM_UNREGISTER_COALESCED_MMIO: {
                HostMemory.Region u = Uaccess.access_ok(mm, arg, kvmkmod.include.KvmCoalescedMmio.Zone.SIZE);
                if (u == null) return -EFAULT;
                kvmkmod.include.KvmCoalescedMmio.Zone zone = new kvmkmod.include.KvmCoalescedMmio.Zone().read(u.buf, Uaccess.off(u, arg));
                return ioctl == KVM_REGISTER_COALESCED_MMIO
                        ? coalesced_mmio.kvm_vm_ioctl_register_coalesced_mmio(kvm, zone)
                        : coalesced_mmio.kvm_vm_ioctl_unregister_coalesced_mmio(kvm, zone);
            }
            case KVM_GET_DIRTY_LOG: {
                HostMemory.Region u = Uaccess.access_ok(mm, arg, KvmDirtyLog.SIZE);
                if (u == null) return -EFAULT;
                return arch.kvm_vm_ioctl_get_dirty_log(kvm, new KvmDirtyLog().read(u.buf, Uaccess.off(u, arg)));
            }
            case KVM_IOEVENTFD: {
                HostMemory.Region u = Uaccess.access_ok(mm, arg, KvmIoeventfd.SIZE);
                if (u == null) return -EFAULT;
                KvmIoeventfd data = new KvmIoeventfd().read(u.buf, Uaccess.off(u, arg));
                return eventfd.kvm_ioeventfd(kvm, data);
            }
            case KVM_SET_BOOT_CPU_ID: {
                kvm.lock.lock();
                try {
                    if (kvm.online_vcpus.get() != 0) return -EBUSY;
                    kvm.bsp_vcpu_id = (int) arg;
                    return 0;
                } finally {
                    kvm.lock.unlock();
                }
            }
            default:
                return arch.kvm_arch_vm_ioctl(filp, ioctl, arg);
        }
    }

    // ---- /dev/kvm ----

    @Origin(file = "virt/kvm/kvm_main.c", line = 1639)
    int kvm_dev_ioctl_create_vm() {
        Kvm kvm;
        try {
            kvm = kvm_create_vm();
        } catch (ErrPtr e) {
            return ErrPtr.PTR_ERR(e);
        }
        int fd = Vfs.current().anon_inode_getfd("kvm-vm", kvm_vm_fops, kvm);
        if (fd < 0) kvm_put_kvm(kvm);
        return fd;
    }

    @Origin(file = "virt/kvm/kvm_main.c", line = 1654, status = Origin.Status.SIMPLIFIED,
            note = "KVM_CAP_IRQ_ROUTING is not reported: there is no in-kernel irqchip yet")
    long kvm_dev_ioctl_check_extension_generic(long arg) {
        if (arg == KVM_CAP_USER_MEMORY || arg == KVM_CAP_DESTROY_MEMORY_REGION_WORKS
                || arg == KVM_CAP_JOIN_MEMORY_REGIONS_WORKS || arg == KVM_CAP_SET_BOOT_CPU_ID
                || arg == KVM_CAP_INTERNAL_ERROR_DATA)
            return 1;
        return arch.kvm_dev_ioctl_check_extension(arg);
    }

    @Origin(file = "virt/kvm/kvm_main.c", line = 1675)
    long kvm_dev_ioctl(File filp, int ioctl, long arg) {
        switch (ioctl) {
            case KVM_GET_API_VERSION:
                return arg != 0 ? -EINVAL : KVM_API_VERSION;
            case KVM_CREATE_VM:
                return arg != 0 ? -EINVAL : kvm_dev_ioctl_create_vm();
            case KVM_CHECK_EXTENSION:
                return kvm_dev_ioctl_check_extension_generic(arg);
            case KVM_GET_VCPU_MMAP_SIZE:
                if (arg != 0) return -EINVAL;
                // kvm_run, the PIO data page, the coalesced MMIO ring
                return 3L * PAGE_SIZE;
            case KVM_TRACE_ENABLE:
            case KVM_TRACE_PAUSE:
            case KVM_TRACE_DISABLE:
                return -EOPNOTSUPP;
            default:
                return arch.kvm_arch_dev_ioctl(filp, ioctl, arg);
        }
    }

    // ---- enabling VMX on the processors ----

    @Origin(file = "virt/kvm/kvm_main.c", line = 1731)
    void hardware_enable(Object junk) {
        int cpu = platform.smp_processor_id();
        if (cpus_hardware_enabled[cpu]) return;
        cpus_hardware_enabled[cpu] = true;
        int r = arch.kvm_arch_hardware_enable(null);
        if (r != 0) {
            cpus_hardware_enabled[cpu] = false;
            hardware_enable_failed.incrementAndGet();
            System.err.printf("kvm: enabling virtualization on CPU%d failed%n", cpu);
        }
    }

    @Origin(file = "virt/kvm/kvm_main.c", line = 1751)
    void hardware_disable(Object junk) {
        int cpu = platform.smp_processor_id();
        if (!cpus_hardware_enabled[cpu]) return;
        cpus_hardware_enabled[cpu] = false;
        arch.kvm_arch_hardware_disable(null);
    }

    @Origin(file = "virt/kvm/kvm_main.c", line = 1761)
    void hardware_disable_all_nolock() {
        kvm_usage_count--;
        if (kvm_usage_count == 0) platform.on_each_cpu(cpu -> hardware_disable(null));
    }

    @Origin(file = "virt/kvm/kvm_main.c", line = 1770)
    void hardware_disable_all() {
        synchronized (kvm_lock) { hardware_disable_all_nolock(); }
    }

    @Origin(file = "virt/kvm/kvm_main.c", line = 1777)
    int hardware_enable_all() {
        synchronized (kvm_lock) {
            kvm_usage_count++;
            if (kvm_usage_count == 1) {
                hardware_enable_failed.set(0);
                platform.on_each_cpu(cpu -> hardware_enable(null));
                if (hardware_enable_failed.get() != 0) {
                    hardware_disable_all_nolock();
                    return -EBUSY;
                }
            }
            return 0;
        }
    }

    // ---- I/O buses ----

    @Origin(file = "virt/kvm/kvm_main.c", line = 1860)
    public void kvm_io_bus_init(KvmIoBus bus) {
        bus.dev_count = 0;
        java.util.Arrays.fill(bus.devs, null);
    }

    @Origin(file = "virt/kvm/kvm_main.c", line = 1865)
    public void kvm_io_bus_destroy(KvmIoBus bus) {
        for (int i = 0; i < bus.dev_count; i++) bus.devs[i].destructor();
    }

    @Origin(file = "virt/kvm/kvm_main.c", line = 1877)
    public int kvm_io_bus_write(KvmIoBus bus, long addr, int len, ByteBuffer val, int off) {
        for (int i = 0; i < bus.dev_count; i++)
            if (bus.devs[i].write(addr, len, val, off) == 0) return 0;
        return -EOPNOTSUPP;
    }

    @Origin(file = "virt/kvm/kvm_main.c", line = 1888)
    public int kvm_io_bus_read(KvmIoBus bus, long addr, int len, ByteBuffer val, int off) {
        for (int i = 0; i < bus.dev_count; i++)
            if (bus.devs[i].read(addr, len, val, off) == 0) return 0;
        return -EOPNOTSUPP;
    }

    @Origin(file = "virt/kvm/kvm_main.c", line = 1897)
    public int kvm_io_bus_register_dev(Kvm kvm, KvmIoBus bus, KvmIoDevice dev) {
        kvm.slots_lock.writeLock().lock();
        try {
            return __kvm_io_bus_register_dev(bus, dev);
        } finally {
            kvm.slots_lock.writeLock().unlock();
        }
    }

    @Origin(file = "virt/kvm/kvm_main.c", line = 1910)
    public int __kvm_io_bus_register_dev(KvmIoBus bus, KvmIoDevice dev) {
        if (bus.dev_count > KvmIoBus.NR_IOBUS_DEVS - 1) return -ENOSPC;
        bus.devs[bus.dev_count++] = dev;
        return 0;
    }

    @Origin(file = "virt/kvm/kvm_main.c", line = 1921)
    public void kvm_io_bus_unregister_dev(Kvm kvm, KvmIoBus bus, KvmIoDevice dev) {
        kvm.slots_lock.writeLock().lock();
        try {
            __kvm_io_bus_unregister_dev(bus, dev);
        } finally {
            kvm.slots_lock.writeLock().unlock();
        }
    }

    @Origin(file = "virt/kvm/kvm_main.c", line = 1931)
    public void __kvm_io_bus_unregister_dev(KvmIoBus bus, KvmIoDevice dev) {
        for (int i = 0; i < bus.dev_count; i++)
            if (bus.devs[i] == dev) {
                bus.devs[i] = bus.devs[--bus.dev_count];
                bus.devs[bus.dev_count] = null;
                break;
            }
    }

    // ---- statistics in debugfs (kvm_stat reads them) ----

    /** A VM counter summed over every VM. */
    @Origin(file = "virt/kvm/kvm_main.c", line = 1948)
    long vm_stat_get(KvmStatsDebugfsItem p) {
        long val = 0;
        synchronized (kvm_lock) {
            for (Kvm kvm : vm_list) val += p.get(kvm);
        }
        return val;
    }

    /** A vCPU counter summed over every vCPU of every VM. */
    @Origin(file = "virt/kvm/kvm_main.c", line = 1963)
    long vcpu_stat_get(KvmStatsDebugfsItem p) {
        long val = 0;
        synchronized (kvm_lock) {
            for (Kvm kvm : vm_list)
                for (int i = 0; i < kvm.online_vcpus.get(); i++) val += p.get(kvm.vcpus[i]);
        }
        return val;
    }

    @Origin(file = "virt/kvm/kvm_main.c", line = 1987)
    void kvm_init_debug() {
        for (KvmStatsDebugfsItem p : arch.debugfs_entries())
            kernel.debugfs_create_file("kvm/" + p.name,
                    p.kind == KvmStatsDebugfsItem.Kind.KVM_STAT_VCPU ? () -> vcpu_stat_get(p) : () -> vm_stat_get(p));
    }

    @Origin(file = "virt/kvm/kvm_main.c", line = 1998)
    void kvm_exit_debug() {
        for (KvmStatsDebugfsItem p : arch.debugfs_entries()) kernel.debugfs_remove("kvm/" + p.name);
    }

    // ---- module init and exit ----

    /**
     * The hotplug/reboot notifiers, sysdev, vcpu slab cache and debugfs of the C have no counterpart in
     * a JVM; the steps that shape the call path (arch init, hardware setup, per-CPU compatibility
     * check, misc_register of /dev/kvm) are all here, in order.
     */
    @Origin(file = "virt/kvm/kvm_main.c", line = 2056, status = Origin.Status.SIMPLIFIED,
            note = "no CPU-hotplug/reboot notifiers, sysdev or slab cache")
    public int kvm_init(KvmX86Ops opaque, int vcpu_size) {
        int r = arch.kvm_arch_init(opaque);
        if (r != 0) return r;

        bad_page = mem().allocPages(PAGE_SIZE);
        if (bad_page == null) {
            arch.kvm_arch_exit();
            return -ENOMEM;
        }
        bad_pfn = bad_page.hpa >>> PAGE_SHIFT;
        cpus_hardware_enabled = new boolean[platform.num_possible_cpus()];

        r = arch.kvm_arch_hardware_setup();
        if (r < 0) return kvm_init_fail(r);

        int[] rc = {0};
        for (int cpu = 0; cpu < platform.num_possible_cpus(); cpu++) {
            platform.get_cpu(cpu);
            try {
                arch.kvm_arch_check_processor_compat(rc);
            } finally {
                platform.put_cpu();
            }
            if (rc[0] < 0) {
                arch.kvm_arch_hardware_unsetup();
                return kvm_init_fail(rc[0]);
            }
        }

        r = kernel.misc_register(DEV_KVM, () -> new File(DEV_KVM, kvm_chardev_ops, null));
        if (r != 0) {
            System.err.println("kvm: misc device register failed");
            arch.kvm_arch_hardware_unsetup();
            return kvm_init_fail(r);
        }
        kvm_init_debug();
        return 0;
    }

    private int kvm_init_fail(int r) {
        mem().free(bad_page);
        arch.kvm_arch_exit();
        return r;
    }

    @Origin(file = "virt/kvm/kvm_main.c", line = 2154, status = Origin.Status.SIMPLIFIED,
            note = "no notifiers or sysdev to unregister")
    public void kvm_exit() {
        kvm_exit_debug();
        kernel.misc_deregister(DEV_KVM);
        platform.on_each_cpu(cpu -> hardware_disable(null));
        arch.kvm_arch_hardware_unsetup();
        arch.kvm_arch_exit();
        mem().free(bad_page);
    }
}
