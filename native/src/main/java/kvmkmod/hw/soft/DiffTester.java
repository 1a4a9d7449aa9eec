package kvmkmod.hw.soft;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import kvmkmod.hw.HostMemory;
import kvmkmod.hw.VmxCapabilities;
import kvmkmod.hw.VmxCpu;
import kvmkmod.hw.host.HostKvm;
import kvmkmod.hw.host.LibC;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static kvmkmod.hw.VmxArch.*;
import static kvmkmod.hw.host.HostKvm.*;

/**
 * Differential tester: random integer instruction sequences run on the host's /dev/kvm and on the soft
 * CPU (VMX non-root under a hand-built VMCS with EPT) from the same state, then the GPRs, RIP, the
 * defined arithmetic flags, DF, a scratch buffer and the stack are compared.
 *
 * <pre>
 *   java -cp native/target/classes:jna.jar kvmkmod.hw.soft.DiffTester --mode real|prot32|long|all --cases N --seed S
 * </pre>
 *
 * Guest-physical layout (1 MiB, the same image in both): GDT 0x500, IDT 0x600 (32 vectors), TSS 0x900,
 * a HLT per exception vector at 0x5f80 + vector, code 0x1000, scratch
 * 0x6000-0x63ff (RBX points at it and is never written by generated code), stack top 0x9000 (RSP is only
 * moved by balanced PUSH/POP), 4-level page tables at 0x20000 for long mode (one 2-MiB page at 0).
 *
 * <p>What is compared: the exit (both must end in HLT, possibly the HLT of an exception handler), the
 * GPRs (low 32 bits outside long mode, where the upper halves are not architecturally kept), RIP,
 * DF and the arithmetic flags minus those the SDM leaves undefined after their last writer (tracked per
 * instruction by the generator, which also never lets an instruction read an undefined flag), the
 * scratch buffer and the stack (including exception frames). "Instructions compared" counts the
 * generated instructions, preludes included, each REP string instruction once.
 *
 * <p>Besides the integer instructions: CMPXCHG8B/16B, fences, CLFLUSH, MOVNTI, LAR/LSL/VERR/VERW/ARPL,
 * and case-ending exceptions of the protection rules (segment-register loads, segment type and limit
 * checks through extra GDT descriptors, an expand-down stack, non-canonical addresses, real-mode offsets
 * beyond 64 KiB), of CR0.TS/MP and CR4.OSFXSR for
 * x87/MMX/SSE opcodes and WAIT (CR0 has TS and MP set in protected and long mode), SYSENTER with a null
 * IA32_SYSENTER_CS, and BOUND. Exclusions, each explained where it is made: CS-override writes inside
 * a case (only as its last instruction); BSWAP of a 16-bit operand (undefined result); the undocumented
 * SHL alias /6. No quirk of the host (PVM) was needed as an exclusion.
 */
public final class DiffTester implements AutoCloseable {
    public static final int REAL = 0, PROT32 = 1, LONG = 2;
    public static final String[] MODE_NAMES = {"real", "prot32", "long"};

    static final int RAM = 1 << 20, GDT = 0x500, TSS = 0x900, IDT = 0x600, HANDLERS = 0x5f80, CODE = 0x1000, CODE_END = 0x5f00,
            SCR = 0x6000, SCR_LEN = 0x400, STACK_TOP = 0x9000, STACK_CMP = 0x8e00, PML4 = 0x20000;
    static final int CF = 1, PF = 4, AF = 0x10, ZF = 0x40, SF = 0x80, DF = 0x400, OF = 0x800;
    static final int ARITH = CF | PF | AF | ZF | SF | OF;

    /** One generated case: code image, initial state, and the flags left undefined at the end. */
    static final class Case {
        final int mode;
        final byte[] code;
        final long[] regs = new long[16];
        final long rflags;
        final byte[] scratch;
        final int undefFlags;
        final int instructions;
        final List<int[]> insns; // [offset, length] per instruction, for reports
        int undefReg = -1;       // a GPR left undefined (BSF/BSR of zero), not compared

        Case(int mode, byte[] code, long[] regs, long rflags, byte[] scratch, int undefFlags, int instructions, List<int[]> insns) {
            this.mode = mode; this.code = code; System.arraycopy(regs, 0, this.regs, 0, 16);
            this.rflags = rflags; this.scratch = scratch; this.undefFlags = undefFlags;
            this.instructions = instructions; this.insns = insns;
        }
    }

    /** The state after a run. */
    static final class Result {
        long[] regs = new long[16];
        long rip, rflags;
        byte[] scratch = new byte[SCR_LEN], stack = new byte[STACK_TOP - STACK_CMP];
        String exit;
    }

    // ---------------------------------------------------------------------------------------------
    // Generator

    static final class Gen {
        final int mode;
        final Random rnd;
        final byte[] buf = new byte[CODE_END - CODE];
        int pos;
        int undef;          // arithmetic flags currently undefined (SDM: "undefined" results)
        int stackDepth;     // bytes pushed and not yet popped
        int count;
        final List<int[]> insns = new ArrayList<>();
        int start;

        Gen(int mode, Random rnd) { this.mode = mode; this.rnd = rnd; }

        /**
         * Also generate the instructions this machine's /dev/kvm cannot run: its software backend stops
         * with KVM_EXIT_INTERNAL_ERROR (emulation) on LAR, LSL, VERR, VERW, ARPL, BOUND, CMPXCHG16B,
         * SYSENTER in IA-32e mode and every x87/MMX/SSE opcode and WAIT under CR0.TS (found by this
         * tester). Off by default (option --all on a host with VT-x); the unit tests cover them.
         */
        boolean all;

        int nregs() { return mode == LONG ? 16 : 8; }

        void b(int v) { buf[pos++] = (byte) v; }
        void imm(long v, int bytes) { for (int i = 0; i < bytes; i++) b((int) (v >>> (8 * i))); }
        void begin() { start = pos; }
        void end() { insns.add(new int[]{start, pos - start}); count++; }

        /** Flag bookkeeping: the instruction writes {@code written}, of which {@code undefined} are undefined. */
        void flags(int written, int undefined) { undef = (undef & ~written) | undefined; }

        int defaultSize() { return mode == REAL ? 16 : 32; }

        int pickSize(boolean allow8) {
            int n = rnd.nextInt(mode == LONG ? 4 : 3);
            if (!allow8) n = 1 + rnd.nextInt(mode == LONG ? 3 : 2);
            return 8 << n;
        }

        int pickSizeNo8() { return pickSize(false); }

        /** Operand-size prefix for a non-byte size. */
        void opsize(int size) {
            if (size == 8) return;
            if ((size == 16 && mode != REAL) || (size == 32 && mode == REAL)) b(0x66);
        }

        // REX decision per instruction: in long mode, 'rex' means a REX byte is present, so byte register
        // codes 4-7 are SPL/BPL/SIL/DIL; without it codes 4-7 are AH/CH/DH/BH and only codes 0-7 exist.
        boolean rex;

        void decideRex(int size) { rex = mode == LONG && (size == 64 || rnd.nextBoolean()); }

        int regLimit() { return rex ? 16 : 8; }

        /** GPR written when register code c of this size is the destination. */
        int gprOf(int c, int size) { return (size == 8 && !rex && c >= 4) ? c - 4 : c; }

        boolean writable(int c, int size) { int g = gprOf(c, size); return g != 3 && g != 4; }

        int pickDest(int size) { int c; do c = rnd.nextInt(regLimit()); while (!writable(c, size)); return c; }

        int pickSrc() { return rnd.nextInt(regLimit()); }

        void emitRex(int size, int reg, int x, int rm) {
            if (!rex) return;
            b(0x40 | (size == 64 ? 8 : 0) | ((reg >> 3) & 1) << 2 | ((x >> 3) & 1) << 1 | ((rm >> 3) & 1));
        }

