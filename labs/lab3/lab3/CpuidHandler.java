package lab3;

import java.util.function.ToIntFunction;
import kvmkmod.include.KvmVcpu;
import kvmkmod.x86.X86;

/**
 * Lab 3: an exit handler for CPUID (basic exit reason 10) that answers leaf 0x4b4d0000 itself with the
 * signature "KvmKmodJava!" in EBX, ECX and EDX (four ASCII bytes each, first byte lowest), EAX = 0, and
 * hands every other leaf to vmx.c's handle_cpuid ({@code original}).
 * Grade with:  mvn -q -pl docs -am compile -Dlab=3
 */
public final class CpuidHandler {
    public static final long LEAF = 0x4b4d0000L;

    private CpuidHandler() {}

    /** Returns what vmx_handle_exit returns: 1 to enter the guest again, 0 to return to userspace. */
    public static int handle_cpuid(X86 x86, KvmVcpu vcpu, ToIntFunction<KvmVcpu> original) {
        // Your code: answer LEAF here; for now every leaf goes to the original handler.
        return original.applyAsInt(vcpu);
    }
}
