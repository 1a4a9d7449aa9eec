package kvmkmod.include;

import java.nio.ByteBuffer;

/** struct kvm_dirty_log (linux/kvm.h): the KVM_GET_DIRTY_LOG argument, 16 bytes. */
public final class KvmDirtyLog {
    public static final int SIZE = 16;

    public int slot;
    public int padding1;
    /** Userspace address of the bitmap to fill (a union with padding2 in the C). */
    public long dirty_bitmap;

    public KvmDirtyLog read(ByteBuffer b, int off) {
        slot = b.getInt(off); padding1 = b.getInt(off + 4); dirty_bitmap = b.getLong(off + 8);
        return this;
    }

    public void write(ByteBuffer b, int off) {
        b.putInt(off, slot); b.putInt(off + 4, padding1); b.putLong(off + 8, dirty_bitmap);
    }
}
