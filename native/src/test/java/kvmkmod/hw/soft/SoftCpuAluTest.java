package kvmkmod.hw.soft;

import kvmkmod.hw.VmxCpu;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static kvmkmod.hw.VmxArch.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Arithmetic results and flags, each expected value worked out by hand:
 * CF=0x1 PF=0x4 AF=0x10 ZF=0x40 SF=0x80 OF=0x800.
 */
class SoftCpuAluTest {
    private static final int CF = 1, PF = 4, AF = 0x10, ZF = 0x40, SF = 0x80, OF = 0x800;
    private static final long ARITH = CF | PF | AF | ZF | SF | OF;
    private VmxHarness h;

    @BeforeEach void setUp() { h = new VmxHarness(); }

    @AfterEach void tearDown() { h.close(); }

    /** Runs code at 0x1000 (then HLT) with AX, BX, CX preset; returns the arithmetic flags. */
    private long run(long ax, long bx, long cx, int... code) {
        int[] all = new int[code.length + 1];
        System.arraycopy(code, 0, all, 0, code.length);
        all[code.length] = 0xf4;
        h.load(0x1000, all);
        // a fresh, clear VMCS state for every snippet, as a VMM does for a new vCPU
        h.cpu.vmclear(h.vmcs.hpa);
        h.cpu.vmptrld(h.vmcs.hpa);
        h.setupRealModeGuest(0, 0x1000);
        h.regs()[VmxCpu.RAX] = ax;
        h.regs()[VmxCpu.RBX] = bx;
        h.regs()[VmxCpu.RCX] = cx;
        assertThat(h.launch()).isEqualTo(VmxCpu.VM_SUCCEED);
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_HLT);
        return h.rflags() & ARITH;
    }

    private long ax() { return h.regs()[VmxCpu.RAX]; }

    @Test void addCarryZeroAuxParity() {
        // 0xff + 0x01 = 0x100: AL=0, carry out, carry out of bit 3, even parity of 0
        assertThat(run(0xff, 0x01, 0, 0x00, 0xd8)).isEqualTo(CF | PF | AF | ZF); // add al, bl
        assertThat(ax() & 0xff).isZero();
    }

    @Test void addSignedOverflow() {
        // 0x7f + 1 = 0x80: positive + positive = negative -> OF, SF; AF from bit 3; 0x80 has odd parity
        assertThat(run(0x7f, 0x01, 0, 0x00, 0xd8)).isEqualTo(OF | SF | AF);
        assertThat(ax() & 0xff).isEqualTo(0x80);
    }

    @Test void subBorrow() {
        // 0 - 1 = 0xff: borrow -> CF, AF; SF; 0xff has 8 ones -> PF
        assertThat(run(0x00, 0x01, 0, 0x28, 0xd8)).isEqualTo(CF | AF | SF | PF); // sub al, bl
    }

    @Test void subWordSignedOverflow() {
        // 0x8000 - 1 = 0x7fff: negative - positive = positive -> OF; low nibble borrow -> AF; low byte 0xff -> PF
        assertThat(run(0x8000, 0x0001, 0, 0x29, 0xd8)).isEqualTo(OF | AF | PF); // sub ax, bx
        assertThat(ax() & 0xffff).isEqualTo(0x7fff);
    }

    @Test void adcUsesCarryIn() {
        // stc; adc al, bl: 0x0f + 0 + 1 = 0x10 -> AF only (0x10 has odd parity)
        assertThat(run(0x0f, 0x00, 0, 0xf9, 0x10, 0xd8)).isEqualTo(AF);
        assertThat(ax() & 0xff).isEqualTo(0x10);
        // stc; adc al, bl: 0xff + 0xff + 1 = 0x1ff -> AL 0xff, CF, AF, SF, PF
        assertThat(run(0xff, 0xff, 0, 0xf9, 0x10, 0xd8)).isEqualTo(CF | AF | SF | PF);
    }

    @Test void sbbUsesBorrowIn() {
        // stc; sbb al, bl: 0 - 0 - 1 = 0xff -> CF, AF, SF, PF
        assertThat(run(0x00, 0x00, 0, 0xf9, 0x18, 0xd8)).isEqualTo(CF | AF | SF | PF);
        assertThat(ax() & 0xff).isEqualTo(0xff);
        // stc; sbb al, bl: 5 - 4 - 1 = 0 -> ZF, PF
        assertThat(run(0x05, 0x04, 0, 0xf9, 0x18, 0xd8)).isEqualTo(ZF | PF);
    }

    @Test void incKeepsCarry() {
        // stc; inc al: 0x7f -> 0x80: CF kept, OF, SF, AF
        assertThat(run(0x7f, 0, 0, 0xf9, 0xfe, 0xc0)).isEqualTo(CF | OF | SF | AF);
    }

    @Test void decKeepsCarry() {
        // clc; dec al: 0 -> 0xff: CF stays 0, SF, AF, PF
        assertThat(run(0x00, 0, 0, 0xf8, 0xfe, 0xc8)).isEqualTo(SF | AF | PF);
        // stc; dec ax: 1 -> 0: CF kept, ZF, PF
        assertThat(run(0x01, 0, 0, 0xf9, 0x48)).isEqualTo(CF | ZF | PF);
    }

    @Test void cmpAndNeg() {
        // cmp al, bl with 1, 2: 1 - 2 = 0xff -> CF, AF, SF, PF; AL unchanged
        assertThat(run(0x01, 0x02, 0, 0x38, 0xd8)).isEqualTo(CF | AF | SF | PF);
        assertThat(ax() & 0xff).isEqualTo(1);
        // neg al with 1: 0 - 1 -> CF (operand non-zero), AF, SF, PF
        assertThat(run(0x01, 0, 0, 0xf6, 0xd8)).isEqualTo(CF | AF | SF | PF);
        assertThat(ax() & 0xff).isEqualTo(0xff);
    }

    @Test void shlShrSar() {
        // shl al, 1: 0x81 -> 0x02, CF = old bit 7, OF = MSB(result) ^ CF = 1; 0x02 odd parity
        assertThat(run(0x81, 0, 0, 0xd0, 0xe0)).isEqualTo(CF | OF);
        assertThat(ax() & 0xff).isEqualTo(0x02);
        // shr al, 1: 0x81 -> 0x40, CF = old bit 0, OF = old MSB
        assertThat(run(0x81, 0, 0, 0xd0, 0xe8)).isEqualTo(CF | OF);
        assertThat(ax() & 0xff).isEqualTo(0x40);
        // sar al, 1: 0x81 -> 0xc0, CF = 1, OF = 0, SF, 0xc0 even parity
        assertThat(run(0x81, 0, 0, 0xd0, 0xf8)).isEqualTo(CF | SF | PF);
        assertThat(ax() & 0xff).isEqualTo(0xc0);
        // shl ax, cl with cl = 4: 0x1234 -> 0x2340, CF = bit 12 of 0x1234 = 1
        long f = run(0x1234, 0, 4, 0xd3, 0xe0);
        assertThat(ax() & 0xffff).isEqualTo(0x2340);
        assertThat(f & (CF | ZF | SF | PF)).isEqualTo(CF);
        // shift count 0 leaves the flags alone: stc; shl al, cl (cl = 0)
        assertThat(run(0x00, 0, 0, 0xf9, 0xd2, 0xe0) & CF).isEqualTo(CF);
    }

    @Test void rotates() {
        // rol al, 1: 0x80 -> 0x01, CF = 1, OF = MSB ^ CF = 1
        assertThat(run(0x80, 0, 0, 0xd0, 0xc0) & (CF | OF)).isEqualTo(CF | OF);
        assertThat(ax() & 0xff).isEqualTo(0x01);
        // stc; rcr al, 1: 0x02 -> 0x81, CF = 0
        assertThat(run(0x02, 0, 0, 0xf9, 0xd0, 0xd8) & CF).isZero();
        assertThat(ax() & 0xff).isEqualTo(0x81);
    }

    @Test void thirtyTwoBitOperationsWithOperandSizePrefix() {
        // add eax, ebx: 0xffffffff + 1 = 0 -> CF ZF AF PF
        assertThat(run(0xffffffffL, 1, 0, 0x66, 0x01, 0xd8)).isEqualTo(CF | ZF | AF | PF);
        assertThat(ax()).isZero();
        // mov eax, 0x12345678; mov ebx, eax; shr ebx, 16
        run(0, 0, 0, 0x66, 0xb8, 0x78, 0x56, 0x34, 0x12, 0x66, 0x89, 0xc3, 0x66, 0xc1, 0xeb, 0x10);
        assertThat(h.regs()[VmxCpu.RBX]).isEqualTo(0x1234);
    }

    @Test void mulAndDiv() {
        // mul bl: 0x80 * 2 = 0x100 -> AX, CF = OF = 1 (high half non-zero)
        assertThat(run(0x80, 0x02, 0, 0xf6, 0xe3) & (CF | OF)).isEqualTo(CF | OF);
        assertThat(ax() & 0xffff).isEqualTo(0x100);
        // div bl: 0x107 / 0x10 = 0x10 rem 7
        run(0x107, 0x10, 0, 0xf6, 0xf3);
        assertThat(ax() & 0xffff).isEqualTo(0x0710);
        // idiv bl: -7 / 2 = -3 rem -1
        run(0xfff9, 0x02, 0, 0xf6, 0xfb);
        assertThat(ax() & 0xffff).isEqualTo(0xfffd);
        // 66 mul ebx: 0x80000000 * 4 -> edx = 2, eax = 0
        run(0x80000000L, 4, 0, 0x66, 0xf7, 0xe3);
        assertThat(ax()).isZero();
        assertThat(h.regs()[VmxCpu.RDX]).isEqualTo(2);
        // imul ax, bx, 3 (6b c3 03)
        run(0, 7, 0, 0x6b, 0xc3, 0x03);
        assertThat(ax() & 0xffff).isEqualTo(21);
    }

    @Test void logicClearsCarryAndOverflow() {
        // stc; and al, bl: 0xf0 & 0x0f = 0 -> ZF, PF
        assertThat(run(0xf0, 0x0f, 0, 0xf9, 0x20, 0xd8)).isEqualTo(ZF | PF);
        // test al, 0x80 with 0x80 -> SF
        assertThat(run(0x80, 0, 0, 0xa8, 0x80)).isEqualTo(SF);
    }

    @Test void conditionalInstructions() {
        // cmp ax, bx (3 vs 5); setl cl; cmovl (66) edx, ebx; jb +2; mov al, 1; (skipped)
        run(3, 5, 0,
                0x39, 0xd8,                 // cmp ax, bx
                0x0f, 0x9c, 0xc1,           // setl cl
                0x66, 0x0f, 0x4c, 0xd3,     // cmovl edx, ebx
                0x72, 0x02,                 // jb +2
                0xb0, 0x01);                // mov al, 1 (skipped)
        assertThat(h.regs()[VmxCpu.RCX] & 0xff).isEqualTo(1);
        assertThat(h.regs()[VmxCpu.RDX]).isEqualTo(5);
        assertThat(ax() & 0xff).isEqualTo(3);
    }

    @Test void bitTestAndScan() {
        // bt ax, 3 (0f ba e0 03) on 0x08 -> CF; bsf cx, bx on 0x50 -> 4; bts ax, 0 -> 0x09
        long f = run(0x08, 0x50, 0, 0x0f, 0xba, 0xe0, 0x03, 0x0f, 0xbc, 0xcb, 0x0f, 0xba, 0xe8, 0x00);
        assertThat(f & CF).isZero(); // last BTS saw bit 0 clear
        assertThat(h.regs()[VmxCpu.RCX] & 0xffff).isEqualTo(4);
        assertThat(ax() & 0xffff).isEqualTo(0x09);
    }

    @Test void movzxMovsxXchgLeaCbwCwd() {
        run(0x80, 0x1234, 0,
                0x0f, 0xbe, 0xc8,     // movsx cx, al   -> 0xff80
                0x66, 0x0f, 0xb6, 0xd0, // movzx edx, al -> 0x80
                0x87, 0xd9,           // xchg cx, bx
                0x8d, 0x77, 0x10,     // lea si, [bx+0x10]
                0x98,                 // cbw: ax = 0xff80
                0x99);                // cwd: dx = 0xffff
        assertThat(h.regs()[VmxCpu.RBX] & 0xffff).isEqualTo(0xff80);
        assertThat(h.regs()[VmxCpu.RCX] & 0xffff).isEqualTo(0x1234);
        assertThat(h.regs()[VmxCpu.RSI] & 0xffff).isEqualTo(0xff90);
        assertThat(ax() & 0xffff).isEqualTo(0xff80);
        assertThat(h.regs()[VmxCpu.RDX] & 0xffff).isEqualTo(0xffff);
    }

    @Test void pushaPopaPushfPopf() {
        run(1, 2, 3,
                0x60,                 // pusha
                0x31, 0xc0,           // xor ax, ax
                0x31, 0xdb,           // xor bx, bx
                0x61,                 // popa
                0xf9,                 // stc
                0x9c,                 // pushf
                0xf8,                 // clc
                0x9d);                // popf
        assertThat(ax() & 0xffff).isEqualTo(1);
        assertThat(h.regs()[VmxCpu.RBX] & 0xffff).isEqualTo(2);
        assertThat(h.rflags() & CF).isEqualTo(CF);
        assertThat(h.r(GUEST_RSP)).isEqualTo(0x8000);
    }
}
