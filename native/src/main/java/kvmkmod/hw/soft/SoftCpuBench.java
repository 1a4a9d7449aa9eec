package kvmkmod.hw.soft;

import kvmkmod.hw.HostMemory;
import kvmkmod.hw.VmxCapabilities;
import kvmkmod.hw.VmxCpu;

import static kvmkmod.hw.VmxArch.*;

/**
 * Interpreter speed, in millions of guest instructions per CPU second of the thread running the guest:
 * <ol type="a">
 *   <li>the register loop {@code add ebx,eax; inc eax; dec ecx; jnz} (operand-size-prefixed 32-bit operations)
 *       in a real-mode guest under unrestricted guest and EPT, the loop Bochs is timed on by
 *       {@code native/bench/bochs-compare.sh};</li>
 *   <li>a memory- and paging-heavy loop: a 64-bit guest with 4-level paging, under EPT with 4-KiB pages,
 *       loading and storing at a stride of a page and a cache line across 8 MiB (2048 pages, far more than
 *       the processor's 256-entry TLB holds), so guest page walks and EPT walks count;</li>
 * </ol>
 * and the round trip of a raw VM exit (OUT, handled by this class as a minimal hypervisor, VMRESUME). The
 * exit-heavy loop through the whole stack (VMM, KVM, vmx.c, this processor) is (c) of
 * {@code kvm-run bench --cpu} in the vmm module, which also prints (a) and (b) from here.
 *
 * <p>Run: {@code java -cp native/target/classes:$(jna jar) kvmkmod.hw.soft.SoftCpuBench [iterations [rounds]]};
 * {@code -Dkvmkmod.soft.decodeCache=false} measures the interpreter without its decoded-instruction cache.
 */
public final class SoftCpuBench {
    private SoftCpuBench() {}

    /** Guest instructions per iteration of the paging loop. */
    static final int PAGING_LOOP_LENGTH = 7;

    public static void main(String[] args) {
        long iterations = args.length > 0 ? Long.parseLong(args[0]) : 100_000_000L;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        System.out.printf("(a) register loop: best of %d: %.1f MIPS per CPU second%n", rounds,
                registerLoop(iterations, rounds, System.out));
        System.out.printf("(b) paging loop: best of %d: %.1f MIPS per CPU second%n", rounds,
                pagingLoop(iterations / 10, rounds, System.out));
        exitRoundTrips(1_000_000, rounds, System.out);
    }

    /** (a): the best of {@code rounds} runs of {@code iterations} rounds of the register loop, in MIPS per CPU second. */
    public static double registerLoop(long iterations, int rounds, java.io.PrintStream log) {
        return best(rounds, log, (g, warmup) -> g.run(warmup ? Math.min(iterations, 20_000_000L) : iterations));
    }

    /** (b): as {@link #registerLoop} for the paging loop. */
    public static double pagingLoop(long iterations, int rounds, java.io.PrintStream log) {
        return best(rounds, log, (g, warmup) -> g.runPaging(warmup ? Math.min(iterations, 2_000_000L) : iterations));
    }

    /** Raw VM exit round trips: OUT to a port that exits, the "hypervisor" skips it and resumes. */
    public static void exitRoundTrips(int exits, int rounds, java.io.PrintStream log) {
        try (HostMemory mem = new HostMemory(64L << 20)) {
            VmxCapabilities caps = VmxCapabilities.westmere();
            Guest g = new Guest(mem, (SoftCpu) SoftCpu.create(0, mem, caps), caps);
            java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
            for (int r = 0; r < rounds; r++) {
                long c0 = threads.getCurrentThreadCpuTime();
                g.exitLoop(exits);
                long cpuNs = threads.getCurrentThreadCpuTime() - c0;
                log.printf("%d I/O exits + VMRESUMEs: %.0f ns each (CPU)%n", exits, (double) cpuNs / exits);
            }
        }
    }

    private interface Workload { long run(Guest g, boolean warmup); }

