package kvmkmod.vmm;

import com.sun.jna.LastErrorException;
import com.sun.jna.Pointer;
import kvmkmod.hw.host.HostKvm;
import kvmkmod.hw.host.LibC;
import kvmkmod.include.Errno;
import kvmkmod.include.Kvm_h;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * {@link Sys} over the host's real /dev/kvm: every call is the libc call, through JNA direct mapping.
 * An errno comes back as a negative result ({@link LastErrorException} is caught here); the success
 * path allocates nothing, so a KVM_RUN loop over this transport is garbage-free.
 */
public final class HostSys implements Sys {
    /** The device a VMM opens as "/dev/kvm" (see {@link HostKvm#devicePath()}). */
    public static final String DEV_KVM = HostKvm.devicePath();
    private static final long PAGE = 4096;

    private final List<long[]> mappings = new ArrayList<>();

    /** Fails with {@link IllegalStateException} carrying {@link #whyNotUsable()} when there is no usable /dev/kvm. */
    public HostSys() {
        String why = whyNotUsable();
        if (why != null) throw new IllegalStateException(why);
    }

    /**
     * Null when the host's /dev/kvm answers KVM_GET_API_VERSION with 12; otherwise one line saying why
     * not (no JNA, no device, no permission, wrong API).
     */
    public static String whyNotUsable() {
        if (LibC.loadError() != null) return "cannot bind the C library through JNA: " + LibC.loadError();
        if (HostNative.loadError() != null) return "cannot bind eventfd/read through JNA: " + HostNative.loadError();
        if (!new java.io.File(DEV_KVM).exists()) return DEV_KVM + " does not exist on this host";
        int fd;
        try {
            fd = LibC.open(DEV_KVM, LibC.O_RDWR | LibC.O_CLOEXEC);
        } catch (LastErrorException e) {
            return "cannot open " + DEV_KVM + ": " + Errno.name(e.getErrorCode());
        }
        try {
            int v = LibC.ioctl(fd, Kvm_h.KVM_GET_API_VERSION, 0);
            if (v != Kvm_h.KVM_API_VERSION) return DEV_KVM + " has KVM API version " + v + ", not 12";
            return null;
        } catch (LastErrorException e) {
            return "KVM_GET_API_VERSION on " + DEV_KVM + " failed: " + Errno.name(e.getErrorCode());
        } finally {
            try { LibC.close(fd); } catch (LastErrorException ignored) { }
        }
    }

    public static boolean usable() { return whyNotUsable() == null; }

    @Override public String name() { return "host " + DEV_KVM; }

    @Override public int open(String path) {
        try {
            // the device is opened read-write as qemu-kvm does; anything else (debugfs) read-only
            if ("/dev/kvm".equals(path)) return LibC.open(DEV_KVM, LibC.O_RDWR | LibC.O_CLOEXEC);
            return LibC.open(path, LibC.O_CLOEXEC);
        } catch (LastErrorException e) {
            return -e.getErrorCode();
        }
    }

    @Override public long ioctl(int fd, int request, long arg) {
        try {
            return LibC.ioctl(fd, request & 0xffffffffL, arg);
        } catch (LastErrorException e) {
            return -e.getErrorCode();
        }
    }

    @Override public long mmap(long length, int fd, long pgoff) {
        try {
            long a = LibC.mmap(0, length, LibC.PROT_READ | LibC.PROT_WRITE, LibC.MAP_SHARED, fd, pgoff * PAGE);
            remember(a, length);
            return a;
        } catch (LastErrorException e) {
            return -e.getErrorCode();
        }
    }

    @Override public long mmapAnonymous(long length) {
        if (length <= 0) return -Errno.EINVAL;
        try {
            long a = LibC.mmap(0, length, LibC.PROT_READ | LibC.PROT_WRITE,
                    HostNative.MAP_PRIVATE | HostNative.MAP_ANONYMOUS, -1, 0);
            remember(a, length);
            return a;
        } catch (LastErrorException e) {
            return -e.getErrorCode();
        }
    }

    private synchronized void remember(long addr, long len) { mappings.add(new long[] {addr, len}); }

    @Override public int close(int fd) {
        try {
            return LibC.close(fd);
        } catch (LastErrorException e) {
            return -e.getErrorCode();
        }
    }

    @Override public int eventfd(long initval) {
        try {
            return HostNative.eventfd((int) initval, HostNative.EFD_NONBLOCK | HostNative.EFD_CLOEXEC);
        } catch (LastErrorException e) {
            return -e.getErrorCode();
        }
    }

    @Override public long read(int fd, long addr, int len) {
        if (findMapping(addr, len) == null) return -Errno.EFAULT;
        try {
            return HostNative.read(fd, addr, len);
        } catch (LastErrorException e) {
            return -e.getErrorCode();
        }
    }

    @Override public java.util.List<String> readdir(String path) {
        try (java.util.stream.Stream<java.nio.file.Path> s = java.nio.file.Files.list(java.nio.file.Path.of(path))) {
            return s.map(p -> p.getFileName().toString()).sorted().collect(java.util.stream.Collectors.toList());
        } catch (java.io.IOException | SecurityException e) {
            return java.util.List.of();
        }
    }

    @Override public ByteBuffer buffer(long addr, int len) {
        if (findMapping(addr, len) == null)
            throw new IllegalArgumentException(String.format("%#x+%d is not inside a mapping of this process", addr, len));
        return new Pointer(addr).getByteBuffer(0, len).order(ByteOrder.LITTLE_ENDIAN);
    }

    private synchronized long[] findMapping(long addr, long len) {
        for (long[] m : mappings)
            if (addr >= m[0] && len >= 0 && addr - m[0] <= m[1] - len) return m;
        return null;
    }

    /** Unmaps every mapping this transport made. File descriptors belong to their owners. */
    @Override public synchronized void close() {
        for (long[] m : mappings) {
            try { LibC.munmap(m[0], m[1]); } catch (LastErrorException ignored) { }
        }
        mappings.clear();
    }
}
