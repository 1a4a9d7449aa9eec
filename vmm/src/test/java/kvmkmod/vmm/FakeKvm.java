package kvmkmod.vmm;

import kvmkmod.hw.HostMemory;
import kvmkmod.include.Errno;
import kvmkmod.include.File;
import kvmkmod.include.FileOperations;
import kvmkmod.include.Kernel;
import kvmkmod.include.KvmRegs;
import kvmkmod.include.KvmRun;
import kvmkmod.include.KvmSregs;
import kvmkmod.include.Vfs;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.Deque;

import static kvmkmod.include.Kvm_h.*;

/**
 * A test double of the KVM module for the {@link JavaSys} transport: it registers /dev/kvm in a
 * {@link Kernel} and answers the ioctls the VMM makes, reading and writing their structures in the
 * process's USER memory as copy_from_user/copy_to_user would. KVM_RUN does not run code: it plays a
 * script of exits. This tests the VMM's Java path (argument memory, the vCPU mapping, the eventfd) until
 * the real module can be loaded; it says nothing about KVM itself.
 */
final class FakeKvm implements AutoCloseable {
    /**
     * One step of the script: {@code kind} OUT, IN, KERNEL_OUT (an ioeventfd write), HLT, or SPIN (guest
     * code that never exits, left only when the thread is interrupted: -EINTR, as a signal would).
     */
    record Step(String kind, int port, int size, int value) {}

    final Deque<Step> script = new ArrayDeque<>();
    final KvmRegs regs = new KvmRegs();
    final KvmSregs sregs = new KvmSregs();
    long memSlotSize = -1, memSlotUserAddr = -1;
    int ioeventfdPort = -1;
    Vfs.EventFd ioeventfd;
    private final Kernel kernel;
    private HostMemory.Region runPage;
    private Vfs vfs;

    FakeKvm(Kernel kernel) {
        this.kernel = kernel;
        kernel.misc_register("/dev/kvm", () -> new File("kvm", this::dev_ioctl, null));
    }

    void attach(Vfs vfs) { this.vfs = vfs; }

    private ByteBuffer user(long va, int len) {
        HostMemory.Region r = kernel.platform.memory().regionAtVa(va, len);
        if (r == null || r.kind != HostMemory.Kind.USER) return null;
        return r.buf.slice((int) (va - r.va), len).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    }

    private long dev_ioctl(File f, int ioctl, long arg) {
        switch (ioctl) {
            case KVM_GET_API_VERSION: return KVM_API_VERSION;
            case KVM_CHECK_EXTENSION: return 0;
            case KVM_GET_VCPU_MMAP_SIZE: return 2 * 4096;
            case KVM_CREATE_VM: return vfs.anon_inode_getfd("kvm-vm", this::vm_ioctl, null);
            default: return -Errno.EINVAL;
        }
    }

    private long vm_ioctl(File f, int ioctl, long arg) {
        switch (ioctl) {
            case KVM_SET_USER_MEMORY_REGION: {
                ByteBuffer b = user(arg, 32);
                if (b == null) return -Errno.EFAULT;
                memSlotSize = b.getLong(16);
                memSlotUserAddr = b.getLong(24);
                return 0;
            }
            case KVM_CREATE_VCPU:
                return vfs.anon_inode_getfd("kvm-vcpu", new FileOperations() {
                    @Override public long unlocked_ioctl(File filp, int cmd, long a) { return vcpu_ioctl(cmd, a); }
                    @Override public long mmap(File filp, long length, long pgoff) {
                        if (runPage == null) runPage = kernel.platform.memory().mmap(2 * 4096);
                        return runPage.va;
                    }
                }, null);
            case KVM_IOEVENTFD: {
                ByteBuffer b = user(arg, 64);
                if (b == null) return -Errno.EFAULT;
                ioeventfd = vfs.eventfd_ctx_fdget(b.getInt(20));
                if (ioeventfd == null || (b.getInt(24) & 2) == 0) return -Errno.EINVAL;
                ioeventfdPort = (int) b.getLong(8);
                return 0;
            }
            default: return -Errno.ENOTTY;
        }
    }

    private long vcpu_ioctl(int cmd, long arg) {
        switch (cmd) {
            case KVM_GET_REGS: { ByteBuffer b = user(arg, KvmRegs.SIZE); if (b == null) return -Errno.EFAULT; regs.write(b, 0); return 0; }
            case KVM_SET_REGS: { ByteBuffer b = user(arg, KvmRegs.SIZE); if (b == null) return -Errno.EFAULT; regs.read(b, 0); return 0; }
            case KVM_GET_SREGS: { ByteBuffer b = user(arg, KvmSregs.SIZE); if (b == null) return -Errno.EFAULT; sregs.write(b, 0); return 0; }
            case KVM_SET_SREGS: { ByteBuffer b = user(arg, KvmSregs.SIZE); if (b == null) return -Errno.EFAULT; sregs.read(b, 0); return 0; }
            case KVM_RUN: return kvm_run();
            default: return -Errno.EINVAL;
        }
    }

    private Step pendingIn;

    /** Plays the script up to the next exit to userspace; completes a pending IN into RAX first. */
    private long kvm_run() {
        KvmRun run = new KvmRun(runPage.buf, 0);
        if (pendingIn != null) {
            regs.rax = runPage.buf.getInt(4096) & IoBus.mask(pendingIn.size()) & 0xffffffffL;
            pendingIn = null;
        }
        if (Thread.interrupted()) return -Errno.EINTR;
        while (true) {
            Step s = script.peek();
            if (s != null && s.kind().equals("SPIN")) {   // a guest that never exits: only a signal ends KVM_RUN
                if (Thread.interrupted()) return -Errno.EINTR;
                Thread.onSpinWait();
                continue;
            }
            script.poll();
            if (s == null || s.kind().equals("HLT")) { run.exit_reason(KVM_EXIT_HLT); return 0; }
            regs.rip++;
            if (s.kind().equals("KERNEL_OUT") && s.port() == ioeventfdPort) { ioeventfd.eventfd_signal(1); continue; }
            run.exit_reason(KVM_EXIT_IO);
            run.io.port(s.port());
            run.io.size(s.size());
            run.io.count(1);
            run.io.data_offset(4096);
            if (s.kind().equals("IN")) { run.io.direction(KVM_EXIT_IO_IN); pendingIn = s; }
            else { run.io.direction(KVM_EXIT_IO_OUT); runPage.buf.putInt(4096, s.value()); }
            return 0;
        }
    }

    @Override public void close() { kernel.misc_deregister("/dev/kvm"); }
}
