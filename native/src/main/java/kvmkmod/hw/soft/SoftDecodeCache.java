package kvmkmod.hw.soft;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.IdentityHashMap;

import static kvmkmod.hw.soft.SoftArch.*;

/**
 * The soft CPU's decoded-instruction cache: guest code is decoded once into {@link Block}s of compact
 * {@link Op} records and then executed by a small loop, instead of being decoded again every time
 * ({@link SoftCore#step()}). The idea is the one of Bochs' trace cache and QEMU's translation blocks,
 * without generating code.
 *
 * <ul>
 * <li><b>What is cached.</b> A block is a straight run of common instructions (ALU, INC/DEC, MOV, MOVZX/MOVSX,
 *     LEA, TEST, NOP) ending after a relative jump, before the first instruction it does not pre-decode, at
 *     the end of its code page or of the CS limit, or after {@value #MAX_OPS} instructions. Everything else runs in the
 *     interpreter: {@link #run()} returns and {@link SoftCore}'s loop steps that instruction.
 * <li><b>Keys.</b> A block is found by its linear address and RIP, and belongs to the decoding mode it was built
 *     in (CS.L, CS.D, real/virtual-8086) and to the physical page its bytes came from: it is used only while the
 *     processor's TLB maps its linear page, for execution, to that same host page. A CR3 switch, INVLPG,
 *     INVEPT, a paging mode change or a different EPT therefore leave stale blocks unused and then replaced.
 * <li><b>Self-modifying code.</b> A host page holding cached code is never writable through the TLB; the first
 *     write to it goes through {@link SoftCore}'s translation, which asks {@link #writable}: that write makes
 *     every block suspect (a new generation) and ends the running block after the storing instruction. A
 *     suspect block compares its saved bytes with memory before it runs again. Writes that do not go through
 *     this processor (the VMM, another vCPU) are seen at the next VM entry, which also starts a new generation
 *     (SDM 8.1.3 "Handling Self- and Cross-Modifying Code" asks for a serializing event, and VM entry is one).
 * <li><b>Exact semantics.</b> Instructions retire as in the interpreter: the retired-instruction count (the
 *     time base of RDTSC) is exact wherever it can be seen, and a block stops short of the instruction at which
 *     SoftCore's loop checks for a kick or the budget (every 4096), leaving that one to it; before a memory
 *     access RIP names the instruction, so a fault or VM exit in mid-block restarts exactly there. Blocks are not used
 *     while anything needs a per-instruction look (an interrupt shadow, a window exit, the debugger, EFLAGS.TF,
 *     AC or RF, the monitor trap flag, enabled DR7 breakpoints): {@link SoftCore} then steps every instruction.
 * <li><b>Cheaper than decoding.</b> A register ALU or INC/DEC followed by a conditional jump is one fused op.
 *     Flag liveness over the block lets a register op whose lazy flag record a later op overwrites skip it
 *     (or keep only the carry, in a local, for an INC/DEC that follows); the record is whole wherever RFLAGS
 *     can be seen: before a memory access, at a jump, at the end of a block.
 * <li><b>Segment checks.</b> A memory operand goes the fast way only when its segment is usable, of the right
 *     type and the access lies inside the limit; otherwise the interpreter executes the instruction and raises
 *     whatever fault applies.
 * </ul>
 * Off with {@code -Dkvmkmod.soft.decodeCache=false} or {@link SoftCpu#setDecodeCache(boolean)}.
 */
final class SoftDecodeCache {
    /** Whether new processors use the cache; the system property turns it off to compare or debug. */
    static final boolean DEFAULT_ON = !"false".equals(System.getProperty("kvmkmod.soft.decodeCache"));
    static final int MAX_OPS = 32;
    private static final int TABLE_SIZE = 4096;
    /** Primary processor-based control "monitor trap flag" (SDM 24.6.2, bit 27). */
    private static final int MONITOR_TRAP_FLAG = 0x08000000;

    // Op kinds. R = register, M = memory, I = immediate; the first letter is the destination.
    static final int ALU_RR = 0, ALU_RI = 1, ALU_RM = 2, ALU_MR = 3, ALU_MI = 4, INC_R = 5, INC_M = 6,
            MOV_RR = 7, MOV_RI = 8, MOV_RM = 9, MOV_MR = 10, MOV_MI = 11, MOVX_RR = 12, MOVX_RM = 13, LEA = 14,
            NOP = 15, JCC = 16, JMP = 17;
    /** The {@link Op#alu} value of TEST (an AND that only sets flags). */
    static final int TEST = 8;

