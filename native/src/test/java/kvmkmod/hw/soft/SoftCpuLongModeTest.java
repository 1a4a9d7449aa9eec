package kvmkmod.hw.soft;

import kvmkmod.hw.VmxCpu;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static kvmkmod.hw.VmxArch.*;
import static org.assertj.core.api.Assertions.assertThat;

/** A guest entered directly in 64-bit mode ("IA-32e mode guest"), as a VMM sets it up with KVM_SET_SREGS. */
class SoftCpuLongModeTest {
    private VmxHarness h;

    @BeforeEach void setUp() {
        h = new VmxHarness();
        enterLongMode(h);
    }

    /**
     * Guest state of a 64-bit kernel at 0x2000 (CS 0x08, data 0x10, IDT at 0x1400 with vector 0x30 an
     * interrupt gate to 0x1300), identity-mapped by one 2-MiB page.
     */
    static void enterLongMode(VmxHarness h) {
        // 4-level tables: PML4 0x20000 -> PDPT 0x21000 -> PD 0x22000, PD[0] a 2-MiB page at 0
        h.ram.buf.putLong(0x20000, 0x21000 | 7);
        h.ram.buf.putLong(0x21000, 0x22000 | 7);
        h.ram.buf.putLong(0x22000, 0x87);
        h.load(0x1108,
                0, 0, 0, 0, 0, 0, 0, 0,
                0xff, 0xff, 0x00, 0x00, 0x00, 0x9a, 0xaf, 0x00,      // 0x08: 64-bit code (L=1)
                0xff, 0xff, 0x00, 0x00, 0x00, 0x92, 0xcf, 0x00);     // 0x10: data
        // IDT[0x30]: 64-bit interrupt gate to 0008:0000000000001300
        h.load(0x1400 + 0x30 * 16, 0x00, 0x13, 0x08, 0x00, 0x00, 0x8e, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0);
        h.load(0x1300,
                0x41, 0xb9, 0x99, 0x00, 0x00, 0x00,   // mov r9d, 0x99
                0x48, 0xcf);                          // iretq
        h.w(VM_ENTRY_CONTROLS, h.r(VM_ENTRY_CONTROLS) | VM_ENTRY_IA32E_MODE);
        h.w(GUEST_CR0, 0x80010031L);
        h.w(CR0_READ_SHADOW, 0x80000011L);
        h.w(GUEST_CR4, 0x2020);
        h.w(GUEST_CR3, 0x20000);
        h.w(GUEST_CS_BASE, 0);
        h.flatSegments(8, 0xa09b, 0x10, 0xc093, 0, 2, 3);
        h.w(GUEST_FS_AR_BYTES, 0x10000);
        h.w(GUEST_GS_AR_BYTES, 0x10000);
        h.w(GUEST_LDTR_AR_BYTES, 0x10000);
        h.w(GUEST_TR_BASE, 0x30000);
        h.w(GUEST_TR_LIMIT, 0x67);
        h.w(GUEST_TR_AR_BYTES, 0x8b);
        h.w(GUEST_GDTR_BASE, 0x1108);
        h.w(GUEST_GDTR_LIMIT, 0x17);
        h.w(GUEST_IDTR_BASE, 0x1400);
        h.w(GUEST_IDTR_LIMIT, 0xfff);
        h.w(GUEST_RSP, 0x9000);
        h.w(GUEST_RIP, 0x2000);
    }

    @AfterEach void tearDown() { h.close(); }