        /** An instruction with ModRM: register form when rmReg >= 0, else [rBX + disp8] in the scratch buffer. */
        void modrm(int size, int[] opc, int reg, int rmReg, int immBytes, long immV) {
            boolean mem = rmReg < 0;
            boolean a16;
            if (mem) {
                boolean alt = rnd.nextInt(3) == 0;
                a16 = mode == REAL ? !alt : (mode == PROT32 && alt);
                if (alt) b(0x67);
                // a segment override (every segment has base 0 here) and, on a read-modify-write, LOCK.
                // Not CS: in 32-bit protected mode: a write through a code segment is a #GP (SDM Vol. 3 5.4
                // "Type Checking"), which here could push flags left undefined; caseEndingFault generates
                // those writes with every flag defined.
                if (rnd.nextInt(4) == 0) {
                    int pfx;
                    do pfx = new int[]{0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65}[rnd.nextInt(6)]; while (pfx == 0x2e && mode == PROT32);
                    b(pfx);
                }
                if (lockable && rnd.nextInt(3) == 0) b(0xf0);
            } else a16 = false;
            lockable = false;
            opsize(size);
            emitRex(size, reg, 0, mem ? 0 : rmReg);
            for (int o : opc) b(o);
            if (mem) {
                b(0x40 | (reg & 7) << 3 | (a16 ? 7 : 3));
                b(rnd.nextInt(0x78)); // disp8 in 0..0x77 (a signed byte: above 0x7f would leave the buffer)
            } else b(0xc0 | (reg & 7) << 3 | (rmReg & 7));
            imm(immV, immBytes);
        }

        /** The next memory-form modrm() is a read-modify-write that accepts LOCK. */
        boolean lockable;

        int immBytes(int size) { return size == 8 ? 1 : size == 16 ? 2 : 4; }

        boolean condReadsUndef(int cc) {
            int[] need = {OF, CF, ZF, CF | ZF, SF, PF, SF | OF, ZF | SF | OF};
            return (need[cc >> 1] & undef) != 0;
        }

        /** mov r32, imm32 (zero-extending in 64-bit mode) for a GPR below 8, as a prelude. */
        void movImm32(int g, long v) {
            begin();
            if (mode == REAL) b(0x66);
            b(0xb8 + g);
            imm(v, 4);
            end();
        }

        void movImm(int size, int c, long v) {
            begin();
            decideRexFor(size, c);
            opsize(size);
            emitRex(size, 0, 0, c);
            if (size == 8) { b(0xb0 + (c & 7)); imm(v, 1); }
            else { b(0xb8 + (c & 7)); imm(v, size == 64 ? 8 : immBytes(size)); }
            end();
        }

        void decideRexFor(int size, int c) { rex = mode == LONG && (size == 64 || c >= 8 || (size == 8 && c >= 4)); }

        int rm(int size) { return rnd.nextInt(3) == 0 ? -1 : pickSrc(); }

        /** Generates one instruction (with any prelude it needs); false if this pick was not possible. */
        boolean one() {
            int k = rnd.nextInt(31);
            int size = pickSize(true);
            decideRex(size);
            switch (k) {
                case 0: case 1: { // ALU reg/reg or reg/mem, either direction
                    int op = rnd.nextInt(8);
                    if ((op == 2 || op == 3) && (undef & CF) != 0) return false;
                    int d = op == 7 ? pickSrc() : pickDest(size);
                    int s = pickSrc();
                    boolean mem = rnd.nextInt(3) == 0;
                    int w = size == 8 ? 0 : 1;
                    begin();
                    if (rnd.nextBoolean()) { lockable = op != 7; modrm(size, new int[]{op * 8 + w}, s, mem ? -1 : d, 0, 0); }
                    else modrm(size, new int[]{op * 8 + 2 + w}, d, mem ? -1 : s, 0, 0);
                    end();
                    flags(ARITH, (op == 1 || op == 4 || op == 6) ? AF : 0); // AND/OR/XOR: AF undefined
                    return true;
                }
                case 2: { // ALU r/m, imm
                    int op = rnd.nextInt(8);
                    if ((op == 2 || op == 3) && (undef & CF) != 0) return false;
                    int d = rnd.nextInt(3) == 0 ? -1 : (op == 7 ? pickSrc() : pickDest(size));
                    long v = rnd.nextLong();
                    begin();
                    if (d == 0 && rnd.nextBoolean()) { opsize(size); emitRex(size, 0, 0, 0); b(op * 8 + (size == 8 ? 4 : 5)); imm(v, immBytes(size)); }
                    else if (size == 8) { lockable = op != 7; modrm(8, new int[]{0x80}, op, d, 1, v); }
                    else if (rnd.nextBoolean()) modrm(size, new int[]{0x83}, op, d, 1, v);
                    else modrm(size, new int[]{0x81}, op, d, immBytes(size), v);
                    end();
                    flags(ARITH, (op == 1 || op == 4 || op == 6) ? AF : 0);
                    return true;
                }
                case 3: { // TEST
                    begin();
                    int form = rnd.nextInt(3);
                    if (form == 0) modrm(size, new int[]{size == 8 ? 0x84 : 0x85}, pickSrc(), rm(size), 0, 0);
                    else if (form == 1) modrm(size, new int[]{size == 8 ? 0xf6 : 0xf7}, 0, rm(size), immBytes(size), rnd.nextLong());
                    else { opsize(size); emitRex(size, 0, 0, 0); b(size == 8 ? 0xa8 : 0xa9); imm(rnd.nextLong(), immBytes(size)); }
                    end();
                    flags(ARITH, AF);
                    return true;
                }
                case 4: { // INC/DEC (CF unaffected)
                    int d = rnd.nextInt(3) == 0 ? -1 : pickDest(size);
                    begin();
                    if (mode != LONG && size != 8 && d >= 0 && rnd.nextBoolean()) { opsize(size); b((rnd.nextBoolean() ? 0x40 : 0x48) + d); }
                    else { lockable = true; modrm(size, new int[]{size == 8 ? 0xfe : 0xff}, rnd.nextInt(2), d, 0, 0); }
                    end();
                    flags(ARITH & ~CF, 0);
                    return true;
                }
                case 5: { // NEG / NOT
                    boolean neg = rnd.nextBoolean();
                    begin();
                    lockable = true;
                    modrm(size, new int[]{size == 8 ? 0xf6 : 0xf7}, neg ? 3 : 2, rnd.nextInt(3) == 0 ? -1 : pickDest(size), 0, 0);
                    end();
                    if (neg) flags(ARITH, 0);
                    return true;
                }
                case 6: case 7: return shift(size);
                case 8: return mul(size);
                case 9: return div(size);
                case 10: case 11: { // MOV forms
                    int form = rnd.nextInt(4);
                    begin();
                    if (form == 0) {
                        if (rnd.nextBoolean()) modrm(size, new int[]{size == 8 ? 0x88 : 0x89}, pickSrc(), rnd.nextInt(3) == 0 ? -1 : pickDest(size), 0, 0);
                        else modrm(size, new int[]{size == 8 ? 0x8a : 0x8b}, pickDest(size), rm(size), 0, 0);
                        end();
                    } else if (form == 1) {
                        pos = start;
                        int d = pickDest(size);
                        long v = rnd.nextLong();
                        opsize(size); emitRex(size, 0, 0, d);
                        if (size == 8) { b(0xb0 + (d & 7)); imm(v, 1); } else { b(0xb8 + (d & 7)); imm(v, size == 64 ? 8 : immBytes(size)); }
                        end();
                    } else {
                        modrm(size, new int[]{size == 8 ? 0xc6 : 0xc7}, 0, rnd.nextInt(3) == 0 ? -1 : pickDest(size), immBytes(size), rnd.nextLong());
                        end();
                    }
                    return true;
                }
                case 12: { // MOVZX / MOVSX / MOVSXD
                    if (size == 8) return false;
                    int d = pickDest(size);
                    boolean sx = rnd.nextBoolean();
                    begin();
                    if (mode == LONG && size == 64 && rnd.nextInt(3) == 0) modrm(64, new int[]{0x63}, d, rm(64), 0, 0);
                    else if (size != 16 && rnd.nextBoolean()) modrm(size, new int[]{0x0f, sx ? 0xbf : 0xb7}, d, rm(size), 0, 0);
                    else {
                        int s = rnd.nextInt(3) == 0 ? -1 : pickSrc();
                        modrm(size, new int[]{0x0f, sx ? 0xbe : 0xb6}, d, s, 0, 0);
                    }
                    end();
                    return true;
                }
                case 13: return lea(size);
                case 14: { // XCHG
                    int d = pickDest(size);
                    begin();
                    int form = rnd.nextInt(3);
                    if (form == 0 && size != 8) { opsize(size); emitRex(size, 0, 0, d); b(0x90 + (d & 7)); }
                    else modrm(size, new int[]{size == 8 ? 0x86 : 0x87}, d, form == 1 ? -1 : pickDest(size), 0, 0);
                    end();
                    return true;
                }
                case 15: { // CMOVcc
                    if (size == 8) return false;
                    int cc = rnd.nextInt(16);
                    if (condReadsUndef(cc)) return false;
                    begin();
                    modrm(size, new int[]{0x0f, 0x40 + cc}, pickDest(size), rm(size), 0, 0);
                    end();
                    return true;
                }
                case 16: { // SETcc
                    int cc = rnd.nextInt(16);
                    if (condReadsUndef(cc)) return false;
                    begin();
                    modrm(8, new int[]{0x0f, 0x90 + cc}, 0, rnd.nextInt(3) == 0 ? -1 : pickDest(8), 0, 0);
                    end();
                    return true;
                }
                case 17: { // BT/BTS/BTR/BTC. SDM "BT—Bit Test": CF = the bit; ZF unaffected; OF, SF, AF, PF undefined.
                    if (size == 8) return false;
                    int op = rnd.nextInt(4);
                    begin();
                    if (rnd.nextBoolean()) {
                        int d = op == 0 ? pickSrc() : pickDest(size);
                        modrm(size, new int[]{0x0f, 0xa3 + op * 8}, pickSrc(), d, 0, 0);
                    } else {
                        int d = rnd.nextInt(3) == 0 ? -1 : (op == 0 ? pickSrc() : pickDest(size));
                        lockable = op != 0;
                        modrm(size, new int[]{0x0f, 0xba}, 4 + op, d, 1, rnd.nextInt(256));
                    }
                    end();
                    flags(CF | OF | SF | AF | PF, OF | SF | AF | PF);
                    return true;
                }
                case 18: { // BSF/BSR on a source made nonzero first by BTS (the destination is undefined for a zero source)
                    if (size == 8) return false;
                    if (rnd.nextInt(10) == 0) return bsfZero(size);
                    int s = rnd.nextInt(3) == 0 ? -1 : pickDest(size);
                    int bit = rnd.nextInt(size);
                    begin();
                    modrm(size, new int[]{0x0f, 0xba}, 5, s, 1, bit);
                    end();
                    flags(CF | OF | SF | AF | PF, OF | SF | AF | PF);
                    return bsfAfter(size, s, bit);
                }
                case 19: { // BSWAP (16-bit operand is undefined: not generated)
                    if (size < 32) return false;
                    int d = pickDest(size);
                    begin(); opsize(size); emitRex(size, 0, 0, d); b(0x0f); b(0xc8 + (d & 7)); end();
                    return true;
                }
                case 20: { // CBW/CWDE/CDQE, CWD/CDQ/CQO
                    if (size == 8) return false;
                    begin(); opsize(size); if (size == 64) b(0x48); b(rnd.nextBoolean() ? 0x98 : 0x99); end();
                    return true;
                }
                case 21: case 22: return pushPop();
                case 23: case 24: return string(size);
                case 25: { // CLC/STC/CMC
                    int o = rnd.nextInt(3);
                    if (o == 2 && (undef & CF) != 0) return false;
                    begin(); b(o == 0 ? 0xf8 : o == 1 ? 0xf9 : 0xf5); end();
                    flags(CF, 0);
                    return true;
                }
                case 27: return cmpxchgDouble();
                case 28: return fenceOrStore();
                case 29: return descriptorInsn();
                case 30: if (rnd.nextInt(4) == 0) return caseEndingFault(); // fall through
                default: { // refresh a register with an immediate
                    movImm(size, pickDestFor(size), rnd.nextLong());
                    return true;
                }
            }
        }

