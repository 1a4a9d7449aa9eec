package kvmkmod.include;

import java.nio.ByteBuffer;

/** struct kvm_fpu (asm/kvm.h): 416 bytes, the FXSAVE-shaped state of KVM_GET_FPU / KVM_SET_FPU. */
public final class KvmFpu {
    public static final int SIZE = 416;

    public final byte[] fpr = new byte[128];
    public short fcw, fsw;
    public byte ftwx;
    public short last_opcode;
    public long last_ip, last_dp;
    public final byte[] xmm = new byte[256];
    public int mxcsr;

    /** Copies every field but mxcsr, which 2.6.33's KVM_GET_FPU/KVM_SET_FPU do not carry. */
    public void copyWithoutMxcsr(KvmFpu o) {
        System.arraycopy(o.fpr, 0, fpr, 0, fpr.length);
        fcw = o.fcw; fsw = o.fsw; ftwx = o.ftwx;
        last_opcode = o.last_opcode; last_ip = o.last_ip; last_dp = o.last_dp;
        System.arraycopy(o.xmm, 0, xmm, 0, xmm.length);
    }

    public KvmFpu read(ByteBuffer b, int off) {
        b.get(off, fpr, 0, 128);
        fcw = b.getShort(off + 128); fsw = b.getShort(off + 130); ftwx = b.get(off + 132);
        last_opcode = b.getShort(off + 134); last_ip = b.getLong(off + 136); last_dp = b.getLong(off + 144);
        b.get(off + 152, xmm, 0, 256);
        mxcsr = b.getInt(off + 408);
        return this;
    }

    public void write(ByteBuffer b, int off) {
        b.put(off, fpr, 0, 128);
        b.putShort(off + 128, fcw); b.putShort(off + 130, fsw); b.put(off + 132, ftwx); b.put(off + 133, (byte) 0);
        b.putShort(off + 134, last_opcode); b.putLong(off + 136, last_ip); b.putLong(off + 144, last_dp);
        b.put(off + 152, xmm, 0, 256);
        b.putInt(off + 408, mxcsr); b.putInt(off + 412, 0);
    }
}
