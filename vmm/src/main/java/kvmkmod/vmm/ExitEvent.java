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

    /**
     * An I/O exit of {@code count} items as {@code count} exits of one item each (other exits unchanged).
     * Kernels differ in how many items of a REP INS/OUTS they hand over per exit (2.6.33 batches a page's
     * worth; the host kernel here sends REP OUTSB one byte per exit), so differential runs compare the
     * itemised logs.
     */
    public java.util.List<ExitEvent> items() {
        if (!isIo() || count <= 1) return java.util.List.of(this);
        java.util.List<ExitEvent> l = new java.util.ArrayList<>(count);
        for (int i = 0; i < count; i++)
            l.add(io(direction, port, size, 1, data.substring(i * size * 2, (i + 1) * size * 2)));
        return l;
    }

    /** Every event of {@code log} itemised (see {@link #items()}). */
    public static java.util.List<ExitEvent> itemised(java.util.List<ExitEvent> log) {
        java.util.List<ExitEvent> l = new java.util.ArrayList<>();
        for (ExitEvent e : log) l.addAll(e.items());
        return l;
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
