package kvmkmod.hw.soft;

import kvmkmod.hw.VmxCpu;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static kvmkmod.hw.VmxArch.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Instruction fetch and near branches against the CS limit (SDM Vol. 3 5.3 "Limit Checking"; Vol. 2 "JMP",
 * "CALL", "RET"): #GP(0) when a byte of the instruction lies beyond CS.limit, at the branch when its target
 * does, in protected and real-address mode; in 64-bit mode no limit, but a non-canonical target is #GP(0) at
 * the branch. Each case is run with the decoded-instruction cache on and off.
 */
class SoftCpuCodeLimitTest {
    private static final int GP_VECTOR = 13;
    /** GDT: 0x08 32-bit code, base 0, byte-granular limit 0x2fff; 0x10 flat data; 0x18 flat 32-bit code. */
    private static final long[] GDT = {0, 0x00409a0000002fffL, 0x00cf92000000ffffL, 0x00cf9a000000ffffL};
    private VmxHarness h;

    @BeforeEach void setUp() { h = new VmxHarness(); }

    @AfterEach void tearDown() { h.close(); }

    /** A clear, current VMCS for the next launch, as a VMM does for a new vCPU. */
    private static void fresh(VmxHarness g) {
        g.cpu.vmclear(g.vmcs.hpa);
        g.cpu.vmptrld(g.vmcs.hpa);
    }

    /** 32-bit protected mode at 0x2000 with CS limit 0x2fff, #GP exiting. */
    private void limited(VmxHarness g) {
        fresh(g);
        g.protected32(GDT);
        g.w(GUEST_CS_LIMIT, 0x2fff);
        g.w(GUEST_CS_AR_BYTES, 0x409b);
        g.w(EXCEPTION_BITMAP, 1 << GP_VECTOR);
    }

    /** Runs {@code code} at 0x2000 (and {@code tail} at 0x2ff8) with the cache on or off; registers and RIP after. */
    private List<Long> runLimited(boolean cache, int[] code, int[] tail, long gpRip) {
        try (VmxHarness g = new VmxHarness()) {
            g.cpu.setDecodeCache(cache);
            limited(g);
            g.load(0x2000, code);
            g.load(0x2ff8, tail);
            assertThat(g.launch()).isEqualTo(VmxCpu.VM_SUCCEED);
            g.expectException(GP_VECTOR, 0, gpRip);
            List<Long> o = new ArrayList<>();
            for (long r : g.regs()) o.add(r);
            o.add(g.r(GUEST_RSP));
            o.add(g.cpu.instructionsRetired());
            return o;
        }
    }

    @Test void anInstructionEndingPastTheLimitFaultsAtItsStart() {
        int[] loop = {0xb9, 0x03, 0x00, 0x00, 0x00,    // mov ecx, 3
                0xe8, 0xee, 0x0f, 0x00, 0x00,           // l: call 0x2ff8
                0x49,                                   // dec ecx
                0x75, 0xf8,                             // jnz l
                0xf4};
        // at 0x2ff8: five INC EAX, then MOV EAX, imm32 whose last four bytes lie past 0x2fff
        int[] tail = {0x40, 0x40, 0x40, 0x40, 0x40, 0xb8, 0x11, 0x22, 0x33, 0x44};
        List<Long> on = runLimited(true, loop, tail, 0x2ffd);
        assertThat(on.get(VmxCpu.RAX)).isEqualTo(5);
        assertThat(on.get(VmxCpu.RCX)).isEqualTo(3);
        assertThat(on).isEqualTo(runLimited(false, loop, tail, 0x2ffd));
    }

    @Test void runningOffTheEndOfTheSegmentFaultsAtTheFirstByteBeyond() {
        int[] jump = {0xe9, 0xf3, 0x0f, 0x00, 0x00};    // jmp 0x2ff8
        int[] tail = {0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40}; // eight INC EAX to the limit, one beyond
        List<Long> on = runLimited(true, jump, tail, 0x3000);
        assertThat(on.get(VmxCpu.RAX)).isEqualTo(8);
        assertThat(on).isEqualTo(runLimited(false, jump, tail, 0x3000));
    }

