package kvmkmod.hw.soft;

import kvmkmod.hw.VmxCpu;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static kvmkmod.hw.VmxArch.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Trap-class debug exceptions beyond plain single-step: DR0-DR3 data breakpoints (SDM 17.2.4 "Debug
 * Control Register (DR7)", 17.2.5 "Breakpoint Field Recognition", 17.3.1.2 "Data Memory and I/O
 * Breakpoint Exception Conditions"), I/O breakpoints under CR4.DE, and the single-step trap after each
 * iteration of a REP string instruction and after HLT (SDM 17.3.1.4 "Single-Step Exception Condition").
 * 32-bit flat protected mode; #DB either exits (exception bitmap) or runs the guest's handler at IDT[1].
 */
class SoftCpuDebugTrapTest {
    private VmxHarness h;

    @BeforeEach void setUp() {
        h = new VmxHarness();
        h.protected32(new long[]{0, 0x00cf9a000000ffffL, 0x00cf92000000ffffL});
        h.w(CPU_BASED_VM_EXEC_CONTROL, h.r(CPU_BASED_VM_EXEC_CONTROL) & ~CPU_BASED_MOV_DR_EXITING);
    }

    @AfterEach void tearDown() { h.close(); }

    /** Guest code that loads DRn with an address and DR7 with a value, then the rest of the program. */
    private int[] withBreakpoint(int n, int addr, int dr7, int... rest) {
        int[] pre = {
                0xb8, addr & 0xff, (addr >> 8) & 0xff, (addr >> 16) & 0xff, addr >>> 24, // mov eax, addr
                0x0f, 0x23, 0xc0 | n << 3,                                               // mov drN, eax
                0xb8, dr7 & 0xff, (dr7 >> 8) & 0xff, (dr7 >> 16) & 0xff, dr7 >>> 24,     // mov eax, dr7
                0x0f, 0x23, 0xf8};                                                       // mov dr7, eax
        int[] all = new int[pre.length + rest.length];
        System.arraycopy(pre, 0, all, 0, pre.length);
        System.arraycopy(rest, 0, all, pre.length, rest.length);
        return all;
    }

    /** DR7 for breakpoint n: L bit, R/W and LEN fields. */
    private static int dr7(int n, int rw, int len) { return 1 << (2 * n) | rw << (16 + 4 * n) | len << (18 + 4 * n); }

    private void expectDbTrap(long qual, long rip) {
        assertThat(h.exitReason()).as("%s", h.cpu.lastExitNote()).isEqualTo(EXIT_REASON_EXCEPTION_NMI);
        assertThat(h.r(VM_EXIT_INTR_INFO)).as("#DB").isEqualTo(0x80000301L);
        assertThat(h.qual()).as("exit qualification B3-B0 / BS").isEqualTo(qual);
        assertThat(h.rip()).as("trap: RIP after the access").isEqualTo(rip);
    }

    @Test void writeBreakpointTrapsAfterAWriteOverlappingItsAlignedRange() {
        h.w(EXCEPTION_BITMAP, 1 << 1);
        // DR0 = 0x5002 with LEN 4: the range is 0x5000-0x5003 (low bits ignored)
        h.load(0x2000, withBreakpoint(0, 0x5002, dr7(0, 1, 3),
                0x8b, 0x05, 0x00, 0x50, 0x00, 0x00,             // mov eax, [0x5000]: a read, not watched  (0x2010)
                0xc6, 0x05, 0xff, 0x4f, 0x00, 0x00, 0x01,       // mov byte [0x4fff], 1: outside          (0x2016)
                0x66, 0xc7, 0x05, 0x03, 0x50, 0x00, 0x00, 0x34, 0x12, // mov word [0x5003], 0x1234: hit  (0x201d)
                0xc6, 0x05, 0x04, 0x50, 0x00, 0x00, 0x01,       // mov byte [0x5004], 1: outside          (0x2026)
                0xf4));                                         // hlt                                     (0x202d)
        h.launch();
        expectDbTrap(1, 0x2026);
        assertThat(h.peek16(0x5003)).as("the write happened").isEqualTo(0x1234);
        h.resume();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_HLT);
        assertThat(h.peek8(0x5004)).isEqualTo(1);
    }

    @Test void readWriteBreakpointOfEightBytesCatchesAReadAndSetsDr6InTheGuest() {
        // IDT[1]: interrupt gate to 0008:1300, which reads DR6 and returns
        h.ram.buf.putLong(0x1400 + 8, 0x1300L | 8L << 16 | 0x8e00L << 32);
        h.load(0x1300, 0x0f, 0x21, 0xf2, 0x8b, 0x1c, 0x24, 0xcf); // mov edx, dr6; mov ebx, [esp]; iretd
        h.load(0x2000, withBreakpoint(1, 0x600c, dr7(1, 3, 2),
                0x8b, 0x0d, 0x0f, 0x60, 0x00, 0x00,             // mov ecx, [0x600f]: inside 0x6008-0x600f (0x2010)
                0xf4));                                         // hlt (0x2016)
        h.launch();
        assertThat(h.exitReason()).as("%s", h.cpu.lastExitNote()).isEqualTo(EXIT_REASON_HLT);
        assertThat(h.regs()[VmxCpu.RDX] & 0x400f).as("DR6.B1").isEqualTo(2);
        assertThat(h.regs()[VmxCpu.RBX]).as("pushed EIP: after the read").isEqualTo(0x2016);
    }

    @Test void dataBreakpointInARepStringInstructionTrapsAfterTheMatchingIteration() {
        h.w(EXCEPTION_BITMAP, 1 << 1);
        for (int i = 0; i < 8; i++) h.put8(0x7000 + i, 0x10 + i);
        h.load(0x2000, withBreakpoint(0, 0x5003, dr7(0, 1, 0),
                0xbe, 0x00, 0x70, 0x00, 0x00,                   // mov esi, 0x7000
                0xbf, 0x00, 0x50, 0x00, 0x00,                   // mov edi, 0x5000
                0xb9, 0x08, 0x00, 0x00, 0x00,                   // mov ecx, 8
                0xf3, 0xa4,                                     // rep movsb (0x201f)
                0xf4));
        h.launch();
        expectDbTrap(1, 0x201f);
        assertThat(h.regs()[VmxCpu.RCX]).as("four iterations done").isEqualTo(4);
        assertThat(h.regs()[VmxCpu.RDI]).isEqualTo(0x5004);
        assertThat(h.peek8(0x5003)).isEqualTo(0x13);
        assertThat(h.peek8(0x5004)).as("not yet copied").isZero();
        h.resume();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_HLT);
        assertThat(h.regs()[VmxCpu.RCX]).isZero();
        assertThat(h.peek8(0x5007)).isEqualTo(0x17);
    }

    @Test void ioBreakpointNeedsCr4DeAndTrapsAfterTheAccess() {
        h.w(EXCEPTION_BITMAP, 1 << 1);
        h.w(GUEST_CR4, 0x2008); // DE
        h.load(0x2000, withBreakpoint(2, 0x80, dr7(2, 2, 0),
                0xe6, 0x81,                                     // out 0x81, al: another port (exits)
                0xe6, 0x80,                                     // out 0x80, al (passes through): trap (0x2012)
                0xf4));                                         // (0x2014)
        h.ioPassThrough(0x81, true);
        h.launch();
        expectDbTrap(4, 0x2014);
        // without CR4.DE, R/W = 10 is undefined and the soft CPU treats it as no breakpoint
        h.w(GUEST_CR4, 0x2000);
        h.w(GUEST_RIP, 0x2012);
        h.resume();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_HLT);
    }

    @Test void singleStepTrapsAfterEachIterationOfARepStringInstructionWithRfInTheImage() {
        // IDT[1] handler: keep the last pushed EFLAGS (EBX), OR all of them (EDX), count the traps (EBP)
        h.ram.buf.putLong(0x1400 + 8, 0x1300L | 8L << 16 | 0x8e00L << 32);
        h.load(0x1300,
                0x8b, 0x5c, 0x24, 0x08,                         // mov ebx, [esp+8]
                0x0b, 0x54, 0x24, 0x08,                         // or edx, [esp+8]
                0x8b, 0x04, 0x24,                               // mov eax, [esp] (pushed EIP)
                0x45,                                           // inc ebp
                0xcf);                                          // iretd
        for (int i = 0; i < 3; i++) h.put8(0x7000 + i, 0x21 + i);
        h.regs()[VmxCpu.RSI] = 0x7000;
        h.regs()[VmxCpu.RDI] = 0x5000;
        h.regs()[VmxCpu.RCX] = 3;
        h.load(0x2000, 0xf3, 0xa4, 0xf4);                       // rep movsb; hlt (exits before completing)
        h.w(GUEST_RFLAGS, 0x102);
        h.launch();
        assertThat(h.exitReason()).as("%s", h.cpu.lastExitNote()).isEqualTo(EXIT_REASON_HLT);
        assertThat(h.regs()[VmxCpu.RBP]).as("one trap per iteration").isEqualTo(3);
        assertThat(h.regs()[VmxCpu.RDX] & 0x10000).as("RF pushed for a trap between iterations").isNotZero();
        assertThat(h.regs()[VmxCpu.RBX] & 0x10100).as("last trap: after the last iteration, TF, no RF").isEqualTo(0x100);
        assertThat(h.regs()[VmxCpu.RAX]).as("last pushed EIP: past the instruction").isEqualTo(0x2002);
        assertThat(h.peek8(0x5002)).isEqualTo(0x23);
    }

    @Test void singleStepOverRepStringExitsPerIterationUnderKvmStyleInterception() {
        h.w(EXCEPTION_BITMAP, 1 << 1);
        h.regs()[VmxCpu.RDI] = 0x5000;
        h.regs()[VmxCpu.RCX] = 2;
        h.regs()[VmxCpu.RAX] = 0x5a;
        h.load(0x2000, 0xf3, 0xaa, 0xf4);                       // rep stosb; hlt
        h.w(GUEST_RFLAGS, 0x102);
        h.launch();
        expectDbTrap(0x4000, 0x2000);
        assertThat(h.regs()[VmxCpu.RCX]).isEqualTo(1);
        h.resume();
        expectDbTrap(0x4000, 0x2002);
        assertThat(h.regs()[VmxCpu.RCX]).isZero();
        assertThat(h.peek16(0x5000)).isEqualTo(0x5a5a);
    }

    @Test void singleStepOverHltTrapsPastItInsteadOfHalting() throws Exception {
        h.w(CPU_BASED_VM_EXEC_CONTROL, h.r(CPU_BASED_VM_EXEC_CONTROL) & ~CPU_BASED_HLT_EXITING);
        h.ram.buf.putLong(0x1400 + 8, 0x1300L | 8L << 16 | 0x8e00L << 32);
        h.load(0x1300,
                0x8b, 0x1c, 0x24,                               // mov ebx, [esp]
                0x81, 0x64, 0x24, 0x08, 0xff, 0xfe, 0xff, 0xff, // and dword [esp+8], ~TF
                0xcf);                                          // iretd
        h.load(0x2000, 0xf4, 0x41, 0xe6, 0x10);                 // hlt; inc ecx; out 0x10, al
        h.w(GUEST_RFLAGS, 0x102);
        Thread safety = new Thread(() -> {
            try { Thread.sleep(5000); } catch (InterruptedException e) { return; }
            h.cpu.kick(); // a halted processor would otherwise wait forever
        });
        safety.start();
        try {
            h.launch();
        } finally {
            safety.interrupt();
            safety.join();
        }
        assertThat(h.exitReason()).as("%s", h.cpu.lastExitNote()).isEqualTo(EXIT_REASON_IO_INSTRUCTION);
        assertThat(h.regs()[VmxCpu.RBX]).as("trap: pushed EIP past the HLT").isEqualTo(0x2001);
        assertThat(h.regs()[VmxCpu.RCX] & 0xff).isEqualTo(1);
        assertThat(h.r(GUEST_ACTIVITY_STATE)).isZero();
    }

    /** KVM_SET_GUEST_DEBUG's path: vcpu_enter_guest puts eff_db[] in DR0-DR3 and the VMCS carries DR7. */
    @Test void breakpointAddressesTheHostLoadsBeforeEntryAreTheGuests() {
        h.w(EXCEPTION_BITMAP, 1 << 1);
        h.cpu.set_debugreg(0x5000, 3);
        h.w(GUEST_DR7, 0x400 | dr7(3, 1, 0));
        h.load(0x2000, 0xc6, 0x05, 0x00, 0x50, 0x00, 0x00, 0x07, 0xf4); // mov byte [0x5000], 7; hlt
        h.launch();
        expectDbTrap(8, 0x2007);
        assertThat(h.r(GUEST_DR7) & 0xff).isEqualTo(0x40);
        assertThat(h.cpu.get_debugreg(7)).as("DR7 after the exit (SDM 27.5.1)").isEqualTo(0x400);
        assertThat(h.cpu.get_debugreg(3)).isEqualTo(0x5000);
    }

    @Test void singleStepAndIoBreakpointStopRepOutsAfterAnIteration() {
        h.w(EXCEPTION_BITMAP, 1 << 1);
        h.w(GUEST_CR4, 0x2008); // DE
        h.regs()[VmxCpu.RSI] = 0x7000;
        h.regs()[VmxCpu.RCX] = 3;
        h.regs()[VmxCpu.RDX] = 0x80;            // passes through the I/O bitmap
        h.load(0x2000, withBreakpoint(0, 0x80, dr7(0, 2, 0),
                0xf3, 0x6e,                     // rep outsb (0x2010)
                0xf4));
        h.launch();
        expectDbTrap(1, 0x2010);                // the I/O breakpoint, after the first iteration
        assertThat(h.regs()[VmxCpu.RCX]).isEqualTo(2);
        assertThat(h.regs()[VmxCpu.RSI]).isEqualTo(0x7001);
        h.w(GUEST_CR4, 0x2000);                 // breakpoint off (R/W = 10 undefined); single-step on
        h.w(GUEST_RFLAGS, h.rflags() | 0x100);
        h.resume();
        expectDbTrap(0x4000, 0x2010);
        assertThat(h.regs()[VmxCpu.RCX]).isEqualTo(1);
        h.resume();
        expectDbTrap(0x4000, 0x2012);
        assertThat(h.regs()[VmxCpu.RCX]).isZero();
    }
}
