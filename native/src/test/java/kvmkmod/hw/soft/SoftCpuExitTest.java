package kvmkmod.hw.soft;

import kvmkmod.hw.VmxCpu;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static kvmkmod.hw.VmxArch.*;
import static org.assertj.core.api.Assertions.assertThat;

/** Real-mode guests under unrestricted guest + EPT, and the VM exits they take (SDM chapter 27). */
class SoftCpuExitTest {
    private VmxHarness h;

    @BeforeEach void setUp() { h = new VmxHarness(); }

    @AfterEach void tearDown() { h.close(); }

    @Test void outImm8ExitsWithQualificationThenHlt() {
        h.load(0x1000,
                0xb0, 0x42,       // mov al, 0x42
                0xe6, 0x10,       // out 0x10, al
                0xf4);            // hlt
        assertThat(h.launch()).isEqualTo(VmxCpu.VM_SUCCEED);
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_IO_INSTRUCTION);
        // size 1 (0), OUT (bit 3 = 0), not string, immediate operand (bit 6), port 0x10
        assertThat(h.qual()).isEqualTo(0x00100040L);
        assertThat(h.len()).isEqualTo(2);
        assertThat(h.rip()).isEqualTo(0x1002);
        assertThat(h.regs()[VmxCpu.RAX] & 0xff).isEqualTo(0x42);
        assertThat(h.skipAndResume()).isEqualTo(VmxCpu.VM_SUCCEED);
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_HLT);
        assertThat(h.rip()).isEqualTo(0x1004);
        assertThat(h.len()).isEqualTo(1);
    }

    @Test void outDxWordAndDword() {
        h.load(0x1000,
                0xba, 0xf8, 0x03,             // mov dx, 0x3f8
                0xb8, 0x34, 0x12,             // mov ax, 0x1234
                0xef,                         // out dx, ax
                0x66, 0xef,                   // out dx, eax
                0xf4);                        // hlt
        h.launch();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_IO_INSTRUCTION);
        assertThat(h.qual()).isEqualTo(0x03f80001L);
        assertThat(h.len()).isEqualTo(1);
        assertThat(h.rip()).isEqualTo(0x1006);
        h.skipAndResume();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_IO_INSTRUCTION);
        assertThat(h.qual()).isEqualTo(0x03f80003L);
        assertThat(h.len()).isEqualTo(2);
        assertThat(h.rip()).isEqualTo(0x1007);
    }

    @Test void inExitsAndTheHypervisorSuppliesTheValue() {
        h.load(0x1000,
                0xe4, 0x60,       // in al, 0x60
                0x88, 0xc3,       // mov bl, al
                0xf4);            // hlt
        h.launch();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_IO_INSTRUCTION);
        assertThat(h.qual()).isEqualTo(0x00600048L); // IN (bit 3), immediate (bit 6)
        h.regs()[VmxCpu.RAX] = (h.regs()[VmxCpu.RAX] & ~0xffL) | 0x5a;
        h.skipAndResume();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_HLT);
        assertThat(h.regs()[VmxCpu.RBX] & 0xff).isEqualTo(0x5a);
    }

    @Test void repOutsbQualificationAndInstructionInformation() {
        h.load(0x1000,
                0xbe, 0x00, 0x20,     // mov si, 0x2000
                0xb9, 0x05, 0x00,     // mov cx, 5
                0xba, 0xf8, 0x03,     // mov dx, 0x3f8
                0xfc,                 // cld
                0xf3, 0x6e,           // rep outsb
                0xf4);
        h.launch();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_IO_INSTRUCTION);
        // size 1, OUT, string (bit 4), REP (bit 5), DX operand, port 0x3f8
        assertThat(h.qual()).isEqualTo(0x03f80030L);
        assertThat(h.len()).isEqualTo(2);
        assertThat(h.rip()).isEqualTo(0x100a);
        // SDM Table 27-8: address size 16-bit (0) in bits 9:7, segment DS (3) in bits 17:15
        assertThat(h.r(VMX_INSTRUCTION_INFO)).isEqualTo(3L << 15);
        assertThat(h.r(GUEST_LINEAR_ADDRESS)).isEqualTo(0x2000);
        assertThat(h.regs()[VmxCpu.RCX] & 0xffff).isEqualTo(5);
    }

    @Test void ioBitmapSelectivity() {
        // port 0x80 has its bitmap bit clear: no exit, and no device answers (IN reads all ones)
        h.load(0x1000,
                0xb0, 0x11,           // mov al, 0x11
                0xe6, 0x80,           // out 0x80, al
                0xe4, 0x80,           // in al, 0x80
                0xe6, 0x81,           // out 0x81, al   (exits)
                0xf4);
        h.launch();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_IO_INSTRUCTION);
        assertThat(h.qual() >>> 16).isEqualTo(0x81);
        assertThat(h.regs()[VmxCpu.RAX] & 0xff).isEqualTo(0xff);
        // a word access at 0x7f..0x80 exits because one of its ports exits
        h.ioPassThrough(0x81, true);
        h.skipAndResume();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_HLT);
    }

    @Test void unconditionalIoExitingWithoutBitmaps() {
        int proc = (int) h.r(CPU_BASED_VM_EXEC_CONTROL);
        h.w(CPU_BASED_VM_EXEC_CONTROL, (proc & ~CPU_BASED_USE_IO_BITMAPS) | CPU_BASED_UNCOND_IO_EXITING);
        h.load(0x1000, 0xe4, 0x80, 0xf4); // in al, 0x80
        h.launch();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_IO_INSTRUCTION);
        assertThat(h.qual()).isEqualTo(0x00800048L);
    }

    @Test void cpuidExitsUnconditionally() {
        h.load(0x1000, 0x31, 0xc0, 0x0f, 0xa2, 0xf4); // xor ax, ax; cpuid; hlt
        h.launch();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_CPUID);
        assertThat(h.len()).isEqualTo(2);
        assertThat(h.rip()).isEqualTo(0x1002);
    }

    @Test void vmcallExitsEvenInRealModeWhileVmlaunchIsUndefinedThere() {
        h.ivt(6, 0, 0x3000);
        h.load(0x3000, 0xf4);
        h.load(0x1000, 0x0f, 0x01, 0xc1,  // vmcall
                0x0f, 0x01, 0xc2);         // vmlaunch -> #UD in real mode
        h.launch();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_VMCALL);
        assertThat(h.len()).isEqualTo(3);
        h.skipAndResume();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_HLT);
        assertThat(h.rip()).isEqualTo(0x3000);
    }

    @Test void hltWithoutHltExitingWaitsUntilKicked() throws Exception {
        int proc = (int) h.r(CPU_BASED_VM_EXEC_CONTROL);
        h.w(CPU_BASED_VM_EXEC_CONTROL, proc & ~CPU_BASED_HLT_EXITING);
        h.load(0x1000, 0xf4);
        CompletableFuture<Integer> run = CompletableFuture.supplyAsync(h::launch);
        Thread.sleep(100);
        assertThat(run).isNotDone();
        h.cpu.kick();
        assertThat(run.get(5, TimeUnit.SECONDS)).isEqualTo(VmxCpu.VM_SUCCEED);
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_EXTERNAL_INTERRUPT);
        assertThat(h.r(GUEST_ACTIVITY_STATE)).isEqualTo(1);
        assertThat(h.rip()).isEqualTo(0x1001);
    }

    @Test void kickFromAnotherThreadStopsAnInfiniteLoop() throws Exception {
        h.load(0x1000, 0xeb, 0xfe); // jmp $
        CompletableFuture<Integer> run = CompletableFuture.supplyAsync(h::launch);
        Thread.sleep(100);
        assertThat(run).isNotDone();
        h.cpu.kick();
        assertThat(run.get(5, TimeUnit.SECONDS)).isEqualTo(VmxCpu.VM_SUCCEED);
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_EXTERNAL_INTERRUPT);
        assertThat(h.rip()).isEqualTo(0x1000);
        assertThat(h.r(VM_EXIT_INTR_INFO) & INTR_INFO_VALID_MASK).isZero();
    }

    @Test void eptViolationOnUnmappedPageThenMappingAndResumeReexecutes() {
        h.unmap(0x5000);
        h.ram.buf.putShort(0x5000, (short) 0xbeef);
        h.load(0x1000,
                0xb8, 0x11, 0x11,     // mov ax, 0x1111
                0xa1, 0x00, 0x50,     // mov ax, [0x5000]
                0xf4);
        h.launch();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_EPT_VIOLATION);
        // read (bit 0), no permissions found (bits 5:3 = 0), linear address valid (7) for the access itself (8)
        assertThat(h.qual()).isEqualTo(0x181L);
        assertThat(h.r(GUEST_PHYSICAL_ADDRESS)).isEqualTo(0x5000);
        assertThat(h.r(GUEST_LINEAR_ADDRESS)).isEqualTo(0x5000);
        assertThat(h.rip()).isEqualTo(0x1003);
        assertThat(h.regs()[VmxCpu.RAX] & 0xffff).isEqualTo(0x1111);
        h.map(0x5000, 7);
        assertThat(h.resume()).isEqualTo(VmxCpu.VM_SUCCEED);
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_HLT);
        assertThat(h.regs()[VmxCpu.RAX] & 0xffff).isEqualTo(0xbeef);
    }

    @Test void eptViolationOnWriteToReadOnlyPageReportsPermissions() {
        h.map(0x6000, 5); // read + execute
        h.load(0x1000,
                0xb8, 0x34, 0x12,     // mov ax, 0x1234
                0xa3, 0x00, 0x60,     // mov [0x6000], ax
                0xf4);
        h.launch();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_EPT_VIOLATION);
        assertThat(h.qual()).isEqualTo(0x2L | (5 << 3) | 0x180);
        assertThat(h.r(GUEST_PHYSICAL_ADDRESS)).isEqualTo(0x6000);
        assertThat(h.peek16(0x6000)).isZero();
        h.map(0x6000, 7);
        h.resume();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_HLT);
        assertThat(h.peek16(0x6000)).isEqualTo(0x1234);
    }

    @Test void eptViolationOnInstructionFetch() {
        h.unmap(0x7000);
        h.load(0x1000, 0xe9, 0xfd, 0x5f); // jmp 0x7000 (0x1003 + 0x5ffd)
        h.launch();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_EPT_VIOLATION);
        assertThat(h.qual()).isEqualTo(0x184L);
        assertThat(h.r(GUEST_PHYSICAL_ADDRESS)).isEqualTo(0x7000);
        assertThat(h.rip()).isEqualTo(0x7000);
    }

    @Test void pushAcrossAnUnmappedStackPageLeavesSpUnchanged() {
        h.unmap(0x7000);
        h.load(0x1000, 0x66, 0x68, 0x78, 0x56, 0x34, 0x12, 0xf4); // push dword 0x12345678
        h.launch();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_EPT_VIOLATION);
        assertThat(h.qual() & 7).isEqualTo(2);
        assertThat(h.r(GUEST_PHYSICAL_ADDRESS)).isEqualTo(0x7ffc);
        assertThat(h.r(GUEST_RSP)).isEqualTo(0x8000);
        assertThat(h.rip()).isEqualTo(0x1000);
    }

    @Test void eptMisconfigurationOnWriteWithoutRead() {
        h.map(0x5000, 2); // W without R
        h.load(0x1000, 0xa1, 0x00, 0x50, 0xf4);
        h.launch();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_EPT_MISCONFIG);
        assertThat(h.r(GUEST_PHYSICAL_ADDRESS)).isEqualTo(0x5000);
    }

    @Test void eptLargePageMapsTwoMegabytes() {
        // PD[1] maps gpa 2 MiB..4 MiB onto a 2-MiB-aligned host block
        var big = h.mem.mmap(4 << 20);
        long hpa2m = (big.hpa + 0x1fffff) & ~0x1fffffL;
        h.mem.write64(h.pd.hpa + 8, hpa2m | 7 | (6 << 3) | VMX_EPT_LARGE_PAGE);
        h.mem.write16(hpa2m + 0x1234, 0x4321);
        // "unreal mode": a 4-GiB DS limit, else the offset beyond 64 KiB is a #GP (SDM 20.1.3)
        h.w(GUEST_DS_LIMIT, 0xffffffffL);
        h.w(GUEST_DS_AR_BYTES, 0x8093);
        h.load(0x1000,
                0x90,                         // nop
                0x66, 0xbb, 0x34, 0x12, 0x20, 0x00, // mov ebx, 0x201234
                0x67, 0x8b, 0x03,             // mov ax, [ebx]
                0xf4);
        h.launch();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_HLT);
        assertThat(h.regs()[VmxCpu.RAX] & 0xffff).isEqualTo(0x4321);
    }

    @Test void invalidOpcodeVectorsThroughTheIvt() {
        h.ivt(6, 0x0300, 0x0000); // handler at 0300:0000 = 0x3000
        h.load(0x3000, 0xf4);
        h.load(0x1000, 0x0f, 0x0b); // ud2
        h.launch();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_HLT);
        assertThat(h.rip()).isEqualTo(0);
        assertThat(h.r(GUEST_CS_SELECTOR)).isEqualTo(0x300);
        assertThat(h.r(GUEST_CS_BASE)).isEqualTo(0x3000);
        assertThat(h.r(GUEST_RSP)).isEqualTo(0x7ffa);
        assertThat(h.peek16(0x7ffa)).as("return IP: the faulting instruction").isEqualTo(0x1000);
        assertThat(h.peek16(0x7ffc)).as("return CS").isEqualTo(0);
        assertThat(h.peek16(0x7ffe) & 2).as("FLAGS").isEqualTo(2);
    }

    @Test void invalidOpcodeWithExceptionBitmapExitsWithInterruptionInfo() {
        h.w(EXCEPTION_BITMAP, 1 << 6);
        h.load(0x1000, 0x90, 0x0f, 0xff);
        h.launch();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_EXCEPTION_NMI);
        assertThat(h.r(VM_EXIT_INTR_INFO)).isEqualTo(0x80000306L);
        assertThat(h.rip()).isEqualTo(0x1001);
    }

    @Test void divideByZeroVectorsDe() {
        h.ivt(0, 0, 0x3000);
        h.load(0x3000, 0xf4);
        h.load(0x1000,
                0xb8, 0x07, 0x01,     // mov ax, 0x107
                0xb3, 0x00,           // mov bl, 0
                0xf6, 0xf3);          // div bl
        h.launch();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_HLT);
        assertThat(h.rip()).isEqualTo(0x3000);
        assertThat(h.peek16(0x7ffa)).isEqualTo(0x1005);
        assertThat(h.regs()[VmxCpu.RAX] & 0xffff).isEqualTo(0x107);
    }

    @Test void tripleFaultWhenTheIvtCannotDeliver() {
        h.w(GUEST_IDTR_LIMIT, 0);
        h.load(0x1000, 0x0f, 0x0b);
        h.launch();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_TRIPLE_FAULT);
        assertThat(h.cpu.lastExitNote()).contains("triple fault");
    }

    @Test void intAndIretThroughTheIvt() {
        h.ivt(0x21, 0, 0x3000);
        h.load(0x3000, 0xb0, 0x99, 0xcf);         // mov al, 0x99; iret
        h.load(0x1000, 0xcd, 0x21, 0xf4);         // int 0x21; hlt
        h.launch();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_HLT);
        assertThat(h.rip()).isEqualTo(0x1002);
        assertThat(h.regs()[VmxCpu.RAX] & 0xff).isEqualTo(0x99);
        assertThat(h.r(GUEST_RSP)).isEqualTo(0x8000);
    }

    @Test void externalInterruptInjectedAtEntryGoesThroughTheIvt() {
        h.ivt(0x20, 0, 0x3000);
        h.load(0x3000, 0xf4);
        h.load(0x1000, 0x90);
        h.w(GUEST_RFLAGS, 0x202);
        h.w(VM_ENTRY_INTR_INFO_FIELD, INTR_INFO_VALID_MASK | INTR_TYPE_EXT_INTR | 0x20);
        h.launch();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_HLT);
        assertThat(h.rip()).isEqualTo(0x3000);
        assertThat(h.peek16(0x7ffa)).isEqualTo(0x1000);
        assertThat(h.peek16(0x7ffe) & 0x200).as("IF pushed").isEqualTo(0x200);
        assertThat(h.rflags() & 0x200).as("IF cleared").isZero();
        assertThat(h.r(VM_ENTRY_INTR_INFO_FIELD) & INTR_INFO_VALID_MASK).isZero();
    }

    @Test void interruptWindowExitingAfterSti() {
        int proc = (int) h.r(CPU_BASED_VM_EXEC_CONTROL);
        h.w(CPU_BASED_VM_EXEC_CONTROL, proc | CPU_BASED_VIRTUAL_INTR_PENDING);
        h.load(0x1000, 0x90, 0xfb, 0x90, 0x90, 0xf4); // nop; sti; nop; nop; hlt
        h.launch();
        // the window opens after the instruction in STI's shadow
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_PENDING_INTERRUPT);
        assertThat(h.rip()).isEqualTo(0x1003);
        assertThat(h.r(GUEST_INTERRUPTIBILITY_INFO)).isZero();
    }

    @Test void stiShadowIsSavedWhenTheNextInstructionExits() {
        h.load(0x1000, 0xfb, 0xf4); // sti; hlt
        h.launch();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_HLT);
        assertThat(h.r(GUEST_INTERRUPTIBILITY_INFO)).isEqualTo(GUEST_INTR_STATE_STI);
    }

    @Test void rdtscExitingAndDeterministicTsc() {
        h.load(0x1000, 0x0f, 0x31, 0xf4);
        int proc = (int) h.r(CPU_BASED_VM_EXEC_CONTROL);
        h.w(CPU_BASED_VM_EXEC_CONTROL, proc | CPU_BASED_RDTSC_EXITING);
        h.launch();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_RDTSC);
        assertThat(h.len()).isEqualTo(2);
        h.w(CPU_BASED_VM_EXEC_CONTROL, proc);
        h.w(TSC_OFFSET, 1000);
        h.resume();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_HLT);
        long tsc = (h.regs()[VmxCpu.RDX] << 32) | (h.regs()[VmxCpu.RAX] & 0xffffffffL);
        assertThat(tsc).isEqualTo(1000 + h.cpu.instructionsRetired() - 1);
    }

    @Test void crAccessExitsWhenAnOwnedBitChangesAndReadsComeFromTheShadow() {
        h.w(CR0_READ_SHADOW, 0x10);
        h.load(0x1000,
                0x0f, 0x20, 0xc3,         // mov ebx, cr0
                0x66, 0x83, 0xcb, 0x01,   // or ebx, 1
                0x0f, 0x22, 0xc3,         // mov cr0, ebx
                0xf4);
        h.launch();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_CR_ACCESS);
        // CR0 (0), MOV to CR (0), GPR 3 in bits 11:8
        assertThat(h.qual()).isEqualTo(0x300L);
        assertThat(h.len()).isEqualTo(3);
        assertThat(h.rip()).isEqualTo(0x1007);
        assertThat(h.regs()[VmxCpu.RBX]).isEqualTo(0x11);
    }

    @Test void guestOwnedCr0BitsChangeWithoutExit() {
        h.w(CR0_GUEST_HOST_MASK, ~0x8L & 0xffffffffL);  // the guest owns TS
        h.load(0x1000,
                0x0f, 0x20, 0xc0,         // mov eax, cr0
                0x66, 0x83, 0xc8, 0x08,   // or eax, 8
                0x0f, 0x22, 0xc0,         // mov cr0, eax
                0x0f, 0x06,               // clts
                0xf4);
        h.launch();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_HLT);
        assertThat(h.r(GUEST_CR0) & 8).isZero();
    }

    @Test void repMovsbAndRepneScasb() {
        for (int i = 0; i < 16; i++) h.ram.buf.put(0x2000 + i, (byte) (i + 1));
        h.load(0x1000,
                0xbe, 0x00, 0x20,     // mov si, 0x2000
                0xbf, 0x00, 0x40,     // mov di, 0x4000
                0xb9, 0x10, 0x00,     // mov cx, 16
                0xfc,                 // cld
                0xf3, 0xa4,           // rep movsb
                0xbf, 0x00, 0x40,     // mov di, 0x4000
                0xb9, 0x10, 0x00,     // mov cx, 16
                0xb0, 0x05,           // mov al, 5
                0xf2, 0xae,           // repne scasb
                0xf4);
        h.launch();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_HLT);
        for (int i = 0; i < 16; i++) assertThat(h.peek8(0x4000 + i)).isEqualTo(i + 1);
        assertThat(h.regs()[VmxCpu.RDI] & 0xffff).isEqualTo(0x4005);
        assertThat(h.regs()[VmxCpu.RCX] & 0xffff).isEqualTo(11);
        assertThat(h.rflags() & 0x40).as("ZF").isEqualTo(0x40);
    }

    @Test void callRetPushPopAndLoop() {
        h.load(0x1000,
                0x31, 0xc0,           // xor ax, ax
                0xb9, 0x0a, 0x00,     // mov cx, 10
                0xe8, 0x05, 0x00,     // l: call add1   (0x1005 -> 0x100d)
                0xe2, 0xfb,           // loop l
                0x50,                 // push ax
                0x5b,                 // pop bx
                0xf4,                 // hlt
                0x40,                 // add1: inc ax
                0xc3);                // ret
        h.launch();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_HLT);
        assertThat(h.rip()).isEqualTo(0x100c);
        assertThat(h.regs()[VmxCpu.RBX] & 0xffff).isEqualTo(10);
        assertThat(h.r(GUEST_RSP)).isEqualTo(0x8000);
    }

    @Test void farJumpAndSegmentLoads() {
        h.load(0x1000,
                0xea, 0x00, 0x00, 0x00, 0x02,   // jmp 0200:0000 -> 0x2000
                0xf4);
        h.load(0x2000,
                0xb8, 0x00, 0x05,               // mov ax, 0x500
                0x8e, 0xd8,                     // mov ds, ax
                0xc6, 0x06, 0x10, 0x00, 0x77,   // mov byte [0x10], 0x77  -> 0x5010
                0x8c, 0xcb,                     // mov bx, cs
                0xf4);
        h.launch();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_HLT);
        assertThat(h.r(GUEST_CS_SELECTOR)).isEqualTo(0x200);
        assertThat(h.rip()).isEqualTo(0xc);
        assertThat(h.peek8(0x5010)).isEqualTo(0x77);
        assertThat(h.regs()[VmxCpu.RBX] & 0xffff).isEqualTo(0x200);
        assertThat(h.r(GUEST_DS_BASE)).isEqualTo(0x5000);
    }

    @Test void sameProgramSameExitsAndTsc() {
        int[] prog = {0xb9, 0x00, 0x01, 0x0f, 0x31, 0xe2, 0xfc, 0xe6, 0x10, 0xf4}; // loop of rdtsc, out, hlt
        long[] first = runDeterministic(prog);
        h.close();
        h = new VmxHarness();
        assertThat(runDeterministic(prog)).containsExactly(first);
    }

    private long[] runDeterministic(int[] prog) {
        h.load(0x1000, prog);
        h.launch();
        long a = h.exitReason(), b = h.qual(), c = h.regs()[VmxCpu.RAX], d = h.rip();
        return new long[]{a, b, c, d};
    }

    @Test void nmiInjectionBlocksNmisUntilIretAndNmiWindowExitFollows() {
        h.ivt(2, 0, 0x3000);
        h.load(0x3000, 0x90, 0xcf);              // nmi handler: nop; iret
        h.load(0x1000, 0x90, 0x90, 0xf4);
        h.w(VM_ENTRY_INTR_INFO_FIELD, INTR_INFO_VALID_MASK | INTR_TYPE_NMI_INTR | 2);
        int proc = (int) h.r(CPU_BASED_VM_EXEC_CONTROL);
        h.w(CPU_BASED_VM_EXEC_CONTROL, proc | CPU_BASED_VIRTUAL_NMI_PENDING);
        h.launch();
        // blocked while in the handler; the window opens right after IRET
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_NMI_WINDOW);
        assertThat(h.rip()).isEqualTo(0x1000);
        assertThat(h.r(GUEST_INTERRUPTIBILITY_INFO) & GUEST_INTR_STATE_NMI).isZero();
        h.w(CPU_BASED_VM_EXEC_CONTROL, proc);
        h.resume();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_HLT);
    }

    @Test void apicAccessPageExits() {
        int proc2 = (int) h.r(SECONDARY_VM_EXEC_CONTROL);
        h.w(SECONDARY_VM_EXEC_CONTROL, proc2 | SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES);
        h.w(APIC_ACCESS_ADDR, h.ram.hpa + 0x9000);   // the page EPT maps at gpa 0x9000
        h.load(0x1000,
                0xb8, 0x00, 0x09,        // mov ax, 0x900
                0x8e, 0xd8,              // mov ds, ax
                0xc7, 0x06, 0x80, 0x00, 0x10, 0x00, // mov word [0x80], 0x10
                0xf4);
        h.launch();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_APIC_ACCESS);
        assertThat(h.qual()).isEqualTo(0x1080L); // linear write (1) at offset 0x80
        assertThat(h.rip()).isEqualTo(0x1005);
    }

    @Test void repInswQualificationAndAddressSize32() {
        h.load(0x1000,
                0x66, 0xbf, 0x00, 0x30, 0x00, 0x00, // mov edi, 0x3000
                0xba, 0x00, 0x90,                   // mov dx, 0x9000 (I/O bitmap B)
                0x67, 0xf3, 0x6d,                   // rep insw with 32-bit addressing
                0xf4);
        h.launch();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_IO_INSTRUCTION);
        // size 2 (1), IN (8), string (16), REP (32), port 0x9000
        assertThat(h.qual()).isEqualTo(0x90000039L);
        assertThat(h.len()).isEqualTo(3);
        assertThat(h.r(VMX_INSTRUCTION_INFO) >> 7 & 7).as("address size 32").isEqualTo(1);
        assertThat(h.r(GUEST_LINEAR_ADDRESS)).isEqualTo(0x3000);
    }

    @Test void ioBitmapBAndAWordAccessThatStraddlesAnExitingPort() {
        h.ioPassThrough(0x9000, true);
        h.ioPassThrough(0x70, true);
        h.load(0x1000,
                0xba, 0x00, 0x90,       // mov dx, 0x9000
                0xec,                   // in al, dx     (passes)
                0xe5, 0x70,             // in ax, 0x70   (0x71 exits)
                0xf4);
        h.launch();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_IO_INSTRUCTION);
        assertThat(h.rip()).isEqualTo(0x1004);
        assertThat(h.qual()).isEqualTo(0x00700049L);
    }

    @Test void segmentOverridesFarPointersAndMoffs() {
        h.poke16(0x2000, 0x1234);                  // far pointer 0600:1234
        h.poke16(0x2002, 0x0600);
        h.poke16(0x6000 + 0x10, 0xabcd);
        h.load(0x1000,
                0xc4, 0x1e, 0x00, 0x20,         // les bx, [0x2000]
                0x26, 0xa1, 0x10, 0x00,         // mov ax, es:[0x10]   (0x6010)
                0x26, 0x89, 0x47, 0x02,         // mov es:[bx+2], ax   (0x6000 + 0x1236)
                0xf4);
        h.launch();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_HLT);
        assertThat(h.r(GUEST_ES_SELECTOR)).isEqualTo(0x600);
        assertThat(h.regs()[VmxCpu.RBX] & 0xffff).isEqualTo(0x1234);
        assertThat(h.regs()[VmxCpu.RAX] & 0xffff).isEqualTo(0xabcd);
        assertThat(h.peek16(0x6000 + 0x1236)).isEqualTo(0xabcd);
    }

    @Test void thirtyTwoBitAddressingWithSibInRealMode() {
        h.ram.buf.putInt(0x4000 + 3 * 4 + 8, 0x11223344);
        h.load(0x1000,
                0x66, 0xbb, 0x00, 0x40, 0x00, 0x00,   // mov ebx, 0x4000
                0x66, 0xbe, 0x03, 0x00, 0x00, 0x00,   // mov esi, 3
                0x67, 0x66, 0x8b, 0x44, 0xb3, 0x08,   // mov eax, [ebx+esi*4+8]
                0xf4);
        h.launch();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_HLT);
        assertThat(h.regs()[VmxCpu.RAX]).isEqualTo(0x11223344L);
    }

    @Test void enterLeaveAndXlat() {
        for (int i = 0; i < 16; i++) h.put8(0x2000 + i, 0xa0 + i);
        h.load(0x1000,
                0xc8, 0x10, 0x00, 0x00,   // enter 16, 0
                0xbb, 0x00, 0x20,         // mov bx, 0x2000
                0xb0, 0x05,               // mov al, 5
                0xd7,                     // xlat
                0xc9,                     // leave
                0xf4);
        h.launch();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_HLT);
        assertThat(h.regs()[VmxCpu.RAX] & 0xff).isEqualTo(0xa5);
        assertThat(h.r(GUEST_RSP)).isEqualTo(0x8000);
    }

    @Test void msrBitmapDecidesWhetherRdmsrExits() {
        // clear the read bit of IA32_SYSENTER_CS (0x174): RDMSR runs in the guest; 0x10 still exits
        h.mem.write8(h.msrBitmap.hpa + (0x174 >> 3), h.mem.read8(h.msrBitmap.hpa + (0x174 >> 3)) & ~(1 << (0x174 & 7)));
        h.load(0x1000,
                0x66, 0xb9, 0x74, 0x01, 0x00, 0x00,   // mov ecx, 0x174
                0x0f, 0x32,                           // rdmsr
                0x66, 0xb9, 0x10, 0x00, 0x00, 0x00,   // mov ecx, 0x10
                0x0f, 0x32,                           // rdmsr -> exit
                0xf4);
        h.w(GUEST_SYSENTER_CS, 0x42);
        h.launch();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_MSR_READ);
        assertThat(h.rip()).isEqualTo(0x100e);
        assertThat(h.regs()[VmxCpu.RAX]).isEqualTo(0x42);
    }

    @Test void movFromCr3ExitsUnderCr3StoreExiting() {
        int proc = (int) h.r(CPU_BASED_VM_EXEC_CONTROL);
        h.w(CPU_BASED_VM_EXEC_CONTROL, proc | CPU_BASED_CR3_STORE_EXITING | CPU_BASED_CR3_LOAD_EXITING);
        h.load(0x1000, 0x0f, 0x20, 0xda, 0xf4); // mov edx, cr3
        h.launch();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_CR_ACCESS);
        assertThat(h.qual()).isEqualTo(0x213L); // CR3, MOV from CR (1 << 4), GPR 2 (EDX)
    }
}
