package kvmkmod.include;

import java.nio.ByteBuffer;

/**
 * struct kvm_cpuid_entry2 (asm/kvm.h): 40 bytes, the entries of KVM_SET_CPUID2 / KVM_GET_CPUID2 /
 * KVM_GET_SUPPORTED_CPUID, after the 8-byte struct kvm_cpuid2 header (nent, padding).
 * {@link #readOld} reads the 24-byte struct kvm_cpuid_entry of the first KVM_SET_CPUID.
 */
public final class KvmCpuidEntry2 {
    public static final int SIZE = 40;
    /** sizeof(struct kvm_cpuid_entry): function, eax, ebx, ecx, edx, padding. */
    public static final int OLD_SIZE = 24;
    /** sizeof(struct kvm_cpuid) == sizeof(struct kvm_cpuid2): the header before the entries. */
    public static final int HEADER_SIZE = 8;
    public static final int KVM_CPUID_FLAG_SIGNIFCANT_INDEX = 1, KVM_CPUID_FLAG_STATEFUL_FUNC = 2,
            KVM_CPUID_FLAG_STATE_READ_NEXT = 4;

    public int function, index, flags, eax, ebx, ecx, edx;
    public final int[] padding = new int[3];

    public KvmCpuidEntry2 read(ByteBuffer b, int off) {
        function = b.getInt(off); index = b.getInt(off + 4); flags = b.getInt(off + 8);
        eax = b.getInt(off + 12); ebx = b.getInt(off + 16); ecx = b.getInt(off + 20); edx = b.getInt(off + 24);
        for (int i = 0; i < 3; i++) padding[i] = b.getInt(off + 28 + 4 * i);
        return this;
    }

    public void write(ByteBuffer b, int off) {
        b.putInt(off, function); b.putInt(off + 4, index); b.putInt(off + 8, flags);
        b.putInt(off + 12, eax); b.putInt(off + 16, ebx); b.putInt(off + 20, ecx); b.putInt(off + 24, edx);
        for (int i = 0; i < 3; i++) b.putInt(off + 28 + 4 * i, padding[i]);
    }

    /** struct kvm_cpuid_entry: no index or flags; they read as zero. */
    public KvmCpuidEntry2 readOld(ByteBuffer b, int off) {
        function = b.getInt(off); eax = b.getInt(off + 4); ebx = b.getInt(off + 8);
        ecx = b.getInt(off + 12); edx = b.getInt(off + 16);
        index = 0; flags = 0; padding[0] = padding[1] = padding[2] = 0;
        return this;
    }

    public static void writeOld(ByteBuffer b, int off, int function, int eax, int ebx, int ecx, int edx) {
        b.putInt(off, function); b.putInt(off + 4, eax); b.putInt(off + 8, ebx);
        b.putInt(off + 12, ecx); b.putInt(off + 16, edx); b.putInt(off + 20, 0);
    }

    public KvmCpuidEntry2 copyFrom(KvmCpuidEntry2 o) {
        function = o.function; index = o.index; flags = o.flags;
        eax = o.eax; ebx = o.ebx; ecx = o.ecx; edx = o.edx;
        System.arraycopy(o.padding, 0, padding, 0, 3);
        return this;
    }

    @Override public String toString() {
        return String.format("fn=%x idx=%x flags=%x eax=%x ebx=%x ecx=%x edx=%x", function, index, flags, eax, ebx, ecx, edx);
    }
}
