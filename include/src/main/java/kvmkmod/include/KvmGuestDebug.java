package kvmkmod.include;

import java.nio.ByteBuffer;

/** struct kvm_guest_debug (linux/kvm.h) with its x86 arch part: control, pad, debugreg[8] — 72 bytes. */
public final class KvmGuestDebug {
    public static final int SIZE = 72;

    public int control;
    /** struct kvm_guest_debug_arch. */
    public final long[] debugreg = new long[8];

    public KvmGuestDebug read(ByteBuffer b, int off) {
        control = b.getInt(off);
        for (int i = 0; i < 8; i++) debugreg[i] = b.getLong(off + 8 + 8 * i);
        return this;
    }

    public void write(ByteBuffer b, int off) {
        b.putInt(off, control); b.putInt(off + 4, 0);
        for (int i = 0; i < 8; i++) b.putLong(off + 8 + 8 * i, debugreg[i]);
    }
}
