package kvmkmod.hw.soft;

import kvmkmod.hw.VmxCpu;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static kvmkmod.hw.VmxArch.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Protection in 32-bit protected mode: segment limit and type checks on data and stack accesses, the
 * checks of segment-register loads, call gates (same and inner privilege, with the stack switch from the
 * TSS and parameter copy, and RET far back to the outer level), and task switches through gates. Every
 * exception exits (exception bitmap all ones), so each test reads the vector and error code the
 * processor produced.
 */
class SoftCpuSegmentationTest {
    private VmxHarness h;

    static long desc(long base, long limit, int access, int flags) {
        return (limit & 0xffff) | (base & 0xffffff) << 16 | (long) access << 40 | ((limit >> 16) & 0xf) << 48
                | (long) flags << 52 | (base >>> 24) << 56;
    }

    static long gate(int selector, long offset, int type, int dpl, int params) {
        return (offset & 0xffff) | (long) selector << 16 | (long) params << 32 | (long) (0x80 | dpl << 5 | type) << 40
                | (offset >>> 16) << 48;
    }

    static final long[] GDT = {
            0,
            desc(0, 0xfffff, 0x9a, 0xc),       // 0x08 ring-0 code
            desc(0, 0xfffff, 0x92, 0xc),       // 0x10 ring-0 data
            desc(0x5000, 0xfff, 0x90, 0x4),    // 0x18 read-only data, base 0x5000, limit 0xfff
            desc(0, 0xfff, 0x96, 0x4),         // 0x20 expand-down data, limit 0xfff, B=1
            desc(0, 0xfffff, 0x98, 0xc),       // 0x28 execute-only code
            desc(0, 0xfffff, 0xf2, 0xc),       // 0x30 ring-3 data
            desc(0, 0xfffff, 0x12, 0xc),       // 0x38 not-present data
            desc(0, 0x8fff, 0x92, 0x4),        // 0x40 data with limit 0x8fff
            desc(0x30000, 0x67, 0x8b, 0),      // 0x48 busy 32-bit TSS at 0x30000
            desc(0, 0xfffff, 0xfa, 0xc),       // 0x50 ring-3 code
            gate(0x08, 0x3000, 0xc, 3, 2),     // 0x58 call gate, DPL 3, to 0008:3000 copying 2 doublewords
            gate(0x08, 0x3000, 0xc, 0, 0),     // 0x60 call gate, DPL 0
    };

    @BeforeEach void setUp() {
        h = new VmxHarness();
        h.protected32(GDT);
        h.ram.buf.putLong(0x1400 + 0x40 * 8, 0x48L << 16 | 0x8500L << 32); // IDT[0x40]: task gate to TSS 0x48
        h.w(EXCEPTION_BITMAP, 0xffffffff);
    }

    @AfterEach void tearDown() { h.close(); }

    /** Runs the code at 0x2000 and expects an exception exit: vector, error code (or -1 for none) and faulting RIP. */
    private void expectFault(int vector, int error, long rip, int... code) {
        h.load(0x2000, code);
        h.launch();
        expectFaultExit(vector, error, rip);
    }

    private void expectFaultExit(int vector, int error, long rip) { h.expectException(vector, error, rip); }

    @Test void readBeyondTheLimitOfADataSegmentIsGp() {
        h.ram.buf.put(0x5fff, (byte) 0x5a);
        expectFault(13, 0, 0x200b,
                0x66, 0xb8, 0x18, 0x00,                  // mov ax, 0x18 (read-only, base 0x5000, limit 0xfff)
                0x8e, 0xd8,                              // mov ds, ax
                0xa0, 0xff, 0x0f, 0x00, 0x00,            // mov al, [0xfff]: the last byte, allowed
                0xa1, 0xfd, 0x0f, 0x00, 0x00);           // mov eax, [0xffd]: bytes 0xffd..0x1000 -> #GP(0)
        assertThat(h.regs()[VmxCpu.RAX] & 0xff).isEqualTo(0x5a);
        assertThat(h.peek8(0x1108 + 0x18 + 5)).as("the load set the descriptor's accessed bit").isEqualTo(0x91);
    }

