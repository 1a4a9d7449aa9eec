package kvmkmod.hw.soft;

import kvmkmod.hw.VmxCpu;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static kvmkmod.hw.VmxArch.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * IA-32e mode beyond 64-bit code: compatibility mode (CS.L = 0) entered and left by IRETQ/IRETD and
 * interrupts, SYSCALL/SYSRET (also SYSRET to compatibility mode), SYSENTER/SYSEXIT, SWAPGS,
 * CMPXCHG16B and the canonical-address faults (#GP, and #SS for the stack).
 */
class SoftCpuCompatModeTest {
    private VmxHarness h;

    static final long[] GDT = {
            0,
            0x00af9a000000ffffL,   // 0x08 64-bit code, ring 0
            0x00cf92000000ffffL,   // 0x10 data, ring 0
            0x00cffa000000ffffL,   // 0x18 32-bit code, ring 3 (SYSRET to compatibility mode)
            0x00cff2000000ffffL,   // 0x20 data, ring 3
            0x00affa000000ffffL,   // 0x28 64-bit code, ring 3
            0x00cf9a000000ffffL,   // 0x30 32-bit code, ring 0 (compatibility mode)
    };

    @BeforeEach void setUp() {
        h = new VmxHarness();
        h.ram.buf.putLong(0x20000, 0x21000 | 7);
        h.ram.buf.putLong(0x21000, 0x22000 | 7);
        h.ram.buf.putLong(0x22000, 0x87);
        for (int i = 0; i < GDT.length; i++) h.ram.buf.putLong(0x1108 + 8 * i, GDT[i]);
        // IDT[0x30]: 64-bit interrupt gate to 0008:1300
        h.load(0x1400 + 0x30 * 16, 0x00, 0x13, 0x08, 0x00, 0x00, 0x8e, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0);
        for (int i = 0; i < 4096; i++) h.mem.write8(h.msrBitmap.hpa + i, 0); // MSR accesses run in the guest
        h.w(VM_ENTRY_CONTROLS, h.r(VM_ENTRY_CONTROLS) | VM_ENTRY_IA32E_MODE);
        h.w(GUEST_CR0, 0x80010031L);
        h.w(CR0_READ_SHADOW, 0x80000011L);
        h.w(GUEST_CR4, 0x2020);
        h.w(GUEST_CR3, 0x20000);
        h.flatSegments(8, 0xa09b, 0x10, 0xc093, 0, 2, 3);
        h.w(GUEST_FS_AR_BYTES, 0x10000);
        h.w(GUEST_GS_AR_BYTES, 0x10000);
        h.w(GUEST_LDTR_AR_BYTES, 0x10000);
        h.w(GUEST_TR_BASE, 0x30000);
        h.w(GUEST_TR_LIMIT, 0x67);
        h.w(GUEST_TR_AR_BYTES, 0x8b);
        h.w(GUEST_GDTR_BASE, 0x1108);
        h.w(GUEST_GDTR_LIMIT, 8 * GDT.length - 1);
        h.w(GUEST_IDTR_BASE, 0x1400);
        h.w(GUEST_IDTR_LIMIT, 0xfff);
        h.w(GUEST_RSP, 0x9000);
        h.w(GUEST_RIP, 0x2000);
    }

    @AfterEach void tearDown() { h.close(); }

    private void expectFaultExit(int vector, int error, long rip) { h.expectException(vector, error, rip); }

    @Test void iretqToCompatibilityModeInterruptsFromItAndIretdInIt() {
        h.load(0x2000,
                0x48, 0xc7, 0xc4, 0x00, 0x90, 0x00, 0x00, // mov rsp, 0x9000
                0x6a, 0x10,                              // push 0x10       (SS)
                0x68, 0x00, 0x80, 0x00, 0x00,            // push 0x8000     (RSP)
                0x9c,                                    // pushfq
                0x6a, 0x30,                              // push 0x30       (32-bit CS: compatibility mode)
                0x68, 0x00, 0x21, 0x00, 0x00,            // push 0x2100
                0x48, 0xcf);                             // iretq
        h.load(0x2100,                                   // 32-bit code
                0xbb, 0x11, 0x00, 0x00, 0x00,            // mov ebx, 0x11
                0xcd, 0x30,                              // int 0x30: to the 64-bit handler
                0x89, 0xe6,                              // mov esi, esp
                0x9c,                                    // pushfd
                0x0e,                                    // push cs
                0x68, 0x20, 0x21, 0x00, 0x00,            // push 0x2120
                0xcf);                                   // iretd: same level, pops no SS:ESP
        h.load(0x2120, 0xf4);
        h.load(0x1300,                                   // 64-bit handler
                0x48, 0x8b, 0x4c, 0x24, 0x08,            // mov rcx, [rsp+8]   (CS)
                0x48, 0x8b, 0x54, 0x24, 0x20,            // mov rdx, [rsp+32]  (SS)
                0x4c, 0x8b, 0x44, 0x24, 0x18,            // mov r8, [rsp+24]   (RSP)
                0x48, 0xcf);                             // iretq back to compatibility mode
        h.launch();
        assertThat(h.exitReason()).as("%s", h.cpu.lastExitNote()).isEqualTo(EXIT_REASON_HLT);
        long[] r = h.regs();
        assertThat(r[VmxCpu.RCX]).as("CS pushed by the interrupt").isEqualTo(0x30);
        assertThat(r[VmxCpu.RDX]).as("SS pushed: always, in IA-32e mode").isEqualTo(0x10);
        assertThat(r[VmxCpu.R8]).as("RSP pushed").isEqualTo(0x8000);
        assertThat(r[VmxCpu.RSI]).isEqualTo(0x8000);
        assertThat(r[VmxCpu.RBX]).isEqualTo(0x11);
        assertThat(h.rip()).isEqualTo(0x2120);
        assertThat(h.r(GUEST_CS_SELECTOR)).isEqualTo(0x30);
        assertThat(h.r(GUEST_CS_AR_BYTES) & 0x2000).as("CS.L = 0: compatibility mode").isZero();
        assertThat(h.r(GUEST_RSP)).as("IRETD in compatibility mode popped only EIP, CS, EFLAGS").isEqualTo(0x8000);
    }

    @Test void sysretToCompatibilityModeSysenterSysexitAndSyscall() {
        h.w(EXCEPTION_BITMAP, 1 << 6);
        h.load(0x2000,
                0xb9, 0x80, 0x00, 0x00, 0xc0,            // mov ecx, IA32_EFER
                0x0f, 0x32,                              // rdmsr
                0x83, 0xc8, 0x01,                        // or eax, 1 (SCE)
                0x0f, 0x30,                              // wrmsr
                0xb9, 0x81, 0x00, 0x00, 0xc0,            // mov ecx, IA32_STAR
                0x31, 0xc0,                              // xor eax, eax
                0xba, 0x08, 0x00, 0x18, 0x00,            // mov edx, 0x00180008: SYSCALL CS 0x08, SYSRET base 0x18
                0x0f, 0x30,                              // wrmsr
                0xb9, 0x82, 0x00, 0x00, 0xc0,            // mov ecx, IA32_LSTAR
                0xb8, 0x00, 0x30, 0x00, 0x00,            // mov eax, 0x3000
                0x31, 0xd2,                              // xor edx, edx
                0x0f, 0x30,                              // wrmsr
                0xb9, 0x74, 0x01, 0x00, 0x00,            // mov ecx, IA32_SYSENTER_CS
                0xb8, 0x08, 0x00, 0x00, 0x00,            // mov eax, 0x08
                0x0f, 0x30,                              // wrmsr
                0xb9, 0x75, 0x01, 0x00, 0x00,            // mov ecx, IA32_SYSENTER_ESP
                0xb8, 0x00, 0x98, 0x00, 0x00,            // mov eax, 0x9800
                0x0f, 0x30,                              // wrmsr
                0xb9, 0x76, 0x01, 0x00, 0x00,            // mov ecx, IA32_SYSENTER_EIP
                0xb8, 0x00, 0x31, 0x00, 0x00,            // mov eax, 0x3100
                0x0f, 0x30,                              // wrmsr
                0xb9, 0x00, 0x22, 0x00, 0x00,            // mov ecx, 0x2200
                0x41, 0xbb, 0x02, 0x02, 0x00, 0x00,      // mov r11d, 0x202
                0x0f, 0x07);                             // sysretd: to compatibility mode, ring 3
        h.load(0x2200,                                   // 32-bit code, ring 3
                0xbc, 0x00, 0x70, 0x00, 0x00,            // mov esp, 0x7000
                0x0f, 0x05,                              // syscall: #UD outside 64-bit mode (Intel)
                0x0f, 0x34);                             // sysenter
        h.load(0x3100,                                   // 64-bit, ring 0
                0x49, 0x89, 0xe4,                        // mov r12, rsp
                0x48, 0xc7, 0xc1, 0x00, 0x70, 0x00, 0x00, // mov rcx, 0x7000
                0x48, 0xc7, 0xc2, 0x00, 0x23, 0x00, 0x00, // mov rdx, 0x2300
                0x48, 0x0f, 0x35);                       // sysexitq: 64-bit ring 3
        h.load(0x2300,
                0x49, 0x89, 0xe5,                        // mov r13, rsp
                0x0f, 0x05);                             // syscall -> LSTAR
        h.load(0x3000, 0xf4);
        h.launch();
        expectFaultExit(6, -1, 0x2205);
        assertThat(h.r(GUEST_CS_SELECTOR)).isEqualTo(0x1b);
        assertThat(h.r(GUEST_SS_SELECTOR)).isEqualTo(0x23);
        assertThat(h.r(GUEST_CS_AR_BYTES)).as("32-bit ring-3 code").isEqualTo(0xc0fb);
        assertThat(h.rflags() & 0x200).as("RFLAGS from R11").isEqualTo(0x200);
        h.w(GUEST_RIP, 0x2207);
        h.resume();
        assertThat(h.exitReason()).as("%s", h.cpu.lastExitNote()).isEqualTo(EXIT_REASON_HLT);
        long[] r = h.regs();
        assertThat(r[VmxCpu.R12]).as("SYSENTER took IA32_SYSENTER_ESP").isEqualTo(0x9800);
        assertThat(r[VmxCpu.R13]).as("SYSEXIT took RCX").isEqualTo(0x7000);
        assertThat(r[VmxCpu.RCX]).as("SYSCALL saved the return RIP").isEqualTo(0x2305);
        assertThat(r[VmxCpu.R11] & 0x202).as("R11: RFLAGS with IF clear (SYSENTER cleared it, SYSEXIT keeps it)").isEqualTo(2);
        assertThat(h.rip()).isEqualTo(0x3000);
        assertThat(h.r(GUEST_CS_SELECTOR)).isEqualTo(0x08);
        assertThat(h.r(GUEST_SS_SELECTOR)).isEqualTo(0x10);
        assertThat(h.r(GUEST_CS_AR_BYTES)).isEqualTo(0xa09b);
    }

    @Test void iretqWithNtOrANullCsIsGp() {
        h.w(EXCEPTION_BITMAP, 1 << 13);
        h.w(GUEST_RFLAGS, 0x4002);                      // NT: there are no tasks in IA-32e mode
        h.load(0x2000, 0x48, 0xcf);                      // iretq
        h.launch();
        expectFaultExit(13, 0, 0x2000);
        h.w(GUEST_RFLAGS, 0x2);                         // a frame with a null CS: #GP(0) as well
        h.resume();
        expectFaultExit(13, 0, 0x2000);
    }

    @Test void sysretToANonCanonicalAddressIsGp() {
        h.w(EXCEPTION_BITMAP, 1 << 13);
        h.load(0x2000,
                0xb9, 0x80, 0x00, 0x00, 0xc0, 0x0f, 0x32, 0x83, 0xc8, 0x01, 0x0f, 0x30, // EFER.SCE = 1
                0x48, 0xb9, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, // mov rcx, 0x800000000000
                0x48, 0x0f, 0x07);                       // sysretq -> #GP(0)
        h.launch();
        expectFaultExit(13, 0, 0x2016);
        assertThat(h.r(GUEST_CS_SELECTOR)).as("still ring 0").isEqualTo(0x08);
    }

    @Test void swapgsExchangesTheGsBaseWithKernelGsBase() {
        h.load(0x5000, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11);
        h.load(0x2000,
                0xb9, 0x02, 0x01, 0x00, 0xc0,            // mov ecx, IA32_KERNEL_GS_BASE
                0xb8, 0x00, 0x50, 0x00, 0x00,            // mov eax, 0x5000
                0x31, 0xd2,                              // xor edx, edx
                0x0f, 0x30,                              // wrmsr
                0x0f, 0x01, 0xf8,                        // swapgs
                0x65, 0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x00, 0x00, // mov rax, gs:[0]
                0x48, 0x89, 0xc3,                        // mov rbx, rax
                0x0f, 0x32,                              // rdmsr: the old GS base (0)
                0xf4);
        h.launch();
        assertThat(h.exitReason()).as("%s", h.cpu.lastExitNote()).isEqualTo(EXIT_REASON_HLT);
        assertThat(h.regs()[VmxCpu.RBX]).isEqualTo(0x1122334455667788L);
        assertThat(h.regs()[VmxCpu.RAX]).isZero();
        assertThat(h.r(GUEST_GS_BASE)).isEqualTo(0x5000);
    }

    @Test void cmpxchg16bComparesExchangesAndFaultsOnAMisalignedOperand() {
        h.w(EXCEPTION_BITMAP, 1 << 13);
        h.ram.buf.putLong(0x6000, 1);
        h.ram.buf.putLong(0x6008, 2);
        h.load(0x2000,
                0x48, 0xc7, 0xc0, 0x01, 0x00, 0x00, 0x00, // mov rax, 1
                0x48, 0xc7, 0xc2, 0x02, 0x00, 0x00, 0x00, // mov rdx, 2
                0x48, 0xc7, 0xc3, 0x03, 0x00, 0x00, 0x00, // mov rbx, 3
                0x48, 0xc7, 0xc1, 0x04, 0x00, 0x00, 0x00, // mov rcx, 4
                0xf0, 0x48, 0x0f, 0xc7, 0x0c, 0x25, 0x00, 0x60, 0x00, 0x00, // lock cmpxchg16b [0x6000]: equal
                0x40, 0x0f, 0x94, 0xc6,                  // sete sil
                0xf0, 0x48, 0x0f, 0xc7, 0x0c, 0x25, 0x00, 0x60, 0x00, 0x00, // again: now different
                0x40, 0x0f, 0x94, 0xc7,                  // sete dil
                0x48, 0x0f, 0xc7, 0x0c, 0x25, 0x08, 0x60, 0x00, 0x00); // cmpxchg16b [0x6008] -> #GP(0)
        h.launch();
        expectFaultExit(13, 0, 0x2038);
        long[] r = h.regs();
        assertThat(h.ram.buf.getLong(0x6000)).isEqualTo(3);
        assertThat(h.ram.buf.getLong(0x6008)).isEqualTo(4);
        assertThat(r[VmxCpu.RSI] & 0xff).isEqualTo(1);
        assertThat(r[VmxCpu.RDI] & 0xff).isZero();
        assertThat(r[VmxCpu.RAX]).as("RDX:RAX loaded from memory").isEqualTo(3);
        assertThat(r[VmxCpu.RDX]).isEqualTo(4);
    }

    @Test void nonCanonicalAddressesAreGpAndSsThroughTheStack() {
        h.w(EXCEPTION_BITMAP, (1 << 13) | (1 << 12));
        h.load(0x2000,
                0x48, 0xb8, 0x08, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, // mov rax, 0x800000000008
                0x48, 0x8b, 0x18);                       // mov rbx, [rax] -> #GP(0)
        h.launch();
        expectFaultExit(13, 0, 0x200a);
        h.load(0x200a, 0x48, 0x8b, 0x1c, 0x04);          // mov rbx, [rsp+rax] -> #SS(0)
        h.w(GUEST_RIP, 0x200a);
        h.resume();
        expectFaultExit(12, 0, 0x200a);
        h.load(0x200a, 0x48, 0x89, 0xc4, 0x50);          // mov rsp, rax; push rax -> #SS(0)
        h.w(GUEST_RIP, 0x200a);
        h.resume();
        expectFaultExit(12, 0, 0x200d);
    }

    @Test void sixtyFourBitCallGateFromRingThreeAndRetfqBack() {
        // a 16-byte call gate at 0x38 (DPL 3) to 0008:3000, and RSP0 in the 64-bit TSS
        h.ram.buf.putLong(0x1108 + 0x38, 0x3000L | 8L << 16 | (long) (0x80 | 3 << 5 | 0xc) << 40);
        h.ram.buf.putLong(0x1108 + 0x40, 0);
        h.w(GUEST_GDTR_LIMIT, 0x47);
        h.ram.buf.putLong(0x30004, 0x9000);
        h.ram.buf.putShort(0x6004, (short) 0x3b);       // far pointer m16:32 at 0x6000: 003b:(ignored)
        h.w(EXCEPTION_BITMAP, 1 << 13);
        h.load(0x2000,
                0x6a, 0x23, 0x68, 0x00, 0x70, 0x00, 0x00, 0x9c, 0x6a, 0x2b, 0x68, 0x00, 0x21, 0x00, 0x00, // ring-3 frame
                0x48, 0xcf);                             // iretq -> 64-bit ring 3
        h.load(0x2100,
                0xff, 0x1c, 0x25, 0x00, 0x60, 0x00, 0x00, // call far [0x6000] -> through the gate to ring 0
                0x48, 0x89, 0xe6,                        // mov rsi, rsp
                0xf4);                                   // hlt at CPL 3 -> #GP(0)
        h.load(0x3000,
                0x48, 0x89, 0xe1,                        // mov rcx, rsp
                0x48, 0x8b, 0x54, 0x24, 0x08,            // mov rdx, [rsp+8]
                0x48, 0xcb);                             // retfq -> ring 3, popping RSP and SS
        h.launch();
        expectFaultExit(13, 0, 0x210a);
        long[] r = h.regs();
        assertThat(r[VmxCpu.RCX]).as("RSP0 less four 8-byte pushes").isEqualTo(0x9000 - 32);
        assertThat(r[VmxCpu.RDX]).as("caller CS").isEqualTo(0x2b);
        assertThat(h.ram.buf.getLong(0x9000 - 8)).as("caller SS").isEqualTo(0x23);
        assertThat(h.ram.buf.getLong(0x9000 - 16)).as("caller RSP").isEqualTo(0x7000);
        assertThat(h.ram.buf.getLong(0x9000 - 32)).as("return RIP").isEqualTo(0x2107);
        assertThat(r[VmxCpu.RSI]).isEqualTo(0x7000);
        assertThat(h.r(GUEST_CS_SELECTOR)).isEqualTo(0x2b);
        assertThat(h.r(GUEST_SS_SELECTOR)).isEqualTo(0x23);
    }
}
