package kvmkmod.hw.soft;

import kvmkmod.hw.VmxCpu;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static kvmkmod.hw.VmxArch.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * SDM Vol. 2 "LOCK—Assert LOCK# Signal Prefix": LOCK is accepted by ADD, ADC, AND, BTC, BTR, BTS, CMPXCHG,
 * CMPXCHG8B/16B, DEC, INC, NEG, NOT, OR, SBB, SUB, XOR, XADD and XCHG with a memory destination; any other
 * instruction, or a register destination, is #UD before anything changes. Real-mode guest code at 0x1000,
 * BX pointing at a word of memory at 0x3000; #UD ends in an exception VM exit.
 */
class SoftCpuLockPrefixTest {
    private static final int UD_VECTOR = 6;
    private VmxHarness h;

    @BeforeEach void setUp() { h = new VmxHarness(); }

    @AfterEach void tearDown() { h.close(); }

    /** Runs one instruction then HLT, from fresh state: AX 0x0101, BX 0x3000, CX 0x0202, [0x3000] = 0x11223344. */
    private void run(int... insn) {
        int[] code = new int[insn.length + 1];
        System.arraycopy(insn, 0, code, 0, insn.length);
        code[insn.length] = 0xf4;
        h.load(0x1000, code);
        h.ram.buf.putInt(0x3000, 0x11223344);
        h.cpu.vmclear(h.vmcs.hpa);
        h.cpu.vmptrld(h.vmcs.hpa);
        h.setupRealModeGuest(0, 0x1000);
        h.w(EXCEPTION_BITMAP, 1 << UD_VECTOR);
        h.regs()[VmxCpu.RAX] = 0x0101;
        h.regs()[VmxCpu.RBX] = 0x3000;
        h.regs()[VmxCpu.RCX] = 0x0202;
        assertThat(h.launch()).isEqualTo(VmxCpu.VM_SUCCEED);
    }

    private int mem() { return h.ram.buf.getInt(0x3000); }

    @Test void lockedReadModifyWriteOfMemoryExecutes() {
        run(0xf0, 0x01, 0x07);                        // lock add [bx], ax
        assertThat(h.exitReason()).as("%s", h.cpu.lastExitNote()).isEqualTo(EXIT_REASON_HLT);
        assertThat(mem()).isEqualTo(0x11223445);
        run(0xf0, 0x87, 0x0f);                        // lock xchg [bx], cx
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_HLT);
        assertThat(mem()).isEqualTo(0x11220202);
        assertThat(h.regs()[VmxCpu.RCX] & 0xffff).isEqualTo(0x3344);
        run(0xf0, 0x0f, 0xba, 0x2f, 0x0f);            // lock bts word [bx], 15
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_HLT);
        assertThat(mem()).isEqualTo(0x1122b344);
        run(0xf0, 0xf6, 0x17);                        // lock not byte [bx]
        assertThat(mem()).isEqualTo(0x112233bb);
        run(0xf0, 0xff, 0x0f);                        // lock dec word [bx]
        assertThat(mem()).isEqualTo(0x11223343);
        run(0xf0, 0x0f, 0xc1, 0x07);                  // lock xadd [bx], ax
        assertThat(mem()).isEqualTo(0x11223445);
        assertThat(h.regs()[VmxCpu.RAX] & 0xffff).isEqualTo(0x3344);
        run(0x26, 0xf0, 0x66, 0x83, 0x2f, 0x04);      // es lock sub dword [bx], 4: any prefix order
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_HLT);
        assertThat(mem()).isEqualTo(0x11223340);
        run(0xf0, 0x0f, 0xc7, 0x0f);                  // lock cmpxchg8b [bx]: EDX:EAX differ, so EDX:EAX = [bx]
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_HLT);
        assertThat(h.regs()[VmxCpu.RAX] & 0xffffffffL).isEqualTo(0x11223344L);
    }

    @Test void lockWithARegisterDestinationIsUndefinedOpcode() {
        int[][] cases = {
                {0xf0, 0x01, 0xd8},                   // lock add ax, bx
                {0xf0, 0xff, 0xc0},                   // lock inc ax
                {0xf0, 0x87, 0xc3},                   // lock xchg bx, ax
                {0xf0, 0xf7, 0xd0},                   // lock not ax
                {0xf0, 0x0f, 0xab, 0xc1},             // lock bts cx, ax
        };
        for (int[] c : cases) {
            run(c);
            h.expectException(UD_VECTOR, -1, 0x1000);
            assertThat(h.regs()[VmxCpu.RAX] & 0xffff).isEqualTo(0x0101);
            assertThat(h.regs()[VmxCpu.RCX] & 0xffff).isEqualTo(0x0202);
        }
    }

    @Test void lockOnAnInstructionThatDoesNotAcceptItIsUndefinedOpcode() {
        int[][] cases = {
                {0xf0, 0x89, 0x07},                   // lock mov [bx], ax
                {0xf0, 0x39, 0x07},                   // lock cmp [bx], ax
                {0xf0, 0x80, 0x3f, 0x01},             // lock cmp byte [bx], 1
                {0xf0, 0xf6, 0x07, 0x01},             // lock test byte [bx], 1
                {0xf0, 0x0f, 0xa3, 0x07},             // lock bt [bx], ax
                {0xf0, 0x0f, 0xba, 0x27, 0x05},       // lock bt word [bx], 5
                {0xf0, 0xff, 0x37},                   // lock push word [bx]
                {0xf0, 0x8d, 0x07},                   // lock lea ax, [bx]
                {0xf0, 0x90},                         // lock nop
                {0xf0, 0xf3, 0xa5},                   // lock rep movsw
        };
        for (int[] c : cases) {
            run(c);
            h.expectException(UD_VECTOR, -1, 0x1000);
            assertThat(mem()).isEqualTo(0x11223344);
            assertThat(h.r(GUEST_RSP)).isEqualTo(0x8000);
        }
    }

    /** 64-bit mode: REX between LOCK and the opcode, and the 64-bit forms, follow the same rule. */
    @Test void sixtyFourBitForms() {
        SoftCpuLongModeTest.enterLongMode(h);
        h.w(EXCEPTION_BITMAP, 1 << UD_VECTOR);
        h.ram.buf.putLong(0x3000, 0x1122334455667788L);
        h.load(0x2000,
                0xbb, 0x00, 0x30, 0x00, 0x00,         // mov ebx, 0x3000
                0x48, 0xc7, 0xc0, 0x01, 0x00, 0x00, 0x00, // mov rax, 1
                0xf0, 0x48, 0x01, 0x03,               // lock add [rbx], rax
                0xf0, 0x48, 0x0f, 0xc7, 0x0b,         // lock cmpxchg16b [rbx] (RDX:RAX differ: loads them)
                0xf0, 0x48, 0x01, 0xc3);              // lock add rbx, rax: #UD
        h.launch();
        h.expectException(UD_VECTOR, -1, 0x2015);
        assertThat(h.ram.buf.getLong(0x3000)).isEqualTo(0x1122334455667789L);
        assertThat(h.regs()[VmxCpu.RAX]).isEqualTo(0x1122334455667789L);
        assertThat(h.regs()[VmxCpu.RBX]).isEqualTo(0x3000);
    }
}
