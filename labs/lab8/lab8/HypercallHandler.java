package lab8;

import java.util.function.ToIntFunction;
import kvmkmod.include.KvmVcpu;
import kvmkmod.x86.X86;

/**
 * Lab 8: an exit handler for VMCALL (basic exit reason 18) that answers hypercall number 0x4b4d itself,
 * returning RBX + RCX in RAX, and hands every other number to vmx.c's handle_vmcall ({@code original}).
 * Grade with:  mvn -q -pl docs -am compile -Dlab=8
 */
public final class HypercallHandler {
    public static final long KVM_HC_LAB = 0x4b4d;

    private HypercallHandler() {}

    /** Returns what vmx_handle_exit returns: 1 to enter the guest again, 0 to return to userspace. */
    public static int handle_vmcall(X86 x86, KvmVcpu vcpu, ToIntFunction<KvmVcpu> original) {
        // Your code: answer KVM_HC_LAB here; for now every number goes to the original handler.
        return original.applyAsInt(vcpu);
    }
}
