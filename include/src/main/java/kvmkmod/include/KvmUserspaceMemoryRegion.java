package kvmkmod.include;

import java.nio.ByteBuffer;

/** struct kvm_userspace_memory_region (linux/kvm.h): the KVM_SET_USER_MEMORY_REGION argument, 32 bytes. */
public final class KvmUserspaceMemoryRegion {
    public static final int SIZE = 32;

    public int slot;
    public int flags;
    public long guest_phys_addr;
    public long memory_size;
    public long userspace_addr;

    public KvmUserspaceMemoryRegion read(ByteBuffer b, int off) {
        slot = b.getInt(off); flags = b.getInt(off + 4); guest_phys_addr = b.getLong(off + 8);
        memory_size = b.getLong(off + 16); userspace_addr = b.getLong(off + 24);
        return this;
    }

    public void write(ByteBuffer b, int off) {
        b.putInt(off, slot); b.putInt(off + 4, flags); b.putLong(off + 8, guest_phys_addr);
        b.putLong(off + 16, memory_size); b.putLong(off + 24, userspace_addr);
    }
}
