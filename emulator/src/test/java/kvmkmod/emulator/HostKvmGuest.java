package kvmkmod.emulator;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import kvmkmod.hw.HostMemory;
import kvmkmod.hw.host.LibC;
import kvmkmod.include.KvmRegs;
import kvmkmod.include.KvmSegment;
import kvmkmod.include.KvmSregs;
import kvmkmod.include.KvmUserspaceMemoryRegion;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import static kvmkmod.include.Kvm_h.*;

/**
 * A one-vCPU guest on the host's real /dev/kvm, for running single instructions on the real processor:
 * 2 MiB of RAM at guest-physical 0, code at {@link #CODE}, and page tables at 0x8000 for long mode.
 * Each {@link #run} sets the mode, registers and memory, enters the guest and expects a HLT exit.
 */
final class HostKvmGuest implements AutoCloseable {
    static final int RAM = 0x200000, CODE = 0x1000, PML4 = 0x8000;
    static final int KVM_EXIT_HLT_ = KVM_EXIT_HLT;

    private final int kvm, vm, vcpu;
    private final HostMemory host = new HostMemory();
    final HostMemory.Region ram;
    private final long runVa;
    private final long runSize;
    private final Memory arg = new Memory(512);
    private final ByteBuffer argBuf = arg.getByteBuffer(0, 512).order(ByteOrder.LITTLE_ENDIAN);

    /** Why /dev/kvm cannot be used here, or null when it can. */
    static String whyNotUsable() {
        if (LibC.loadError() != null) return "no JNA C library binding: " + LibC.loadError();
        int fd;
        try {
            fd = LibC.open(kvmkmod.hw.host.HostKvm.devicePath(), LibC.O_RDWR | LibC.O_CLOEXEC);
        } catch (LastErrorException e) {
            return "cannot open /dev/kvm read-write: errno " + e.getErrorCode();
        } catch (Throwable t) {
            return "cannot open /dev/kvm: " + t;
        }
        try {
            int v = LibC.ioctl(fd, KVM_GET_API_VERSION, 0);
            return v == 12 ? null : "KVM_GET_API_VERSION is " + v + ", not 12";
        } catch (LastErrorException e) {
            return "KVM_GET_API_VERSION failed: errno " + e.getErrorCode();
        } finally {
            LibC.close(fd);
        }
    }

    private static long req(int r) { return Integer.toUnsignedLong(r); }

    HostKvmGuest() {
        kvm = LibC.open(kvmkmod.hw.host.HostKvm.devicePath(), LibC.O_RDWR | LibC.O_CLOEXEC);
        vm = LibC.ioctl(kvm, req(KVM_CREATE_VM), 0);
        LibC.ioctl(vm, req(KVM_SET_TSS_ADDR), 0xfffbd000L);
        ram = host.mmap(RAM);
        KvmUserspaceMemoryRegion r = new KvmUserspaceMemoryRegion();
        r.slot = 0;
        r.guest_phys_addr = 0;
        r.memory_size = RAM;
        r.userspace_addr = ram.va;
        r.write(argBuf, 0);
        LibC.ioctl(vm, req(KVM_SET_USER_MEMORY_REGION), Pointer.nativeValue(arg));
        vcpu = LibC.ioctl(vm, req(KVM_CREATE_VCPU), 0);
        runSize = LibC.ioctl(kvm, req(KVM_GET_VCPU_MMAP_SIZE), 0);
        runVa = LibC.mmap(0, runSize, LibC.PROT_READ | LibC.PROT_WRITE, LibC.MAP_SHARED, vcpu, 0);
        // Identity map of the first 2 MiB with one large page, for long mode.
        ram.buf.putLong(PML4, (PML4 + 0x1000) | 3);
        ram.buf.putLong(PML4 + 0x1000, (PML4 + 0x2000) | 3);
        ram.buf.putLong(PML4 + 0x2000, 0x83);
    }

    /** The state after the HLT: GPRs in kvm_regs order plus rip and rflags, and the exit reason. */
    record Result(int exit_reason, KvmRegs regs) {}

    Result run(int mode, KvmRegs in) {
        LibC.ioctl(vcpu, req(KVM_GET_SREGS), Pointer.nativeValue(arg));
        KvmSregs s = new KvmSregs().read(argBuf, 0);
        KvmSegment[] data = {s.ds, s.es, s.fs, s.gs, s.ss};
        switch (mode) {
            case X86EmulateCtxt.X86EMUL_MODE_REAL -> {
                s.cr0 &= ~0x80000001L;
                s.efer = 0;
                for (KvmSegment g : new KvmSegment[] {s.cs, s.ds, s.es, s.fs, s.gs, s.ss}) {
                    g.base = 0;
                    g.selector = 0;
                    g.limit = 0xffff;
                    g.db = 0;
                    g.l = 0;
                    g.g = 0;
                }
                s.cs.type = 0xb;
            }
            case X86EmulateCtxt.X86EMUL_MODE_PROT32, X86EmulateCtxt.X86EMUL_MODE_PROT64 -> {
                boolean lm = mode == X86EmulateCtxt.X86EMUL_MODE_PROT64;
                flat(s.cs, 8, 0xb, lm ? 0 : 1, lm ? 1 : 0);
                for (KvmSegment g : data) flat(g, 0x10, 3, 1, 0);
                if (lm) {
                    s.cr3 = PML4;
                    s.cr4 |= 0x20;                  // PAE
                    s.efer = 0x500;                 // LME | LMA
                    s.cr0 = 0x80000011L;            // PG | ET | PE
                } else {
                    s.cr4 &= ~0x20L;
                    s.efer = 0;
                    s.cr0 = (s.cr0 & ~0x80000000L) | 0x11;
                }
            }
            default -> throw new IllegalArgumentException("mode " + mode);
        }
        s.write(argBuf, 0);
        LibC.ioctl(vcpu, req(KVM_SET_SREGS), Pointer.nativeValue(arg));
        in.write(argBuf, 0);
        LibC.ioctl(vcpu, req(KVM_SET_REGS), Pointer.nativeValue(arg));
        LibC.ioctl(vcpu, req(KVM_RUN), 0);
        ByteBuffer run = new Pointer(runVa).getByteBuffer(0, runSize).order(ByteOrder.LITTLE_ENDIAN);
        int exit = run.getInt(8);
        LibC.ioctl(vcpu, req(KVM_GET_REGS), Pointer.nativeValue(arg));
        return new Result(exit, new KvmRegs().read(argBuf, 0));
    }

    private static void flat(KvmSegment g, int sel, int type, int db, int l) {
        g.base = 0;
        g.limit = 0xffffffff;
        g.selector = sel;
        g.type = type;
        g.present = 1;
        g.dpl = 0;
        g.db = db;
        g.s = 1;
        g.l = l;
        g.g = 1;
        g.avl = 0;
        g.unusable = 0;
    }

    @Override public void close() {
        LibC.munmap(runVa, runSize);
        LibC.close(vcpu);
        LibC.close(vm);
        LibC.close(kvm);
        host.close();
    }
}
