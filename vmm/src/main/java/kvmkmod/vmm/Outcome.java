package kvmkmod.vmm;

/** How a {@link Vmm#kvm_run()} ended. Only {@link #HLT} is a guest finishing normally. */
public enum Outcome {
    /** KVM_EXIT_HLT: the guest halted with no interrupt controller to wake it; the normal end. */
    HLT(false, "the guest halted"),
    /** KVM_EXIT_SHUTDOWN: a triple fault (or a shutdown request). */
    SHUTDOWN(true, "the guest shut down (triple fault)"),
    /** KVM_EXIT_FAIL_ENTRY: the processor refused VM entry. */
    FAIL_ENTRY(true, "VM entry failed"),
    /** KVM_EXIT_INTERNAL_ERROR: the kernel could not go on (e.g. an instruction it cannot emulate). */
    INTERNAL_ERROR(true, "KVM internal error"),
    /** KVM_EXIT_UNKNOWN: a hardware exit the kernel has no handler for. */
    UNKNOWN(true, "unknown hardware exit"),
    /** KVM_EXIT_EXCEPTION: an exception the kernel handed to userspace. */
    EXCEPTION(true, "guest exception"),
    /** Any other exit reason this VMM does not handle (DEBUG, IRQ_WINDOW_OPEN, ...). */
    UNHANDLED_EXIT(true, "exit reason not handled by this VMM"),
    /** A KVM ioctl failed with an errno other than EINTR. */
    IOCTL_ERROR(true, "KVM_RUN failed"),
    /** The --max-exits safety limit was reached. */
    MAX_EXITS(false, "exit limit reached"),
    /** {@link Vmm#requestStop()} was called. */
    STOPPED(false, "stopped on request");

    /** True for a guest that stopped in a way no well-behaved guest does. */
    public final boolean abnormal;
    public final String description;

    Outcome(boolean abnormal, String description) {
        this.abnormal = abnormal;
        this.description = description;
    }
}
