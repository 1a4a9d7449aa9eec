package kvmkmod.hw.host;

import kvmkmod.hw.VmxCpu;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.concurrent.TimeUnit;

import static kvmkmod.hw.VmxArch.*;
import static kvmkmod.hw.VmxCpu.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HostCpuTest {
    @BeforeEach
    void needKvm() {
        assumeTrue(HostKvm.usable(), HostKvm.whyNotUsable());
    }

    static long ioQual(int size, boolean in, boolean string, boolean rep, boolean imm, int port) {
        return (size - 1) | (in ? 8 : 0) | (string ? 16 : 0) | (rep ? 32 : 0) | (imm ? 64 : 0) | ((long) port << 16);
    }

    @Test
    void outImm8ThenHlt() {
        try (VmxGuest g = new VmxGuest(8)) {
            g.code(0, 0xb0, 0x41, 0xe6, 0x10, 0xf4);          // mov al,0x41; out 0x10,al; hlt
            assertThat(g.launch()).isEqualTo(VM_SUCCEED);
            assertThat(g.reason()).isEqualTo(EXIT_REASON_IO_INSTRUCTION);
            assertThat(g.qual()).isEqualTo(ioQual(1, false, false, false, true, 0x10));
            assertThat(g.len()).isEqualTo(2);
            assertThat(g.rip()).isEqualTo(2);
            assertThat(g.regs()[RAX] & 0xff).isEqualTo(0x41);
            g.skip();
            assertThat(g.resume()).isEqualTo(VM_SUCCEED);
            assertThat(g.reason()).isEqualTo(EXIT_REASON_HLT);
            assertThat(g.rip()).isEqualTo(4);
            assertThat(g.len()).isEqualTo(1);
            assertThat(((HostCpu) g.cpu).completions).isZero();
        }
    }

    @Test
    void outDxWordAndDword() {
        try (VmxGuest g = new VmxGuest(8)) {
            g.code(0, 0xba, 0xf8, 0x03,                        // mov dx,0x3f8
                    0xb8, 0x34, 0x12,                          // mov ax,0x1234
                    0xef,                                      // out dx,ax
                    0x66, 0xb8, 0x78, 0x56, 0x34, 0x12,        // mov eax,0x12345678
                    0x66, 0xef,                                // out dx,eax
                    0xf4);
            g.launch();
            assertThat(g.reason()).isEqualTo(EXIT_REASON_IO_INSTRUCTION);
            assertThat(g.qual()).isEqualTo(ioQual(2, false, false, false, false, 0x3f8));
            assertThat(g.len()).isEqualTo(1);
            assertThat(g.rip()).isEqualTo(6);
            assertThat(g.regs()[RAX] & 0xffff).isEqualTo(0x1234);
            g.skip();
            g.resume();
            assertThat(g.reason()).isEqualTo(EXIT_REASON_IO_INSTRUCTION);
            assertThat(g.qual()).isEqualTo(ioQual(4, false, false, false, false, 0x3f8));
            assertThat(g.len()).isEqualTo(2);
            assertThat(g.rip()).isEqualTo(13);
            assertThat(g.regs()[RAX]).isEqualTo(0x12345678L);
            g.skip();
            g.resume();
            assertThat(g.reason()).isEqualTo(EXIT_REASON_HLT);
            assertThat(g.rip()).isEqualTo(15);
        }
    }

    @Test
    void inThenOutSeesTheValueTheHypervisorChose() {
        try (VmxGuest g = new VmxGuest(8)) {
            g.code(0, 0xe4, 0x20,                              // in al,0x20
                    0xfe, 0xc0,                                // inc al
                    0xe6, 0x21,                                // out 0x21,al
                    0xec,                                      // in al,dx
                    0xfe, 0xc0, 0xe6, 0x22, 0xf4);             // inc al; out 0x22,al; hlt
            g.launch();
            assertThat(g.reason()).isEqualTo(EXIT_REASON_IO_INSTRUCTION);
            assertThat(g.qual()).isEqualTo(ioQual(1, true, false, false, true, 0x20));
            assertThat(g.len()).isEqualTo(2);
            assertThat(g.rip()).isEqualTo(0);
            // what handle_io + complete_pio do: skip the instruction, put the data in AL
            g.skip();
            g.regs()[RAX] = (g.regs()[RAX] & ~0xffL) | 0x41;
            g.resume();
            assertThat(g.reason()).isEqualTo(EXIT_REASON_IO_INSTRUCTION);
            assertThat(g.qual()).isEqualTo(ioQual(1, false, false, false, true, 0x21));
            assertThat(g.regs()[RAX] & 0xff).isEqualTo(0x42);
            assertThat(g.rip()).isEqualTo(4);
            assertThat(((HostCpu) g.cpu).completions).as("fast path: no extra KVM_RUN").isZero();
            g.skip();
            g.resume();
            // IN AL,DX: now the hypervisor also changes another register: the slow path must honour both
            assertThat(g.qual()).isEqualTo(ioQual(1, true, false, false, false, (int) (g.regs()[RDX] & 0xffff)));
            assertThat(g.len()).isEqualTo(1);
            assertThat(g.rip()).isEqualTo(6);
            g.skip();
            g.regs()[RAX] = 0x7f;
            g.regs()[RBX] = 0xabcd;
            g.resume();
            assertThat(g.qual()).isEqualTo(ioQual(1, false, false, false, true, 0x22));
            assertThat(g.regs()[RAX]).isEqualTo(0x80);
            assertThat(g.regs()[RBX]).isEqualTo(0xabcd);
            assertThat(g.rip()).isEqualTo(9);
            assertThat(((HostCpu) g.cpu).completions).isEqualTo(1);
        }
    }

    @Test
    void inCanBeReexecutedWhenTheHypervisorSaysSo() {
        try (VmxGuest g = new VmxGuest(8)) {
            g.code(0, 0xe4, 0x20, 0xe6, 0x21, 0xf4);          // in al,0x20; out 0x21,al; hlt
            g.launch();
            assertThat(g.rip()).isEqualTo(0);
            // leave RIP at the IN (as a hypervisor that wants the instruction again would)
            g.resume();
            assertThat(g.reason()).isEqualTo(EXIT_REASON_IO_INSTRUCTION);
            assertThat(g.qual()).isEqualTo(ioQual(1, true, false, false, true, 0x20));
            assertThat(g.rip()).isEqualTo(0);
            g.skip();
            g.regs()[RAX] = 0x99;
            g.resume();
            assertThat(g.qual()).isEqualTo(ioQual(1, false, false, false, true, 0x21));
            assertThat(g.regs()[RAX]).isEqualTo(0x99);
        }
    }

    @Test
    void repOutsbQualificationAndPreInstructionState() {
        try (VmxGuest g = new VmxGuest(8)) {
            g.code(0, 0xbe, 0x00, 0x01,                        // mov si,0x100
                    0xb9, 0x03, 0x00,                          // mov cx,3
                    0xba, 0x14, 0x00,                          // mov dx,0x14
                    0xf3, 0x6e,                                // rep outsb
                    0xf4);
            g.code(0x100, 1, 2, 3);
            g.launch();
            assertThat(g.reason()).isEqualTo(EXIT_REASON_IO_INSTRUCTION);
            assertThat(g.qual()).isEqualTo(ioQual(1, false, true, true, false, 0x14));
            assertThat(g.len()).isEqualTo(2);
            assertThat(g.rip()).isEqualTo(9);
            assertThat(g.regs()[RSI]).isEqualTo(0x100);
            assertThat(g.regs()[RCX]).isEqualTo(3);
            assertThat(g.r(GUEST_LINEAR_ADDRESS)).isEqualTo(0x100);
            assertThat(g.r(VMX_INSTRUCTION_INFO)).isEqualTo(3L << 15);   // DS, 16-bit addressing
            // the hypervisor emulates the whole string and steps over it
            g.regs()[RSI] = 0x103;
            g.regs()[RCX] = 0;
            g.skip();
            g.resume();
            assertThat(g.reason()).isEqualTo(EXIT_REASON_HLT);
            assertThat(g.rip()).isEqualTo(11);
            assertThat(g.regs()[RSI]).isEqualTo(0x103);
        }
    }

    @Test
    void outsbWithoutRep() {
        try (VmxGuest g = new VmxGuest(8)) {
            g.code(0, 0xbe, 0x00, 0x01, 0xba, 0x14, 0x00, 0x6e, 0xf4);   // mov si,0x100; mov dx,0x14; outsb; hlt
            g.code(0x100, 0x5a);
            g.launch();
            assertThat(g.qual()).isEqualTo(ioQual(1, false, true, false, false, 0x14));
            assertThat(g.rip()).isEqualTo(6);
            assertThat(g.len()).isEqualTo(1);
            assertThat(g.regs()[RSI]).isEqualTo(0x100);
        }
    }

    @Test
    void repInsbLeavesMemoryToTheHypervisor() {
        try (VmxGuest g = new VmxGuest(8)) {
            g.code(0, 0xbf, 0x00, 0x02,                        // mov di,0x200
                    0xb9, 0x03, 0x00,                          // mov cx,3
                    0xba, 0x15, 0x00,                          // mov dx,0x15
                    0xf3, 0x6c,                                // rep insb
                    0xf4);
            g.code(0x200, 0xee, 0xee, 0xee);
            g.launch();
            assertThat(g.reason()).isEqualTo(EXIT_REASON_IO_INSTRUCTION);
            assertThat(g.qual()).isEqualTo(ioQual(1, true, true, true, false, 0x15));
            assertThat(g.rip()).isEqualTo(9);
            assertThat(g.len()).isEqualTo(2);
            assertThat(g.regs()[RDI]).isEqualTo(0x200);
            assertThat(g.regs()[RCX]).isEqualTo(3);
            assertThat(g.r(GUEST_LINEAR_ADDRESS)).isEqualTo(0x200);
            // the hypervisor's emulator stores only two elements this time, and will come back for the third
            g.code(0x200, 0x11, 0x22);
            g.regs()[RDI] = 0x202;
            g.regs()[RCX] = 1;
            g.resume();
            assertThat(g.reason()).isEqualTo(EXIT_REASON_IO_INSTRUCTION);
            assertThat(g.regs()[RDI]).isEqualTo(0x202);
            assertThat(g.regs()[RCX]).isEqualTo(1);
            assertThat(g.rip()).isEqualTo(9);
            assertThat(g.ram.buf.get(0x200)).isEqualTo((byte) 0x11);
            assertThat(g.ram.buf.get(0x201)).isEqualTo((byte) 0x22);
            assertThat(g.ram.buf.get(0x202)).as("the host's own completion must not store").isEqualTo((byte) 0xee);
        }
    }

    @Test
    void eptViolationOnUnmappedPageThenMapAndReexecute() {
        try (VmxGuest g = new VmxGuest(8)) {
            g.code(0, 0xa0, 0x00, 0x90,                        // mov al,[0x9000]
                    0xe6, 0x22, 0xf4);                         // out 0x22,al; hlt
            g.launch();
            assertThat(g.reason()).isEqualTo(EXIT_REASON_EPT_VIOLATION);
            assertThat(g.r(GUEST_PHYSICAL_ADDRESS)).isEqualTo(0x9000);
            assertThat(g.qual()).isEqualTo(1 | (1 << 7) | (1 << 8));   // read, nothing permitted, linear valid
            assertThat(g.rip()).isEqualTo(0);
            assertThat(g.r(GUEST_LINEAR_ADDRESS)).isEqualTo(0x9000);
            var page = g.mem.mmap(4096);
            page.buf.put(0, (byte) 0x5a);
            g.map(0x9000, page.hpa, 7);
            g.cpu.invept(VMX_EPT_EXTENT_CONTEXT, g.eptp);
            g.resume();
            assertThat(g.reason()).isEqualTo(EXIT_REASON_IO_INSTRUCTION);
            assertThat(g.regs()[RAX] & 0xff).isEqualTo(0x5a);
            assertThat(g.rip()).isEqualTo(3);
        }
    }

    @Test
    void eptViolationOnWriteAndFetch() {
        try (VmxGuest g = new VmxGuest(8)) {
            g.code(0, 0xb0, 0x77,                              // mov al,0x77
                    0xa2, 0x00, 0x90,                          // mov [0x9000],al
                    0xea, 0x00, 0x00, 0x00, 0x0a);             // jmp 0x0a00:0  (fetch from 0xa000)
            g.launch();
            assertThat(g.reason()).isEqualTo(EXIT_REASON_EPT_VIOLATION);
            assertThat(g.r(GUEST_PHYSICAL_ADDRESS)).isEqualTo(0x9000);
            assertThat(g.qual()).isEqualTo(2 | (1 << 7) | (1 << 8));
            assertThat(g.rip()).isEqualTo(2);
            var page = g.mem.mmap(4096);
            g.map(0x9000, page.hpa, 7);
            g.cpu.invept(VMX_EPT_EXTENT_CONTEXT, g.eptp);
            g.resume();
            assertThat(page.buf.get(0)).isEqualTo((byte) 0x77);
            assertThat(g.reason()).isEqualTo(EXIT_REASON_EPT_VIOLATION);
            assertThat(g.r(GUEST_PHYSICAL_ADDRESS)).isEqualTo(0xa000);
            assertThat(g.qual()).isEqualTo(4 | (1 << 7) | (1 << 8));
            assertThat(g.r(GUEST_CS_BASE)).isEqualTo(0xa000);
            assertThat(g.rip()).isEqualTo(0);
        }
    }

    /** Runs {@code code} at 0 with ES = 0x900 (base 0x9000, unmapped) and expects a write EPT violation at {@code rip}. */
    private static VmxGuest storeFault(int rip, int... code) {
        VmxGuest g = new VmxGuest(8);
        g.w(GUEST_ES_SELECTOR, 0x900);
        g.w(GUEST_ES_BASE, 0x9000);
        g.code(0, code);
        g.launch();
        assertThat(g.reason()).isEqualTo(EXIT_REASON_EPT_VIOLATION);
        assertThat(g.qual() & 7).isEqualTo(2);
        assertThat(g.rip()).isEqualTo(rip);
        return g;
    }

    @Test
    void writeFaultsFindTheStoreInstruction() {
        // mov di,4; mov ax,0x1234; es mov [di],ax
        try (VmxGuest g = storeFault(6, 0xbf, 0x04, 0x00, 0xb8, 0x34, 0x12, 0x26, 0x89, 0x05, 0xf4)) {
            assertThat(g.r(GUEST_PHYSICAL_ADDRESS)).isEqualTo(0x9004);
        }
        // mov bx,0x10; mov si,2; es mov word [bx+si+0x10],0x5678
        try (VmxGuest g = storeFault(6, 0xbb, 0x10, 0x00, 0xbe, 0x02, 0x00, 0x26, 0xc7, 0x40, 0x10, 0x78, 0x56, 0xf4)) {
            assertThat(g.r(GUEST_PHYSICAL_ADDRESS)).isEqualTo(0x9022);
        }
        // mov di,8; mov al,1; stosb  -> DI is put back to 8
        try (VmxGuest g = storeFault(5, 0xbf, 0x08, 0x00, 0xb0, 0x01, 0xaa, 0xf4)) {
            assertThat(g.r(GUEST_PHYSICAL_ADDRESS)).isEqualTo(0x9008);
            assertThat(g.regs()[RDI]).isEqualTo(8);
        }
        // mov edi,0x20 (66 bf ...); mov eax,1; stosd (66 ab)
        try (VmxGuest g = storeFault(12, 0x66, 0xbf, 0x20, 0, 0, 0, 0x66, 0xb8, 1, 0, 0, 0, 0x66, 0xab, 0xf4)) {
            assertThat(g.r(GUEST_PHYSICAL_ADDRESS)).isEqualTo(0x9020);
            assertThat(g.regs()[RDI]).isEqualTo(0x20);
        }
        // mov di,0; mov cx,3; rep stosb -> the first element faults, RIP at the REP STOSB, CX and DI as before
        try (VmxGuest g = storeFault(6, 0xbf, 0x00, 0x00, 0xb9, 0x03, 0x00, 0xf3, 0xaa, 0xf4)) {
            assertThat(g.r(GUEST_PHYSICAL_ADDRESS)).isEqualTo(0x9000);
            assertThat(g.regs()[RDI]).isEqualTo(0);
            assertThat(g.regs()[RCX]).isEqualTo(3);
            // map the page and let the guest redo it
            var page = g.mem.mmap(4096);
            g.map(0x9000, page.hpa, 7);
            g.cpu.invept(VMX_EPT_EXTENT_CONTEXT, g.eptp);
            g.regs()[RAX] = 0x6b;
            g.resume();
            assertThat(g.reason()).isEqualTo(EXIT_REASON_HLT);
            assertThat(page.buf.get(0)).isEqualTo((byte) 0x6b);
            assertThat(page.buf.get(2)).isEqualTo((byte) 0x6b);
            assertThat(g.regs()[RCX]).isZero();
            assertThat(g.regs()[RDI]).isEqualTo(3);
        }
    }

    @Test
    void thirtyTwoBitPagingShutsDownOnThisHost() {
        // Host quirk (PVM): a ring-0 guest with 32-bit (or PAE) paging shuts down at once; only 4-level
        // paging (long mode) runs. Here the same page tables as in guestPagingIsFollowedWhenDecoding.
        try (VmxGuest g = new VmxGuest(8)) {
            g.setupProtectedMode();
            g.ram.buf.putInt(0x1000, 0x2000 | 3);
            for (int i = 0; i < 8; i++) g.ram.buf.putInt(0x2000 + 4 * i, (i << 12) | 3);
            g.code(0x4000, 0xe6, 0x10, 0xf4);
            g.w(GUEST_CR0, 0x80000031L);
            g.w(GUEST_CR3, 0x1000);
            g.w(GUEST_RIP, 0x4000);
            g.launch();
            assumeTrue(g.reason() == EXIT_REASON_TRIPLE_FAULT, "this host runs 32-bit paging");
        }
    }

    @Test
    void guestPagingIsFollowedWhenDecoding() {
        try (VmxGuest g = new VmxGuest(8)) {
            // long mode, 4-level paging: PML4 0x1000, PDPT 0x3000, PD 0x7000, PT 0x2000;
            // linear 0x4000 -> 0x6000 (code), 0x5000 -> 0x9000 (no RAM), the rest identity
            g.ram.buf.putLong(0x1000, 0x3000 | 3);
            g.ram.buf.putLong(0x3000, 0x7000 | 3);
            g.ram.buf.putLong(0x7000, 0x2000 | 3);
            for (int i = 0; i < 8; i++) g.ram.buf.putLong(0x2000 + 8 * i, (i << 12) | 3);
            g.ram.buf.putLong(0x2000 + 8 * 4, 0x6000 | 3);
            g.ram.buf.putLong(0x2000 + 8 * 5, 0x9000 | 3);
            g.code(0x6000, 0xb0, 0x41,                         // mov al,0x41
                    0xe6, 0x10,                                // out 0x10,al
                    0x88, 0x04, 0x25, 0x00, 0x50, 0x00, 0x00,  // mov [0x5000],al
                    0x88, 0x05, 0xf3, 0x0f, 0x00, 0x00,        // mov [rip+0xff3],al  (0x400d + 0xff3 = 0x5000)
                    0xf4);
            g.setupProtectedMode();
            g.w(GUEST_CS_AR_BYTES, 0xa09b);                    // L=1
            g.w(GUEST_CR0, 0x80000031L);
            g.w(GUEST_CR3, 0x1000);
            g.w(GUEST_CR4, 0x2020);                            // PAE, VMXE
            g.w(VM_ENTRY_CONTROLS, g.r(VM_ENTRY_CONTROLS) | VM_ENTRY_IA32E_MODE);
            g.w(GUEST_RIP, 0x4000);
            g.launch();
            assertThat(g.reason()).as("%s", ((HostCpu) g.cpu).lastFailure).isEqualTo(EXIT_REASON_IO_INSTRUCTION);
            assertThat(g.qual()).isEqualTo(ioQual(1, false, false, false, true, 0x10));
            assertThat(g.len()).isEqualTo(2);
            assertThat(g.rip()).isEqualTo(0x4002);
            g.skip();
            g.resume();
            assertThat(g.reason()).isEqualTo(EXIT_REASON_EPT_VIOLATION);
            assertThat(g.r(GUEST_PHYSICAL_ADDRESS)).isEqualTo(0x9000);
            assertThat(g.qual()).as("write; linear address not known").isEqualTo(2);
            assertThat(g.rip()).isEqualTo(0x4004);
            // pretend the hypervisor emulated that store; the next one is RIP-relative
            g.w(GUEST_RIP, 0x400b);
            g.resume();
            assertThat(g.reason()).isEqualTo(EXIT_REASON_EPT_VIOLATION);
            assertThat(g.rip()).isEqualTo(0x400b);
            assertThat(g.r(VM_ENTRY_CONTROLS) & VM_ENTRY_IA32E_MODE).isNotZero();
        }
    }

    @Test
    void writeToReadOnlyPageReportsPermissions() {
        assumeTrue(HostKvm.readonlyMemory(), "host has no KVM_CAP_READONLY_MEM");
        try (VmxGuest g = new VmxGuest(8)) {
            g.code(0, 0xa0, 0x00, 0x70, 0xa2, 0x00, 0x70, 0xf4);   // mov al,[0x7000]; mov [0x7000],al; hlt
            g.map(0x7000, g.ram.hpa + 0x7000, 5);             // read + execute
            g.launch();
            assertThat(g.reason()).isEqualTo(EXIT_REASON_EPT_VIOLATION);
            assertThat(g.r(GUEST_PHYSICAL_ADDRESS)).isEqualTo(0x7000);
            assertThat(g.qual()).isEqualTo(2 | (5 << 3) | (1 << 7) | (1 << 8));
            assertThat(g.rip()).isEqualTo(3);
        }
    }

    @Test
    void vmlaunchTwiceFailsWithError4() {
        try (VmxGuest g = new VmxGuest(8)) {
            g.code(0, 0xf4);
            assertThat(g.launch()).isEqualTo(VM_SUCCEED);
            assertThat(g.reason()).isEqualTo(EXIT_REASON_HLT);
            assertThat(g.launch()).isEqualTo(VM_FAIL_VALID);
            assertThat(g.r(VM_INSTRUCTION_ERROR)).isEqualTo(VMXERR_VMLAUNCH_NONCLEAR_VMCS);
        }
    }

    @Test
    void vmresumeBeforeLaunchFailsWithError5() {
        try (VmxGuest g = new VmxGuest(8)) {
            assertThat(g.resume()).isEqualTo(VM_FAIL_VALID);
            assertThat(g.r(VM_INSTRUCTION_ERROR)).isEqualTo(VMXERR_VMRESUME_NONLAUNCHED_VMCS);
        }
    }

    @Test
    void badControlsFailWithError7() {
        try (VmxGuest g = new VmxGuest(8)) {
            g.w(PIN_BASED_VM_EXEC_CONTROL, 0);            // the default-1 bits are missing
            assertThat(g.launch()).isEqualTo(VM_FAIL_VALID);
            assertThat(g.r(VM_INSTRUCTION_ERROR)).isEqualTo(VMXERR_ENTRY_INVALID_CONTROL_FIELD);
        }
    }

    @Test
    void unsupportedFieldFailsWithError12AndNoVmcsFailsInvalid() {
        try (VmxGuest g = new VmxGuest(8)) {
            assertThat(g.cpu.vmwrite(0x7fff, 1)).isEqualTo(VM_FAIL_VALID);
            assertThat(g.r(VM_INSTRUCTION_ERROR)).isEqualTo(VMXERR_UNSUPPORTED_VMCS_COMPONENT);
            g.cpu.vmclear(g.vmcs.hpa);
            assertThat(g.cpu.vmptrst()).isEqualTo(-1);
            assertThat(g.cpu.vmlaunch()).isEqualTo(VM_FAIL_INVALID);
        }
    }

    @Test
    void tripleFault() {
        // On this host a real-mode IVT limit is not checked (see the notes), so use protected mode with
        // an empty IDT: #UD cannot be delivered, nor #DF, and the processor shuts down.
        try (VmxGuest g = new VmxGuest(8)) {
            g.setupProtectedMode();
            g.w(GUEST_IDTR_LIMIT, 0);
            g.code(0, 0x0f, 0x0b);                             // ud2
            g.launch();
            assertThat(g.reason()).isEqualTo(EXIT_REASON_TRIPLE_FAULT);
        }
    }

    @Test
    void realModeIvtLimitIsNotCheckedOnThisHost() throws Exception {
        // lidt [0x10] (limit 0); int3. VMX with unrestricted guest would shut down (exit 2); this host
        // delivers through the IVT regardless and the guest runs on, so a kick stops it.
        try (VmxGuest g = new VmxGuest(8)) {
            g.code(0, 0x0f, 0x01, 0x1e, 0x10, 0x00, 0xcc, 0xf4);
            g.code(0x10, 0, 0, 0, 0, 0, 0);
            Thread t = new Thread(() -> {
                try { Thread.sleep(300); } catch (InterruptedException ignored) { }
                g.cpu.kick();
            });
            t.start();
            g.launch();
            t.join();
            assertThat(g.reason()).isIn(EXIT_REASON_TRIPLE_FAULT, EXIT_REASON_EXTERNAL_INTERRUPT);
            assumeTrue(g.reason() == EXIT_REASON_EXTERNAL_INTERRUPT, "this host checks the real-mode IVT limit");
        }
    }

    @Test
    void kickStopsARunningGuest() throws Exception {
        try (VmxGuest g = new VmxGuest(8)) {
            g.code(0, 0xeb, 0xfe);                             // jmp $
            Thread t = new Thread(() -> {
                try { Thread.sleep(200); } catch (InterruptedException ignored) { }
                g.cpu.kick();
            });
            t.start();
            g.launch();
            t.join();
            assertThat(g.reason()).isEqualTo(EXIT_REASON_EXTERNAL_INTERRUPT);
            assertThat(g.rip()).isEqualTo(0);
            // the next entry runs normally again
            g.code(0, 0xf4);
            g.resume();
            assertThat(g.reason()).isEqualTo(EXIT_REASON_HLT);
        }
    }

    @Test
    void segmentWrittenByTheHypervisorReachesTheGuest() {
        try (VmxGuest g = new VmxGuest(8)) {
            g.code(0, 0xe6, 0x10,                              // out 0x10,al
                    0xa0, 0x00, 0x00,                          // mov al,[0]   (DS-relative)
                    0xe6, 0x11, 0xf4);                         // out 0x11,al; hlt
            g.code(0x1000, 0x3c);
            g.launch();
            g.skip();
            g.w(GUEST_DS_SELECTOR, 0x100);
            g.w(GUEST_DS_BASE, 0x1000);
            g.resume();
            assertThat(g.qual() >>> 16).isEqualTo(0x11);
            assertThat(g.regs()[RAX] & 0xff).isEqualTo(0x3c);
            assertThat(g.r(GUEST_DS_BASE)).isEqualTo(0x1000);
            assertThat(g.r(GUEST_DS_SELECTOR)).isEqualTo(0x100);
        }
    }

    @Test
    void guestSegmentLoadsAreSavedBack() {
        try (VmxGuest g = new VmxGuest(8)) {
            g.code(0, 0xb8, 0x34, 0x12, 0x8e, 0xc0, 0xf4);  // mov ax,0x1234; mov es,ax; hlt
            g.launch();
            assertThat(g.reason()).isEqualTo(EXIT_REASON_HLT);
            assertThat(g.r(GUEST_ES_SELECTOR)).isEqualTo(0x1234);
            assertThat(g.r(GUEST_ES_BASE)).isEqualTo(0x12340);
            assertThat(g.r(GUEST_ES_AR_BYTES) & 0xff).isEqualTo(0x93);
        }
    }

    @Test
    void externalInterruptInjectedThroughTheIvt() {
        try (VmxGuest g = new VmxGuest(8)) {
            g.code(0, 0xf4);                                   // hlt
            g.code(0x20 * 4, 0x00, 0x03, 0x00, 0x00);          // IVT[0x20] = 0000:0300
            g.code(0x300, 0xe6, 0x30, 0xf4);                   // out 0x30,al; hlt
            g.w(VM_ENTRY_INTR_INFO_FIELD, INTR_INFO_VALID_MASK | INTR_TYPE_EXT_INTR | 0x20);
            g.w(GUEST_RFLAGS, 0x202);
            g.launch();
            assertThat(g.reason()).isEqualTo(EXIT_REASON_IO_INSTRUCTION);
            assertThat(g.qual() >>> 16).isEqualTo(0x30);
            assertThat(g.rip()).isEqualTo(0x300);
            assertThat(g.r(VM_ENTRY_INTR_INFO_FIELD) & INTR_INFO_VALID_MASK).as("cleared by the VM exit").isZero();
            assertThat(g.r(GUEST_RSP)).isEqualTo(0x7000 - 6);   // FLAGS, CS, IP pushed
        }
    }

    @Test
    void interruptWindowExiting() {
        try (VmxGuest g = new VmxGuest(8)) {
            g.code(0, 0xfb, 0x90, 0x90, 0xf4);                 // sti; nop; nop; hlt
            g.w(CPU_BASED_VM_EXEC_CONTROL, g.r(CPU_BASED_VM_EXEC_CONTROL) | CPU_BASED_VIRTUAL_INTR_PENDING);
            g.launch();
            assertThat(g.reason()).isEqualTo(EXIT_REASON_PENDING_INTERRUPT);
            assertThat(g.r(GUEST_RFLAGS) & 0x200).isNotZero();
            assertThat(g.rip()).isEqualTo(3);
        }
    }

    @Test
    void interruptWindowOpenAtEntry() {
        try (VmxGuest g = new VmxGuest(8)) {
            g.code(0, 0x90, 0xeb, 0xfd);                       // nop; jmp $-1
            g.w(GUEST_RFLAGS, 0x202);
            g.w(CPU_BASED_VM_EXEC_CONTROL, g.r(CPU_BASED_VM_EXEC_CONTROL) | CPU_BASED_VIRTUAL_INTR_PENDING);
            g.launch();
            assertThat(g.reason()).isEqualTo(EXIT_REASON_PENDING_INTERRUPT);
        }
    }

    @Test
    void ioBitmapLetsPort0x80Through() {
        try (VmxGuest g = new VmxGuest(8)) {
            var a = g.mem.allocPages(4096);
            var b = g.mem.allocPages(4096);
            for (int i = 0; i < 4096; i++) { a.buf.put(i, (byte) 0xff); b.buf.put(i, (byte) 0xff); }
            a.buf.put(0x80 / 8, (byte) 0xfe);                 // port 0x80 does not exit
            g.w(IO_BITMAP_A, a.hpa);
            g.w(IO_BITMAP_B, b.hpa);
            g.w(CPU_BASED_VM_EXEC_CONTROL, (g.r(CPU_BASED_VM_EXEC_CONTROL) & ~CPU_BASED_UNCOND_IO_EXITING) | CPU_BASED_USE_IO_BITMAPS);
            g.code(0, 0xe6, 0x80, 0xe4, 0x80, 0xe6, 0x81, 0xf4);   // out 0x80,al; in al,0x80; out 0x81,al
            g.launch();
            assertThat(g.reason()).isEqualTo(EXIT_REASON_IO_INSTRUCTION);
            assertThat(g.qual() >>> 16).isEqualTo(0x81);
            assertThat(g.regs()[RAX] & 0xff).isEqualTo(0xff);
            assertThat(g.rip()).isEqualTo(4);
        }
    }

    @Test
    void vmcsMigratesToAnotherProcessorWithAPendingIn() {
        try (VmxGuest g = new VmxGuest(8)) {
            g.code(0, 0xe4, 0x20, 0xe6, 0x21, 0xf4);          // in al,0x20; out 0x21,al; hlt
            g.launch();
            assertThat(g.rip()).isEqualTo(0);
            g.skip();
            g.regs()[RAX] = 0x66;
            long rax = g.regs()[RAX];
            // vcpu_clear on cpu 0, then vmptrld + vmlaunch on cpu 1 (as vmx_vcpu_load does after a migration)
            VmxGuest.check(g.cpu.vmclear(g.vmcs.hpa));
            VmxCpu other = HostCpu.create(1, g.mem, kvmkmod.hw.VmxCapabilities.westmere());
            other.write_cr4(other.read_cr4() | (1 << 13));
            other.wrmsr(MSR_IA32_FEATURE_CONTROL, FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMXON_ENABLED);
            var vmxon2 = g.mem.allocPages(4096);
            vmxon2.buf.putInt(0, kvmkmod.hw.VmxCapabilities.VMCS_REVISION_ID);
            VmxGuest.check(other.vmxon(vmxon2.hpa));
            VmxGuest.check(other.vmptrld(g.vmcs.hpa));
            System.arraycopy(g.regs(), 0, other.regs(), 0, 16);
            assertThat(other.vmlaunch()).isEqualTo(VM_SUCCEED);
            assertThat(other.vmread(VM_EXIT_REASON)).isEqualTo(EXIT_REASON_IO_INSTRUCTION);
            assertThat(other.vmread(EXIT_QUALIFICATION) >>> 16).isEqualTo(0x21);
            assertThat(other.regs()[RAX]).isEqualTo(rax);
            assertThat(other.vmread(GUEST_RIP)).isEqualTo(2);
        }
    }

    @Test
    void invalidGuestStateIsAVmEntryFailure() {
        try (VmxGuest g = new VmxGuest(8)) {
            g.code(0, 0xf4);
            g.w(GUEST_CR0, 0x80000010L);                     // paging without protection
            assertThat(g.launch()).isEqualTo(VM_SUCCEED);
            assertThat(g.r(VM_EXIT_REASON)).isEqualTo(0x80000021L);
            // the VMCS is not launched: a corrected VMCS can be launched
            g.w(GUEST_CR0, 0x60000010L);
            assertThat(g.launch()).isEqualTo(VM_SUCCEED);
            assertThat(g.reason()).isEqualTo(EXIT_REASON_HLT);
        }
    }

    @Test
    void kickBeforeEntryStopsTheNextRun() {
        try (VmxGuest g = new VmxGuest(8)) {
            g.code(0, 0xeb, 0xfe);
            g.cpu.kick();
            g.launch();
            assertThat(g.reason()).isEqualTo(EXIT_REASON_EXTERNAL_INTERRUPT);
            assertThat(g.rip()).isEqualTo(0);
        }
    }

    @Test
    void x87InstructionsAreNotRunOnThisHost() {
        // Host quirk (PVM): ring-0 guest code goes through the host's instruction emulator, which has no
        // x87; the emulation failure is reported as #UD at the instruction.
        try (VmxGuest g = new VmxGuest(8)) {
            g.code(0, 0xd9, 0xe8, 0xf4);                       // fld1; hlt
            g.launch();
            assumeTrue(g.reason() == EXIT_REASON_EXCEPTION_NMI, "this host runs x87 code");
            assertThat(g.r(VM_EXIT_INTR_INFO)).isEqualTo((INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION | 6) & 0xffffffffL);
            assertThat(g.rip()).isEqualTo(0);
        }
    }

    @Test
    void newEptRootKeepsRegistersAndMsrs() {
        try (VmxGuest g = new VmxGuest(8)) {
            g.code(0, 0x66, 0xb9, 0x74, 0x01, 0x00, 0x00,      // mov ecx,0x174 (IA32_SYSENTER_CS)
                    0x66, 0xb8, 0x77, 0x00, 0x00, 0x00,        // mov eax,0x77
                    0x66, 0x31, 0xd2,                          // xor edx,edx
                    0x0f, 0x30,                                // wrmsr
                    0xe6, 0x10,                                // out 0x10,al
                    0x66, 0x31, 0xc0,                          // xor eax,eax
                    0x0f, 0x32,                                // rdmsr
                    0xe6, 0x11, 0xf4);                         // out 0x11,al; hlt
            g.launch();
            assertThat(g.reason()).isEqualTo(EXIT_REASON_IO_INSTRUCTION);
            // a second EPT hierarchy mapping the same RAM, as after an MMU reload with a new root
            var pml4 = g.mem.allocPages(4096);
            pml4.buf.putLong(0, g.pdpt.hpa | 7);
            g.skip();
            g.regs()[RBX] = 0x5151;
            g.w(EPT_POINTER, pml4.hpa | (3 << 3) | 6);
            g.resume();
            assertThat(g.reason()).isEqualTo(EXIT_REASON_IO_INSTRUCTION);
            assertThat(g.qual() >>> 16).isEqualTo(0x11);
            assertThat(g.regs()[RAX] & 0xff).isEqualTo(0x77);
            assertThat(g.regs()[RBX]).isEqualTo(0x5151);
        }
    }

    @Test
    void hostObjectsOfFreedVmcsAndEptAreReleased() {
        try (VmxGuest g = new VmxGuest(8)) {
            g.code(0, 0xf4);
            g.launch();
            HostCpu cpu = (HostCpu) g.cpu;
            assertThat(cpu.hostObjects()).containsExactly(1, 1);
            // the hypervisor frees that vCPU and its EPT, then builds another VMCS and EPT
            VmxGuest.check(g.cpu.vmclear(g.vmcs.hpa));
            g.mem.free(g.vmcs);
            g.mem.free(g.pml4);
            var vmcs2 = g.mem.allocPages(4096);
            vmcs2.buf.putInt(0, kvmkmod.hw.VmxCapabilities.VMCS_REVISION_ID);
            var pml4b = g.mem.allocPages(4096);
            pml4b.buf.putLong(0, g.pdpt.hpa | 7);
            VmxGuest.check(g.cpu.vmptrld(vmcs2.hpa));
            g.setupControls();
            g.setupRealMode();
            g.w(EPT_POINTER, pml4b.hpa | (3 << 3) | 6);
            g.launch();
            assertThat(g.reason()).isEqualTo(EXIT_REASON_HLT);
            assertThat(cpu.hostObjects()).containsExactly(1, 1);
        }
    }

    @Test
    void capabilityMsrsComeFromTheCapabilities() {
        try (VmxGuest g = new VmxGuest(1)) {
            assertThat(g.cpu.rdmsr(MSR_IA32_VMX_BASIC) & 0xffffffffL).isEqualTo(0x10);
            long ctl2 = g.cpu.rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2);
            assertThat((ctl2 >>> 32) & SECONDARY_EXEC_ENABLE_EPT).isNotZero();
            assertThat((ctl2 >>> 32) & SECONDARY_EXEC_UNRESTRICTED_GUEST).isNotZero();
            assertThat((ctl2 >>> 32) & SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES).isZero();
            assertThat(g.cpu.backend()).isEqualTo("host");
        }
    }
}
