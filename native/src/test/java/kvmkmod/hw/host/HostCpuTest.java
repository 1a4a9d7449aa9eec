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
