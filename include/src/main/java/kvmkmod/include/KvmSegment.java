package kvmkmod.include;

import java.nio.ByteBuffer;

/** struct kvm_segment (asm/kvm.h): 24 bytes. */
public final class KvmSegment {
    public static final int SIZE = 24;

    public long base;
    public int limit;
    public int selector;
    public int type, present, dpl, db, s, l, g, avl, unusable;

    public KvmSegment read(ByteBuffer b, int off) {
        base = b.getLong(off); limit = b.getInt(off + 8); selector = b.getShort(off + 12) & 0xffff;
        type = b.get(off + 14) & 0xff; present = b.get(off + 15) & 0xff; dpl = b.get(off + 16) & 0xff;
        db = b.get(off + 17) & 0xff; s = b.get(off + 18) & 0xff; l = b.get(off + 19) & 0xff;
        g = b.get(off + 20) & 0xff; avl = b.get(off + 21) & 0xff; unusable = b.get(off + 22) & 0xff;
        return this;
    }

    public void write(ByteBuffer b, int off) {
        b.putLong(off, base); b.putInt(off + 8, limit); b.putShort(off + 12, (short) selector);
        b.put(off + 14, (byte) type); b.put(off + 15, (byte) present); b.put(off + 16, (byte) dpl);
        b.put(off + 17, (byte) db); b.put(off + 18, (byte) s); b.put(off + 19, (byte) l);
        b.put(off + 20, (byte) g); b.put(off + 21, (byte) avl); b.put(off + 22, (byte) unusable); b.put(off + 23, (byte) 0);
    }

    public void copyFrom(KvmSegment o) {
        base = o.base; limit = o.limit; selector = o.selector; type = o.type; present = o.present; dpl = o.dpl;
        db = o.db; s = o.s; l = o.l; g = o.g; avl = o.avl; unusable = o.unusable;
    }

    @Override public String toString() {
        return String.format("sel=%04x base=%x limit=%x type=%x p=%d dpl=%d db=%d s=%d l=%d g=%d", selector, base,
                limit, type, present, dpl, db, s, l, g);
    }
}
