package kvmkmod.docs.labs;

import java.io.ByteArrayOutputStream;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Consumer;
import kvmkmod.hw.Backend;
import kvmkmod.hw.HostMemory;
import kvmkmod.hw.Platform;
import kvmkmod.hw.VmxCapabilities;
import kvmkmod.include.File;
import kvmkmod.include.Kernel;
import kvmkmod.include.Kvm;
import kvmkmod.include.Vfs;
import kvmkmod.include.trace.Ftrace;
import kvmkmod.include.trace.FunctionGraph;
import kvmkmod.include.trace.FunctionGraphTrace;
import kvmkmod.vmm.RunResult;
import kvmkmod.vmm.Sys;
import kvmkmod.vmm.Vmm;
import kvmkmod.vmx.KvmIntel;

/**
 * The machine a lab grader runs a guest on: a soft-CPU host whose VMX capabilities and kvm-intel
 * parameters the lab may change, the Java module loaded into it, and the project's VMM driving one
 * guest, traced from insmod to rmmod. A hook runs once the VM and its vCPU exist and before the first
 * KVM_RUN, with the module and the VM's {@code struct kvm} at hand (a lab registers its device there);
 * another runs after the last KVM_RUN while the VM still exists (to read its MMU, say).
 */
public final class LabMachine {
    /** The module cannot be loaded yet; graders report their checks as not run, with this reason. */
    public static final class Unavailable extends RuntimeException {
        Unavailable(String why, Throwable cause) { super(why, cause); }
    }

    /** What the hook gets: the loaded module and the VM. */
    public record Vm(KvmIntel module, Kvm kvm, Vmm vmm) {
        /** The VM's first vCPU's MMU as {@code kvm-run --mmu-view text} prints it, read by the VMM's MmuView. */
        public String mmuView() {
            kvmkmod.x86.X86 x86 = (kvmkmod.x86.X86) field(vmx(module), "x86");
            for (kvmkmod.include.KvmVcpu v : kvm.vcpus)
                if (v != null) return kvmkmod.vmm.MmuView.text(kvm, v, x86);
            return "";
        }
    }

    /** One run: what userspace saw, the guest's output and the trace. */
    public record Run(RunResult result, String output, List<String> traceLines) {
        public FunctionGraphTrace trace() { return FunctionGraphTrace.parse(traceLines); }
    }

    /** Where the grader keeps the trace of each run for the student to read; null keeps none. */
    static volatile java.nio.file.Path traceDir;
    private static final java.util.concurrent.atomic.AtomicInteger RUNS = new java.util.concurrent.atomic.AtomicInteger();

    private VmxCapabilities caps = VmxCapabilities.westmere();
    private KvmIntel.Params params = new KvmIntel.Params();
    private Consumer<Vm> hook = vm -> {};
    private Consumer<Vm> after = vm -> {};
    private int value = 0x1234abcd;
    private long maxExits = 2_000;

    public LabMachine capabilities(VmxCapabilities c) { this.caps = c; return this; }

    public LabMachine params(KvmIntel.Params p) { this.params = p; return this; }

    public LabMachine beforeRun(Consumer<Vm> h) { this.hook = h; return this; }

    /** Runs {@code h} after the last KVM_RUN, before the VM is closed. */
    public LabMachine afterRun(Consumer<Vm> h) { this.after = h; return this; }

    /** What the VMM's value port 0x510 answers. */
    public LabMachine value(int v) { this.value = v; return this; }

    /** Null when the Java module loads on the soft CPU here; otherwise why not. */
    public static String whyUnavailable() {
        try (Kernel k = new Kernel(Platform.create(Backend.SOFT))) {
            try (KvmIntel m = KvmIntel.insmod(k)) {
                return null;
            }
        } catch (UnsupportedOperationException e) {
            return "the Java KVM module cannot be loaded yet (KvmIntel.insmod: not implemented"
                    + (e.getMessage() == null ? "" : ": " + e.getMessage()) + ")";
        }
    }

