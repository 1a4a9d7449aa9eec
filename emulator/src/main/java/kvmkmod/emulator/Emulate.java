package kvmkmod.emulator;

import kvmkmod.include.KvmSegment;
import kvmkmod.include.KvmVcpu;

import static kvmkmod.hw.MsrIndex.*;
import kvmkmod.include.Origin;

import static kvmkmod.emulator.Operand.OP_IMM;
import static kvmkmod.emulator.Operand.OP_MEM;
import static kvmkmod.emulator.Operand.OP_NONE;
import static kvmkmod.emulator.Operand.OP_REG;
import static kvmkmod.emulator.X86EmulateCtxt.REPE_PREFIX;
import static kvmkmod.emulator.X86EmulateCtxt.REPNE_PREFIX;
import static kvmkmod.emulator.X86EmulateCtxt.X86EMUL_MODE_PROT16;
import static kvmkmod.emulator.X86EmulateCtxt.X86EMUL_MODE_PROT32;
import static kvmkmod.emulator.X86EmulateCtxt.X86EMUL_MODE_PROT64;
import static kvmkmod.emulator.X86EmulateCtxt.X86EMUL_MODE_REAL;
import static kvmkmod.emulator.X86EmulateCtxt.X86_SHADOW_INT_MOV_SS;
import static kvmkmod.emulator.X86EmulateCtxt.X86_SHADOW_INT_STI;
import static kvmkmod.emulator.X86EmulateOps.X86EMUL_CONTINUE;
import static kvmkmod.emulator.X86EmulateOps.X86EMUL_UNHANDLEABLE;
import static kvmkmod.include.KvmVcpuArch.VCPU_REGS_R11;
import static kvmkmod.include.KvmVcpuArch.VCPU_REGS_RAX;
import static kvmkmod.include.KvmVcpuArch.VCPU_REGS_RBP;
import static kvmkmod.include.KvmVcpuArch.VCPU_REGS_RBX;
import static kvmkmod.include.KvmVcpuArch.VCPU_REGS_RCX;
import static kvmkmod.include.KvmVcpuArch.VCPU_REGS_RDI;
import static kvmkmod.include.KvmVcpuArch.VCPU_REGS_RDX;
import static kvmkmod.include.KvmVcpuArch.VCPU_REGS_RSI;
import static kvmkmod.include.KvmVcpuArch.VCPU_REGS_RSP;

/**
 * arch/x86/kvm/emulate.c of 2.6.33.3: the x86 instruction decoder and emulator KVM uses for MMIO,
 * real-mode code VMX cannot run, and a few trapped instructions.
 *
 * <p>The decode tables and the functions keep their C names and order. What the C does with inline
 * assembly on the host processor (the emulate_2op / emulate_1op macros) is done by {@link Alu}.
 * Behaviour of 2.6.33 that differs from a real processor is kept on purpose and marked
 * "2.6.33 quirk" where it happens.
 *
 * <p>The kernel's globals this file uses (kvm_x86_ops and the x86.c functions) come in through
 * {@link EmulatorVcpuOps}, one object per loaded module.
 */
public final class Emulate {
    /** The outside world: kvm_x86_ops members and x86.c functions emulate.c calls. */
    final EmulatorVcpuOps vcpu_ops;

    public Emulate(EmulatorVcpuOps vcpu_ops) {
        this.vcpu_ops = vcpu_ops;
    }

    // ---- Decode flags (emulate.c:46-87) ----

    /** 8-bit operands. */
    public static final int ByteOp = 1 << 0;
    /** Destination operand type (bits 1-3). ImplicitOps: the instruction decodes its own operands. */
    public static final int ImplicitOps = 1 << 1, DstReg = 2 << 1, DstMem = 3 << 1, DstAcc = 4 << 1,
            DstMask = 7 << 1;
    /** Source operand type (bits 4-7). */
    public static final int SrcNone = 0 << 4, SrcImplicit = 0 << 4, SrcReg = 1 << 4, SrcMem = 2 << 4,
            SrcMem16 = 3 << 4, SrcMem32 = 4 << 4, SrcImm = 5 << 4, SrcImmByte = 6 << 4, SrcOne = 7 << 4,
            SrcImmUByte = 8 << 4, SrcImmU = 9 << 4, SrcMask = 0xf << 4;
    public static final int ModRM = 1 << 8;
    /** The destination is only written, so it need not be read first. */
    public static final int Mov = 1 << 9;
    public static final int BitOp = 1 << 10;
    /** Memory operand given as an absolute offset after the opcode (moffs). */
    public static final int MemAbs = 1 << 11;
    public static final int String = 1 << 12;
    public static final int Stack = 1 << 13;
    /** ModRM bits 5:3 select the entry in group_table; the group number sits in bits 0-7. */
    public static final int Group = 1 << 14;
    /** mod == 3 selects from group2_table instead. */
    public static final int GroupDual = 1 << 15;
    public static final int GroupMask = 0xff;
    /** #GP unless CPL is 0. */
    public static final int Priv = 1 << 27;
    public static final int No64 = 1 << 28;
    /** Second source operand (bits 29-31). */
    public static final int Src2None = 0 << 29, Src2CL = 1 << 29, Src2ImmByte = 2 << 29, Src2One = 3 << 29,
            Src2Imm16 = 4 << 29, Src2Mask = 7 << 29;

    /** Group numbers (emulate.c:89). */
    public static final int Group1_80 = 0, Group1_81 = 1, Group1_82 = 2, Group1_83 = 3, Group1A = 4,
            Group3_Byte = 5, Group3 = 6, Group4 = 7, Group5 = 8, Group7 = 9, Group8 = 10, Group9 = 11;

    // ---- The decode tables (emulate.c:95-348), generated from the reference inventory by
    // ---- emulator/tools/gen_tables.py. Zero means "cannot decode".
    // 2.6.33 quirk: 0x24 (and al,imm8) has no ByteOp, so it runs as and eAX,simm8 (see DstAcc below);
    // 0x2c/0x2d/0x34/0x35 are 0 although the switch ranges cover them; 0xf6/0xf7 have no mul/div.

