package kvmkmod.include;

import java.nio.ByteBuffer;

/**
 * struct kvm_io_device with its kvm_io_device_ops (virt/kvm/iodev.h). The value travels as
 * {@code len} bytes at {@code off} in {@code val}, the Java form of the C {@code void *val}.
 * read and write return 0 when this device handled the access, non-zero to pass it on.
 */
public interface KvmIoDevice {
    default int read(long addr, int len, ByteBuffer val, int off) { return -Errno.EOPNOTSUPP; }

    default int write(long addr, int len, ByteBuffer val, int off) { return -Errno.EOPNOTSUPP; }

    default void destructor() {}
}
