package kvmkmod.hw.host;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Pointer;

/**
 * Kicking a thread out of KVM_RUN from another thread, inside a JVM.
 *
 * <p>The scheme (the one <linux/kvm.h> provides KVM_SET_SIGNAL_MASK for): one real-time signal that the
 * JVM does not use ({@code kvmkmod.host.kickSignal}, default 62 = SIGRTMAX-2) is
 * <ul>
 *   <li>set to SIG_IGN process-wide, so that if it ever reaches a thread that does not block it, nothing
 *       happens (no handler runs inside the JVM, and the default action, process termination, is off);</li>
 *   <li>blocked in every thread that runs a host vCPU (pthread_sigmask, once per thread); a blocked signal is
 *       never discarded as ignored, it stays pending;</li>
 *   <li>unblocked only while the thread is inside KVM_RUN, through the vCPU's KVM_SET_SIGNAL_MASK.</li>
 * </ul>
 * pthread_kill then makes a running KVM_RUN return -EINTR (KVM_EXIT_INTR); if the thread is not inside
 * KVM_RUN, the signal stays pending and its next KVM_RUN returns at once. After such an exit the pending
 * signal is consumed with a zero-timeout sigtimedwait. If any step is unavailable, kicking falls back to
 * {@code immediate_exit} alone, which only stops the next KVM_RUN.
 */
final class HostSignals {
    private HostSignals() {}

    static final int SIGNAL = Integer.getInteger("kvmkmod.host.kickSignal", 62);
    private static final boolean ENABLED;
    private static final Memory SET = new Memory(LibC.SIZEOF_SIGSET);
    private static final Memory TIMEOUT = new Memory(16);
    private static final ThreadLocal<long[]> THREAD = new ThreadLocal<>();
    private static volatile long vcpuMask = Long.MIN_VALUE;

    static {
        boolean ok = false;
        SET.setMemory(0, LibC.SIZEOF_SIGSET, (byte) 0);
        SET.setLong(0, 1L << (SIGNAL - 1));
        TIMEOUT.setLong(0, 0);
        TIMEOUT.setLong(8, 0);
        if (!Boolean.getBoolean("kvmkmod.host.noKickSignal")) {
            try {
                LibC.signal(SIGNAL, 1L);  // SIG_IGN
                ok = true;
            } catch (Throwable t) {
                ok = false;
            }
        }
        ENABLED = ok;
    }

    static boolean enabled() { return ENABLED; }

    /**
     * Prepares the calling thread (once) and returns its pthread_t, or 0 when signals are not used.
     * The signal is blocked in this thread from now on.
     */
    static long prepareThread() {
        if (!ENABLED) return 0;
        long[] t = THREAD.get();
        if (t != null) return t[0];
        Memory old = new Memory(LibC.SIZEOF_SIGSET);
        LibC.pthread_sigmask(LibC.SIG_BLOCK, Pointer.nativeValue(SET), Pointer.nativeValue(old));
        if (vcpuMask == Long.MIN_VALUE) vcpuMask = old.getLong(0) & ~(1L << (SIGNAL - 1));
        long self = LibC.pthread_self();
        THREAD.set(new long[] {self});
        return self;
    }

    /** KVM_SET_SIGNAL_MASK for a vCPU: the signal mask in force while inside KVM_RUN. */
    static void setVcpuMask(int vcpuFd) {
        if (!ENABLED || vcpuMask == Long.MIN_VALUE) return;
        Memory m = new Memory(12);
        m.setInt(0, 8);
        m.setLong(4, vcpuMask);
        LibC.ioctl(vcpuFd, HostKvm.KVM_SET_SIGNAL_MASK, Pointer.nativeValue(m));
    }

    static void kick(long pthread) {
        if (ENABLED && pthread != 0) LibC.pthread_kill(pthread, SIGNAL);
    }

    /** Consumes a pending kick signal of the calling thread, if any. */
    static void consume() {
        if (!ENABLED || THREAD.get() == null) return;
        try {
            LibC.sigtimedwait(Pointer.nativeValue(SET), 0, Pointer.nativeValue(TIMEOUT));
        } catch (LastErrorException e) {
            // EAGAIN: nothing was pending
        }
    }
}
