package kvmkmod.hw.soft;

import kvmkmod.hw.VmxCpu;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

import static kvmkmod.hw.VmxArch.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The decoded-instruction cache ({@link SoftDecodeCache}) changes nothing a guest or a debugger can see:
 * self-modifying code, a code page remapped by a CR3 load, a fault in the middle of a cached block, single-step
 * and breakpoints, and the retired-instruction count (RDTSC) and budget exits are the same with the cache on
 * and off. Each guest loops, so that its code runs from blocks decoded once.
 */
class SoftDecodeCacheTest {
    private VmxHarness h;

    @BeforeEach void setUp() { h = new VmxHarness(); }

    @AfterEach void tearDown() { h.close(); }

    private SoftCpu cpu() { return h.cpu; }

    private int blocksBuilt() { return cpu().decodedBlocks(); }

    @Test void aGuestThatPatchesItsLoopRunsTheNewInstruction() {
        h.load(0x1000,
                0xb9, 0x64, 0x00,               // mov cx, 100
                0x90,                           // l: nop            (becomes inc ax)
                0xc6, 0x06, 0x03, 0x10, 0x40,   // mov byte [0x1003], 0x40
                0x43,                           // inc bx
                0x49,                           // dec cx
                0x75, 0xf6,                     // jnz l
                0xf4);                          // hlt
        assertThat(h.launch()).isEqualTo(VmxCpu.VM_SUCCEED);
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_HLT);
        assertThat(h.regs()[VmxCpu.RBX] & 0xffff).isEqualTo(100);
        // the first round ran the NOP, every later one the INC written over it
        assertThat(h.regs()[VmxCpu.RAX] & 0xffff).isEqualTo(99);
    }

    @Test void aStoreToTheNextInstructionOfTheRunningBlockTakesEffect() {
        h.load(0x1000,
                0xb9, 0x0a, 0x00,               // mov cx, 10
                0xc6, 0x06, 0x0b, 0x10, 0x40,   // l: mov byte [0x100b], 0x40
                0x43,                           // inc bx
                0x66, 0x90,                     // xchg ax, ax (a NOP) ...
                0x90,                           // ... and at 0x100b the NOP made INC AX by the store above
                0x49,                           // dec cx
                0x75, 0xf4,                     // jnz l
                0xf4);                          // hlt
        h.launch();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_HLT);
        assertThat(h.regs()[VmxCpu.RAX] & 0xffff).isEqualTo(10);
        assertThat(h.regs()[VmxCpu.RBX] & 0xffff).isEqualTo(10);
    }

    @Test void codeWrittenByTheVmmBetweenEntriesIsSeen() {
        h.load(0x1000, 0x40, 0xe6, 0x10, 0xeb, 0xfb); // l: inc ax; out 0x10, al; jmp l
        h.launch();
        h.skipAndResume();
        assertThat(h.regs()[VmxCpu.RAX] & 0xffff).isEqualTo(2);
        h.put8(0x1000, 0x48);                       // the VMM turns INC AX into DEC AX while the guest is out
        h.skipAndResume();
        h.skipAndResume();
        assertThat(h.regs()[VmxCpu.RAX] & 0xffff).isEqualTo(0);
    }

    /**
     * 32-bit paging: two page directories map linear 0x400000 to different physical pages holding different
     * code; the guest calls into it in a loop, loads CR3 with the other directory and loops again.
     */
    @Test void aCr3LoadThatRemapsTheCodePageRunsTheNewCode() {
        flat32();
        h.w(GUEST_CR0, 0x80010031L | 0x60000000L);
        h.w(GUEST_CR3, 0x20000);
        for (int pd : new int[]{0x20000, 0x23000}) {
            h.ram.buf.putInt(pd, 0x21000 | 7);                              // PDE0: the first MiB, identity
            h.ram.buf.putInt(pd + 4, (pd == 0x20000 ? 0x22000 : 0x24000) | 7); // PDE1: linear 0x400000
        }
        for (int i = 0; i < 256; i++) h.ram.buf.putInt(0x21000 + 4 * i, i * 0x1000 | 3);
        h.ram.buf.putInt(0x22000, 0x5000 | 7);
        h.ram.buf.putInt(0x24000, 0x6000 | 7);
        h.load(0x1000, code(
                0xb9, 0x64, 0x00, 0x00, 0x00,   // mov ecx, 100
                0xe9, rel(0x100a, 0x400000),    // l1: jmp 0x400000
                0x49,                           // back1: dec ecx
                0x75, 0xf8,                     // jnz l1
                0xb8, 0x00, 0x30, 0x02, 0x00,   // mov eax, 0x23000
                0x0f, 0x22, 0xd8,               // mov cr3, eax
                0xb9, 0x64, 0x00, 0x00, 0x00,   // mov ecx, 100
                0xe9, rel(0x101f, 0x400000),    // l2: jmp 0x400000
                0x49,                           // back2: dec ecx
                0x75, 0xf8,                     // jnz l2
                0xf4));                         // hlt
        // linear 0x400000 in the first address space: add ebx, 1; jmp back1
        h.load(0x5000, code(0x83, 0xc3, 0x01, 0xe9, rel(0x400008, 0x100a)));
        // ... and in the second: add ebx, 0x10; jmp back2
        h.load(0x6000, code(0x83, 0xc3, 0x10, 0xe9, rel(0x400008, 0x101f)));
        h.launch();
        assertThat(h.exitReason()).as("%s", h.cpu.lastExitNote()).isEqualTo(EXIT_REASON_HLT);
        assertThat(h.regs()[VmxCpu.RBX]).isEqualTo(100 + 100 * 0x10);
    }

    /** The guest runs in flat 32-bit protected mode from 0x1000, owning CR0. */
    private void flat32() {
        h.w(CR0_GUEST_HOST_MASK, 0);
        h.w(GUEST_CR0, 0x60010031L);
        h.flatSegments(8, 0xc09b, 0x10, 0xc093, 0, 2, 3, 4, 5);
    }

    /** Machine code from bytes and byte arrays. */
    private static int[] code(Object... parts) {
        List<Integer> out = new ArrayList<>();
        for (Object p : parts) {
            if (p instanceof int[]) for (int b : (int[]) p) out.add(b);
            else out.add((Integer) p);
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    /** The four bytes of a rel32 from the next instruction's address to a target. */
    private static int[] rel(long next, long target) {
        int d = (int) (target - next);
        return new int[]{d & 0xff, (d >> 8) & 0xff, (d >> 16) & 0xff, d >>> 24};
    }

    /** A loop whose load faults (EPT violation) after 128 rounds, in the middle of its block. */
    private static void faultingLoop(VmxHarness h) {
        h.load(0x1000,
                0xbe, 0x00, 0x2f,               // mov si, 0x2f00
                0xb9, 0xc8, 0x00,               // mov cx, 200
                0x40,                           // l: inc ax
                0x8b, 0x1c,                     // mov bx, [si]
                0x83, 0xc6, 0x02,               // add si, 2
                0x42,                           // inc dx
                0x49,                           // dec cx
                0x75, 0xf6,                     // jnz l
                0xf4);                          // hlt
        h.unmap(0x3000);
    }

    @Test void aFaultInTheMiddleOfACachedBlockRestartsAtTheFaultingInstruction() {
        faultingLoop(h);
        h.launch();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_EPT_VIOLATION);
        assertThat(h.r(GUEST_PHYSICAL_ADDRESS)).isEqualTo(0x3000);
        assertThat(h.rip()).isEqualTo(0x1007);
        assertThat(h.regs()[VmxCpu.RAX] & 0xffff).as("the INC before the load retired").isEqualTo(129);
        assertThat(h.regs()[VmxCpu.RDX] & 0xffff).as("the INC after it did not").isEqualTo(128);
        assertThat(h.regs()[VmxCpu.RSI] & 0xffff).isEqualTo(0x3000);
        // 2 + 128 rounds of 6 + the INC AX of round 129
        assertThat(cpu().instructionsRetired()).isEqualTo(2 + 128 * 6 + 1);
        assertThat(blocksBuilt()).as("the loop ran from a block decoded once").isLessThan(10);
        h.map(0x3000, 7);
        h.resume();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_HLT);
        assertThat(h.regs()[VmxCpu.RAX] & 0xffff).isEqualTo(200);
        assertThat(h.regs()[VmxCpu.RDX] & 0xffff).isEqualTo(200);
        assertThat(cpu().instructionsRetired()).isEqualTo(2 + 200 * 6);
    }

    private void countingLoop() {
        h.load(0x1000,
                0xb9, 0x32, 0x00,               // mov cx, 50
                0x01, 0xcb,                     // l: add bx, cx
                0x49,                           // dec cx
                0x75, 0xfb,                     // jnz l
                0xe6, 0x10,                     // out 0x10, al
                0xb9, 0x32, 0x00,               // mov cx, 50
                0x01, 0xcb,                     // l2: add bx, cx
                0x49,                           // dec cx
                0x75, 0xfb,                     // jnz l2
                0xf4);                          // hlt
    }

    @Test void aDebuggerAttachedAfterCachedRunsStillStopsBeforeEveryInstruction() {
        countingLoop();
        h.launch();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_IO_INSTRUCTION);
        assertThat(blocksBuilt()).isPositive();
        List<Long> stops = new ArrayList<>();
        cpu().setDebugger((c, rip, bp) -> { stops.add(rip); return true; });
        cpu().setSingleStep(true);
        long before = cpu().instructionsRetired();
        h.skipAndResume();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_HLT);
        // mov, 50 rounds of add/dec/jnz, and a stop before the exiting HLT
        assertThat(stops).hasSize(1 + 50 * 3 + 1);
        assertThat(stops.subList(1, 4)).containsExactly(0x100dL, 0x100fL, 0x1010L);
        assertThat(cpu().instructionsRetired() - before).isEqualTo(1 + 50 * 3);
    }

    @Test void aBreakpointInACachedLoopStopsOnEveryRound() {
        countingLoop();
        h.launch();
        List<Long> cx = new ArrayList<>();
        cpu().setDebugger((c, rip, bp) -> { cx.add(c.regs()[VmxCpu.RCX] & 0xffff); return false; });
        cpu().addBreakpoint(0x100f);
        h.skipAndResume();
        assertThat(cx).hasSize(50);
        assertThat(cx.get(0)).isEqualTo(50);
        assertThat(cx.get(49)).isEqualTo(1);
    }

    /** What a run leaves behind: registers, the guest's RDTSC readings, the exit and the retired count. */
    private List<Long> outcome(boolean cache, Consumer<VmxHarness> run) {
        try (VmxHarness g = new VmxHarness()) {
            g.cpu.setDecodeCache(cache);
            run.accept(g);
            List<Long> o = new ArrayList<>();
            for (long r : g.regs()) o.add(r);
            o.add((long) g.exitReason());
            o.add(g.rflags());
            o.add(g.rip());
            o.add(g.cpu.instructionsRetired());
            o.add(g.ram.buf.getLong(0x4000));
            o.add(g.ram.buf.getLong(0x4008));
            if (cache) assertThat(g.cpu.decodedBlocks()).isPositive();
            else assertThat(g.cpu.decodedBlocks()).isZero();
            return o;
        }
    }

    @Test void rdtscAndTheRetiredCountAreTheSameWithAndWithoutTheCache() {
        Consumer<VmxHarness> run = g -> {
            g.load(0x1000,
                    0x66, 0xb9, 0x10, 0x27, 0x00, 0x00, // mov ecx, 10000
                    0x0f, 0x31,                         // rdtsc
                    0x66, 0xa3, 0x00, 0x40,             // mov [0x4000], eax
                    0x66, 0x01, 0xc3,                   // l: add ebx, eax
                    0x88, 0x1e, 0x00, 0x50,             // mov [0x5000], bl
                    0x02, 0x16, 0x00, 0x50,             // add dl, [0x5000]
                    0x66, 0x40,                         // inc eax
                    0x66, 0x49,                         // dec ecx
                    0x75, 0xef,                         // jnz l
                    0x0f, 0x31,                         // rdtsc
                    0x66, 0xa3, 0x08, 0x40,             // mov [0x4008], eax
                    0xf4);                              // hlt
            g.launch();
            assertThat(g.exitReason()).isEqualTo(EXIT_REASON_HLT);
        };
        assertThat(outcome(true, run)).isEqualTo(outcome(false, run));
    }

    @Test void aBudgetExitHappensAtTheSameInstructionWithAndWithoutTheCache() {
        Consumer<VmxHarness> run = g -> {
            g.load(0x1000, 0x40, 0x01, 0xc3, 0x88, 0x1e, 0x00, 0x50, 0x49, 0x75, 0xf6); // l: inc ax; add bx, ax; mov [0x5000], bl; dec cx; jnz l
            g.cpu.stopAfter(50_000);
            g.launch();
            assertThat(g.exitReason()).isEqualTo(EXIT_REASON_EXTERNAL_INTERRUPT);
        };
        assertThat(outcome(true, run)).isEqualTo(outcome(false, run));
    }

    /**
     * Flags that the block keeps back (a later op overwrites them, or only CF survives into an INC/DEC) are
     * exact wherever the guest stops: at its HLT, and at budget exits that land anywhere in the loop.
     */
    @Test void flagsHeldBackInsideABlockAreExactAtEveryExit() {
        for (int budget = 0; budget <= 9; budget++) {
            int stop = budget;
            Consumer<VmxHarness> run = g -> {
                g.load(0x1000,
                        0x66, 0xbe, 0x00, 0x01, stop == 0 ? 0x00 : 0x01, 0x00, // mov esi, 0x100 (0x10100 with a budget)
                        0x66, 0x01, 0xc3,               // l: add ebx, eax
                        0x66, 0x40,                     // inc eax
                        0x66, 0x01, 0xd8,               // add eax, ebx
                        0x66, 0x29, 0xc8,               // sub eax, ecx
                        0x66, 0x41,                     // inc ecx
                        0x66, 0x11, 0xc2,               // adc edx, eax
                        0x66, 0x48,                     // dec eax
                        0x66, 0x4e,                     // dec esi
                        0x75, 0xea,                     // jnz l
                        0xf4);                          // hlt
                g.regs()[VmxCpu.RAX] = 0x7ffffff0L;
                g.regs()[VmxCpu.RCX] = 0xfffffff8L;
                if (stop > 0) g.cpu.stopAfter(4096L * 5 * stop + 1);
                g.launch();
                assertThat(g.exitReason()).isEqualTo(stop == 0 ? EXIT_REASON_HLT : EXIT_REASON_EXTERNAL_INTERRUPT);
            };
            assertThat(outcome(true, run)).as("budget %d", stop).isEqualTo(outcome(false, run));
        }
    }

    @Test void theFaultingLoopEndsTheSameWithAndWithoutTheCache() {
        Consumer<VmxHarness> run = g -> {
            faultingLoop(g);
            g.launch();
            assertThat(g.exitReason()).isEqualTo(EXIT_REASON_EPT_VIOLATION);
        };
        assertThat(outcome(true, run)).isEqualTo(outcome(false, run));
    }

    /**
     * A LOCK-prefixed instruction inside a loop of cached ones is left to the interpreter, which runs the
     * accepted LOCK ADD [BX], AX and raises #UD for LOCK ADD AX, BX after the loop.
     */
    @Test void lockPrefixedInstructionsInACachedLoopFollowTheInterpreterRule() {
        Consumer<VmxHarness> run = g -> {
            g.load(0x1000,
                    0xbb, 0x00, 0x40,               // mov bx, 0x4000
                    0xb9, 0x32, 0x00,               // mov cx, 50
                    0x40,                           // l: inc ax
                    0xf0, 0x01, 0x07,               // lock add [bx], ax
                    0x42,                           // inc dx
                    0x49,                           // dec cx
                    0x75, 0xf8,                     // jnz l
                    0xf0, 0x01, 0xd8,               // lock add ax, bx: #UD
                    0xf4);
            g.w(EXCEPTION_BITMAP, 1 << 6);
            g.launch();
            g.expectException(6, -1, 0x100e);
            assertThat(g.ram.buf.getShort(0x4000)).isEqualTo((short) (50 * 51 / 2));
            assertThat(g.regs()[VmxCpu.RAX] & 0xffff).isEqualTo(50);
        };
        assertThat(outcome(true, run)).isEqualTo(outcome(false, run));
    }
}
