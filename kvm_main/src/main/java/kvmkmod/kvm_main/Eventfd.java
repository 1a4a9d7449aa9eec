package kvmkmod.kvm_main;

import kvmkmod.include.Kvm;
import kvmkmod.include.KvmIoBus;
import kvmkmod.include.KvmIoDevice;
import kvmkmod.include.KvmIoeventfd;
import kvmkmod.include.Origin;
import kvmkmod.include.Vfs;

import java.nio.ByteBuffer;

import static kvmkmod.include.Errno.*;
import static kvmkmod.include.KvmIoeventfd.*;

/**
 * virt/kvm/eventfd.c, the ioeventfd half: a guest write to a registered port or MMIO address is
 * consumed inside the kernel by a device on the VM's I/O bus and becomes an eventfd signal, without an
 * exit to userspace. This is the in-kernel device that guest port I/O reaches through kernel_pio.
 */
public final class Eventfd {
    private final KvmMain kvm_main;

    Eventfd(KvmMain kvm_main) { this.kvm_main = kvm_main; }

    /** struct _ioeventfd: one registration, itself the kvm_io_device on the bus. */
    static final class Ioeventfd implements KvmIoDevice {
        long addr;
        int length;
        Vfs.EventFd eventfd;
        long datamatch;
        boolean wildcard;
        Kvm kvm;

        @Override public int write(long addr, int len, ByteBuffer val, int off) { return ioeventfd_write(this, addr, len, val, off); }

        @Override public void destructor() { ioeventfd_destructor(this); }
    }

    @Origin(file = "virt/kvm/eventfd.c", line = 251, status = Origin.Status.SIMPLIFIED,
            note = "irqfd lists are not set up: there is no in-kernel irqchip yet")
    void kvm_eventfd_init(Kvm kvm) {
        kvm.ioeventfds.clear();
    }

    @Origin(file = "virt/kvm/eventfd.c", line = 372)
    static void ioeventfd_release(Ioeventfd p) {
        p.kvm.ioeventfds.remove(p);
    }

    @Origin(file = "virt/kvm/eventfd.c", line = 380)
    static boolean ioeventfd_in_range(Ioeventfd p, long addr, int len, ByteBuffer val, int off) {
        if (!(addr == p.addr && len == p.length)) return false;
        if (p.wildcard) return true;
        long v;
        switch (len) {
            case 1: v = val.get(off) & 0xffL; break;
            case 2: v = val.getShort(off) & 0xffffL; break;
            case 4: v = val.getInt(off) & 0xffffffffL; break;
            case 8: v = val.getLong(off); break;
            default: return false;
        }
        return v == p.datamatch;
    }

    @Origin(file = "virt/kvm/eventfd.c", line = 418)
    static int ioeventfd_write(Ioeventfd p, long addr, int len, ByteBuffer val, int off) {
        if (!ioeventfd_in_range(p, addr, len, val, off)) return -EOPNOTSUPP;
        p.eventfd.eventfd_signal(1);
        return 0;
    }

    @Origin(file = "virt/kvm/eventfd.c", line = 435)
    static void ioeventfd_destructor(Ioeventfd p) { ioeventfd_release(p); }

    @Origin(file = "virt/kvm/eventfd.c", line = 449)
    static boolean ioeventfd_check_collision(Kvm kvm, Ioeventfd p) {
        for (Object o : kvm.ioeventfds) {
            Ioeventfd q = (Ioeventfd) o;
            if (q.addr == p.addr && q.length == p.length && (q.wildcard || p.wildcard || q.datamatch == p.datamatch))
                return true;
        }
        return false;
    }

    @Origin(file = "virt/kvm/eventfd.c", line = 463)
    int kvm_assign_ioeventfd(Kvm kvm, KvmIoeventfd args) {
        boolean pio = (args.flags & KVM_IOEVENTFD_FLAG_PIO) != 0;
        KvmIoBus bus = pio ? kvm.pio_bus : kvm.mmio_bus;
        switch (args.len) {
            case 1: case 2: case 4: case 8: break;
            default: return -EINVAL;
        }
        if (Long.compareUnsigned(args.addr + args.len, args.addr) < 0) return -EINVAL;
        if ((args.flags & ~KVM_IOEVENTFD_VALID_FLAG_MASK) != 0) return -EINVAL;

        Vfs.EventFd eventfd = kvm.mm.eventfd_ctx_fdget(args.fd);
        if (eventfd == null) return -EBADF;

        Ioeventfd p = new Ioeventfd();
        p.kvm = kvm;
        p.addr = args.addr;
        p.length = args.len;
        p.eventfd = eventfd;
        if ((args.flags & KVM_IOEVENTFD_FLAG_DATAMATCH) != 0) p.datamatch = args.datamatch;
        else p.wildcard = true;

        kvm.slots_lock.writeLock().lock();
        try {
            if (ioeventfd_check_collision(kvm, p)) return -EEXIST;
            int ret = kvm_main.__kvm_io_bus_register_dev(bus, p);
            if (ret < 0) return ret;
            kvm.ioeventfds.add(p);
            return 0;
        } finally {
            kvm.slots_lock.writeLock().unlock();
        }
    }

    @Origin(file = "virt/kvm/eventfd.c", line = 542)
    int kvm_deassign_ioeventfd(Kvm kvm, KvmIoeventfd args) {
        boolean pio = (args.flags & KVM_IOEVENTFD_FLAG_PIO) != 0;
        KvmIoBus bus = pio ? kvm.pio_bus : kvm.mmio_bus;
        Vfs.EventFd eventfd = kvm.mm.eventfd_ctx_fdget(args.fd);
        if (eventfd == null) return -EBADF;
        boolean wildcard = (args.flags & KVM_IOEVENTFD_FLAG_DATAMATCH) == 0;
        kvm.slots_lock.writeLock().lock();
        try {
            for (Object o : kvm.ioeventfds) {
                Ioeventfd p = (Ioeventfd) o;
                if (p.eventfd != eventfd || p.addr != args.addr || p.length != args.len || p.wildcard != wildcard)
                    continue;
                if (!p.wildcard && p.datamatch != args.datamatch) continue;
                kvm_main.__kvm_io_bus_unregister_dev(bus, p);
                ioeventfd_release(p);
                return 0;
            }
            return -ENOENT;
        } finally {
            kvm.slots_lock.writeLock().unlock();
        }
    }

    @Origin(file = "virt/kvm/eventfd.c", line = 582)
    public int kvm_ioeventfd(Kvm kvm, KvmIoeventfd args) {
        if ((args.flags & KVM_IOEVENTFD_FLAG_DEASSIGN) != 0) return kvm_deassign_ioeventfd(kvm, args);
        return kvm_assign_ioeventfd(kvm, args);
    }
}
