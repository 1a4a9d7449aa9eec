package kvmkmod.include.trace;

import kvmkmod.include.Origin;
import kvmkmod.include.Origin.Status;

/**
 * A miniature of the KVM_RUN path for the tracer's tests: each method says which C function it
 * stands for, some through {@link Origin#function()}. First loaded only after the agent is installed.
 */
final class GraphFixture {
    int exits;

    @Origin(file = "virt/kvm/kvm_main.c", line = 1257)
    long kvm_vcpu_ioctl(int ioctl) {
        return kvm_arch_vcpu_ioctl_run();
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 4024)
    int kvm_arch_vcpu_ioctl_run() {
        vcpu_load();
        int r = vcpuRun();
        untracedHelper();
        return r;
    }

    @Origin(file = "virt/kvm/kvm_main.c", line = 106)
    void vcpu_load() {}

    @Origin(file = "arch/x86/kvm/x86.c", line = 3951, function = "__vcpu_run")
    int vcpuRun() {
        int r;
        do {
            r = vcpu_enter_guest();
        } while (r > 0);
        return r;
    }

    @Origin(file = "arch/x86/kvm/x86.c", line = 3823, status = Status.SIMPLIFIED, note = "test fixture")
    int vcpu_enter_guest() {
        Ftrace.event("kvm_entry", "vcpu 0");
        exits++;
        Ftrace.event("kvm_exit", "reason IO_INSTRUCTION rip 0x" + Integer.toHexString(0x1000 + exits));
        return exits < 2 ? 1 : 0;
    }

    /** Not mirrored: must not appear in a trace. */
    void untracedHelper() {
        vcpu_load();
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 3494)
    int vmx_handle_exit() {
        return handle_io();
    }

    @Origin(file = "arch/x86/kvm/vmx.c", line = 2888)
    int handle_io() {
        throw new IllegalStateException("injected");
    }

    static final class Vcpu {
        @Origin(file = "arch/x86/kvm/vmx.c", line = 3862, function = "vmx_create_vcpu")
        Vcpu(boolean fail) {
            if (fail) throw new IllegalArgumentException("no memory");
        }
    }

    @Origin(file = "virt/kvm/kvm_main.c", line = 1192)
    Vcpu kvm_vm_ioctl_create_vcpu(boolean fail) {
        return new Vcpu(fail);
    }
}