        int pickDestFor(int size) { rex = mode == LONG && rnd.nextBoolean(); return pickDest(size); }

        /** A register whose final value is undefined (not compared), or -1. */
        int undefReg = -1;

        /**
         * BSF/BSR of a zero source, ending the case: SDM "BSF"/"BSR": ZF is set and the destination is
         * undefined (so it is not compared, nor is anything computed from it: nothing follows); CF, OF,
         * SF, AF and PF are undefined.
         */
        boolean bsfZero(int size) {
            int src = pickDest(size), d = pickDest(size);
            movImm(size, src, 0);
            decideRexFor(size, Math.max(src, d));
            if (size == 64) rex = true;
            begin();
            opsize(size);
            emitRex(size, d, 0, src);
            b(0x0f); b(rnd.nextBoolean() ? 0xbc : 0xbd); b(0xc0 | (d & 7) << 3 | (src & 7));
            end();
            flags(ARITH, CF | OF | SF | AF | PF);
            undefReg = gprOf(d, size);
            faulted = true;
            return true;
        }

        /** The BSF/BSR itself, after the BTS that makes its source nonzero. */
        boolean bsfAfter(int size, int s, int bit) {
            // The BTS above was emitted with a random memory displacement; redo it so that the BSF reads
            // the same location: rewind and emit BTS + BSF with one fixed displacement.
            insns.remove(insns.size() - 1); count--;
            pos = start;
            int disp = rnd.nextInt(0x78);
            boolean a16 = mode == REAL;
            int d = pickDest(size);
            for (int pass = 0; pass < 2; pass++) {
                begin();
                opsize(size);
                if (pass == 0) emitRex(size, 0, 0, s < 0 ? 0 : s); else emitRex(size, d, 0, s < 0 ? 0 : s);
                b(0x0f);
                if (pass == 0) b(0xba); else b(rnd.nextBoolean() ? 0xbc : 0xbd);
                int reg = pass == 0 ? 5 : d;
                if (s < 0) { b(0x40 | (reg & 7) << 3 | (a16 ? 7 : 3)); b(disp); }
                else b(0xc0 | (reg & 7) << 3 | (s & 7));
                if (pass == 0) b(bit);
                end();
            }
            // SDM "BSF—Bit Scan Forward": ZF defined; CF, OF, SF, AF, PF undefined.
            flags(ARITH, CF | OF | SF | AF | PF);
            return true;
        }

        boolean shift(int size) {
            int n = rnd.nextInt(7);
            if (n == 6) n = 7;  // /6 is an undocumented alias of SHL: not generated
            int form = rnd.nextInt(3);
            int raw = form == 0 ? 1 : rnd.nextInt(4) == 0 ? rnd.nextInt(256) : rnd.nextInt(size + 2);
            int c = raw & (size == 64 ? 63 : 31);
            int temp = n == 2 || n == 3 ? (size == 8 ? c % 9 : size == 16 ? c % 17 : c) : c;
            if ((n == 2 || n == 3) && temp != 0 && (undef & CF) != 0) return false; // RCL/RCR read CF
            int d = rnd.nextInt(3) == 0 ? -1 : pickDest(size);
            if (form == 2) { boolean r = rex; movImm(8, 1, raw); rex = r; } // the count in CL (CL may also be the destination)
            begin();
            int w = size == 8 ? 0 : 1;
            if (form == 0) modrm(size, new int[]{0xd0 + w}, n, d, 0, 0);
            else if (form == 1) modrm(size, new int[]{0xc0 + w}, n, d, 1, raw);
            else modrm(size, new int[]{0xd2 + w}, n, d, 0, 0);
            end();
            if (c == 0) return true; // SDM: a zero (masked) count affects no flags
            if (n <= 3) {
                // SDM "RCL/RCR/ROL/ROR—Rotate": OF defined only for a count of 1; CF the last bit rotated.
                int und = c == 1 ? 0 : OF;
                if ((n == 2 || n == 3) && temp == 0) und |= CF; // RCL/RCR by a multiple of 9/17: no rotation
                flags(CF | OF, und);
            } else {
                // SDM "SAL/SAR/SHL/SHR—Shift": AF undefined for a nonzero count, OF for a count above 1,
                // CF for SHL/SHR when the count is at least the operand size (SAR included, conservatively).
                flags(ARITH, AF | (c != 1 ? OF : 0) | (c >= size ? CF : 0));
            }
            return true;
        }

        boolean mul(int size) {
            int form = rnd.nextInt(4);
            begin();
            if (form <= 1 || size == 8) { // MUL / IMUL one operand: rDX:rAX
                modrm(size, new int[]{size == 8 ? 0xf6 : 0xf7}, form == 0 ? 4 : 5, rm(size), 0, 0);
            } else if (form == 2) {
                modrm(size, new int[]{0x0f, 0xaf}, pickDest(size), rm(size), 0, 0);
            } else {
                if (rnd.nextBoolean()) modrm(size, new int[]{0x6b}, pickDest(size), rm(size), 1, rnd.nextLong());
                else modrm(size, new int[]{0x69}, pickDest(size), rm(size), immBytes(size), rnd.nextLong());
            }
            end();
            // SDM "MUL"/"IMUL": CF and OF defined; SF, ZF, AF, PF undefined.
            flags(ARITH, SF | ZF | AF | PF);
            return true;
        }