    @Test void writeThroughAReadOnlyDataSegmentIsGpAndChangesNoFlag() {
        h.ram.buf.put(0x5fff, (byte) 0x01);
        h.w(GUEST_RFLAGS, 0x2 | 0x40);           // ZF set: an ADD that wrote flags before faulting would clear it
        expectFault(13, 0, 0x200c,
                0x66, 0xb8, 0x18, 0x00,                  // mov ax, 0x18
                0x8e, 0xd8,                              // mov ds, ax
                0x8a, 0x1d, 0xff, 0x0f, 0x00, 0x00,      // mov bl, [0xfff]
                0x00, 0x1d, 0x00, 0x00, 0x00, 0x00);     // add [0], bl -> #GP(0)
        assertThat(h.rflags() & 0x40).isEqualTo(0x40);
        assertThat(h.ram.buf.get(0x5000)).isZero();
    }

    @Test void writeThroughACsOverrideIsGpWhileTheReadWorks() {
        h.ram.buf.putInt(0x6000, 0x12345678);
        expectFault(13, 0, 0x2006,
                0x2e, 0xa1, 0x00, 0x60, 0x00, 0x00,      // mov eax, cs:[0x6000]
                0x2e, 0xa3, 0x00, 0x60, 0x00, 0x00);     // mov cs:[0x6000], eax -> #GP(0)
        assertThat(h.regs()[VmxCpu.RAX]).isEqualTo(0x12345678L);
    }

    @Test void readOfAnExecuteOnlyCodeSegmentIsGp() {
        h.load(0x2100,
                0xb9, 0x07, 0x00, 0x00, 0x00,            // mov ecx, 7: code in the execute-only segment runs
                0x2e, 0xa1, 0x00, 0x60, 0x00, 0x00);     // mov eax, cs:[0x6000] -> #GP(0)
        expectFault(13, 0, 0x2105, 0xea, 0x00, 0x21, 0x00, 0x00, 0x28, 0x00); // jmp 0x28:0x2100
        assertThat(h.regs()[VmxCpu.RCX]).isEqualTo(7);
        assertThat(h.r(GUEST_CS_SELECTOR)).isEqualTo(0x28);
    }

    @Test void expandDownSegmentAllowsOnlyOffsetsAboveItsLimit() {
        h.ram.buf.putInt(0x2000 + 0x100, 0);
        h.ram.buf.putInt(0x7000, 0xcafe);
        expectFault(13, 0, 0x200d,
                0x66, 0xb8, 0x20, 0x00,                  // mov ax, 0x20 (expand-down, limit 0xfff)
                0x8e, 0xc0,                              // mov es, ax
                0x26, 0x8b, 0x0d, 0x00, 0x70, 0x00, 0x00, // mov ecx, es:[0x7000]: above the limit, valid
                0x26, 0x8b, 0x15, 0xfe, 0x0f, 0x00, 0x00); // mov edx, es:[0xffe] -> #GP(0)
        assertThat(h.regs()[VmxCpu.RCX]).isEqualTo(0xcafe);
    }

    @Test void stackAccessesBeyondTheStackLimitAreSs() {
        expectFault(12, 0, 0x2013,
                0x66, 0xb8, 0x40, 0x00,                  // mov ax, 0x40 (limit 0x8fff)
                0x8e, 0xd0,                              // mov ss, ax
                0xbc, 0x02, 0x90, 0x00, 0x00,            // mov esp, 0x9002
                0xbd, 0xf0, 0x8f, 0x00, 0x00,            // mov ebp, 0x8ff0
                0x8b, 0x45, 0x0c,                        // mov eax, [ebp+12]: SS-relative, 0x8ffc..0x8fff fits
                0x50);                                   // push eax: 0x8ffe..0x9001 -> #SS(0)
        // an EBP-based operand beyond the limit is #SS(0) too
        h.load(0x2010, 0x8b, 0x45, 0x10);                // mov eax, [ebp+16]
        h.w(GUEST_RIP, 0x2010);
        h.resume();
        expectFaultExit(12, 0, 0x2010);
        assertThat(h.r(GUEST_RSP)).as("the faulting PUSH left ESP alone").isEqualTo(0x9002);
    }

