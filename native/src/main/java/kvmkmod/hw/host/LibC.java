package kvmkmod.hw.host;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;

/**
 * The few C library calls that reach the host's /dev/kvm, bound with JNA direct mapping (the cheapest
 * JNA call path: no per-call reflection or argument boxing). Failures throw {@link LastErrorException}
 * carrying errno; only the failure path allocates.
 */
public final class LibC {
    private LibC() {}

    public static final int O_RDWR = 2;
    public static final int O_CLOEXEC = 0x80000;
    public static final int PROT_READ = 1, PROT_WRITE = 2;
    public static final int MAP_SHARED = 1;
    public static final long MAP_FAILED = -1L;

    private static final Throwable LOAD_ERROR;

    static {
        Throwable err = null;
        try {
            Native.register(LibC.class, com.sun.jna.Platform.C_LIBRARY_NAME);
        } catch (Throwable t) {
            err = t;
        }
        LOAD_ERROR = err;
    }

    /** Null when the C library is bound; otherwise why it is not (no JNA native support on this OS). */
    public static Throwable loadError() { return LOAD_ERROR; }

    public static native int open(String path, int flags) throws LastErrorException;

    public static native int close(int fd) throws LastErrorException;

    /** ioctl with an integer or pointer argument (the address of a native structure). */
    public static native int ioctl(int fd, long request, long arg) throws LastErrorException;

    public static native long mmap(long addr, long length, int prot, int flags, int fd, long offset) throws LastErrorException;

    public static native int munmap(long addr, long length) throws LastErrorException;

    // Signals, for kicking a thread out of KVM_RUN (see HostSignals)

    public static final int SIG_BLOCK = 0, SIG_UNBLOCK = 1, SIG_SETMASK = 2;
    /** glibc's sigset_t is 128 bytes; the kernel's is the first 8. */
    public static final int SIZEOF_SIGSET = 128;

    public static native long pthread_self();

    public static native int pthread_kill(long thread, int sig);

    public static native int pthread_sigmask(int how, long set, long oldset);

    /** signal(2); {@code handler} 1 is SIG_IGN. Returns the previous handler. */
    public static native long signal(int sig, long handler) throws LastErrorException;

    public static native int sigtimedwait(long set, long info, long timeout) throws LastErrorException;
}
