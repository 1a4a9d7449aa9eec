package lab7;

import kvmkmod.vmx.KvmIntel;

/**
 * Lab 7, part 2, reference solution: no EPT, so the MMU shadows the guest's tables, and no out-of-sync
 * shadow pages, so a leaf table stays write-protected like the others.
 */
public final class Setup {
    private Setup() {}

    public static void configure(KvmIntel.Params params) {
        params.enable_ept = false;
        params.oos_shadow = false;
    }
}
