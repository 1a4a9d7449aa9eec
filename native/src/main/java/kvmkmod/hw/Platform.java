package kvmkmod.hw;

import kvmkmod.hw.host.HostCpu;
import kvmkmod.hw.host.HostKvm;
import kvmkmod.hw.soft.SoftCpu;

import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntConsumer;

/**
 * The machine the kernel runs on: its physical memory and its logical processors.
 *
 * <p>A Java thread runs "on" a processor between {@link #get_cpu()} and the matching {@link #put_cpu()};
 * nesting is counted, and a thread keeps its processor until its outermost put. That is how a vCPU
 * stays on one processor from vcpu_load to vcpu_put (in the kernel the preempt notifiers reload it
 * after a migration; here the thread simply is not migrated). A thread that finds every processor busy
 * waits for one, as a runnable task waits for a CPU.
 */
public final class Platform implements AutoCloseable {
    private final HostMemory memory;
    private final VmxCpu[] cpus;
    private final Backend backend;
    private final Thread[] owner;
    private final int[] depth;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition freed = lock.newCondition();
    /** The calling thread's processor, or -1; a per-thread cell, so claiming a processor allocates nothing. */
    private final ThreadLocal<int[]> current = ThreadLocal.withInitial(() -> new int[] {-1});

    private Platform(Backend backend, HostMemory memory, VmxCpu[] cpus) {
        this.backend = backend;
        this.memory = memory;
        this.cpus = cpus;
        this.owner = new Thread[cpus.length];
        this.depth = new int[cpus.length];
    }

    /** True when the host's /dev/kvm can run our guests here. */
    public static boolean hostUsable() { return HostKvm.usable(); }

    /** Resolves {@link Backend#AUTO}: the host when /dev/kvm is usable, the soft CPU otherwise. */
    public static Backend resolve(Backend b) {
        return b != Backend.AUTO ? b : hostUsable() ? Backend.HOST : Backend.SOFT;
    }

    /** A machine with {@code ncpus} processors of the given kind, each reporting {@code caps}. */
    public static Platform create(Backend backend, int ncpus, VmxCapabilities caps) {
        Backend b = resolve(backend);
        if (b == Backend.HOST && !hostUsable())
            throw new IllegalStateException("the host backend needs a usable /dev/kvm: " + HostKvm.whyNotUsable());
        HostMemory mem = new HostMemory();
        VmxCpu[] cpus = new VmxCpu[ncpus];
        for (int i = 0; i < ncpus; i++)
            cpus[i] = b == Backend.HOST ? HostCpu.create(i, mem, caps.copy()) : SoftCpu.create(i, mem, caps.copy());
        return new Platform(b, mem, cpus);
    }

    public static Platform create(Backend backend) { return create(backend, 2, VmxCapabilities.westmere()); }

    public Backend backend() { return backend; }

    public HostMemory memory() { return memory; }

    public int num_possible_cpus() { return cpus.length; }

    public VmxCpu cpu(int id) { return cpus[id]; }

    /** Puts the calling thread on a processor (the one it already holds, else the first free one). */
    public int get_cpu() {
        int c = current.get()[0];
        if (c >= 0) { depth[c]++; return c; }
        lock.lock();
        try {
            while (true) {
                for (int i = 0; i < cpus.length; i++)
                    if (owner[i] == null) return take(i);
                freed.awaitUninterruptibly();
            }
        } finally { lock.unlock(); }
    }

    /** Puts the calling thread on processor {@code id}, waiting until it is free (on_each_cpu's IPI). */
    public void get_cpu(int id) {
        int c = current.get()[0];
        if (c == id) { depth[id]++; return; }
        if (c >= 0) throw new IllegalStateException("thread already runs on cpu " + c);
        lock.lock();
        try {
            while (owner[id] != null) freed.awaitUninterruptibly();
            take(id);
        } finally { lock.unlock(); }
    }

    private int take(int i) {
        owner[i] = Thread.currentThread();
        depth[i] = 1;
        current.get()[0] = i;
        return i;
    }

    public void put_cpu() {
        int c = current.get()[0];
        if (c < 0) throw new IllegalStateException("put_cpu without get_cpu");
        if (--depth[c] > 0) return;
        lock.lock();
        try {
            owner[c] = null;
            current.get()[0] = -1;
            freed.signalAll();
        } finally { lock.unlock(); }
    }

    /** The processor the calling thread is on; it must hold one. */
    public int smp_processor_id() {
        int c = current.get()[0];
        if (c < 0) throw new IllegalStateException("smp_processor_id outside get_cpu/put_cpu");
        return c;
    }

    public VmxCpu this_cpu() { return cpus[smp_processor_id()]; }

    /** Runs {@code fn} on every processor in turn, the calling thread standing in for the IPI. */
    public void on_each_cpu(IntConsumer fn) {
        int c = current.get()[0];
        for (int i = 0; i < cpus.length; i++) {
            if (c >= 0 && c != i) {
                // A thread cannot hold two processors; the others run the function through a helper thread.
                final int cpu = i;
                Thread t = new Thread(() -> { get_cpu(cpu); try { fn.accept(cpu); } finally { put_cpu(); } }, "ipi-cpu" + i);
                t.start();
                try { t.join(); } catch (InterruptedException e) { Thread.currentThread().interrupt(); }
            } else {
                get_cpu(i);
                try { fn.accept(i); } finally { put_cpu(); }
            }
        }
    }

    @Override public void close() {
        for (VmxCpu c : cpus) if (c instanceof AutoCloseable) {
            try { ((AutoCloseable) c).close(); } catch (Exception ignored) { }
        }
        memory.close();
    }
}
