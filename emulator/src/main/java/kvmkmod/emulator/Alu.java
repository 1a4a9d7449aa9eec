package kvmkmod.emulator;

/**
 * What the host processor does when emulate.c runs a guest ALU instruction natively. The C builds a
 * one-instruction inline-assembly fragment (the emulate_2op / emulate_1op macros, emulate.c:414-534)
 * that loads the guest's six arithmetic flags into the host EFLAGS, executes the very same instruction
 * on the host, and copies the six flags back. There is no C function to mirror here: this class is the
 * silicon's side of that fragment, written out as the Intel SDM defines each instruction.
 *
 * <p>Flags the SDM calls undefined get the values an Intel part produces (AF clear after logic
 * operations and shifts; OF of a multi-bit shift or rotate is the OF of its first one-bit step), as
 * measured against the host processor through /dev/kvm. The differential test still masks them.
 */
final class Alu {
    private Alu() {}

    static final long CF = 1, PF = 1 << 2, AF = 1 << 4, ZF = 1 << 6, SF = 1 << 7, OF = 1 << 11;
    /** EFLAGS_MASK (emulate.c:381): the only flags the fragment takes from and gives back to the guest. */
    static final long EFLAGS_MASK = OF | SF | ZF | AF | PF | CF;

    /** The destination after the instruction (only its low {@code bytes} bytes matter) and the six flags. */
    record Out(long val, long flags) {}

    static long mask(int bytes) { return bytes >= 8 ? -1L : (1L << (bytes * 8)) - 1; }

    private static long msb(long v, int w) { return (v >>> (w - 1)) & 1; }

    /** SF, ZF and PF of a result (PF: even number of set bits in the low byte). */
    private static long szp(long r, int w) {
        long f = 0;
        if (msb(r, w) != 0) f |= SF;
        if ((r & mask(w / 8)) == 0) f |= ZF;
        if ((Long.bitCount(r & 0xff) & 1) == 0) f |= PF;
        return f;
    }

    private static long bit(boolean b, long flag) { return b ? flag : 0; }

    /**
     * OF of a left shift or rotate: defined for a count of 1 (the sign changed). For larger counts
     * the SDM leaves it undefined; Intel parts (checked against this project's host through /dev/kvm)
     * give the OF of the first one-bit step, which is the same formula.
     */
    private static long firstStepOf(long d, int w) { return msb(d, w) ^ msb(d, w - 1); }

    /**
     * A two-operand instruction {@code op dst, src} of {@code bytes} width: add, or, adc, sbb, and, sub,
     * xor, cmp, test, the shifts and rotates (count = low byte of src, as CL), bt/bts/btr/btc.
     * {@code flags} is the guest EFLAGS on entry; the answer keeps the bits the instruction leaves alone.
     */
    static Out op2(String op, int bytes, long dst, long src, long flags) {
        int w = bytes * 8;
        long m = mask(bytes);
        long d = dst & m, s = src & m, keep = flags & EFLAGS_MASK;
        long cf = flags & CF;
        long r;
        switch (op) {
            case "add": case "adc": {
                long c = op.equals("adc") ? cf : 0;
                r = (d + s + c) & m;
                boolean carry = c != 0 ? Long.compareUnsigned(r, d) <= 0 : Long.compareUnsigned(r, d) < 0;
                return new Out(r, szp(r, w) | bit(carry, CF) | ((d ^ s ^ r) & AF)
                        | bit(msb((d ^ r) & (s ^ r), w) != 0, OF));
            }
            case "sub": case "sbb": case "cmp": {
                long c = op.equals("sbb") ? cf : 0;
                r = (d - s - c) & m;
                boolean borrow = c != 0 ? Long.compareUnsigned(d, s) <= 0 : Long.compareUnsigned(d, s) < 0;
                return new Out(op.equals("cmp") ? d : r, szp(r, w) | bit(borrow, CF) | ((d ^ s ^ r) & AF)
                        | bit(msb((d ^ s) & (d ^ r), w) != 0, OF));
            }
            case "and": case "test": r = d & s; return new Out(op.equals("test") ? d : r, szp(r, w));
            case "or": r = d | s; return new Out(r, szp(r, w));
            case "xor": r = d ^ s; return new Out(r, szp(r, w));
            case "bt": case "bts": case "btr": case "btc": {
                int n = (int) (s & (w - 1));
                long old = (d >>> n) & 1;
                r = switch (op) {
                    case "bts" -> d | (1L << n);
                    case "btr" -> d & ~(1L << n);
                    case "btc" -> d ^ (1L << n);
                    default -> d;
                };
                return new Out(r & m, (keep & ~CF) | old);
            }
            default:
                return shift(op, w, d, src & 0xff, keep);
        }
    }