    static final int[] opcode_table = {
        /* 0x00 */ ByteOp | DstMem | SrcReg | ModRM,
        /* 0x01 */ DstMem | SrcReg | ModRM,
        /* 0x02 */ ByteOp | DstReg | SrcMem | ModRM,
        /* 0x03 */ DstReg | SrcMem | ModRM,
        /* 0x04 */ ByteOp | DstAcc | SrcImm,
        /* 0x05 */ DstAcc | SrcImm,
        /* 0x06 */ ImplicitOps | Stack | No64,
        /* 0x07 */ ImplicitOps | Stack | No64,
        /* 0x08 */ ByteOp | DstMem | SrcReg | ModRM,
        /* 0x09 */ DstMem | SrcReg | ModRM,
        /* 0x0a */ ByteOp | DstReg | SrcMem | ModRM,
        /* 0x0b */ DstReg | SrcMem | ModRM,
        /* 0x0c */ ByteOp | DstAcc | SrcImm,
        /* 0x0d */ DstAcc | SrcImm,
        /* 0x0e */ ImplicitOps | Stack | No64,
        /* 0x0f */ 0,
        /* 0x10 */ ByteOp | DstMem | SrcReg | ModRM,
        /* 0x11 */ DstMem | SrcReg | ModRM,
        /* 0x12 */ ByteOp | DstReg | SrcMem | ModRM,
        /* 0x13 */ DstReg | SrcMem | ModRM,
        /* 0x14 */ ByteOp | DstAcc | SrcImm,
        /* 0x15 */ DstAcc | SrcImm,
        /* 0x16 */ ImplicitOps | Stack | No64,
        /* 0x17 */ ImplicitOps | Stack | No64,
        /* 0x18 */ ByteOp | DstMem | SrcReg | ModRM,
        /* 0x19 */ DstMem | SrcReg | ModRM,
        /* 0x1a */ ByteOp | DstReg | SrcMem | ModRM,
        /* 0x1b */ DstReg | SrcMem | ModRM,
        /* 0x1c */ ByteOp | DstAcc | SrcImm,
        /* 0x1d */ DstAcc | SrcImm,
        /* 0x1e */ ImplicitOps | Stack | No64,
        /* 0x1f */ ImplicitOps | Stack | No64,
        /* 0x20 */ ByteOp | DstMem | SrcReg | ModRM,
        /* 0x21 */ DstMem | SrcReg | ModRM,
        /* 0x22 */ ByteOp | DstReg | SrcMem | ModRM,
        /* 0x23 */ DstReg | SrcMem | ModRM,
        /* 0x24 */ DstAcc | SrcImmByte,
        /* 0x25 */ DstAcc | SrcImm,
        /* 0x26 */ 0,
        /* 0x27 */ 0,
        /* 0x28 */ ByteOp | DstMem | SrcReg | ModRM,
        /* 0x29 */ DstMem | SrcReg | ModRM,
        /* 0x2a */ ByteOp | DstReg | SrcMem | ModRM,
        /* 0x2b */ DstReg | SrcMem | ModRM,
        /* 0x2c */ 0,
        /* 0x2d */ 0,
        /* 0x2e */ 0,
        /* 0x2f */ 0,
        /* 0x30 */ ByteOp | DstMem | SrcReg | ModRM,
        /* 0x31 */ DstMem | SrcReg | ModRM,
        /* 0x32 */ ByteOp | DstReg | SrcMem | ModRM,
        /* 0x33 */ DstReg | SrcMem | ModRM,
        /* 0x34 */ 0,
        /* 0x35 */ 0,
        /* 0x36 */ 0,
        /* 0x37 */ 0,
        /* 0x38 */ ByteOp | DstMem | SrcReg | ModRM,
        /* 0x39 */ DstMem | SrcReg | ModRM,
        /* 0x3a */ ByteOp | DstReg | SrcMem | ModRM,
        /* 0x3b */ DstReg | SrcMem | ModRM,
        /* 0x3c */ ByteOp | DstAcc | SrcImm,
        /* 0x3d */ DstAcc | SrcImm,
        /* 0x3e */ 0,
        /* 0x3f */ 0,
        /* 0x40 */ DstReg,
        /* 0x41 */ DstReg,
        /* 0x42 */ DstReg,
        /* 0x43 */ DstReg,
        /* 0x44 */ DstReg,
        /* 0x45 */ DstReg,
        /* 0x46 */ DstReg,
        /* 0x47 */ DstReg,
        /* 0x48 */ DstReg,
        /* 0x49 */ DstReg,
        /* 0x4a */ DstReg,
        /* 0x4b */ DstReg,
        /* 0x4c */ DstReg,
        /* 0x4d */ DstReg,
        /* 0x4e */ DstReg,
        /* 0x4f */ DstReg,
        /* 0x50 */ SrcReg | Stack,
        /* 0x51 */ SrcReg | Stack,
        /* 0x52 */ SrcReg | Stack,
        /* 0x53 */ SrcReg | Stack,
        /* 0x54 */ SrcReg | Stack,
        /* 0x55 */ SrcReg | Stack,
        /* 0x56 */ SrcReg | Stack,
        /* 0x57 */ SrcReg | Stack,
        /* 0x58 */ DstReg | Stack,
        /* 0x59 */ DstReg | Stack,
        /* 0x5a */ DstReg | Stack,
        /* 0x5b */ DstReg | Stack,
        /* 0x5c */ DstReg | Stack,
        /* 0x5d */ DstReg | Stack,
        /* 0x5e */ DstReg | Stack,
        /* 0x5f */ DstReg | Stack,
        /* 0x60 */ ImplicitOps | Stack | No64,
        /* 0x61 */ ImplicitOps | Stack | No64,
        /* 0x62 */ 0,
        /* 0x63 */ DstReg | SrcMem32 | ModRM | Mov,
        /* 0x64 */ 0,
        /* 0x65 */ 0,
        /* 0x66 */ 0,
        /* 0x67 */ 0,
        /* 0x68 */ SrcImm | Mov | Stack,
        /* 0x69 */ 0,
        /* 0x6a */ SrcImmByte | Mov | Stack,
        /* 0x6b */ 0,
        /* 0x6c */ SrcNone | ByteOp | ImplicitOps,
        /* 0x6d */ SrcNone | ImplicitOps,
        /* 0x6e */ SrcNone | ByteOp | ImplicitOps,
        /* 0x6f */ SrcNone | ImplicitOps,
        /* 0x70 */ SrcImmByte,
        /* 0x71 */ SrcImmByte,
        /* 0x72 */ SrcImmByte,
        /* 0x73 */ SrcImmByte,
        /* 0x74 */ SrcImmByte,
        /* 0x75 */ SrcImmByte,
        /* 0x76 */ SrcImmByte,
        /* 0x77 */ SrcImmByte,
        /* 0x78 */ SrcImmByte,
        /* 0x79 */ SrcImmByte,
        /* 0x7a */ SrcImmByte,
        /* 0x7b */ SrcImmByte,
        /* 0x7c */ SrcImmByte,
        /* 0x7d */ SrcImmByte,
        /* 0x7e */ SrcImmByte,
        /* 0x7f */ SrcImmByte,
        /* 0x80 */ Group | Group1_80,
        /* 0x81 */ Group | Group1_81,
        /* 0x82 */ Group | Group1_82,
        /* 0x83 */ Group | Group1_83,
        /* 0x84 */ ByteOp | DstMem | SrcReg | ModRM,
        /* 0x85 */ DstMem | SrcReg | ModRM,
        /* 0x86 */ ByteOp | DstMem | SrcReg | ModRM,
        /* 0x87 */ DstMem | SrcReg | ModRM,
        /* 0x88 */ ByteOp | DstMem | SrcReg | ModRM | Mov,
        /* 0x89 */ DstMem | SrcReg | ModRM | Mov,
        /* 0x8a */ ByteOp | DstReg | SrcMem | ModRM | Mov,
        /* 0x8b */ DstReg | SrcMem | ModRM | Mov,
        /* 0x8c */ DstMem | SrcReg | ModRM | Mov,
        /* 0x8d */ ModRM | DstReg,
        /* 0x8e */ DstReg | SrcMem | ModRM | Mov,
        /* 0x8f */ Group | Group1A,
        /* 0x90 */ DstReg,
        /* 0x91 */ DstReg,
        /* 0x92 */ DstReg,
        /* 0x93 */ DstReg,
        /* 0x94 */ DstReg,
        /* 0x95 */ DstReg,
        /* 0x96 */ DstReg,
        /* 0x97 */ DstReg,
        /* 0x98 */ 0,
        /* 0x99 */ 0,
        /* 0x9a */ SrcImm | Src2Imm16 | No64,
        /* 0x9b */ 0,
        /* 0x9c */ ImplicitOps | Stack,
        /* 0x9d */ ImplicitOps | Stack,
        /* 0x9e */ 0,
        /* 0x9f */ 0,
        /* 0xa0 */ ByteOp | DstReg | SrcMem | Mov | MemAbs,
        /* 0xa1 */ DstReg | SrcMem | Mov | MemAbs,
        /* 0xa2 */ ByteOp | DstMem | SrcReg | Mov | MemAbs,
        /* 0xa3 */ DstMem | SrcReg | Mov | MemAbs,
        /* 0xa4 */ ByteOp | ImplicitOps | Mov | String,
        /* 0xa5 */ ImplicitOps | Mov | String,
        /* 0xa6 */ ByteOp | ImplicitOps | String,
        /* 0xa7 */ ImplicitOps | String,
        /* 0xa8 */ 0,
        /* 0xa9 */ 0,
        /* 0xaa */ ByteOp | ImplicitOps | Mov | String,
        /* 0xab */ ImplicitOps | Mov | String,
        /* 0xac */ ByteOp | ImplicitOps | Mov | String,
        /* 0xad */ ImplicitOps | Mov | String,
        /* 0xae */ ByteOp | ImplicitOps | String,
        /* 0xaf */ ImplicitOps | String,
        /* 0xb0 */ ByteOp | DstReg | SrcImm | Mov,
        /* 0xb1 */ ByteOp | DstReg | SrcImm | Mov,
        /* 0xb2 */ ByteOp | DstReg | SrcImm | Mov,
        /* 0xb3 */ ByteOp | DstReg | SrcImm | Mov,
        /* 0xb4 */ ByteOp | DstReg | SrcImm | Mov,
        /* 0xb5 */ ByteOp | DstReg | SrcImm | Mov,
        /* 0xb6 */ ByteOp | DstReg | SrcImm | Mov,
        /* 0xb7 */ ByteOp | DstReg | SrcImm | Mov,
        /* 0xb8 */ DstReg | SrcImm | Mov,
        /* 0xb9 */ DstReg | SrcImm | Mov,
        /* 0xba */ DstReg | SrcImm | Mov,
        /* 0xbb */ DstReg | SrcImm | Mov,
        /* 0xbc */ DstReg | SrcImm | Mov,
        /* 0xbd */ DstReg | SrcImm | Mov,
        /* 0xbe */ DstReg | SrcImm | Mov,
        /* 0xbf */ DstReg | SrcImm | Mov,
        /* 0xc0 */ ByteOp | DstMem | SrcImm | ModRM,
        /* 0xc1 */ DstMem | SrcImmByte | ModRM,
        /* 0xc2 */ 0,
        /* 0xc3 */ ImplicitOps | Stack,
        /* 0xc4 */ 0,
        /* 0xc5 */ 0,
        /* 0xc6 */ ByteOp | DstMem | SrcImm | ModRM | Mov,
        /* 0xc7 */ DstMem | SrcImm | ModRM | Mov,
        /* 0xc8 */ 0,
        /* 0xc9 */ 0,
        /* 0xca */ 0,
        /* 0xcb */ ImplicitOps | Stack,
        /* 0xcc */ ImplicitOps,
        /* 0xcd */ SrcImmByte,
        /* 0xce */ ImplicitOps | No64,
        /* 0xcf */ ImplicitOps,
        /* 0xd0 */ ByteOp | DstMem | SrcImplicit | ModRM,
        /* 0xd1 */ DstMem | SrcImplicit | ModRM,
        /* 0xd2 */ ByteOp | DstMem | SrcImplicit | ModRM,
        /* 0xd3 */ DstMem | SrcImplicit | ModRM,
        /* 0xd4 */ 0,
        /* 0xd5 */ 0,
        /* 0xd6 */ 0,
        /* 0xd7 */ 0,
        /* 0xd8 - 0xdf */ 0, 0, 0, 0, 0, 0, 0, 0,
        /* 0xe0 */ 0,
        /* 0xe1 */ 0,
        /* 0xe2 */ 0,
        /* 0xe3 */ 0,
        /* 0xe4 */ ByteOp | SrcImmUByte,
        /* 0xe5 */ SrcImmUByte,
        /* 0xe6 */ ByteOp | SrcImmUByte,
        /* 0xe7 */ SrcImmUByte,
        /* 0xe8 */ SrcImm | Stack,
        /* 0xe9 */ SrcImm | ImplicitOps,
        /* 0xea */ SrcImmU | Src2Imm16 | No64,
        /* 0xeb */ SrcImmByte | ImplicitOps,
        /* 0xec */ SrcNone | ByteOp | ImplicitOps,
        /* 0xed */ SrcNone | ImplicitOps,
        /* 0xee */ SrcNone | ByteOp | ImplicitOps,
        /* 0xef */ SrcNone | ImplicitOps,
        /* 0xf0 */ 0,
        /* 0xf1 */ 0,
        /* 0xf2 */ 0,
        /* 0xf3 */ 0,
        /* 0xf4 */ ImplicitOps | Priv,
        /* 0xf5 */ ImplicitOps,
        /* 0xf6 */ Group | Group3_Byte,
        /* 0xf7 */ Group | Group3,
        /* 0xf8 */ ImplicitOps,
        /* 0xf9 */ 0,
        /* 0xfa */ ImplicitOps,
        /* 0xfb */ ImplicitOps,
        /* 0xfc */ ImplicitOps,
        /* 0xfd */ ImplicitOps,
        /* 0xfe */ Group | Group4,
        /* 0xff */ Group | Group5,
    };
    static final int[] twobyte_table = {
        /* 0x0f 0x00 */ 0,
        /* 0x0f 0x01 */ Group | GroupDual | Group7,
        /* 0x0f 0x02 */ 0,
        /* 0x0f 0x03 */ 0,
        /* 0x0f 0x04 */ 0,
        /* 0x0f 0x05 */ ImplicitOps,
        /* 0x0f 0x06 */ ImplicitOps | Priv,
        /* 0x0f 0x07 */ 0,
        /* 0x0f 0x08 */ ImplicitOps | Priv,
        /* 0x0f 0x09 */ ImplicitOps | Priv,
        /* 0x0f 0x0a */ 0,
        /* 0x0f 0x0b */ 0,
        /* 0x0f 0x0c */ 0,
        /* 0x0f 0x0d */ ImplicitOps | ModRM,
        /* 0x0f 0x0e */ 0,
        /* 0x0f 0x0f */ 0,
        /* 0x0f 0x10 - 0x0f 0x17 */ 0, 0, 0, 0, 0, 0, 0, 0,
        /* 0x0f 0x18 */ ImplicitOps | ModRM,
        /* 0x0f 0x19 */ 0,
        /* 0x0f 0x1a */ 0,
        /* 0x0f 0x1b */ 0,
        /* 0x0f 0x1c */ 0,
        /* 0x0f 0x1d */ 0,
        /* 0x0f 0x1e */ 0,
        /* 0x0f 0x1f */ 0,
        /* 0x0f 0x20 */ ModRM | ImplicitOps | Priv,
        /* 0x0f 0x21 */ ModRM | Priv,
        /* 0x0f 0x22 */ ModRM | ImplicitOps | Priv,
        /* 0x0f 0x23 */ ModRM | Priv,
        /* 0x0f 0x24 */ 0,
        /* 0x0f 0x25 */ 0,
        /* 0x0f 0x26 */ 0,
        /* 0x0f 0x27 */ 0,
        /* 0x0f 0x28 - 0x0f 0x2f */ 0, 0, 0, 0, 0, 0, 0, 0,
        /* 0x0f 0x30 */ ImplicitOps | Priv,
        /* 0x0f 0x31 */ 0,
        /* 0x0f 0x32 */ ImplicitOps | Priv,
        /* 0x0f 0x33 */ 0,
        /* 0x0f 0x34 */ ImplicitOps,
        /* 0x0f 0x35 */ ImplicitOps | Priv,
        /* 0x0f 0x36 */ 0,
        /* 0x0f 0x37 */ 0,
        /* 0x0f 0x38 - 0x0f 0x3f */ 0, 0, 0, 0, 0, 0, 0, 0,
        /* 0x0f 0x40 */ DstReg | SrcMem | ModRM | Mov,
        /* 0x0f 0x41 */ DstReg | SrcMem | ModRM | Mov,
        /* 0x0f 0x42 */ DstReg | SrcMem | ModRM | Mov,
        /* 0x0f 0x43 */ DstReg | SrcMem | ModRM | Mov,
        /* 0x0f 0x44 */ DstReg | SrcMem | ModRM | Mov,
        /* 0x0f 0x45 */ DstReg | SrcMem | ModRM | Mov,
        /* 0x0f 0x46 */ DstReg | SrcMem | ModRM | Mov,
        /* 0x0f 0x47 */ DstReg | SrcMem | ModRM | Mov,
        /* 0x0f 0x48 */ DstReg | SrcMem | ModRM | Mov,
        /* 0x0f 0x49 */ DstReg | SrcMem | ModRM | Mov,
        /* 0x0f 0x4a */ DstReg | SrcMem | ModRM | Mov,
        /* 0x0f 0x4b */ DstReg | SrcMem | ModRM | Mov,
        /* 0x0f 0x4c */ DstReg | SrcMem | ModRM | Mov,
        /* 0x0f 0x4d */ DstReg | SrcMem | ModRM | Mov,
        /* 0x0f 0x4e */ DstReg | SrcMem | ModRM | Mov,
        /* 0x0f 0x4f */ DstReg | SrcMem | ModRM | Mov,
        /* 0x0f 0x50 - 0x0f 0x57 */ 0, 0, 0, 0, 0, 0, 0, 0,
        /* 0x0f 0x58 - 0x0f 0x5f */ 0, 0, 0, 0, 0, 0, 0, 0,
        /* 0x0f 0x60 - 0x0f 0x67 */ 0, 0, 0, 0, 0, 0, 0, 0,
        /* 0x0f 0x68 - 0x0f 0x6f */ 0, 0, 0, 0, 0, 0, 0, 0,
        /* 0x0f 0x70 - 0x0f 0x77 */ 0, 0, 0, 0, 0, 0, 0, 0,
        /* 0x0f 0x78 - 0x0f 0x7f */ 0, 0, 0, 0, 0, 0, 0, 0,
        /* 0x0f 0x80 */ SrcImm,
        /* 0x0f 0x81 */ SrcImm,
        /* 0x0f 0x82 */ SrcImm,
        /* 0x0f 0x83 */ SrcImm,
        /* 0x0f 0x84 */ SrcImm,
        /* 0x0f 0x85 */ SrcImm,
        /* 0x0f 0x86 */ SrcImm,
        /* 0x0f 0x87 */ SrcImm,
        /* 0x0f 0x88 */ SrcImm,
        /* 0x0f 0x89 */ SrcImm,
        /* 0x0f 0x8a */ SrcImm,
        /* 0x0f 0x8b */ SrcImm,
        /* 0x0f 0x8c */ SrcImm,
        /* 0x0f 0x8d */ SrcImm,
        /* 0x0f 0x8e */ SrcImm,
        /* 0x0f 0x8f */ SrcImm,
        /* 0x0f 0x90 - 0x0f 0x97 */ 0, 0, 0, 0, 0, 0, 0, 0,
        /* 0x0f 0x98 - 0x0f 0x9f */ 0, 0, 0, 0, 0, 0, 0, 0,
        /* 0x0f 0xa0 */ ImplicitOps | Stack,
        /* 0x0f 0xa1 */ ImplicitOps | Stack,
        /* 0x0f 0xa2 */ 0,
        /* 0x0f 0xa3 */ DstMem | SrcReg | ModRM | BitOp,
        /* 0x0f 0xa4 */ DstMem | SrcReg | Src2ImmByte | ModRM,
        /* 0x0f 0xa5 */ DstMem | SrcReg | Src2CL | ModRM,
        /* 0x0f 0xa6 */ 0,
        /* 0x0f 0xa7 */ 0,
        /* 0x0f 0xa8 */ ImplicitOps | Stack,
        /* 0x0f 0xa9 */ ImplicitOps | Stack,
        /* 0x0f 0xaa */ 0,
        /* 0x0f 0xab */ DstMem | SrcReg | ModRM | BitOp,
        /* 0x0f 0xac */ DstMem | SrcReg | Src2ImmByte | ModRM,
        /* 0x0f 0xad */ DstMem | SrcReg | Src2CL | ModRM,
        /* 0x0f 0xae */ ModRM,
        /* 0x0f 0xaf */ 0,
        /* 0x0f 0xb0 */ ByteOp | DstMem | SrcReg | ModRM,
        /* 0x0f 0xb1 */ DstMem | SrcReg | ModRM,
        /* 0x0f 0xb2 */ 0,
        /* 0x0f 0xb3 */ DstMem | SrcReg | ModRM | BitOp,
        /* 0x0f 0xb4 */ 0,
        /* 0x0f 0xb5 */ 0,
        /* 0x0f 0xb6 */ ByteOp | DstReg | SrcMem | ModRM | Mov,
        /* 0x0f 0xb7 */ DstReg | SrcMem16 | ModRM | Mov,
        /* 0x0f 0xb8 */ 0,
        /* 0x0f 0xb9 */ 0,
        /* 0x0f 0xba */ Group | Group8,
        /* 0x0f 0xbb */ DstMem | SrcReg | ModRM | BitOp,
        /* 0x0f 0xbc */ 0,
        /* 0x0f 0xbd */ 0,
        /* 0x0f 0xbe */ ByteOp | DstReg | SrcMem | ModRM | Mov,
        /* 0x0f 0xbf */ DstReg | SrcMem16 | ModRM | Mov,
        /* 0x0f 0xc0 */ 0,
        /* 0x0f 0xc1 */ 0,
        /* 0x0f 0xc2 */ 0,
        /* 0x0f 0xc3 */ DstMem | SrcReg | ModRM | Mov,
        /* 0x0f 0xc4 */ 0,
        /* 0x0f 0xc5 */ 0,
        /* 0x0f 0xc6 */ 0,
        /* 0x0f 0xc7 */ Group | GroupDual | Group9,
        /* 0x0f 0xc8 - 0x0f 0xcf */ 0, 0, 0, 0, 0, 0, 0, 0,
        /* 0x0f 0xd0 - 0x0f 0xd7 */ 0, 0, 0, 0, 0, 0, 0, 0,
        /* 0x0f 0xd8 - 0x0f 0xdf */ 0, 0, 0, 0, 0, 0, 0, 0,
        /* 0x0f 0xe0 - 0x0f 0xe7 */ 0, 0, 0, 0, 0, 0, 0, 0,
        /* 0x0f 0xe8 - 0x0f 0xef */ 0, 0, 0, 0, 0, 0, 0, 0,
        /* 0x0f 0xf0 - 0x0f 0xf7 */ 0, 0, 0, 0, 0, 0, 0, 0,
        /* 0x0f 0xf8 - 0x0f 0xff */ 0, 0, 0, 0, 0, 0, 0, 0,
    };
    static final int[] group_table = {
        /* Group1_80 /0 */ ByteOp | DstMem | SrcImm | ModRM,
        /* Group1_80 /1 */ ByteOp | DstMem | SrcImm | ModRM,
        /* Group1_80 /2 */ ByteOp | DstMem | SrcImm | ModRM,
        /* Group1_80 /3 */ ByteOp | DstMem | SrcImm | ModRM,
        /* Group1_80 /4 */ ByteOp | DstMem | SrcImm | ModRM,
        /* Group1_80 /5 */ ByteOp | DstMem | SrcImm | ModRM,
        /* Group1_80 /6 */ ByteOp | DstMem | SrcImm | ModRM,
        /* Group1_80 /7 */ ByteOp | DstMem | SrcImm | ModRM,
        /* Group1_81 /0 */ DstMem | SrcImm | ModRM,
        /* Group1_81 /1 */ DstMem | SrcImm | ModRM,
        /* Group1_81 /2 */ DstMem | SrcImm | ModRM,
        /* Group1_81 /3 */ DstMem | SrcImm | ModRM,
        /* Group1_81 /4 */ DstMem | SrcImm | ModRM,
        /* Group1_81 /5 */ DstMem | SrcImm | ModRM,
        /* Group1_81 /6 */ DstMem | SrcImm | ModRM,
        /* Group1_81 /7 */ DstMem | SrcImm | ModRM,
        /* Group1_82 /0 */ ByteOp | DstMem | SrcImm | ModRM,
        /* Group1_82 /1 */ ByteOp | DstMem | SrcImm | ModRM,
        /* Group1_82 /2 */ ByteOp | DstMem | SrcImm | ModRM,
        /* Group1_82 /3 */ ByteOp | DstMem | SrcImm | ModRM,
        /* Group1_82 /4 */ ByteOp | DstMem | SrcImm | ModRM,
        /* Group1_82 /5 */ ByteOp | DstMem | SrcImm | ModRM,
        /* Group1_82 /6 */ ByteOp | DstMem | SrcImm | ModRM,
        /* Group1_82 /7 */ ByteOp | DstMem | SrcImm | ModRM,
        /* Group1_83 /0 */ DstMem | SrcImmByte | ModRM,
        /* Group1_83 /1 */ DstMem | SrcImmByte | ModRM,
        /* Group1_83 /2 */ DstMem | SrcImmByte | ModRM,
        /* Group1_83 /3 */ DstMem | SrcImmByte | ModRM,
        /* Group1_83 /4 */ DstMem | SrcImmByte | ModRM,
        /* Group1_83 /5 */ DstMem | SrcImmByte | ModRM,
        /* Group1_83 /6 */ DstMem | SrcImmByte | ModRM,
        /* Group1_83 /7 */ DstMem | SrcImmByte | ModRM,
        /* Group1A /0 */ DstMem | SrcNone | ModRM | Mov | Stack,
        /* Group1A /1 */ 0,
        /* Group1A /2 */ 0,
        /* Group1A /3 */ 0,
        /* Group1A /4 */ 0,
        /* Group1A /5 */ 0,
        /* Group1A /6 */ 0,
        /* Group1A /7 */ 0,
        /* Group3_Byte /0 */ ByteOp | SrcImm | DstMem | ModRM,
        /* Group3_Byte /1 */ 0,
        /* Group3_Byte /2 */ ByteOp | DstMem | SrcNone | ModRM,
        /* Group3_Byte /3 */ ByteOp | DstMem | SrcNone | ModRM,
        /* Group3_Byte /4 */ 0,
        /* Group3_Byte /5 */ 0,
        /* Group3_Byte /6 */ 0,
        /* Group3_Byte /7 */ 0,
        /* Group3 /0 */ DstMem | SrcImm | ModRM,
        /* Group3 /1 */ 0,
        /* Group3 /2 */ DstMem | SrcNone | ModRM,
        /* Group3 /3 */ DstMem | SrcNone | ModRM,
        /* Group3 /4 */ 0,
        /* Group3 /5 */ 0,
        /* Group3 /6 */ 0,
        /* Group3 /7 */ 0,
        /* Group4 /0 */ ByteOp | DstMem | SrcNone | ModRM,
        /* Group4 /1 */ ByteOp | DstMem | SrcNone | ModRM,
        /* Group4 /2 */ 0,
        /* Group4 /3 */ 0,
        /* Group4 /4 */ 0,
        /* Group4 /5 */ 0,
        /* Group4 /6 */ 0,
        /* Group4 /7 */ 0,
        /* Group5 /0 */ DstMem | SrcNone | ModRM,
        /* Group5 /1 */ DstMem | SrcNone | ModRM,
        /* Group5 /2 */ SrcMem | ModRM | Stack,
        /* Group5 /3 */ 0,
        /* Group5 /4 */ SrcMem | ModRM | Stack,
        /* Group5 /5 */ 0,
        /* Group5 /6 */ SrcMem | ModRM | Stack,
        /* Group5 /7 */ 0,
        /* Group7 /0 */ 0,
        /* Group7 /1 */ 0,
        /* Group7 /2 */ ModRM | SrcMem | Priv,
        /* Group7 /3 */ ModRM | SrcMem | Priv,
        /* Group7 /4 */ SrcNone | ModRM | DstMem | Mov,
        /* Group7 /5 */ 0,
        /* Group7 /6 */ SrcMem16 | ModRM | Mov | Priv,
        /* Group7 /7 */ SrcMem | ModRM | ByteOp | Priv,
        /* Group8 /0 */ 0,
        /* Group8 /1 */ 0,
        /* Group8 /2 */ 0,
        /* Group8 /3 */ 0,
        /* Group8 /4 */ DstMem | SrcImmByte | ModRM,
        /* Group8 /5 */ DstMem | SrcImmByte | ModRM,
        /* Group8 /6 */ DstMem | SrcImmByte | ModRM,
        /* Group8 /7 */ DstMem | SrcImmByte | ModRM,
        /* Group9 /0 */ 0,
        /* Group9 /1 */ ImplicitOps | ModRM,
        /* Group9 /2 */ 0,
        /* Group9 /3 */ 0,
        /* Group9 /4 */ 0,
        /* Group9 /5 */ 0,
        /* Group9 /6 */ 0,
        /* Group9 /7 */ 0,
    };
    static final int[] group2_table = {
        /* Group1_80 /0 mod=3 - Group1_80 /7 mod=3 */ 0, 0, 0, 0, 0, 0, 0, 0,
        /* Group1_81 /0 mod=3 - Group1_81 /7 mod=3 */ 0, 0, 0, 0, 0, 0, 0, 0,
        /* Group1_82 /0 mod=3 - Group1_82 /7 mod=3 */ 0, 0, 0, 0, 0, 0, 0, 0,
        /* Group1_83 /0 mod=3 - Group1_83 /7 mod=3 */ 0, 0, 0, 0, 0, 0, 0, 0,
        /* Group1A /0 mod=3 - Group1A /7 mod=3 */ 0, 0, 0, 0, 0, 0, 0, 0,
        /* Group3_Byte /0 mod=3 - Group3_Byte /7 mod=3 */ 0, 0, 0, 0, 0, 0, 0, 0,
        /* Group3 /0 mod=3 - Group3 /7 mod=3 */ 0, 0, 0, 0, 0, 0, 0, 0,
        /* Group4 /0 mod=3 - Group4 /7 mod=3 */ 0, 0, 0, 0, 0, 0, 0, 0,
        /* Group5 /0 mod=3 - Group5 /7 mod=3 */ 0, 0, 0, 0, 0, 0, 0, 0,
        /* Group7 /0 mod=3 */ SrcNone | ModRM | Priv,
        /* Group7 /1 mod=3 */ 0,
        /* Group7 /2 mod=3 */ 0,
        /* Group7 /3 mod=3 */ SrcNone | ModRM,
        /* Group7 /4 mod=3 */ SrcNone | ModRM | DstMem | Mov,
        /* Group7 /5 mod=3 */ 0,
        /* Group7 /6 mod=3 */ SrcMem16 | ModRM | Mov,
        /* Group7 /7 mod=3 */ 0,
        /* Group8 /0 mod=3 - Group8 /7 mod=3 */ 0, 0, 0, 0, 0, 0, 0, 0,
        /* Group9 /0 mod=3 - Group9 /7 mod=3 */ 0, 0, 0, 0, 0, 0, 0, 0,
    };