        /** Set when the case ends in a divide error: nothing after it runs. */
        boolean faulted;

        boolean div(int size) {
            if (rnd.nextInt(8) == 0) return divFault(size);
            boolean signed = rnd.nextBoolean();
            long mask = size == 64 ? -1L : (1L << size) - 1;
            long d;
            do d = rnd.nextInt(4) == 0 ? rnd.nextInt(16) : rnd.nextLong() >> rnd.nextInt(64); while ((d & mask) == 0 || (signed && (d & mask) == mask));
            d &= mask;
            // divisor in rCX; for DIV the high half of the dividend below the divisor, for IDIV the
            // sign extension of the low half: the quotient then always fits (no #DE)
            movImm(size, 1, d);
            if (!signed) {
                long hi = Long.remainderUnsigned(rnd.nextLong(), d);
                if (size == 8) { begin(); b(0xb4); imm(hi, 1); end(); } // mov ah, hi
                else movImm(size, 2, hi);
            } else {
                begin(); opsize(size == 8 ? 16 : size); if (size == 64) b(0x48); b(size == 8 ? 0x98 : 0x99); end();
            }
            begin();
            rex = size == 64;
            modrm(size, new int[]{size == 8 ? 0xf6 : 0xf7}, signed ? 7 : 6, 1, 0, 0);
            end();
            // SDM "DIV"/"IDIV": CF, OF, SF, ZF, AF and PF are undefined.
            flags(ARITH, ARITH);
            return true;
        }

        /**
         * A division that raises #DE (SDM "DIV"/"IDIV": divisor 0, or a quotient too large for the
         * destination): the fault leaves registers and flags as they were, RIP at the DIV in the pushed
         * frame. The flags are made all defined first (CMP) because the frame holds them.
         */
        boolean divFault(int size) {
            boolean signed = rnd.nextBoolean();
            long mask = size == 64 ? -1L : (1L << size) - 1;
            int kind = rnd.nextInt(3);
            long d = kind == 0 ? 0 : kind == 1 ? 1 + rnd.nextInt(15) : (signed ? mask : 1);
            movImm(size, 1, d & mask);
            if (!signed || kind == 1) { // high half at least the divisor: quotient overflow (or d = 0)
                long hi = kind == 0 ? rnd.nextLong() : d + rnd.nextInt(100);
                if (size == 8) { begin(); b(0xb4); imm(hi, 1); end(); } else movImm(size, 2, hi);
            } else { // IDIV of the most negative value by -1
                if (size == 8) { begin(); if (mode != REAL) b(0x66); b(0xb8); imm(0xff80, 2); end(); }
                else { movImm(size, 0, size == 64 ? Long.MIN_VALUE : 1L << (size - 1)); begin(); opsize(size); if (size == 64) b(0x48); b(0x99); end(); }
            }
            defineFlags();
            begin();
            rex = size == 64;
            modrm(size, new int[]{size == 8 ? 0xf6 : 0xf7}, signed ? 7 : 6, 1, 0, 0);
            end();
            faulted = true;
            return true;
        }

        /** CMP rAX, imm8: every arithmetic flag defined (an exception frame about to be pushed holds them). */
        void defineFlags() {
            begin();
            if (mode == LONG) b(0x48);
            b(0x83); b(0xf8); b(rnd.nextInt(256));
            end();
            flags(ARITH, 0);
        }

        /**
         * CMPXCHG8B [rBX+disp8], and in long mode CMPXCHG16B (SDM "CMPXCHG8B/CMPXCHG16B": ZF defined, the
         * other flags unaffected). rDX:rAX is first made equal to the operand half the time (a load of
         * the operand), so both outcomes occur. A misaligned CMPXCHG16B is #GP(0) and ends the case.
         */
        boolean cmpxchgDouble() {
            boolean wide = mode == LONG && all && rnd.nextBoolean();
            int disp = wide ? 16 * rnd.nextInt(7) : rnd.nextInt(0x70);
            boolean misaligned = wide && rnd.nextInt(6) == 0;
            if (misaligned) { disp += 8; defineFlags(); }
            if (rnd.nextBoolean()) { // rDX:rAX = the operand: the exchange happens
                int w = wide ? 8 : 4;
                for (int r = 0; r < 2; r++) { // mov eAX, [eBX+disp]; mov eDX, [eBX+disp+w] (67 66 in real mode)
                    begin(); if (mode == REAL) { b(0x67); b(0x66); } if (wide) b(0x48); b(0x8b); b(r == 0 ? 0x43 : 0x53); b(disp + r * w); end();
                }
            }
            begin();
            if (mode == REAL) b(0x67); // [ebx+disp8] as in 32-bit code
            if (rnd.nextInt(3) == 0 && !misaligned) b(0xf0);
            if (wide) b(0x48);
            b(0x0f); b(0xc7); b(0x4b); b(disp); // /1 [eBX+disp8]
            end();
            flags(ZF, 0);
            if (misaligned) faulted = true;
            return true;
        }

        /** LFENCE, MFENCE, SFENCE, CLFLUSH [rBX+disp8], MOVNTI [rBX+disp8], r32/r64: no flags, no fault. */
        boolean fenceOrStore() {
            int f = rnd.nextInt(5);
            begin();
            if (f < 3) { b(0x0f); b(0xae); b(0xe8 + 8 * f); }
            else if (f == 3) { if (mode == REAL) b(0x67); b(0x0f); b(0xae); b(0x7b); b(rnd.nextInt(0x78)); }
            else {
                if (mode == REAL) b(0x67);
                if (mode == LONG && rnd.nextBoolean()) b(0x48);
                b(0x0f); b(0xc3); b(0x43 | rnd.nextInt(8) << 3); b(rnd.nextInt(0x70));
            }
            end();
            return true;
        }

        /**
         * LAR, LSL, VERR, VERW on a selector of the tester's GDT (or beyond it, or null), and ARPL outside
         * long mode (SDM "LAR", "LSL", "VERR/VERW", "ARPL"): ZF defined, other flags unaffected.
         */
        boolean descriptorInsn() {
            if (mode == REAL || !all) return false;
            int selector = new int[]{0, 8, 0x10, 0x18, 0x20, 0x28, 0x30, 0x38, 0x40, 0x1b, 0x13}[rnd.nextInt(11)];
            int d = pickDest(32);
            movImm32(0, selector);
            int kind = rnd.nextInt(mode == LONG ? 4 : 5);
            begin();
            if (kind < 2) { if (mode == LONG && d >= 8) b(0x44); b(0x0f); b(0x02 + kind); b(0xc0 | (d & 7) << 3); }
            else if (kind < 4) { b(0x0f); b(0x00); b(0xe0 + 8 * (kind - 2)); }
            else { b(0x63); b(0xc0 | (gprOf(d, 32) & 7) << 3); } // arpl ax, r16
            end();
            flags(ZF, 0);
            return true;
        }

