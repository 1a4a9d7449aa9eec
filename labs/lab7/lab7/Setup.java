package lab7;

import kvmkmod.vmx.KvmIntel;

/**
 * Lab 7, part 2: the kvm-intel parameters the grader loads the module with before it runs the paging guest
 * shadow-pt. Choose them so that KVM shadows the guest's page tables and every write the guest makes to one
 * of them, its leaf table included, is emulated and handed to kvm_mmu_pte_write.
 * Grade with:  mvn -q -pl docs -am compile -Dlab=7
 */
public final class Setup {
    private Setup() {}

    public static void configure(KvmIntel.Params params) {
        // Your code.
    }
}
