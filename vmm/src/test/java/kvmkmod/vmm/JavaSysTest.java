package kvmkmod.vmm;

import kvmkmod.hw.Backend;
import kvmkmod.include.Errno;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;

import static org.assertj.core.api.Assertions.assertThat;

/** The {@link JavaSys} transport over our module on the soft processor, and the VMM over it. */
class JavaSysTest {

    @Test
    void systemCallsAnswerLikeLinux() {
        try (JavaSys sys = Transports.java("JavaSysTest", Backend.SOFT)) {
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
        try (JavaSys sys = Transports.java("JavaSysTest", Backend.SOFT)) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            Vmm.Config c = new Vmm.Config();
            c.output = out;
            c.valuePortValue = 0xcafe;
            try (Vmm vmm = new Vmm(sys, c)) {
                assertThat(vmm.ioeventfdRegistered()).isTrue();
                // out 0x500,al (kernel: ioeventfd); mov al,'J'; mov dx,0x3f8; out dx,al (userspace);
                // out 0x500,al; in eax,dx with dx=0x510 (userspace); hlt
                vmm.loadImage(new byte[] {(byte) 0xb0, 1, (byte) 0xba, 0x00, 0x05, (byte) 0xee,
                        (byte) 0xb0, 'J', (byte) 0xba, (byte) 0xf8, 0x03, (byte) 0xee,
                        (byte) 0xba, 0x00, 0x05, (byte) 0xee,
                        (byte) 0xba, 0x10, 0x05, 0x66, (byte) 0xed, (byte) 0xf4});
                RunResult r = vmm.kvm_run();
                assertThat(r.outcome()).isEqualTo(Outcome.HLT);
                assertThat(out.toString()).isEqualTo("J");
                assertThat(r.ioeventfdCount()).isEqualTo(2);
                assertThat(r.exitLog()).extracting(Object::toString).containsExactly(
                        "IO out port=0x3f8 size=1 count=1 data=4a",
                        "IO in port=0x510 size=4 count=1 data=feca0000", "HLT");
                assertThat(r.regs().rax()).isEqualTo(0xcafe);
                assertThat(r.regs().rip()).isEqualTo(0x7c00 + 22);
            }
        }
    }

    @Test
    void aRunawayGuestIsStoppedFromAnotherThread() throws Exception {
        try (JavaSys sys = Transports.java("JavaSysTest", Backend.SOFT)) {
            Vmm.Config c = new Vmm.Config();
            c.output = new ByteArrayOutputStream();
            try (Vmm vmm = new Vmm(sys, c)) {
                // mov dx,0x3f8; mov al,'x'; out dx,al; jmp $
                vmm.loadImage(new byte[] {(byte) 0xba, (byte) 0xf8, 0x03, (byte) 0xb0, 'x', (byte) 0xee,
                        (byte) 0xeb, (byte) 0xfe});
                Thread stopper = new Thread(() -> {
                    try { Thread.sleep(200); } catch (InterruptedException ignored) { }
                    vmm.requestStop();
                });
                stopper.start();
                RunResult r = vmm.kvm_run();
                stopper.join();
                assertThat(r.outcome()).isEqualTo(Outcome.STOPPED);
                assertThat(r.exits()).isEqualTo(1);
                assertThat(r.interrupted()).isGreaterThanOrEqualTo(1);
                assertThat(r.regs().rip()).isEqualTo(0x7c00 + 6);
                assertThat(Thread.currentThread().isInterrupted()).as("signal left pending").isFalse();
            }
        }
    }

    /**
     * An exit through the whole stack (VMM, kvm_main, x86, vmx, the native processor and back) allocates
     * nothing, on either backend: the exit path is what the benchmark times.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.EnumSource(value = Backend.class, names = {"SOFT", "HOST"})
    void theWholeStackDoesNotAllocatePerExit(Backend backend) {
        java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
        Transports.skipIf(!(mx instanceof com.sun.management.ThreadMXBean), "theWholeStackDoesNotAllocatePerExit",
                "this JVM cannot count allocated bytes per thread");
        com.sun.management.ThreadMXBean tmx = (com.sun.management.ThreadMXBean) mx;
        if (backend == Backend.HOST) Transports.realKvm("theWholeStackDoesNotAllocatePerExit HOST").close();
        try (JavaSys sys = Transports.java("theWholeStackDoesNotAllocatePerExit", backend)) {
            Vmm.Config c = new Vmm.Config();
            c.output = new ByteArrayOutputStream();
            c.recordExits = false;
            try (Vmm vmm = new Vmm(sys, c)) {
                vmm.loadImage(kvmkmod.guests.Guests.load("bench-out").image());
                vmm.maxExits(20_000);
                vmm.kvm_run();                           // warm-up: class loading, first EPT faults, JIT
                long exits = 30_000;
                vmm.maxExits(20_000 + exits);
                long before = tmx.getThreadAllocatedBytes(Thread.currentThread().getId());
                RunResult r = vmm.kvm_run();
                long allocated = tmx.getThreadAllocatedBytes(Thread.currentThread().getId()) - before;
                assertThat(r.outcome()).isEqualTo(Outcome.MAX_EXITS);
                assertThat(allocated).as("bytes allocated for %d exits", exits).isLessThan(exits / 4);
            }
        }
    }
}
