package kvmkmod.include;

import java.nio.ByteBuffer;

/** struct kvm_translation (linux/kvm.h): 24 bytes; linear_address in, the rest out (KVM_TRANSLATE). */
public final class KvmTranslation {
    public static final int SIZE = 24;

    public long linear_address;
    public long physical_address;
    public byte valid, writeable, usermode;

    public KvmTranslation read(ByteBuffer b, int off) {
        linear_address = b.getLong(off); physical_address = b.getLong(off + 8);
        valid = b.get(off + 16); writeable = b.get(off + 17); usermode = b.get(off + 18);
        return this;
    }

    public void write(ByteBuffer b, int off) {
        b.putLong(off, linear_address); b.putLong(off + 8, physical_address);
        b.put(off + 16, valid); b.put(off + 17, writeable); b.put(off + 18, usermode);
        for (int i = 19; i < 24; i++) b.put(off + i, (byte) 0);
    }
}
