package kvmkmod.hw.soft;

import kvmkmod.hw.Backend;
import kvmkmod.hw.Platform;
import kvmkmod.hw.VmxCapabilities;
import kvmkmod.hw.VmxCpu;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The soft backend as Platform hands it out, and the state dump a debugging reader sees. */
class SoftPlatformTest {
    @Test void platformCreatesSoftProcessors() {
        try (Platform p = Platform.create(Backend.SOFT, 2, VmxCapabilities.westmere())) {
            assertThat(p.backend()).isEqualTo(Backend.SOFT);
            VmxCpu c0 = p.cpu(0), c1 = p.cpu(1);
            assertThat(c0).isInstanceOf(SoftCpu.class);
            assertThat(c0.backend()).isEqualTo("soft");
            assertThat(c1.id()).isEqualTo(1);
            assertThat(c0.memory()).isSameAs(p.memory());
            assertThat(c0.regs()).hasSize(16);
        }
    }

    @Test void stateDumpAfterAnExit() {
        try (VmxHarness h = new VmxHarness()) {
            h.load(0x1000, 0xb8, 0x34, 0x12, 0xf4); // mov ax, 0x1234; hlt
            h.launch();
            String dump = h.cpu.guestStateDump();
            assertThat(dump).contains("RAX=0000000000001234").contains("RIP=0000000000001003").contains("mode=real")
                    .contains("CS   sel=0000");
        }
    }
}
