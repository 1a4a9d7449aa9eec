package kvmkmod.hw.soft;

import kvmkmod.hw.VmxCpu;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static kvmkmod.hw.VmxArch.*;
import static org.assertj.core.api.Assertions.assertThat;

/** Guest single-step and breakpoints through {@link GuestDebugger}, and that they change no exit. */
class SoftCpuDebugTest {
    private VmxHarness h;

    @BeforeEach void setUp() { h = new VmxHarness(); }

    @AfterEach void tearDown() { h.close(); }

    private void program() {
        h.load(0x1000,
                0xb8, 0x05, 0x00,   // mov ax, 5
                0x01, 0xc3,         // add bx, ax
                0x48,               // dec ax
                0x75, 0xfb,         // jnz -5 (to add)
                0xe6, 0x10,         // out 0x10, al
                0xf4);              // hlt
    }

    private SoftCpu cpu() { return (SoftCpu) h.cpu; }

    @Test void singleStepStopsBeforeEveryInstructionWithLiveState() {
        program();
        List<String> stops = new ArrayList<>();
        cpu().setDebugger((cpu, rip, bp) -> {
            stops.add(String.format("%x ax=%d bx=%d", rip, cpu.regs()[VmxCpu.RAX] & 0xffff, cpu.regs()[VmxCpu.RBX] & 0xffff));
            return true;
        });
        cpu().setSingleStep(true);
        assertThat(h.launch()).isEqualTo(VmxCpu.VM_SUCCEED);
        assertThat(h.exitReason()).isEqualTo(EXIT_REASON_IO_INSTRUCTION);
        // mov; then five rounds of add/dec/jnz; then the OUT (the exiting instruction was stopped before)
        assertThat(stops).hasSize(1 + 5 * 3 + 1);
        assertThat(stops.get(0)).isEqualTo("1000 ax=0 bx=0");
        assertThat(stops.get(1)).isEqualTo("1003 ax=5 bx=0");
        assertThat(stops.get(2)).isEqualTo("1005 ax=5 bx=5");
        assertThat(stops.get(stops.size() - 1)).isEqualTo("1008 ax=0 bx=15");
    }

    @Test void aBreakpointStopsEachTimeItsAddressIsReached() {
        program();
        List<Long> bx = new ArrayList<>();
        cpu().setDebugger((cpu, rip, bp) -> {
            assertThat(bp).isTrue();
            assertThat(rip).isEqualTo(0x1005);
            bx.add(cpu.regs()[VmxCpu.RBX] & 0xffff);
            return false;
        });
        cpu().addBreakpoint(0x1005);       // the dec after each add
        assertThat(h.launch()).isEqualTo(VmxCpu.VM_SUCCEED);
        assertThat(bx).containsExactly(5L, 9L, 12L, 14L, 15L);
    }

    @Test void aDebuggedRunTakesTheSameExitsAsAPlainOne() {
        program();
        assertThat(h.launch()).isEqualTo(VmxCpu.VM_SUCCEED);
        long plainRip = h.rip(), plainTsc = cpu().instructionsRetired();
        h.close();
        try (VmxHarness h2 = new VmxHarness()) {
            h = h2;
            program();
            cpu().setDebugger((cpu, rip, bp) -> true);
            cpu().setSingleStep(true);
            assertThat(h.launch()).isEqualTo(VmxCpu.VM_SUCCEED);
            assertThat(h.exitReason()).isEqualTo(EXIT_REASON_IO_INSTRUCTION);
            assertThat(h.rip()).isEqualTo(plainRip);
            assertThat(cpu().instructionsRetired()).isEqualTo(plainTsc);
        }
    }
}
