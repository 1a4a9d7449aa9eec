package kvmkmod.include;

import kvmkmod.hw.HostMemory;

/**
 * asm/uaccess.h: the kernel's access to userspace memory. Only memory the process mapped (host memory
 * of kind USER) may be touched; anything else is -EFAULT, never a JVM crash.
 */
public final class Uaccess {
    private Uaccess() {}

    /** access_ok plus the lookup: the user region holding [va, va+len), or null. */
    public static HostMemory.Region access_ok(Vfs mm, long va, long len) {
        if (mm == null) return null;
        HostMemory.Region r = mm.mm().regionAtVa(va, len);
        return r != null && r.kind == HostMemory.Kind.USER ? r : null;
    }

    /** Byte offset of {@code va} inside a region returned by {@link #access_ok}. */
    public static int off(HostMemory.Region r, long va) { return (int) (va - r.va); }

    /** copy_from_user into a byte array; returns the number of bytes NOT copied, as the kernel does. */
    public static int copy_from_user(Vfs mm, byte[] to, int toOff, long from, int len) {
        HostMemory.Region r = access_ok(mm, from, len);
        if (r == null) return len;
        r.buf.get(off(r, from), to, toOff, len);
        return 0;
    }

    /** copy_to_user from a byte array; returns the number of bytes NOT copied. */
    public static int copy_to_user(Vfs mm, long to, byte[] from, int fromOff, int len) {
        HostMemory.Region r = access_ok(mm, to, len);
        if (r == null) return len;
        r.buf.put(off(r, to), from, fromOff, len);
        return 0;
    }
}
