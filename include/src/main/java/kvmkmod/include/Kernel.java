package kvmkmod.include;

import kvmkmod.hw.Platform;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The host kernel a module is loaded into: the machine it runs on and the character devices registered
 * with misc_register. A userspace process reaches it through a {@link Vfs}.
 */
public final class Kernel implements AutoCloseable {
    public final Platform platform;
    private final Map<String, Supplier<File>> miscDevices = new ConcurrentHashMap<>();
    /** Per thread, the waker it registered (a cell, so registering on every KVM_RUN allocates nothing). */
    private final Map<Thread, java.util.concurrent.atomic.AtomicReference<Runnable>> signalWakers = new ConcurrentHashMap<>();

    public Kernel(Platform platform) { this.platform = platform; }

    /** misc_register: {@code open} makes the struct file for each open of {@code path}. */
    public int misc_register(String path, Supplier<File> open) {
        return miscDevices.putIfAbsent(path, open) == null ? 0 : -Errno.EBUSY;
    }

    public void misc_deregister(String path) { miscDevices.remove(path); }

    File openDevice(String path) {
        Supplier<File> s = miscDevices.get(path);
        if (s != null) return s.get();
        java.util.function.LongSupplier attr = debugfs.get(path);
        return attr == null ? null : new File(path, new DebugfsAttr(attr), null);
    }

    // ---- debugfs, mounted at /sys/kernel/debug ----

    public static final String DEBUGFS = "/sys/kernel/debug/";
    private final Map<String, java.util.function.LongSupplier> debugfs = new java.util.concurrent.ConcurrentSkipListMap<>();

