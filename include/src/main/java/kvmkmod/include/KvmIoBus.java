package kvmkmod.include;

/** struct kvm_io_bus (linux/kvm_host.h): the devices on the VM's PIO or MMIO bus, tried in order. */
public final class KvmIoBus {
    public static final int NR_IOBUS_DEVS = 200;
    public int dev_count;
    public final KvmIoDevice[] devs = new KvmIoDevice[NR_IOBUS_DEVS];
}
