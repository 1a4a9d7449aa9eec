package kvmkmod.include;

/** The errno values (asm-generic/errno-base.h, errno.h) that KVM's ioctls return negated. */
public final class Errno {
    private Errno() {}

    public static final int EPERM = 1, ENOENT = 2, EINTR = 4, EIO = 5, ENXIO = 6, E2BIG = 7, ENOEXEC = 8, EBADF = 9,
            EAGAIN = 11, ENOMEM = 12, EFAULT = 14, EBUSY = 16, EEXIST = 17, ENODEV = 19, EINVAL = 22,
            ENFILE = 23, EMFILE = 24, ENOTTY = 25, ENOSPC = 28, ERANGE = 34, ENOSYS = 38, EOPNOTSUPP = 95, ENOBUFS = 105;

    /** The symbolic name of an errno value (positive or negated), for messages. */
    public static String name(long err) {
        switch ((int) Math.abs(err)) {
            case EPERM: return "EPERM"; case ENOENT: return "ENOENT"; case EINTR: return "EINTR";
            case EIO: return "EIO"; case ENXIO: return "ENXIO"; case E2BIG: return "E2BIG"; case ENOEXEC: return "ENOEXEC"; case EBADF: return "EBADF";
            case EAGAIN: return "EAGAIN"; case ENOMEM: return "ENOMEM"; case EFAULT: return "EFAULT";
            case EBUSY: return "EBUSY"; case EEXIST: return "EEXIST"; case ENODEV: return "ENODEV";
            case EINVAL: return "EINVAL"; case ENFILE: return "ENFILE"; case EMFILE: return "EMFILE";
            case ENOTTY: return "ENOTTY"; case ENOSPC: return "ENOSPC"; case ERANGE: return "ERANGE";
            case ENOSYS: return "ENOSYS"; case EOPNOTSUPP: return "EOPNOTSUPP"; case ENOBUFS: return "ENOBUFS";
            default: return "errno " + Math.abs(err);
        }
    }
}
