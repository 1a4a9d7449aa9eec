package kvmkmod.emulator;

/**
 * struct operand (asm/kvm_emulate.h:105): one operand of the instruction being emulated.
 *
 * <p>{@code ptr} plays the C's {@code unsigned long *ptr}. For an {@link #OP_MEM} operand it is the
 * linear address, as in the C (which casts the address to a pointer). For an {@link #OP_REG} operand it
 * points into the emulator's register file and is a byte offset, so that the C's pointer arithmetic
 * survives: {@code 8*n} is {@code &c->regs[n]}, {@code 8*n+1} is the high byte AH..BH, and
 * {@link DecodeCache#PTR_EIP} / {@link DecodeCache#PTR_EFLAGS} stand for {@code &c->eip} and
 * {@code &ctxt->eflags}. {@link Emulate} reads and writes through it byte by byte, like memory.
 */
public final class Operand {
    public static final int OP_REG = 0, OP_MEM = 1, OP_IMM = 2, OP_NONE = 3;

    /** OP_REG after the decode cache is cleared, as the zeroed C enum is. */
    public int type = OP_REG;
    public int bytes;
    public long val, orig_val;
    public long ptr;

    void clear() {
        type = OP_REG;
        bytes = 0;
        val = orig_val = ptr = 0;
    }

    @Override public String toString() {
        String t = switch (type) { case OP_REG -> "reg"; case OP_MEM -> "mem"; case OP_IMM -> "imm"; default -> "none"; };
        return String.format("%s/%d val=%x ptr=%x", t, bytes, val, ptr);
    }
}