    /** One pre-decoded instruction. */
    static final class Op {
        int kind;
        /** ALU operation in encoding order (0 ADD .. 7 CMP, or {@link #TEST}); 1 = DEC for INC_x; condition for JCC. */
        int alu;
        /** Whether the result is written back (not CMP or TEST). */
        boolean write;
        /** Operand size; for MOVX the source size, with {@link #sz2} the destination size. */
        int sz, sz2;
        boolean signed;
        /** Register operands: r1 is the destination or the register of a memory form, r2 the source. */
        int r1, r2;
        /** Memory operand: base and index register (-1 for none), scale, displacement, segment, address-size mask. */
        int base, index, scale, seg;
        long disp, amask, idxMask;
        long imm;
        /** RIP of this instruction, of the next one, and of a taken branch. */
        long rip, next, target;
        /** Length in bytes. */
        int len;
        /**
         * A conditional jump fused into this register operation (ALU or INC/DEC, then Jcc on its flags): the
         * pair is one op of two instructions, its condition in {@link #cc}, {@link #target} and {@link #next}
         * those of the jump.
         */
        boolean fused;
        int cc;
        /** Whether the op ends with a branch (JMP, JCC, or a fused JCC): RIP comes from it, not from next. */
        boolean branches;
        /** Guest instructions in the block up to and including this op. */
        int upto;
        /** How much of its lazy flag record a register ALU or INC/DEC op keeps: {@link #FLAGS_ALL} unless later ops overwrite it. */
        int flags;
        /** INC/DEC: the carry it keeps is the executor's local carry (the op before kept only CF, there). */
        boolean cfLocal;
        /** Whether the processor's flags are exact after this op (not held back by a later op of the block). */
        boolean exact;
    }

    /** Flag records: all of it, only CF (kept in a local for the INC/DEC that follows), none. */
    static final int FLAGS_ALL = 0, FLAGS_CF = 1, FLAGS_NONE = 2;

    /** Pre-decoded instructions from one linear address, valid for one mode and one physical page. */
    static final class Block {
        long rip, lin;
        int mode;
        /** The host page the bytes came from: its buffer and the offset of the first byte in it. */
        ByteBuffer buf;
        int start;
        byte[] bytes;
        Op[] ops;
        /** Guest instructions in the block (a fused op counts two). */
        int count;
        /**
         * One past the highest instruction pointer the block fetches from or branches to: it is used only while
         * that lies inside the CS limit ({@link SoftCore#codeEnd}), which a reload of CS may have lowered.
         */
        long reach;
        /** The generation in which the bytes were last known to match memory. */
        int gen;
        /** Successors on the same page (fall-through / taken), valid while linkGen is the generation. */
        Block fall, taken;
        int linkGen;

        /** Whether guest memory still holds the bytes this block was decoded from. */
        boolean matches() {
            for (int k = 0; k < bytes.length; k++) if (buf.get(start + k) != bytes[k]) return false;
            return true;
        }
    }

    private final SoftCore c;
    boolean enabled = DEFAULT_ON;
    /** Bumped when code may have changed; blocks and links of an older generation are checked before use. */
    private int gen = 1;
    private final Block[] table = new Block[TABLE_SIZE];
    /** Host pages holding cached code, per host-memory region buffer: one bit per 4-KiB page. */
    private final IdentityHashMap<ByteBuffer, BitSet> codePages = new IdentityHashMap<>();
    private final ArrayList<Op> scratch = new ArrayList<>();
    /** Blocks decoded so far (tests use it to see that code was decoded once and then reused). */
    int blocksBuilt;

    SoftDecodeCache(SoftCore core) {
        this.c = core;
    }

    // ---------------------------------------------------------------- execution

