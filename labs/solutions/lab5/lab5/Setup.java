package lab5;

import kvmkmod.hw.VmxCapabilities;
import kvmkmod.vmx.KvmIntel;

/** Lab 5, reference solution: a processor without unrestricted guest, and the module told not to use it. */
public final class Setup {
    private Setup() {}

    public static void configure(VmxCapabilities caps, KvmIntel.Params params) {
        caps.unrestrictedGuest = false;
        params.enable_unrestricted_guest = false;
    }
}