    // ---- EFLAGS bits (emulate.c:351-360) ----
    static final long EFLG_VM = 1 << 17, EFLG_RF = 1 << 16, EFLG_OF = 1 << 11, EFLG_DF = 1 << 10,
            EFLG_IF = 1 << 9, EFLG_SF = 1 << 7, EFLG_ZF = 1 << 6, EFLG_AF = 1 << 4, EFLG_PF = 1 << 2,
            EFLG_CF = 1 << 0;
    static final long X86_EFLAGS_IF = EFLG_IF;
    static final long EFLAGS_MASK = Alu.EFLAGS_MASK;

    // ---- Constants from other headers ----
    static final int VCPU_SREG_ES = 0, VCPU_SREG_CS = 1, VCPU_SREG_SS = 2, VCPU_SREG_DS = 3, VCPU_SREG_FS = 4,
            VCPU_SREG_GS = 5;
    static final int UD_VECTOR = 6;
    static final long X86_CR0_PE = 1;
    static final long EFER_LMA = 1 << 10;
    static final int SELECTOR_RPL_MASK = 3;
    static final long PAGE_SIZE = 4096;
    /** sizeof(unsigned long) on the x86_64 host 2.6.33 was built for. */
    static final int SIZEOF_LONG = 8;

    // ---- Register pointers (see Operand): the C's *(uN *)ptr on c->regs[], c->eip, ctxt->eflags ----

    /** Slot n of the register file behind register pointers: regs[], then eip, eip_orig, eflags. */
    private static long slot_get(DecodeCache c, X86EmulateCtxt ctxt, int slot) {
        if (slot < c.regs.length) return c.regs[slot];
        if (slot == c.regs.length) return c.eip;
        if (slot == c.regs.length + 1) return c.eip_orig;
        if (slot == c.regs.length + 2 && ctxt != null) return ctxt.eflags;
        throw new IllegalStateException("register pointer out of range: slot " + slot);
    }

    private static void slot_set(X86EmulateCtxt ctxt, int slot, long v) {
        DecodeCache c = ctxt.decode;
        if (slot < c.regs.length) c.regs[slot] = v;
        else if (slot == c.regs.length) c.eip = v;
        else if (slot == c.regs.length + 1) c.eip_orig = v;
        else if (slot == c.regs.length + 2) ctxt.eflags = v;
        else throw new IllegalStateException("register pointer out of range: slot " + slot);
    }

    /** Reads {@code bytes} bytes at a register pointer, little-endian: the C's casted dereference. */
    static long reg_load(DecodeCache c, long ptr, int bytes) {
        long v = 0;
        for (int i = 0; i < bytes; i++) {
            long p = ptr + i;
            long b = (slot_get(c, null, (int) (p >>> 3)) >>> ((p & 7) * 8)) & 0xff;
            v |= b << (8 * i);
        }
        return v;
    }

    /** Writes the low {@code bytes} bytes of {@code val} at a register pointer. */
    static void reg_store(X86EmulateCtxt ctxt, long ptr, int bytes, long val) {
        for (int i = 0; i < bytes; i++) {
            long p = ptr + i;
            int slot = (int) (p >>> 3);
            int sh = (int) ((p & 7) * 8);
            long b = (val >>> (8 * i)) & 0xff;
            slot_set(ctxt, slot, (slot_get(ctxt.decode, ctxt, slot) & ~(0xffL << sh)) | (b << sh));
        }
    }

    private static long reg_ptr(int reg) {
        return 8L * reg;
    }

    /** Little-endian bytes of a value, the buffer the C passes as &value. */
    static byte[] le_bytes(long v, int bytes) {
        byte[] b = new byte[Math.max(bytes, 8)];
        for (int i = 0; i < 8; i++) b[i] = (byte) (v >>> (8 * i));
        return b;
    }

    /**
     * The C reading {@code bytes} bytes into an unsigned long: only the low bytes change, the rest
     * keep what the variable held.
     */
    static long le_merge(long old, byte[] buf, int bytes) {
        long v = old;
        for (int i = 0; i < bytes && i < 8; i++) {
            v &= ~(0xffL << (8 * i));
            v |= (buf[i] & 0xffL) << (8 * i);
        }
        return v;
    }

    private static int read_into(X86EmulateOps ops, long addr, long[] var, int bytes, KvmVcpu vcpu, boolean std) {
        byte[] buf = new byte[Math.max(bytes, 8)];
        int rc = std ? ops.read_std(addr, buf, bytes, vcpu) : ops.read_emulated(addr, buf, bytes, vcpu);
        var[0] = le_merge(var[0], buf, bytes);
        return rc;
    }

    // ---- The emulate_2op / emulate_1op macros (emulate.c:414-534) ----

    /** ____emulate_2op (emulate.c:414): run {@code op} at one width; the destination changes in place. */
    private static void ____emulate_2op(String op, Operand src, Operand dst, X86EmulateCtxt ctxt, int bytes) {
        Alu.Out out = Alu.op2(op, bytes, dst.val, src.val, ctxt.eflags);
        long m = Alu.mask(bytes);
        dst.val = (dst.val & ~m) | (out.val() & m);
        ctxt.eflags = (ctxt.eflags & ~EFLAGS_MASK) | (out.flags() & EFLAGS_MASK);
    }

    /** __emulate_2op_nobyte (emulate.c:427): 2, 4 or 8 bytes; any other width does nothing. */
    private static void __emulate_2op_nobyte(String op, Operand src, Operand dst, X86EmulateCtxt ctxt) {
        switch (dst.bytes) {
            case 2, 4, 8 -> ____emulate_2op(op, src, dst, ctxt, dst.bytes);
            default -> { }
        }
    }

    /** __emulate_2op (emulate.c:444). */
    private static void __emulate_2op(String op, Operand src, Operand dst, X86EmulateCtxt ctxt) {
        if (dst.bytes == 1) ____emulate_2op(op, src, dst, ctxt, 1);
        else __emulate_2op_nobyte(op, src, dst, ctxt);
    }

    /** emulate_2op_SrcB (emulate.c:459): the source is the count in CL (shifts and rotates). */
    static void emulate_2op_SrcB(String op, Operand src, Operand dst, X86EmulateCtxt ctxt) {
        __emulate_2op(op, src, dst, ctxt);
    }

    /** emulate_2op_SrcV (emulate.c:464). */
    static void emulate_2op_SrcV(String op, Operand src, Operand dst, X86EmulateCtxt ctxt) {
        __emulate_2op(op, src, dst, ctxt);
    }

    /** emulate_2op_SrcV_nobyte (emulate.c:469): bt, bts, btr, btc. */
    static void emulate_2op_SrcV_nobyte(String op, Operand src, Operand dst, X86EmulateCtxt ctxt) {
        __emulate_2op_nobyte(op, src, dst, ctxt);
    }

    /**
     * emulate_2op_cl (emulate.c:494): shld/shrd with the count in CL. The C copies all three operands
     * into variables of the operand's width and back, so each comes out truncated to that width.
     */
    static void emulate_2op_cl(String op, Operand cl, Operand src, Operand dst, X86EmulateCtxt ctxt) {
        int bytes = dst.bytes;
        if (bytes != 2 && bytes != 4 && bytes != 8) return;
        long m = Alu.mask(bytes);
        Alu.Out out = Alu.op3(op, bytes, dst.val, src.val, cl.val & m, ctxt.eflags);
        ctxt.eflags = (ctxt.eflags & ~EFLAGS_MASK) | (out.flags() & EFLAGS_MASK);
        cl.val &= m;
        src.val &= m;
        dst.val = out.val() & m;
    }

    /** emulate_1op (emulate.c:526): inc, dec, neg. */
    static void emulate_1op(String op, Operand dst, X86EmulateCtxt ctxt) {
        int bytes = dst.bytes;
        if (bytes != 1 && bytes != 2 && bytes != 4 && bytes != 8) return;
        Alu.Out out = Alu.op1(op, bytes, dst.val, ctxt.eflags);
        long m = Alu.mask(bytes);
        dst.val = (dst.val & ~m) | (out.val() & m);
        ctxt.eflags = (ctxt.eflags & ~EFLAGS_MASK) | (out.flags() & EFLAGS_MASK);
    }

    /** The "goto done" of insn_fetch when a fetch fails, carrying rc. */
    private static final class FetchFailed extends RuntimeException {
        final int rc;

        FetchFailed(int rc) {
            super(null, null, false, false);
            this.rc = rc;
        }
    }

    /**
     * insn_fetch (emulate.c:537): the next {@code size} instruction bytes at c->eip, which advances.
     * {@code signed} stands for the s8/s16/s32 types (sign-extended into the unsigned long).
     */
    private long insn_fetch(X86EmulateCtxt ctxt, X86EmulateOps ops, int size, boolean signed) {
        DecodeCache c = ctxt.decode;
        byte[] buf = new byte[8];
        int rc = do_insn_fetch(ctxt, ops, c.eip, buf, size);
        if (rc != 0) throw new FetchFailed(rc);
        c.eip += size;
        long v = le_merge(0, buf, size);
        if (signed && size < 8) v = (v << (64 - 8 * size)) >> (64 - 8 * size);
        return v;
    }

    // ---- emulate.c functions ----

