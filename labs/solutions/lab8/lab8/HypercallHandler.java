package lab8;

import static kvmkmod.include.KvmVcpuArch.VCPU_REGS_RAX;
import static kvmkmod.include.KvmVcpuArch.VCPU_REGS_RBX;
import static kvmkmod.include.KvmVcpuArch.VCPU_REGS_RCX;

import java.util.function.ToIntFunction;
import kvmkmod.include.KvmVcpu;
import kvmkmod.x86.X86;

/**
 * Lab 8, reference solution. Outside long mode the hypercall's number and arguments are 32-bit, as
 * kvm_emulate_hypercall reads them (x86.c:3481); the instruction is skipped before the result is written,
 * in handle_vmcall's order.
 */
public final class HypercallHandler {
    public static final long KVM_HC_LAB = 0x4b4d;

    private HypercallHandler() {}

    public static int handle_vmcall(X86 x86, KvmVcpu vcpu, ToIntFunction<KvmVcpu> original) {
        if ((x86.kvm_register_read(vcpu, VCPU_REGS_RAX) & 0xffffffffL) != KVM_HC_LAB) return original.applyAsInt(vcpu);
        long sum = (x86.kvm_register_read(vcpu, VCPU_REGS_RBX) + x86.kvm_register_read(vcpu, VCPU_REGS_RCX)) & 0xffffffffL;
        x86.kvm_x86_ops.skip_emulated_instruction(vcpu);
        x86.kvm_register_write(vcpu, VCPU_REGS_RAX, sum);
        return 1;
    }
}
