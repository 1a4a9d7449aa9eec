package kvmkmod.kvm_main;

import kvmkmod.include.Kernel;
import kvmkmod.include.Kvm;
import kvmkmod.include.KvmArchHooks;
import kvmkmod.include.KvmVcpu;
import kvmkmod.include.KvmX86Ops;

/** virt/kvm/kvm_main.c. (Being written: the API vmx.c and x86.c call.) */
public final class KvmMain {
    public final Kernel kernel;
    /** The architecture's kvm_arch_* functions (x86.c), bound when kvm.ko is assembled. */
    public KvmArchHooks arch;

    public KvmMain(Kernel kernel) { this.kernel = kernel; }

    public int kvm_init(KvmX86Ops opaque, int vcpu_size) { throw new UnsupportedOperationException(); }
    public void kvm_exit() { throw new UnsupportedOperationException(); }
    public int kvm_vcpu_init(KvmVcpu vcpu, Kvm kvm, int id) { throw new UnsupportedOperationException(); }
    public void kvm_vcpu_uninit(KvmVcpu vcpu) { throw new UnsupportedOperationException(); }
    public long gfn_to_hva(Kvm kvm, long gfn) { throw new UnsupportedOperationException(); }
    public int kvm_read_guest(Kvm kvm, long gpa, byte[] data, int off, int len) { throw new UnsupportedOperationException(); }
    public int kvm_write_guest(Kvm kvm, long gpa, byte[] data, int off, int len) { throw new UnsupportedOperationException(); }
    public int kvm_clear_guest_page(Kvm kvm, long gfn, int offset, int len) { throw new UnsupportedOperationException(); }
    public int kvm_write_guest_page(Kvm kvm, long gfn, byte[] data, int offset, int len) { throw new UnsupportedOperationException(); }
    public long gfn_to_pfn(Kvm kvm, long gfn) { throw new UnsupportedOperationException(); }
}
