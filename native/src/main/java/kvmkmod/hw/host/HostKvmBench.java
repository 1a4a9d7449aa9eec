package kvmkmod.hw.host;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import kvmkmod.hw.HostMemory;
import kvmkmod.hw.VmxCapabilities;
import kvmkmod.hw.VmxCpu;

import java.nio.ByteBuffer;

import static kvmkmod.hw.VmxArch.*;
import static kvmkmod.hw.host.HostKvm.*;

/**
 * Exit-rate benchmark of the host backend, on the real-mode guest {@code out dx,al; jmp $-3}
 * (bytes EE EB FD at guest-physical 0): every iteration is one KVM_EXIT_IO.
 *
 * <pre>
 *   java -cp native/target/classes:jna.jar kvmkmod.hw.host.HostKvmBench [N=200000] [bare|sync|vmx|all]
 * </pre>
 * <ul>
 *   <li>bare: nothing but JNA direct calls: KVM_RUN in a loop (kvm_valid_regs = 0);</li>
 *   <li>sync: the same loop with kvm_valid_regs = REGS|SREGS|EVENTS, as HostCpu runs it;</li>
 *   <li>vmx: through HostCpu: VMLAUNCH, then per exit the hypervisor's work (read the exit reason, step
 *       RIP over the OUT as skip_emulated_instruction does) and VMRESUME.</li>
 * </ul>
 * Each mode warms up first (N/5 exits, at least 20000), then times N exits.
 */
public final class HostKvmBench {
    private HostKvmBench() {}

    public static void main(String[] args) {
        if (!HostKvm.usable()) {
            System.out.println("host /dev/kvm not usable: " + HostKvm.whyNotUsable());
            return;
        }
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 200000;
        String mode = args.length > 1 ? args[1] : "all";
        int warm = Math.max(20000, n / 5);
        if (mode.equals("bare") || mode.equals("all")) report("bare JNA KVM_RUN loop", bare(warm, n, 0), n);
        if (mode.equals("sync") || mode.equals("all"))
            report("JNA loop, sync regs valid", bare(warm, n, KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS | KVM_SYNC_X86_EVENTS), n);
        if (mode.equals("vmx") || mode.equals("all")) report("HostCpu VMRESUME loop", vmx(warm, n), n);
    }

    private static final java.lang.management.ThreadMXBean THREADS = java.lang.management.ManagementFactory.getThreadMXBean();
    /** CPU time (user + system, host-kernel emulation included) of the timed part of the last run. */
    private static long cpuNanos;

    private static long cpuNow() { return THREADS.getCurrentThreadCpuTime(); }

    /** Bytes allocated by this thread during the timed part of the last run. */
    private static long allocBytes;

    private static long allocNow() {
        return THREADS instanceof com.sun.management.ThreadMXBean
                ? ((com.sun.management.ThreadMXBean) THREADS).getThreadAllocatedBytes(Thread.currentThread().getId()) : 0;
    }

    private static void report(String what, long nanos, int n) {
        double us = nanos / 1000.0 / n, cpu = cpuNanos / 1000.0 / n;
        System.out.printf("%-28s %,10d exits  %8.3f us/exit  %,10.0f exits/s   (thread CPU %.3f us/exit, %.2f bytes allocated/exit)%n",
                what, n, us, 1e6 / us, cpu, (double) allocBytes / n);
    }

    /** The bare loop; returns the nanoseconds of the timed part. */
    static long bare(int warm, int n, int validRegs) {
        int vm = HostKvm.createVm();
        Memory ram = new Memory(2 * 4096);
        Pointer page = ram.align(4096);
        page.setMemory(0, 4096, (byte) 0);
        page.setByte(0, (byte) 0xee);           // out dx,al
        page.setByte(1, (byte) 0xeb);           // jmp $-3
        page.setByte(2, (byte) 0xfd);
        Memory scratch = new Memory(SIZEOF_KVM_SREGS);
        HostKvm.setUserMemoryRegion(vm, scratch, 0, 0, 0, 4096, Pointer.nativeValue(page));
        int vcpu = HostKvm.createVcpu(vm, 0);
        long runVa = HostKvm.mapRun(vcpu);
        ByteBuffer run = HostKvm.runBuffer(runVa);
        LibC.ioctl(vcpu, KVM_GET_SREGS, Pointer.nativeValue(scratch));
        scratch.setLong(SREGS_CS + SEG_BASE, 0);
        scratch.setShort(SREGS_CS + SEG_SELECTOR, (short) 0);
        LibC.ioctl(vcpu, KVM_SET_SREGS, Pointer.nativeValue(scratch));
        Memory regs = new Memory(SIZEOF_KVM_REGS);
        regs.setMemory(0, SIZEOF_KVM_REGS, (byte) 0);
        regs.setLong(REGS_RFLAGS, 2);
        regs.setLong(REGS_RDX, 0x3f8);
        LibC.ioctl(vcpu, KVM_SET_REGS, Pointer.nativeValue(regs));
        run.putLong(RUN_VALID_REGS, validRegs);
        try {
            for (int i = 0; i < warm; i++) LibC.ioctl(vcpu, KVM_RUN, 0);
            long a0 = allocNow(), c0 = cpuNow(), t0 = System.nanoTime();
            for (int i = 0; i < n; i++) LibC.ioctl(vcpu, KVM_RUN, 0);
            long t = System.nanoTime() - t0;
            cpuNanos = cpuNow() - c0;
            allocBytes = allocNow() - a0;
            if (run.getInt(RUN_EXIT_REASON) != KVM_EXIT_IO) throw new IllegalStateException("unexpected exit " + run.getInt(RUN_EXIT_REASON));
            return t;
        } finally {
            LibC.munmap(runVa, HostKvm.vcpuMmapSize());
            LibC.close(vcpu);
            LibC.close(vm);
            ram.close();
            scratch.close();
            regs.close();
        }
    }