    /**
     * Runs cached blocks from the current RIP for as long as it can. On return RIP names an instruction for
     * the interpreter (one that is not pre-decoded, or whose memory operand needs the full checks). Guest
     * faults and VM exits unwind through here exactly as through {@link SoftCore#step()}.
     */
    void run() {
        SoftCore c = this.c;
        if (!enabled || c.debugger != null || (c.eflags & (TF | AC | RF)) != 0
                || (c.procControls & MONITOR_TRAP_FLAG) != 0 || (c.dr[7] & 0xff) != 0) return;
        Block b = lookup(c.rip);
        if (b == null || b.ops.length == 0) return;
        c.rexByte = true; // byte registers 4-7 of cached ops are SPL..DIL or R12B..R15B: AH..BH are not cached
        int g = gen;
        long csEnd = c.codeEnd(); // cached code has no far transfer: CS stays as it is while blocks run
        long ic = c.icount; // instructions retired before the current block
        Op[] ops = null;
        int k = 0;          // ops of the current block done; ic + ops[k - 1].upto is written back however this ends
        try {
            while (true) {
                ops = b.ops;
                // SoftCore's loop checks for a kick or the budget whenever the count of retired instructions
                // reaches a multiple of 4096: the instruction that gets there is left to it
                int limit = 4095 - (int) (ic & 4095);
                int n = ops.length;
                if (b.count > limit) {
                    n = 0;
                    while (ops[n].upto <= limit) n++;
                    while (n > 0 && !ops[n - 1].exact) n--; // stop where the flags are all in place
                    if (n == 0) return;
                }
                long rip = b.rip;
                boolean stored = false;
                for (; k < n; k++) {
                    Op o = ops[k];
                    switch (o.kind) {
                        case ALU_RR: {
                            long r = alu(o, c.getReg(o.r1, o.sz), c.getReg(o.r2, o.sz));
                            if (o.write) c.setReg(o.r1, o.sz, r);
                            if (o.fused) rip = c.cond(o.cc) ? o.target : o.next;
                            break;
                        }
                        case ALU_RI: {
                            long r = alu(o, c.getReg(o.r1, o.sz), o.imm);
                            if (o.write) c.setReg(o.r1, o.sz, r);
                            if (o.fused) rip = c.cond(o.cc) ? o.target : o.next;
                            break;
                        }
                        case ALU_RM: {
                            long lin = address(o, o.sz, false);
                            if (lin == -1) return;
                            long r = alu(o, c.getReg(o.r1, o.sz), c.rd(lin, o.sz));
                            if (o.write) c.setReg(o.r1, o.sz, r);
                            break;
                        }
                        case ALU_MR: {
                            long lin = address(o, o.sz, o.write);
                            if (lin == -1) return;
                            long r = alu(o, c.rd(lin, o.sz), c.getReg(o.r1, o.sz));
                            if (o.write) c.wr(lin, o.sz, r);
                            stored = gen != g;
                            break;
                        }
                        case ALU_MI: {
                            long lin = address(o, o.sz, o.write);
                            if (lin == -1) return;
                            long r = alu(o, c.rd(lin, o.sz), o.imm);
                            if (o.write) c.wr(lin, o.sz, r);
                            stored = gen != g;
                            break;
                        }
                        case INC_R: {
                            long r;
                            if (o.flags == FLAGS_ALL) {
                                r = c.inc(c.getReg(o.r1, o.sz), o.sz, o.alu == 1, o.cfLocal ? carry : c.cf());
                            } else { // the record is overwritten later: only the value, and the carry it keeps
                                if (o.flags == FLAGS_CF && !o.cfLocal) carry = c.cf();
                                r = (c.getReg(o.r1, o.sz) + (o.alu == 1 ? -1 : 1)) & SoftCore.MASK[o.sz];
                            }
                            c.setReg(o.r1, o.sz, r);
                            if (o.fused) rip = c.cond(o.cc) ? o.target : o.next;
                            break;
                        }
                        case INC_M: {
                            long lin = address(o, o.sz, true);
                            if (lin == -1) return;
                            c.wr(lin, o.sz, c.inc(c.rd(lin, o.sz), o.sz, o.alu == 1));
                            stored = gen != g;
                            break;
                        }
                        case MOV_RR: c.setReg(o.r1, o.sz, c.getReg(o.r2, o.sz)); break;
                        case MOV_RI: c.setReg(o.r1, o.sz, o.imm); break;
                        case MOV_RM: {
                            long lin = address(o, o.sz, false);
                            if (lin == -1) return;
                            c.setReg(o.r1, o.sz, c.rd(lin, o.sz));
                            break;
                        }
                        case MOV_MR: {
                            long lin = address(o, o.sz, true);
                            if (lin == -1) return;
                            c.wr(lin, o.sz, c.getReg(o.r1, o.sz));
                            stored = gen != g;
                            break;
                        }
                        case MOV_MI: {
                            long lin = address(o, o.sz, true);
                            if (lin == -1) return;
                            c.wr(lin, o.sz, o.imm);
                            stored = gen != g;
                            break;
                        }
                        case MOVX_RR: c.setReg(o.r1, o.sz2, extend(o, c.getReg(o.r2, o.sz))); break;
                        case MOVX_RM: {
                            long lin = address(o, o.sz, false);
                            if (lin == -1) return;
                            c.setReg(o.r1, o.sz2, extend(o, c.rd(lin, o.sz)));
                            break;
                        }
                        case LEA: c.setReg(o.r1, o.sz, offset(o)); break;
                        case JCC: rip = c.cond(o.alu) ? o.target : o.next; break;
                        case JMP: rip = o.target; break;
                        default: break; // NOP
                    }
                    if (stored) { // the instruction wrote to a page holding cached code
                        c.rip = o.next;
                        k++;
                        return;
                    }
                }
                Op last = ops[k - 1];
                if (!last.branches) rip = last.next; // else the branch set it
                c.rip = rip;
                ic += last.upto;
                boolean whole = k == ops.length;
                k = 0;
                if (!whole) return;
                Block next = b.linkGen != g ? null : b.taken != null && b.taken.rip == rip ? b.taken
                        : b.fall != null && b.fall.rip == rip ? b.fall : null;
                if (next == null || next.reach > csEnd) {
                    next = lookup(rip);
                    if (next == null || next.ops.length == 0) return;
                    link(b, next, rip);
                }
                b = next;
            }
        } finally {
            c.icount = ic + (k == 0 ? 0 : ops[k - 1].upto);
        }
    }

