package kvmkmod.vmx;

import kvmkmod.hw.Backend;
import kvmkmod.hw.HostMemory;
import kvmkmod.include.Kernel;
import kvmkmod.include.KvmRun;
import kvmkmod.include.KvmVcpu;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static kvmkmod.include.Errno.*;
import static kvmkmod.include.Kvm_h.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Exit handlers driven by small assembled guests through KVM_RUN on the SOFT processor: handle_vmcall,
 * handle_task_switch, handle_pause, handle_dr, and KVM_SET_SIGNAL_MASK. Each guest reports with 32-bit
 * OUTs to port 0x510, which this test collects as the VMM would.
 */
@org.junit.jupiter.api.Timeout(value = 120, threadMode = org.junit.jupiter.api.Timeout.ThreadMode.SEPARATE_THREAD)
class GuestExitsTest {
    static final long LOAD = 0x7c00;
    static final int PORT = 0x510;
    /** At the reset vector: jmp 0000:7c00. */
    static final byte[] JMP_7C00 = {(byte) 0xea, 0x00, 0x7c, 0x00, 0x00};

    /** A VM with one vCPU, the guest at 0x7c00, kvm_run mapped. */
    static final class Guest implements AutoCloseable {
        final X86VcpuApiTest.Setup s;
        final KvmRun run;
        final HostMemory.Region rr;
        final long runVa;
        final List<Long> outs = new ArrayList<>();

        Guest(String asm) { this(asm, new KvmIntel.Params()); }

        Guest(String asm, KvmIntel.Params params) {
            byte[] image = TestAsm.assemble(asm, LOAD);
            s = new X86VcpuApiTest.Setup(params);
            s.vmm.poke(LOAD, image);
            s.vmm.poke(KvmApiTest.RESET_GPA, JMP_7C00);
            long size = s.vmm.p.ioctl(s.vmm.kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
            runVa = s.vmm.p.mmap(size, s.vcpufd, 0);
            rr = s.vmm.p.mm().regionAtVa(runVa, 1);
            run = new KvmRun(rr.buf, (int) (runVa - rr.va));
        }

        /** KVM_RUN until an exit other than an OUT to PORT; returns KVM_RUN's result. */
        long runToExit() {
            for (;;) {
                long r = s.vmm.p.ioctl(s.vcpufd, KVM_RUN, 0);
                if (r != 0) return r;
                if (run.exit_reason() != KVM_EXIT_IO || run.io.port() != PORT) return r;
                outs.add(rr.buf.getInt((int) (runVa - rr.va + run.io.data_offset())) & 0xffffffffL);
            }
        }

        KvmVcpu v() { return s.v(); }

        @Override public void close() { s.close(); }
    }

    /** Real mode to 32-bit protected mode with flat ring-0 code (0x08) and data (0x10) at GDT slots 1 and 2. */
    static final String TO_PROTECTED = String.join("\n",
            ".code16",
            "_start:",
            "  cli",
            "  xor ax, ax",
            "  mov ds, ax",
            "  mov ss, ax",
            "  mov sp, 0x7000",
            "  lgdt [gdt_desc]",
            "  mov eax, cr0",
            "  or eax, 1",
            "  mov cr0, eax",
            "  .byte 0x66, 0xea",
            "  .long pm",
            "  .word 0x08",
            ".code32",
            "pm:",
            "  mov ax, 0x10",
            "  mov ds, ax",
            "  mov es, ax",
            "  mov ss, ax",
            "  mov fs, ax",
            "  mov gs, ax",
            "  mov esp, 0x7000",
            "");

    /** The GDT: null, code, data, then {@code extra} quads; gdt_desc describes it. */
    static String gdt(String... extra) {
        StringBuilder b = new StringBuilder("\n.p2align 3\ngdt:\n  .quad 0\n  .quad 0x00cf9a000000ffff\n  .quad 0x00cf92000000ffff\n");
        for (String q : extra) b.append("  .quad ").append(q).append('\n');
        return b.append("gdt_end:\ngdt_desc:\n  .word gdt_end - gdt - 1\n  .long gdt\n").toString();
    }

