package kvmkmod.hw.soft;

import kvmkmod.hw.VmxCpu;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static kvmkmod.hw.VmxArch.*;
import static org.assertj.core.api.Assertions.assertThat;

/** A boot-sector style switch from real mode to 32-bit flat protected mode, under unrestricted guest. */
class SoftCpuProtectedModeTest {
    private VmxHarness h;

    @BeforeEach void setUp() {
        h = new VmxHarness();
        h.w(CR0_GUEST_HOST_MASK, 0); // the guest owns CR0: PE changes without exits
        // GDT pseudo-descriptor at 0x1100 (limit 0x17, base 0x1108); IDT pseudo-descriptor at 0x1120
        h.load(0x1100, 0x17, 0x00, 0x08, 0x11, 0x00, 0x00, 0, 0);
        h.load(0x1108,
                0, 0, 0, 0, 0, 0, 0, 0,                              // null
                0xff, 0xff, 0x00, 0x00, 0x00, 0x9a, 0xcf, 0x00,      // 0x08: flat 32-bit code
                0xff, 0xff, 0x00, 0x00, 0x00, 0x92, 0xcf, 0x00);     // 0x10: flat data
        h.load(0x1120, 0xff, 0x01, 0x00, 0x14, 0x00, 0x00);          // IDT limit 0x1ff base 0x1400
        // IDT[0x30]: 32-bit interrupt gate to 0008:00001300
        h.load(0x1400 + 0x30 * 8, 0x00, 0x13, 0x08, 0x00, 0x00, 0x8e, 0x00, 0x00);
        h.load(0x1300,
                0xb9, 0x77, 0x00, 0x00, 0x00,   // mov ecx, 0x77
                0xcf);                          // iretd
        h.load(0x1000,
                0x0f, 0x01, 0x16, 0x00, 0x11,   // lgdt [0x1100]
                0x0f, 0x20, 0xc0,               // mov eax, cr0
                0x0c, 0x01,                     // or al, 1
                0x0f, 0x22, 0xc0,               // mov cr0, eax
                0x66, 0xea, 0x00, 0x12, 0x00, 0x00, 0x08, 0x00); // jmp dword 0008:00001200
        h.load(0x1200,
                0x66, 0xb8, 0x10, 0x00,         // mov ax, 0x10
                0x8e, 0xd8,                     // mov ds, ax
                0x8e, 0xd0,                     // mov ss, ax
                0xbc, 0x00, 0x90, 0x00, 0x00,   // mov esp, 0x9000
                0xc7, 0x05, 0x00, 0x50, 0x00, 0x00, 0xef, 0xbe, 0xad, 0xde, // mov dword [0x5000], 0xdeadbeef
                0x68, 0x78, 0x56, 0x34, 0x12,   // push 0x12345678
                0x5b,                           // pop ebx
                0x0f, 0x01, 0x1d, 0x20, 0x11, 0x00, 0x00, // lidt [0x1120]
                0xcd, 0x30,                     // int 0x30
                0x66, 0xba, 0xf8, 0x03,         // mov dx, 0x3f8
                0xee,                           // out dx, al
                0xf4);                          // hlt
    }

    @AfterEach void tearDown() { h.close(); }

