package kvmkmod.vmm;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;

/**
 * The two C library calls {@link HostSys} needs beyond {@link kvmkmod.hw.host.LibC}: eventfd(2) and
 * read(2). JNA direct mapping, like LibC; failures throw {@link LastErrorException} carrying errno.
 */
final class HostNative {
    private HostNative() {}

    static final int EFD_NONBLOCK = 0x800;
    static final int EFD_CLOEXEC = 0x80000;
    static final int MAP_PRIVATE = 0x02;
    static final int MAP_ANONYMOUS = 0x20;

    private static final Throwable LOAD_ERROR;

    static {
        Throwable err = null;
        try {
            Native.register(HostNative.class, com.sun.jna.Platform.C_LIBRARY_NAME);
        } catch (Throwable t) {
            err = t;
        }
        LOAD_ERROR = err;
    }

    static Throwable loadError() { return LOAD_ERROR; }

    static native int eventfd(int initval, int flags) throws LastErrorException;

    static native long read(int fd, long buf, long count) throws LastErrorException;
}
