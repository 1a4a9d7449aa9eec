package kvmkmod.vmm;

/** A device on guest-physical addresses that no memslot backs (reached through KVM_EXIT_MMIO). */
public interface MmioDevice {
    /** A read of {@code len} (1..8) bytes at {@code addr}; the value, little-endian. */
    long mmio_read(long addr, int len);

    /** A write of the low {@code len} bytes of {@code value} at {@code addr}. */
    void mmio_write(long addr, int len, long value);
}