    /** Runs {@code image} (loaded and started at {@code loadAddr}) under the function-graph tracer. */
    public Run run(byte[] image, long loadAddr) {
        FunctionGraph.install();
        RunResult[] result = new RunResult[1];
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        List<String> lines = Ftrace.capture(() -> {
            Kernel kernel = new Kernel(Platform.create(Backend.SOFT, 2, caps));
            KvmIntel module;
            try {
                module = KvmIntel.insmod(kernel, params);
            } catch (UnsupportedOperationException e) {
                kernel.close();
                throw new Unavailable("the Java KVM module cannot be loaded yet (KvmIntel.insmod: not implemented)", e);
            } catch (RuntimeException e) {
                kernel.close();
                throw e;
            }
            VfsSys sys = new VfsSys(kernel.newProcess());
            try {
                Vmm.Config cfg = new Vmm.Config();
                cfg.loadAddr = loadAddr;
                cfg.maxExits = maxExits;
                cfg.valuePortValue = value;
                cfg.output = out;
                cfg.flushOnNewline = false;
                try (Vmm vmm = new Vmm(sys, cfg)) {
                    Vm vm = new Vm(module, sys.kvm(), vmm);
                    hook.accept(vm);
                    vmm.loadImage(image);
                    result[0] = vmm.kvm_run();
                    after.accept(vm);
                }
            } finally {
                try {
                    module.close();
                } finally {
                    kernel.close();
                }
            }
        });
        java.nio.file.Path dir = traceDir;
        if (dir != null) {
            try {
                java.nio.file.Files.createDirectories(dir);
                java.nio.file.Files.write(dir.resolve("run-" + RUNS.incrementAndGet() + ".trace"), lines, StandardCharsets.UTF_8);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
        return new Run(result[0], out.toString(StandardCharsets.ISO_8859_1), lines);
    }

    /** A bundled guest by name. */
    public Run run(String guest) {
        kvmkmod.guests.Guests.Guest g = kvmkmod.guests.Guests.load(guest);
        return run(g.image(), g.loadAddress);
    }

    /** Where the docs module's own guests are, source and image side by side (as the bundled ones). */
    public static final String DOCS_GUESTS = "/kvmkmod/docs/guests/";

    /** A guest of the docs module ({@code DOCS_GUESTS + name + ".bin"}, linked and loaded at 0x7c00). */
    public Run runDocsGuest(String name) {
        try (java.io.InputStream in = LabMachine.class.getResourceAsStream(DOCS_GUESTS + name + ".bin")) {
            if (in == null) throw new IllegalArgumentException("no guest " + name + " in " + DOCS_GUESTS);
            return run(in.readAllBytes(), 0x7c00);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    // ---- reaching into the module where a lab needs to (the fields keep their C names) ----

    /** The object behind {@code KvmIntel.vmx()}: vmx.c's globals and functions. */
    public static Object vmx(KvmIntel module) {
        return invoke(module, "vmx");
    }

    /** {@code KvmIntel.kvm_main()}: the kvm.ko the module is linked against. */
    public static kvmkmod.kvm_main.KvmMain kvmMain(KvmIntel module) {
        return (kvmkmod.kvm_main.KvmMain) invoke(module, "kvm_main");
    }

    static Object invoke(Object target, String method) {
        try {
            Method m = target.getClass().getMethod(method);
            return m.invoke(target);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(target.getClass().getName() + "." + method + "() is not there: " + e, e);
        }
    }

    /** A field of a module object by its C name, whatever its Java visibility. */
    public static Object field(Object target, String name) {
        try {
            Field f = target.getClass().getDeclaredField(name);
            f.setAccessible(true);
            return f.get(target);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(target.getClass().getSimpleName() + " has no field " + name + ": " + e, e);
        }
    }

    /**
     * {@link Sys} over a process of the in-process kernel, as the VMM's JavaSys forwards it; kept here so
     * that the lab chooses the platform the module is loaded into.
     */
    static final class VfsSys implements Sys {
        private final Vfs vfs;

        VfsSys(Vfs vfs) { this.vfs = vfs; }

        /** The VM this process created: the private data of its "kvm-vm" file. */
        Kvm kvm() {
            for (int fd = 3; fd < 64; fd++) {
                File f = vfs.fget(fd);
                if (f != null && f.private_data instanceof Kvm k) return k;
            }
            throw new IllegalStateException("the process has no VM file open");
        }

        @Override public String name() { return "java kvm (soft, lab)"; }
        @Override public int open(String path) { return vfs.open(path); }
        @Override public long ioctl(int fd, int request, long arg) { return vfs.ioctl(fd, request, arg); }
        @Override public long mmap(long length, int fd, long pgoff) { return vfs.mmap(length, fd, pgoff); }
        @Override public long mmapAnonymous(long length) { return vfs.mmapAnonymous(length); }
        @Override public int close(int fd) { return vfs.close(fd); }
        @Override public int eventfd(long initval) { return vfs.eventfd(initval); }
        @Override public long read(int fd, long addr, int len) { return vfs.read(fd, addr, len); }
        @Override public java.util.List<String> readdir(String path) { return vfs.readdir(path); }

        @Override public ByteBuffer buffer(long addr, int len) {
            HostMemory.Region r = vfs.mm().regionAtVa(addr, len);
            if (r == null) throw new IllegalArgumentException(String.format("%#x+%d is not inside a mapping of this process", addr, len));
            return r.buf.slice((int) (addr - r.va), len).order(ByteOrder.LITTLE_ENDIAN);
        }

        @Override public void close() {}
    }
}