        /**
         * A case-ending exception of the protection and device-availability rules, its frame compared:
         * a CS-override write (#GP(0)), an access through a read-only, expand-down or null ES (#GP(0)
         * or success), a real-mode offset beyond 64 KiB (#GP), a non-canonical address (#GP(0), #SS(0)
         * through RSP), an x87/MMX/SSE instruction or WAIT under CR0.TS=MP=1 (#NM, #UD without
         * CR4.OSFXSR), SYSENTER with IA32_SYSENTER_CS = 0 (#GP(0)), BOUND (#BR or not), LOCK where it is
         * not accepted (#UD).
         */
        boolean caseEndingFault() {
            defineFlags();
            int k = rnd.nextInt(6);
            begin();
            if (k == 0) { // data and stack segment checks
                if (mode == PROT32) {
                    int form = rnd.nextInt(6);
                    if (form == 4) { // a segment-register load: type, privilege, presence, table limit
                        pos = start;
                        int[] sels = {0, 8, 0x10, 0x13, 0x18, 0x20, 0x28, 0x30, 0x38, 0x3b, 0x40, 0x48, 0x1000};
                        movImm32(0, sels[rnd.nextInt(sels.length)]);
                        begin();
                        b(0x8e); b(0xc0 | new int[]{0, 2, 3, 4, 5}[rnd.nextInt(5)] << 3); // mov es/ss/ds/fs/gs, ax
                    } else if (form == 5) { // an expand-down stack: EBP-based reads at and below its limit are #SS(0)
                        pos = start;
                        movImm32(0, 0x28);
                        begin(); b(0x8e); b(0xd0); end(); // mov ss, ax
                        movImm32(5, SCR + rnd.nextInt(0x100));
                        begin();
                        b(0x8b); b(0x45); b(rnd.nextInt(0x80)); // mov eax, [ebp+disp8]
                    } else if (form == 0) { b(0x2e); b(rnd.nextBoolean() ? 0x89 : 0x01); b(0x43); b(rnd.nextInt(0x78)); } // cs: write
                    else {
                        pos = start;
                        int selector = form == 1 ? 0x20 : form == 2 ? 0x28 : 0;
                        movImm32(0, selector);
                        begin(); b(0x8e); b(0xc0); end(); // mov es, ax
                        begin();
                        b(0x26);
                        b(rnd.nextBoolean() ? 0x89 : 0x8b);
                        b(0x83 | rnd.nextInt(8) << 3);
                        imm(rnd.nextInt(0x200) - 0x100 + (form == 2 ? -0x80 : 0), 4); // [ebx+disp32] around the limit
                    }
                } else if (mode == REAL) {
                    b(0x67); b(0x66); b(rnd.nextBoolean() ? 0x89 : 0x8b); b(0x83); imm(0xfff0 - SCR + rnd.nextInt(0x20), 4); // [ebx+disp32] near 64 KiB
                } else {
                    pos = start;
                    movImm(64, 0, (1L << 47) + rnd.nextInt(0x100) - 0x80);
                    begin();
                    b(0x48); b(0x8b); b(rnd.nextBoolean() ? 0x0c : 0x1c); b(rnd.nextBoolean() ? 0x04 : 0x03); // mov r, [rsp+rax] / [rbx+rax]
                }
            } else if (k == 1 && mode != REAL && all) { // the device-not-available and SIMD rules
                int[][] ops = {{0xd9, 0xe8}, {0x9b}, {0x0f, 0x58, 0xc1}, {0x0f, 0xfc, 0xc1}, {0x66, 0x0f, 0xef, 0xc0}, {0xdd, 0x43, 0x10}};
                for (int o : ops[rnd.nextInt(ops.length)]) b(o);
            } else if (k == 2 && mode != REAL && (all || mode == PROT32)) {
                b(0x0f); b(0x34); // SYSENTER with IA32_SYSENTER_CS = 0
            } else if (k == 5) { // SDM Vol. 2 "LOCK": #UD with a register destination or a non-lockable instruction
                int mem = mode == REAL ? 0x47 : 0x43; // [bx+disp8] / [ebx+disp8]
                b(0xf0);
                if (mode == LONG && rnd.nextBoolean()) b(0x48 | rnd.nextInt(8)); // REX between LOCK and the opcode
                switch (rnd.nextInt(6)) {
                    case 0: b(rnd.nextInt(7) * 8 + 1); b(0xc0 | rnd.nextInt(64)); break; // lock add..xor r, r
                    case 1: b(0xff); b(0xc0 | rnd.nextInt(16)); break;                   // lock inc/dec r
                    case 2: b(new int[]{0x89, 0x8b, 0x39, 0x85}[rnd.nextInt(4)]); b(mem); b(rnd.nextInt(0x78)); break; // mov, cmp, test
                    case 3: b(0x0f); b(0xa3); b(mem); b(rnd.nextInt(0x78)); break;       // lock bt [mem], r
                    case 4: b(0x80); b(mem | 7 << 3); b(rnd.nextInt(0x78)); b(rnd.nextInt(256)); break; // lock cmp byte [mem], imm8
                    default: b(0x90); break;                                            // lock nop
                }
            } else if (mode != LONG && all) { // BOUND rAX, [rBX+disp8]
                if (mode == REAL) b(0x67);
                b(0x62); b(0x43); b(rnd.nextInt(0x70));
            } else if (mode == LONG) {
                b(0x2e); b(0x48); b(0x89); b(0x43); b(rnd.nextInt(0x78)); // cs: write in 64-bit mode: no segment check
            } else {
                // cs: mov [eBX+disp8] ([bx+disp8] in real mode), eAX: #GP(0) in protected mode; real mode checks no type
                b(0x2e); b(0x89); b(mode == REAL ? 0x47 : 0x43); b(rnd.nextInt(0x78));
            }
            end();
            faulted = true;
            return true;
        }

        boolean lea(int size) {
            if (size == 8) return false;
            int d = pickDest(size);
            begin();
            boolean alt = rnd.nextBoolean();
            boolean a16 = mode == REAL ? !alt : mode == PROT32 && alt;
            if (alt) b(0x67);
            opsize(size);
            int x = rex ? rnd.nextInt(16) : 0, bb = rex ? rnd.nextInt(16) : 0;
            emitRex(size, d, x, bb);
            b(0x8d);
            int mod = rnd.nextInt(3), rmv = rnd.nextInt(8);
            b(mod << 6 | (d & 7) << 3 | rmv);
            if (a16) {
                if (mod == 1) imm(rnd.nextInt(), 1);
                else if (mod == 2 || rmv == 6 && mod == 0) imm(rnd.nextInt(), 2);
            } else {
                int base = rmv;
                if (rmv == 4) { int sib = rnd.nextInt(256); b(sib); base = sib & 7; }
                if (mod == 1) imm(rnd.nextInt(), 1);
                else if (mod == 2 || (mod == 0 && base == 5)) imm(rnd.nextInt(), 4);
            }
            end();
            return true;
        }

        boolean pushPop() {
            int size = mode == REAL ? (rnd.nextInt(3) == 0 ? 32 : 16) : mode == PROT32 ? (rnd.nextInt(3) == 0 ? 16 : 32)
                    : (rnd.nextInt(3) == 0 ? 16 : 64);
            int bytes = size / 8;
            boolean push = rnd.nextBoolean();
            if (push && stackDepth + bytes > 0x180) push = false;
            if (!push && stackDepth < bytes) return false;
            boolean p16 = size == 16 && mode != REAL, p32 = size == 32 && mode == REAL;
            begin();
            rex = false;
            int form = rnd.nextInt(3);
            if (push) {
                if (form == 0) { int r = rnd.nextInt(nregs()); if (p16 || p32) b(0x66); if (r >= 8) b(0x41); b(0x50 + (r & 7)); }
                else if (form == 1) { if (p16 || p32) b(0x66); if (rnd.nextBoolean()) { b(0x6a); imm(rnd.nextInt(), 1); } else { b(0x68); imm(rnd.nextInt(), size == 16 ? 2 : 4); } }
                else { pos = start; modrmStack(0xff, 6, p16 || p32); }
                stackDepth += bytes;
            } else {
                if (form <= 1) { int r; do r = rnd.nextInt(nregs()); while (r == 3 || r == 4); if (p16 || p32) b(0x66); if (r >= 8) b(0x41); b(0x58 + (r & 7)); }
                else { pos = start; modrmStack(0x8f, 0, p16 || p32); }
                stackDepth -= bytes;
            }
            end();
            return true;
        }

        void modrmStack(int opc, int reg, boolean p66) {
            boolean alt = rnd.nextInt(3) == 0;
            boolean a16 = mode == REAL ? !alt : (mode == PROT32 && alt);
            if (alt) b(0x67);
            if (p66) b(0x66);
            b(opc);
            b(0x40 | reg << 3 | (a16 ? 7 : 3));
            b(rnd.nextInt(0x78));
        }

        boolean string(int size) {
            int op = rnd.nextInt(5); // MOVS STOS LODS CMPS SCAS
            int[] opc = {0xa4, 0xaa, 0xac, 0xa6, 0xae};
            int rep = rnd.nextInt(3); // none, F3, F2 (F2 only with CMPS/SCAS)
            if (rep == 2 && op < 3) rep = 1;
            boolean down = rnd.nextInt(4) == 0;
            movImm32(1, rnd.nextInt(9));
            movImm32(6, SCR + 0x100 + rnd.nextInt(0x40));
            movImm32(7, SCR + 0x280 + rnd.nextInt(0x40));
            if (down) { begin(); b(0xfd); end(); }
            begin();
            if (rnd.nextBoolean()) b(0x67); // the registers hold small values, so any address size works
            if (rep == 1) b(0xf3); else if (rep == 2) b(0xf2);
            opsize(size);
            if (size == 64) b(0x48);
            b(opc[op] + (size == 8 ? 0 : 1));
            end();
            if (down) { begin(); b(0xfc); end(); }
            if (op >= 3 && rep == 0) flags(ARITH, 0);
            if (op >= 3 && rep != 0) flags(0, 0); // count may be 0 (flags unchanged) or not (flags defined)
            return true;
        }
    }

