package kvmkmod.hw.soft;

import kvmkmod.hw.VmxCapabilities;
import kvmkmod.hw.VmxCpu;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static kvmkmod.hw.VmxArch.*;
import static kvmkmod.hw.soft.SoftArch.GP;
import static kvmkmod.hw.soft.SoftArch.UD;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A virtual-8086 task under a protected-mode ring-0 monitor, as an operating system runs one (SDM 20.3
 * "Interrupt and Exception Handling in Virtual-8086 Mode"): events go through the protected-mode IDT to
 * ring 0 on the TSS stack with GS, FS, DS, ES saved; IRETD with EFLAGS.VM = 1 returns; the
 * IOPL-sensitive instructions fault at IOPL &lt; 3, and CR4.VME turns them into VIF operations.
 * The guest runs with paging (4-MiB identity pages) since unrestricted guest is off.
 */
class SoftCpuV86IdtTest {
    private VmxHarness h;
    /** 16-bit code at 0500:0000 (linear 0x5000); stack 0200:0100; DS 0300, ES 0400, FS 0600, GS 0700. */
    private static final int CODE = 0x5000;

    @BeforeEach void setUp() {
        VmxCapabilities caps = VmxCapabilities.westmere();
        caps.unrestrictedGuest = false;
        h = new VmxHarness(caps);
        h.w(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_ENABLE_VPID);
        h.protected32(new long[]{0, 0x00cf9a000000ffffL, 0x00cf92000000ffffL});
        h.ram.buf.putInt(0x20000, 0xe7); // page directory: one 4-MiB identity page, user, writable
        h.w(GUEST_CR0, 0x80010031L);
        h.w(GUEST_CR3, 0x20000);
        h.w(GUEST_CR4, 0x2010);
        // TSS: ESP0 0x9000 / SS0 0x10 (protected32), I/O map base 0x88, redirection and I/O bitmaps clear
        h.ram.buf.putShort(0x30066, (short) 0x88);
        h.put8(0x30088 + 0x2000, 0xff);
        h.w(GUEST_TR_LIMIT, 0x2088);
        int[] selF = {GUEST_ES_SELECTOR, GUEST_CS_SELECTOR, GUEST_SS_SELECTOR, GUEST_DS_SELECTOR, GUEST_FS_SELECTOR, GUEST_GS_SELECTOR};
        int[] sels = {0x400, 0x500, 0x200, 0x300, 0x600, 0x700};
        for (int k = 0; k < 6; k++) {
            h.w(selF[k], sels[k]);
            h.w(GUEST_ES_BASE + 2 * k, sels[k] << 4);
            h.w(GUEST_ES_LIMIT + 2 * k, 0xffff);
            h.w(GUEST_ES_AR_BYTES + 2 * k, 0xf3);
        }
        h.w(GUEST_RIP, 0);
        h.w(GUEST_RSP, 0x100);
        h.w(GUEST_RFLAGS, 0x20002); // VM = 1, IOPL = 0
        // ring-0 handler: look at the data segments, skip the one-byte faulting instruction, return
        h.load(0x6000,
                0x8c, 0xda,                     // mov edx, ds
                0x8c, 0xc7,                     // mov edi, es
                0x83, 0x44, 0x24, 0x04, 0x01,   // add dword [esp+4], 1
                0x83, 0xc4, 0x04,               // add esp, 4 (the error code)
                0xcf);                          // iretd
        gate(GP, 0x6000, 0);
    }

    @AfterEach void tearDown() { h.close(); }

    /** IDT[vector]: 32-bit interrupt gate to 0008:off with the given DPL. */
    private void gate(int vector, int off, int dpl) {
        h.ram.buf.putLong(0x1400 + 8 * vector, off & 0xffffL | 8L << 16 | (0x8e00L | dpl << 13) << 32 | (off & 0xffff0000L) << 32);
    }

    private int frame(int k) { return h.ram.buf.getInt(0x9000 - 4 * k); }

