package kvmkmod.x86;

import kvmkmod.include.KvmVcpu;
import kvmkmod.include.KvmX86Ops;
import kvmkmod.kvm_main.KvmMain;

/** arch/x86/kvm/x86.c. (Being written: the API vmx.c calls.) */
public final class X86 {
    public final KvmMain kvm_main;
    /** The vendor module's operations, set by kvm_arch_init. */
    public KvmX86Ops kvm_x86_ops;
    public final Mmu mmu;

    public X86(KvmMain kvm_main) { this.kvm_main = kvm_main; this.mmu = new Mmu(this); }

    // kvm_cache_regs.h
    public long kvm_register_read(KvmVcpu vcpu, int reg) { throw new UnsupportedOperationException(); }
    public void kvm_register_write(KvmVcpu vcpu, int reg, long val) { throw new UnsupportedOperationException(); }
    public long kvm_rip_read(KvmVcpu vcpu) { throw new UnsupportedOperationException(); }
    public void kvm_rip_write(KvmVcpu vcpu, long val) { throw new UnsupportedOperationException(); }

    // x86.c
    public void kvm_define_shared_msr(int slot, int msr) { throw new UnsupportedOperationException(); }
    public void kvm_set_shared_msr(int slot, long value, long mask) { throw new UnsupportedOperationException(); }
    public void kvm_queue_exception(KvmVcpu vcpu, int nr) { throw new UnsupportedOperationException(); }
    public void kvm_queue_exception_e(KvmVcpu vcpu, int nr, int error_code) { throw new UnsupportedOperationException(); }
    public void kvm_inject_gp(KvmVcpu vcpu, int error_code) { throw new UnsupportedOperationException(); }
    public void kvm_set_cr0(KvmVcpu vcpu, long cr0) { throw new UnsupportedOperationException(); }
    public void kvm_lmsw(KvmVcpu vcpu, long msw) { throw new UnsupportedOperationException(); }
    public void kvm_set_cr3(KvmVcpu vcpu, long cr3) { throw new UnsupportedOperationException(); }
    public void kvm_set_cr4(KvmVcpu vcpu, long cr4) { throw new UnsupportedOperationException(); }
    public void kvm_set_cr8(KvmVcpu vcpu, long cr8) { throw new UnsupportedOperationException(); }
    public long kvm_get_cr8(KvmVcpu vcpu) { throw new UnsupportedOperationException(); }
    public void kvm_enable_efer_bits(long mask) { throw new UnsupportedOperationException(); }
    public int kvm_set_msr_common(KvmVcpu vcpu, int msr, long data) { throw new UnsupportedOperationException(); }
    public int kvm_get_msr_common(KvmVcpu vcpu, int msr, long[] pdata) { throw new UnsupportedOperationException(); }
    public int kvm_emulate_pio(KvmVcpu vcpu, int in, int size, int port) { throw new UnsupportedOperationException(); }
    public int kvm_emulate_halt(KvmVcpu vcpu) { throw new UnsupportedOperationException(); }
    public void kvm_emulate_cpuid(KvmVcpu vcpu) { throw new UnsupportedOperationException(); }
    public void kvm_clear_exception_queue(KvmVcpu vcpu) { vcpu.arch.exception.pending = false; }
    public void kvm_clear_interrupt_queue(KvmVcpu vcpu) { vcpu.arch.interrupt.pending = false; }
    public void kvm_queue_interrupt(KvmVcpu vcpu, int vector, boolean soft) {
        vcpu.arch.interrupt.pending = true;
        vcpu.arch.interrupt.soft = soft;
        vcpu.arch.interrupt.nr = vector;
    }
    public boolean kvm_vcpu_is_bsp(KvmVcpu vcpu) { return vcpu.kvm.bsp_vcpu == vcpu; }
}
