package kvmkmod.include;

/**
 * The Java form of returning ERR_PTR(-errno) from a function that returns a pointer: the callee throws
 * it and the caller's IS_ERR check becomes a catch. Carries the negative errno.
 */
public final class ErrPtr extends RuntimeException {
    public final int err;

    public ErrPtr(int err) {
        super(Errno.name(err), null, false, false);
        this.err = err;
    }

    public static int PTR_ERR(ErrPtr e) { return e.err; }
}