    @Test void interruptFramePushedBeyondTheStackLimitIsSs() {
        h.ram.buf.putLong(0x1400 + 0x30 * 8, 0x1300L | 8L << 16 | 0x8e00L << 32);
        h.load(0x1300, 0xf4);
        expectFault(12, 0, 0x200b,
                0x66, 0xb8, 0x40, 0x00,                  // mov ax, 0x40 (limit 0x8fff)
                0x8e, 0xd0,                              // mov ss, ax
                0xbc, 0x08, 0x90, 0x00, 0x00,            // mov esp, 0x9008: EFLAGS would go to 0x9004
                0xcd, 0x30);                             // int 0x30 -> #SS(0), nothing delivered
        assertThat(h.r(GUEST_RSP)).isEqualTo(0x9008);
        assertThat(h.ram.buf.getInt(0x9004)).isZero();
    }

    @Test void accessThroughANullSelectorIsGp() {
        expectFault(13, 0, 0x2006,
                0x31, 0xc0,                              // xor eax, eax
                0x8e, 0xc0,                              // mov es, ax: loading null is allowed
                0x8e, 0xe0,                              // mov fs, ax
                0xaa);                                   // stosb through the null ES -> #GP(0)
        assertThat(h.r(GUEST_ES_AR_BYTES) & 0x10000).as("ES unusable").isNotZero();
    }

    @Test void segmentRegisterLoadsCheckTypePrivilegeAndPresence() {
        // not present: #NP(selector) for DS, #SS(selector) for SS
        expectFault(11, 0x38, 0x2004, 0x66, 0xb8, 0x38, 0x00, 0x8e, 0xd8);
        h.load(0x2004, 0x8e, 0xd0);                      // mov ss, ax
        h.w(GUEST_RIP, 0x2000);
        h.resume();
        expectFaultExit(12, 0x38, 0x2004);
        // SS with DPL 3 at CPL 0, DS with execute-only code, FS with a TSS, ES beyond the GDT: #GP(selector)
        int[][] cases = {{0x30, 0xd0}, {0x28, 0xd8}, {0x48, 0xe0}, {0x1000, 0xc0}};
        for (int[] c : cases) {
            h.load(0x2000, 0x66, 0xb8, c[0] & 0xff, c[0] >> 8, 0x8e, c[1]);
            h.w(GUEST_RIP, 0x2000);
            h.resume();
            expectFaultExit(13, c[0], 0x2004);
        }
        // a null SS outside 64-bit mode: #GP(0)
        h.load(0x2000, 0x31, 0xc0, 0x8e, 0xd0);
        h.w(GUEST_RIP, 0x2000);
        h.resume();
        expectFaultExit(13, 0, 0x2002);
    }

    @Test void repeatedStringStopsAtTheLimitWithRegistersOfTheLastIteration() {
        h.regs()[VmxCpu.RDI] = 0x7000;
        expectFault(13, 0, 0x2010,
                0xbe, 0xf8, 0x0f, 0x00, 0x00,            // mov esi, 0xff8
                0x66, 0xb8, 0x18, 0x00,                  // mov ax, 0x18
                0x8e, 0xd8,                              // mov ds, ax
                0xb9, 0x04, 0x00, 0x00, 0x00,            // mov ecx, 4
                0xf3, 0xa5);                             // rep movsd: the third doubleword is beyond the limit
        assertThat(h.regs()[VmxCpu.RCX]).isEqualTo(2);
        assertThat(h.regs()[VmxCpu.RSI]).isEqualTo(0x1000);
        assertThat(h.regs()[VmxCpu.RDI]).isEqualTo(0x7008);
    }

