package kvmkmod.vmm;

/**
 * Stands at the ioeventfd port in userspace: when the kernel completes OUTs there itself (the ioeventfd
 * is registered) it never sees a write; when KVM_IOEVENTFD was refused, the OUTs come to userspace and
 * this counts them, so a run still says how many there were and by which branch.
 */
public final class CountingPort implements IoPortDevice {
    private long writes;

    public long writes() { return writes; }

    @Override public int ioport_read(int port, int size) { return IoBus.mask(size); }

    @Override public void ioport_write(int port, int size, int value) { writes++; }
}
