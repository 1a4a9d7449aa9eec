package kvmkmod.vmx;

import kvmkmod.include.Kernel;
import kvmkmod.include.trace.Ftrace;
import kvmkmod.include.trace.FunctionGraph;
import kvmkmod.include.trace.FunctionGraphTrace;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.function.Consumer;

import static kvmkmod.hw.VmxArch.*;
import static kvmkmod.include.Kvm_h.*;
import static kvmkmod.vmx.GuestExitsTest.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every slot of kvm_vmx_exit_handlers[] (vmx.c:3451) driven by guest code through KVM_RUN on the SOFT
 * processor. Each run is traced with the function-graph tracer narrowed to vmx_handle_exit: the kvm_exit
 * tracepoint names the reason and the calls under it name the handler that ran. Each test also checks
 * what 2.6.33 makes of the exit, as the guest or userspace sees it. The last test compares the reasons
 * seen across this class with vmx_exit_handlers.tsv.
 *
 * <p>The task-switch and PAUSE guests are those of GuestExitsTest (TASKS, SPIN), run again only to see
 * their handlers in the trace. Other tests check some handlers in more depth than the small guests here:
 * <pre>
 * handle_task_switch         GuestExitsTest.call_iret_task_gate_and_jmp_switch_tasks_through_the_tss and the #GP/#TS cases
 * handle_pause               GuestExitsTest.a_pause_loop_exits_to_handle_pause_unless_ple_gap_is_0
 * handle_vmcall              GuestExitsTest.hypercalls_answer_in_rax_and_mmu_op_writes_the_pte
 * handle_exception (#UD)     GuestExitsTest.vmmcall_is_patched_into_vmcall
 * handle_dr                  GuestExitsTest.mov_dr_is_emulated_and_dr7_gd_raises_db_with_dr6_bd
 * handle_interrupt_window    X86VcpuApiTest.kvm_interrupt_is_delivered_through_the_ivt_when_the_window_opens
 * handle_external_interrupt  GuestExitsTest.the_vcpu_signal_mask_decides_whether_a_signal_interrupts_kvm_run
 * handle_ept_violation       ExitHandlersTest.trace_kvm_exit_names_the_reason
 * </pre>
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@org.junit.jupiter.api.Timeout(value = 120, threadMode = org.junit.jupiter.api.Timeout.ThreadMode.SEPARATE_THREAD)
class EveryExitHandlerTest {

    /** Basic exit reason → the functions called directly by vmx_handle_exit for it, across this class. */
    static final Map<Integer, Set<String>> SEEN = new ConcurrentSkipListMap<>();

    @BeforeAll
    static void instrument() { FunctionGraph.install(); }

    /** How many guest runs {@link #traced} recorded in {@link #SEEN}. */
    static final java.util.concurrent.atomic.AtomicInteger TRACED_RUNS = new java.util.concurrent.atomic.AtomicInteger();

    /** The whole trace of the last {@link #traced} run. */
    static FunctionGraphTrace lastTrace;

    /** The exit reason a kvm_exit tracepoint names: vmx_exit_reasons_str[] or the bare number. */
    static int reasonOf(String text) {
        String name = text.substring("reason ".length(), text.indexOf(" rip "));
        for (int i = 0; i < Vmx.vmx_exit_reasons_str.length; i++)
            if (name.equals(Vmx.vmx_exit_reasons_str[i])) return i;
        return Integer.parseInt(name);
    }

    /** Runs {@code body} traced; returns (and adds to {@link #SEEN}) reason → functions vmx_handle_exit called. */
    static Map<Integer, Set<String>> traced(Runnable body) {
        List<String> lines;
        Ftrace.setGraphFunctions("vmx_handle_exit");
        try {
            lines = Ftrace.capture(body);
        } finally {
            Ftrace.setGraphFunctions();
        }
        Map<Integer, Set<String>> m = new TreeMap<>();
        lastTrace = FunctionGraphTrace.parse(lines);
        for (FunctionGraphTrace.Call c : lastTrace.callsOf("vmx_handle_exit")) {
            FunctionGraphTrace.Event e = c.events().stream().filter(ev -> ev.name().equals("kvm_exit")).findFirst().orElseThrow();
            m.computeIfAbsent(reasonOf(e.text()), k -> new TreeSet<>()).addAll(c.childNames());
        }
        TRACED_RUNS.incrementAndGet();
        m.forEach((r, fns) -> SEEN.computeIfAbsent(r, k -> new java.util.concurrent.ConcurrentSkipListSet<>()).addAll(fns));
        return m;
    }

    /** The handler of kvm_vmx_exit_handlers[reason] ran for an exit with that reason. */
    static void ran(Map<Integer, Set<String>> m, int reason, String handler) {
        assertThat(m).as("exit reasons seen").containsKey(reason);
        assertThat(m.get(reason)).as("called by vmx_handle_exit for reason %d", reason).contains(handler);
    }

    /** The 32-bit value of the OUT or IN kvm_run describes. */
    static int ioData(Guest g) { return g.rr.buf.getInt((int) (g.runVa - g.rr.va + g.run.io.data_offset())); }

    /**
     * KVM_RUN until an exit other than an OUT to {@link GuestExitsTest#PORT}; OUT values are collected in
     * {@code g.outs}, and {@code onOut} sees each one (the VMM's moment to act between two runs).
     */
    static long run(Guest g, Consumer<Long> onOut) {
        for (;;) {
            long r = g.s.vmm.p.ioctl(g.s.vcpufd, KVM_RUN, 0);
            if (r != 0 || g.run.exit_reason() != KVM_EXIT_IO || g.run.io.port() != PORT) return r;
            long v = ioData(g) & 0xffffffffL;
            g.outs.add(v);
            onOut.accept(v);
        }
    }
    // ---- instructions that exit unconditionally or by the controls vmx_vcpu_setup sets (ept=1) ----

    /**
     * CR0 and CR4 writes (host-owned bits), CPUID over the KVM_SET_CPUID2 table, VMCALL, WRMSR/RDMSR of
     * MTRRdefType, WBINVD, MOV DR, IN answered by userspace, OUT and HLT.
     */
    @Test
    void cr_cpuid_vmcall_msr_wbinvd_dr_io_and_hlt() {
        String asm = TO_PROTECTED + String.join("\n",
                "  mov eax, cr0",
                "  and eax, 1",
                OUT,
                "  mov eax, cr4",
                "  or eax, 0x10",                       // PSE: not guest-owned, so the write exits
                "  mov cr4, eax",
                "  mov eax, cr4",
                OUT,
                "  mov eax, 0x40000000",
                "  cpuid",
                "  mov eax, ebx",
                OUT,
                "  mov eax, 1",                         // KVM_HC_VAPIC_POLL_IRQ
                VMCALL + OUT,
                "  mov ecx, 0x2ff",                     // MSR_MTRRdefType: E | WB
                "  mov eax, 0x806",
                "  xor edx, edx",
                "  wrmsr",
                "  xor eax, eax",
                "  rdmsr",
                OUT,
                "  wbinvd",
                "  mov eax, 0x3b",
                OUT,
                "  mov eax, 0x1234",
                "  mov dr1, eax",
                "  xor eax, eax",
                "  mov eax, dr1",
                OUT,
                "  mov edx, 0x511",
                "  in eax, dx",
                OUT,
                "  hlt")
                + gdt();
        try (Guest g = new Guest(asm)) {
            g.s.putCpuid2(X86VcpuApiTest.ent(0x40000000, 0, 0, 0, 0x4b4d564b, 0, 0));
            assertThat(g.s.vcpu(KVM_SET_CPUID2)).isZero();
            Map<Integer, Set<String>> m = traced(() -> {
                assertThat(run(g, v -> {})).isZero();
                // the IN from port 0x511: userspace puts the value where kvm_run.io says
                assertThat(g.run.exit_reason()).isEqualTo(KVM_EXIT_IO);
                assertThat(g.run.io.port()).isEqualTo(0x511);
                assertThat(g.run.io.direction()).isEqualTo(KVM_EXIT_IO_IN);
                g.rr.buf.putInt((int) (g.runVa - g.rr.va + g.run.io.data_offset()), 0xfeedf00d);
                assertThat(run(g, v -> {})).isZero();
            });
            assertThat(g.run.exit_reason()).as("outs %s", g.outs).isEqualTo(KVM_EXIT_HLT);
            assertThat(g.outs).containsExactly(1L, 0x10L, 0x4b4d564bL, 0L, 0x806L, 0x3bL, 0x1234L, 0xfeedf00dL);
            ran(m, EXIT_REASON_CR_ACCESS, "handle_cr");
            ran(m, EXIT_REASON_CPUID, "handle_cpuid");
            ran(m, EXIT_REASON_VMCALL, "handle_vmcall");
            ran(m, EXIT_REASON_MSR_WRITE, "handle_wrmsr");
            ran(m, EXIT_REASON_MSR_READ, "handle_rdmsr");
            ran(m, EXIT_REASON_WBINVD, "handle_wbinvd");
            ran(m, EXIT_REASON_DR_ACCESS, "handle_dr");
            ran(m, EXIT_REASON_IO_INSTRUCTION, "handle_io");
            ran(m, EXIT_REASON_HLT, "handle_halt");
            ran(m, EXIT_REASON_EPT_VIOLATION, "handle_ept_violation");
            assertThat(g.v().arch.mtrr_def_type).isEqualTo(6);
        }
    }

    /**
     * ud2, the nine VMX instructions, MONITOR and MWAIT: each exit ends in a #UD queued for the guest
     * (handle_exception after a failed emulation, handle_vmx_insn, handle_invalid_op). The guest's #UD
     * handler reports the instruction's number and whether the saved EIP is that of the instruction (a
     * fault, so the instruction was not skipped), then resumes after it.
     */
    @Test
    void ud2_vmx_instructions_monitor_and_mwait_raise_ud_in_the_guest() {
        String[] insns = {"ud2", "vmclear [0x800]", "vmlaunch", "vmptrld [0x800]", "vmptrst [0x800]",
                "vmread eax, ebx", "vmresume", "vmwrite ebx, eax", "vmxoff", "vmxon [0x800]", "monitor", "mwait"};
        StringBuilder body = new StringBuilder(String.join("\n",
                "  mov dword ptr [0x2000 + 6 * 8], 0x00080000 + offset ud_handler",  // offset fits in 16 bits
                "  mov dword ptr [0x2000 + 6 * 8 + 4], 0x00008e00",
                "  lidt [idt_desc]",
                "  xor eax, eax",
                "  xor ecx, ecx",
                "  xor edx, edx",
                "  mov ebx, 0x4400",                                   // VM_INSTRUCTION_ERROR's encoding
                ""));
        for (int i = 0; i < insns.length; i++)
            body.append(String.join("\n",
                    "  mov esi, " + (i + 1),
                    "  mov dword ptr [0x600], offset site" + i,
                    "  mov dword ptr [0x604], offset next" + i,
                    "site" + i + ":",
                    "  " + insns[i],
                    "next" + i + ":",
                    ""));
        String asm = TO_PROTECTED + body + String.join("\n",
                "  hlt",
                "ud_handler:",
                "  mov eax, dword ptr [esp]",
                "  cmp eax, dword ptr [0x600]",
                "  mov eax, esi",
                "  jne 1f",
                "  or eax, 0x100",
                "1:",
                OUT,
                "  mov eax, dword ptr [0x604]",
                "  mov dword ptr [esp], eax",
                "  iret",
                "idt_desc:",
                "  .word 0x40 * 8 + 7",
                "  .long 0x2000")
                + gdt();
        try (Guest g = new Guest(asm)) {
            Map<Integer, Set<String>> m = traced(() -> assertThat(run(g, v -> {})).isZero());
            assertThat(g.run.exit_reason()).as("outs %s", g.outs).isEqualTo(KVM_EXIT_HLT);
            List<Long> expected = new ArrayList<>();
            for (int i = 1; i <= insns.length; i++) expected.add(0x100L | i);
            assertThat(g.outs).containsExactlyElementsOf(expected);
            ran(m, EXIT_REASON_EXCEPTION_NMI, "handle_exception");
            for (int r : new int[] {EXIT_REASON_VMCLEAR, EXIT_REASON_VMLAUNCH, EXIT_REASON_VMPTRLD, EXIT_REASON_VMPTRST,
                    EXIT_REASON_VMREAD, EXIT_REASON_VMRESUME, EXIT_REASON_VMWRITE, EXIT_REASON_VMOFF, EXIT_REASON_VMON})
                ran(m, r, "handle_vmx_insn");
            ran(m, EXIT_REASON_MONITOR_INSTRUCTION, "handle_invalid_op");
            ran(m, EXIT_REASON_MWAIT_INSTRUCTION, "handle_invalid_op");
        }
    }
    // ---- exceptions userspace asked for, and the shutdown of a triple fault ----

    /**
     * KVM_SET_GUEST_DEBUG: with SINGLESTEP the first instruction ends in a #DB exit, with USE_SW_BP an INT3
     * in a #BP exit; handle_exception reports both as KVM_EXIT_DEBUG with the linear address of the next
     * instruction to run.
     */
    @Test
    void guest_debug_db_and_bp_exit_to_userspace() {
        String asm = String.join("\n",
                ".code16",
                "_start:",
                "  nop",
                "  int3",
                "  hlt");
        try (Guest g = new Guest(asm)) {
            Map<Integer, Set<String>> m = traced(() -> {
                g.s.arg.putInt(g.s.off(), (int) (VmxDefs.KVM_GUESTDBG_ENABLE | 0x2));   // SINGLESTEP
                assertThat(g.s.vcpu(KVM_SET_GUEST_DEBUG)).isZero();
                assertThat(run(g, v -> {})).isZero();
                assertThat(g.run.exit_reason()).isEqualTo(KVM_EXIT_DEBUG);
                assertThat(g.run.debug.exception()).isEqualTo(1);
                assertThat(g.run.debug.pc()).as("after the far JMP at the reset vector").isEqualTo(LOAD);
                g.s.arg.putInt(g.s.off(), (int) (VmxDefs.KVM_GUESTDBG_ENABLE | VmxDefs.KVM_GUESTDBG_USE_SW_BP));
                assertThat(g.s.vcpu(KVM_SET_GUEST_DEBUG)).isZero();
                assertThat(run(g, v -> {})).isZero();
                assertThat(g.run.exit_reason()).isEqualTo(KVM_EXIT_DEBUG);
                assertThat(g.run.debug.exception()).isEqualTo(3);
                assertThat(g.run.debug.pc()).as("the INT3 itself").isEqualTo(LOAD + 1);
            });
            ran(m, EXIT_REASON_EXCEPTION_NMI, "handle_exception");
        }
    }

    /** An INT3 with an IDT of limit 0: #GP, #DF, then shutdown; handle_triple_fault makes it KVM_EXIT_SHUTDOWN. */
    @Test
    void a_triple_fault_is_kvm_exit_shutdown() {
        String asm = TO_PROTECTED + String.join("\n",
                "  lidt [idt_desc]",
                "  int3",
                "  hlt",
                "idt_desc:",
                "  .word 0",
                "  .long 0")
                + gdt();
        try (Guest g = new Guest(asm)) {
            Map<Integer, Set<String>> m = traced(() -> assertThat(run(g, v -> {})).isZero());
            assertThat(g.run.exit_reason()).isEqualTo(KVM_EXIT_SHUTDOWN);
            ran(m, EXIT_REASON_TRIPLE_FAULT, "handle_triple_fault");
        }
    }

    // ---- interrupts and NMIs without an in-kernel irqchip ----

    /**
     * A signal for the vCPU thread while the guest spins: the kick is an external-interrupt exit, which
     * handle_external_interrupt counts and resumes; the pending signal then ends KVM_RUN with -EINTR.
     */
    @Test
    void a_kick_is_an_external_interrupt_exit() throws Exception {
        String asm = String.join("\n",
                ".code16",
                "_start:",
                "1: jmp 1b");
        try (Guest g = new Guest(asm)) {
            long[] r = new long[1];
            Map<Integer, Set<String>> m = traced(() -> {
                Thread t = new Thread(() -> r[0] = g.s.vmm.p.ioctl(g.s.vcpufd, KVM_RUN, 0));
                t.start();
                try {
                    long deadline = System.nanoTime() + 10_000_000_000L;
                    while (g.v().running == null && System.nanoTime() < deadline) Thread.sleep(1);
                    Thread.sleep(50);
                    g.s.m.kvm_main().kernel.send_sig(Kernel.SIG_IPI, t);
                    t.join(30_000);
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
                assertThat(t.isAlive()).isFalse();
            });
            assertThat(r[0]).isEqualTo(-kvmkmod.include.Errno.EINTR);
            assertThat(g.run.exit_reason()).isEqualTo(KVM_EXIT_INTR);
            assertThat(g.v().stat.irq_exits).isGreaterThanOrEqualTo(1);
            ran(m, EXIT_REASON_EXTERNAL_INTERRUPT, "handle_external_interrupt");
        }
    }

    /**
     * request_interrupt_window while the guest runs with IF=0: the window exit comes after STI (and its
     * shadow), handle_interrupt_window returns KVM_EXIT_IRQ_WINDOW_OPEN, and KVM_INTERRUPT then delivers
     * the vector through the IVT.
     */
    @Test
    void the_interrupt_window_opens_after_sti() {
        String asm = String.join("\n",
                ".code16",
                "_start:",
                "  cli",
                "  xor ax, ax",
                "  mov ds, ax",
                "  mov ss, ax",
                "  mov sp, 0x7000",
                "  mov word ptr [0x20 * 4], offset irq",
                "  mov word ptr [0x20 * 4 + 2], 0",
                "  mov eax, 1",
                OUT,
                "  sti",
                "1: jmp 1b",
                "irq:",
                "  mov eax, 0x20",
                OUT,
                "  hlt");
        try (Guest g = new Guest(asm)) {
            Map<Integer, Set<String>> m = traced(() -> {
                g.run.request_interrupt_window(1);
                assertThat(run(g, v -> {})).isZero();
                assertThat(g.run.exit_reason()).isEqualTo(KVM_EXIT_IRQ_WINDOW_OPEN);
                assertThat(g.outs).as("not before the STI").containsExactly(1L);
                assertThat(g.run.ready_for_interrupt_injection()).isEqualTo(1);
                assertThat(g.run.if_flag()).isEqualTo(1);
                g.s.arg.putInt(g.s.off(), 0x20);
                assertThat(g.s.vcpu(KVM_INTERRUPT)).isZero();
                g.run.request_interrupt_window(0);
                assertThat(run(g, v -> {})).isZero();
            });
            assertThat(g.run.exit_reason()).isEqualTo(KVM_EXIT_HLT);
            assertThat(g.outs).containsExactly(1L, 0x20L);
            ran(m, EXIT_REASON_PENDING_INTERRUPT, "handle_interrupt_window");
        }
    }

    /**
     * KVM_NMI while the guest is in its NMI handler (NMIs blocked until IRET): vmx.c asks for the NMI
     * window, the IRET opens it, handle_nmi_window lets the second NMI in, and the handler runs again.
     */
    @Test
    void a_second_nmi_waits_for_the_nmi_window() {
        String asm = String.join("\n",
                ".code16",
                "_start:",
                "  xor ax, ax",
                "  mov ds, ax",
                "  mov ss, ax",
                "  mov sp, 0x7000",
                "  mov word ptr [2 * 4], offset nmi",
                "  mov word ptr [2 * 4 + 2], 0",
                "  mov dword ptr [0x500], 0",
                "  mov eax, 0x100",
                OUT,
                "1: cmp dword ptr [0x500], 2",
                "  jne 1b",
                "  mov eax, 0x200",
                OUT,
                "  hlt",
                "nmi:",
                "  inc dword ptr [0x500]",
                "  mov eax, dword ptr [0x500]",
                OUT,
                "  iret");
        try (Guest g = new Guest(asm)) {
            Map<Integer, Set<String>> m = traced(() -> assertThat(run(g, v -> {
                // first at the guest's start, then from inside the first NMI's handler
                if (v == 0x100L || v == 1L) assertThat(g.s.vmm.p.ioctl(g.s.vcpufd, KVM_NMI, 0)).isZero();
            })).isZero());
            assertThat(g.run.exit_reason()).isEqualTo(KVM_EXIT_HLT);
            assertThat(g.outs).containsExactly(0x100L, 1L, 2L, 0x200L);
            assertThat(g.v().stat.nmi_window_exits).isGreaterThanOrEqualTo(1);
            ran(m, EXIT_REASON_NMI_WINDOW, "handle_nmi_window");
        }
    }
    // ---- guests of GuestExitsTest, run again here only to see their handlers in the trace ----

    @Test
    void task_switches_go_through_handle_task_switch() {
        try (Guest g = new Guest(TASKS)) {
            Map<Integer, Set<String>> m = traced(() -> assertThat(run(g, v -> {})).isZero());
            assertThat(g.run.exit_reason()).isEqualTo(KVM_EXIT_HLT);
            // CALL, IRET, INT through a task gate and JMP: B's EAX first, the 16-bit TSS's AX later
            assertThat(g.outs).startsWith(0xb0b0L).contains(0xc0c0L);
            ran(m, EXIT_REASON_TASK_SWITCH, "handle_task_switch");
        }
    }

    @Test
    void a_pause_loop_goes_through_handle_pause() {
        try (Guest g = new Guest(SPIN)) {
            Map<Integer, Set<String>> m = traced(() -> assertThat(run(g, v -> {})).isZero());
            assertThat(g.run.exit_reason()).isEqualTo(KVM_EXIT_HLT);
            assertThat(g.outs).containsExactly(0x5aL);
            ran(m, EXIT_REASON_PAUSE_INSTRUCTION, "handle_pause");
        }
    }

    // ---- EPT ----

    /**
     * A read of the local APIC's page: without an in-kernel irqchip vmx.c neither maps the APIC-access
     * page nor virtualizes APIC accesses (vm_need_virtualize_apic_accesses, vmx.c:339-343), so the access
     * is an EPT violation on a gpa with no memslot, and the emulator hands it to userspace as MMIO.
     */
    @Test
    void the_apic_page_is_mmio_through_an_ept_violation() {
        String asm = TO_PROTECTED + String.join("\n",
                "  mov eax, dword ptr [0xfee00030]",
                OUT,
                "  hlt")
                + gdt();
        try (Guest g = new Guest(asm)) {
            Map<Integer, Set<String>> m = traced(() -> {
                assertThat(run(g, v -> {})).isZero();
                assertThat(g.run.exit_reason()).isEqualTo(KVM_EXIT_MMIO);
                assertThat(g.run.mmio.phys_addr()).isEqualTo(0xfee00030L);
                assertThat(g.run.mmio.len()).isEqualTo(4);
                assertThat(g.run.mmio.is_write()).isZero();
                g.rr.buf.putInt(g.run.mmio.data_offset(), 0x00050014);      // an APIC version register
                assertThat(run(g, v -> {})).isZero();
            });
            assertThat(g.run.exit_reason()).isEqualTo(KVM_EXIT_HLT);
            assertThat(g.outs).containsExactly(0x00050014L);
            ran(m, EXIT_REASON_EPT_VIOLATION, "handle_ept_violation");
            assertThat(m).doesNotContainKey(EXIT_REASON_APIC_ACCESS);
        }
    }

    /**
     * 2.6.33's mmu.c only writes present EPT entries with read permission or zero ones, so no guest can
     * cause a misconfiguration by itself; to reach handle_ept_misconfig the test plants one: the EPT
     * page-directory entry for guest-physical 2-4 MiB becomes write-only (SDM 28.2.3.1 "EPT
     * Misconfigurations"). The guest's read there exits, and handle_ept_misconfig reports it to userspace
     * as KVM_EXIT_UNKNOWN with hardware_exit_reason 49.
     */
    @Test
    void a_write_only_ept_entry_is_an_ept_misconfig() {
        String asm = TO_PROTECTED + String.join("\n",
                "  mov eax, 1",
                OUT,
                "  mov eax, dword ptr [0x200000]",
                "  hlt")
                + gdt();
        try (Guest g = new Guest(asm)) {
            Map<Integer, Set<String>> m = traced(() -> {
                assertThat(run(g, v -> {
                    kvmkmod.hw.HostMemory mem = g.s.m.kvm_main().kernel.platform.memory();
                    long pml4 = g.v().arch.mmu.root_hpa & ~0xfffL;
                    long pdpt = mem.read64(pml4) & 0x000ffffffffff000L;
                    long pd = mem.read64(pdpt) & 0x000ffffffffff000L;
                    assertThat(mem.read64(pd + 8)).as("2-4 MiB never mapped").isZero();
                    mem.write64(pd + 8, 0x2);
                })).isZero();
            });
            assertThat(g.outs).containsExactly(1L);
            assertThat(g.run.exit_reason()).isEqualTo(KVM_EXIT_UNKNOWN);
            assertThat(g.run.hw.hardware_exit_reason()).isEqualTo(EXIT_REASON_EPT_MISCONFIG);
            ran(m, EXIT_REASON_EPT_MISCONFIG, "handle_ept_misconfig");
        }
    }
    // ---- without EPT: the shadow MMU's exits ----

    /** ept=0, and bypass_guest_pf=0 so that not-present page faults exit too. */
    static KvmIntel.Params withoutEptOrBypass() {
        KvmIntel.Params p = new KvmIntel.Params();
        p.enable_ept = false;
        p.bypass_guest_pf = false;
        return p;
    }

    /**
     * ept=0 (and so no unrestricted guest): real mode runs under vm86, then the guest turns on paging.
     * Its page faults exit to handle_exception and kvm_mmu_page_fault (bypass_guest_pf=0, so not-present
     * faults exit too); INVLPG exits to handle_invlpg, after which the guest sees its new PTE; CR3 loads
     * exit to handle_cr. A fault on a page the guest left unmapped is injected back with its CR2 and
     * error code.
     */
    @Test
    void without_ept_page_faults_invlpg_and_cr3_exit() {
        KvmIntel.Params p = withoutEptOrBypass();
        String asm = TO_PROTECTED + String.join("\n",
                "  mov edi, 0x11000",                       // PT: identity map of the first MiB
                "  mov eax, 3",
                "  mov ecx, 256",
                "1: mov dword ptr [edi], eax",
                "  add eax, 0x1000",
                "  add edi, 4",
                "  loop 1b",
                "  mov dword ptr [0x10000], 0x11003",       // PD[0] = PT
                "  mov dword ptr [0x11000 + 0x80 * 4], 0x90003",
                "  mov dword ptr [0x11000 + 0x81 * 4], 0",
                "  mov dword ptr [0x90000], 0xaaaa",
                "  mov dword ptr [0x91000], 0xbbbb",
                "  mov dword ptr [0x2000 + 14 * 8], 0x00080000 + offset pf_handler",
                "  mov dword ptr [0x2000 + 14 * 8 + 4], 0x00008e00",
                "  lidt [idt_desc]",
                "  mov eax, 0x10000",
                "  mov cr3, eax",
                "  mov eax, cr0",
                "  or eax, 0x80000000",
                "  mov cr0, eax",
                "  mov eax, dword ptr [0x80000]",
                OUT,
                "  mov dword ptr [0x11000 + 0x80 * 4], 0x91003",
                "  invlpg [0x80000]",
                "  mov eax, dword ptr [0x80000]",
                OUT,
                "  mov eax, dword ptr [0x81000]",
                "  hlt",
                "pf_handler:",
                "  pop eax",
                OUT,
                "  mov eax, cr2",
                OUT,
                "  hlt",
                "idt_desc:",
                "  .word 0x40 * 8 + 7",
                "  .long 0x2000")
                + gdt();
        try (Guest g = new Guest(asm, p)) {
            assertThat(g.s.m.vmx().enable_ept).isZero();
            Map<Integer, Set<String>> m = traced(() -> assertThat(run(g, v -> {})).isZero());
            assertThat(g.run.exit_reason()).as("outs %s", g.outs).isEqualTo(KVM_EXIT_HLT);
            assertThat(g.outs).containsExactly(0xaaaaL, 0xbbbbL, 0L, 0x81000L);
            ran(m, EXIT_REASON_EXCEPTION_NMI, "handle_exception");
            ran(m, EXIT_REASON_INVLPG, "handle_invlpg");
            ran(m, EXIT_REASON_CR_ACCESS, "handle_cr");
            assertThat(lastTrace.callsOf("handle_exception").stream().anyMatch(c -> c.childNames().contains("kvm_mmu_page_fault")))
                    .as("a #PF exit reached kvm_mmu_page_fault").isTrue();
            assertThat(lastTrace.callsOf("handle_invlpg").get(0).childNames()).contains("kvm_mmu_invlpg");
        }
    }

    /**
     * ept=0 runs real mode in vm86 with the IVT page not yet shadowed: the INT's delivery page-faults, and
     * the #PF exit carries the INT in the IDT-vectoring information with the INT's length (SDM 27.2.4), so
     * that vmx_complete_interrupts re-injects it to return after the INT. With a length of 0 the handler
     * would return to the INT and run twice.
     */
    @Test
    void an_int_whose_delivery_faults_is_reinjected_once() {
        KvmIntel.Params p = withoutEptOrBypass();
        String asm = String.join("\n",
                ".code16",
                "_start:",
                "  xor ax, ax",
                "  mov ds, ax",
                "  mov ss, ax",
                "  mov sp, 0x7000",
                "  mov word ptr [0x30 * 4], offset handler",
                "  mov word ptr [0x30 * 4 + 2], 0",
                "  int 0x30",
                "  mov eax, 0x99",
                OUT,
                "  hlt",
                "handler:",
                "  mov eax, 0x30",
                OUT,
                "  iret");
        try (Guest g = new Guest(asm, p)) {
            Map<Integer, Set<String>> m = traced(() -> assertThat(run(g, v -> {})).isZero());
            assertThat(g.run.exit_reason()).as("outs %s", g.outs).isEqualTo(KVM_EXIT_HLT);
            assertThat(g.outs).containsExactly(0x30L, 0x99L);
            ran(m, EXIT_REASON_EXCEPTION_NMI, "handle_exception");
        }
    }

    // ---- machine checks, injected into the SOFT processor ----

    static kvmkmod.hw.soft.SoftCpu softCpu(Guest g) {
        kvmkmod.hw.VmxCpu cpu = g.s.m.kvm_main().kernel.platform.cpu(0);
        org.junit.jupiter.api.Assumptions.assumeTrue(cpu instanceof kvmkmod.hw.soft.SoftCpu, "needs the SOFT processor");
        return (kvmkmod.hw.soft.SoftCpu) cpu;
    }

    /**
     * A machine check in the guest: #MC is in the exception bitmap (vmx.c's update_exception_bitmap), so
     * it exits; handle_exception passes it to handle_machine_check, the host has had it (kvm_machine_check
     * in vmx_vcpu_run), and the guest goes on as if nothing happened.
     */
    @Test
    void a_machine_check_in_the_guest_goes_to_handle_machine_check() {
        String asm = String.join("\n",
                ".code16",
                "_start:",
                "  mov eax, 1",
                OUT,
                "  mov eax, 2",
                OUT,
                "  hlt");
        try (Guest g = new Guest(asm)) {
            kvmkmod.hw.soft.SoftCpu cpu = softCpu(g);
            Map<Integer, Set<String>> m = traced(() -> assertThat(run(g, v -> {
                if (v == 1) cpu.injectMachineCheck(kvmkmod.hw.soft.SoftCpu.MachineCheck.IN_GUEST);
            })).isZero());
            assertThat(g.run.exit_reason()).as("outs %s", g.outs).isEqualTo(KVM_EXIT_HLT);
            assertThat(g.outs).containsExactly(1L, 2L);
            ran(m, EXIT_REASON_EXCEPTION_NMI, "handle_exception");
            assertThat(lastTrace.callsOf("handle_exception").stream().anyMatch(c -> c.childNames().contains("handle_machine_check")))
                    .as("handle_exception → handle_machine_check").isTrue();
        }
    }

    /**
     * A machine check during VM entry fails the entry with reason 41 and bit 31 set. 2.6.33 compares the
     * whole exit reason with 41 (vmx.c:3578) and indexes its table with it (vmx.c:3544), so with bit 31
     * set neither matches: userspace gets KVM_EXIT_UNKNOWN with the raw reason, and the table's slot 41 is
     * never used.
     */
    @Test
    void a_machine_check_during_entry_reaches_userspace_as_an_unknown_exit() {
        try (Guest g = new Guest(String.join("\n", ".code16", "_start:", "  mov eax, 1", OUT, "  hlt"))) {
            kvmkmod.hw.soft.SoftCpu cpu = softCpu(g);
            Map<Integer, Set<String>> m = traced(() -> assertThat(
                    run(g, v -> cpu.injectMachineCheck(kvmkmod.hw.soft.SoftCpu.MachineCheck.DURING_ENTRY))).isZero());
            assertThat(g.outs).containsExactly(1L);
            int failed = (int) (0x80000000L | EXIT_REASON_MCE_DURING_VMENTRY);
            assertThat(m).containsKey(failed);
            assertThat(m.get(failed)).as("no handler of the table runs").noneMatch(f -> f.startsWith("handle_"));
            assertThat(g.run.exit_reason()).isEqualTo(KVM_EXIT_UNKNOWN);
            assertThat(g.run.hw.hardware_exit_reason()).isEqualTo(0x80000000L | EXIT_REASON_MCE_DURING_VMENTRY);
            assertThat(g.s.vmm.p.ioctl(g.s.vcpufd, KVM_RUN, 0)).isZero();
            assertThat(g.run.exit_reason()).as("the next entry runs the guest on").isEqualTo(KVM_EXIT_HLT);
        }
    }

    // ---- invalid guest state ----

    /**
     * emulate_invalid_guest_state=1 without unrestricted guest: after the reset (CS base 0xffff0000 is not
     * a real-mode base) and after the switch to protected mode the guest state is one VMX cannot enter,
     * so vmx_handle_exit goes to handle_invalid_guest_state, which emulates until it is valid again.
     */
    @Test
    void invalid_guest_state_is_emulated() {
        KvmIntel.Params p = new KvmIntel.Params();
        p.emulate_invalid_guest_state = true;
        p.enable_unrestricted_guest = false;
        String asm = TO_PROTECTED + String.join("\n",
                "  mov eax, 0x42",
                OUT,
                "  hlt")
                + gdt();
        try (Guest g = new Guest(asm, p)) {
            Map<Integer, Set<String>> m = traced(() -> assertThat(run(g, v -> {})).isZero());
            assertThat(g.run.exit_reason()).as("outs %s", g.outs).isEqualTo(KVM_EXIT_HLT);
            assertThat(g.outs).containsExactly(0x42L);
            assertThat(m.values().stream().anyMatch(fns -> fns.contains("handle_invalid_guest_state"))).as("%s", m).isTrue();
        }
    }
    // ---- the table against what ran ----

    /**
     * Slots no guest can reach here, each with why:
     * <ul>
     * <li>MCE_DURING_VMENTRY: a machine check while the processor loads guest state fails the entry with
     * reason 41 and bit 31 set (SDM 26.8). 2.6.33 compares and indexes the unmasked reason (vmx.c:3544,
     * vmx.c:3578), so slot 41 is never used: the injected case goes to userspace as KVM_EXIT_UNKNOWN
     * ({@link #a_machine_check_during_entry_reaches_userspace_as_an_unknown_exit}), and handle_machine_check
     * runs only through handle_exception's #MC path
     * ({@link #a_machine_check_in_the_guest_goes_to_handle_machine_check}).
     * <li>TPR_BELOW_THRESHOLD: needs the TPR shadow, which vmx_vcpu_setup clears from the
     * processor-based controls unless vm_need_tpr_shadow (vmx.c:263-265: cpu_has_vmx_tpr_shadow and
     * irqchip_in_kernel; cleared at vmx.c:2300-2301). There is no in-kernel irqchip here
     * (X86.irqchip_in_kernel, irq.h's), so the TPR threshold is never armed.
     * <li>APIC_ACCESS: needs "virtualize APIC accesses", which vmx_vcpu_setup clears unless
     * vm_need_virtualize_apic_accesses (vmx.c:339-343, also irqchip_in_kernel; cleared at vmx.c:2315-2317),
     * and vmx_create_vcpu maps the APIC-access page only then (vmx.c:3896-3897). A guest touching
     * 0xfee00000 gets an EPT violation and MMIO instead
     * ({@link #the_apic_page_is_mmio_through_an_ept_violation}).
     * </ul>
     */
    static final Map<Integer, String> UNREACHABLE = Map.of(
            EXIT_REASON_MCE_DURING_VMENTRY, "the entry failure carries bit 31, which 2.6.33 neither masks nor checks: KVM_EXIT_UNKNOWN "
                    + "(a_machine_check_during_entry_reaches_userspace_as_an_unknown_exit; vmx.c:3544, vmx.c:3578)",
            EXIT_REASON_TPR_BELOW_THRESHOLD, "no TPR shadow without an in-kernel irqchip (vmx.c:263, vmx.c:2300)",
            EXIT_REASON_APIC_ACCESS, "no APIC-access virtualization without an in-kernel irqchip (vmx.c:339, vmx.c:2315, vmx.c:3896)");

    /**
     * The reasons whose handlers ran in this class's guests are exactly the 33 rows of
     * vmx_exit_handlers.tsv less {@link #UNREACHABLE}, and for each the handler the row names was
     * called by vmx_handle_exit.
     */
    @Test
    @Order(Integer.MAX_VALUE)
    void every_reachable_slot_of_the_table_was_driven() throws IOException {
        long guests = java.util.Arrays.stream(getClass().getDeclaredMethods()).filter(mt -> mt.isAnnotationPresent(Test.class)).count() - 1;
        if (TRACED_RUNS.get() < guests) {
            String why = "skipped: only " + TRACED_RUNS.get() + " of the " + guests + " guests of this class ran (a filtered run)";
            System.out.println(why);
            org.junit.jupiter.api.Assumptions.abort(why);
        }
        List<String> rows = Files.readAllLines(ReferenceFiles.of("vmx_exit_handlers.tsv"));
        Map<Integer, String> table = new TreeMap<>();
        for (String row : rows.subList(1, rows.size())) {
            String[] f = row.split("\t");
            table.put(Integer.parseInt(f[1]), f[2]);
        }
        assertThat(table).hasSize(33);
        assertThat(table).containsKeys(UNREACHABLE.keySet().toArray(new Integer[0]));
        Set<Integer> expected = new TreeSet<>(table.keySet());
        expected.removeAll(UNREACHABLE.keySet());
        Set<Integer> driven = new TreeSet<>(SEEN.keySet());
        driven.retainAll(table.keySet());
        assertThat(driven).as("exit reasons driven in this class").isEqualTo(expected);
        for (int r : expected) assertThat(SEEN.get(r)).as("reason %d", r).contains(table.get(r));
        // an entry failure (bit 31, a negative int) is no slot: 2.6.33 sends it to userspace unhandled
        assertThat(SEEN.keySet().stream().filter(r -> r >= 0).toList()).as("no reason outside the table").isSubsetOf(table.keySet());
    }
}
