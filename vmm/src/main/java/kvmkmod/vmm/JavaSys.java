package kvmkmod.vmm;

import kvmkmod.hw.Backend;
import kvmkmod.hw.HostMemory;
import kvmkmod.hw.Platform;
import kvmkmod.include.Kernel;
import kvmkmod.include.Vfs;
import kvmkmod.hw.VmxCapabilities;
import kvmkmod.vmx.KvmIntel;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * {@link Sys} over our Java KVM module: a {@link Kernel} on a {@link Platform} of the chosen backend,
 * kvm.ko and kvm-intel.ko loaded into it with {@link KvmIntel#insmod}, and one process ({@link Vfs})
 * whose system calls this transport forwards. The process's memory is USER host memory, which is what
 * the module's copy_from_user accepts.
 */
public final class JavaSys implements Sys {
    private final Kernel kernel;
    private final AutoCloseable module;
    private final Vfs vfs;
    private final String name;

    private JavaSys(Kernel kernel, AutoCloseable module, Vfs vfs, String name) {
        this.kernel = kernel;
        this.module = module;
        this.vfs = vfs;
        this.name = name;
    }

    /**
     * Boots a host of the given backend and loads the module. Throws whatever the platform or insmod
     * throws ({@link IllegalStateException} for a backend or module that cannot start,
     * {@link UnsupportedOperationException} while the module is not written yet).
     */
    public static JavaSys create(Backend backend) {
        return create(backend, new KvmIntel.Params());
    }

    public static JavaSys create(Backend backend, KvmIntel.Params params) {
        return create(backend, VmxCapabilities.westmere(), params);
    }

    /** The same on processors that report {@code caps} (e.g. no EPT, so that kvm-intel turns it off itself). */
    public static JavaSys create(Backend backend, VmxCapabilities caps, KvmIntel.Params params) {
        // Shadow paging needs every guest #PF back as a VM exit; the host backend runs the guest under the
        // host's /dev/kvm, which keeps guest page faults to itself. So ept=0 runs on the soft processor.
        boolean shadow = !params.enable_ept || !caps.ept;
        if (shadow && backend == Backend.AUTO) backend = Backend.SOFT;
        if (shadow && backend == Backend.HOST)
            throw new Unavailable(Unavailable.Phase.PLATFORM, "ept=0 (shadow paging) needs --backend soft: the host "
                    + "backend runs the guest through the host's /dev/kvm, which cannot hand guest page faults (#PF exits) "
                    + "back to our MMU", new IllegalArgumentException("ept=0 on the host backend"));
        Kernel k;
        try {
            k = new Kernel(Platform.create(backend, 2, caps));
        } catch (RuntimeException | Error e) {
            throw new Unavailable(Unavailable.Phase.PLATFORM, "the " + backend.name().toLowerCase()
                    + " backend cannot start (Platform.create: " + message(e) + ")", e);
        }
        try {
            KvmIntel m = KvmIntel.insmod(k, params);
            return new JavaSys(k, m, k.newProcess(), "java kvm (" + k.platform.backend().name().toLowerCase() + ")");
        } catch (RuntimeException | Error e) {
            k.close();
            throw new Unavailable(Unavailable.Phase.INSMOD,
                    "the Java KVM module cannot be loaded (KvmIntel.insmod: " + message(e) + ")", e);
        }
    }

    /**
     * Our KVM cannot run here: the platform of that backend would not start or insmod failed. The cause
     * is what they threw ({@link UnsupportedOperationException} while a part is not written yet).
     */
    public static final class Unavailable extends RuntimeException {
        /** Which step failed: starting the native platform, or loading the module into it. */
        public enum Phase { PLATFORM, INSMOD }

        public final Phase phase;

        Unavailable(Phase phase, String msg, Throwable cause) {
            super(msg, cause);
            this.phase = phase;
        }

        /** True while the cause is a part of the stack that is not written yet. */
        public boolean notImplementedYet() { return getCause() instanceof UnsupportedOperationException; }
    }

    private static String message(Throwable t) {
        String m = t.getMessage();
        return t instanceof UnsupportedOperationException ? "not implemented yet" + (m == null ? "" : ": " + m)
                : t.getClass().getSimpleName() + (m == null ? "" : ": " + m);
    }

    /** Null when {@link #create} works for this backend now; otherwise one line saying why not. */
    public static String whyNotUsable(Backend backend) {
        try (JavaSys s = create(backend)) {
            return null;
        } catch (Throwable t) {
            return describe(t);
        }
    }

    static String describe(Throwable t) {
        if (t instanceof Unavailable) return t.getMessage();
        return message(t);
    }

    public Kernel kernel() { return kernel; }

    /** The loaded kvm-intel module (with the kvm.ko it is linked to), for tools that inspect its state. */
    public KvmIntel module() { return (KvmIntel) module; }

    public Vfs vfs() { return vfs; }

    @Override public String name() { return name; }

    @Override public int open(String path) { return vfs.open(path); }

    @Override public long ioctl(int fd, int request, long arg) { return vfs.ioctl(fd, request, arg); }

    @Override public long mmap(long length, int fd, long pgoff) { return vfs.mmap(length, fd, pgoff); }

    @Override public long mmapAnonymous(long length) { return vfs.mmapAnonymous(length); }

    @Override public long mmapHugetlb(long length) { return vfs.mmapHugetlb(length); }

    @Override public int close(int fd) { return vfs.close(fd); }

    @Override public int eventfd(long initval) { return vfs.eventfd(initval); }

    @Override public long read(int fd, long addr, int len) { return vfs.read(fd, addr, len); }

    @Override public java.util.List<String> readdir(String path) { return vfs.readdir(path); }

    @Override public ByteBuffer buffer(long addr, int len) {
        HostMemory.Region r = vfs.mm().regionAtVa(addr, len);
        if (r == null)
            throw new IllegalArgumentException(String.format("%#x+%d is not inside a mapping of this process", addr, len));
        return r.buf.slice((int) (addr - r.va), len).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** rmmod, then power the host off. */
    @Override public void close() {
        try {
            module.close();
        } catch (Exception e) {
            throw new IllegalStateException("rmmod: " + e.getMessage(), e);
        } finally {
            kernel.close();
        }
    }

    /** kill(2) of a thread of this process: our kernel's signal delivery (see {@link Kernel#send_sig}). */
    public void kill(Thread t) { kernel.send_sig(t); }

    /** The machine under the module (its processors and memory), for debugging the soft processor. */
    public kvmkmod.hw.Platform platform() { return kernel.platform; }
}