    /** A random case of about {@code length} instructions. */
    static Case generate(int mode, Random rnd, int length) { return generate(mode, rnd, length, false); }

    static Case generate(int mode, Random rnd, int length, boolean all) {
        Gen g = new Gen(mode, rnd);
        g.all = all;
        g.undef = 0;
        while (g.count < length && g.pos < g.buf.length - 64 && !g.faulted) {
            int save = g.pos, n = g.insns.size(), cnt = g.count, u = g.undef, sd = g.stackDepth;
            if (!g.one()) { g.pos = save; while (g.insns.size() > n) g.insns.remove(g.insns.size() - 1); g.count = cnt; g.undef = u; g.stackDepth = sd; }
        }
        g.begin(); g.b(0xf4); g.end(); // HLT
        long[] regs = new long[16];
        for (int i = 0; i < 16; i++) {
            long v = rnd.nextInt(4) == 0 ? rnd.nextInt(256) - 128 : rnd.nextLong();
            regs[i] = mode == LONG ? (i < 16 ? v : 0) : v & 0xffffffffL;
            if (mode != LONG && i >= 8) regs[i] = 0;
        }
        regs[3] = SCR;
        regs[4] = STACK_TOP;
        long fl = 2 | (rnd.nextInt() & ARITH);
        byte[] scratch = new byte[SCR_LEN];
        rnd.nextBytes(scratch);
        byte[] code = java.util.Arrays.copyOf(g.buf, g.pos);
        Case c = new Case(mode, code, regs, fl, scratch, g.undef, g.count, g.insns);
        c.undefReg = g.undefReg;
        return c;
    }

    static void image(ByteBuffer ram, Case c) {
        for (int i = 0; i < 0x30000; i += 8) ram.putLong(i, 0);
        // GDT: null, 0x08 code (32-bit or 64-bit), 0x10 data, 0x18 TSS
        ram.putLong(GDT + 8, c.mode == LONG ? 0x00af9a000000ffffL : 0x00cf9a000000ffffL);
        ram.putLong(GDT + 16, 0x00cf92000000ffffL);
        ram.putLong(GDT + 24, 0x00008b000000ffffL | ((long) TSS << 16));
        // for the protection cases: 0x20 read-only data with limit SCR+0xff, 0x28 expand-down data with limit
        // SCR+0x7f (B=1), 0x30 execute-only code, 0x38 ring-3 data, 0x40 not present
        ram.putLong(GDT + 32, 0x0040900000000000L | (SCR + 0xff));
        ram.putLong(GDT + 40, 0x0040960000000000L | (SCR + 0x7f));
        ram.putLong(GDT + 48, 0x00cf98000000ffffL);
        ram.putLong(GDT + 56, 0x00cff2000000ffffL);
        ram.putLong(GDT + 64, 0x00cf12000000ffffL);
        for (int v = 0; v < 32; v++) {
            int h = HANDLERS + v;
            ram.put(h, (byte) 0xf4);
            if (c.mode == REAL) ram.putInt(v * 4, h);                                   // IVT: 0000:h
            else if (c.mode == PROT32) ram.putLong(IDT + v * 8, (h & 0xffffL) | 8L << 16 | 0x8e00L << 32 | (long) (h >>> 16) << 48);
            else { ram.putLong(IDT + v * 16, (h & 0xffffL) | 8L << 16 | 0x8e00L << 32 | (long) (h >>> 16) << 48); ram.putLong(IDT + v * 16 + 8, 0); }
        }
        for (int i = 0; i < c.code.length; i++) ram.put(CODE + i, c.code[i]);
        for (int i = 0; i < SCR_LEN; i++) ram.put(SCR + i, c.scratch[i]);
        ram.putLong(PML4, (PML4 + 0x1000) | 7);
        ram.putLong(PML4 + 0x1000, (PML4 + 0x2000) | 7);
        ram.putLong(PML4 + 0x2000, 0x87);
    }

    static final int GDT_LIMIT = 0x47;

    static int idtLimit(int mode) { return mode == REAL ? 0x3ff : mode == PROT32 ? 32 * 8 - 1 : 32 * 16 - 1; }

    /** CR0 of a case: in protected and long mode with TS and MP set, so x87/MMX/SSE opcodes and WAIT take #NM (or #UD). */
    static long cr0(int mode) { return mode == REAL ? 0x60000010L : mode == PROT32 ? 0x0000003bL : 0x8000003bL; }

    // ---------------------------------------------------------------------------------------------
    // Host /dev/kvm

    int vm, vcpu;
    long runVa;
    ByteBuffer run;
    final Memory hostRam, scratchMem, regsMem, sregsMem;
    final ByteBuffer hram;

    // Soft CPU
    final HostMemory mem = new HostMemory(64L << 20);
    final SoftCpu cpu;
    final HostMemory.Region ram;
    boolean launched;

    public DiffTester() {
        hostRam = new Memory(RAM + 4096);
        hram = hostRam.align(4096).getByteBuffer(0, RAM).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        scratchMem = new Memory(64);
        regsMem = new Memory(SIZEOF_KVM_REGS);
        sregsMem = new Memory(SIZEOF_KVM_SREGS);
        openHost();

        VmxCapabilities caps = VmxCapabilities.westmere();
        cpu = (SoftCpu) SoftCpu.create(0, mem, caps);
        HostMemory.Region vmxon = mem.allocPages(4096), vmcs = mem.allocPages(4096);
        HostMemory.Region io = mem.allocPages(8192), msr = mem.allocPages(4096);
        HostMemory.Region pml4 = mem.allocPages(4096), pdpt = mem.allocPages(4096), pd = mem.allocPages(4096), pt = mem.allocPages(4096);
        ram = mem.mmap(RAM);
        cpu.wrmsr(MSR_IA32_FEATURE_CONTROL, FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMXON_ENABLED);
        cpu.write_cr4(cpu.read_cr4() | 0x2000);
        mem.write32(vmxon.hpa, VmxCapabilities.VMCS_REVISION_ID);
        mem.write32(vmcs.hpa, VmxCapabilities.VMCS_REVISION_ID);
        check(cpu.vmxon(vmxon.hpa), "vmxon");
        check(cpu.vmclear(vmcs.hpa), "vmclear");
        check(cpu.vmptrld(vmcs.hpa), "vmptrld");
        for (int i = 0; i < 8192; i++) mem.write8(io.hpa + i, 0xff);
        for (int i = 0; i < 4096; i++) mem.write8(msr.hpa + i, 0xff);
        mem.write64(pml4.hpa, pdpt.hpa | 7);
        mem.write64(pdpt.hpa, pd.hpa | 7);
        mem.write64(pd.hpa, pt.hpa | 7);
        for (long gpa = 0; gpa < RAM; gpa += 4096) mem.write64(pt.hpa + (gpa >>> 12) * 8, (ram.hpa + gpa) | 7 | (6 << 3));
        w(PIN_BASED_VM_EXEC_CONTROL, adjust(caps, PIN_BASED_EXT_INTR_MASK | PIN_BASED_NMI_EXITING, 0, MSR_IA32_VMX_PINBASED_CTLS));
        w(CPU_BASED_VM_EXEC_CONTROL, adjust(caps, CPU_BASED_HLT_EXITING | CPU_BASED_USE_IO_BITMAPS | CPU_BASED_USE_MSR_BITMAPS
                | CPU_BASED_ACTIVATE_SECONDARY_CONTROLS, 0, MSR_IA32_VMX_PROCBASED_CTLS)
                & ~(CPU_BASED_CR3_LOAD_EXITING | CPU_BASED_CR3_STORE_EXITING | CPU_BASED_INVLPG_EXITING));
        w(SECONDARY_VM_EXEC_CONTROL, adjust(caps, SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_UNRESTRICTED_GUEST, 0, MSR_IA32_VMX_PROCBASED_CTLS2));
        w(VM_EXIT_CONTROLS, adjust(caps, VM_EXIT_HOST_ADDR_SPACE_SIZE, 0, MSR_IA32_VMX_EXIT_CTLS));
        w(IO_BITMAP_A, io.hpa);
        w(IO_BITMAP_B, io.hpa + 4096);
        w(MSR_BITMAP, msr.hpa);
        w(EPT_POINTER, pml4.hpa | 6 | (3 << 3));
        w(VMCS_LINK_POINTER, -1L);
        w(EXCEPTION_BITMAP, 0); // exceptions go through the guest IDT/IVT, as on the host
        w(CR0_GUEST_HOST_MASK, ~0L);
        w(CR4_GUEST_HOST_MASK, ~0x1dL & 0xffffffffL);
        w(HOST_CR0, 0x80050033L);
        w(HOST_CR4, cpu.read_cr4());
        w(HOST_CR3, 0x1000);
        w(HOST_CS_SELECTOR, 0x10);
        w(HOST_DS_SELECTOR, 0x18);
        w(HOST_ES_SELECTOR, 0x18);
        w(HOST_SS_SELECTOR, 0x18);
        w(HOST_TR_SELECTOR, 0x40);
        w(HOST_RIP, 0xffffffff81000000L);
        w(HOST_RSP, 0xffff880000010000L);
        w(HOST_IA32_SYSENTER_CS, 0x10);
        this.entryBase = adjust(caps, 0, 0, MSR_IA32_VMX_ENTRY_CTLS);
    }