    @Test void callGateAtTheSamePrivilegeLevelAndRetFar() {
        h.load(0x3000,
                0x89, 0xe1,                              // mov ecx, esp
                0x8c, 0xd2,                              // mov edx, ss
                0x8c, 0xcb,                              // mov ebx, cs
                0xca, 0x08, 0x00);                       // retf 8
        h.load(0x2000,
                0x68, 0x11, 0x11, 0x11, 0x11,            // push 0x11111111
                0x68, 0x22, 0x22, 0x22, 0x22,            // push 0x22222222
                0x9a, 0x00, 0x00, 0x00, 0x00, 0x58, 0x00, // call 0x58:0 (the gate's offset wins)
                0xf4);
        h.launch();
        assertThat(h.exitReason()).as("%s", h.cpu.lastExitNote()).isEqualTo(EXIT_REASON_HLT);
        assertThat(h.regs()[VmxCpu.RCX]).as("no stack switch: CS:EIP pushed on the same stack").isEqualTo(0x9000 - 16);
        assertThat(h.regs()[VmxCpu.RDX] & 0xffff).isEqualTo(0x10);
        assertThat(h.regs()[VmxCpu.RBX] & 0xffff).isEqualTo(0x08);
        assertThat(h.ram.buf.getInt(0x9000 - 12)).as("return CS").isEqualTo(0x08);
        assertThat(h.ram.buf.getInt(0x9000 - 16)).as("return EIP").isEqualTo(0x2011);
        assertThat(h.r(GUEST_RSP)).as("RET 8 released the two parameters").isEqualTo(0x9000);
        assertThat(h.rip()).isEqualTo(0x2011);
    }

    @Test void callGateToRingZeroSwitchesStacksCopiesParametersAndRetFarReturnsToRingThree() {
        h.load(0x3000,
                0x89, 0xe1,                              // mov ecx, esp
                0x8c, 0xd2,                              // mov edx, ss
                0x8c, 0xcb,                              // mov ebx, cs
                0xca, 0x08, 0x00);                       // retf 8: to ring 3, popping SS:ESP
        h.load(0x2000,
                0x6a, 0x33,                              // push 0x33       (ring-3 SS)
                0x68, 0x00, 0x70, 0x00, 0x00,            // push 0x7000     (ring-3 ESP)
                0x9c,                                    // pushfd
                0x6a, 0x53,                              // push 0x53       (ring-3 CS)
                0x68, 0x00, 0x21, 0x00, 0x00,            // push 0x2100
                0xcf);                                   // iretd -> ring 3
        h.load(0x2100,
                0x68, 0xaa, 0xaa, 0x00, 0x00,            // push 0xaaaa
                0x68, 0xbb, 0xbb, 0x00, 0x00,            // push 0xbbbb
                0x9a, 0x00, 0x00, 0x00, 0x00, 0x5b, 0x00, // call 0x5b:0 (gate 0x58, RPL 3)
                0x89, 0xe6,                              // mov esi, esp
                0x8c, 0xd7,                              // mov edi, ss
                0xf4);                                   // hlt at CPL 3 -> #GP(0)
        h.launch();
        expectFaultExit(13, 0, 0x2115);
        assertThat(h.regs()[VmxCpu.RCX]).as("ring-0 ESP in the procedure").isEqualTo(0x9000 - 24);
        assertThat(h.regs()[VmxCpu.RDX] & 0xffff).as("SS0 from the TSS").isEqualTo(0x10);
        assertThat(h.regs()[VmxCpu.RBX] & 0xffff).isEqualTo(0x08);
        assertThat(h.ram.buf.getInt(0x9000 - 4)).as("caller SS").isEqualTo(0x33);
        assertThat(h.ram.buf.getInt(0x9000 - 8)).as("caller ESP").isEqualTo(0x7000 - 8);
        assertThat(h.ram.buf.getInt(0x9000 - 12)).as("first parameter (pushed first)").isEqualTo(0xaaaa);
        assertThat(h.ram.buf.getInt(0x9000 - 16)).as("second parameter").isEqualTo(0xbbbb);
        assertThat(h.ram.buf.getInt(0x9000 - 20)).as("caller CS").isEqualTo(0x53);
        assertThat(h.ram.buf.getInt(0x9000 - 24)).as("return EIP").isEqualTo(0x2111);
        assertThat(h.regs()[VmxCpu.RSI]).as("RET 8 released the parameters on the caller's stack").isEqualTo(0x7000);
        assertThat(h.regs()[VmxCpu.RDI] & 0xffff).isEqualTo(0x33);
        assertThat(h.r(GUEST_CS_SELECTOR)).isEqualTo(0x53);
        assertThat(h.r(GUEST_DS_SELECTOR)).as("DS (DPL 0) nulled on the return to ring 3").isEqualTo(0);
    }

