package kvmkmod.hw.soft;

import kvmkmod.hw.HostMemory;
import kvmkmod.hw.VmxCapabilities;
import kvmkmod.hw.VmxCpu;

import static kvmkmod.hw.VmxArch.*;

/**
 * Interpreter speed: a real-mode guest under unrestricted guest and EPT runs
 * {@code add ebx,eax; inc eax; dec ecx; jnz} (operand-size-prefixed 32-bit operations) 100 million
 * times and halts. Prints millions of guest instructions per second.
 *
 * <p>Run: {@code java -cp native/target/classes:$(jna jar) kvmkmod.hw.soft.SoftCpuBench [iterations]}
 */
public final class SoftCpuBench {
    private SoftCpuBench() {}

    public static void main(String[] args) {
        long iterations = args.length > 0 ? Long.parseLong(args[0]) : 100_000_000L;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        try (HostMemory mem = new HostMemory(64L << 20)) {
            VmxCapabilities caps = VmxCapabilities.westmere();
            SoftCpu cpu = (SoftCpu) SoftCpu.create(0, mem, caps);
            Guest g = new Guest(mem, cpu, caps);
            g.run(Math.min(iterations, 20_000_000L)); // warm-up: let the JIT compile the loop
            double best = 0;
            java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
            for (int r = 0; r < rounds; r++) {
                long before = cpu.instructionsRetired();
                long c0 = threads.getCurrentThreadCpuTime();
                long t0 = System.nanoTime();
                long ebx = g.run(iterations);
                long ns = System.nanoTime() - t0;
                long cpuNs = threads.getCurrentThreadCpuTime() - c0;
                long n = cpu.instructionsRetired() - before;
                System.out.printf("%d guest instructions in %.3f s wall (%.1f MIPS), %.3f s CPU (%.1f MIPS per CPU second) ebx=%#x%n",
                        n, ns / 1e9, n * 1e3 / ns, cpuNs / 1e9, n * 1e3 / cpuNs, ebx);
                best = Math.max(best, n * 1e3 / cpuNs);
            }
            System.out.printf("best of %d: %.1f MIPS per CPU second%n", rounds, best);
            // VM exit round trips: OUT to a port that exits, the "hypervisor" skips it and resumes
            for (int r = 0; r < rounds; r++) {
                int exits = 1_000_000;
                long c0 = threads.getCurrentThreadCpuTime();
                g.exitLoop(exits);
                long cpuNs = threads.getCurrentThreadCpuTime() - c0;
                System.out.printf("%d I/O exits + VMRESUMEs: %.0f ns each (CPU)%n", exits, (double) cpuNs / exits);
            }
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
                    pt = mem.allocPages(4096);
            ram = mem.mmap(1 << 20);
            vmcs = vmcsR.hpa;
            cpu.wrmsr(MSR_IA32_FEATURE_CONTROL, FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMXON_ENABLED);
            cpu.write_cr4(cpu.read_cr4() | 0x2000);
            mem.write32(vmxon.hpa, VmxCapabilities.VMCS_REVISION_ID);
            mem.write32(vmcs, VmxCapabilities.VMCS_REVISION_ID);
            check(cpu.vmxon(vmxon.hpa), "vmxon");
            // EPT: identity-ish map of 1 MiB of guest RAM (gpa x -> ram.hpa + x), WB, RWX
            mem.write64(pml4.hpa, pdpt.hpa | 7);
            mem.write64(pdpt.hpa, pd.hpa | 7);
            mem.write64(pd.hpa, pt.hpa | 7);
            for (long gpa = 0; gpa < (1 << 20); gpa += 4096)
                mem.write64(pt.hpa + (gpa >>> 12) * 8, (ram.hpa + gpa) | 7 | (6 << 3));
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
        }

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