    final int entryBase;

    /** A fresh host VM and vCPU (also after a case that ended other than in HLT: an exit may leave work pending). */
    void openHost() {
        vm = HostKvm.createVm();
        HostKvm.setUserMemoryRegion(vm, scratchMem, 0, 0, 0, RAM, Pointer.nativeValue(hostRam.align(4096)));
        vcpu = HostKvm.createVcpu(vm, 0);
        runVa = HostKvm.mapRun(vcpu);
        run = HostKvm.runBuffer(runVa);
    }

    void closeHost() {
        LibC.munmap(runVa, HostKvm.vcpuMmapSize());
        LibC.close(vcpu);
        LibC.close(vm);
    }

    /** Whether cases include the instructions the host's software backend cannot run ({@link Gen#all}). */
    boolean all;

    /** Self-check of the comparison: a bit flipped in one initial soft-CPU register (none by default). */
    int perturbReg;
    long perturbMask;

    static int adjust(VmxCapabilities caps, int min, int opt, int msr) {
        long v = caps.rdmsr(msr);
        int ctl = (min | opt) & (int) (v >>> 32);
        return ctl | (int) v;
    }

    void w(int field, long value) { check(cpu.vmwrite(field, value), "vmwrite " + Integer.toHexString(field)); }

    static void check(int status, String what) { if (status != VmxCpu.VM_SUCCEED) throw new IllegalStateException(what + " failed: " + status); }

    Result runHost(Case c) {
        image(hram, c);
        LibC.ioctl(vcpu, KVM_GET_SREGS, Pointer.nativeValue(sregsMem));
        Memory s = sregsMem;
        int[] segs = {SREGS_CS, SREGS_DS, SREGS_ES, SREGS_FS, SREGS_GS, SREGS_SS};
        for (int off : segs) {
            boolean cs = off == SREGS_CS;
            s.setLong(off + SEG_BASE, 0);
            s.setInt(off + SEG_LIMIT, c.mode == REAL ? 0xffff : 0xffffffff);
            s.setShort(off + SEG_SELECTOR, (short) (c.mode == REAL ? 0 : cs ? 8 : 0x10));
            s.setByte(off + SEG_TYPE, (byte) (cs ? 0xb : 3));
            s.setByte(off + SEG_PRESENT, (byte) 1);
            s.setByte(off + SEG_DPL, (byte) 0);
            s.setByte(off + SEG_DB, (byte) (c.mode == REAL || (cs && c.mode == LONG) ? 0 : 1));
            s.setByte(off + SEG_S, (byte) 1);
            s.setByte(off + SEG_L, (byte) (cs && c.mode == LONG ? 1 : 0));
            s.setByte(off + SEG_G, (byte) (c.mode == REAL ? 0 : 1));
            s.setByte(off + SEG_AVL, (byte) 0);
            s.setByte(off + SEG_UNUSABLE, (byte) 0);
        }
        s.setLong(SREGS_TR + SEG_BASE, TSS); s.setInt(SREGS_TR + SEG_LIMIT, 0x67);
        s.setShort(SREGS_TR + SEG_SELECTOR, (short) (c.mode == REAL ? 0 : 0x18));
        s.setByte(SREGS_TR + SEG_TYPE, (byte) 0xb); s.setByte(SREGS_TR + SEG_PRESENT, (byte) 1); s.setByte(SREGS_TR + SEG_S, (byte) 0);
        s.setByte(SREGS_TR + SEG_UNUSABLE, (byte) 0);
        s.setLong(SREGS_GDT + DT_BASE, GDT); s.setShort(SREGS_GDT + DT_LIMIT, (short) GDT_LIMIT);
        s.setLong(SREGS_IDT + DT_BASE, c.mode == REAL ? 0 : IDT); s.setShort(SREGS_IDT + DT_LIMIT, (short) idtLimit(c.mode));
        s.setLong(SREGS_CR0, cr0(c.mode));
        s.setLong(SREGS_CR3, c.mode == LONG ? PML4 : 0);
        s.setLong(SREGS_CR4, c.mode == LONG ? 0x20 : 0);
        s.setLong(SREGS_EFER, c.mode == LONG ? 0x500 : 0);
        LibC.ioctl(vcpu, KVM_SET_SREGS, Pointer.nativeValue(s));
        long[] order = kvmOrder();
        for (int i = 0; i < 16; i++) regsMem.setLong(order[i], c.regs[i]);
        regsMem.setLong(REGS_RIP, CODE);
        regsMem.setLong(REGS_RFLAGS, c.rflags);
        LibC.ioctl(vcpu, KVM_SET_REGS, Pointer.nativeValue(regsMem));
        run.putLong(RUN_VALID_REGS, 0);
        Result r = new Result();
        for (int n = 0; ; n++) {
            try {
                LibC.ioctl(vcpu, KVM_RUN, 0);
            } catch (com.sun.jna.LastErrorException e) {
                if (e.getErrorCode() == EINTR && n < 100) continue;
                throw e;
            }
            int reason = run.getInt(RUN_EXIT_REASON);
            if (reason == KVM_EXIT_HLT) { r.exit = "hlt"; break; }
            if (reason == KVM_EXIT_INTR && n < 100) continue;
            r.exit = "kvm exit " + reason + (reason == KVM_EXIT_INTERNAL_ERROR ? " suberror " + run.getInt(RUN_INTERNAL_SUBERROR) : "");
            break;
        }
        LibC.ioctl(vcpu, KVM_GET_REGS, Pointer.nativeValue(regsMem));
        for (int i = 0; i < 16; i++) r.regs[i] = regsMem.getLong(order[i]);
        r.rip = regsMem.getLong(REGS_RIP);
        r.rflags = regsMem.getLong(REGS_RFLAGS);
        for (int i = 0; i < SCR_LEN; i++) r.scratch[i] = hram.get(SCR + i);
        for (int i = 0; i < r.stack.length; i++) r.stack[i] = hram.get(STACK_CMP + i);
        if (!"hlt".equals(r.exit)) { closeHost(); openHost(); }
        return r;
    }

    /** struct kvm_regs offsets in VmxCpu register order (rax rcx rdx rbx rsp rbp rsi rdi r8..r15). */
    static long[] kvmOrder() {
        return new long[]{REGS_RAX, REGS_RCX, REGS_RDX, REGS_RBX, REGS_RSP, REGS_RBP, REGS_RSI, REGS_RDI,
                REGS_R8, REGS_R8 + 8, REGS_R8 + 16, REGS_R8 + 24, REGS_R8 + 32, REGS_R8 + 40, REGS_R8 + 48, REGS_R8 + 56};
    }

