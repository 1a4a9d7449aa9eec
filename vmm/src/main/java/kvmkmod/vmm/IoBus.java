package kvmkmod.vmm;

/**
 * The VMM's port I/O space: one slot per port, so dispatch is an array load. A port with no device
 * reads as all ones (nothing drives the bus) and ignores writes, as on a PC.
 */
public final class IoBus {
    private final IoPortDevice[] ports = new IoPortDevice[0x10000];

    /** Attaches {@code dev} to ports {@code base .. base+len-1}; fails if one is taken. */
    public void register(int base, int len, IoPortDevice dev) {
        if (base < 0 || len <= 0 || base + len > ports.length) throw new IllegalArgumentException("bad port range");
        for (int p = base; p < base + len; p++)
            if (ports[p] != null) throw new IllegalStateException(String.format("port %#x already has a device", p));
        for (int p = base; p < base + len; p++) ports[p] = dev;
    }

    public IoPortDevice device(int port) { return ports[port & 0xffff]; }

    public int read(int port, int size) {
        IoPortDevice d = ports[port & 0xffff];
        return d == null ? mask(size) : d.ioport_read(port, size) & mask(size);
    }

    public void write(int port, int size, int value) {
        IoPortDevice d = ports[port & 0xffff];
        if (d != null) d.ioport_write(port, size, value & mask(size));
    }

    static int mask(int size) { return size >= 4 ? -1 : (1 << (8 * size)) - 1; }
}