    @Test void entersFlatProtectedModeAndRuns32BitCode() {
        assertThat(h.launch()).isEqualTo(VmxCpu.VM_SUCCEED);
        assertThat(h.exitReason()).as("%s at %x", h.cpu.lastExitNote(), h.rip()).isEqualTo(EXIT_REASON_IO_INSTRUCTION);
        assertThat(h.qual()).isEqualTo(0x03f80000L);
        assertThat(h.rip()).isEqualTo(0x122a);
        assertThat(h.len()).isEqualTo(1);
        assertThat(h.r(GUEST_CR0) & 1).isEqualTo(1);
        assertThat(h.r(GUEST_CS_SELECTOR)).isEqualTo(8);
        assertThat(h.r(GUEST_CS_AR_BYTES)).isEqualTo(0xc09b);
        assertThat(h.r(GUEST_CS_LIMIT)).isEqualTo(0xffffffffL);
        assertThat(h.r(GUEST_SS_AR_BYTES)).isEqualTo(0xc093);
        assertThat(h.r(GUEST_RSP)).isEqualTo(0x9000);
        assertThat(h.regs()[VmxCpu.RBX]).isEqualTo(0x12345678L);
        assertThat(h.regs()[VmxCpu.RCX]).isEqualTo(0x77);
        assertThat(h.ram.buf.getInt(0x5000)).isEqualTo(0xdeadbeef);
        assertThat(h.r(GUEST_GDTR_BASE)).isEqualTo(0x1108);
        assertThat(h.r(GUEST_IDTR_LIMIT)).isEqualTo(0x1ff);
        // the state saved at the exit enters again: resume to the HLT
        h.skipAndResume();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_HLT);
    }

    @Test void cr0WritesThatClearNeAreAGeneralProtectionFault() {
        h.ivt(13, 0, 0x3000);
        h.load(0x3000, 0xf4);
        h.load(0x1000,
                0x0f, 0x20, 0xc0,               // mov eax, cr0
                0x24, 0xdf,                     // and al, ~0x20 (clear NE)
                0x0f, 0x22, 0xc0);              // mov cr0, eax -> #GP
        h.launch();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_HLT);
        assertThat(h.rip()).isEqualTo(0x3000);
    }

    @Test void thirtyTwoBitPagingTranslatesSetsAccessedDirtyAndFaults() {
        // PD at 0x20000: PDE0 -> PT 0x21000 (identity for the first MiB), PDE1 -> PT 0x22000 (4 MiB -> 0x5000)
        h.ram.buf.putInt(0x20000, 0x21000 | 7);
        h.ram.buf.putInt(0x20004, 0x22000 | 7);
        for (int i = 0; i < 256; i++) h.ram.buf.putInt(0x21000 + 4 * i, i * 0x1000 | 3);
        h.ram.buf.putInt(0x22000, 0x5000 | 7);
        h.w(EXCEPTION_BITMAP, 1 << 14);
        h.load(0x1200,
                0x66, 0xb8, 0x10, 0x00,         // mov ax, 0x10
                0x8e, 0xd8,                     // mov ds, ax
                0x8e, 0xd0,                     // mov ss, ax
                0xbc, 0x00, 0x90, 0x00, 0x00,   // mov esp, 0x9000
                0xb8, 0x00, 0x00, 0x02, 0x00,   // mov eax, 0x20000
                0x0f, 0x22, 0xd8,               // mov cr3, eax
                0x0f, 0x20, 0xc0,               // mov eax, cr0
                0x0d, 0x00, 0x00, 0x00, 0x80,   // or eax, 0x80000000
                0x0f, 0x22, 0xc0,               // mov cr0, eax
                0xc7, 0x05, 0x10, 0x00, 0x40, 0x00, 0x0d, 0xf0, 0xfe, 0xca, // mov dword [0x400010], 0xcafef00d
                0xc7, 0x05, 0x00, 0x00, 0x80, 0x00, 0x01, 0x00, 0x00, 0x00, // mov dword [0x800000], 1 -> #PF
                0xf4);
        h.launch();
        assertThat(h.exitReason()).as("%s", h.cpu.lastExitNote()).isEqualTo(EXIT_REASON_EXCEPTION_NMI);
        assertThat(h.r(VM_EXIT_INTR_INFO)).isEqualTo(0x80000b0eL);
        assertThat(h.r(VM_EXIT_INTR_ERROR_CODE)).isEqualTo(2);   // write to a not-present page, supervisor
        assertThat(h.qual()).isEqualTo(0x800000L);
        assertThat(h.rip()).isEqualTo(0x1200 + 42);
        assertThat(h.ram.buf.getInt(0x5010)).isEqualTo(0xcafef00d);
        assertThat(h.ram.buf.getInt(0x22000) & 0x60).as("accessed + dirty").isEqualTo(0x60);
        assertThat(h.ram.buf.getInt(0x20004) & 0x20).as("PDE accessed").isEqualTo(0x20);
        assertThat(h.r(GUEST_CR0) & 0x80000000L).isNotZero();
        // without the exit, the #PF is delivered with CR2 set: map the page and resume instead
        h.ram.buf.putInt(0x20008, 0x22000 | 7);
        h.resume();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_HLT);
        assertThat(h.ram.buf.getInt(0x5000)).isEqualTo(1);
    }

    @Test void ringThreeAndBackThroughTheTss() {
        enterRing3(0x60010031L, 1 << 13);
        h.load(0x2100,
                0xcd, 0x30,                     // int 0x30 -> ring 0 and back
                0xbb, 0x05, 0x00, 0x00, 0x00,   // mov ebx, 5
                0xf4);                          // hlt at CPL 3 -> #GP
        h.launch();
        assertThat(h.exitReason()).as("%s", h.cpu.lastExitNote()).isEqualTo(EXIT_REASON_EXCEPTION_NMI);
        assertThat(h.r(VM_EXIT_INTR_INFO)).isEqualTo(0x80000b0dL);
        assertThat(h.rip()).isEqualTo(0x2107);
        assertThat(h.regs()[kvmkmod.hw.VmxCpu.RCX]).as("ring-0 ESP inside the handler").isEqualTo(0x9000 - 20);
        assertThat(h.regs()[kvmkmod.hw.VmxCpu.RBX]).isEqualTo(5);
        assertThat(h.r(GUEST_CS_SELECTOR)).isEqualTo(0x1b);
        assertThat(h.r(GUEST_SS_SELECTOR)).isEqualTo(0x23);
        assertThat(h.r(GUEST_RSP)).isEqualTo(0x7000);
        assertThat(h.r(GUEST_CS_AR_BYTES) >> 5 & 3).isEqualTo(3);
    }

    /**
     * 32-bit protected mode with ring-0 and ring-3 flat segments and a TSS: the code at 0x2000 IRETs to ring-3
     * code at 0x2100 (stack 0x7000), which the caller loads.
     */
    private void enterRing3(long cr0, int exceptionBitmap) {
        // GDT with ring-0 and ring-3 flat segments, entered directly in 32-bit protected mode
        h.load(0x1108,
                0, 0, 0, 0, 0, 0, 0, 0,
                0xff, 0xff, 0x00, 0x00, 0x00, 0x9a, 0xcf, 0x00,      // 0x08: ring-0 code
                0xff, 0xff, 0x00, 0x00, 0x00, 0x92, 0xcf, 0x00,      // 0x10: ring-0 data
                0xff, 0xff, 0x00, 0x00, 0x00, 0xfa, 0xcf, 0x00,      // 0x18: ring-3 code
                0xff, 0xff, 0x00, 0x00, 0x00, 0xf2, 0xcf, 0x00);     // 0x20: ring-3 data
        // IDT[0x30]: 32-bit interrupt gate, DPL 3 so ring 3 may INT to it
        h.load(0x1400 + 0x30 * 8, 0x00, 0x13, 0x08, 0x00, 0x00, 0xee, 0x00, 0x00);
        h.load(0x1300, 0x89, 0xe1, 0xcf);            // mov ecx, esp; iretd
        h.ram.buf.putInt(0x30004, 0x9000);           // TSS.ESP0
        h.ram.buf.putShort(0x30008, (short) 0x10);   // TSS.SS0
        h.w(GUEST_CR0, cr0);
        h.flatSegments(8, 0xc09b, 0x10, 0xc093, 0, 2, 3);
        h.w(GUEST_TR_BASE, 0x30000);
        h.w(GUEST_TR_LIMIT, 0x67);
        h.w(GUEST_TR_AR_BYTES, 0x8b);
        h.w(GUEST_GDTR_BASE, 0x1108);
        h.w(GUEST_GDTR_LIMIT, 0x27);
        h.w(GUEST_IDTR_BASE, 0x1400);
        h.w(GUEST_IDTR_LIMIT, 0x7ff);
        h.w(GUEST_RSP, 0x9000);
        h.w(GUEST_RIP, 0x2000);
        h.w(EXCEPTION_BITMAP, exceptionBitmap);
        h.load(0x2000,
                0x6a, 0x23,                     // push 0x23       (user SS)
                0x68, 0x00, 0x70, 0x00, 0x00,   // push 0x7000     (user ESP)
                0x9c,                           // pushfd
                0x6a, 0x1b,                     // push 0x1b       (user CS)
                0x68, 0x00, 0x21, 0x00, 0x00,   // push 0x2100     (user EIP)
                0xcf);                          // iretd -> ring 3
    }

    /** SDM 6.15 "Interrupt 17—Alignment Check Exception (#AC)": CR0.AM, EFLAGS.AC, CPL 3 and a misaligned access. */
    @Test void misalignedAccessAtRingThreeWithAmAndAcIsAnAlignmentCheck() {
        long am = 0x40000;
        for (long cr0 : new long[] {0x60010031L | am, 0x60010031L}) {
            enterRing3(cr0, 1 << 13 | 1 << 17);
            h.load(0x2100,
                    0x66, 0xb8, 0x23, 0x00,                     // mov ax, 0x23 (the IRET to ring 3 nulled DS)
                    0x8e, 0xd8,                                 // mov ds, ax
                    0x9c,                                       // pushfd
                    0x81, 0x0c, 0x24, 0x00, 0x00, 0x04, 0x00,   // or dword [esp], 0x40000 (AC)
                    0x9d,                                       // popfd
                    0x8b, 0x1d, 0x00, 0x50, 0x00, 0x00,         // mov ebx, [0x5000]   aligned
                    0x8b, 0x0d, 0x02, 0x50, 0x00, 0x00,         // mov ecx, [0x5002]   misaligned
                    0xf4);                                      // hlt at CPL 3 -> #GP
            h.launch();
            assertThat(h.exitReason()).as("%s", h.cpu.lastExitNote()).isEqualTo(EXIT_REASON_EXCEPTION_NMI);
            if (cr0 == (0x60010031L | am)) {
                assertThat(h.r(VM_EXIT_INTR_INFO)).as("#AC(0)").isEqualTo(0x80000b11L);
                assertThat(h.r(VM_EXIT_INTR_ERROR_CODE)).isZero();
                assertThat(h.rip()).as("the misaligned load").isEqualTo(0x2115);
            } else {
                assertThat(h.r(VM_EXIT_INTR_INFO)).as("no #AC without CR0.AM: the HLT's #GP").isEqualTo(0x80000b0dL);
                assertThat(h.rip()).isEqualTo(0x211b);
            }
            h.close();
            setUp();
        }
    }

    /** Enters 32-bit flat protected mode directly, with a TSS at 0x30000 (selector 0x28 in the GDT). */
    private void enterFlat32() {
        h.load(0x1108,
                0, 0, 0, 0, 0, 0, 0, 0,
                0xff, 0xff, 0x00, 0x00, 0x00, 0x9a, 0xcf, 0x00,      // 0x08: code
                0xff, 0xff, 0x00, 0x00, 0x00, 0x92, 0xcf, 0x00,      // 0x10: data
                0, 0, 0, 0, 0, 0, 0, 0,                              // 0x18
                0, 0, 0, 0, 0, 0, 0, 0,                              // 0x20
                0x67, 0x00, 0x00, 0x00, 0x03, 0x8b, 0x00, 0x00,      // 0x28: busy TSS at 0x30000
                0x67, 0x00, 0x00, 0x10, 0x03, 0x89, 0x00, 0x00,      // 0x30: available TSS at 0x31000
                0x00, 0x00, 0x30, 0x00, 0x00, 0x85, 0x00, 0x00);     // 0x38: task gate -> TSS 0x30
        h.w(GUEST_CR0, 0x60010031L);
        h.flatSegments(8, 0xc09b, 0x10, 0xc093, 0, 2, 3);
        h.w(GUEST_TR_SELECTOR, 0x28);
        h.w(GUEST_TR_BASE, 0x30000);
        h.w(GUEST_TR_LIMIT, 0x67);
        h.w(GUEST_TR_AR_BYTES, 0x8b);
        h.w(GUEST_GDTR_BASE, 0x1108);
        h.w(GUEST_GDTR_LIMIT, 0x3f);
        h.w(GUEST_RSP, 0x9000);
        h.w(GUEST_RIP, 0x2000);
    }

    @Test void taskSwitchesExitUnconditionally() {
        enterFlat32();
        h.load(0x2000, 0xea, 0x00, 0x00, 0x00, 0x00, 0x30, 0x00);    // jmp 0030:00000000 (a TSS)
        h.launch();
        assertThat(h.exitReason()).as("%s", h.cpu.lastExitNote()).isEqualTo(EXIT_REASON_TASK_SWITCH);
        assertThat(h.qual()).isEqualTo(0x30L | 2L << 30);   // source JMP
        assertThat(h.rip()).isEqualTo(0x2000);
        assertThat(h.len()).isEqualTo(7);
        // a far CALL through a task gate names the gate's TSS, source CALL
        h.load(0x2000, 0x9a, 0x00, 0x00, 0x00, 0x00, 0x38, 0x00);
        h.resume();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_TASK_SWITCH);
        assertThat(h.qual()).isEqualTo(0x30L);
        // IRET with NT: back to the TSS's previous-task link, source IRET
        h.ram.buf.putShort(0x30000, (short) 0x30);
        h.load(0x2000, 0xcf);
        h.w(GUEST_RFLAGS, 0x4002);
        h.resume();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_TASK_SWITCH);
        assertThat(h.qual()).isEqualTo(0x30L | 1L << 30);
    }
}