    private long alu(Op o, long a, long b) {
        if (o.flags != FLAGS_ALL) return aluValue(o, a, b);
        if (o.alu == TEST) {
            c.logicFlags(a & b, o.sz);
            return 0;
        }
        return c.alu(o.alu, a, b, o.sz);
    }

    /** CF of the last op that kept only CF ({@link #FLAGS_CF}), for the INC/DEC after it. */
    private boolean carry;

    /**
     * A register ALU op whose flag record a later op of the block overwrites: only its value, and with
     * {@link #FLAGS_CF} its carry (ADC and SBB, which read CF, always keep their record).
     */
    private long aluValue(Op o, long a, long b) {
        long m = SoftCore.MASK[o.sz];
        a &= m;
        b &= m;
        long r;
        switch (o.alu) {
            case 0: r = (a + b) & m; carry = Long.compareUnsigned(r, a) < 0; return r;
            case 5: case 7: carry = Long.compareUnsigned(a, b) < 0; return (a - b) & m;
            case 1: r = a | b; break;
            case 6: r = a ^ b; break;
            default: r = a & b; break; // AND, TEST
        }
        carry = false;
        return r;
    }

    /**
     * Flag liveness, backwards from the end of the block, where all flags are live (the next block or the
     * interpreter may read any). A register ALU or INC/DEC op whose record a later op overwrites before
     * anything reads it keeps none of it, or only CF when an INC/DEC (which keeps CF) comes next. Wherever
     * the guest could see RFLAGS (a memory operand that may fault, exit or go to the interpreter, a JCC, a
     * fused op, the end of the block) the whole record is needed, and ADC/SBB read CF from it.
     */
    private static void analyseFlags(Op[] ops) {
        int live = FLAGS_ALL;
        for (int i = ops.length - 1; i >= 0; i--) {
            Op o = ops[i];
            o.exact = live == FLAGS_ALL;
            switch (o.kind) {
                case INC_R:
                    o.flags = o.fused ? FLAGS_ALL : live;
                    live = o.flags == FLAGS_NONE ? FLAGS_NONE : FLAGS_CF;
                    break;
                case ALU_RR: case ALU_RI: {
                    boolean readsCf = o.alu == 2 || o.alu == 3;
                    o.flags = o.fused || readsCf ? FLAGS_ALL : live;
                    live = readsCf ? FLAGS_ALL : FLAGS_NONE;
                    break;
                }
                case JMP: case MOV_RR: case MOV_RI: case MOVX_RR: case LEA: case NOP:
                    break; // flags untouched, and nothing here can fault
                default:
                    live = FLAGS_ALL;
            }
        }
        boolean local = false; // whether the last flag-writing op left CF in the executor's local
        for (Op o : ops) {
            switch (o.kind) {
                case INC_R: o.cfLocal = local; local = o.flags == FLAGS_CF; break;
                case ALU_RR: case ALU_RI: local = o.flags == FLAGS_CF; break;
                case ALU_RM: case ALU_MR: case ALU_MI: case INC_M: local = false; break;
                default: break;
            }
        }
    }

    private static long extend(Op o, long v) {
        return o.signed ? SoftCore.sext(v, o.sz) : v;
    }

