package kvmkmod.include;

/** struct file_operations, the three members KVM's files use. Results are negative errno on failure. */
public interface FileOperations {
    long unlocked_ioctl(File filp, int ioctl, long arg);

    /** Maps page {@code pgoff} onwards of the file; returns the user virtual address, or -errno. */
    default long mmap(File filp, long length, long pgoff) { return -Errno.ENODEV; }

    default int release(File filp) { return 0; }
}