    static final String OUT = "  mov edx, 0x510\n  out dx, eax\n";
    static final String VMCALL = "  .byte 0x0f, 0x01, 0xc1\n";

    // ---- handle_vmcall → kvm_emulate_hypercall ----

    @Test
    void hypercalls_answer_in_rax_and_mmu_op_writes_the_pte() {
        String asm = String.join("\n",
                ".code16",
                "_start:",
                "  xor ax, ax",
                "  mov ds, ax",
                "  mov eax, 1",                        // KVM_HC_VAPIC_POLL_IRQ
                VMCALL + OUT,
                "  mov eax, 1000",                     // no such hypercall
                VMCALL + OUT,
                // one KVM_MMU_OP_WRITE_PTE record at 0x600: pte at 0x700 := 0x55aa1234
                "  mov dword ptr [0x600], 1",
                "  mov dword ptr [0x604], 0",
                "  mov dword ptr [0x608], 0x700",
                "  mov dword ptr [0x60c], 0",
                "  mov dword ptr [0x610], 0x55aa1234",
                "  mov dword ptr [0x614], 0",
                "  mov eax, 2",                        // KVM_HC_MMU_OP: bytes in EBX, address in ECX:EDX
                "  mov ebx, 24",
                "  mov ecx, 0x600",
                "  xor edx, edx",
                VMCALL + OUT,
                "  mov eax, dword ptr [0x700]",
                OUT,
                "  hlt");
        try (Guest g = new Guest(asm)) {
            assertThat(g.runToExit()).isZero();
            assertThat(g.run.exit_reason()).isEqualTo(KVM_EXIT_HLT);
            assertThat(g.outs).containsExactly(0L, (-1000L) & 0xffffffffL, 24L, 0x55aa1234L);
            assertThat(g.v().stat.hypercalls).isEqualTo(3);
        }
    }

    @Test
    void a_hypercall_from_ring_3_gets_minus_kvm_eperm() {
        String asm = TO_PROTECTED + String.join("\n",
                // iret to ring 3 (code 0x1b, data 0x23) with IOPL 3 so that OUT works there
                "  push 0x23",
                "  push 0x6000",
                "  push 0x3002",
                "  push 0x1b",
                "  push offset ring3",
                "  iret",
                "ring3:",
                "  mov eax, 1",
                VMCALL + OUT,
                "1: jmp 1b")
                + gdt("0x00cffa000000ffff", "0x00cff2000000ffff");
        try (Guest g = new Guest(asm)) {
            long r = g.s.vmm.p.ioctl(g.s.vcpufd, KVM_RUN, 0);
            while (r == 0 && g.run.exit_reason() == KVM_EXIT_IO && g.run.io.port() != PORT) r = g.s.vmm.p.ioctl(g.s.vcpufd, KVM_RUN, 0);
            assertThat(r).isZero();
            assertThat(g.run.exit_reason()).isEqualTo(KVM_EXIT_IO);
            assertThat(g.rr.buf.getInt((int) (g.runVa - g.rr.va + g.run.io.data_offset()))).as("-KVM_EPERM").isEqualTo(-EPERM);
            assertThat(g.v().stat.hypercalls).isEqualTo(1);
        }
    }

    // ---- handle_task_switch → kvm_task_switch ----

