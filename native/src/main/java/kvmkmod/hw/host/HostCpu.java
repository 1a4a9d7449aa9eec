package kvmkmod.hw.host;

import kvmkmod.hw.HostMemory;
import kvmkmod.hw.VmxCapabilities;
import kvmkmod.hw.VmxCpu;

/** Placeholder until the host backend lands. */
public final class HostCpu {
    private HostCpu() {}
    public static VmxCpu create(int id, HostMemory mem, VmxCapabilities caps) { throw new UnsupportedOperationException("host backend"); }
}