    @Origin(file = "arch/x86/kvm/emulate.c", line = 546)
    static long ad_mask(DecodeCache c) {
        return (1L << (c.ad_bytes << 3)) - 1;
    }

    @Origin(file = "arch/x86/kvm/emulate.c", line = 553)
    static long address_mask(DecodeCache c, long reg) {
        if (c.ad_bytes == SIZEOF_LONG) return reg;
        return reg & ad_mask(c);
    }

    @Origin(file = "arch/x86/kvm/emulate.c", line = 562)
    static long register_address(DecodeCache c, long base, long reg) {
        return base + address_mask(c, reg);
    }

    /** The C updates *reg in place; here the caller stores the value returned. */
    @Origin(file = "arch/x86/kvm/emulate.c", line = 568)
    static long register_address_increment(DecodeCache c, long reg, long inc) {
        if (c.ad_bytes == SIZEOF_LONG) return reg + inc;
        return (reg & ~ad_mask(c)) | ((reg + inc) & ad_mask(c));
    }

    @Origin(file = "arch/x86/kvm/emulate.c", line = 576)
    static void jmp_rel(DecodeCache c, long rel) {
        c.eip = register_address_increment(c, c.eip, rel);
    }

    @Origin(file = "arch/x86/kvm/emulate.c", line = 581)
    static void set_seg_override(DecodeCache c, int seg) {
        c.has_seg_override = true;
        c.seg_override = seg;
    }

    @Origin(file = "arch/x86/kvm/emulate.c", line = 587)
    long seg_base(X86EmulateCtxt ctxt, int seg) {
        // Long mode ignores the bases of ES, CS, SS and DS.
        if (ctxt.mode == X86EMUL_MODE_PROT64 && seg < VCPU_SREG_FS) return 0;
        return vcpu_ops.get_segment_base(ctxt.vcpu, seg);
    }

    @Origin(file = "arch/x86/kvm/emulate.c", line = 595)
    long seg_override_base(X86EmulateCtxt ctxt, DecodeCache c) {
        if (!c.has_seg_override) return 0;
        return seg_base(ctxt, c.seg_override);
    }

    @Origin(file = "arch/x86/kvm/emulate.c", line = 604)
    long es_base(X86EmulateCtxt ctxt) {
        return seg_base(ctxt, VCPU_SREG_ES);
    }

    @Origin(file = "arch/x86/kvm/emulate.c", line = 609)
    long ss_base(X86EmulateCtxt ctxt) {
        return seg_base(ctxt, VCPU_SREG_SS);
    }

    /** One instruction byte through the fetch cache, which refills up to 15 bytes within the page. */
    @Origin(file = "arch/x86/kvm/emulate.c", line = 614)
    static int do_fetch_insn_byte(X86EmulateCtxt ctxt, X86EmulateOps ops, long linear, byte[] dest, int dest_off) {
        DecodeCache.FetchCache fc = ctxt.decode.fetch;
        if (Long.compareUnsigned(linear, fc.start) < 0 || Long.compareUnsigned(linear, fc.end) >= 0) {
            int size = (int) Math.min(15L, PAGE_SIZE - (linear & (PAGE_SIZE - 1)));
            int rc = ops.read_std(linear, fc.data, size, ctxt.vcpu);
            if (rc != 0) return rc;
            fc.start = linear;
            fc.end = linear + size;
        }
        dest[dest_off] = fc.data[(int) (linear - fc.start)];
        return 0;
    }

    @Origin(file = "arch/x86/kvm/emulate.c", line = 634)
    static int do_insn_fetch(X86EmulateCtxt ctxt, X86EmulateOps ops, long eip, byte[] dest, int size) {
        // An instruction is at most 15 bytes long.
        if (Long.compareUnsigned(eip + size - ctxt.decode.eip_orig, 15) > 0) return X86EMUL_UNHANDLEABLE;
        eip += Integer.toUnsignedLong(ctxt.cs_base);
        for (int i = 0; i < size; i++) {
            int rc = do_fetch_insn_byte(ctxt, ops, eip++, dest, i);
            if (rc != 0) return rc;
        }
        return 0;
    }

    /** A register pointer (see {@link Operand}) to register {@code modrm_reg}, or to AH..BH. */
    @Origin(file = "arch/x86/kvm/emulate.c", line = 657)
    static long decode_register(int modrm_reg, long[] regs, int highbyte_regs) {
        long p = reg_ptr(modrm_reg);
        if (highbyte_regs != 0 && modrm_reg >= 4 && modrm_reg < 8) p = reg_ptr(modrm_reg & 3) + 1;
        return p;
    }

    /** Reads a pseudo-descriptor (lgdt/lidt): a 16-bit limit, then a 24-, 32- or 64-bit base. */
    @Origin(file = "arch/x86/kvm/emulate.c", line = 668)
    static int read_descriptor(X86EmulateCtxt ctxt, X86EmulateOps ops, long ptr, int[] size, long[] address,
                               int op_bytes) {
        if (op_bytes == 2) op_bytes = 3;
        address[0] = 0;
        long[] sz = {size[0]};
        int rc = read_into(ops, ptr, sz, 2, ctxt.vcpu, true);
        size[0] = (int) (sz[0] & 0xffff);
        if (rc != 0) return rc;
        return read_into(ops, ptr + 2, address, op_bytes, ctxt.vcpu, true);
    }

    @Origin(file = "arch/x86/kvm/emulate.c", line = 687)
    static int test_cc(int condition, long flags) {
        long rc = 0;
        switch ((condition & 15) >> 1) {
            case 0: rc |= flags & EFLG_OF; break;                      // o
            case 1: rc |= flags & EFLG_CF; break;                      // b
            case 2: rc |= flags & EFLG_ZF; break;                      // z
            case 3: rc |= flags & (EFLG_CF | EFLG_ZF); break;          // be
            case 4: rc |= flags & EFLG_SF; break;                      // s
            case 5: rc |= flags & EFLG_PF; break;                      // p
            case 7: rc |= flags & EFLG_ZF;                             // le: ZF, or else as l
                // fall through
            case 6: rc |= ((flags & EFLG_SF) == 0) != ((flags & EFLG_OF) == 0) ? 1 : 0; break; // l
            default: break;
        }
        // The odd condition codes are the negations of the even ones.
        return (rc != 0 ? 1 : 0) ^ (condition & 1);
    }

    @Origin(file = "arch/x86/kvm/emulate.c", line = 722)
    static void decode_register_operand(Operand op, DecodeCache c, int inhibit_bytereg) {
        int reg = c.modrm_reg;
        int highbyte_regs = c.rex_prefix == 0 ? 1 : 0;

        // Without ModRM the register is in the opcode's low bits (extended by REX.B).
        if ((c.d & ModRM) == 0) reg = (c.b & 7) | ((c.rex_prefix & 1) << 3);
        op.type = OP_REG;
        if ((c.d & ByteOp) != 0 && inhibit_bytereg == 0) {
            op.ptr = decode_register(reg, c.regs, highbyte_regs);
            op.val = reg_load(c, op.ptr, 1);
            op.bytes = 1;
        } else {
            op.ptr = decode_register(reg, c.regs, 0);
            op.bytes = c.op_bytes;
            switch (op.bytes) {
                case 2, 4, 8 -> op.val = reg_load(c, op.ptr, op.bytes);
                default -> { }
            }
        }
        op.orig_val = op.val;
    }

    @Origin(file = "arch/x86/kvm/emulate.c", line = 754)
    int decode_modrm(X86EmulateCtxt ctxt, X86EmulateOps ops) {
        DecodeCache c = ctxt.decode;
        int sib;
        int index_reg = 0, base_reg = 0, scale;
        int rc = 0;

        try {
            if (c.rex_prefix != 0) {
                c.modrm_reg = (c.rex_prefix & 4) << 1;            // REX.R
                index_reg = (c.rex_prefix & 2) << 2;              // REX.X
                c.modrm_rm = base_reg = (c.rex_prefix & 1) << 3;  // REX.B
            }

            c.modrm = (int) insn_fetch(ctxt, ops, 1, false);
            c.modrm_mod |= (c.modrm & 0xc0) >> 6;
            c.modrm_reg |= (c.modrm & 0x38) >> 3;
            c.modrm_rm |= (c.modrm & 0x07);
            c.modrm_ea = 0;
            c.use_modrm_ea = 1;

            if (c.modrm_mod == 3) {
                // 2.6.33 quirk: a byte-sized r/m register 4-7 is always AH..BH, even with a REX prefix
                // (where it should be SPL, BPL, SIL, DIL).
                c.modrm_ptr = decode_register(c.modrm_rm, c.regs, c.d & ByteOp);
                // The C reads a whole unsigned long at that pointer, even at the odd AH..BH address.
                c.modrm_val = reg_load(c, c.modrm_ptr, 8);
                return rc;
            }

            if (c.ad_bytes == 2) {
                long bx = c.regs[VCPU_REGS_RBX] & 0xffffffffL;
                long bp = c.regs[VCPU_REGS_RBP] & 0xffffffffL;
                long si = c.regs[VCPU_REGS_RSI] & 0xffffffffL;
                long di = c.regs[VCPU_REGS_RDI] & 0xffffffffL;

                // 16-bit addressing: displacement first, then the fixed base/index pairs.
                switch (c.modrm_mod) {
                    case 0:
                        if (c.modrm_rm == 6) c.modrm_ea += insn_fetch(ctxt, ops, 2, false);
                        break;
                    case 1:
                        c.modrm_ea += insn_fetch(ctxt, ops, 1, true);
                        break;
                    case 2:
                        c.modrm_ea += insn_fetch(ctxt, ops, 2, false);
                        break;
                    default:
                        break;
                }
                switch (c.modrm_rm) {
                    case 0: c.modrm_ea += bx + si; break;
                    case 1: c.modrm_ea += bx + di; break;
                    case 2: c.modrm_ea += bp + si; break;
                    case 3: c.modrm_ea += bp + di; break;
                    case 4: c.modrm_ea += si; break;
                    case 5: c.modrm_ea += di; break;
                    case 6:
                        if (c.modrm_mod != 0) c.modrm_ea += bp;
                        break;
                    case 7: c.modrm_ea += bx; break;
                    default: break;
                }
                // BP-based forms default to the stack segment.
                if (c.modrm_rm == 2 || c.modrm_rm == 3 || (c.modrm_rm == 6 && c.modrm_mod != 0))
                    if (!c.has_seg_override) set_seg_override(c, VCPU_SREG_SS);
                c.modrm_ea = c.modrm_ea & 0xffff;
            } else {
                // 32/64-bit addressing.
                if ((c.modrm_rm & 7) == 4) {
                    sib = (int) insn_fetch(ctxt, ops, 1, false);
                    index_reg |= (sib >> 3) & 7;
                    base_reg |= sib & 7;
                    scale = sib >> 6;

                    if ((base_reg & 7) == 5 && c.modrm_mod == 0)
                        c.modrm_ea += insn_fetch(ctxt, ops, 4, true);
                    else
                        c.modrm_ea += c.regs[base_reg];
                    if (index_reg != 4) c.modrm_ea += c.regs[index_reg] << scale;
                } else if ((c.modrm_rm & 7) == 5 && c.modrm_mod == 0) {
                    if (ctxt.mode == X86EMUL_MODE_PROT64) c.rip_relative = true;
                } else {
                    c.modrm_ea += c.regs[c.modrm_rm];
                }
                switch (c.modrm_mod) {
                    case 0:
                        // 2.6.33 quirk: with REX.B, modrm_rm is 13 here, so the disp32 of a
                        // RIP-relative operand is not fetched (wrong address and length).
                        if (c.modrm_rm == 5) c.modrm_ea += insn_fetch(ctxt, ops, 4, true);
                        break;
                    case 1:
                        c.modrm_ea += insn_fetch(ctxt, ops, 1, true);
                        break;
                    case 2:
                        c.modrm_ea += insn_fetch(ctxt, ops, 4, true);
                        break;
                    default:
                        break;
                }
            }
        } catch (FetchFailed f) {
            rc = f.rc;
        }
        return rc;
    }

    /** The moffs of mov al/eAX <-> memory (0xa0-0xa3): an address-sized absolute offset. */
    @Origin(file = "arch/x86/kvm/emulate.c", line = 869)
    int decode_abs(X86EmulateCtxt ctxt, X86EmulateOps ops) {
        DecodeCache c = ctxt.decode;
        int rc = 0;
        try {
            switch (c.ad_bytes) {
                case 2 -> c.modrm_ea = insn_fetch(ctxt, ops, 2, false);
                case 4 -> c.modrm_ea = insn_fetch(ctxt, ops, 4, false);
                case 8 -> c.modrm_ea = insn_fetch(ctxt, ops, 8, false);
                default -> { }
            }
        } catch (FetchFailed f) {
            rc = f.rc;
        }
        return rc;
    }

