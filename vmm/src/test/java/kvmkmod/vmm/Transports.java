package kvmkmod.vmm;

import kvmkmod.hw.Backend;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Opening a transport in a test, or skipping the test with a printed reason when it cannot run here. */
final class Transports {
    private Transports() {}

    /** The host's /dev/kvm, or the test is skipped (printing why). */
    static HostSys realKvm(String test) {
        String why = HostSys.whyNotUsable();
        skipIf(why != null, test, "the host's /dev/kvm is not usable: " + why);
        return new HostSys();
    }

    /**
     * Our KVM module on {@code backend}. Skips the test while a part of the stack is not written yet
     * (UnsupportedOperationException) or the backend's platform cannot start on this machine; any other
     * insmod failure is a real failure and is thrown.
     */
    static JavaSys java(String test, Backend backend) {
        try {
            return JavaSys.create(backend);
        } catch (JavaSys.Unavailable u) {
            boolean skip = u.notImplementedYet() || u.phase == JavaSys.Unavailable.Phase.PLATFORM;
            skipIf(skip, test, u.getMessage());
            throw u;
        }
    }

    static void skipIf(boolean skip, String test, String why) {
        if (skip) System.out.println("[skipped] " + test + ": " + why);
        assumeTrue(!skip, why);
    }
}