    @Test void nearBranchesBeyondTheLimitFaultAtTheBranch() {
        limited(h);
        h.load(0x2000, 0xe9, 0xfb, 0x0f, 0x00, 0x00);  // jmp 0x3000
        h.launch();
        h.expectException(GP_VECTOR, 0, 0x2000);

        limited(h);
        h.load(0x2000, 0xeb, 0x10);                     // jmp short 0x2012: inside, then
        h.load(0x2012, 0xe8, 0xe9, 0x0f, 0x00, 0x00);   // call 0x3000: nothing pushed
        h.launch();
        h.expectException(GP_VECTOR, 0, 0x2012);
        assertThat(h.r(GUEST_RSP)).isEqualTo(0x9000);

        limited(h);
        h.load(0x2000, 0x68, 0x00, 0x30, 0x00, 0x00,    // push 0x3000
                0xc3);                                  // ret: the stack pointer is left as it was
        h.launch();
        h.expectException(GP_VECTOR, 0, 0x2005);
        assertThat(h.r(GUEST_RSP)).isEqualTo(0x8ffc);
    }

    /**
     * A block decoded while CS had a 4-GiB limit is not run once a far jump loads a CS with a lower one: the
     * subroutine at 0x2ff8 runs whole five times, then faults half-way through.
     */
    @Test void aCachedBlockIsNotRunPastALoweredLimit() {
        int[] code = {0xb9, 0x05, 0x00, 0x00, 0x00,    // mov ecx, 5
                0xe8, 0xee, 0x0f, 0x00, 0x00,           // l: call 0x2ff8
                0x49,                                   // dec ecx
                0x75, 0xf8,                             // jnz l
                0xea, 0x14, 0x20, 0x00, 0x00, 0x20, 0x00, // jmp 0x20:0x2014
                0xe8, 0xdf, 0x0f, 0x00, 0x00,           // call 0x2ff8
                0xf4};
        int[] tail = {0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0xc3}; // eight INC EAX; ret
        long[] gdt = {0, 0x00cf9a000000ffffL, 0x00cf92000000ffffL, 0, 0x00409a0000002ffbL}; // 0x20: limit 0x2ffb
        List<List<Long>> runs = new ArrayList<>();
        for (boolean cache : new boolean[]{true, false}) {
            try (VmxHarness g = new VmxHarness()) {
                g.cpu.setDecodeCache(cache);
                g.protected32(gdt);
                g.w(EXCEPTION_BITMAP, 1 << GP_VECTOR);
                g.load(0x2000, code);
                g.load(0x2ff8, tail);
                g.launch();
                g.expectException(GP_VECTOR, 0, 0x2ffc);
                assertThat(g.regs()[VmxCpu.RAX]).isEqualTo(5 * 8 + 4);
                assertThat(g.r(GUEST_CS_SELECTOR)).isEqualTo(0x20);
                List<Long> o = new ArrayList<>();
                for (long r : g.regs()) o.add(r);
                o.add(g.cpu.instructionsRetired());
                runs.add(o);
            }
        }
        assertThat(runs.get(0)).isEqualTo(runs.get(1));
    }

    /** Real-address mode: CS.limit is 0xffff, and an instruction crossing 0xffff is #GP(0). */
    @Test void realModeInstructionAcrossTheSegmentEnd() {
        h.setupRealModeGuest(0, 0xfffe);
        h.w(EXCEPTION_BITMAP, 1 << GP_VECTOR);
        h.load(0xfffe, 0xb8, 0x34, 0x12);               // mov ax, 0x1234: its last byte at IP 0x10000
        h.launch();
        h.expectException(GP_VECTOR, 0, 0xfffe);
        assertThat(h.regs()[VmxCpu.RAX] & 0xffff).isZero();
    }

    /** 64-bit mode: no CS limit, but a non-canonical near-branch target is #GP(0) at the branch. */
    @Test void nonCanonicalBranchTargetsFaultAtTheBranch() {
        SoftCpuLongModeTest.enterLongMode(h);
        h.w(EXCEPTION_BITMAP, 1 << GP_VECTOR);
        h.load(0x2000,
                0x48, 0xb8, 0, 0, 0, 0, 0, 0x80, 0, 0,  // mov rax, 0x0000800000000000
                0xff, 0xe0);                            // jmp rax
        h.launch();
        h.expectException(GP_VECTOR, 0, 0x200a);

        fresh(h);
        SoftCpuLongModeTest.enterLongMode(h);
        h.w(EXCEPTION_BITMAP, 1 << GP_VECTOR);
        h.load(0x2000,
                0x48, 0xb8, 0, 0xf0, 0xff, 0xff, 0xff, 0x7f, 0, 0, // mov rax, 0x00007ffffffff000
                0x48, 0x05, 0x00, 0x10, 0x00, 0x00,     // add rax, 0x1000
                0x50,                                   // push rax
                0xc3);                                  // ret
        h.launch();
        h.expectException(GP_VECTOR, 0, 0x2011);
        assertThat(h.r(GUEST_RSP)).isEqualTo(0x8ff8);
    }
}