    /**
     * Decodes the instruction at the guest's RIP into ctxt.decode: prefixes, opcode and its flags,
     * ModRM/SIB, and the operands the flags ask for. Memory operands are only located here; x86_emulate_insn
     * reads them. Returns 0, or -1 when the instruction cannot be emulated.
     */
    @Origin(file = "arch/x86/kvm/emulate.c", line = 891)
    public int x86_decode_insn(X86EmulateCtxt ctxt, X86EmulateOps ops) {
        DecodeCache c = ctxt.decode;
        int rc = 0;
        int mode = ctxt.mode;
        int def_op_bytes, def_ad_bytes, group;

        // Work on a copy of the registers; x86_emulate_insn commits it on success.
        c.clear();
        c.eip = c.eip_orig = vcpu_ops.kvm_rip_read(ctxt.vcpu);
        ctxt.cs_base = (int) seg_base(ctxt, VCPU_SREG_CS);
        System.arraycopy(ctxt.vcpu.arch.regs, 0, c.regs, 0, c.regs.length);

        switch (mode) {
            case X86EMUL_MODE_REAL:
            case X86EMUL_MODE_PROT16:
                def_op_bytes = def_ad_bytes = 2;
                break;
            case X86EMUL_MODE_PROT32:
                def_op_bytes = def_ad_bytes = 4;
                break;
            case X86EMUL_MODE_PROT64:
                def_op_bytes = 4;
                def_ad_bytes = 8;
                break;
            default:
                return -1;
        }

        c.op_bytes = def_op_bytes;
        c.ad_bytes = def_ad_bytes;

        try {
            // Legacy prefixes, and REX in 64-bit mode.
            prefixes:
            for (;;) {
                switch (c.b = (int) insn_fetch(ctxt, ops, 1, false)) {
                    case 0x66:  // operand size: 2 <-> 4
                        c.op_bytes = def_op_bytes ^ 6;
                        break;
                    case 0x67:  // address size: 4 <-> 8 in long mode, else 2 <-> 4
                        if (mode == X86EMUL_MODE_PROT64) c.ad_bytes = def_ad_bytes ^ 12;
                        else c.ad_bytes = def_ad_bytes ^ 6;
                        break;
                    case 0x26: case 0x2e: case 0x36: case 0x3e:  // ES, CS, SS, DS
                        set_seg_override(c, (c.b >> 3) & 3);
                        break;
                    case 0x64: case 0x65:                        // FS, GS
                        set_seg_override(c, c.b & 7);
                        break;
                    case 0x40: case 0x41: case 0x42: case 0x43: case 0x44: case 0x45: case 0x46: case 0x47:
                    case 0x48: case 0x49: case 0x4a: case 0x4b: case 0x4c: case 0x4d: case 0x4e: case 0x4f:
                        // Outside long mode these are inc/dec, i.e. the opcode.
                        if (mode != X86EMUL_MODE_PROT64) break prefixes;
                        c.rex_prefix = c.b;
                        continue;
                    case 0xf0:
                        c.lock_prefix = 1;
                        break;
                    case 0xf2:
                        c.rep_prefix = REPNE_PREFIX;
                        break;
                    case 0xf3:
                        c.rep_prefix = REPE_PREFIX;
                        break;
                    default:
                        break prefixes;
                }
                // A REX prefix counts only right before the opcode.
                c.rex_prefix = 0;
            }

            if (c.rex_prefix != 0)
                if ((c.rex_prefix & 8) != 0) c.op_bytes = 8;  // REX.W

            // Opcode byte(s).
            c.d = opcode_table[c.b];
            if (c.d == 0) {
                if (c.b == 0x0f) {
                    c.twobyte = 1;
                    c.b = (int) insn_fetch(ctxt, ops, 1, false);
                    c.d = twobyte_table[c.b];
                }
            }

            if (mode == X86EMUL_MODE_PROT64 && (c.d & No64) != 0) {
                vcpu_ops.kvm_report_emulation_failure(ctxt.vcpu, "invalid x86/64 instruction");
                return -1;
            }

            if ((c.d & Group) != 0) {
                // Peek at ModRM.reg to pick the group member; decode_modrm reads the byte again.
                group = c.d & GroupMask;
                c.modrm = (int) insn_fetch(ctxt, ops, 1, false);
                --c.eip;

                group = (group << 3) + ((c.modrm >> 3) & 7);
                if ((c.d & GroupDual) != 0 && (c.modrm >> 6) == 3) c.d = group2_table[group];
                else c.d = group_table[group];
            }

            if (c.d == 0) return -1;  // unrecognised

            // 2.6.33 quirk: stack operations in long mode are always 64-bit, even with a 0x66 prefix.
            if (mode == X86EMUL_MODE_PROT64 && (c.d & Stack) != 0) c.op_bytes = 8;

            if ((c.d & ModRM) != 0) rc = decode_modrm(ctxt, ops);
            else if ((c.d & MemAbs) != 0) rc = decode_abs(ctxt, ops);
            if (rc != 0) return done_x86_decode_insn(rc);

            if (!c.has_seg_override) set_seg_override(c, VCPU_SREG_DS);

            // lea wants the offset, not the linear address.
            if (!(c.twobyte == 0 && c.b == 0x8d)) c.modrm_ea += seg_override_base(ctxt, c);

            if (c.ad_bytes != 8) c.modrm_ea = c.modrm_ea & 0xffffffffL;

            // The source operand.
            srcmem_common:
            switch (c.d & SrcMask) {
                case SrcNone:
                    break;
                case SrcReg:
                    decode_register_operand(c.src, c, 0);
                    break;
                case SrcMem16:
                case SrcMem32:
                case SrcMem:
                    if ((c.d & SrcMask) == SrcMem16) {
                        c.src.bytes = 2;
                    } else if ((c.d & SrcMask) == SrcMem32) {
                        c.src.bytes = 4;
                    } else {
                        c.src.bytes = (c.d & ByteOp) != 0 ? 1 : c.op_bytes;
                        // invlpg: the address may not be mapped, so do not read it.
                        if (c.twobyte != 0 && c.b == 0x01 && c.modrm_reg == 7) break srcmem_common;
                    }
                    // With ModRM, mod == 3 makes it a register after all.
                    if ((c.d & ModRM) != 0 && c.modrm_mod == 3) {
                        c.src.type = OP_REG;
                        c.src.val = c.modrm_val;
                        c.src.ptr = c.modrm_ptr;
                        break;
                    }
                    c.src.type = OP_MEM;
                    break;
                case SrcImm:
                case SrcImmU:
                    c.src.type = OP_IMM;
                    c.src.ptr = c.eip;
                    c.src.bytes = (c.d & ByteOp) != 0 ? 1 : c.op_bytes;
                    // 2.6.33 quirk: 64-bit operands take a 4-byte immediate, even mov r64,imm (REX.W B8+r),
                    // whose immediate is 8 bytes on a real processor.
                    if (c.src.bytes == 8) c.src.bytes = 4;
                    // Immediates are sign-extended...
                    switch (c.src.bytes) {
                        case 1 -> c.src.val = insn_fetch(ctxt, ops, 1, true);
                        case 2 -> c.src.val = insn_fetch(ctxt, ops, 2, true);
                        case 4 -> c.src.val = insn_fetch(ctxt, ops, 4, true);
                        default -> { }
                    }
                    // ...unless the flags say unsigned.
                    if ((c.d & SrcMask) == SrcImmU) {
                        switch (c.src.bytes) {
                            case 1 -> c.src.val &= 0xff;
                            case 2 -> c.src.val &= 0xffff;
                            case 4 -> c.src.val &= 0xffffffffL;
                            default -> { }
                        }
                    }
                    break;
                case SrcImmByte:
                case SrcImmUByte:
                    c.src.type = OP_IMM;
                    c.src.ptr = c.eip;
                    c.src.bytes = 1;
                    if ((c.d & SrcMask) == SrcImmByte) c.src.val = insn_fetch(ctxt, ops, 1, true);
                    else c.src.val = insn_fetch(ctxt, ops, 1, false);
                    break;
                case SrcOne:
                    c.src.bytes = 1;
                    c.src.val = 1;
                    break;
                default:
                    break;
            }

            // The second source operand.
            switch (c.d & Src2Mask) {
                case Src2None:
                    break;
                case Src2CL:
                    c.src2.bytes = 1;
                    // 2.6.33 quirk: the count is CL & 8, not CL, so shld/shrd by CL shift by 0 or 8.
                    c.src2.val = c.regs[VCPU_REGS_RCX] & 0x8;
                    break;
                case Src2ImmByte:
                    c.src2.type = OP_IMM;
                    c.src2.ptr = c.eip;
                    c.src2.bytes = 1;
                    c.src2.val = insn_fetch(ctxt, ops, 1, false);
                    break;
                case Src2Imm16:
                    c.src2.type = OP_IMM;
                    c.src2.ptr = c.eip;
                    c.src2.bytes = 2;
                    c.src2.val = insn_fetch(ctxt, ops, 2, false);
                    break;
                case Src2One:
                    c.src2.bytes = 1;
                    c.src2.val = 1;
                    break;
                default:
                    break;
            }

            // The destination operand.
            switch (c.d & DstMask) {
                case ImplicitOps:
                    // The instruction's own case decodes its operands.
                    return 0;
                case DstReg:
                    // movzx reads a byte or word but writes a full register.
                    decode_register_operand(c.dst, c, c.twobyte != 0 && (c.b == 0xb6 || c.b == 0xb7) ? 1 : 0);
                    break;
                case DstMem:
                    if ((c.d & ModRM) != 0 && c.modrm_mod == 3) {
                        c.dst.bytes = (c.d & ByteOp) != 0 ? 1 : c.op_bytes;
                        c.dst.type = OP_REG;
                        c.dst.val = c.dst.orig_val = c.modrm_val;
                        c.dst.ptr = c.modrm_ptr;
                        break;
                    }
                    c.dst.type = OP_MEM;
                    break;
                case DstAcc:
                    // 2.6.33 quirk: the accumulator is op_bytes wide even for ByteOp opcodes (add al,imm8
                    // works on AX/EAX), and with REX.W its value is left 0 (no 8-byte case below).
                    c.dst.type = OP_REG;
                    c.dst.bytes = c.op_bytes;
                    c.dst.ptr = reg_ptr(VCPU_REGS_RAX);
                    switch (c.op_bytes) {
                        case 1, 2, 4 -> c.dst.val = reg_load(c, c.dst.ptr, c.op_bytes);
                        default -> { }
                    }
                    c.dst.orig_val = c.dst.val;
                    break;
                default:
                    break;
            }

            if (c.rip_relative) c.modrm_ea += c.eip;
        } catch (FetchFailed f) {
            rc = f.rc;
        }
        return done_x86_decode_insn(rc);
    }

    /**
     * The "done:" label of x86_decode_insn. 2.6.33 quirk: only X86EMUL_UNHANDLEABLE fails the decode;
     * a fetch that faulted (X86EMUL_PROPAGATE_FAULT) returns 0 with the decode left half done.
     */
    private static int done_x86_decode_insn(int rc) {
        return rc == X86EMUL_UNHANDLEABLE ? -1 : 0;
    }

    /**
     * Makes dst the new top of stack holding src.val; writeback stores it.
     * 2.6.33 quirk: RSP moves under the address size (ad_bytes), not the stack segment's size.
     */
    @Origin(file = "arch/x86/kvm/emulate.c", line = 1192)
    void emulate_push(X86EmulateCtxt ctxt) {
        DecodeCache c = ctxt.decode;
        c.dst.type = OP_MEM;
        c.dst.bytes = c.op_bytes;
        c.dst.val = c.src.val;
        c.regs[VCPU_REGS_RSP] = register_address_increment(c, c.regs[VCPU_REGS_RSP], -c.op_bytes);
        c.dst.ptr = register_address(c, ss_base(ctxt), c.regs[VCPU_REGS_RSP]);
    }

    /** dest[0] plays the C's void *dest: its low {@code len} bytes receive the value popped. */
    @Origin(file = "arch/x86/kvm/emulate.c", line = 1204)
    int emulate_pop(X86EmulateCtxt ctxt, X86EmulateOps ops, long[] dest, int len) {
        DecodeCache c = ctxt.decode;
        int rc = read_into(ops, register_address(c, ss_base(ctxt), c.regs[VCPU_REGS_RSP]), dest, len,
                ctxt.vcpu, false);
        if (rc != 0) return rc;
        c.regs[VCPU_REGS_RSP] = register_address_increment(c, c.regs[VCPU_REGS_RSP], len);
        return rc;
    }

    @Origin(file = "arch/x86/kvm/emulate.c", line = 1221)
    void emulate_push_sreg(X86EmulateCtxt ctxt, int seg) {
        DecodeCache c = ctxt.decode;
        KvmSegment segment = new KvmSegment();
        vcpu_ops.get_segment(ctxt.vcpu, segment, seg);
        c.src.val = segment.selector;
        emulate_push(ctxt);
    }

    @Origin(file = "arch/x86/kvm/emulate.c", line = 1232)
    int emulate_pop_sreg(X86EmulateCtxt ctxt, X86EmulateOps ops, int seg) {
        DecodeCache c = ctxt.decode;
        long[] selector = {0};
        int rc = emulate_pop(ctxt, ops, selector, c.op_bytes);
        if (rc != 0) return rc;
        return vcpu_ops.kvm_load_segment_descriptor(ctxt.vcpu, (int) (selector[0] & 0xffff), 1, seg);
    }

    /**
     * pusha. Only the last push survives as dst for writeback: the first seven are lost. That is what
     * the C does too (emulate_push only prepares dst), so pusha stores just EDI below the old SP.
     */
    @Origin(file = "arch/x86/kvm/emulate.c", line = 1247)
    void emulate_pusha(X86EmulateCtxt ctxt) {
        DecodeCache c = ctxt.decode;
        long old_esp = c.regs[VCPU_REGS_RSP];
        int reg = VCPU_REGS_RAX;

        while (reg <= VCPU_REGS_RDI) {
            c.src.val = reg == VCPU_REGS_RSP ? old_esp : c.regs[reg];
            emulate_push(ctxt);
            ++reg;
        }
    }

    @Origin(file = "arch/x86/kvm/emulate.c", line = 1262)
    int emulate_popa(X86EmulateCtxt ctxt, X86EmulateOps ops) {
        DecodeCache c = ctxt.decode;
        int rc = 0;
        int reg = VCPU_REGS_RDI;

        while (reg >= VCPU_REGS_RAX) {
            if (reg == VCPU_REGS_RSP) {
                // The saved SP is skipped.
                c.regs[VCPU_REGS_RSP] = register_address_increment(c, c.regs[VCPU_REGS_RSP], c.op_bytes);
                --reg;
            }
            long[] v = {c.regs[reg]};
            rc = emulate_pop(ctxt, ops, v, c.op_bytes);
            c.regs[reg] = v[0];
            if (rc != 0) break;
            --reg;
        }
        return rc;
    }

    /** pop r/m (8f /0). */
    @Origin(file = "arch/x86/kvm/emulate.c", line = 1284)
    int emulate_grp1a(X86EmulateCtxt ctxt, X86EmulateOps ops) {
        DecodeCache c = ctxt.decode;
        long[] v = {c.dst.val};
        int rc = emulate_pop(ctxt, ops, v, c.dst.bytes);
        c.dst.val = v[0];
        if (rc != 0) return rc;
        return 0;
    }

    private static final String[] GRP2_OPS = {"rol", "ror", "rcl", "rcr", "sal", "shr", "sal", "sar"};

    /** Shifts and rotates (c0, c1, d0-d3), by the count in src. */
    @Origin(file = "arch/x86/kvm/emulate.c", line = 1296)
    static void emulate_grp2(X86EmulateCtxt ctxt) {
        DecodeCache c = ctxt.decode;
        // /4 and /6 are both sal. 2.6.33 quirk: with REX.R (modrm_reg 8..15) nothing matches: no shift.
        if (c.modrm_reg < 8) emulate_2op_SrcB(GRP2_OPS[c.modrm_reg], c.src, c.dst, ctxt);
    }

    @Origin(file = "arch/x86/kvm/emulate.c", line = 1325)
    static int emulate_grp3(X86EmulateCtxt ctxt, X86EmulateOps ops) {
        DecodeCache c = ctxt.decode;
        int rc = 0;
        switch (c.modrm_reg) {
            case 0, 1 -> emulate_2op_SrcV("test", c.src, c.dst, ctxt);
            case 2 -> c.dst.val = ~c.dst.val;   // not: no flags
            case 3 -> emulate_1op("neg", c.dst, ctxt);
            default -> rc = X86EMUL_UNHANDLEABLE;
        }
        return rc;
    }

    /** 2.6.33 quirk: REX.R makes modrm_reg 8..15, which matches no case: the instruction does nothing. */
    @Origin(file = "arch/x86/kvm/emulate.c", line = 1349)
    int emulate_grp45(X86EmulateCtxt ctxt, X86EmulateOps ops) {
        DecodeCache c = ctxt.decode;
        switch (c.modrm_reg) {
            case 0:
                emulate_1op("inc", c.dst, ctxt);
                break;
            case 1:
                emulate_1op("dec", c.dst, ctxt);
                break;
            case 2: {  // call near absolute
                long old_eip = c.eip;
                c.eip = c.src.val;
                c.src.val = old_eip;
                emulate_push(ctxt);
                break;
            }
            case 4:    // jmp near absolute
                c.eip = c.src.val;
                break;
            case 6:    // push
                emulate_push(ctxt);
                break;
            default:
                break;
        }
        return 0;
    }

    /** cmpxchg8b m64: compare EDX:EAX with the quadword, store ECX:EBX or load EDX:EAX. */
    @Origin(file = "arch/x86/kvm/emulate.c", line = 1379)
    int emulate_grp9(X86EmulateCtxt ctxt, X86EmulateOps ops, long memop) {
        DecodeCache c = ctxt.decode;
        long[] old = {0};
        int rc = read_into(ops, memop, old, 8, ctxt.vcpu, false);
        if (rc != 0) return rc;

        if ((int) old[0] != (int) c.regs[VCPU_REGS_RAX] || (int) (old[0] >>> 32) != (int) c.regs[VCPU_REGS_RDX]) {
            c.regs[VCPU_REGS_RAX] = old[0] & 0xffffffffL;
            c.regs[VCPU_REGS_RDX] = old[0] >>> 32;
            ctxt.eflags &= ~EFLG_ZF;
        } else {
            long new_ = (c.regs[VCPU_REGS_RCX] << 32) | (c.regs[VCPU_REGS_RBX] & 0xffffffffL);
            rc = ops.cmpxchg_emulated(memop, le_bytes(old[0], 8), le_bytes(new_, 8), 8, ctxt.vcpu);
            if (rc != 0) return rc;
            ctxt.eflags |= EFLG_ZF;
        }
        return 0;
    }

