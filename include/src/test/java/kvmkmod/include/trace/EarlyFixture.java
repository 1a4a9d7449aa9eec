package kvmkmod.include.trace;

import kvmkmod.include.Origin;

/** Loaded and run before the agent is installed, to show that install() retransforms it. */
final class EarlyFixture {
    @Origin(file = "virt/kvm/kvm_main.c", line = 1675)
    static long kvm_dev_ioctl(int ioctl) {
        return kvm_dev_ioctl_create_vm();
    }

    @Origin(file = "virt/kvm/kvm_main.c", line = 1639)
    static int kvm_dev_ioctl_create_vm() {
        return 3;
    }
}
