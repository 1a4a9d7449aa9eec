package kvmkmod.hw;

/**
 * Where each VMCS field lives inside a VMCS region. The SDM leaves the format of the VMCS data
 * implementation-specific (SDM 24.2 "Format of the VMCS Region"): only the revision identifier at
 * offset 0 and the abort indicator at offset 4 are architectural. This processor stores a field in an
 * 8-byte slot chosen from its encoding's width, type and index bits (SDM 24.11.2 "VMREAD, VMWRITE, and
 * Encodings of VMCS Fields"); the high half of a 64-bit field is the upper 4 bytes of the same slot.
 * Both backends use this layout, so a VMCS written by one is read identically by the other.
 */
public final class Vmcs {
    private Vmcs() {}

    public static final int REVISION_ID_OFFSET = 0;
    public static final int ABORT_OFFSET = 4;
    /** Implementation-specific launch state (SDM 24.11.3 "Initializing a VMCS"): 0 clear, 1 launched. */
    public static final int LAUNCH_STATE_OFFSET = 4088;
    public static final int LAUNCH_STATE_CLEAR = 0;
    public static final int LAUNCH_STATE_LAUNCHED = 1;

    public static final int WIDTH_16 = 0, WIDTH_64 = 1, WIDTH_32 = 2, WIDTH_NATURAL = 3;

    public static int width(int field) { return (field >>> 13) & 3; }
    public static boolean isHighAccess(int field) { return width(field) == WIDTH_64 && (field & 1) != 0; }

    /** Byte offset of the field's value in the region, or -1 for an encoding this processor does not support. */
    public static int offset(int field) {
        if ((field & ~0x7fff) != 0 || (field & (1 << 12)) != 0) return -1;
        int type = (field >>> 10) & 3;
        int index = (field >>> 1) & 0x1ff;
        if (index >= 32) return -1;
        int slot = ((width(field) << 2 | type) << 5) | index;
        int off = 8 + slot * 8;
        if (off + 8 > LAUNCH_STATE_OFFSET) return -1;
        if (width(field) != WIDTH_64 && (field & 1) != 0) return -1;
        return isHighAccess(field) ? off + 4 : off;
    }

    /** Reads a field of the VMCS at {@code vmcsHpa}, zero-extended as VMREAD returns it. */
    public static long read(HostMemory mem, long vmcsHpa, int field) {
        int off = offset(field);
        if (off < 0) return 0;
        long a = vmcsHpa + off;
        switch (width(field)) {
            case WIDTH_16: return mem.read16(a);
            case WIDTH_32: return mem.read32(a) & 0xffffffffL;
            default: return isHighAccess(field) ? mem.read32(a) & 0xffffffffL : mem.read64(a);
        }
    }

    /** Writes a field, truncated to its width as VMWRITE does. */
    public static void write(HostMemory mem, long vmcsHpa, int field, long value) {
        int off = offset(field);
        if (off < 0) return;
        long a = vmcsHpa + off;
        switch (width(field)) {
            case WIDTH_16: mem.write16(a, (int) value); break;
            case WIDTH_32: mem.write32(a, (int) value); break;
            default:
                if (isHighAccess(field)) mem.write32(a, (int) value);
                else mem.write64(a, value);
        }
    }
}
