package kvmkmod.include;

import java.nio.ByteBuffer;

/** struct kvm_ioeventfd (linux/kvm.h): the KVM_IOEVENTFD argument, 64 bytes. */
public final class KvmIoeventfd {
    public static final int SIZE = 64;
    public static final int KVM_IOEVENTFD_FLAG_DATAMATCH = 1 << 0;
    public static final int KVM_IOEVENTFD_FLAG_PIO = 1 << 1;
    public static final int KVM_IOEVENTFD_FLAG_DEASSIGN = 1 << 2;
    public static final int KVM_IOEVENTFD_VALID_FLAG_MASK = (1 << 3) - 1;

    public long datamatch;
    public long addr;
    public int len;
    public int fd;
    public int flags;

    public KvmIoeventfd read(ByteBuffer b, int off) {
        datamatch = b.getLong(off); addr = b.getLong(off + 8); len = b.getInt(off + 16);
        fd = b.getInt(off + 20); flags = b.getInt(off + 24);
        return this;
    }

    public void write(ByteBuffer b, int off) {
        b.putLong(off, datamatch); b.putLong(off + 8, addr); b.putInt(off + 16, len);
        b.putInt(off + 20, fd); b.putInt(off + 24, flags);
        for (int i = 28; i < SIZE; i += 4) b.putInt(off + i, 0);
    }
}
