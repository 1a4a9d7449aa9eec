package kvmkmod.vmm;

import java.util.ArrayList;
import java.util.List;

/**
 * Guest-physical ranges outside RAM that have a userspace device. An access to an address no device
 * claims reads as all ones and ignores writes (an empty bus).
 */
public final class MmioBus {
    private static final class Range {
        final long base, len;
        final MmioDevice dev;
        Range(long base, long len, MmioDevice dev) { this.base = base; this.len = len; this.dev = dev; }
    }

    private final List<Range> ranges = new ArrayList<>();

    public void register(long base, long len, MmioDevice dev) {
        for (Range r : ranges)
            if (base < r.base + r.len && r.base < base + len)
                throw new IllegalStateException(String.format("MMIO range %#x+%#x overlaps a device", base, len));
        ranges.add(new Range(base, len, dev));
    }

    private MmioDevice find(long addr) {
        for (int i = 0; i < ranges.size(); i++) {
            Range r = ranges.get(i);
            if (addr >= r.base && addr - r.base < r.len) return r.dev;
        }
        return null;
    }

    public long read(long addr, int len) {
        MmioDevice d = find(addr);
        return d == null ? -1L : d.mmio_read(addr, len);
    }

    public void write(long addr, int len, long value) {
        MmioDevice d = find(addr);
        if (d != null) d.mmio_write(addr, len, value);
    }
}