    /**
     * retf: pop EIP then CS. 2.6.33 quirk: with a 16-bit operand size only the low 16 bits of EIP are
     * replaced; the upper ones stay.
     */
    @Origin(file = "arch/x86/kvm/emulate.c", line = 1410)
    int emulate_ret_far(X86EmulateCtxt ctxt, X86EmulateOps ops) {
        DecodeCache c = ctxt.decode;
        long[] eip = {c.eip};
        int rc = emulate_pop(ctxt, ops, eip, c.op_bytes);
        c.eip = eip[0];
        if (rc != 0) return rc;
        if (c.op_bytes == 4) c.eip = c.eip & 0xffffffffL;
        long[] cs = {0};
        rc = emulate_pop(ctxt, ops, cs, c.op_bytes);
        if (rc != 0) return rc;
        return vcpu_ops.kvm_load_segment_descriptor(ctxt.vcpu, (int) (cs[0] & 0xffff), 1, VCPU_SREG_CS);
    }

    /** Stores dst: into the register file, or to memory through the ops (cmpxchg under LOCK). */
    @Origin(file = "arch/x86/kvm/emulate.c", line = 1429)
    static int writeback(X86EmulateCtxt ctxt, X86EmulateOps ops) {
        int rc;
        DecodeCache c = ctxt.decode;

        switch (c.dst.type) {
            case OP_REG:
                switch (c.dst.bytes) {
                    case 1 -> reg_store(ctxt, c.dst.ptr, 1, c.dst.val);
                    case 2 -> reg_store(ctxt, c.dst.ptr, 2, c.dst.val);
                    // A 32-bit write stores a whole unsigned long: in 64-bit mode that zero-extends.
                    case 4 -> reg_store(ctxt, c.dst.ptr, 8, c.dst.val & 0xffffffffL);
                    case 8 -> reg_store(ctxt, c.dst.ptr, 8, c.dst.val);
                    default -> { }
                }
                break;
            case OP_MEM:
                if (c.lock_prefix != 0)
                    rc = ops.cmpxchg_emulated(c.dst.ptr, le_bytes(c.dst.orig_val, c.dst.bytes),
                            le_bytes(c.dst.val, c.dst.bytes), c.dst.bytes, ctxt.vcpu);
                else
                    rc = ops.write_emulated(c.dst.ptr, le_bytes(c.dst.val, c.dst.bytes), c.dst.bytes, ctxt.vcpu);
                if (rc != 0) return rc;
                break;
            case OP_NONE:
            default:
                break;
        }
        return 0;
    }

    /**
     * Reports an STI / MOV SS interrupt shadow, unless one is already active: a second STI in a row
     * must not extend the shadow.
     */
    @Origin(file = "arch/x86/kvm/emulate.c", line = 1481)
    void toggle_interruptibility(X86EmulateCtxt ctxt, int mask) {
        int int_shadow = vcpu_ops.get_interrupt_shadow(ctxt.vcpu, mask);
        if ((int_shadow & mask) == 0) ctxt.interruptibility = mask;
    }

    /** Flat 4 GiB code and stack segments at DPL 0, the starting point of syscall/sysenter/sysexit. */
    @Origin(file = "arch/x86/kvm/emulate.c", line = 1496)
    void setup_syscalls_segments(X86EmulateCtxt ctxt, KvmSegment cs, KvmSegment ss) {
        cs.copyFrom(new KvmSegment());
        vcpu_ops.get_segment(ctxt.vcpu, cs, VCPU_SREG_CS);
        ss.copyFrom(new KvmSegment());

        cs.l = 0;               // set by the caller
        cs.base = 0;
        cs.g = 1;
        cs.limit = 0xffffffff;
        cs.type = 0x0b;         // execute/read, accessed
        cs.s = 1;
        cs.dpl = 0;             // set by the caller
        cs.present = 1;
        cs.db = 1;

        ss.unusable = 0;
        ss.base = 0;
        ss.limit = 0xffffffff;
        ss.g = 1;
        ss.s = 1;
        ss.type = 0x03;         // read/write, accessed
        ss.db = 1;
        ss.dpl = 0;
        ss.present = 1;
    }

    private static boolean is_long_mode(KvmVcpu vcpu) {
        // mmu.h:56
        return (vcpu.arch.shadow_efer & EFER_LMA) != 0;
    }

    @Origin(file = "arch/x86/kvm/emulate.c", line = 1525)
    int emulate_syscall(X86EmulateCtxt ctxt) {
        DecodeCache c = ctxt.decode;
        KvmSegment cs = new KvmSegment(), ss = new KvmSegment();
        long[] msr_data = {0};

        // No syscall in real mode.
        if (c.lock_prefix != 0 || ctxt.mode == X86EMUL_MODE_REAL || (ctxt.vcpu.arch.cr0 & X86_CR0_PE) == 0)
            return -1;

        setup_syscalls_segments(ctxt, cs, ss);

        vcpu_ops.get_msr(ctxt.vcpu, MSR_STAR, msr_data);
        msr_data[0] >>>= 32;
        cs.selector = (int) (msr_data[0] & 0xfffc);
        ss.selector = (int) ((msr_data[0] + 8) & 0xffff);

        if (is_long_mode(ctxt.vcpu)) {
            cs.db = 0;
            cs.l = 1;
        }
        vcpu_ops.set_segment(ctxt.vcpu, cs, VCPU_SREG_CS);
        vcpu_ops.set_segment(ctxt.vcpu, ss, VCPU_SREG_SS);

        c.regs[VCPU_REGS_RCX] = c.eip;
        if (is_long_mode(ctxt.vcpu)) {
            c.regs[VCPU_REGS_R11] = ctxt.eflags & ~EFLG_RF;

            vcpu_ops.get_msr(ctxt.vcpu, ctxt.mode == X86EMUL_MODE_PROT64 ? MSR_LSTAR : MSR_CSTAR, msr_data);
            c.eip = msr_data[0];

            vcpu_ops.get_msr(ctxt.vcpu, MSR_SYSCALL_MASK, msr_data);
            ctxt.eflags &= ~(msr_data[0] | EFLG_RF);
        } else {
            // Legacy mode: the target is STAR[31:0].
            vcpu_ops.get_msr(ctxt.vcpu, MSR_STAR, msr_data);
            c.eip = msr_data[0] & 0xffffffffL;

            ctxt.eflags &= ~(EFLG_VM | EFLG_IF | EFLG_RF);
        }
        return 0;
    }

    @Origin(file = "arch/x86/kvm/emulate.c", line = 1575)
    int emulate_sysenter(X86EmulateCtxt ctxt) {
        DecodeCache c = ctxt.decode;
        KvmSegment cs = new KvmSegment(), ss = new KvmSegment();
        long[] msr_data = {0};

        if (c.lock_prefix != 0) return -1;  // #UD

        if (ctxt.mode == X86EMUL_MODE_REAL || (ctxt.vcpu.arch.cr0 & X86_CR0_PE) == 0) {
            vcpu_ops.kvm_inject_gp(ctxt.vcpu, 0);
            return -1;
        }

        // 2.6.33 refuses sysenter in 64-bit mode: it was never tested there.
        if (ctxt.mode == X86EMUL_MODE_PROT64) return -1;

        setup_syscalls_segments(ctxt, cs, ss);

        vcpu_ops.get_msr(ctxt.vcpu, MSR_IA32_SYSENTER_CS, msr_data);
        switch (ctxt.mode) {
            case X86EMUL_MODE_PROT32:
                if ((msr_data[0] & 0xfffc) == 0x0) {
                    vcpu_ops.kvm_inject_gp(ctxt.vcpu, 0);
                    return -1;
                }
                break;
            case X86EMUL_MODE_PROT64:
                if (msr_data[0] == 0x0) {
                    vcpu_ops.kvm_inject_gp(ctxt.vcpu, 0);
                    return -1;
                }
                break;
            default:
                break;
        }

        ctxt.eflags &= ~(EFLG_VM | EFLG_IF | EFLG_RF);
        cs.selector = (int) (msr_data[0] & 0xffff);
        cs.selector &= ~SELECTOR_RPL_MASK;
        ss.selector = (cs.selector + 8) & 0xffff;
        ss.selector &= ~SELECTOR_RPL_MASK;
        if (ctxt.mode == X86EMUL_MODE_PROT64 || is_long_mode(ctxt.vcpu)) {
            cs.db = 0;
            cs.l = 1;
        }

        vcpu_ops.set_segment(ctxt.vcpu, cs, VCPU_SREG_CS);
        vcpu_ops.set_segment(ctxt.vcpu, ss, VCPU_SREG_SS);

        vcpu_ops.get_msr(ctxt.vcpu, MSR_IA32_SYSENTER_EIP, msr_data);
        c.eip = msr_data[0];

        vcpu_ops.get_msr(ctxt.vcpu, MSR_IA32_SYSENTER_ESP, msr_data);
        c.regs[VCPU_REGS_RSP] = msr_data[0];

        return 0;
    }

    @Origin(file = "arch/x86/kvm/emulate.c", line = 1640)
    int emulate_sysexit(X86EmulateCtxt ctxt) {
        DecodeCache c = ctxt.decode;
        KvmSegment cs = new KvmSegment(), ss = new KvmSegment();
        long[] msr_data = {0};
        int usermode;

        if (c.lock_prefix != 0) return -1;  // #UD

        if (ctxt.mode == X86EMUL_MODE_REAL || (ctxt.vcpu.arch.cr0 & X86_CR0_PE) == 0) {
            vcpu_ops.kvm_inject_gp(ctxt.vcpu, 0);
            return -1;
        }

        setup_syscalls_segments(ctxt, cs, ss);

        // REX.W returns to 64-bit user code.
        if ((c.rex_prefix & 0x8) != 0x0) usermode = X86EMUL_MODE_PROT64;
        else usermode = X86EMUL_MODE_PROT32;

        cs.dpl = 3;
        ss.dpl = 3;
        vcpu_ops.get_msr(ctxt.vcpu, MSR_IA32_SYSENTER_CS, msr_data);
        switch (usermode) {
            case X86EMUL_MODE_PROT32:
                cs.selector = (int) ((msr_data[0] + 16) & 0xffff);
                if ((msr_data[0] & 0xfffc) == 0x0) {
                    vcpu_ops.kvm_inject_gp(ctxt.vcpu, 0);
                    return -1;
                }
                ss.selector = (int) ((msr_data[0] + 24) & 0xffff);
                break;
            case X86EMUL_MODE_PROT64:
                cs.selector = (int) ((msr_data[0] + 32) & 0xffff);
                if (msr_data[0] == 0x0) {
                    vcpu_ops.kvm_inject_gp(ctxt.vcpu, 0);
                    return -1;
                }
                ss.selector = (cs.selector + 8) & 0xffff;
                cs.db = 0;
                cs.l = 1;
                break;
            default:
                break;
        }
        cs.selector |= SELECTOR_RPL_MASK;
        ss.selector |= SELECTOR_RPL_MASK;

        vcpu_ops.set_segment(ctxt.vcpu, cs, VCPU_SREG_CS);
        vcpu_ops.set_segment(ctxt.vcpu, ss, VCPU_SREG_SS);

        // The C reads RDX/RCX from the vCPU, not from the decode cache's copy.
        c.eip = ctxt.vcpu.arch.regs[VCPU_REGS_RDX];
        c.regs[VCPU_REGS_RSP] = ctxt.vcpu.arch.regs[VCPU_REGS_RCX];

        return 0;
    }

    private static final String[] GRP1_OPS = {"add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"};
    private static final String[] GRP8_OPS = {"bt", "bts", "btr", "btc"};

