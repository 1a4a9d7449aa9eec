package kvmkmod.vmm;

import java.nio.ByteBuffer;

/**
 * The system calls a VMM makes, and nothing more: open("/dev/kvm"), ioctl, mmap, close, anonymous
 * memory, eventfd, read and readdir. qemu-kvm calls them through libc; here two implementations stand behind
 * one interface so the same VMM code drives either kernel:
 * <ul>
 *   <li>{@link HostSys}: the host's real /dev/kvm through JNA (the reference behaviour);</li>
 *   <li>{@link JavaSys}: our Java KVM module loaded into an in-process {@link kvmkmod.include.Kernel}.</li>
 * </ul>
 * Results follow the kernel's convention: a value {@code >= 0} on success, {@code -errno} on failure.
 * No method throws for an errno. Structures passed to ioctl must live in memory this transport
 * returned (from {@link #mmapAnonymous} or {@link #mmap}), because the kernel copies them from user memory.
 */
public interface Sys extends AutoCloseable {
    /** A short name for messages and reports, e.g. "host /dev/kvm" or "java kvm (soft)". */
    String name();

    /** open(2) with O_RDWR; returns a file descriptor or -errno. */
    int open(String path);

    /** ioctl(2) with an integer or address argument; returns the result or -errno. */
    long ioctl(int fd, int request, long arg);

    /** mmap(2) of {@code length} bytes of file {@code fd} from page {@code pgoff}, read/write, shared; address or -errno. */
    long mmap(long length, int fd, long pgoff);

    /** An anonymous private read/write mapping: page-aligned, zero-filled; address or -errno. */
    long mmapAnonymous(long length);

    /**
     * Memory from hugetlbfs (2 MiB pages, qemu's -mem-path /dev/hugepages), which KVM may map with large
     * pages; address or -errno. A transport without it answers -ENOSYS.
     */
    default long mmapHugetlb(long length) { return -kvmkmod.include.Errno.ENOSYS; }

    /** close(2); 0 or -errno. */
    int close(int fd);

    /** eventfd(2), non-blocking: a read of a zero counter is -EAGAIN; fd or -errno. */
    int eventfd(long initval);

    /** read(2) of {@code len} bytes into memory at {@code addr}; bytes read or -errno. */
    long read(int fd, long addr, int len);

    /** getdents(2) of a directory: the names in it, sorted; empty when it cannot be read. */
    java.util.List<String> readdir(String path);

    /**
     * A little-endian view of {@code [addr, addr+len)}, which must lie within one mapping this transport
     * returned. Position 0 of the buffer is {@code addr}. Use absolute get/put.
     */
    ByteBuffer buffer(long addr, int len);

    /** Releases what the transport itself holds (mappings, for the Java kernel the whole host). */
    @Override void close();
}
