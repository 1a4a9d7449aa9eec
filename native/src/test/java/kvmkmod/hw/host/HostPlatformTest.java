package kvmkmod.hw.host;

import kvmkmod.hw.Backend;
import kvmkmod.hw.Platform;
import kvmkmod.hw.VmxCapabilities;
import org.junit.jupiter.api.Test;

import static kvmkmod.hw.VmxArch.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The host backend as Platform hands it out. */
class HostPlatformTest {
    @Test
    void platformBuildsHostProcessors() {
        assumeTrue(HostKvm.usable(), HostKvm.whyNotUsable());
        try (Platform p = Platform.create(Backend.HOST, 2, VmxCapabilities.westmere())) {
            assertThat(Platform.resolve(Backend.AUTO)).isEqualTo(Backend.HOST);
            assertThat(p.cpu(0).backend()).isEqualTo("host");
            assertThat(p.cpu(1).id()).isEqualTo(1);
            assertThat(p.cpu(0).memory()).isSameAs(p.memory());
            long basic = p.cpu(1).rdmsr(MSR_IA32_VMX_BASIC);
            assertThat(basic & 0xffffffffL).isEqualTo(VmxCapabilities.VMCS_REVISION_ID);
            int[] r = new int[4];
            p.cpu(0).cpuid(1, 0, r);
            assertThat(r[2] & (1 << 5)).as("CPUID.1:ECX.VMX").isNotZero();
        }
    }
}
