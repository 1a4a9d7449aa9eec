package kvmkmod.include;

import java.nio.ByteBuffer;

/** struct kvm_dtable (asm/kvm.h): a GDTR/IDTR image, 16 bytes. */
public final class KvmDtable {
    public static final int SIZE = 16;

    public long base;
    public int limit;

    public KvmDtable read(ByteBuffer b, int off) { base = b.getLong(off); limit = b.getShort(off + 8) & 0xffff; return this; }

    public void write(ByteBuffer b, int off) {
        b.putLong(off, base); b.putShort(off + 8, (short) limit);
        b.putShort(off + 10, (short) 0); b.putInt(off + 12, 0);
    }
}
