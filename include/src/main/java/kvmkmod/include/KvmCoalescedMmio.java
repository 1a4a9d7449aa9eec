package kvmkmod.include;

import kvmkmod.hw.HostMemory;

import java.nio.ByteBuffer;

/**
 * The coalesced MMIO ABI of linux/kvm.h, shared by the kernel that fills the ring and the VMM that
 * drains it: struct kvm_coalesced_mmio_zone (the argument of KVM_REGISTER/UNREGISTER_COALESCED_MMIO),
 * and the layout of struct kvm_coalesced_mmio_ring, which lies at page KVM_COALESCED_MMIO_PAGE_OFFSET of
 * the vCPU mapping: u32 first, u32 last, then entries of struct kvm_coalesced_mmio (u64 phys_addr,
 * u32 len, u32 pad, u8 data[8]). The kernel appends at last; userspace consumes from first.
 */
public final class KvmCoalescedMmio {
    private KvmCoalescedMmio() {}

    public static final int RING_FIRST = 0, RING_LAST = 4, RING_ENTRIES = 8, ENTRY_SIZE = 24;
    public static final int ENTRY_PHYS_ADDR = 0, ENTRY_LEN = 8, ENTRY_DATA = 16;
    /** KVM_COALESCED_MMIO_MAX: the entries that fit in the page after the two indexes (170). */
    public static final int KVM_COALESCED_MMIO_MAX = (HostMemory.PAGE_SIZE - RING_ENTRIES) / ENTRY_SIZE;

    /** struct kvm_coalesced_mmio_zone: u64 addr, u32 size, u32 pad (16 bytes). */
    public static final class Zone {
        public static final int SIZE = 16;
        public long addr;
        public int size;

        public Zone read(ByteBuffer b, int off) {
            addr = b.getLong(off);
            size = b.getInt(off + 8);
            return this;
        }

        public void write(ByteBuffer b, int off) {
            b.putLong(off, addr);
            b.putInt(off + 8, size);
            b.putInt(off + 12, 0);
        }

        /** One past the zone's last byte. */
        public long end() { return addr + Integer.toUnsignedLong(size); }
    }
}
