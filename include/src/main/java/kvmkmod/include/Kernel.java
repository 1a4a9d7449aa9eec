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
        return s == null ? null : s.get();
    }

    /**
     * Sends a signal to a thread of a process (kill/tgkill). A Java thread's interrupt status is its
     * pending signal; if the thread is in the kernel running guest code, the waker it registered
     * makes the processor leave the guest, as the IPI of signal delivery does.
     */
    public void send_sig(Thread t) {
        t.interrupt();
        java.util.concurrent.atomic.AtomicReference<Runnable> cell = signalWakers.get(t);
        Runnable waker = cell == null ? null : cell.get();
        if (waker != null) waker.run();
    }

    /** signal_pending(current). */
    public static boolean signal_pending() { return Thread.currentThread().isInterrupted(); }

    /** Marks the calling thread's pending signal delivered (the return to userspace handles it). */
    public static void deliver_signal() { Thread.interrupted(); }

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