    @Test void runsSixtyFourBitCode() {
        h.load(0x2000,
                0x48, 0xb8, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, // mov rax, 0x1122334455667788
                0x49, 0x89, 0xc0,                   // mov r8, rax
                0x49, 0xc1, 0xe8, 0x20,             // shr r8, 32
                0x48, 0x8d, 0x1d, 0x10, 0x00, 0x00, 0x00, // lea rbx, [rip+0x10]
                0x41, 0x50,                         // push r8
                0x5a,                               // pop rdx
                0x48, 0x63, 0xca,                   // movsxd rcx, edx
                0x48, 0xc7, 0xc6, 0xff, 0xff, 0xff, 0xff, // mov rsi, -1
                0x40, 0xb7, 0x42,                   // mov dil, 0x42
                0xe8, 0x05, 0x00, 0x00, 0x00,       // call 0x2032
                0xcd, 0x30,                         // int 0x30
                0xe6, 0x10,                         // out 0x10, al
                0xf4,                               // hlt
                0x48, 0xff, 0xc6,                   // 0x2032: inc rsi
                0xc3);                              // ret
        assertThat(h.launch()).isEqualTo(VmxCpu.VM_SUCCEED);
        assertThat(h.exitReason()).as("%s / %s", h.cpu.lastEntryFailure(), h.cpu.lastExitNote()).isEqualTo(EXIT_REASON_IO_INSTRUCTION);
        assertThat(h.rip()).isEqualTo(0x202f);
        assertThat(h.qual()).isEqualTo(0x00100040L);
        long[] r = h.regs();
        assertThat(r[VmxCpu.RAX]).isEqualTo(0x1122334455667788L);
        assertThat(r[VmxCpu.R8]).isEqualTo(0x11223344L);
        assertThat(r[VmxCpu.RBX]).isEqualTo(0x2028L);
        assertThat(r[VmxCpu.RDX]).isEqualTo(0x11223344L);
        assertThat(r[VmxCpu.RCX]).isEqualTo(0x11223344L);
        assertThat(r[VmxCpu.RSI]).isZero();
        assertThat(r[VmxCpu.RDI] & 0xff).isEqualTo(0x42);
        assertThat(r[VmxCpu.R9]).isEqualTo(0x99);
        assertThat(h.r(GUEST_RSP)).isEqualTo(0x9000);
        assertThat(h.r(GUEST_CS_AR_BYTES)).isEqualTo(0xa09b);
        assertThat(h.r(VM_ENTRY_CONTROLS) & VM_ENTRY_IA32E_MODE).isNotZero();
    }

    @Test void ripRelativeStoreWithImmediateAndSixtyFourBitDivide() {
        h.load(0x2000,
                0x48, 0xc7, 0x05, 0xf6, 0x0f, 0x00, 0x00, 0xef, 0xbe, 0xad, 0xde, // mov qword [rip+0xff6], -0x21524111
                0x48, 0x31, 0xd2,                   // xor rdx, rdx
                0x48, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0x10, // mov rax, 0x1000000000000000
                0x48, 0xc7, 0xc1, 0x03, 0x00, 0x00, 0x00, // mov rcx, 3
                0x48, 0xf7, 0xf1,                   // div rcx
                0xf4);
        h.launch();
        assertThat(h.exitReason()).as("%s", h.cpu.lastExitNote()).isEqualTo(EXIT_REASON_HLT);
        assertThat(h.ram.buf.getLong(0x3001)).isEqualTo(0xffffffffdeadbeefL);
        assertThat(h.regs()[VmxCpu.RAX]).isEqualTo(0x1000000000000000L / 3);
        assertThat(h.regs()[VmxCpu.RDX]).isEqualTo(0x1000000000000000L % 3);
    }

