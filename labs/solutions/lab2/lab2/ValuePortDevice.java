package lab2;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import kvmkmod.include.Errno;
import kvmkmod.include.Kvm;
import kvmkmod.include.KvmIoDevice;
import kvmkmod.kvm_main.KvmMain;

/** Lab 2, reference solution. */
public final class ValuePortDevice implements KvmIoDevice {
    public static final int PORT = 0x510;
    public static final int VALUE = 0x4b564d00;

    public static int create(KvmMain kvm_main, Kvm kvm) {
        return kvm_main.kvm_io_bus_register_dev(kvm, kvm.pio_bus, new ValuePortDevice());
    }

    @Override
    public int read(long addr, int len, ByteBuffer val, int off) {
        if (addr != PORT || len != 4) return -Errno.EOPNOTSUPP;
        val.duplicate().order(ByteOrder.LITTLE_ENDIAN).putInt(off, VALUE);
        return 0;
    }
}
