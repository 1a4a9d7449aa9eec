package kvmkmod.include;

import java.nio.ByteBuffer;

/** struct kvm_vcpu_events (asm/kvm.h): 64 bytes, the pending/injected events of KVM_GET/SET_VCPU_EVENTS. */
public final class KvmVcpuEvents {
    public static final int SIZE = 64;
    public static final int KVM_VCPUEVENT_VALID_NMI_PENDING = 1, KVM_VCPUEVENT_VALID_SIPI_VECTOR = 2;

    public byte exception_injected, exception_nr, exception_has_error_code;
    public int exception_error_code;
    public byte interrupt_injected, interrupt_nr, interrupt_soft;
    public byte nmi_injected, nmi_pending, nmi_masked;
    public int sipi_vector;
    public int flags;

    public KvmVcpuEvents read(ByteBuffer b, int off) {
        exception_injected = b.get(off); exception_nr = b.get(off + 1); exception_has_error_code = b.get(off + 2);
        exception_error_code = b.getInt(off + 4);
        interrupt_injected = b.get(off + 8); interrupt_nr = b.get(off + 9); interrupt_soft = b.get(off + 10);
        nmi_injected = b.get(off + 12); nmi_pending = b.get(off + 13); nmi_masked = b.get(off + 14);
        sipi_vector = b.getInt(off + 16); flags = b.getInt(off + 20);
        return this;
    }

    public void write(ByteBuffer b, int off) {
        for (int i = 0; i < SIZE; i++) b.put(off + i, (byte) 0);
        b.put(off, exception_injected); b.put(off + 1, exception_nr); b.put(off + 2, exception_has_error_code);
        b.putInt(off + 4, exception_error_code);
        b.put(off + 8, interrupt_injected); b.put(off + 9, interrupt_nr); b.put(off + 10, interrupt_soft);
        b.put(off + 12, nmi_injected); b.put(off + 13, nmi_pending); b.put(off + 14, nmi_masked);
        b.putInt(off + 16, sipi_vector); b.putInt(off + 20, flags);
    }
}