    /**
     * Task A (TSS at 0x1000) CALLs task B (32-bit TSS at 0x1100), which IRETs back; INT 0x40 reaches B again
     * through a task gate; then A JMPs to task C, whose TSS at 0x1200 is a 16-bit one.
     */
    static final String TASKS = TO_PROTECTED + String.join("\n",
            "  mov ax, 0x18",
            "  ltr ax",
            // task B: 32-bit TSS image
            "  mov dword ptr [0x1100 + 32], offset taskB",   // eip
            "  mov dword ptr [0x1100 + 36], 2",              // eflags
            "  mov dword ptr [0x1100 + 40], 0xb0b0",         // eax
            "  mov dword ptr [0x1100 + 56], 0x6000",         // esp
            "  mov dword ptr [0x1100 + 72], 0x10",           // es
            "  mov dword ptr [0x1100 + 76], 0x08",           // cs
            "  mov dword ptr [0x1100 + 80], 0x10",           // ss
            "  mov dword ptr [0x1100 + 84], 0x10",           // ds
            "  mov dword ptr [0x1100 + 88], 0x10",           // fs
            "  mov dword ptr [0x1100 + 92], 0x10",           // gs
            // task C: 16-bit TSS image
            "  mov word ptr [0x1200 + 14], offset taskC",    // ip
            "  mov word ptr [0x1200 + 16], 2",               // flag
            "  mov word ptr [0x1200 + 18], 0xc0c0",          // ax
            "  mov word ptr [0x1200 + 26], 0x5000",          // sp
            "  mov word ptr [0x1200 + 34], 0x10",            // es
            "  mov word ptr [0x1200 + 36], 0x08",            // cs
            "  mov word ptr [0x1200 + 38], 0x10",            // ss
            "  mov word ptr [0x1200 + 40], 0x10",            // ds
            // IDT at 0x2000, vector 0x40 a task gate to TSS B
            "  mov dword ptr [0x2200], 0x00200000",
            "  mov dword ptr [0x2204], 0x00008500",
            "  lidt [idt_desc]",
            "  mov eax, 0xa0a0",
            "  mov edx, 0x510",
            "  .byte 0x9a",                                  // call 0x20:0
            "  .long 0",
            "  .word 0x20",
            "  out dx, eax",
            "  int 0x40",
            "  out dx, eax",
            "  movzx eax, byte ptr [gdt + 0x20 + 5]",
            "  out dx, eax",
            "  mov eax, dword ptr [0x1100]",                 // B's back link
            "  out dx, eax",
            "  .byte 0xea",                                  // jmp 0x28:0
            "  .long 0",
            "  .word 0x28",
            "taskB:",
            "  mov edx, 0x510",
            "  out dx, eax",
            "  pushfd",
            "  pop eax",
            "  and eax, 0x4000",
            "  out dx, eax",
            "  xor eax, eax",
            "  str ax",
            "  out dx, eax",
            "  iret",
            "  jmp taskB",
            "taskC:",
            "  mov edx, 0x510",
            "  out dx, eax",
            "  movzx eax, byte ptr [gdt + 0x18 + 5]",
            "  out dx, eax",
            "  movzx eax, byte ptr [gdt + 0x28 + 5]",
            "  out dx, eax",
            "  mov eax, dword ptr [0x1200]",                 // a JMP leaves C's back link alone
            "  out dx, eax",
            "  hlt",
            "idt_desc:",
            "  .word 0x40 * 8 + 7",
            "  .long 0x2000")
            + gdt("0x0000890010000067", "0x0000890011000067", "0x000081001200002b");

    @Test
    void call_iret_task_gate_and_jmp_switch_tasks_through_the_tss() {
        try (Guest g = new Guest(TASKS)) {
            assertThat(g.runToExit()).isZero();
            assertThat(g.run.exit_reason()).as("exit %d, outs %s", g.run.exit_reason(), g.outs).isEqualTo(KVM_EXIT_HLT);
            assertThat(g.outs).containsExactly(
                    0xb0b0L, 0x4000L, 0x20L,    // CALL: B runs its TSS's EAX, NT set, TR = B
                    0xa0a0L,                    // IRET: A's EAX saved in TSS A comes back
                    0x20L, 0x4000L, 0x20L,      // INT 0x40 through the task gate: B resumes after its IRET, nested again
                    0xa0a0L,
                    0x89L,                      // B's descriptor is not busy once it returned
                    0x18L,                      // B's back link names A
                    0xc0c0L,                    // JMP to the 16-bit TSS: AX from it
                    0x89L,                      // a JMP frees the outgoing task (A)
                    0x83L,                      // and marks the 16-bit TSS busy
                    0L);                        // without a back link
            assertThat(g.v().arch.cr0 & kvmkmod.x86.X86.X86_CR0_TS).as("a task switch sets CR0.TS").isNotZero();
        }
    }

