package kvmkmod.hw.soft;

import kvmkmod.hw.HostMemory;
import kvmkmod.hw.VmxCapabilities;
import kvmkmod.hw.VmxCpu;

/** Placeholder until the soft CPU lands. */
public final class SoftCpu {
    private SoftCpu() {}
    public static VmxCpu create(int id, HostMemory mem, VmxCapabilities caps) { throw new UnsupportedOperationException("soft cpu"); }
}
