package kvmkmod.kvm_main;

import kvmkmod.include.Kvm;
import kvmkmod.include.KvmCoalescedMmio.Zone;
import kvmkmod.include.KvmIoDevice;
import kvmkmod.include.Origin;

import java.nio.ByteBuffer;

import static kvmkmod.include.Errno.*;
import static kvmkmod.include.KvmCoalescedMmio.*;

/**
 * virt/kvm/coalesced_mmio.c: guest writes to zones userspace registered with KVM_REGISTER_COALESCED_MMIO
 * do not leave KVM_RUN. A device on the VM's MMIO bus appends each one (address, length, data) to a ring
 * in a page shared with userspace — page KVM_COALESCED_MMIO_PAGE_OFFSET of every vCPU mapping — and the
 * VMM replays the ring, in order, the next time KVM_RUN returns for any reason. Reads still exit.
 */
public final class CoalescedMmio {
    private final KvmMain kvm_main;

    CoalescedMmio(KvmMain kvm_main) { this.kvm_main = kvm_main; }

    /** coalesced_mmio.h: how many zones one VM may register. */
    public static final int KVM_COALESCED_MMIO_ZONE_MAX = 100;

    /** struct kvm_coalesced_mmio_dev: the bus device and its zones. */
    static final class Dev implements KvmIoDevice {
        Kvm kvm;
        final Object lock = new Object();
        int nb_zones;
        final Zone[] zone = new Zone[KVM_COALESCED_MMIO_ZONE_MAX];

        @Override public int write(long addr, int len, ByteBuffer val, int off) { return coalesced_mmio_write(this, addr, len, val, off); }

        @Override public void destructor() { coalesced_mmio_destructor(this); }
    }

    /** container_of: the Java device is the coalesced device itself. */
    @Origin(file = "virt/kvm/coalesced_mmio.c", line = 17)
    static Dev to_mmio(KvmIoDevice dev) { return (Dev) dev; }

    /** The ring as the kernel sees it: the page and where the ring starts in it. */
    static ByteBuffer ring(Kvm kvm) { return kvm.coalesced_mmio_ring.buf; }

    /**
     * Room for a write, and the write wholly inside a zone? The ring keeps one slot free to tell full from
     * empty, and refuses while fewer than KVM_MAX_VCPUS slots are left, so every vCPU can still add one.
     */
    @Origin(file = "virt/kvm/coalesced_mmio.c", line = 22)
    static boolean coalesced_mmio_in_range(Dev dev, long addr, int len) {
        ByteBuffer ring = ring(dev.kvm);
        int base = dev.kvm.coalesced_mmio_ring_off;
        int first = ring.getInt(base + RING_FIRST), last = ring.getInt(base + RING_LAST);
        // the C computes this in unsigned arithmetic
        long avail = Integer.toUnsignedLong(first - last - 1) % KVM_COALESCED_MMIO_MAX;
        if (avail < Kvm.KVM_MAX_VCPUS) return false;

        for (int i = 0; i < dev.nb_zones; i++) {
            Zone zone = dev.zone[i];
            if (zone.addr <= addr && addr + len <= zone.end()) return true;
        }
        return false;
    }

    @Origin(file = "virt/kvm/coalesced_mmio.c", line = 59)
    static int coalesced_mmio_write(Dev dev, long addr, int len, ByteBuffer val, int off) {
        if (!coalesced_mmio_in_range(dev, addr, len)) return -EOPNOTSUPP;
        ByteBuffer ring = ring(dev.kvm);
        int base = dev.kvm.coalesced_mmio_ring_off;
        synchronized (dev.lock) {
            int last = ring.getInt(base + RING_LAST);
            int e = base + RING_ENTRIES + last * ENTRY_SIZE;
            ring.putLong(e + ENTRY_PHYS_ADDR, addr);
            ring.putInt(e + ENTRY_LEN, len);
            for (int i = 0; i < len; i++) ring.put(e + ENTRY_DATA + i, val.get(off + i));
            // the entry is complete before userspace can see the new index (smp_wmb)
            java.lang.invoke.VarHandle.releaseFence();
            ring.putInt(base + RING_LAST, (last + 1) % KVM_COALESCED_MMIO_MAX);
        }
        return 0;
    }

    @Origin(file = "virt/kvm/coalesced_mmio.c", line = 80)
    static void coalesced_mmio_destructor(Dev dev) {
        dev.kvm.coalesced_mmio_dev = null;
    }

    @Origin(file = "virt/kvm/coalesced_mmio.c", line = 92)
    int kvm_coalesced_mmio_init(Kvm kvm) {
        Dev dev = new Dev();
        dev.kvm = kvm;
        kvm.coalesced_mmio_dev = dev;

        int ret = kvm_main.kvm_io_bus_register_dev(kvm, kvm.mmio_bus, dev);
        if (ret < 0) kvm.coalesced_mmio_dev = null;
        return ret;
    }

    @Origin(file = "virt/kvm/coalesced_mmio.c", line = 112)
    int kvm_vm_ioctl_register_coalesced_mmio(Kvm kvm, Zone zone) {
        Dev dev = (Dev) kvm.coalesced_mmio_dev;
        if (dev == null) return -EINVAL;

        kvm.slots_lock.writeLock().lock();
        try {
            if (dev.nb_zones >= KVM_COALESCED_MMIO_ZONE_MAX) return -ENOBUFS;
            dev.zone[dev.nb_zones] = zone;
            dev.nb_zones++;
            return 0;
        } finally {
            kvm.slots_lock.writeLock().unlock();
        }
    }

    /** Drops every zone lying wholly inside the given range (not only an exact match). */
    @Origin(file = "virt/kvm/coalesced_mmio.c", line = 133)
    int kvm_vm_ioctl_unregister_coalesced_mmio(Kvm kvm, Zone zone) {
        Dev dev = (Dev) kvm.coalesced_mmio_dev;
        if (dev == null) return -EINVAL;

        kvm.slots_lock.writeLock().lock();
        try {
            int i = dev.nb_zones;
            while (i != 0) {
                Zone z = dev.zone[i - 1];
                if (zone.addr <= z.addr && z.end() <= zone.end()) {
                    dev.nb_zones--;
                    dev.zone[i - 1] = dev.zone[dev.nb_zones];
                    dev.zone[dev.nb_zones] = null;
                }
                i--;
            }
            return 0;
        } finally {
            kvm.slots_lock.writeLock().unlock();
        }
    }
}
