package kvmkmod.include;

import kvmkmod.hw.HostMemory;

import java.util.ArrayList;
import java.util.List;

/**
 * One userspace process's view of the kernel: its file descriptors and the system calls a VMM makes
 * (open, ioctl, mmap, close, eventfd, read). The anon_inode_getfd of KVM's VM and vCPU files lands
 * here too. Memory the process maps is host memory of kind USER, which is what copy_from_user accepts.
 */
public final class Vfs {
    private final Kernel kernel;
    private final List<File> fds = new ArrayList<>();

    Vfs(Kernel kernel) { this.kernel = kernel; }

    public Kernel kernel() { return kernel; }

    public HostMemory mm() { return kernel.platform.memory(); }

    public synchronized int open(String path) {
        File f = kernel.openDevice(path);
        return f == null ? -Errno.ENOENT : install(f);
    }

    /** anon_inode_getfd: installs a new file for {@code private_data} with operations {@code fops}. */
    public synchronized int anon_inode_getfd(String name, FileOperations fops, Object private_data) {
        return install(new File("anon_inode:" + name, fops, private_data));
    }

    private int install(File f) {
        for (int i = 0; i < fds.size(); i++)
            if (fds.get(i) == null) { fds.set(i, f); return i + 3; }
        fds.add(f);
        return fds.size() + 2;
    }

    /** The open file behind {@code fd}, or null (fd 0-2 are the standard streams, never KVM files). */
    public synchronized File fget(int fd) {
        int i = fd - 3;
        return i >= 0 && i < fds.size() ? fds.get(i) : null;
    }

    private static final ThreadLocal<Vfs> CURRENT = new ThreadLocal<>();

    /** The process whose system call the calling thread is executing (the kernel's current->mm). */
    public static Vfs current() { return CURRENT.get(); }

    public long ioctl(int fd, int cmd, long arg) {
        File f = fget(fd);
        if (f == null) return -Errno.EBADF;
        Vfs prev = CURRENT.get();
        CURRENT.set(this);
        try {
            return f.f_op.unlocked_ioctl(f, cmd, arg);
        } finally {
            CURRENT.set(prev);
        }
    }

    /** mmap of a file at page offset {@code pgoff}; returns the address or -errno. */
    public long mmap(long length, int fd, long pgoff) {
        File f = fget(fd);
        if (f == null) return -Errno.EBADF;
        if (length <= 0) return -Errno.EINVAL;
        return f.f_op.mmap(f, length, pgoff);
    }

    /** An anonymous private mapping; returns the address or -ENOMEM. */
    /** mmap of hugetlbfs memory (qemu's -mem-path /dev/hugepages): 2 MiB pages; the address or -errno. */
    public long mmapHugetlb(long length) {
        if (length <= 0) return -Errno.EINVAL;
        HostMemory.Region r = mm().mmapHuge(length);
        return r == null ? -Errno.ENOMEM : r.va;
    }

    public long mmapAnonymous(long length) {
        if (length <= 0) return -Errno.EINVAL;
        HostMemory.Region r = mm().mmap(length);
        return r == null ? -Errno.ENOMEM : r.va;
    }

    public int close(int fd) {
        File f;
        synchronized (this) {
            f = fget(fd);
            if (f == null) return -Errno.EBADF;
            fds.set(fd - 3, null);
        }
        return f.f_op.release(f);
    }

    /** eventfd(2): a counter file; reading returns and clears it. */
    public int eventfd(long initval) {
        return anon_inode_getfd("[eventfd]", new EventFd(initval), null);
    }

    /** getdents(2): only debugfs has directories in this kernel. */
    public java.util.List<String> readdir(String path) { return kernel.debugfs_readdir(path); }

    /** read(2) into user memory at {@code va}; eventfds and debugfs attributes are readable here. */
    public long read(int fd, long va, int len) {
        File f = fget(fd);
        if (f == null) return -Errno.EBADF;
        if (f.f_op instanceof Kernel.DebugfsAttr) {
            byte[] text = ((Kernel.DebugfsAttr) f.f_op).text();
            int n = Math.min(len, text.length);
            HostMemory.Region r = mm().regionAtVa(va, Math.max(1, n));
            if (r == null || r.kind != HostMemory.Kind.USER) return -Errno.EFAULT;
            r.buf.put((int) (va - r.va), text, 0, n);
            return n;
        }
        if (!(f.f_op instanceof EventFd)) return -Errno.EINVAL;
        if (len < 8) return -Errno.EINVAL;
        HostMemory.Region r = mm().regionAtVa(va, 8);
        if (r == null || r.kind != HostMemory.Kind.USER) return -Errno.EFAULT;
        long v = ((EventFd) f.f_op).take();
        if (v == 0) return -Errno.EAGAIN;
        r.buf.putLong((int) (va - r.va), v);
        return 8;
    }

    /** The eventfd context behind {@code fd} (eventfd_ctx_fdget), or null. */
    public EventFd eventfd_ctx_fdget(int fd) {
        File f = fget(fd);
        return f != null && f.f_op instanceof EventFd ? (EventFd) f.f_op : null;
    }

    /** fs/eventfd.c's counter. Non-blocking: a read of zero is -EAGAIN. */
    public static final class EventFd implements FileOperations {
        private long count;

        EventFd(long init) { count = init; }

        public synchronized void eventfd_signal(long n) { count += n; }

        synchronized long take() { long v = count; count = 0; return v; }

        @Override public long unlocked_ioctl(File filp, int ioctl, long arg) { return -Errno.ENOTTY; }
    }
}