    @Test void exceptionFromVirtual8086ModeGoesToRingZeroAndIretdReturns() {
        h.regs()[VmxCpu.RDX] = 0xffff;
        h.regs()[VmxCpu.RDI] = 0xffff;
        h.load(CODE,
                0xfa,                           // cli: IOPL 0 -> #GP(0) to the ring-0 handler
                0x8c, 0xde,                     // mov si, ds
                0x8c, 0xed,                     // mov bp, gs
                0xe6, 0x10);                    // out 0x10, al
        h.launch();
        assertThat(h.exitReason()).as("%s", h.cpu.lastExitNote()).isEqualTo(EXIT_REASON_IO_INSTRUCTION);
        assertThat(h.rip()).isEqualTo(5);
        // the frame on the ring-0 stack, from the top: GS FS DS ES SS ESP EFLAGS CS EIP error code
        assertThat(new int[]{frame(1), frame(2), frame(3), frame(4), frame(5), frame(6)})
                .containsExactly(0x700, 0x600, 0x300, 0x400, 0x200, 0x100);
        assertThat(frame(7) & 0x20000).as("pushed EFLAGS.VM").isNotZero();
        assertThat(frame(8)).as("CS").isEqualTo(0x500);
        assertThat(frame(10)).as("error code").isZero();
        assertThat(h.regs()[VmxCpu.RDX] & 0xffff).as("DS in the handler: null").isZero();
        assertThat(h.regs()[VmxCpu.RDI] & 0xffff).as("ES in the handler: null").isZero();
        // back in virtual-8086 mode with the saved segments
        assertThat(h.rflags() & 0x20000).isNotZero();
        assertThat(h.regs()[VmxCpu.RSI] & 0xffff).isEqualTo(0x300);
        assertThat(h.regs()[VmxCpu.RBP] & 0xffff).isEqualTo(0x700);
        assertThat(h.r(GUEST_CS_SELECTOR)).isEqualTo(0x500);
        assertThat(h.r(GUEST_SS_BASE)).isEqualTo(0x2000);
        assertThat(h.r(GUEST_RSP)).isEqualTo(0x100);
    }

    @Test void externalInterruptInjectedInVirtual8086ModeRunsItsRingZeroHandler() {
        gate(0x20, 0x6100, 0);
        h.load(0x6100,
                0x8b, 0x1c, 0x24,               // mov ebx, [esp] (the pushed EIP)
                0x8c, 0xd1,                     // mov ecx, ss
                0xcf);                          // iretd
        h.load(CODE, 0x90, 0xe6, 0x10);         // nop; out 0x10, al
        h.w(GUEST_RIP, 1);
        h.w(GUEST_RFLAGS, 0x20202);             // an external interrupt is injected only with IF = 1
        h.w(VM_ENTRY_INTR_INFO_FIELD, INTR_INFO_VALID_MASK | INTR_TYPE_EXT_INTR | 0x20);
        h.launch();
        assertThat(h.exitReason()).as("%s", h.cpu.lastExitNote()).isEqualTo(EXIT_REASON_IO_INSTRUCTION);
        assertThat(h.regs()[VmxCpu.RBX]).as("return EIP").isEqualTo(1);
        assertThat(h.regs()[VmxCpu.RCX] & 0xffff).as("ring-0 SS from the TSS").isEqualTo(0x10);
        assertThat(h.rip()).isEqualTo(1);
        assertThat(h.rflags() & 0x20000).isNotZero();
    }

    @Test void softwareInterruptAtIopl3WithoutVmeUsesTheIdtAndNeedsADpl3Gate() {
        h.w(GUEST_RFLAGS, 0x23002);
        gate(0x21, 0x6200, 3);
        h.load(0x6200, 0x43, 0xcf);             // inc ebx; iretd
        gate(0x22, 0x6200, 0);
        h.w(EXCEPTION_BITMAP, 1 << GP);
        h.load(CODE, 0xcd, 0x21, 0xcd, 0x22);   // int 0x21; int 0x22
        h.launch();
        // INT 0x21 ran its handler; INT 0x22's gate DPL 0 < CPL 3: #GP(vector * 8 + 2), EXT clear
        h.expectException(GP, 0x22 * 8 + 2, 2);
        assertThat(h.regs()[VmxCpu.RBX]).isEqualTo(1);
    }