    /** A read-only file whose content is a number and a newline (DEFINE_SIMPLE_ATTRIBUTE with "%llu\n"). */
    public static final class DebugfsAttr implements FileOperations {
        private final java.util.function.LongSupplier get;
        DebugfsAttr(java.util.function.LongSupplier get) { this.get = get; }
        @Override public long unlocked_ioctl(File filp, int ioctl, long arg) { return -Errno.ENOTTY; }
        /** The text a read(2) returns; every read starts at the beginning. */
        public byte[] text() { return (Long.toUnsignedString(get.getAsLong()) + "\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII); }
    }

    /** debugfs_create_file of a numeric attribute at {@code name} (e.g. "kvm/exits"). */
    public void debugfs_create_file(String name, java.util.function.LongSupplier get) { debugfs.put(DEBUGFS + name, get); }

    public void debugfs_remove(String name) { debugfs.remove(DEBUGFS + name); }

    /** getdents of a debugfs directory: the names of the files in it, sorted. */
    public java.util.List<String> debugfs_readdir(String dir) {
        String prefix = dir.endsWith("/") ? dir : dir + "/";
        java.util.List<String> names = new java.util.ArrayList<>();
        for (String p : debugfs.keySet())
            if (p.startsWith(prefix) && p.indexOf('/', prefix.length()) < 0) names.add(p.substring(prefix.length()));
        return names;
    }

    /** Signal numbers (asm/signal.h) the VMM side uses; a sigset_t bit is 1 << (sig - 1). */
    public static final int SIGINT = 2, SIGKILL = 9, SIGUSR1 = 10, SIGUSR2 = 12, SIGALRM = 14, SIGSTOP = 19;
    /** The signal qemu-kvm kicks a vCPU thread with (SIG_IPI). */
    public static final int SIG_IPI = SIGUSR1;
    public static final int SIG_BLOCK = 0, SIG_UNBLOCK = 1, SIG_SETMASK = 2;

    public static long sigmask(int sig) { return 1L << (sig - 1); }

    /** Per thread: its pending and blocked signal sets (task_struct's pending and blocked). */
    private static final class SigState { long pending, blocked; }
    private static final Map<Thread, SigState> SIGNALS = java.util.Collections.synchronizedMap(new java.util.WeakHashMap<>());

    private static SigState sigState(Thread t) { return SIGNALS.computeIfAbsent(t, k -> new SigState()); }

    /**
     * recalc_sigpending: the thread's interrupt status is TIF_SIGPENDING, set while a signal is pending
     * and not blocked. A Java interrupt that no signal explains (someone called Thread.interrupt) stays.
     */
    private static void recalc_sigpending(Thread t, SigState st) {
        if ((st.pending & ~st.blocked) != 0) t.interrupt();
        else if (t == Thread.currentThread() && (st.pending & st.blocked) != 0) Thread.interrupted();
    }

    /** Sends SIG_IPI to a thread of a process: what stops a vCPU thread in KVM_RUN. */
    public void send_sig(Thread t) { send_sig(SIG_IPI, t); }

    /**
     * Sends signal {@code sig} to a thread (tgkill). Blocked, it only stays pending; otherwise the thread's
     * pending-signal state is set and, if the thread is in the kernel running guest code, the waker it
     * registered makes the processor leave the guest, as the IPI of signal delivery does.
     */
    public void send_sig(int sig, Thread t) {
        SigState st = sigState(t);
        boolean wake;
        synchronized (st) {
            st.pending |= sigmask(sig);
            wake = (sigmask(sig) & ~st.blocked) != 0;
        }
        if (!wake) return;
        t.interrupt();
        java.util.concurrent.atomic.AtomicReference<Runnable> cell = signalWakers.get(t);
        Runnable waker = cell == null ? null : cell.get();
        if (waker != null) waker.run();
    }

    /** sigprocmask(2) of the calling thread; returns the previous mask. */
    public static long sigprocmask(int how, long set) {
        Thread t = Thread.currentThread();
        SigState st = sigState(t);
        synchronized (st) {
            long old = st.blocked;
            switch (how) {
                case SIG_BLOCK: st.blocked |= set; break;
                case SIG_UNBLOCK: st.blocked &= ~set; break;
                default: st.blocked = set; break;
            }
            st.blocked &= ~(sigmask(SIGKILL) | sigmask(SIGSTOP));
            recalc_sigpending(t, st);
            return old;
        }
    }

    /** sigpending(2): the calling thread's pending set (blocked signals stay there until unblocked or taken). */
    public static long sigpending() {
        SigState st = sigState(Thread.currentThread());
        synchronized (st) { return st.pending; }
    }

    /** sigtimedwait(2) without waiting: takes the lowest pending signal of {@code set}, or returns 0. */
    public static int sigtakepending(long set) {
        Thread t = Thread.currentThread();
        SigState st = sigState(t);
        synchronized (st) {
            long take = st.pending & set;
            if (take == 0) return 0;
            int sig = Long.numberOfTrailingZeros(take) + 1;
            st.pending &= ~sigmask(sig);
            recalc_sigpending(t, st);
            return sig;
        }
    }

    /** signal_pending(current). */
    public static boolean signal_pending() { return Thread.currentThread().isInterrupted(); }

    /**
     * The return to userspace runs the handlers of the pending signals that are not blocked: they are no
     * longer pending. Blocked ones stay pending.
     */
    public static void deliver_signal() {
        Thread t = Thread.currentThread();
        Thread.interrupted();
        SigState st = SIGNALS.get(t);
        if (st == null) return;
        synchronized (st) {
            st.pending &= st.blocked;
            recalc_sigpending(t, st);
        }
    }

    /** While {@code waker} is registered, a signal to the calling thread also runs it. */
    public void set_signal_waker(Runnable waker) {
        Thread t = Thread.currentThread();
        java.util.concurrent.atomic.AtomicReference<Runnable> cell = signalWakers.get(t);
        if (cell == null) {
            if (waker == null) return;
            cell = signalWakers.computeIfAbsent(t, k -> new java.util.concurrent.atomic.AtomicReference<>());
        }
        cell.set(waker);
    }

    /** A new userspace process with an empty file table. */
    public Vfs newProcess() { return new Vfs(this); }

    @Override public void close() { platform.close(); }
}
