package kvmkmod.vmx;

import kvmkmod.hw.Backend;
import kvmkmod.hw.HostMemory;
import kvmkmod.hw.Platform;
import kvmkmod.hw.VmxCapabilities;
import kvmkmod.include.Kernel;
import kvmkmod.include.KvmUserspaceMemoryRegion;
import kvmkmod.include.Vfs;
import org.junit.jupiter.api.Assumptions;

import static kvmkmod.include.Kvm_h.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * What the vmx tests share: a machine of either backend (skipped, with the reason printed, while that
 * processor is not built or not usable here) and the userspace side of /dev/kvm.
 */
final class VmxTestSupport {
    private VmxTestSupport() {}

    static final long GUEST_MEM_SIZE = 1 << 20;
    /** Where qemu-kvm of the era put the vm86 TSS: just above the EPT identity map. */
    static final long TSS_ADDR = 0xfffbd000L;

    /** A 2-processor machine, or the test is skipped saying why (no usable /dev/kvm for HOST, say). */
    static Platform platform(Backend backend, VmxCapabilities caps) {
        try {
            return Platform.create(backend, 2, caps);
        } catch (UnsupportedOperationException | IllegalStateException e) {
            String why = "skipped: the " + backend + " processor is not available here (" + e.getMessage() + ")";
            System.out.println(why);
            Assumptions.abort(why);
            throw e;
        }
    }

    static Platform platform(Backend backend) { return platform(backend, VmxCapabilities.westmere()); }

    /** A loaded kvm-intel on a fresh kernel. */
    static KvmIntel load(Backend backend, VmxCapabilities caps, KvmIntel.Params params) {
        Kernel kernel = new Kernel(platform(backend, caps));
        return KvmIntel.insmod(kernel, params);
    }

    /** Runs {@code body} with the vCPU loaded (vcpu_load/vcpu_put), so that its VMCS is the current one. */
    static void onCpu(KvmIntel m, kvmkmod.include.KvmVcpu v, Runnable body) {
        m.kvm_main().vcpu_load(v);
        try {
            body.run();
        } finally {
            m.kvm_main().vcpu_put(v);
        }
    }

    static KvmIntel load(Backend backend) { return load(backend, VmxCapabilities.westmere(), new KvmIntel.Params()); }

    /** A userspace VMM: /dev/kvm open, one VM with 1 MiB of RAM at guest-physical 0, the TSS placed. */
    static final class Vmm {
        final Vfs p;
        final int kvm;
        final int vm;
        final long mem;
        final HostMemory.Region memRegion;
        final long arg;
        final HostMemory.Region argRegion;

        Vmm(KvmIntel module) {
            p = module.kvm_main().kernel.newProcess();
            kvm = p.open("/dev/kvm");
            assertThat(kvm).as("open /dev/kvm").isGreaterThanOrEqualTo(0);
            vm = (int) p.ioctl(kvm, KVM_CREATE_VM, 0);
            assertThat(vm).as("KVM_CREATE_VM").isGreaterThanOrEqualTo(0);
            arg = p.mmapAnonymous(HostMemory.PAGE_SIZE);
            argRegion = p.mm().regionAtVa(arg, 1);
            mem = p.mmapAnonymous(GUEST_MEM_SIZE);
            memRegion = p.mm().regionAtVa(mem, 1);
        }

        long setMemory(int slot, long gpa, long size, long uaddr) {
            KvmUserspaceMemoryRegion m = new KvmUserspaceMemoryRegion();
            m.slot = slot;
            m.flags = 0;
            m.guest_phys_addr = gpa;
            m.memory_size = size;
            m.userspace_addr = uaddr;
            m.write(argRegion.buf, 0);
            return p.ioctl(vm, KVM_SET_USER_MEMORY_REGION, arg);
        }

        /** Slot 0 = all of RAM, then the TSS address, as qemu-kvm does before its first vCPU. */
        Vmm withMemory() {
            assertThat(setMemory(0, 0, GUEST_MEM_SIZE, mem)).as("KVM_SET_USER_MEMORY_REGION").isZero();
            assertThat(p.ioctl(vm, KVM_SET_TSS_ADDR, TSS_ADDR)).as("KVM_SET_TSS_ADDR").isZero();
            return this;
        }

        void poke(long gpa, byte[] bytes) { memRegion.buf.put((int) gpa, bytes, 0, bytes.length); }
    }
}