    @Test void ioplSensitiveInstructionsFaultBelowIopl3WithoutVme() {
        h.w(EXCEPTION_BITMAP, 1 << GP);
        h.load(CODE,
                0xfa,                           // cli
                0xfb,                           // sti
                0x9c,                           // pushf
                0x9d,                           // popf
                0xcd, 0x21,                     // int 0x21
                0xcf,                           // iret
                0xe6, 0x10);                    // out 0x10, al: the TSS I/O bitmap allows it
        int[] at = {0, 1, 2, 3, 4, 6};
        h.launch();
        for (int ip : at) {
            h.expectException(GP, 0, ip);
            h.w(GUEST_RIP, ip == 4 ? 6 : ip + 1);
            h.resume();
        }
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_IO_INSTRUCTION);
        assertThat(h.r(GUEST_RSP)).as("nothing was pushed or popped").isEqualTo(0x100);
    }

    @Test void vmeTurnsCliStiPushfPopfAndIntIntoVirtualInterruptFlagOperations() {
        h.w(GUEST_CR4, 0x2011);
        h.w(GUEST_RFLAGS, 0xa0002);             // VM, VIF; IF = 0, IOPL = 0
        h.ivt(0x21, 0, 0x3000);
        h.load(0x3000,
                0x9c,                           // pushf: IF shows VIF, cleared by the INT
                0x58,                           // pop ax
                0xcf);                          // iret: the popped IF sets VIF again
        h.load(CODE,
                0xfa,                           // cli: VIF = 0
                0x9c,                           // pushf (0x20fe): IF = 0, IOPL = 3
                0xfb,                           // sti: VIF = 1
                0x9c,                           // pushf (0x20fc): IF = 1
                0xcd, 0x21,                     // int 0x21 through the IVT (redirection bit clear)
                0x9c,                           // pushf (0x20fa): IF = 1
                0x66, 0x9c);                    // pushfd: #GP(0)
        h.w(EXCEPTION_BITMAP, 1 << GP);
        h.launch();
        h.expectException(GP, 0, 7);
        assertThat(h.peek16(0x20fe) & 0x3200).isEqualTo(0x3000);
        assertThat(h.peek16(0x20fc) & 0x3200).isEqualTo(0x3200);
        assertThat(h.regs()[VmxCpu.RAX] & 0x3200).as("FLAGS seen by the 8086 handler").isEqualTo(0x3000);
        assertThat(h.peek16(0x20fa) & 0x3200).isEqualTo(0x3200);
        assertThat(h.rflags() & 0x83200).as("VIF set; IF and IOPL untouched").isEqualTo(0x80000);
    }

    @Test void vmeStiWithVirtualInterruptPendingAndPopfSettingTfFault() {
        h.w(GUEST_CR4, 0x2011);
        h.w(GUEST_RFLAGS, 0x120002);            // VM, VIP
        h.w(EXCEPTION_BITMAP, 1 << GP);
        h.load(CODE,
                0xfb,                           // sti with VIP: #GP(0)
                0x68, 0x00, 0x01,               // push 0x100 (TF)
                0x9d);                          // popf: TF under VME -> #GP(0), SP restored
        h.launch();
        h.expectException(GP, 0, 0);
        h.w(GUEST_RIP, 1);
        h.resume();
        h.expectException(GP, 0, 4);
        assertThat(h.r(GUEST_RSP)).isEqualTo(0xfe);
        assertThat(h.rflags() & 0x80100).isZero();
    }

    @Test void protectedModeVirtualInterruptsLetRing3CliAndStiChangeVif() {
        // CR4.PVI at CPL 3 with IOPL 0: CLI/STI work on VIF (SDM 20.4); PUSHF is not affected
        h.protected32(new long[]{0, 0x00cf9a000000ffffL, 0x00cf92000000ffffL, 0x00cffa000000ffffL, 0x00cff2000000ffffL});
        h.w(GUEST_CR0, 0x80010031L);
        h.w(GUEST_CR4, 0x2012);
        h.w(GUEST_CS_SELECTOR, 0x1b);
        h.w(GUEST_CS_BASE, 0);
        h.w(GUEST_CS_AR_BYTES, 0xc0fb);
        for (int f : new int[]{0, 2, 3, 4, 5}) {
            h.w(GUEST_ES_SELECTOR + 2 * f, 0x23);
            h.w(GUEST_ES_BASE + 2 * f, 0);
            h.w(GUEST_ES_LIMIT + 2 * f, 0xffffffffL);
            h.w(GUEST_ES_AR_BYTES + 2 * f, 0xc0f3);
        }
        h.w(GUEST_RFLAGS, 0x80002);
        h.w(EXCEPTION_BITMAP, 1 << GP);
        h.load(0x2000, 0xfa, 0xfb, 0xfa, 0x0f, 0x0b); // cli; sti; cli; ud2
        h.w(EXCEPTION_BITMAP, 1 << UD);
        h.launch();
        assertThat(h.cpu.lastEntryFailure()).isNull();
        assertThat(h.exitReason()).as("gpa %x rip %x", h.r(GUEST_PHYSICAL_ADDRESS), h.rip()).isEqualTo(EXIT_REASON_EXCEPTION_NMI);
        h.expectException(UD, -1, 0x2003);
        assertThat(h.rflags() & 0x80200).as("VIF cleared by the last CLI, IF untouched").isZero();
        h.w(GUEST_RIP, 0x2001);
        h.resume();
        h.expectException(UD, -1, 0x2003);
        h.w(GUEST_CR4, 0x2010);                 // without PVI CLI faults at CPL 3 > IOPL
        h.w(EXCEPTION_BITMAP, 1 << GP);
        h.w(GUEST_RIP, 0x2000);
        h.resume();
        h.expectException(GP, 0, 0x2000);
    }

    /**
     * SDM 20.3.3 "Class of Software Interrupt Handling", methods 3 and 4: with CR4.VME, INT n whose bit
     * is set in the TSS redirection bitmap goes through the protected-mode IDT at IOPL 3 and faults
     * below it; a clear bit sends it to the 8086 IVT.
     */
    @Test void vmeRedirectionBitmapBitSetSendsIntNToTheIdtAtIopl3AndFaultsBelow() {
        h.w(GUEST_CR4, 0x2011);
        h.put8(0x30088 - 32 + (0x21 >> 3), 1 << (0x21 & 7)); // redirection bit of vector 0x21
        gate(0x21, 0x6200, 3);
        h.load(0x6200, 0x43, 0xcf);             // inc ebx; iretd
        h.ivt(0x22, 0, 0x3000);
        h.load(0x3000, 0x41, 0xcf);             // inc cx; iret (the 8086 handler)
        h.load(CODE, 0xcd, 0x21, 0xcd, 0x22, 0xe6, 0x10); // int 0x21; int 0x22; out 0x10, al
        h.w(GUEST_RFLAGS, 0x23002);             // IOPL 3
        h.w(EXCEPTION_BITMAP, 1 << GP);
        h.launch();
        assertThat(h.exitReason()).as("%s", h.cpu.lastExitNote()).isEqualTo(EXIT_REASON_IO_INSTRUCTION);
        assertThat(h.regs()[VmxCpu.RBX]).as("ring-0 handler ran").isEqualTo(1);
        assertThat(h.regs()[VmxCpu.RCX]).as("8086 handler ran").isEqualTo(1);
        h.w(GUEST_RFLAGS, 0x20002);             // IOPL 0: INT 0x21 (bit set) faults, INT 0x22 (bit clear) does not
        h.w(GUEST_RIP, 0);
        h.resume();
        h.expectException(GP, 0, 0);
        h.w(GUEST_RIP, 2);
        h.resume();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_IO_INSTRUCTION);
        assertThat(h.regs()[VmxCpu.RCX]).isEqualTo(2);
    }
}
