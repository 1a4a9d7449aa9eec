package kvmkmod.x86;

import kvmkmod.include.KvmVcpu;

/** arch/x86/kvm/mmu.c. (Being written: the API vmx.c calls.) */
public final class Mmu {
    final X86 x86;

    Mmu(X86 x86) { this.x86 = x86; }

    public void kvm_mmu_set_nonpresent_ptes(long trap_pte, long notrap_pte) { throw new UnsupportedOperationException(); }
    public void kvm_mmu_set_base_ptes(long base_pte) { throw new UnsupportedOperationException(); }
    public void kvm_mmu_set_mask_ptes(long user_mask, long accessed_mask, long dirty_mask, long nx_mask, long x_mask) { throw new UnsupportedOperationException(); }
    public int kvm_mmu_reset_context(KvmVcpu vcpu) { throw new UnsupportedOperationException(); }
    public int kvm_mmu_page_fault(KvmVcpu vcpu, long cr2, int error_code) { throw new UnsupportedOperationException(); }
    public void kvm_mmu_invlpg(KvmVcpu vcpu, long gva) { throw new UnsupportedOperationException(); }
    public void kvm_enable_tdp() { throw new UnsupportedOperationException(); }
    public void kvm_disable_tdp() { throw new UnsupportedOperationException(); }
    public void kvm_disable_largepages() { throw new UnsupportedOperationException(); }
}