    /**
     * With paging, the GDT, IDT, TSS and ring-0 stack on supervisor pages: INT n and a call gate from
     * ring 3 read them as implicit supervisor accesses (SDM 4.6 "Access Rights") and push on the ring-0
     * stack at ring 0; IRET and RET far return to ring 3.
     */
    @Test void privilegeChangesUnderPagingMakeSupervisorAccesses() {
        h.ram.buf.putInt(0x20000, 0x21000 | 7);
        for (int i = 0; i < 256; i++) h.ram.buf.putInt(0x21000 + 4 * i, i * 0x1000 | (i == 2 || i == 6 ? 7 : 3));
        h.w(GUEST_CR3, 0x20000);
        h.w(GUEST_CR0, 0xe0010031L);
        h.ram.buf.putLong(0x1400 + 0x30 * 8, 0x1300L | 8L << 16 | 0xee00L << 32); // IDT[0x30]: DPL 3 interrupt gate
        h.load(0x1300, 0x89, 0xe5, 0xcf);                // mov ebp, esp; iretd
        h.load(0x3000, 0x89, 0xe1, 0xca, 0x08, 0x00);    // mov ecx, esp; retf 8
        h.load(0x2000,
                0x6a, 0x33, 0x68, 0x00, 0x70, 0x00, 0x00, 0x9c, 0x6a, 0x53, 0x68, 0x00, 0x21, 0x00, 0x00, 0xcf);
        h.load(0x2100,
                0xcd, 0x30,                              // int 0x30 -> ring 0 and back
                0x68, 0xaa, 0xaa, 0x00, 0x00,            // push 0xaaaa
                0x68, 0xbb, 0xbb, 0x00, 0x00,            // push 0xbbbb
                0x9a, 0x00, 0x00, 0x00, 0x00, 0x5b, 0x00, // call 0x5b:0 -> ring 0 and back
                0xf4);                                   // hlt at CPL 3 -> #GP(0)
        h.launch();
        expectFaultExit(13, 0, 0x2113);
        assertThat(h.regs()[VmxCpu.RBP]).as("ring-0 ESP in the interrupt handler").isEqualTo(0x9000 - 20);
        assertThat(h.regs()[VmxCpu.RCX]).as("ring-0 ESP in the called procedure").isEqualTo(0x9000 - 24);
        assertThat(h.r(GUEST_RSP)).isEqualTo(0x7000);
        assertThat(h.r(GUEST_CS_SELECTOR)).isEqualTo(0x53);
    }

    @Test void callGateChecksPrivilegeAndJmpThroughAGateCannotRaisePrivilege() {
        h.load(0x2000,
                0x6a, 0x33, 0x68, 0x00, 0x70, 0x00, 0x00, 0x9c, 0x6a, 0x53, 0x68, 0x00, 0x21, 0x00, 0x00, 0xcf);
        h.load(0x2100, 0x9a, 0x00, 0x00, 0x00, 0x00, 0x63, 0x00); // call 0x63:0: the gate has DPL 0
        h.launch();
        expectFaultExit(13, 0x60, 0x2100);
        h.load(0x2100, 0xea, 0x00, 0x00, 0x00, 0x00, 0x5b, 0x00); // jmp 0x5b:0: ring-0 non-conforming code
        h.resume();
        expectFaultExit(13, 0x08, 0x2100);
    }