    /** Offset of the memory operand within its segment. */
    private long offset(Op o) {
        long[] R = c.R;
        long off = o.disp;
        if (o.base >= 0) off += R[o.base];
        if (o.index >= 0) off += (R[o.index] & o.idxMask) << o.scale;
        return off & o.amask;
    }

    /**
     * Linear address of the memory operand of {@code o}, or -1 when the segment checks need the interpreter
     * (SoftCore's loop then executes the instruction). Before the access RIP names the instruction, so a
     * fault or VM exit in it restarts it there.
     */
    private long address(Op o, int sz, boolean write) {
        SoftCore c = this.c;
        long off = offset(o);
        long lin = (c.ebase[o.seg] + off) & c.linMask;
        // 64-bit mode: a non-canonical address is the interpreter's (#GP, or #SS through SS: SDM 3.3.7.1)
        if (c.code64 ? ((lin << 16) >> 16) != lin : !segmentAllows(o.seg, off, sz, write)) {
            c.rip = o.rip;
            return -1;
        }
        c.rip = c.ip0 = o.rip;
        return lin;
    }

    /**
     * Whether an access of {@code sz} bytes at {@code off} needs no segment check beyond this one (SDM 5.3
     * "Limit Checking", 5.4 "Type Checking"): a usable, present code/data segment, expand-up data (writable for
     * a write) or readable code (never written), and the whole access inside the limit. Anything else is left
     * to the interpreter.
     */
    private boolean segmentAllows(int s, long off, int sz, boolean write) {
        int a = c.ar[s];
        if ((a & 0x10090) != 0x90) return false;
        boolean code = (a & 8) != 0;
        if (code ? write || (a & 2) == 0 : (a & 4) != 0 || (write && (a & 2) == 0)) return false;
        return off + sz - 1 <= (c.limit[s] & 0xffffffffL);
    }

    /**
     * The two-operand ModRM forms whose opcode bit 0 is the width (byte or operand size) and bit 1 the
     * direction (set: the register is the destination): register-register, or a memory operand on either side.
     */
    private void regRmForm(Op o, int op, int sz, int rr, int rm, int mr) {
        SoftCore c = this.c;
        o.sz = (op & 1) == 0 ? 1 : sz;
        c.modrm();
        boolean toReg = (op & 2) != 0;
        if (c.mrMod == 3) {
            o.kind = rr;
            o.r1 = toReg ? c.mrReg : c.mrRm;
            o.r2 = toReg ? c.mrRm : c.mrReg;
        } else {
            o.kind = toReg ? rm : mr;
            o.r1 = c.mrReg;
            memory(o);
        }
    }

    /** Remembers that {@code b} continues at {@code next} when both lie in the same linear and host page. */
    private void link(Block b, Block next, long rip) {
        if (next.buf != b.buf || (next.lin ^ b.lin) >>> 12 != 0
                || next.start - (int) (next.lin & 0xfff) != b.start - (int) (b.lin & 0xfff)) return;
        if (b.linkGen != gen) {
            b.fall = b.taken = null;
            b.linkGen = gen;
        }
        Op last = b.ops[b.ops.length - 1];
        if (last.branches && rip == last.target) b.taken = next;
        else b.fall = next;
    }

    // ---------------------------------------------------------------- lookup and decoding

    private int mode() {
        return (c.code64 ? 1 : 0) | (c.code32 ? 2 : 0) | (c.realMode ? 4 : 0) | (c.v86 ? 8 : 0);
    }

    /**
     * The block for {@code rip} in the current mode and translation, decoded now if need be. The host page
     * comes from the interpreter's fetch window or from the TLB's execute translation; with neither, null (the
     * interpreter's fetch then translates the page, raising any #PF or EPT exit as the architecture says).
     */
    private Block lookup(long rip) {
        SoftCore c = this.c;
        long lin = (c.ebase[CS] + rip) & c.linMask;
        ByteBuffer buf = c.fetchBuffer(rip);
        int start;
        if (buf != null) {
            start = c.fetchIndex(rip);
        } else {
            long p = lin >>> 12;
            int i = (int) p & SoftCore.TLB_MASK;
            if (c.tagX[i] != p) return null;
            buf = c.tbuf[i];
            start = c.tbase[i] + ((int) lin & 0xfff);
        }
        int page = start - ((int) lin & 0xfff);
        int mode = mode();
        int slot = (int) (lin ^ (lin >>> 12)) & (TABLE_SIZE - 1);
        Block b = table[slot];
        if (b != null && b.lin == lin && b.rip == rip && b.mode == mode && b.buf == buf && b.start == start
                && b.reach <= c.codeEnd()) {
            if (b.gen == gen) return b;
            if (b.matches()) {
                b.gen = gen;
                markCode(buf, page);
                return b;
            }
        }
        b = build(rip, lin, buf, page, mode);
        table[slot] = b;
        return b;
    }