    @Test void nonCanonicalAddressIsAGeneralProtectionFault() {
        h.w(EXCEPTION_BITMAP, 1 << 13);
        h.load(0x2000,
                0x48, 0xb8, 0, 0, 0, 0, 0, 0x80, 0, 0, // mov rax, 0x0000800000000000
                0x8b, 0x18);                         // mov ebx, [rax]
        h.launch();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_EXCEPTION_NMI);
        assertThat(h.r(VM_EXIT_INTR_INFO)).isEqualTo(0x80000b0dL);
        assertThat(h.rip()).isEqualTo(0x200a);
    }

    @Test void csWithBothLAndDIsInvalidGuestState() {
        h.w(GUEST_CS_AR_BYTES, 0xe09b);
        h.launch();
        assertThat(h.exitReason()).isEqualTo(0x80000021);
        assertThat(h.cpu.lastEntryFailure()).contains("L and D/B");
    }

    @Test void userModeRoundTripThroughTheTssRsp0() {
        h.load(0x1108 + 0x18,
                0xff, 0xff, 0x00, 0x00, 0x00, 0xfa, 0xaf, 0x00,      // 0x18: 64-bit ring-3 code
                0xff, 0xff, 0x00, 0x00, 0x00, 0xf2, 0xcf, 0x00);     // 0x20: ring-3 data
        h.w(GUEST_GDTR_LIMIT, 0x27);
        h.load(0x1400 + 0x30 * 16, 0x00, 0x13, 0x08, 0x00, 0x00, 0xee, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0);
        h.load(0x1300, 0x48, 0x89, 0xe1, 0x48, 0xcf);     // mov rcx, rsp; iretq
        h.ram.buf.putLong(0x30004, 0x9800);               // TSS.RSP0
        h.w(EXCEPTION_BITMAP, 1 << 13);
        h.load(0x2000,
                0x6a, 0x23,                               // push 0x23      (SS)
                0x68, 0x00, 0x70, 0x00, 0x00,             // push 0x7000    (RSP)
                0x9c,                                     // pushfq
                0x6a, 0x1b,                               // push 0x1b      (CS)
                0x68, 0x00, 0x21, 0x00, 0x00,             // push 0x2100    (RIP)
                0x48, 0xcf);                              // iretq -> ring 3
        h.load(0x2100,
                0xcd, 0x30,                               // int 0x30
                0xf4);                                    // hlt -> #GP at CPL 3
        h.launch();
        assertThat(h.exitReason()).as("%s", h.cpu.lastExitNote()).isEqualTo(EXIT_REASON_EXCEPTION_NMI);
        assertThat(h.r(VM_EXIT_INTR_INFO)).isEqualTo(0x80000b0dL);
        assertThat(h.rip()).isEqualTo(0x2102);
        assertThat(h.regs()[VmxCpu.RCX]).as("handler RSP: RSP0 minus five quadwords").isEqualTo(0x9800 - 40);
        assertThat(h.r(GUEST_CS_SELECTOR)).isEqualTo(0x1b);
        assertThat(h.r(GUEST_SS_SELECTOR)).isEqualTo(0x23);
        assertThat(h.r(GUEST_RSP)).isEqualTo(0x7000);
    }

    @Test void realModeBootIntoLongMode() {
        h.setupRealModeGuest(0, 0x1000);
        h.w(VM_ENTRY_CONTROLS, h.r(VM_ENTRY_CONTROLS) & ~VM_ENTRY_IA32E_MODE);
        h.w(CR0_GUEST_HOST_MASK, 0);
        h.w(CR4_GUEST_HOST_MASK, 0x2000);
        // let the guest read and write IA32_EFER without exits (MSR-bitmap high read at 1024, high write at 3072)
        h.mem.write8(h.msrBitmap.hpa + 1024 + (0x80 >> 3), 0);
        h.mem.write8(h.msrBitmap.hpa + 3072 + (0x80 >> 3), 0);
        h.load(0x1100, 0x17, 0x00, 0x08, 0x11, 0x00, 0x00);        // GDT pseudo-descriptor
        h.load(0x1000,
                0x0f, 0x01, 0x16, 0x00, 0x11,               // lgdt [0x1100]
                0x66, 0xb8, 0x00, 0x00, 0x02, 0x00,         // mov eax, 0x20000
                0x0f, 0x22, 0xd8,                           // mov cr3, eax
                0x0f, 0x20, 0xe0,                           // mov eax, cr4
                0x0c, 0x20,                                 // or al, 0x20 (PAE)
                0x0f, 0x22, 0xe0,                           // mov cr4, eax
                0x66, 0xb9, 0x80, 0x00, 0x00, 0xc0,         // mov ecx, 0xc0000080 (IA32_EFER)
                0x0f, 0x32,                                 // rdmsr
                0x0d, 0x00, 0x01,                           // or ax, 0x100 (LME)
                0x0f, 0x30,                                 // wrmsr
                0x0f, 0x20, 0xc0,                           // mov eax, cr0
                0x66, 0x0d, 0x01, 0x00, 0x00, 0x80,         // or eax, 0x80000001 (PG, PE)
                0x0f, 0x22, 0xc0,                           // mov cr0, eax: IA-32e mode is now active
                0x66, 0xea, 0x00, 0x20, 0x00, 0x00, 0x08, 0x00); // jmp dword 0008:00002000
        h.load(0x2000,
                0x48, 0xb8, 0xf0, 0xde, 0xbc, 0x9a, 0x78, 0x56, 0x34, 0x12, // mov rax, 0x123456789abcdef0
                0xf4);
        h.launch();
        assertThat(h.exitReason()).as("%s / %s", h.cpu.lastEntryFailure(), h.cpu.lastExitNote()).isEqualTo(EXIT_REASON_HLT);
        assertThat(h.regs()[VmxCpu.RAX]).isEqualTo(0x123456789abcdef0L);
        assertThat(h.r(VM_ENTRY_CONTROLS) & VM_ENTRY_IA32E_MODE).as("EFER.LMA recorded").isNotZero();
        assertThat(h.r(GUEST_CS_AR_BYTES) & 0x2000).as("CS.L").isNotZero();
        assertThat(h.r(GUEST_CR0) & 0x80000001L).isEqualTo(0x80000001L);
        // and the saved state enters again
        h.skipAndResume();
        assertThat(h.exitReason()).as("%s", h.cpu.lastEntryFailure()).isNotEqualTo(0x80000021);
    }
}