    @Test void jmpThroughACallGateAtTheSameLevel() {
        h.load(0x3000, 0xf4);
        h.load(0x2000, 0xea, 0x00, 0x00, 0x00, 0x00, 0x58, 0x00); // jmp 0x58:0
        h.launch();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_HLT);
        assertThat(h.rip()).isEqualTo(0x3000);
        assertThat(h.r(GUEST_RSP)).as("JMP pushes nothing").isEqualTo(0x9000);
    }

    @Test void taskGateInTheIdtExitsWithTheSoftwareInterruptsLength() {
        // SDM Table 27-2: TSS selector from the gate, source 3; 27.2.4: INT n saves its length
        h.w(EXCEPTION_BITMAP, 0);
        h.load(0x2000, 0xcd, 0x40);                      // int 0x40
        h.launch();
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_TASK_SWITCH);
        assertThat(h.qual()).isEqualTo(0x48L | 3L << 30);
        assertThat(h.len()).isEqualTo(2);
        assertThat(h.r(IDT_VECTORING_INFO_FIELD)).isEqualTo(0x80000440L); // vector 0x40, software interrupt
        assertThat(h.rip()).isEqualTo(0x2000);
    }

    @Test void sysenterAndSysexitInProtectedMode() {
        h.w(GUEST_SYSENTER_CS, 0x08);
        h.w(GUEST_SYSENTER_EIP, 0x3100);
        h.w(GUEST_SYSENTER_ESP, 0x9800);
        h.w(GUEST_RFLAGS, 0x202);
        h.load(0x2000,
                0xb9, 0x00, 0x70, 0x00, 0x00,            // mov ecx, 0x7000
                0xba, 0x00, 0x21, 0x00, 0x00,            // mov edx, 0x2100
                0x0f, 0x35);                             // sysexit -> ring 3, CS = SYSENTER_CS + 16 | 3
        h.load(0x2100,
                0x89, 0xe3,                              // mov ebx, esp
                0x8c, 0xcf,                              // mov edi, cs
                0x0f, 0x34);                             // sysenter -> ring 0 at SYSENTER_EIP
        h.load(0x3100, 0x89, 0xe6, 0xf4);                // mov esi, esp; hlt
        h.launch();
        assertThat(h.exitReason()).as("%s", h.cpu.lastExitNote()).isEqualTo(EXIT_REASON_HLT);
        assertThat(h.regs()[VmxCpu.RBX]).isEqualTo(0x7000);
        assertThat(h.regs()[VmxCpu.RDI] & 0xffff).isEqualTo(0x1b);
        assertThat(h.regs()[VmxCpu.RSI]).isEqualTo(0x9800);
        assertThat(h.r(GUEST_CS_SELECTOR)).isEqualTo(0x08);
        assertThat(h.r(GUEST_SS_SELECTOR)).isEqualTo(0x10);
        assertThat(h.r(GUEST_CS_AR_BYTES)).isEqualTo(0xc09b);
        assertThat(h.rflags() & 0x200).as("SYSENTER clears IF").isZero();
        // SYSEXIT above ring 0 is #GP(0)
        h.load(0x3100, 0x0f, 0x35);
        h.w(GUEST_RIP, 0x2000);
        h.load(0x2000, 0xb9, 0x00, 0x70, 0x00, 0x00, 0xba, 0x00, 0x31, 0x00, 0x00, 0x0f, 0x35);
        h.resume();
        expectFaultExit(13, 0, 0x3100);
    }

    @Test void sysenterInRealModeIsGp() {
        try (VmxHarness real = new VmxHarness()) {
            real.w(EXCEPTION_BITMAP, 1 << 13);
            real.w(GUEST_SYSENTER_CS, 0x08);
            real.load(0x1000, 0x0f, 0x34);
            real.launch();
            real.expectException(13, 0, 0x1000);
        }
    }

    @Test void descriptorInstructionsLarLslVerrVerwArpl() {
        h.load(0x2000,
                0x66, 0xb8, 0x18, 0x00,                  // mov ax, 0x18
                0x0f, 0x02, 0xc8,                        // lar ecx, eax
                0x0f, 0x03, 0xd0,                        // lsl edx, eax
                0x66, 0xb8, 0x00, 0x10,                  // mov ax, 0x1000 (beyond the GDT)
                0xbe, 0x77, 0x00, 0x00, 0x00,            // mov esi, 0x77
                0x0f, 0x02, 0xf0,                        // lar esi, eax: ZF=0, ESI unchanged
                0x0f, 0x94, 0xc3,                        // sete bl
                0x66, 0xb8, 0x18, 0x00,                  // mov ax, 0x18
                0x0f, 0x00, 0xe0,                        // verr ax
                0x0f, 0x94, 0xc7,                        // sete bh
                0x0f, 0x00, 0xe8,                        // verw ax: read-only
                0x0f, 0x95, 0xc1,                        // setne cl
                0x66, 0xb8, 0x10, 0x00,                  // mov ax, 0x10
                0x0f, 0x00, 0xe8,                        // verw ax
                0x0f, 0x94, 0xc5,                        // sete ch
                0x66, 0xb8, 0x48, 0x00,                  // mov ax, 0x48 (busy TSS)
                0x0f, 0x03, 0xf8,                        // lsl edi, eax
                0x66, 0xb8, 0x10, 0x00,                  // mov ax, 0x10
                0x66, 0xbd, 0x33, 0x00,                  // mov bp, 0x33
                0x63, 0xe8,                              // arpl ax, bp: RPL 0 -> 3, ZF=1
                0xf4);
        h.launch();
        assertThat(h.exitReason()).as("%s", h.cpu.lastExitNote()).isEqualTo(EXIT_REASON_HLT);
        long[] r = h.regs();
        assertThat(r[VmxCpu.RCX] & ~0xffffL).as("LAR: access rights of 0x18").isEqualTo(0x00409000L & ~0xffffL);
        assertThat(r[VmxCpu.RDX]).as("LSL: byte limit").isEqualTo(0xfff);
        assertThat(r[VmxCpu.RSI]).isEqualTo(0x77);
        assertThat(r[VmxCpu.RBX] & 0xff).as("LAR beyond the table: ZF=0").isZero();
        assertThat((r[VmxCpu.RBX] >> 8) & 0xff).as("VERR of read-only data").isEqualTo(1);
        assertThat(r[VmxCpu.RCX] & 0xff).as("VERW of read-only data fails").isEqualTo(1);
        assertThat((r[VmxCpu.RCX] >> 8) & 0xff).as("VERW of writable data").isEqualTo(1);
        assertThat(r[VmxCpu.RDI]).as("LSL of a TSS").isEqualTo(0x67);
        assertThat(r[VmxCpu.RAX] & 0xffff).as("ARPL raised the RPL").isEqualTo(0x13);
        assertThat(h.rflags() & 0x40).isEqualTo(0x40);
    }

    @Test void cmpxchg8bAndBound() {
        h.ram.buf.putLong(0x6000, 1);
        h.load(0x2000,
                0xb8, 0x01, 0x00, 0x00, 0x00,            // mov eax, 1
                0x31, 0xd2,                              // xor edx, edx
                0xbb, 0x05, 0x00, 0x00, 0x00,            // mov ebx, 5
                0xb9, 0x06, 0x00, 0x00, 0x00,            // mov ecx, 6
                0x0f, 0xc7, 0x0d, 0x00, 0x60, 0x00, 0x00, // cmpxchg8b [0x6000]: equal, stores ECX:EBX
                0x0f, 0x94, 0xc3,                        // sete bl
                0x0f, 0xc7, 0x0d, 0x00, 0x60, 0x00, 0x00, // cmpxchg8b [0x6000]: now different, loads EDX:EAX
                0xb8, 0x05, 0x00, 0x00, 0x00,            // mov eax, 5
                0x62, 0x05, 0x10, 0x60, 0x00, 0x00,      // bound eax, [0x6010]: 0 <= 5 <= 10
                0xb8, 0x0b, 0x00, 0x00, 0x00,            // mov eax, 11
                0x62, 0x05, 0x10, 0x60, 0x00, 0x00);     // bound eax, [0x6010] -> #BR
        h.ram.buf.putInt(0x6010, 0);
        h.ram.buf.putInt(0x6014, 10);
        h.launch();
        expectFaultExit(5, -1, 0x2032);
        assertThat(h.ram.buf.getLong(0x6000)).isEqualTo(0x0000000600000005L);
        assertThat(h.regs()[VmxCpu.RDX]).isEqualTo(6);
        assertThat(h.regs()[VmxCpu.RBX] & 0xff).isEqualTo(1);
    }
}