    /** Shifts and rotates by the count in CL; a masked count of zero changes nothing. */
    private static Out shift(String op, int w, long d, long cl, long keep) {
        long m = mask(w / 8);
        int cnt = (int) (cl & (w == 64 ? 63 : 31));
        if (cnt == 0) return new Out(d, keep);
        long r, cf, of;
        switch (op) {
            case "sal": {
                r = cnt >= 64 ? 0 : (d << cnt) & m;
                cf = cnt > w ? 0 : (d >>> (w - cnt)) & 1;
                of = firstStepOf(d, w);
                return new Out(r, szp(r, w) | cf | (of != 0 ? OF : 0));
            }
            case "shr": {
                r = d >>> cnt;
                cf = (d >>> (cnt - 1)) & 1;
                of = msb(d, w);
                return new Out(r, szp(r, w) | cf | (of != 0 ? OF : 0));
            }
            case "sar": {
                long sd = (d << (64 - w)) >> (64 - w);
                r = (sd >> Math.min(cnt, 63)) & m;
                cf = (sd >> Math.min(cnt - 1, 63)) & 1;
                return new Out(r, szp(r, w) | cf);
            }
            case "rol": {
                int n = cnt % w;
                r = n == 0 ? d : ((d << n) | (d >>> (w - n))) & m;
                cf = r & 1;
                of = firstStepOf(d, w);
                return new Out(r, (keep & ~(CF | OF)) | cf | (of != 0 ? OF : 0));
            }
            case "ror": {
                int n = cnt % w;
                r = n == 0 ? d : ((d >>> n) | (d << (w - n))) & m;
                cf = msb(r, w);
                // One bit to the right: the new MSB is the old LSB.
                of = (d & 1) ^ msb(d, w);
                return new Out(r, (keep & ~(CF | OF)) | cf | (of != 0 ? OF : 0));
            }
            case "rcl": {
                int n = w == 8 ? cnt % 9 : w == 16 ? cnt % 17 : cnt;
                r = d;
                cf = keep & CF;
                for (int i = 0; i < n; i++) {
                    long out = msb(r, w);
                    r = ((r << 1) | cf) & m;
                    cf = out;
                }
                of = firstStepOf(d, w);
                return new Out(r, (keep & ~(CF | OF)) | cf | (of != 0 ? OF : 0));
            }
            case "rcr": {
                int n = w == 8 ? cnt % 9 : w == 16 ? cnt % 17 : cnt;
                r = d;
                cf = keep & CF;
                of = msb(r, w) ^ cf;
                for (int i = 0; i < n; i++) {
                    long out = r & 1;
                    r = ((r >>> 1) | (cf << (w - 1))) & m;
                    cf = out;
                }
                return new Out(r, (keep & ~(CF | OF)) | cf | (of != 0 ? OF : 0));
            }
            default:
                throw new IllegalArgumentException(op);
        }
    }

    /** shld/shrd dst, src, CL: shift dst, filling from src. */
    static Out op3(String op, int bytes, long dst, long src, long cl, long flags) {
        int w = bytes * 8;
        long m = mask(bytes);
        long d = dst & m, s = src & m, keep = flags & EFLAGS_MASK;
        int cnt = (int) (cl & (w == 64 ? 63 : 31));
        if (cnt == 0) return new Out(d, keep);
        long r, cf;
        if (cnt >= w) {
            // Only 16-bit operands get here; the SDM leaves the result undefined. Shift the 32-bit pair.
            long pair = op.equals("shld") ? (d << 16) | s : (s << 16) | d;
            long pr = op.equals("shld") ? (pair << cnt) | (d << (cnt - 16)) : (pair >>> cnt) | (s << (32 - cnt + 16));
            r = (op.equals("shld") ? pr >>> 16 : pr) & m;
            cf = op.equals("shld") ? (pair >>> (32 - cnt)) & 1 : (pair >>> (cnt - 1)) & 1;
        } else if (op.equals("shld")) {
            r = ((d << cnt) | (s >>> (w - cnt))) & m;
            cf = (d >>> (w - cnt)) & 1;
        } else {
            r = ((d >>> cnt) | (s << (w - cnt))) & m;
            cf = (d >>> (cnt - 1)) & 1;
        }
        // One step of shld is a left shift of dst; one step of shrd brings src's LSB into the MSB.
        long of = op.equals("shld") ? firstStepOf(d, w) : msb(d, w) ^ (s & 1);
        return new Out(r, szp(r, w) | cf | (of != 0 ? OF : 0));
    }

    /** inc, dec, neg of {@code bytes} width. */
    static Out op1(String op, int bytes, long dst, long flags) {
        int w = bytes * 8;
        long m = mask(bytes);
        long d = dst & m, keep = flags & EFLAGS_MASK;
        long r;
        switch (op) {
            case "inc":
                r = (d + 1) & m;
                return new Out(r, (keep & CF) | szp(r, w) | ((d ^ 1 ^ r) & AF) | bit(r == (1L << (w - 1)) , OF));
            case "dec":
                r = (d - 1) & m;
                return new Out(r, (keep & CF) | szp(r, w) | ((d ^ 1 ^ r) & AF) | bit(d == (1L << (w - 1)), OF));
            case "neg":
                r = (-d) & m;
                return new Out(r, szp(r, w) | bit(d != 0, CF) | ((d ^ r) & AF) | bit(d == (1L << (w - 1)), OF));
            default:
                throw new IllegalArgumentException(op);
        }
    }
}