    /**
     * Executes the instruction decoded by x86_decode_insn on the shadow registers, writes the
     * destination back and commits registers and RIP to the vCPU. Returns 0 (done, or a fault was
     * queued for the guest) or -1 (cannot emulate; nothing committed).
     */
    @Origin(file = "arch/x86/kvm/emulate.c", line = 1701)
    public int x86_emulate_insn(X86EmulateCtxt ctxt, X86EmulateOps ops) {
        long memop = 0;
        long saved_eip;
        DecodeCache c = ctxt.decode;
        int port = 0;
        int io_dir_in = 0;
        int rc = 0;

        ctxt.interruptibility = 0;

        // Start from the vCPU's registers again; decode did not change them.
        System.arraycopy(ctxt.vcpu.arch.regs, 0, c.regs, 0, c.regs.length);
        saved_eip = c.eip;

        done:
        {
            writeback:
            {
                cannot_emulate:
                {
                    // Privileged instructions need CPL 0.
                    if ((c.d & Priv) != 0 && vcpu_ops.get_cpl(ctxt.vcpu) != 0) {
                        vcpu_ops.kvm_inject_gp(ctxt.vcpu, 0);
                        break done;
                    }

                    if (((c.d & ModRM) != 0 && c.modrm_mod != 3) || (c.d & MemAbs) != 0) memop = c.modrm_ea;

                    if (c.rep_prefix != 0 && (c.d & String) != 0) {
                        // Every REP ends when the count is 0.
                        // 2.6.33 quirk: the whole RCX is tested and decremented, whatever the address size.
                        if (c.regs[VCPU_REGS_RCX] == 0) {
                            vcpu_ops.kvm_rip_write(ctxt.vcpu, c.eip);
                            break done;
                        }
                        // REPE/REPNE cmps and scas also end on ZF.
                        if (c.b == 0xa6 || c.b == 0xa7 || c.b == 0xae || c.b == 0xaf) {
                            if (c.rep_prefix == REPE_PREFIX && (ctxt.eflags & EFLG_ZF) == 0) {
                                vcpu_ops.kvm_rip_write(ctxt.vcpu, c.eip);
                                break done;
                            }
                            if (c.rep_prefix == REPNE_PREFIX && (ctxt.eflags & EFLG_ZF) == EFLG_ZF) {
                                vcpu_ops.kvm_rip_write(ctxt.vcpu, c.eip);
                                break done;
                            }
                        }
                        // One iteration per emulation: RIP stays on the instruction.
                        c.regs[VCPU_REGS_RCX]--;
                        c.eip = vcpu_ops.kvm_rip_read(ctxt.vcpu);
                    }

                    if (c.src.type == OP_MEM) {
                        c.src.ptr = memop;
                        long[] v = {0};
                        rc = read_into(ops, c.src.ptr, v, c.src.bytes, ctxt.vcpu, false);
                        c.src.val = v[0];
                        if (rc != 0) break done;
                        c.src.orig_val = c.src.val;
                    }

                    if ((c.d & DstMask) != ImplicitOps) {
                        if (c.dst.type == OP_MEM) {
                            c.dst.ptr = memop;
                            c.dst.bytes = (c.d & ByteOp) != 0 ? 1 : c.op_bytes;
                            c.dst.val = 0;
                            if ((c.d & BitOp) != 0) {
                                // bt* with a register bit offset address the bit string beyond the operand.
                                // 2.6.33 quirk: the offset is taken unsigned, so a negative one goes forward.
                                long mask = ~(long) (c.dst.bytes * 8 - 1);
                                c.dst.ptr = c.dst.ptr + ((c.src.val & mask) >>> 3);
                            }
                            // A pure store need not read the destination first.
                            if ((c.d & Mov) == 0) {
                                long[] v = {c.dst.val};
                                rc = read_into(ops, c.dst.ptr, v, c.dst.bytes, ctxt.vcpu, false);
                                c.dst.val = v[0];
                                if (rc != 0) break done;
                            }
                        }
                        c.dst.orig_val = c.dst.val;
                    }

                    // special_insn:
                    if (c.twobyte == 0) {
                        switch (c.b) {
                            // 2.6.33 quirk: cmp and test leave dst as it was, but writeback still stores it,
                            // so a memory destination is written (with its old value) all the same.
                            case 0x00: case 0x01: case 0x02: case 0x03: case 0x04: case 0x05:
                                emulate_2op_SrcV("add", c.src, c.dst, ctxt);
                                break;
                            case 0x06:  // push es
                                emulate_push_sreg(ctxt, VCPU_SREG_ES);
                                break;
                            case 0x07:  // pop es
                                rc = emulate_pop_sreg(ctxt, ops, VCPU_SREG_ES);
                                if (rc != 0) break done;
                                break;
                            case 0x08: case 0x09: case 0x0a: case 0x0b: case 0x0c: case 0x0d:
                                emulate_2op_SrcV("or", c.src, c.dst, ctxt);
                                break;
                            case 0x0e:  // push cs
                                emulate_push_sreg(ctxt, VCPU_SREG_CS);
                                break;
                            case 0x10: case 0x11: case 0x12: case 0x13: case 0x14: case 0x15:
                                emulate_2op_SrcV("adc", c.src, c.dst, ctxt);
                                break;
                            case 0x16:  // push ss
                                emulate_push_sreg(ctxt, VCPU_SREG_SS);
                                break;
                            case 0x17:  // pop ss
                                rc = emulate_pop_sreg(ctxt, ops, VCPU_SREG_SS);
                                if (rc != 0) break done;
                                break;
                            case 0x18: case 0x19: case 0x1a: case 0x1b: case 0x1c: case 0x1d:
                                emulate_2op_SrcV("sbb", c.src, c.dst, ctxt);
                                break;
                            case 0x1e:  // push ds
                                emulate_push_sreg(ctxt, VCPU_SREG_DS);
                                break;
                            case 0x1f:  // pop ds
                                rc = emulate_pop_sreg(ctxt, ops, VCPU_SREG_DS);
                                if (rc != 0) break done;
                                break;
                            case 0x20: case 0x21: case 0x22: case 0x23: case 0x24: case 0x25:
                                emulate_2op_SrcV("and", c.src, c.dst, ctxt);
                                break;
                            case 0x28: case 0x29: case 0x2a: case 0x2b: case 0x2c: case 0x2d:
                                emulate_2op_SrcV("sub", c.src, c.dst, ctxt);
                                break;
                            case 0x30: case 0x31: case 0x32: case 0x33: case 0x34: case 0x35:
                                emulate_2op_SrcV("xor", c.src, c.dst, ctxt);
                                break;
                            case 0x38: case 0x39: case 0x3a: case 0x3b: case 0x3c: case 0x3d:
                                emulate_2op_SrcV("cmp", c.src, c.dst, ctxt);
                                break;
                            case 0x40: case 0x41: case 0x42: case 0x43: case 0x44: case 0x45: case 0x46: case 0x47:
                                emulate_1op("inc", c.dst, ctxt);
                                break;
                            case 0x48: case 0x49: case 0x4a: case 0x4b: case 0x4c: case 0x4d: case 0x4e: case 0x4f:
                                emulate_1op("dec", c.dst, ctxt);
                                break;
                            case 0x50: case 0x51: case 0x52: case 0x53: case 0x54: case 0x55: case 0x56: case 0x57:
                                emulate_push(ctxt);
                                break;
                            // popf and ret pop into eflags / eip through dst, then share pop_instruction.
                            case 0x9d:  // popf
                                // 2.6.33 quirk: no IOPL, VM or reserved-bit filtering of the popped value.
                                c.dst.type = OP_REG;
                                c.dst.ptr = DecodeCache.PTR_EFLAGS;
                                c.dst.bytes = c.op_bytes;
                                // fall through
                            case 0xc3:  // ret
                                if (c.b == 0xc3) {
                                    c.dst.type = OP_REG;
                                    c.dst.ptr = DecodeCache.PTR_EIP;
                                    c.dst.bytes = c.op_bytes;
                                }
                                // fall through
                            case 0x58: case 0x59: case 0x5a: case 0x5b: case 0x5c: case 0x5d: case 0x5e: case 0x5f: {
                                // pop_instruction:
                                long[] v = {c.dst.val};
                                rc = emulate_pop(ctxt, ops, v, c.op_bytes);
                                c.dst.val = v[0];
                                if (rc != 0) break done;
                                break;
                            }
                            case 0x60:  // pusha
                                // 2.6.33 quirk: only the last of the eight pushes (EDI) reaches memory.
                                emulate_pusha(ctxt);
                                break;
                            case 0x61:  // popa
                                rc = emulate_popa(ctxt, ops);
                                if (rc != 0) break done;
                                break;
                            case 0x63:  // movsxd
                                if (ctxt.mode != X86EMUL_MODE_PROT64) break cannot_emulate;
                                c.dst.val = (long) (int) c.src.val;
                                break;
                            case 0x68:  // push imm
                            case 0x6a:  // push imm8
                                emulate_push(ctxt);
                                break;
                            case 0x6c:  // insb
                            case 0x6d:  // insw/insd
                                if (vcpu_ops.kvm_emulate_pio_string(ctxt.vcpu, 1,
                                        (c.d & ByteOp) != 0 ? 1 : c.op_bytes,
                                        c.rep_prefix != 0 ? address_mask(c, c.regs[VCPU_REGS_RCX]) : 1,
                                        (int) (ctxt.eflags & EFLG_DF),
                                        register_address(c, es_base(ctxt), c.regs[VCPU_REGS_RDI]),
                                        c.rep_prefix,
                                        (int) c.regs[VCPU_REGS_RDX]) == 0) {
                                    c.eip = saved_eip;
                                    return -1;
                                }
                                // kvm_emulate_pio_string moved RIP itself; nothing to commit.
                                return 0;
                            case 0x6e:  // outsb
                            case 0x6f:  // outsw/outsd
                                if (vcpu_ops.kvm_emulate_pio_string(ctxt.vcpu, 0,
                                        (c.d & ByteOp) != 0 ? 1 : c.op_bytes,
                                        c.rep_prefix != 0 ? address_mask(c, c.regs[VCPU_REGS_RCX]) : 1,
                                        (int) (ctxt.eflags & EFLG_DF),
                                        register_address(c, seg_override_base(ctxt, c), c.regs[VCPU_REGS_RSI]),
                                        c.rep_prefix,
                                        (int) c.regs[VCPU_REGS_RDX]) == 0) {
                                    c.eip = saved_eip;
                                    return -1;
                                }
                                return 0;
                            case 0x70: case 0x71: case 0x72: case 0x73: case 0x74: case 0x75: case 0x76: case 0x77:
                            case 0x78: case 0x79: case 0x7a: case 0x7b: case 0x7c: case 0x7d: case 0x7e: case 0x7f:
                                if (test_cc(c.b, ctxt.eflags) != 0) jmp_rel(c, c.src.val);
                                break;
                            case 0x80: case 0x81: case 0x82: case 0x83:  // Grp1: the C jumps to the ALU cases
                                // 2.6.33 quirk: modrm_reg includes REX.R, so with REX.R (8..15) no ALU case
                                // matches and the destination is written back unchanged.
                                if (c.modrm_reg < 8) emulate_2op_SrcV(GRP1_OPS[c.modrm_reg], c.src, c.dst, ctxt);
                                break;
                            case 0x84: case 0x85:
                                emulate_2op_SrcV("test", c.src, c.dst, ctxt);
                                break;
                            // xchg reg,rAX: set up src as rAX, then the xchg path below.
                            case 0x90:
                                if ((c.rex_prefix & 1) == 0) {  // nop
                                    c.dst.type = OP_NONE;
                                    break;
                                }
                                // fall through: with REX.B this is xchg r8,rax
                            case 0x91: case 0x92: case 0x93: case 0x94: case 0x95: case 0x96: case 0x97:
                                c.src.type = c.dst.type = OP_REG;
                                c.src.bytes = c.dst.bytes = c.op_bytes;
                                c.src.ptr = reg_ptr(VCPU_REGS_RAX);
                                c.src.val = reg_load(c, c.src.ptr, 8);
                                // fall through
                            case 0x86: case 0x87:  // xchg
                                // The register side first...
                                switch (c.dst.bytes) {
                                    case 1 -> reg_store(ctxt, c.src.ptr, 1, c.dst.val);
                                    case 2 -> reg_store(ctxt, c.src.ptr, 2, c.dst.val);
                                    case 4 -> reg_store(ctxt, c.src.ptr, 8, c.dst.val & 0xffffffffL);
                                    case 8 -> reg_store(ctxt, c.src.ptr, 8, c.dst.val);
                                    default -> { }
                                }
                                // ...then dst through writeback, LOCKed as xchg always is.
                                c.dst.val = c.src.val;
                                c.lock_prefix = 1;
                                break;
                            case 0x88: case 0x89: case 0x8a: case 0x8b:  // mov
                            case 0xb0: case 0xb1: case 0xb2: case 0xb3: case 0xb4: case 0xb5: case 0xb6: case 0xb7:
                            case 0xb8: case 0xb9: case 0xba: case 0xbb: case 0xbc: case 0xbd: case 0xbe: case 0xbf:
                            case 0xc6: case 0xc7:                        // mov r/m, imm (Grp11)
                                c.dst.val = c.src.val;
                                break;
                            case 0x8c: {  // mov r/m, sreg
                                // 2.6.33 quirk: the memory form stores op_bytes, not 2 bytes.
                                KvmSegment segreg = new KvmSegment();
                                if (c.modrm_reg <= 5) {
                                    vcpu_ops.kvm_get_segment(ctxt.vcpu, segreg, c.modrm_reg);
                                } else {
                                    System.err.printf("0x8c: Invalid segreg in modrm byte 0x%02x%n", c.modrm);
                                    break cannot_emulate;
                                }
                                c.dst.val = segreg.selector;
                                break;
                            }
                            case 0x8d:  // lea
                                c.dst.val = c.modrm_ea;
                                break;
                            case 0x8e: {  // mov sreg, r/m16
                                int sel = (int) (c.src.val & 0xffff);
                                int type_bits;
                                int err;

                                if (c.modrm_reg == VCPU_SREG_CS) {
                                    vcpu_ops.kvm_queue_exception(ctxt.vcpu, UD_VECTOR);
                                    break done;
                                }
                                if (c.modrm_reg == VCPU_SREG_SS) toggle_interruptibility(ctxt, X86_SHADOW_INT_MOV_SS);

                                if (c.modrm_reg <= 5) {
                                    type_bits = c.modrm_reg == 1 ? 9 : 1;
                                    err = vcpu_ops.kvm_load_segment_descriptor(ctxt.vcpu, sel, type_bits, c.modrm_reg);
                                } else {
                                    System.err.printf("Invalid segreg in modrm byte 0x%02x%n", c.modrm);
                                    break cannot_emulate;
                                }
                                if (err < 0) break cannot_emulate;

                                c.dst.type = OP_NONE;
                                break;
                            }
                            case 0x8f:  // pop r/m
                                rc = emulate_grp1a(ctxt, ops);
                                if (rc != 0) break done;
                                break;
                            case 0x9c:  // pushf
                                c.src.val = ctxt.eflags;
                                emulate_push(ctxt);
                                break;
                            case 0xa0: case 0xa1:  // mov al/eAX, moffs
                                c.dst.ptr = reg_ptr(VCPU_REGS_RAX);
                                c.dst.val = c.src.val;
                                break;
                            case 0xa2: case 0xa3:  // mov moffs, al/eAX
                                c.dst.val = c.regs[VCPU_REGS_RAX];
                                break;
                            case 0xa4: case 0xa5: {  // movs
                                c.dst.type = OP_MEM;
                                c.dst.bytes = (c.d & ByteOp) != 0 ? 1 : c.op_bytes;
                                c.dst.ptr = register_address(c, es_base(ctxt), c.regs[VCPU_REGS_RDI]);
                                long[] v = {c.dst.val};
                                rc = read_into(ops, register_address(c, seg_override_base(ctxt, c), c.regs[VCPU_REGS_RSI]),
                                        v, c.dst.bytes, ctxt.vcpu, false);
                                c.dst.val = v[0];
                                if (rc != 0) break done;
                                long step = (ctxt.eflags & EFLG_DF) != 0 ? -c.dst.bytes : c.dst.bytes;
                                c.regs[VCPU_REGS_RSI] = register_address_increment(c, c.regs[VCPU_REGS_RSI], step);
                                c.regs[VCPU_REGS_RDI] = register_address_increment(c, c.regs[VCPU_REGS_RDI], step);
                                break;
                            }
                            case 0xa6: case 0xa7: {  // cmps
                                c.src.type = OP_NONE;
                                c.src.bytes = (c.d & ByteOp) != 0 ? 1 : c.op_bytes;
                                c.src.ptr = register_address(c, seg_override_base(ctxt, c), c.regs[VCPU_REGS_RSI]);
                                long[] v = {c.src.val};
                                rc = read_into(ops, c.src.ptr, v, c.src.bytes, ctxt.vcpu, false);
                                c.src.val = v[0];
                                if (rc != 0) break done;

                                c.dst.type = OP_NONE;
                                c.dst.bytes = (c.d & ByteOp) != 0 ? 1 : c.op_bytes;
                                c.dst.ptr = register_address(c, es_base(ctxt), c.regs[VCPU_REGS_RDI]);
                                v[0] = c.dst.val;
                                rc = read_into(ops, c.dst.ptr, v, c.dst.bytes, ctxt.vcpu, false);
                                c.dst.val = v[0];
                                if (rc != 0) break done;

                                // 2.6.33 quirk: this computes [ES:RDI] - [DS:RSI], the reverse of cmps, so
                                // CF, SF, OF and AF come out as for swapped operands (ZF is right).
                                emulate_2op_SrcV("cmp", c.src, c.dst, ctxt);

                                c.regs[VCPU_REGS_RSI] = register_address_increment(c, c.regs[VCPU_REGS_RSI],
                                        (ctxt.eflags & EFLG_DF) != 0 ? -c.src.bytes : c.src.bytes);
                                c.regs[VCPU_REGS_RDI] = register_address_increment(c, c.regs[VCPU_REGS_RDI],
                                        (ctxt.eflags & EFLG_DF) != 0 ? -c.dst.bytes : c.dst.bytes);
                                break;
                            }
                            case 0xaa: case 0xab:  // stos
                                c.dst.type = OP_MEM;
                                c.dst.bytes = (c.d & ByteOp) != 0 ? 1 : c.op_bytes;
                                c.dst.ptr = register_address(c, es_base(ctxt), c.regs[VCPU_REGS_RDI]);
                                c.dst.val = c.regs[VCPU_REGS_RAX];
                                c.regs[VCPU_REGS_RDI] = register_address_increment(c, c.regs[VCPU_REGS_RDI],
                                        (ctxt.eflags & EFLG_DF) != 0 ? -c.dst.bytes : c.dst.bytes);
                                break;
                            case 0xac: case 0xad: {  // lods
                                c.dst.type = OP_REG;
                                c.dst.bytes = (c.d & ByteOp) != 0 ? 1 : c.op_bytes;
                                c.dst.ptr = reg_ptr(VCPU_REGS_RAX);
                                long[] v = {c.dst.val};
                                rc = read_into(ops, register_address(c, seg_override_base(ctxt, c), c.regs[VCPU_REGS_RSI]),
                                        v, c.dst.bytes, ctxt.vcpu, false);
                                c.dst.val = v[0];
                                if (rc != 0) break done;
                                c.regs[VCPU_REGS_RSI] = register_address_increment(c, c.regs[VCPU_REGS_RSI],
                                        (ctxt.eflags & EFLG_DF) != 0 ? -c.dst.bytes : c.dst.bytes);
                                break;
                            }
                            case 0xae: case 0xaf:  // scas
                                // 2.6.33 quirk: scas decodes (and its REP prologue runs) but is not emulated.
                                break cannot_emulate;
                            case 0xc0: case 0xc1:
                                emulate_grp2(ctxt);
                                break;
                            case 0xcb:  // ret far
                                rc = emulate_ret_far(ctxt, ops);
                                if (rc != 0) break done;
                                break;
                            case 0xd0: case 0xd1:  // Grp2 by 1
                                c.src.val = 1;
                                emulate_grp2(ctxt);
                                break;
                            case 0xd2: case 0xd3:  // Grp2 by CL
                                c.src.val = c.regs[VCPU_REGS_RCX];
                                emulate_grp2(ctxt);
                                break;
                            // in/out: the port, then the shared do_io below.
                            // 2.6.33 quirk: the DX forms pass all of EDX as the port.
                            case 0xe4: case 0xe5:  // in imm8
                            case 0xe6: case 0xe7:  // out imm8
                            case 0xec: case 0xed:  // in dx
                            case 0xee: case 0xef:  // out dx
                                port = c.b < 0xe8 ? (int) c.src.val : (int) c.regs[VCPU_REGS_RDX];
                                io_dir_in = (c.b & 2) == 0 ? 1 : 0;
                                // do_io:
                                // 2.6.33 quirk: kvm_emulate_pio answers 1 when the kernel handled the port
                                // itself, and that is taken as failure (cannot_emulate).
                                if (vcpu_ops.kvm_emulate_pio(ctxt.vcpu, io_dir_in, (c.d & ByteOp) != 0 ? 1 : c.op_bytes,
                                        port) != 0) {
                                    c.eip = saved_eip;
                                    break cannot_emulate;
                                }
                                break;
                            case 0xe8: {  // call near relative
                                long rel = c.src.val;
                                c.src.val = c.eip;
                                jmp_rel(c, rel);
                                emulate_push(ctxt);
                                break;
                            }
                            case 0xe9:  // jmp rel
                            case 0xeb:  // jmp rel8
                                jmp_rel(c, c.src.val);
                                c.dst.type = OP_NONE;
                                break;
                            case 0xea:  // jmp far
                                if (vcpu_ops.kvm_load_segment_descriptor(ctxt.vcpu, (int) c.src2.val, 9, VCPU_SREG_CS) < 0)
                                    break cannot_emulate;
                                c.eip = c.src.val;
                                break;
                            case 0xf4:  // hlt
                                ctxt.vcpu.arch.halt_request = 1;
                                break;
                            case 0xf5:  // cmc
                                ctxt.eflags ^= EFLG_CF;
                                c.dst.type = OP_NONE;
                                break;
                            case 0xf6: case 0xf7:  // Grp3
                                rc = emulate_grp3(ctxt, ops);
                                if (rc != 0) break done;
                                break;
                            case 0xf8:  // clc
                                ctxt.eflags &= ~EFLG_CF;
                                c.dst.type = OP_NONE;
                                break;
                            case 0xfa:  // cli
                                ctxt.eflags &= ~X86_EFLAGS_IF;
                                c.dst.type = OP_NONE;
                                break;
                            case 0xfb:  // sti: interrupts stay blocked for one more instruction
                                toggle_interruptibility(ctxt, X86_SHADOW_INT_STI);
                                ctxt.eflags |= X86_EFLAGS_IF;
                                c.dst.type = OP_NONE;
                                break;
                            case 0xfc:  // cld
                                ctxt.eflags &= ~EFLG_DF;
                                c.dst.type = OP_NONE;
                                break;
                            case 0xfd:  // std
                                ctxt.eflags |= EFLG_DF;
                                c.dst.type = OP_NONE;
                                break;
                            case 0xfe: case 0xff:  // Grp4/Grp5
                                rc = emulate_grp45(ctxt, ops);
                                if (rc != 0) break done;
                                break;
                            default:
                                // 2.6.33 quirk: opcodes that decode but have no case here (9a call far,
                                // cc int3, cd int, ce into, cf iret) fall through to writeback: they are
                                // skipped as if executed.
                                break;
                        }
                        break writeback;
                    }

                    // twobyte_insn:
                    switch (c.b) {
                        case 0x01: {  // Grp7: lgdt, lidt, smsw, lmsw, invlpg; vmcall, vmmcall
                            int[] size = {0};
                            long[] address = {0};
                            switch (c.modrm_reg) {
                                case 0:  // vmcall
                                    if (c.modrm_mod != 3 || c.modrm_rm != 1) break cannot_emulate;
                                    rc = vcpu_ops.kvm_fix_hypercall(ctxt.vcpu);
                                    if (rc != 0) break done;
                                    // Run the patched hypercall instruction again.
                                    c.eip = vcpu_ops.kvm_rip_read(ctxt.vcpu);
                                    c.dst.type = OP_NONE;
                                    break;
                                case 2:  // lgdt
                                    rc = read_descriptor(ctxt, ops, c.src.ptr, size, address, c.op_bytes);
                                    if (rc != 0) break done;
                                    vcpu_ops.realmode_lgdt(ctxt.vcpu, size[0], address[0]);
                                    c.dst.type = OP_NONE;
                                    break;
                                case 3:  // lidt / vmmcall
                                    if (c.modrm_mod == 3) {
                                        if (c.modrm_rm == 1) {
                                            // 2.6.33 quirk: unlike vmcall, RIP is not rewound, so the
                                            // patched instruction is skipped rather than re-executed.
                                            rc = vcpu_ops.kvm_fix_hypercall(ctxt.vcpu);
                                            if (rc != 0) break done;
                                        } else {
                                            break cannot_emulate;
                                        }
                                    } else {
                                        rc = read_descriptor(ctxt, ops, c.src.ptr, size, address, c.op_bytes);
                                        if (rc != 0) break done;
                                        vcpu_ops.realmode_lidt(ctxt.vcpu, size[0], address[0]);
                                    }
                                    c.dst.type = OP_NONE;
                                    break;
                                case 4:  // smsw
                                    c.dst.bytes = 2;
                                    c.dst.val = vcpu_ops.realmode_get_cr(ctxt.vcpu, 0);
                                    break;
                                case 6: {  // lmsw
                                    long[] rflags = {ctxt.eflags};
                                    vcpu_ops.realmode_lmsw(ctxt.vcpu, c.src.val & 0xffff, rflags);
                                    ctxt.eflags = rflags[0];
                                    c.dst.type = OP_NONE;
                                    break;
                                }
                                case 7:  // invlpg
                                    vcpu_ops.emulate_invlpg(ctxt.vcpu, memop);
                                    c.dst.type = OP_NONE;
                                    break;
                                default:
                                    break cannot_emulate;
                            }
                            break;
                        }
                        case 0x05:  // syscall
                            if (emulate_syscall(ctxt) == -1) break cannot_emulate;
                            break;
                        case 0x06:  // clts
                            vcpu_ops.emulate_clts(ctxt.vcpu);
                            c.dst.type = OP_NONE;
                            break;
                        case 0x08:  // invd
                        case 0x09:  // wbinvd
                        case 0x0d:  // GrpP (prefetch)
                        case 0x18:  // Grp16 (prefetch hints)
                            c.dst.type = OP_NONE;
                            break;
                        // 2.6.33 quirk: mov to/from CR and DR refuse mod != 3, which a real processor
                        // ignores (these are always register forms).
                        case 0x20:  // mov reg, crN
                            if (c.modrm_mod != 3) break cannot_emulate;
                            c.regs[c.modrm_rm] = vcpu_ops.realmode_get_cr(ctxt.vcpu, c.modrm_reg);
                            c.dst.type = OP_NONE;
                            break;
                        case 0x21: {  // mov reg, drN
                            if (c.modrm_mod != 3) break cannot_emulate;
                            long[] dest = {c.regs[c.modrm_rm]};
                            rc = vcpu_ops.emulator_get_dr(ctxt, c.modrm_reg, dest);
                            c.regs[c.modrm_rm] = dest[0];
                            if (rc != 0) break cannot_emulate;
                            c.dst.type = OP_NONE;
                            break;
                        }
                        case 0x22: {  // mov crN, reg
                            if (c.modrm_mod != 3) break cannot_emulate;
                            long[] rflags = {ctxt.eflags};
                            vcpu_ops.realmode_set_cr(ctxt.vcpu, c.modrm_reg, c.modrm_val, rflags);
                            ctxt.eflags = rflags[0];
                            c.dst.type = OP_NONE;
                            break;
                        }
                        case 0x23:  // mov drN, reg
                            if (c.modrm_mod != 3) break cannot_emulate;
                            rc = vcpu_ops.emulator_set_dr(ctxt, c.modrm_reg, c.regs[c.modrm_rm]);
                            if (rc != 0) break cannot_emulate;
                            c.dst.type = OP_NONE;
                            break;
                        case 0x30: {  // wrmsr
                            long msr_data = (c.regs[VCPU_REGS_RAX] & 0xffffffffL) | (c.regs[VCPU_REGS_RDX] << 32);
                            rc = vcpu_ops.kvm_set_msr(ctxt.vcpu, (int) c.regs[VCPU_REGS_RCX], msr_data);
                            if (rc != 0) {
                                vcpu_ops.kvm_inject_gp(ctxt.vcpu, 0);
                                c.eip = vcpu_ops.kvm_rip_read(ctxt.vcpu);
                            }
                            rc = X86EMUL_CONTINUE;
                            c.dst.type = OP_NONE;
                            break;
                        }
                        case 0x32: {  // rdmsr
                            long[] msr_data = {0};
                            rc = vcpu_ops.kvm_get_msr(ctxt.vcpu, (int) c.regs[VCPU_REGS_RCX], msr_data);
                            if (rc != 0) {
                                vcpu_ops.kvm_inject_gp(ctxt.vcpu, 0);
                                c.eip = vcpu_ops.kvm_rip_read(ctxt.vcpu);
                            } else {
                                c.regs[VCPU_REGS_RAX] = msr_data[0] & 0xffffffffL;
                                c.regs[VCPU_REGS_RDX] = msr_data[0] >>> 32;
                            }
                            rc = X86EMUL_CONTINUE;
                            c.dst.type = OP_NONE;
                            break;
                        }
                        case 0x34:  // sysenter
                            if (emulate_sysenter(ctxt) == -1) break cannot_emulate;
                            break;
                        case 0x35:  // sysexit
                            if (emulate_sysexit(ctxt) == -1) break cannot_emulate;
                            break;
                        case 0x40: case 0x41: case 0x42: case 0x43: case 0x44: case 0x45: case 0x46: case 0x47:
                        case 0x48: case 0x49: case 0x4a: case 0x4b: case 0x4c: case 0x4d: case 0x4e: case 0x4f:
                            // cmovcc. 2.6.33 quirk: a false condition writes nothing, so a 32-bit cmov in long
                            // mode does not clear the upper half of the destination as hardware does.
                            c.dst.val = c.dst.orig_val = c.src.val;
                            if (test_cc(c.b, ctxt.eflags) == 0) c.dst.type = OP_NONE;
                            break;
                        case 0x80: case 0x81: case 0x82: case 0x83: case 0x84: case 0x85: case 0x86: case 0x87:
                        case 0x88: case 0x89: case 0x8a: case 0x8b: case 0x8c: case 0x8d: case 0x8e: case 0x8f:
                            // jcc rel16/32
                            if (test_cc(c.b, ctxt.eflags) != 0) jmp_rel(c, c.src.val);
                            c.dst.type = OP_NONE;
                            break;
                        case 0xa0:  // push fs
                            emulate_push_sreg(ctxt, VCPU_SREG_FS);
                            break;
                        case 0xa1:  // pop fs
                            rc = emulate_pop_sreg(ctxt, ops, VCPU_SREG_FS);
                            if (rc != 0) break done;
                            break;
                        case 0xa3:  // bt
                        case 0xab:  // bts
                        case 0xb3:  // btr
                        case 0xbb:  // btc
                        case 0xba: {  // Grp8: bt/bts/btr/btc by modrm_reg & 3
                            int which = c.b == 0xba ? c.modrm_reg & 3 : (c.b >> 3) & 3;
                            if (which == 0) c.dst.type = OP_NONE;  // bt only reads
                            // Only the offset within the operand; the address was moved above (BitOp).
                            c.src.val &= (c.dst.bytes << 3) - 1;
                            emulate_2op_SrcV_nobyte(GRP8_OPS[which], c.src, c.dst, ctxt);
                            break;
                        }
                        case 0xa4:  // shld imm8
                        case 0xa5:  // shld cl
                            emulate_2op_cl("shld", c.src2, c.src, c.dst, ctxt);
                            break;
                        case 0xa8:  // push gs
                            emulate_push_sreg(ctxt, VCPU_SREG_GS);
                            break;
                        case 0xa9:  // pop gs
                            rc = emulate_pop_sreg(ctxt, ops, VCPU_SREG_GS);
                            if (rc != 0) break done;
                            break;
                        case 0xac:  // shrd imm8
                        case 0xad:  // shrd cl
                            emulate_2op_cl("shrd", c.src2, c.src, c.dst, ctxt);
                            break;
                        case 0xae:  // Grp15 (clflush, fences, ...)
                            // 2.6.33 quirk: every 0f ae form is a no-op here.
                            break;
                        case 0xb0: case 0xb1:  // cmpxchg
                            // 2.6.33 quirk: the compare is dst - rAX (the reverse of cmpxchg's rAX - dst),
                            // so only ZF is what hardware would give.
                            c.src.orig_val = c.src.val;
                            c.src.val = c.regs[VCPU_REGS_RAX];
                            emulate_2op_SrcV("cmp", c.src, c.dst, ctxt);
                            if ((ctxt.eflags & EFLG_ZF) != 0) {
                                // Equal: store the source.
                                c.dst.val = c.src.orig_val;
                            } else {
                                // Different: rAX receives what was seen.
                                c.dst.type = OP_REG;
                                c.dst.ptr = reg_ptr(VCPU_REGS_RAX);
                            }
                            break;
                        case 0xb6: case 0xb7:  // movzx
                            c.dst.bytes = c.op_bytes;
                            c.dst.val = (c.d & ByteOp) != 0 ? c.src.val & 0xff : c.src.val & 0xffff;
                            break;
                        case 0xbe: case 0xbf:  // movsx
                            c.dst.bytes = c.op_bytes;
                            c.dst.val = (c.d & ByteOp) != 0 ? (long) (byte) c.src.val : (long) (short) c.src.val;
                            break;
                        case 0xc3:  // movnti
                            c.dst.bytes = c.op_bytes;
                            c.dst.val = c.op_bytes == 4 ? c.src.val & 0xffffffffL : c.src.val;
                            break;
                        case 0xc7:  // Grp9: cmpxchg8b
                            rc = emulate_grp9(ctxt, ops, memop);
                            if (rc != 0) break done;
                            c.dst.type = OP_NONE;
                            break;
                        default:
                            break;
                    }
                    break writeback;
                }
                // cannot_emulate:
                c.eip = saved_eip;
                return -1;
            }
            // writeback:
            rc = writeback(ctxt, ops);
            if (rc != 0) break done;

            // Commit the shadow registers.
            System.arraycopy(c.regs, 0, ctxt.vcpu.arch.regs, 0, c.regs.length);
            vcpu_ops.kvm_rip_write(ctxt.vcpu, c.eip);
        }
        // done:
        if (rc == X86EMUL_UNHANDLEABLE) {
            c.eip = saved_eip;
            return -1;
        }
        return 0;
    }
}
