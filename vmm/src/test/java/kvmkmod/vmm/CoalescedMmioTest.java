package kvmkmod.vmm;

import kvmkmod.hw.Backend;
import kvmkmod.include.Errno;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;

import static kvmkmod.include.Kvm_h.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Coalesced MMIO end to end on our KVM over the soft processor: a guest stores byte after byte past the
 * end of RAM; with the range coalesced the stores queue in the kernel's ring and the VMM replays them,
 * in order, when KVM_RUN next returns.
 */
@org.junit.jupiter.api.Timeout(value = 120, threadMode = org.junit.jupiter.api.Timeout.ThreadMode.SEPARATE_THREAD)
class CoalescedMmioTest {
    static final long BASE = 0x100000;

    /** ds = 0xffff; for bx in 0..n-1: byte [bx+0x10] = bl (guest-physical 0x100000 + bx); out 0xe9,'C'; hlt. */
    static byte[] storeLoop(int n) {
        return new byte[] {(byte) 0xb8, (byte) 0xff, (byte) 0xff, (byte) 0x8e, (byte) 0xd8, 0x31, (byte) 0xdb,
                (byte) 0xb9, (byte) n, (byte) (n >> 8), (byte) 0x88, 0x5f, 0x10, 0x43, (byte) 0xe2, (byte) 0xfa,
                (byte) 0xba, (byte) 0xe9, 0x00, (byte) 0xb0, 'C', (byte) 0xee, (byte) 0xf4};
    }

    /** Records every write it is given. */
    static final class Recorder implements MmioDevice {
        final List<long[]> writes = new ArrayList<>();
        @Override public long mmio_read(long addr, int len) { return 0; }
        @Override public void mmio_write(long addr, int len, long value) { writes.add(new long[] {addr, len, value}); }
    }

    static RunResult run(int n, boolean coalesce, Recorder dev, long[] coalesced) {
        try (JavaSys sys = Transports.java("CoalescedMmioTest", Backend.SOFT)) {
            return run(sys, n, coalesce, dev, coalesced);
        }
    }

    static RunResult run(Sys sys, int n, boolean coalesce, Recorder dev, long[] coalesced) {
        Vmm.Config c = new Vmm.Config();
        c.output = new ByteArrayOutputStream();
        try (Vmm vmm = new Vmm(sys, c)) {
            assertThat(vmm.kvm_check_extension(KVM_CAP_COALESCED_MMIO)).isEqualTo(KVM_COALESCED_MMIO_PAGE_OFFSET);
            vmm.mmio.register(BASE, 0x1000, dev);
            if (coalesce) assertThat(vmm.kvm_coalesce_mmio_region(BASE, 0x1000)).isZero();
            vmm.loadImage(storeLoop(n));
            RunResult r = vmm.kvm_run();
            assertThat(r.outcome()).isEqualTo(Outcome.HLT);
            coalesced[0] = vmm.coalescedWrites();
            return r;
        }
    }

    static void assertInOrder(Recorder dev, int n) {
        assertThat(dev.writes).hasSize(n);
        for (int i = 0; i < n; i++) {
            assertThat(dev.writes.get(i)[0]).as("write %d address", i).isEqualTo(BASE + i);
            assertThat(dev.writes.get(i)[1]).isEqualTo(1);
            assertThat(dev.writes.get(i)[2]).as("write %d value", i).isEqualTo(i & 0xff);
        }
    }

    @Test
    void coalesced_writes_reach_the_device_in_order_without_an_exit_each() {
        Recorder dev = new Recorder();
        long[] coalesced = {0};
        RunResult r = run(40, true, dev, coalesced);
        assertInOrder(dev, 40);
        assertThat(r.exitCounts()[KVM_EXIT_MMIO]).isZero();
        assertThat(coalesced[0]).isEqualTo(40);
    }

    /** The same VMM code over the host's /dev/kvm: the host kernel fills the ring the VMM drains. */
    @Test
    void the_host_kvm_coalesces_the_same_writes() {
        Recorder dev = new Recorder();
        long[] coalesced = {0};
        RunResult r;
        try (HostSys sys = Transports.realKvm("CoalescedMmioTest")) {
            r = run(sys, 40, true, dev, coalesced);
        }
        assertInOrder(dev, 40);
        assertThat(r.exitCounts()[KVM_EXIT_MMIO]).isZero();
        assertThat(coalesced[0]).isEqualTo(40);
    }

    @Test
    void without_the_zone_every_write_exits() {
        Recorder dev = new Recorder();
        long[] coalesced = {0};
        RunResult r = run(40, false, dev, coalesced);
        assertInOrder(dev, 40);
        assertThat(r.exitCounts()[KVM_EXIT_MMIO]).isEqualTo(40);
        assertThat(coalesced[0]).isZero();
    }

    /**
     * More writes than the ring holds: when it is (as 2.6.33 counts) full, a write exits as KVM_EXIT_MMIO;
     * the VMM drains the ring before handling that exit, so the order still holds.
     */
    @Test
    void a_full_ring_falls_back_to_an_exit_and_the_order_holds() {
        Recorder dev = new Recorder();
        long[] coalesced = {0};
        RunResult r = run(1000, true, dev, coalesced);
        assertInOrder(dev, 1000);
        long exits = r.exitCounts()[KVM_EXIT_MMIO];
        assertThat(exits).isBetween(1L, 100L);
        assertThat(coalesced[0] + exits).isEqualTo(1000);
    }

    @Test
    void register_and_unregister_answer_like_2_6_33() {
        try (JavaSys sys = Transports.java("CoalescedMmioTest", Backend.SOFT)) {
            Vmm.Config c = new Vmm.Config();
            c.output = new ByteArrayOutputStream();
            try (Vmm vmm = new Vmm(sys, c)) {
                for (int i = 0; i < 100; i++) assertThat(vmm.kvm_coalesce_mmio_region(BASE + 16L * i, 8)).isZero();
                assertThat(vmm.kvm_coalesce_mmio_region(0x200000, 8)).as("KVM_COALESCED_MMIO_ZONE_MAX").isEqualTo(-Errno.ENOBUFS);
                // one range removes every zone inside it
                assertThat(vmm.kvm_uncoalesce_mmio_region(BASE, 0x1000)).isZero();
                assertThat(vmm.kvm_coalesce_mmio_region(0x200000, 8)).isZero();
                assertThat(vmm.kvm_vm_ioctl(KVM_REGISTER_COALESCED_MMIO, 0x10)).isEqualTo(-Errno.EFAULT);
            }
        }
    }
}
