package kvmkmod.vmm;

import kvmkmod.hw.Backend;
import kvmkmod.hw.Platform;
import kvmkmod.include.Errno;
import kvmkmod.include.Kernel;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The {@link JavaSys} transport and the VMM over it, with a scripted test double of the module
 * ({@link FakeKvm}) standing in for KvmIntel until that can be loaded.
 */
class JavaSysTest {

    private static JavaSys fakeSys(FakeKvm[] fake) {
        Kernel k;
        try {
            k = new Kernel(Platform.create(Backend.SOFT));
        } catch (RuntimeException e) {
            Transports.skipIf(true, "JavaSysTest", "the soft platform cannot start: " + e.getMessage());
            throw e;
        }
        fake[0] = new FakeKvm(k);
        JavaSys sys = JavaSys.over(k, fake[0], "fake kvm");
        fake[0].attach(sys.vfs());
        return sys;
    }

    @Test
    void systemCallsAnswerLikeLinux() {
        FakeKvm[] fake = new FakeKvm[1];
        try (JavaSys sys = fakeSys(fake)) {
            assertThat(sys.open("/dev/nothing")).isEqualTo(-Errno.ENOENT);
            assertThat(sys.ioctl(99, 0, 0)).isEqualTo(-Errno.EBADF);
            long va = sys.mmapAnonymous(8192);
            assertThat(va).isPositive();
            assertThat(va & 4095).isZero();
            ByteBuffer b = sys.buffer(va + 4096, 16);
            b.putLong(0, 0x1122334455667788L);
            assertThat(sys.buffer(va, 8192).getLong(4096)).isEqualTo(0x1122334455667788L);
            assertThat(sys.buffer(va, 8192).get(4096)).isEqualTo((byte) 0x88);   // little-endian
            int efd = sys.eventfd(3);
            assertThat(efd).isPositive();
            assertThat(sys.read(efd, va, 8)).isEqualTo(8);
            assertThat(sys.buffer(va, 8).getLong(0)).isEqualTo(3);
            assertThat(sys.read(efd, va, 8)).isEqualTo(-Errno.EAGAIN);
            assertThat(sys.close(efd)).isZero();
            assertThat(sys.close(efd)).isEqualTo(-Errno.EBADF);
        }
    }

    @Test
    void theVmmRunsOverTheJavaTransport() {
        FakeKvm[] fake = new FakeKvm[1];
        try (JavaSys sys = fakeSys(fake)) {
            FakeKvm f = fake[0];
            f.script.add(new FakeKvm.Step("KERNEL_OUT", 0x500, 1, 1));
            f.script.add(new FakeKvm.Step("OUT", 0x3f8, 1, 'J'));
            f.script.add(new FakeKvm.Step("KERNEL_OUT", 0x500, 1, 2));
            f.script.add(new FakeKvm.Step("IN", 0x510, 4, 0));
            f.script.add(new FakeKvm.Step("HLT", 0, 0, 0));
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            Vmm.Config c = new Vmm.Config();
            c.output = out;
            c.valuePortValue = 0xcafe;
            try (Vmm vmm = new Vmm(sys, c)) {
                assertThat(f.memSlotSize).isEqualTo(1 << 20);
                assertThat(vmm.ioeventfdRegistered()).isTrue();
                vmm.loadImage(new byte[] {(byte) 0xf4});
                assertThat(f.regs.rip).isEqualTo(0x7c00);
                assertThat(f.regs.rflags).isEqualTo(2);
                assertThat(f.sregs.cs.selector).isZero();
                RunResult r = vmm.kvm_run();
                assertThat(r.outcome()).isEqualTo(Outcome.HLT);
                assertThat(out.toString()).isEqualTo("J");
                assertThat(r.ioeventfdCount()).isEqualTo(2);
                assertThat(r.exitLog()).extracting(Object::toString).containsExactly(
                        "IO out port=0x3f8 size=1 count=1 data=4a",
                        "IO in port=0x510 size=4 count=1 data=feca0000", "HLT");
                assertThat(r.regs().rax()).isEqualTo(0xcafe);
            }
        }
    }

    @Test
    void aRunawayGuestIsStoppedFromAnotherThread() throws Exception {
        FakeKvm[] fake = new FakeKvm[1];
        try (JavaSys sys = fakeSys(fake)) {
            fake[0].script.add(new FakeKvm.Step("OUT", 0x3f8, 1, 'x'));
            fake[0].script.add(new FakeKvm.Step("SPIN", 0, 0, 0));
            Vmm.Config c = new Vmm.Config();
            c.output = new ByteArrayOutputStream();
            try (Vmm vmm = new Vmm(sys, c)) {
                vmm.loadImage(new byte[] {(byte) 0xf4});
                Thread stopper = new Thread(() -> {
                    try { Thread.sleep(100); } catch (InterruptedException ignored) { }
                    vmm.requestStop();
                });
                stopper.start();
                RunResult r = vmm.kvm_run();
                stopper.join();
                assertThat(r.outcome()).isEqualTo(Outcome.STOPPED);
                assertThat(r.exits()).isEqualTo(1);
                assertThat(r.interrupted()).isGreaterThanOrEqualTo(1);
                assertThat(Thread.currentThread().isInterrupted()).as("interrupt left pending").isFalse();
            }
        }
    }
}