    /** Decodes instructions from {@code rip} up to a branch, an instruction it does not cache, or the page end. */
    private Block build(long rip, long lin, ByteBuffer buf, int page, int mode) {
        SoftCore c = this.c;
        blocksBuilt++;
        Block b = new Block();
        b.rip = rip;
        b.lin = lin;
        b.mode = mode;
        b.buf = buf;
        b.start = page + ((int) lin & 0xfff);
        b.gen = gen;
        ArrayList<Op> ops = scratch;
        ops.clear();
        long pc = rip;
        boolean stopped = false;
        c.fetchWindow(buf, page, lin, rip);
        c.decodeFence = true; // decoding never fetches beyond this page
        try {
            while (ops.size() < MAX_OPS) {
                Op o = decode(pc);
                if (o == null) { stopped = true; break; }
                if (o.kind == JCC && !ops.isEmpty() && fuse(ops.get(ops.size() - 1), o)) { pc += o.len; break; }
                ops.add(o);
                if (o.kind == JCC || o.kind == JMP || o.next != pc + o.len) { pc += o.len; break; } // a branch, or RIP wraps
                pc = o.next;
            }
        } finally {
            c.decodeFence = false;
            c.dropFetchWindow();
        }
        b.ops = ops.toArray(new Op[0]);
        b.reach = pc;
        for (Op o : b.ops) {
            o.upto = b.count += o.fused ? 2 : 1;
            if (o.branches) b.reach = Math.max(b.reach, o.target + 1);
        }
        analyseFlags(b.ops);
        // the bytes the block depends on: its instructions and, if one stopped it, that one's first byte
        int len = (int) (pc - rip);
        if (stopped && (lin & 0xfff) + len < 4096) len++;
        b.bytes = new byte[len];
        for (int k = 0; k < len; k++) b.bytes[k] = b.buf.get(b.start + k);
        markCode(buf, page);
        return b;
    }