    private static double best(int rounds, java.io.PrintStream log, Workload w) {
        try (HostMemory mem = new HostMemory(64L << 20)) {
            VmxCapabilities caps = VmxCapabilities.westmere();
            SoftCpu cpu = (SoftCpu) SoftCpu.create(0, mem, caps);
            Guest g = new Guest(mem, cpu, caps);
            w.run(g, true); // warm-up: let the JIT compile the loop
            double best = 0;
            java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
            for (int r = 0; r < rounds; r++) {
                long before = cpu.instructionsRetired();
                long c0 = threads.getCurrentThreadCpuTime();
                long t0 = System.nanoTime();
                long result = w.run(g, false);
                long ns = System.nanoTime() - t0;
                long cpuNs = threads.getCurrentThreadCpuTime() - c0;
                long n = cpu.instructionsRetired() - before;
                log.printf("%d guest instructions in %.3f s wall (%.1f MIPS), %.3f s CPU (%.1f MIPS per CPU second) result=%#x%n",
                        n, ns / 1e9, n * 1e3 / ns, cpuNs / 1e9, n * 1e3 / cpuNs, result);
                best = Math.max(best, n * 1e3 / cpuNs);
            }
            return best;
        }
    }

    /** A one-vCPU "hypervisor" that builds its VMCS by hand. */
    static final class Guest {
        final HostMemory mem;
        final SoftCpu cpu;
        final long vmcs;
        final HostMemory.Region ram;

        Guest(HostMemory mem, SoftCpu cpu, VmxCapabilities caps) {
            this.mem = mem;
            this.cpu = cpu;
            HostMemory.Region vmxon = mem.allocPages(4096), vmcsR = mem.allocPages(4096);
            HostMemory.Region pml4 = mem.allocPages(4096), pdpt = mem.allocPages(4096), pd = mem.allocPages(4096),
                    pt = mem.allocPages(4096 * (RAM_SIZE >> 21));
            ram = mem.mmap(RAM_SIZE);
            vmcs = vmcsR.hpa;
            cpu.wrmsr(MSR_IA32_FEATURE_CONTROL, FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMXON_ENABLED);
            cpu.write_cr4(cpu.read_cr4() | 0x2000);
            mem.write32(vmxon.hpa, VmxCapabilities.VMCS_REVISION_ID);
            mem.write32(vmcs, VmxCapabilities.VMCS_REVISION_ID);
            check(cpu.vmxon(vmxon.hpa), "vmxon");
            // EPT: guest RAM at gpa x -> ram.hpa + x in 4-KiB pages, WB, RWX
            mem.write64(pml4.hpa, pdpt.hpa | 7);
            mem.write64(pdpt.hpa, pd.hpa | 7);
            for (int k = 0; k < RAM_SIZE >> 21; k++) mem.write64(pd.hpa + 8L * k, (pt.hpa + 4096L * k) | 7);
            for (long gpa = 0; gpa < RAM_SIZE; gpa += 4096)
                mem.write64(pt.hpa + (gpa >>> 12) * 8, (ram.hpa + gpa) | 7 | (6 << 3));
            // the guest's own 4-level tables at gpa 0x10000: PML4, PDPT, PD, then 4-KiB page tables, identity
            ram.buf.putLong(GUEST_PML4, (GUEST_PML4 + 0x1000) | 3);
            ram.buf.putLong(GUEST_PML4 + 0x1000, (GUEST_PML4 + 0x2000) | 3);
            for (int k = 0; k < RAM_SIZE >> 21; k++)
                ram.buf.putLong(GUEST_PML4 + 0x2000 + 8 * k, (GUEST_PML4 + 0x3000 + 0x1000L * k) | 3);
            for (long gpa = 0; gpa < RAM_SIZE; gpa += 4096)
                ram.buf.putLong((int) (GUEST_PML4 + 0x3000 + (gpa >>> 12) * 8), gpa | 3);
            this.eptp = pml4.hpa | 6 | (3 << 3);
            this.caps = caps;
            // the loop at 0x1000
            int[] code = {
                    0x66, 0x31, 0xc0,       // xor eax, eax
                    0x66, 0x31, 0xdb,       // xor ebx, ebx
                    0x66, 0x01, 0xc3,       // l: add ebx, eax
                    0x66, 0x40,             // inc eax
                    0x66, 0x49,             // dec ecx
                    0x75, 0xf7,             // jnz l
                    0xf4};                  // hlt
            for (int i = 0; i < code.length; i++) ram.buf.put(0x1000 + i, (byte) code[i]);
            // the paging loop at 0x3000 (64-bit code): 8 MiB of data at 8 MiB, a page and a cache line apart
            int[] paging = {
                    0x48, 0xbf, 0, 0, 0x80, 0, 0, 0, 0, 0,  // mov rdi, 0x800000
                    0x31, 0xf6,                             // xor esi, esi
                    0x48, 0x8b, 0x04, 0x37,                 // l: mov rax, [rdi+rsi]
                    0x48, 0x01, 0xc8,                       // add rax, rcx
                    0x48, 0x89, 0x44, 0x37, 0x08,           // mov [rdi+rsi+8], rax
                    0x81, 0xc6, 0x40, 0x10, 0, 0,           // add esi, 4096 + 64
                    0x81, 0xe6, 0xff, 0xff, 0x7f, 0,        // and esi, 0x7fffff
                    0x48, 0xff, 0xc9,                       // dec rcx
                    0x75, 0xe3,                             // jnz l
                    0xf4};                                  // hlt
            for (int i = 0; i < paging.length; i++) ram.buf.put(0x3000 + i, (byte) paging[i]);
        }