    // ---- handle_pause → kvm_vcpu_on_spin ----

    static final String SPIN = String.join("\n",
            ".code16",
            "_start:",
            "  mov ecx, 100000",
            "1: pause",
            "  dec ecx",
            "  jnz 1b",
            "  mov eax, 0x5a",
            OUT,
            "  hlt");

    /** A PAUSE loop longer than ple_window exits again and again; with ple_gap 0 vmx.c leaves PLE off. */
    @Test
    void a_pause_loop_exits_to_handle_pause_unless_ple_gap_is_0() {
        long withPle, withoutPle;
        try (Guest g = new Guest(SPIN)) {
            assertThat(g.runToExit()).isZero();
            assertThat(g.run.exit_reason()).isEqualTo(KVM_EXIT_HLT);
            assertThat(g.outs).containsExactly(0x5aL);
            withPle = g.v().stat.exits;
        }
        KvmIntel.Params off = new KvmIntel.Params();
        off.ple_gap = 0;
        try (Guest g = new Guest(SPIN, off)) {
            assertThat(g.runToExit()).isZero();
            assertThat(g.outs).containsExactly(0x5aL);
            withoutPle = g.v().stat.exits;
        }
        // about 300000 instructions in loops of 3: one exit per PLE_WINDOW (4096) of them
        assertThat(withPle - withoutPle).isBetween(50L, 100L);
    }

    // ---- handle_dr ----

    @Test
    void mov_dr_is_emulated_and_dr7_gd_raises_db_with_dr6_bd() {
        String asm = String.join("\n",
                ".code16",
                "_start:",
                "  xor ax, ax",
                "  mov ds, ax",
                "  mov ss, ax",
                "  mov sp, 0x7000",
                "  mov word ptr [4], offset db_handler",      // IVT vector 1
                "  mov word ptr [6], 0",
                "  mov eax, 0x12345678",
                "  mov dr0, eax",
                "  xor eax, eax",
                "  mov eax, dr0",
                OUT,
                "  mov eax, 0x1",                             // L0
                "  mov dr7, eax",
                "  mov eax, dr7",
                OUT,
                "  mov eax, dr6",
                OUT,
                "  mov eax, 0x2000",                          // GD: the next MOV DR is a #DB
                "  mov dr7, eax",
                "  mov eax, dr0",
                "  hlt",
                "db_handler:",
                "  mov eax, dr6",
                OUT,
                "  mov eax, dr7",
                OUT,
                "  hlt");
        try (Guest g = new Guest(asm)) {
            assertThat(g.runToExit()).isZero();
            assertThat(g.run.exit_reason()).isEqualTo(KVM_EXIT_HLT);
            assertThat(g.outs).containsExactly(0x12345678L, 0x401L, 0xffff0ff0L, 0xffff2ff0L, 0x400L);
            // the guest's own breakpoints are the effective ones while userspace does not debug
            assertThat(g.v().arch.eff_db[0]).isEqualTo(0x12345678L);
            assertThat(g.v().arch.db[0]).isEqualTo(0x12345678L);
        }
    }

    /** With KVM_GUESTDBG_USE_HW_BP userspace owns DR7: a guest's MOV DR7 with GD exits as KVM_EXIT_DEBUG. */
    @Test
    void dr7_gd_under_guest_debug_hw_bp_exits_to_userspace() {
        String asm = String.join("\n",
                ".code16",
                "_start:",
                "  mov eax, 0x12345678",
                "  mov dr1, eax",
                "  mov eax, dr0",
                "  hlt");
        try (Guest g = new Guest(asm)) {
            // KVM_SET_GUEST_DEBUG: ENABLE | USE_HW_BP, debugreg[7] = GD
            java.nio.ByteBuffer a = g.s.arg;
            a.putInt(g.s.off(), 0x1 | 0x20000);
            a.putLong(g.s.off() + 8 + 7 * 8, 0x2400L);
            assertThat(g.s.vcpu(KVM_SET_GUEST_DEBUG)).isZero();
            assertThat(g.runToExit()).isZero();
            assertThat(g.run.exit_reason()).isEqualTo(KVM_EXIT_DEBUG);
            assertThat(g.run.debug.exception()).isEqualTo(1);
            assertThat(g.run.debug.dr7()).isEqualTo(0x2400L);
            // the guest's DR1 write did not reach the effective registers: userspace's are in force
            assertThat(g.v().arch.db[1]).isEqualTo(0L);
            assertThat(g.v().arch.eff_db[1]).isEqualTo(0L);
        }
    }