    /** The same guest under HostCpu with a hand-built VMCS. */
    static long vmx(int warm, int n) {
        try (HostMemory mem = new HostMemory(16L << 20)) {
            HostCpu cpu = (HostCpu) HostCpu.create(0, mem, VmxCapabilities.westmere());
            try {
                long vmcs = buildRealModeVmcs(cpu, mem);
                HostMemory.Region ram = mem.regionAtHpa(Vmcsish.ramHpa);
                ram.buf.put(0, (byte) 0xee).put(1, (byte) 0xeb).put(2, (byte) 0xfd);
                cpu.regs()[VmxCpu.RDX] = 0x3f8;
                check(cpu.vmlaunch(), cpu, "vmlaunch");
                for (int i = 0; i < warm; i++) step(cpu);
                long a0 = allocNow(), c0 = cpuNow(), t0 = System.nanoTime();
                for (int i = 0; i < n; i++) step(cpu);
                long t = System.nanoTime() - t0;
                cpuNanos = cpuNow() - c0;
            allocBytes = allocNow() - a0;
                if (cpu.completions != 0) System.out.println("  (slow-path completions: " + cpu.completions + ")");
                return t;
            } finally {
                cpu.close();
            }
        }
    }

    private static void step(HostCpu cpu) {
        // handle_io for an OUT: skip_emulated_instruction, then (data already taken) resume
        if (cpu.vmread(VM_EXIT_REASON) != EXIT_REASON_IO_INSTRUCTION)
            throw new IllegalStateException("exit reason " + cpu.vmread(VM_EXIT_REASON));
        cpu.vmwrite(GUEST_RIP, cpu.vmread(GUEST_RIP) + cpu.vmread(VM_EXIT_INSTRUCTION_LEN));
        if (cpu.vmresume() != VmxCpu.VM_SUCCEED) throw new IllegalStateException("vmresume failed");
    }

    private static void check(int status, VmxCpu cpu, String what) {
        if (status != VmxCpu.VM_SUCCEED) throw new IllegalStateException(what + " failed: " + status);
        if (cpu.vmread(VM_EXIT_REASON) < 0) throw new IllegalStateException(what + ": VM-entry failure");
    }

    private static final class Vmcsish { static long ramHpa; }

    /** VMXON, a VMCS with EPT mapping one page of guest RAM at 0, real-mode guest state at RIP 0. */
    static long buildRealModeVmcs(VmxCpu cpu, HostMemory mem) {
        cpu.write_cr4(cpu.read_cr4() | (1 << 13));
        cpu.wrmsr(MSR_IA32_FEATURE_CONTROL, FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMXON_ENABLED);
        HostMemory.Region vmxon = mem.allocPages(4096), vmcs = mem.allocPages(4096);
        vmxon.buf.putInt(0, VmxCapabilities.VMCS_REVISION_ID);
        vmcs.buf.putInt(0, VmxCapabilities.VMCS_REVISION_ID);
        HostMemory.Region ram = mem.mmap(4096);
        Vmcsish.ramHpa = ram.hpa;
        HostMemory.Region pml4 = mem.allocPages(4096), pdpt = mem.allocPages(4096), pd = mem.allocPages(4096), pt = mem.allocPages(4096);
        pml4.buf.putLong(0, pdpt.hpa | 7);
        pdpt.buf.putLong(0, pd.hpa | 7);
        pd.buf.putLong(0, pt.hpa | 7);
        pt.buf.putLong(0, ram.hpa | 7 | (6 << 3));
        cpu.vmxon(vmxon.hpa);
        cpu.vmclear(vmcs.hpa);
        cpu.vmptrld(vmcs.hpa);
        cpu.vmwrite(PIN_BASED_VM_EXEC_CONTROL, 0x16);
        cpu.vmwrite(CPU_BASED_VM_EXEC_CONTROL, 0x0401e172 | CPU_BASED_HLT_EXITING | CPU_BASED_UNCOND_IO_EXITING
                | CPU_BASED_ACTIVATE_SECONDARY_CONTROLS);
        cpu.vmwrite(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_UNRESTRICTED_GUEST);
        cpu.vmwrite(VM_EXIT_CONTROLS, 0x36dff | VM_EXIT_HOST_ADDR_SPACE_SIZE);
        cpu.vmwrite(VM_ENTRY_CONTROLS, 0x11ff);
        cpu.vmwrite(EPT_POINTER, pml4.hpa | (3 << 3) | 6);
        cpu.vmwrite(VMCS_LINK_POINTER, -1L);
        cpu.vmwrite(GUEST_CR0, 0x60000010L);
        cpu.vmwrite(GUEST_CR4, 0x2000);
        for (int i = 0; i < 6; i++) {
            cpu.vmwrite(GUEST_ES_LIMIT + 2 * i, 0xffff);
            cpu.vmwrite(GUEST_ES_AR_BYTES + 2 * i, i == 1 ? 0x9b : 0x93);
        }
        cpu.vmwrite(GUEST_LDTR_LIMIT, 0xffff); cpu.vmwrite(GUEST_LDTR_AR_BYTES, 0x82);
        cpu.vmwrite(GUEST_TR_LIMIT, 0xffff); cpu.vmwrite(GUEST_TR_AR_BYTES, 0x8b);
        cpu.vmwrite(GUEST_GDTR_LIMIT, 0xffff); cpu.vmwrite(GUEST_IDTR_LIMIT, 0x3ff);
        cpu.vmwrite(GUEST_RFLAGS, 2);
        cpu.vmwrite(GUEST_RIP, 0);
        return vmcs.hpa;
    }
}
