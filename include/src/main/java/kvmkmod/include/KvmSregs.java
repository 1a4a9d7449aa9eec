package kvmkmod.include;

import java.nio.ByteBuffer;

/** struct kvm_sregs (asm/kvm.h): segments, descriptor tables, control registers; 312 bytes. */
public final class KvmSregs {
    public static final int SIZE = 312;
    /** KVM_NR_INTERRUPTS rounded up to whole quadwords. */
    public static final int INTERRUPT_BITMAP_WORDS = 4;

    public final KvmSegment cs = new KvmSegment(), ds = new KvmSegment(), es = new KvmSegment(),
            fs = new KvmSegment(), gs = new KvmSegment(), ss = new KvmSegment(), tr = new KvmSegment(),
            ldt = new KvmSegment();
    public final KvmDtable gdt = new KvmDtable(), idt = new KvmDtable();
    public long cr0, cr2, cr3, cr4, cr8, efer, apic_base;
    public final long[] interrupt_bitmap = new long[INTERRUPT_BITMAP_WORDS];

    private KvmSegment[] segments() { return new KvmSegment[] {cs, ds, es, fs, gs, ss, tr, ldt}; }

    public KvmSregs read(ByteBuffer b, int off) {
        KvmSegment[] s = segments();
        for (int i = 0; i < s.length; i++) s[i].read(b, off + i * KvmSegment.SIZE);
        gdt.read(b, off + 192); idt.read(b, off + 208);
        cr0 = b.getLong(off + 224); cr2 = b.getLong(off + 232); cr3 = b.getLong(off + 240); cr4 = b.getLong(off + 248);
        cr8 = b.getLong(off + 256); efer = b.getLong(off + 264); apic_base = b.getLong(off + 272);
        for (int i = 0; i < INTERRUPT_BITMAP_WORDS; i++) interrupt_bitmap[i] = b.getLong(off + 280 + 8 * i);
        return this;
    }

    public void write(ByteBuffer b, int off) {
        KvmSegment[] s = segments();
        for (int i = 0; i < s.length; i++) s[i].write(b, off + i * KvmSegment.SIZE);
        gdt.write(b, off + 192); idt.write(b, off + 208);
        b.putLong(off + 224, cr0); b.putLong(off + 232, cr2); b.putLong(off + 240, cr3); b.putLong(off + 248, cr4);
        b.putLong(off + 256, cr8); b.putLong(off + 264, efer); b.putLong(off + 272, apic_base);
        for (int i = 0; i < INTERRUPT_BITMAP_WORDS; i++) b.putLong(off + 280 + 8 * i, interrupt_bitmap[i]);
    }
}
