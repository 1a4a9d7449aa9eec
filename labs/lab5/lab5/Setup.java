package lab5;

import kvmkmod.hw.VmxCapabilities;
import kvmkmod.vmx.KvmIntel;

/**
 * Lab 5: the machine and module parameters the grader uses before it loads kvm-intel and runs the hello
 * guest. Change them so that vmx.c has to run real mode through virtual-8086 mode.
 * Grade with:  mvn -q -pl docs -am compile -Dlab=5
 */
public final class Setup {
    private Setup() {}

    public static void configure(VmxCapabilities caps, KvmIntel.Params params) {
        // Your code.
    }
}
