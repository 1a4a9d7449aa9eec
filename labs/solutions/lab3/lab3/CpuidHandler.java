package lab3;

import static kvmkmod.include.KvmVcpuArch.VCPU_REGS_RAX;
import static kvmkmod.include.KvmVcpuArch.VCPU_REGS_RBX;
import static kvmkmod.include.KvmVcpuArch.VCPU_REGS_RCX;
import static kvmkmod.include.KvmVcpuArch.VCPU_REGS_RDX;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.function.ToIntFunction;
import kvmkmod.include.KvmVcpu;
import kvmkmod.x86.X86;

/** Lab 3, reference solution. */
public final class CpuidHandler {
    public static final long LEAF = 0x4b4d0000L;

    private CpuidHandler() {}

    public static int handle_cpuid(X86 x86, KvmVcpu vcpu, ToIntFunction<KvmVcpu> original) {
        if ((x86.kvm_register_read(vcpu, VCPU_REGS_RAX) & 0xffffffffL) != LEAF) return original.applyAsInt(vcpu);
        ByteBuffer sig = ByteBuffer.wrap("KvmKmodJava!".getBytes(StandardCharsets.US_ASCII)).order(ByteOrder.LITTLE_ENDIAN);
        x86.kvm_register_write(vcpu, VCPU_REGS_RAX, 0);
        x86.kvm_register_write(vcpu, VCPU_REGS_RBX, sig.getInt(0) & 0xffffffffL);
        x86.kvm_register_write(vcpu, VCPU_REGS_RCX, sig.getInt(4) & 0xffffffffL);
        x86.kvm_register_write(vcpu, VCPU_REGS_RDX, sig.getInt(8) & 0xffffffffL);
        x86.kvm_x86_ops.skip_emulated_instruction(vcpu);
        return 1;
    }
}