    // ---- KVM_SET_SIGNAL_MASK ----

    /** Spins until the byte at 0x500 is set, reports 0x77, clears it and spins again. */
    static final String WAIT_FLAG = String.join("\n",
            ".code16",
            "_start:",
            "  xor ax, ax",
            "  mov ds, ax",
            "1: cmp byte ptr [0x500], 0",
            "  je 1b",
            "  mov eax, 0x77",
            OUT,
            "  mov byte ptr [0x500], 0",
            "  jmp 1b");

    /** KVM_SET_SIGNAL_MASK with a struct kvm_signal_mask of {@code len} and {@code set}. */
    static long setSignalMask(Guest g, int len, long set) {
        g.s.arg.putInt(g.s.off(), len);
        g.s.arg.putLong(g.s.off() + 4, set);
        return g.s.vcpu(KVM_SET_SIGNAL_MASK);
    }

    /**
     * qemu-kvm's pattern: the vCPU thread blocks SIG_IPI, and KVM_RUN runs with a mask that unblocks it. A
     * signal blocked in the vCPU's mask does not stop the guest and stays pending; unblocked it makes KVM_RUN
     * return -EINTR, whether it was pending before or arrives while the guest runs.
     */
    @Test
    void the_vcpu_signal_mask_decides_whether_a_signal_interrupts_kvm_run() throws Exception {
        try (Guest g = new Guest(WAIT_FLAG)) {
            assertThat(setSignalMask(g, 4, 0)).as("len must be sizeof(sigset_t)").isEqualTo(-EINVAL);
            assertThat(g.s.vmm.p.ioctl(g.s.vcpufd, KVM_SET_SIGNAL_MASK, 0x10)).isEqualTo(-EFAULT);

            long ipi = Kernel.sigmask(Kernel.SIG_IPI);
            Kernel kernel = g.s.m.kvm_main().kernel;
            java.util.concurrent.BlockingQueue<long[]> results = new java.util.concurrent.LinkedBlockingQueue<>();
            java.util.concurrent.BlockingQueue<Long> go = new java.util.concurrent.LinkedBlockingQueue<>();
            Thread vcpuThread = new Thread(() -> {
                try {
                    Kernel.sigprocmask(Kernel.SIG_BLOCK, ipi);
                    for (long mask; (mask = go.take()) >= 0; ) {
                        long set = setSignalMask(g, 8, mask);
                        long r = g.s.vmm.p.ioctl(g.s.vcpufd, KVM_RUN, 0);
                        results.add(new long[] {set, r, g.run.exit_reason(), Kernel.sigpending() & ipi, Kernel.sigtakepending(ipi)});
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            vcpuThread.start();
            try {
                // 1. SIG_IPI blocked while the guest runs: the signal waits, the guest goes on to its OUT
                go.add(ipi);
                awaitRunning(g);
                kernel.send_sig(Kernel.SIG_IPI, vcpuThread);
                Thread.sleep(200);
                assertThat(results).as("a blocked signal does not stop KVM_RUN").isEmpty();
                g.s.vmm.poke(0x500, new byte[] {1});
                long[] r1 = results.poll(30, java.util.concurrent.TimeUnit.SECONDS);
                assertThat(r1).isNotNull();
                assertThat(r1[0]).isZero();
                assertThat(r1[1]).isZero();
                assertThat(r1[2]).isEqualTo(KVM_EXIT_IO);
                assertThat(r1[3]).as("still pending after KVM_RUN").isEqualTo(ipi);
                assertThat(r1[4]).as("sigtimedwait takes it").isEqualTo(Kernel.SIG_IPI);

                // 2. the same signal pending before KVM_RUN, unblocked by the vCPU's mask: -EINTR at once
                kernel.send_sig(Kernel.SIG_IPI, vcpuThread);
                Thread.sleep(50);
                go.add(0L);
                long[] r2 = results.poll(30, java.util.concurrent.TimeUnit.SECONDS);
                assertThat(r2).isNotNull();
                assertThat(r2[1]).isEqualTo(-EINTR);
                assertThat(r2[2]).isEqualTo(KVM_EXIT_INTR);
                assertThat(r2[3]).as("blocked again outside KVM_RUN, it is still pending").isEqualTo(ipi);

                // 3. unblocked, sent while the guest spins: -EINTR
                go.add(0L);
                awaitRunning(g);
                Thread.sleep(50);
                assertThat(results).isEmpty();
                kernel.send_sig(Kernel.SIG_IPI, vcpuThread);
                long[] r3 = results.poll(30, java.util.concurrent.TimeUnit.SECONDS);
                assertThat(r3).isNotNull();
                assertThat(r3[1]).isEqualTo(-EINTR);
                assertThat(r3[2]).isEqualTo(KVM_EXIT_INTR);
                assertThat(g.v().stat.signal_exits).isGreaterThanOrEqualTo(2);
            } finally {
                go.add(-1L);
                vcpuThread.join(10_000);
            }
        }
    }

    private static void awaitRunning(Guest g) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (g.v().running == null && System.nanoTime() < deadline) Thread.sleep(1);
        assertThat(g.v().running).as("the vCPU thread entered KVM_RUN").isNotNull();
        Thread.sleep(20);
    }

    /**
     * AMD's VMMCALL is #UD on Intel: handle_exception emulates it, and kvm_fix_hypercall rewrites it into
     * VMCALL. As in 2.6.33 the rewritten instruction is skipped that first time (the emulator does not
     * rewind RIP for VMMCALL), so only the second pass through the loop makes the hypercall.
     */
    @Test
    void vmmcall_is_patched_into_vmcall() {
        String asm = String.join("\n",
                ".code16",
                "_start:",
                "  xor ax, ax",
                "  mov ds, ax",
                "  mov cx, 2",
                "1: mov eax, 1",
                "hc: .byte 0x0f, 0x01, 0xd9",
                OUT,
                "  loop 1b",
                "  mov eax, dword ptr [hc]",
                OUT,
                "  hlt");
        try (Guest g = new Guest(asm)) {
            assertThat(g.runToExit()).isZero();
            assertThat(g.run.exit_reason()).isEqualTo(KVM_EXIT_HLT);
            assertThat(g.outs).hasSize(3);
            assertThat(g.outs.get(0)).as("first pass: patched and skipped").isEqualTo(1L);
            assertThat(g.outs.get(1)).as("second pass: the VMCALL answers").isEqualTo(0L);
            assertThat(g.outs.get(2) & 0xffffff).as("0f 01 c1 in guest memory").isEqualTo(0xc1010fL);
            assertThat(g.v().stat.hypercalls).isEqualTo(1);
        }
    }

    /**
     * After a guest MOV to DR7 enables a breakpoint, switch_db_regs makes every entry load DR0-3 and DR6
     * into the processor (vcpu_enter_guest, vmx_vcpu_run) and the exit put the host's back.
     */
    @Test
    void enabled_guest_breakpoints_are_in_the_processor_while_the_guest_runs() {
        String asm = String.join("\n",
                ".code16",
                "_start:",
                "  mov eax, 0x12345678",
                "  mov dr0, eax",
                "  mov eax, 0x1",                             // L0
                "  mov dr7, eax",
                "  jmp probe",
                ".org 0x100",
                "probe:",
                "  nop",
                "  mov eax, 0x5a",
                OUT,
                "  hlt");
        try (Guest g = new Guest(asm)) {
            kvmkmod.hw.Platform platform = g.s.m.kvm_main().kernel.platform;
            List<Long> seen = new ArrayList<>();
            for (int i = 0; i < platform.num_possible_cpus(); i++) {
                kvmkmod.hw.soft.SoftCpu cpu = (kvmkmod.hw.soft.SoftCpu) platform.cpu(i);
                cpu.addBreakpoint(LOAD + 0x100);
                cpu.setDebugger((c, rip, bp) -> {
                    seen.add(c.get_debugreg(0));
                    seen.add(c.get_debugreg(6));
                    return false;
                });
            }
            assertThat(g.runToExit()).isZero();
            assertThat(g.run.exit_reason()).isEqualTo(KVM_EXIT_HLT);
            assertThat(g.outs).containsExactly(0x5aL);
            assertThat(g.v().arch.switch_db_regs).isEqualTo(1);
            assertThat(seen).containsExactly(0x12345678L, 0xffff0ff0L);
            for (int i = 0; i < platform.num_possible_cpus(); i++)
                assertThat(platform.cpu(i).get_debugreg(0)).as("cpu %d DR0 after the exit", i).isZero();
        }
    }

    /**
     * A #GP through a task gate: handle_task_switch drops the re-queued exception and does not skip the
     * faulting instruction; A's TSS keeps the faulting EIP. As in 2.6.33, the error code is not pushed on
     * the new task's stack.
     */
    @Test
    void a_fault_through_a_task_gate_switches_without_pushing_the_error_code() {
        String asm = TO_PROTECTED + String.join("\n",
                "  mov ax, 0x18",
                "  ltr ax",
                "  mov dword ptr [0x1100 + 32], offset taskD",
                "  mov dword ptr [0x1100 + 36], 2",
                "  mov dword ptr [0x1100 + 56], 0x6000",
                "  mov dword ptr [0x1100 + 72], 0x10",
                "  mov dword ptr [0x1100 + 76], 0x08",
                "  mov dword ptr [0x1100 + 80], 0x10",
                "  mov dword ptr [0x1100 + 84], 0x10",
                "  mov dword ptr [0x1100 + 88], 0x10",
                "  mov dword ptr [0x1100 + 92], 0x10",
                "  mov dword ptr [0x2000 + 13 * 8], 0x00200000",     // #GP: task gate to TSS 0x20
                "  mov dword ptr [0x2000 + 13 * 8 + 4], 0x00008500",
                "  lidt [idt_desc]",
                "  mov ax, 0x100",
                "  jmp fault",
                ".org 0x180",
                "fault:",
                "  mov ds, ax",                                     // past the GDT's limit: #GP(0x100)
                "  hlt",
                "taskD:",
                "  mov edx, 0x510",
                "  mov eax, esp",
                "  out dx, eax",
                "  mov eax, dword ptr [0x1100]",
                "  out dx, eax",
                "  mov eax, dword ptr [0x1000 + 32]",
                "  out dx, eax",
                "  pushfd",
                "  pop eax",
                "  and eax, 0x4000",
                "  out dx, eax",
                "  hlt",
                "idt_desc:",
                "  .word 0x40 * 8 + 7",
                "  .long 0x2000")
                + gdt("0x0000890010000067", "0x0000890011000067");
        try (Guest g = new Guest(asm)) {
            assertThat(g.runToExit()).isZero();
            assertThat(g.run.exit_reason()).as("exit %d, outs %s", g.run.exit_reason(), g.outs).isEqualTo(KVM_EXIT_HLT);
            assertThat(g.outs).containsExactly(0x6000L, 0x18L, LOAD + 0x180, 0x4000L);
            assertThat(g.v().arch.exception.pending).as("the #GP went through the gate, not back to the guest").isFalse();
        }
    }

    /**
     * A TSS descriptor whose limit is below the 16-bit minimum (0x2b): kvm_task_switch queues #TS with the
     * selector. handle_task_switch skipped the JMP before calling it, so — a 2.6.33 quirk — the fault's
     * return address is the instruction after the JMP, not the JMP.
     */
    @Test
    void a_tss_too_small_is_ts_with_the_selector() {
        String asm = TO_PROTECTED + String.join("\n",
                "  mov ax, 0x18",
                "  ltr ax",
                "  mov dword ptr [0x2000 + 10 * 8], 0x00087dc0",    // #TS: interrupt gate to 0x08:0x7dc0
                "  mov dword ptr [0x2000 + 10 * 8 + 4], 0x00008e00",
                "  lidt [idt_desc]",
                "  jmp fault",
                ".org 0x180",
                "fault:",
                "  .byte 0xea",                                     // jmp 0x20:0, a TSS with limit 0x20
                "  .long 0",
                "  .word 0x20",
                "after:",
                "  hlt",
                ".org 0x1c0",
                "ts_handler:",
                "  mov edx, 0x510",
                "  pop eax",                                        // error code
                "  out dx, eax",
                "  pop eax",                                        // return EIP
                "  out dx, eax",
                "  hlt",
                "idt_desc:",
                "  .word 0x40 * 8 + 7",
                "  .long 0x2000")
                + gdt("0x0000890010000067", "0x0000890011000020");
        try (Guest g = new Guest(asm)) {
            assertThat(g.runToExit()).isZero();
            assertThat(g.run.exit_reason()).as("exit %d, outs %s", g.run.exit_reason(), g.outs).isEqualTo(KVM_EXIT_HLT);
            assertThat(g.outs).containsExactly(0x20L, LOAD + 0x180 + 7);
        }
    }

    /**
     * A TSS outside guest memory: kvm_task_switch cannot read it and returns 0, so handle_task_switch
     * returns 0 and KVM_RUN returns to userspace without setting an exit reason (2.6.33 leaves the previous
     * one in kvm_run). Nothing in the kernel breaks, and the guest stays at the instruction after the JMP.
     */
    @Test
    void a_tss_outside_memory_returns_to_userspace() {
        String asm = TO_PROTECTED + String.join("\n",
                "  mov ax, 0x18",
                "  ltr ax",
                "  mov eax, 0x11",
                OUT,
                "  .byte 0xea",                                     // jmp 0x20:0, a TSS at 0xf0000000
                "  .long 0",
                "  .word 0x20",
                "  hlt")
                + gdt("0x0000890010000067", "0xf000890000000067");
        try (Guest g = new Guest(asm)) {
            long r = g.s.vmm.p.ioctl(g.s.vcpufd, KVM_RUN, 0);
            while (r == 0 && g.run.exit_reason() == KVM_EXIT_IO && g.run.io.port() != PORT) r = g.s.vmm.p.ioctl(g.s.vcpufd, KVM_RUN, 0);
            assertThat(g.run.exit_reason()).isEqualTo(KVM_EXIT_IO);
            // the next KVM_RUN completes the OUT, runs the JMP and comes back with the stale reason
            assertThat(g.s.vmm.p.ioctl(g.s.vcpufd, KVM_RUN, 0)).isZero();
            assertThat(g.run.exit_reason()).as("left over from the OUT").isEqualTo(KVM_EXIT_IO);
            assertThat(g.s.vmm.p.ioctl(g.s.vcpufd, KVM_RUN, 0)).as("and the guest runs on after the JMP").isZero();
            assertThat(g.run.exit_reason()).isEqualTo(KVM_EXIT_HLT);
        }
    }

    /** KVM_RUN after a KVM_EXIT_HYPERCALL puts kvm_run.hypercall.ret into RAX (x86.c:4066), as userspace answered it. */
    @Test
    void a_hypercall_answer_from_userspace_lands_in_rax() {
        String asm = String.join("\n",
                ".code16",
                "_start:",
                OUT,
                "  hlt");
        try (Guest g = new Guest(asm)) {
            g.run.exit_reason(KVM_EXIT_HYPERCALL);
            g.run.hypercall.ret(0x4242L);
            assertThat(g.runToExit()).isZero();
            assertThat(g.outs).containsExactly(0x4242L);
        }
    }
}
