package kvmkmod.vmm;

/**
 * A test device at ports 0x510-0x513 holding one 32-bit value: an IN of any size at 0x510 returns its
 * low bytes (an IN at 0x510+k returns the value shifted right by 8k). Writes replace the value the same way.
 * The {@code in-read} guest reads it, adds one and prints the result.
 */
public final class ValuePort implements IoPortDevice {
    public static final int PORT = 0x510;
    public static final int LEN = 4;

    private volatile int value;

    public ValuePort(int value) { this.value = value; }

    public int value() { return value; }

    public void value(int v) { value = v; }

    @Override public int ioport_read(int port, int size) { return value >>> (8 * ((port - PORT) & 3)); }

    @Override public void ioport_write(int port, int size, int v) {
        int shift = 8 * ((port - PORT) & 3);
        int mask = IoBus.mask(size) << shift;
        value = (value & ~mask) | ((v << shift) & mask);
    }
}
