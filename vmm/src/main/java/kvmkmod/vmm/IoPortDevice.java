package kvmkmod.vmm;

/**
 * A device on the guest's I/O port space, as qemu registers them with register_ioport_read/write.
 * {@code size} is 1, 2 or 4 bytes; values are the low {@code size} bytes. Implementations must not
 * allocate: they run on the exit path.
 */
public interface IoPortDevice {
    /** An IN from {@code port}: the value the guest receives. */
    int ioport_read(int port, int size);

    /** An OUT of {@code value} to {@code port}. */
    void ioport_write(int port, int size, int value);
}
