package kvmkmod.vmm;

import kvmkmod.hw.Backend;
import kvmkmod.include.Errno;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

import static kvmkmod.include.Kvm_h.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The same misuse of the signal-mask and coalesced-MMIO ioctls on the host's /dev/kvm and on ours: where
 * today's kernel still behaves as 2.6.33 did, the answers must be the same.
 */
class ApiErrnoTest {

    /** The answers of one kernel, in order. */
    static List<Long> answers(Sys sys) {
        List<Long> a = new ArrayList<>();
        int kvm = sys.open("/dev/kvm");
        assertThat(kvm).isGreaterThanOrEqualTo(0);
        int vm = (int) sys.ioctl(kvm, KVM_CREATE_VM, 0);
        assertThat(vm).isGreaterThanOrEqualTo(0);
        long arg = sys.mmapAnonymous(4096);
        ByteBuffer b = sys.buffer(arg, 4096);
        // RAM and the vm86 TSS first, as a VMM of the time set them up before its vCPUs
        long ram = sys.mmapAnonymous(1 << 20);
        kvmkmod.include.KvmUserspaceMemoryRegion m = new kvmkmod.include.KvmUserspaceMemoryRegion();
        m.memory_size = 1 << 20;
        m.userspace_addr = ram;
        m.write(b, 0);
        assertThat(sys.ioctl(vm, KVM_SET_USER_MEMORY_REGION, arg)).isZero();
        assertThat(sys.ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000L)).isZero();
        int vcpu = (int) sys.ioctl(vm, KVM_CREATE_VCPU, 0);
        assertThat(vcpu).isGreaterThanOrEqualTo(0);

        a.add(sys.ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_MMIO));
        b.putInt(0, 4);
        a.add(sys.ioctl(vcpu, KVM_SET_SIGNAL_MASK, arg));          // len is not sizeof(sigset_t)
        a.add(sys.ioctl(vcpu, KVM_SET_SIGNAL_MASK, 0x10));         // unreadable
        b.putInt(0, 8);
        b.putLong(4, 0);
        a.add(sys.ioctl(vcpu, KVM_SET_SIGNAL_MASK, arg));
        a.add(sys.ioctl(vm, KVM_REGISTER_COALESCED_MMIO, 0x10));   // unreadable zone
        b.putLong(0, 0x100000);
        b.putInt(8, 0x1000);
        b.putInt(12, 0);
        a.add(sys.ioctl(vm, KVM_REGISTER_COALESCED_MMIO, arg));
        a.add(sys.ioctl(vm, KVM_UNREGISTER_COALESCED_MMIO, arg));
        a.add(sys.ioctl(vm, KVM_UNREGISTER_COALESCED_MMIO, 0x10));
        sys.close(vcpu);
        sys.close(vm);
        sys.close(kvm);
        return a;
    }

    @Test
    void ours_answers_as_2_6_33() {
        try (JavaSys sys = Transports.java("ApiErrnoTest", Backend.SOFT)) {
            assertThat(answers(sys)).containsExactly((long) KVM_COALESCED_MMIO_PAGE_OFFSET, (long) -Errno.EINVAL,
                    (long) -Errno.EFAULT, 0L, (long) -Errno.EFAULT, 0L, 0L, (long) -Errno.EFAULT);
        }
    }

    @Test
    void ours_answers_as_the_host_kvm_does() {
        List<Long> host;
        try (HostSys sys = Transports.realKvm("ApiErrnoTest")) {
            host = answers(sys);
        }
        try (JavaSys sys = Transports.java("ApiErrnoTest", Backend.SOFT)) {
            assertThat(answers(sys)).isEqualTo(host);
        }
    }
}