    /**
     * One instruction at {@code pc}, decoded with the interpreter's own prefix and ModRM decoders; null when it
     * is not one the cache executes (or it does not fit on the page), so that the interpreter runs it. That
     * includes every LOCK-prefixed instruction: the interpreter decides whether it accepts LOCK
     * ({@link SoftCore#lockAccepted}).
     */
    private Op decode(long pc) {
        SoftCore c = this.c;
        try {
            c.ip0 = c.pc = pc;
            int op = c.prefixes();
            if (c.rep != 0 || op >= SoftCore.LOCKED || (c.code64 && SoftCore.INVALID64[op])) return null;
            Op o = new Op();
            o.rip = pc;
            int sz = c.osz;
            o.sz = sz;
            o.alu = op >> 3;
            o.write = o.alu != 7;
            if (op < 0x40 && (op & 7) < 6) { // ALU forms 00-3D
                switch (op & 7) {
                    case 0: case 1: case 2: case 3:
                        regRmForm(o, op, sz, ALU_RR, ALU_RM, ALU_MR);
                        break;
                    default:
                        o.kind = ALU_RI;
                        o.r1 = 0;
                        o.sz = (op & 1) == 0 ? 1 : sz;
                        o.imm = o.sz == 1 ? c.fetch8() : c.fetchImm(sz);
                }
                return finish(o, pc);
            }
            switch (op) {
                case 0x40: case 0x41: case 0x42: case 0x43: case 0x44: case 0x45: case 0x46: case 0x47:
                case 0x48: case 0x49: case 0x4a: case 0x4b: case 0x4c: case 0x4d: case 0x4e: case 0x4f:
                    o.kind = INC_R;
                    o.r1 = op & 7;
                    o.alu = (op >> 3) & 1;
                    return finish(o, pc);
                case 0x70: case 0x71: case 0x72: case 0x73: case 0x74: case 0x75: case 0x76: case 0x77:
                case 0x78: case 0x79: case 0x7a: case 0x7b: case 0x7c: case 0x7d: case 0x7e: case 0x7f:
                    o.kind = JCC;
                    o.alu = op & 15;
                    return branch(o, pc, (byte) c.fetch8());
                case 0x80: case 0x81: case 0x83: {
                    o.sz = op == 0x80 ? 1 : sz;
                    c.modrm(op == 0x81 ? Math.min(sz, 4) : 1);
                    o.alu = c.mrReg;
                    o.write = o.alu != 7;
                    o.imm = op == 0x80 ? c.fetch8() : op == 0x81 ? c.fetchImm(sz) : (byte) c.fetch8();
                    return rmForm(o, ALU_RI, ALU_MI, pc);
                }
                case 0x84: case 0x85:
                    o.sz = op == 0x84 ? 1 : sz;
                    c.modrm();
                    o.alu = TEST;
                    o.write = false;
                    o.r2 = c.mrReg;
                    if (c.mrMod == 3) {
                        o.kind = ALU_RR;
                        o.r1 = c.mrRm;
                        return finish(o, pc);
                    }
                    o.kind = ALU_MR;
                    o.r1 = c.mrReg;
                    memory(o);
                    return finish(o, pc);
                case 0x88: case 0x89: case 0x8a: case 0x8b: {
                    regRmForm(o, op, sz, MOV_RR, MOV_RM, MOV_MR);
                    return finish(o, pc);
                }
                case 0x8d:
                    c.modrm();
                    if (c.mrMod == 3) return null;
                    o.kind = LEA;
                    o.r1 = c.mrReg;
                    memory(o);
                    return finish(o, pc);
                case 0x90:
                    if ((c.rex & 1) != 0) return null;
                    o.kind = NOP;
                    return finish(o, pc);
                case 0xa8: case 0xa9:
                    o.kind = ALU_RI;
                    o.alu = TEST;
                    o.write = false;
                    o.r1 = 0;
                    o.sz = op == 0xa8 ? 1 : sz;
                    o.imm = o.sz == 1 ? c.fetch8() : c.fetchImm(sz);
                    return finish(o, pc);
                case 0xb0: case 0xb1: case 0xb2: case 0xb3: case 0xb4: case 0xb5: case 0xb6: case 0xb7:
                case 0xb8: case 0xb9: case 0xba: case 0xbb: case 0xbc: case 0xbd: case 0xbe: case 0xbf:
                    o.kind = MOV_RI;
                    o.r1 = (op & 7) | (c.rex & 1) << 3;
                    o.sz = op < 0xb8 ? 1 : sz;
                    o.imm = o.sz == 1 ? c.fetch8() : sz == 8 ? c.fetch64() : c.fetchImm(sz);
                    return finish(o, pc);
                case 0xc6: case 0xc7:
                    o.sz = op == 0xc6 ? 1 : sz;
                    c.modrm(op == 0xc6 ? 1 : Math.min(sz, 4));
                    if (c.mrReg != 0) return null;
                    o.imm = op == 0xc6 ? c.fetch8() : c.fetchImm(sz);
                    return rmForm(o, MOV_RI, MOV_MI, pc);
                case 0xe9:
                    o.kind = JMP;
                    return branch(o, pc, SoftCore.sext(c.fetchImm(sz), sz));
                case 0xeb:
                    o.kind = JMP;
                    return branch(o, pc, (byte) c.fetch8());
                case 0xfe: case 0xff:
                    o.sz = op == 0xfe ? 1 : sz;
                    c.modrm();
                    if (c.mrReg > 1) return null;
                    o.alu = c.mrReg;
                    return rmForm(o, INC_R, INC_M, pc);
                case 0x0f: {
                    int op2 = c.fetch8();
                    if ((op2 & 0xf0) == 0x80) {
                        o.kind = JCC;
                        o.alu = op2 & 15;
                        return branch(o, pc, SoftCore.sext(c.fetchImm(sz), sz));
                    }
                    if (op2 != 0xb6 && op2 != 0xb7 && op2 != 0xbe && op2 != 0xbf) return null;
                    o.sz = (op2 & 1) == 0 ? 1 : 2;
                    o.sz2 = sz;
                    o.signed = op2 >= 0xbe;
                    c.modrm();
                    o.r1 = c.mrReg;
                    if (c.mrMod == 3) {
                        o.kind = MOVX_RR;
                        o.r2 = c.mrRm;
                    } else {
                        o.kind = MOVX_RM;
                        memory(o);
                    }
                    return finish(o, pc);
                }
                default:
                    return null;
            }
        } catch (SoftCore.FaultSignal f) {
            return null; // too long, or runs off the page: the interpreter fetches it and faults if it must
        }
    }

