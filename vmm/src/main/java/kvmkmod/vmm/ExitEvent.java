package kvmkmod.vmm;

import kvmkmod.include.Kvm_h;

/**
 * One return of KVM_RUN to userspace, as the VMM saw it: the exit reason and the kvm_run data of that
 * reason. For KVM_EXIT_IO: direction, port, size, count and the data bytes (for an IN, the bytes the
 * VMM supplied). For KVM_EXIT_MMIO: address, length, direction and the data bytes (for a read, the
 * bytes supplied). For failures: {@code detail} holds the hardware reason / suberror.
 * Two runs behave the same to userspace exactly when their lists of events are equal.
 */
public record ExitEvent(int reason, int direction, int port, int size, int count,
                        long mmioAddr, int mmioLen, boolean mmioWrite, String data, long detail) {

    static ExitEvent io(int direction, int port, int size, int count, String data) {
        return new ExitEvent(Kvm_h.KVM_EXIT_IO, direction, port, size, count, 0, 0, false, data, 0);
    }

    static ExitEvent mmio(long addr, int len, boolean write, String data) {
        return new ExitEvent(Kvm_h.KVM_EXIT_MMIO, 0, 0, 0, 0, addr, len, write, data, 0);
    }

    static ExitEvent other(int reason, long detail) {
        return new ExitEvent(reason, 0, 0, 0, 0, 0, 0, false, "", detail);
    }

    public boolean isIo() { return reason == Kvm_h.KVM_EXIT_IO; }

    public boolean isOut() { return isIo() && direction == Kvm_h.KVM_EXIT_IO_OUT; }

    /** e.g. {@code IO out port=0x3f8 size=1 count=1 data=48}, {@code MMIO read 0x100004 len=1 data=ff}, {@code HLT}. */
    @Override public String toString() {
        switch (reason) {
            case Kvm_h.KVM_EXIT_IO:
                return String.format("IO %s port=%#x size=%d count=%d data=%s",
                        direction == Kvm_h.KVM_EXIT_IO_OUT ? "out" : "in", port, size, count, data);
            case Kvm_h.KVM_EXIT_MMIO:
                return String.format("MMIO %s %#x len=%d data=%s", mmioWrite ? "write" : "read", mmioAddr, mmioLen, data);
            default:
                return detail == 0 ? reasonName(reason) : String.format("%s detail=%#x", reasonName(reason), detail);
        }
    }

    /** "IO", "HLT", ... : the KVM_EXIT_ name without its prefix. */
    public static String reasonName(int reason) {
        switch (reason) {
            case Kvm_h.KVM_EXIT_UNKNOWN: return "UNKNOWN";
            case Kvm_h.KVM_EXIT_EXCEPTION: return "EXCEPTION";
            case Kvm_h.KVM_EXIT_IO: return "IO";
            case Kvm_h.KVM_EXIT_HYPERCALL: return "HYPERCALL";
            case Kvm_h.KVM_EXIT_DEBUG: return "DEBUG";
            case Kvm_h.KVM_EXIT_HLT: return "HLT";
            case Kvm_h.KVM_EXIT_MMIO: return "MMIO";
            case Kvm_h.KVM_EXIT_IRQ_WINDOW_OPEN: return "IRQ_WINDOW_OPEN";
            case Kvm_h.KVM_EXIT_SHUTDOWN: return "SHUTDOWN";
            case Kvm_h.KVM_EXIT_FAIL_ENTRY: return "FAIL_ENTRY";
            case Kvm_h.KVM_EXIT_INTR: return "INTR";
            case Kvm_h.KVM_EXIT_SET_TPR: return "SET_TPR";
            case Kvm_h.KVM_EXIT_TPR_ACCESS: return "TPR_ACCESS";
            case Kvm_h.KVM_EXIT_NMI: return "NMI";
            case Kvm_h.KVM_EXIT_INTERNAL_ERROR: return "INTERNAL_ERROR";
            default: return "reason " + reason;
        }
    }
}
