package kvmkmod.include;

import java.nio.ByteBuffer;

/**
 * struct kvm_msr_entry (asm/kvm.h): index, reserved, data — 16 bytes, after the 8-byte struct
 * kvm_msrs header (nmsrs, pad) of KVM_GET_MSRS / KVM_SET_MSRS. struct kvm_msr_list of
 * KVM_GET_MSR_INDEX_LIST is a 4-byte nmsrs followed by u32 indices.
 */
public final class KvmMsrEntry {
    public static final int SIZE = 16;
    public static final int MSRS_HEADER_SIZE = 8;
    public static final int MSR_LIST_HEADER_SIZE = 4;

    public int index;
    public int reserved;
    public long data;

    public KvmMsrEntry read(ByteBuffer b, int off) {
        index = b.getInt(off); reserved = b.getInt(off + 4); data = b.getLong(off + 8);
        return this;
    }

    public void write(ByteBuffer b, int off) {
        b.putInt(off, index); b.putInt(off + 4, reserved); b.putLong(off + 8, data);
    }
}