    /** A ModRM form whose r/m operand is the destination: register kind {@code r} or memory kind {@code m}. */
    private Op rmForm(Op o, int r, int m, long pc) {
        if (c.mrMod == 3) {
            o.kind = r;
            o.r1 = c.mrRm;
        } else {
            o.kind = m;
            memory(o);
        }
        return finish(o, pc);
    }

    /**
     * The memory operand ModRM just decoded. The interpreter's decoder already added the current register
     * values into the offset; the displacement is what remains (modulo the address size).
     */
    private void memory(Op o) {
        SoftCore c = this.c;
        long[] R = c.R;
        o.base = c.eaBase;
        o.index = c.eaIndex;
        o.scale = c.eaScale;
        o.seg = c.eaSeg;
        o.amask = SoftCore.MASK[c.asz];
        o.idxMask = c.asz == 8 ? -1L : 0xffffffffL;
        long regs = (o.base >= 0 ? R[o.base] : 0) + (o.index >= 0 ? (R[o.index] & o.idxMask) << o.scale : 0);
        o.disp = (c.eaOff - regs) & o.amask;
    }

    /** Length and next RIP; null for byte operations on AH, CH, DH or BH (left to the interpreter). */
    private Op finish(Op o, long pc) {
        SoftCore c = this.c;
        if (o.sz == 1 && !c.rexByte) {
            boolean r1Byte = o.kind != MOVX_RR && o.kind != MOVX_RM && o.kind != ALU_MI && o.kind != MOV_MI && o.kind != INC_M;
            boolean r2Byte = o.kind == ALU_RR || o.kind == MOV_RR || o.kind == MOVX_RR;
            if (r1Byte && o.r1 >= 4 || r2Byte && o.r2 >= 4) return null;
        }
        o.len = (int) (c.pc - pc);
        o.next = c.pc & c.ipMask;
        return o;
    }

    /** Makes {@code j}, a JCC, part of the register operation {@code p} before it, if p is one. */
    private static boolean fuse(Op p, Op j) {
        if (p.kind != ALU_RR && p.kind != ALU_RI && p.kind != INC_R) return false;
        p.fused = p.branches = true;
        p.cc = j.alu;
        p.target = j.target;
        p.next = j.next;
        return true;
    }

    /** A relative branch by {@code d}: the target is computed as the interpreter's jumpRel computes it. */
    private Op branch(Op o, long pc, long d) {
        SoftCore c = this.c;
        o.len = (int) (c.pc - pc);
        o.next = c.pc & c.ipMask;
        c.jumpRel(d);
        o.target = c.pc & c.ipMask;
        o.branches = true;
        return o;
    }

    // ---------------------------------------------------------------- code pages

    // the code-page bits of the region last asked about: every TLB fill asks, mostly about one region
    private ByteBuffer lastBuf;
    private BitSet lastPages;

    /** The code-page bits of a host-memory region (its buffer), created if {@code create}, else null if none. */
    private BitSet pagesOf(ByteBuffer buf, boolean create) {
        if (buf == lastBuf) return lastPages;
        BitSet s = create ? codePages.computeIfAbsent(buf, k -> new BitSet()) : codePages.get(buf);
        if (s != null) {
            lastBuf = buf;
            lastPages = s;
        }
        return s;
    }

    /** Marks a host page as holding cached code: from now on a write to it comes through {@link #writable}. */
    private void markCode(ByteBuffer buf, int page) {
        BitSet s = pagesOf(buf, true);
        if (s.get(page >>> 12)) return;
        s.set(page >>> 12);
        for (int j = 0; j < SoftCore.TLB_SIZE; j++)
            if (c.tbuf[j] == buf && c.tbase[j] == page) c.tagW[j] = -1;
    }

    /**
     * Asked by the TLB fill for a writable translation of a host page: false keeps writes to a page with cached
     * code on the slow path. The first write to such a page ({@code writing}) starts a new generation, which
     * makes every block check its bytes before it runs again, and frees the page for fast writes.
     */
    boolean writable(ByteBuffer buf, int page, boolean writing) {
        BitSet s = pagesOf(buf, false);
        if (s == null || !s.get(page >>> 12)) return true;
        if (!writing) return false;
        s.clear(page >>> 12);
        gen++;
        return true;
    }

    /** VM entry: memory may have been changed by others since the last exit. */
    void entered() {
        gen++;
    }

    /** Drops every block (the toggle, or a test that wants a cold cache). */
    void clear() {
        java.util.Arrays.fill(table, null);
        gen++;
    }
}