    Result runSoft(Case c) {
        image(ram.buf, c);
        int mode = c.mode;
        for (int k = 0; k < 6; k++) {
            boolean cs = k == 1;
            w(GUEST_ES_SELECTOR + 2 * k, mode == REAL ? 0 : cs ? 8 : 0x10);
            w(GUEST_ES_BASE + 2 * k, 0);
            w(GUEST_ES_LIMIT + 2 * k, mode == REAL ? 0xffff : 0xffffffffL);
            w(GUEST_ES_AR_BYTES + 2 * k, mode == REAL ? (cs ? 0x9b : 0x93) : cs ? (mode == LONG ? 0xa09b : 0xc09b) : 0xc093);
        }
        w(GUEST_TR_SELECTOR, mode == REAL ? 0 : 0x18);
        w(GUEST_TR_BASE, TSS);
        w(GUEST_TR_LIMIT, 0x67);
        w(GUEST_TR_AR_BYTES, 0x8b);
        w(GUEST_LDTR_SELECTOR, 0);
        w(GUEST_LDTR_BASE, 0);
        w(GUEST_LDTR_LIMIT, 0xffff);
        w(GUEST_LDTR_AR_BYTES, 0x10000);
        w(GUEST_GDTR_BASE, GDT);
        w(GUEST_GDTR_LIMIT, GDT_LIMIT);
        w(GUEST_IDTR_BASE, mode == REAL ? 0 : IDT);
        w(GUEST_IDTR_LIMIT, idtLimit(mode));
        w(GUEST_CR0, cr0(mode) | 0x20);
        w(CR0_READ_SHADOW, cr0(mode));
        w(GUEST_CR3, mode == LONG ? PML4 : 0);
        w(GUEST_CR4, 0x2000 | (mode == LONG ? 0x20 : 0));
        w(CR4_READ_SHADOW, mode == LONG ? 0x20 : 0);
        w(VM_ENTRY_CONTROLS, entryBase | (mode == LONG ? VM_ENTRY_IA32E_MODE : 0));
        w(GUEST_DR7, 0x400);
        w(GUEST_ACTIVITY_STATE, 0);
        w(GUEST_INTERRUPTIBILITY_INFO, 0);
        w(GUEST_PENDING_DBG_EXCEPTIONS, 0);
        w(VM_ENTRY_INTR_INFO_FIELD, 0);
        w(GUEST_RIP, CODE);
        w(GUEST_RSP, c.regs[4]);
        w(GUEST_RFLAGS, c.rflags);
        System.arraycopy(c.regs, 0, cpu.regs(), 0, 16);
        cpu.regs()[perturbReg] ^= perturbMask;
        cpu.stopAfter(100_000);
        int st = launched ? cpu.vmresume() : cpu.vmlaunch();
        launched = true;
        Result r = new Result();
        if (st != VmxCpu.VM_SUCCEED) {
            r.exit = "entry failed: " + cpu.lastEntryFailure();
        } else {
            int reason = (int) cpu.vmread(VM_EXIT_REASON);
            r.exit = reason == EXIT_REASON_HLT ? "hlt" : "vm exit " + reason + " info " + Long.toHexString(cpu.vmread(VM_EXIT_INTR_INFO))
                    + " " + cpu.lastExitNote();
        }
        System.arraycopy(cpu.regs(), 0, r.regs, 0, 16);
        // a HLT exit leaves RIP at the HLT (SDM 27.2); KVM_EXIT_HLT reports it after the HLT
        r.rip = cpu.vmread(GUEST_RIP) + ("hlt".equals(r.exit) ? cpu.vmread(VM_EXIT_INSTRUCTION_LEN) : 0);
        r.rflags = cpu.vmread(GUEST_RFLAGS);
        r.regs[4] = cpu.vmread(GUEST_RSP);
        for (int i = 0; i < SCR_LEN; i++) r.scratch[i] = ram.buf.get(SCR + i);
        for (int i = 0; i < r.stack.length; i++) r.stack[i] = ram.buf.get(STACK_CMP + i);
        return r;
    }

    /** Null when the two results agree on everything defined; else a report. */
    static String compare(Case c, Result h, Result s) {
        StringBuilder sb = new StringBuilder();
        if (!h.exit.equals(s.exit)) sb.append("exit: host ").append(h.exit).append(", soft ").append(s.exit).append('\n');
        long m = c.mode == LONG ? -1L : 0xffffffffL;
        String[] names = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"};
        for (int i = 0; i < (c.mode == LONG ? 16 : 8); i++)
            if (i != c.undefReg && ((h.regs[i] ^ s.regs[i]) & m) != 0)
                sb.append(String.format("%s: host %016x soft %016x%n", names[i], h.regs[i] & m, s.regs[i] & m));
        if (h.rip != s.rip) sb.append(String.format("rip: host %x soft %x%n", h.rip, s.rip));
        long fm = (ARITH & ~c.undefFlags) | DF;
        if (((h.rflags ^ s.rflags) & fm) != 0)
            sb.append(String.format("rflags (compared %03x): host %x soft %x%n", fm, h.rflags, s.rflags));
        for (int i = 0; i < SCR_LEN; i++) if (h.scratch[i] != s.scratch[i]) { sb.append(String.format("scratch+%x: host %02x soft %02x%n", i, h.scratch[i], s.scratch[i])); break; }
        for (int i = 0; i < h.stack.length; i++) if (h.stack[i] != s.stack[i]) { sb.append(String.format("stack %x: host %02x soft %02x%n", STACK_CMP + i, h.stack[i], s.stack[i])); break; }
        return sb.length() == 0 ? null : sb.toString();
    }

    static String describe(Case c) {
        StringBuilder sb = new StringBuilder();
        sb.append("mode ").append(MODE_NAMES[c.mode]).append(String.format(", rflags %x, undefined at end %03x%n", c.rflags, c.undefFlags));
        for (int i = 0; i < (c.mode == LONG ? 16 : 8); i++) sb.append(String.format("r%d=%x ", i, c.regs[i]));
        sb.append('\n');
        for (int[] in : c.insns) {
            sb.append(String.format("  %04x:", CODE + in[0]));
            for (int k = 0; k < in[1]; k++) sb.append(String.format(" %02x", c.code[in[0] + k] & 0xff));
            sb.append('\n');
        }
        return sb.toString();
    }

    /** Totals of a run. */
    public static final class Stats {
        public long cases, instructions, divergences;
        public final List<String> reports = new ArrayList<>();
    }

    public Stats run(int mode, long seed, int cases, int length) {
        Stats st = new Stats();
        Random rnd = new Random(seed * 31 + mode);
        for (int i = 0; i < cases; i++) {
            Case c = generate(mode, rnd, length, all);
            Result h = runHost(c);
            Result s = runSoft(c);
            st.cases++;
            st.instructions += c.instructions;
            String d = compare(c, h, s);
            if (d != null) {
                st.divergences++;
                if (st.reports.size() < 20) st.reports.add("case " + i + " (seed " + seed + "):\n" + d + describe(c));
            }
        }
        return st;
    }

    @Override public void close() {
        closeHost();
        hostRam.close();
        mem.close();
    }

    public static void main(String[] args) {
        String mode = "all";
        int cases = 1000, length = 40;
        long seed = 1, perturb = 0;
        boolean all = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--mode": mode = args[++i]; break;
                case "--cases": cases = Integer.parseInt(args[++i]); break;
                case "--seed": seed = Long.parseLong(args[++i]); break;
                case "--length": length = Integer.parseInt(args[++i]); break;
                case "--perturb": perturb = Long.parseLong(args[++i]); break;
                case "--all": all = true; break;
                default: System.err.println("usage: DiffTester --mode real|prot32|long|all --cases N --seed S [--length L] [--all]"); System.exit(2);
            }
        }
        if (!HostKvm.usable()) { System.out.println("host /dev/kvm not usable: " + HostKvm.whyNotUsable()); System.exit(1); }
        long total = 0;
        for (int m = 0; m < 3; m++) {
            if (!mode.equals("all") && !mode.equals(MODE_NAMES[m])) continue;
            long t0 = System.nanoTime();
            Stats st;
            try (DiffTester t = new DiffTester()) { t.perturbReg = 0; t.perturbMask = perturb; t.all = all; st = t.run(m, seed, cases, length); }
            for (String r : st.reports) System.out.println(r);
            System.out.printf("%-7s cases %d, instructions compared %d, divergences %d (%.1f s)%n", MODE_NAMES[m], st.cases,
                    st.instructions, st.divergences, (System.nanoTime() - t0) / 1e9);
            total += st.divergences;
        }
        System.exit(total == 0 ? 0 : 3);
    }
}