        static final int RAM_SIZE = 16 << 20;
        static final int GUEST_PML4 = 0x10000;

        private final long eptp;
        private final VmxCapabilities caps;

        private static int adjust(VmxCapabilities caps, int min, int opt, int msr) {
            long v = caps.rdmsr(msr);
            return ((min | opt) & (int) (v >>> 32)) | (int) v;
        }

        /** Runs the loop {@code iterations} times from a freshly cleared VMCS; returns the guest's EBX. */
        long run(long iterations) {
            setup(0x1000);
            cpu.regs()[VmxCpu.RCX] = iterations;
            check(cpu.vmlaunch(), "vmlaunch");
            long reason = cpu.vmread(VM_EXIT_REASON);
            if (reason != EXIT_REASON_HLT)
                throw new IllegalStateException("expected a HLT exit, got " + reason + " " + cpu.lastEntryFailure());
            return cpu.regs()[VmxCpu.RBX];
        }

        /** Runs the paging loop {@code iterations} times in 64-bit mode; returns the guest's last RAX. */
        long runPaging(long iterations) {
            setup(0x3000);
            w(VM_ENTRY_CONTROLS, adjust(caps, VM_ENTRY_IA32E_MODE, 0, MSR_IA32_VMX_ENTRY_CTLS));
            w(GUEST_CR0, 0x80010031L);            // PG, WP, NE, ET, PE
            w(GUEST_CR4, 0x2020);                 // VMXE, PAE
            w(GUEST_CR3, GUEST_PML4);
            w(GUEST_CS_SELECTOR, 8);
            w(GUEST_CS_LIMIT, 0xffffffffL);
            w(GUEST_CS_AR_BYTES, 0xa09b);         // 64-bit code
            for (int k : new int[]{0, 2, 3, 4, 5}) {
                w(GUEST_ES_SELECTOR + 2 * k, 0x10);
                w(GUEST_ES_LIMIT + 2 * k, 0xffffffffL);
                w(GUEST_ES_AR_BYTES + 2 * k, 0xc093);
            }
            w(GUEST_TR_LIMIT, 0x67);
            cpu.regs()[VmxCpu.RCX] = iterations;
            check(cpu.vmlaunch(), "vmlaunch");
            long reason = cpu.vmread(VM_EXIT_REASON);
            if (reason != EXIT_REASON_HLT)
                throw new IllegalStateException("expected a HLT exit, got " + reason + " " + cpu.lastEntryFailure() + " " + cpu.lastExitNote());
            return cpu.regs()[VmxCpu.RAX];
        }

