package kvmkmod.emulator;

import kvmkmod.include.KvmVcpuArch;

/**
 * struct decode_cache (asm/kvm_emulate.h:117): everything x86_decode_insn learns about one instruction,
 * plus the shadow copy of the guest registers that x86_emulate_insn works on and commits at the end.
 * The C's u8 fields are ints here, holding values 0..255.
 */
public final class DecodeCache {
    public int twobyte;
    public int b;
    public int lock_prefix;
    public int rep_prefix;
    public int op_bytes;
    public int ad_bytes;
    public int rex_prefix;
    public final Operand src = new Operand();
    public final Operand src2 = new Operand();
    public final Operand dst = new Operand();
    public boolean has_seg_override;
    public int seg_override;
    /** The decode flags of this opcode (ByteOp, DstReg, ... in {@link Emulate}). */
    public int d;
    public final long[] regs = new long[KvmVcpuArch.NR_VCPU_REGS];
    public long eip, eip_orig;
    // ModR/M
    public int modrm;
    public int modrm_mod;
    public int modrm_reg;
    public int modrm_rm;
    public int use_modrm_ea;
    public boolean rip_relative;
    public long modrm_ea;
    /** Register pointer (see {@link Operand}) of the r/m register when mod == 3. */
    public long modrm_ptr;
    public long modrm_val;
    public final FetchCache fetch = new FetchCache();

    /**
     * Register-pointer slots after regs[]: in struct decode_cache eip follows regs[], so a pointer
     * just past the last register is &c->eip; &ctxt->eflags gets a slot of its own.
     */
    public static final long PTR_EIP = 8L * KvmVcpuArch.NR_VCPU_REGS;
    public static final long PTR_EFLAGS = 8L * (KvmVcpuArch.NR_VCPU_REGS + 2);

    /** struct fetch_cache (asm/kvm_emulate.h:111): up to 15 instruction bytes read ahead. */
    public static final class FetchCache {
        public final byte[] data = new byte[15];
        public long start;
        public long end;
    }

    /** The memset(c, 0, sizeof(struct decode_cache)) at the start of x86_decode_insn. */
    void clear() {
        twobyte = b = lock_prefix = rep_prefix = op_bytes = ad_bytes = rex_prefix = 0;
        src.clear();
        src2.clear();
        dst.clear();
        has_seg_override = false;
        seg_override = 0;
        d = 0;
        java.util.Arrays.fill(regs, 0);
        eip = eip_orig = 0;
        modrm = modrm_mod = modrm_reg = modrm_rm = use_modrm_ea = 0;
        rip_relative = false;
        modrm_ea = modrm_ptr = modrm_val = 0;
        java.util.Arrays.fill(fetch.data, (byte) 0);
        fetch.start = fetch.end = 0;
    }
}