        /** A freshly cleared, current VMCS for a real-mode guest starting at {@code rip}. */
        private void setup(long rip) {
            check(cpu.vmclear(vmcs), "vmclear");
            check(cpu.vmptrld(vmcs), "vmptrld");
            w(PIN_BASED_VM_EXEC_CONTROL, adjust(caps, PIN_BASED_EXT_INTR_MASK | PIN_BASED_NMI_EXITING, 0, MSR_IA32_VMX_PINBASED_CTLS));
            w(CPU_BASED_VM_EXEC_CONTROL, adjust(caps, CPU_BASED_HLT_EXITING | CPU_BASED_UNCOND_IO_EXITING,
                    CPU_BASED_ACTIVATE_SECONDARY_CONTROLS, MSR_IA32_VMX_PROCBASED_CTLS));
            w(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_UNRESTRICTED_GUEST);
            w(VM_EXIT_CONTROLS, adjust(caps, VM_EXIT_HOST_ADDR_SPACE_SIZE, 0, MSR_IA32_VMX_EXIT_CTLS));
            w(VM_ENTRY_CONTROLS, adjust(caps, 0, 0, MSR_IA32_VMX_ENTRY_CTLS));
            w(EPT_POINTER, eptp);
            w(VMCS_LINK_POINTER, -1L);
            w(CR0_GUEST_HOST_MASK, ~0L);
            w(CR0_READ_SHADOW, 0x60000010L);
            w(HOST_CR0, 0x80050033L);
            w(HOST_CR4, cpu.read_cr4());
            w(HOST_CS_SELECTOR, 0x10);
            w(HOST_SS_SELECTOR, 0x18);
            w(HOST_DS_SELECTOR, 0x18);
            w(HOST_ES_SELECTOR, 0x18);
            w(HOST_TR_SELECTOR, 0x40);
            w(HOST_RIP, 0xffffffff81000000L);
            for (int k = 0; k < 6; k++) {
                w(GUEST_ES_SELECTOR + 2 * k, 0);
                w(GUEST_ES_BASE + 2 * k, 0);
                w(GUEST_ES_LIMIT + 2 * k, 0xffff);
                w(GUEST_ES_AR_BYTES + 2 * k, k == 1 ? 0x9b : 0x93);
            }
            w(GUEST_TR_LIMIT, 0xffff);
            w(GUEST_TR_AR_BYTES, 0x8b);
            w(GUEST_LDTR_LIMIT, 0xffff);
            w(GUEST_LDTR_AR_BYTES, 0x82);
            w(GUEST_GDTR_LIMIT, 0xffff);
            w(GUEST_IDTR_LIMIT, 0x3ff);
            w(GUEST_CR0, 0x60000030L);
            w(GUEST_CR4, 0x2000);
            w(GUEST_DR7, 0x400);
            w(GUEST_RFLAGS, 2);
            w(GUEST_RIP, rip);
            w(GUEST_RSP, 0x8000);
        }

        /** Runs {@code out 0x10, al; jmp $-2} taking and resuming {@code n} I/O exits. */
        void exitLoop(int n) {
            ram.buf.put(0x2000, (byte) 0xe6);
            ram.buf.put(0x2001, (byte) 0x10);
            ram.buf.put(0x2002, (byte) 0xeb);
            ram.buf.put(0x2003, (byte) 0xfc);
            setup(0x2000);
            check(cpu.vmlaunch(), "vmlaunch");
            for (int i = 1; i < n; i++) {
                if (cpu.vmread(VM_EXIT_REASON) != EXIT_REASON_IO_INSTRUCTION) throw new IllegalStateException("expected an I/O exit");
                w(GUEST_RIP, cpu.vmread(GUEST_RIP) + cpu.vmread(VM_EXIT_INSTRUCTION_LEN));
                check(cpu.vmresume(), "vmresume");
            }
        }

        private void w(int f, long v) { check(cpu.vmwrite(f, v), "vmwrite " + Integer.toHexString(f)); }

        private static void check(int status, String what) {
            if (status != VmxCpu.VM_SUCCEED) throw new IllegalStateException(what + " failed with status " + status);
        }
    }
}
