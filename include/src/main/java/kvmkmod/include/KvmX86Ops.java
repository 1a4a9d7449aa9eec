package kvmkmod.include;

/**
 * struct kvm_x86_ops (asm/kvm_host.h): what x86.c asks of the vendor module. vmx.c fills it with
 * vmx_x86_ops; x86.c reaches it through the kvm_x86_ops pointer set by kvm_arch_init. Output pointer
 * parameters of the C members are arrays here ({@code long[] pdata}, {@code int[] db_l}).
 */
public interface KvmX86Ops {
    int cpu_has_kvm_support();
    int disabled_by_bios();
    int hardware_enable(Object garbage);
    void hardware_disable(Object garbage);
    void check_processor_compatibility(int[] rtn);
    int hardware_setup();
    void hardware_unsetup();
    boolean cpu_has_accelerated_tpr();
    void cpuid_update(KvmVcpu vcpu);

    /** Creates, but does not attach, a vCPU; throws {@link ErrPtr} where the C returns ERR_PTR. */
    KvmVcpu vcpu_create(Kvm kvm, int id);
    void vcpu_free(KvmVcpu vcpu);
    int vcpu_reset(KvmVcpu vcpu);

    void prepare_guest_switch(KvmVcpu vcpu);
    void vcpu_load(KvmVcpu vcpu, int cpu);
    void vcpu_put(KvmVcpu vcpu);

    void set_guest_debug(KvmVcpu vcpu, Object dbg);
    int get_msr(KvmVcpu vcpu, int msr_index, long[] pdata);
    int set_msr(KvmVcpu vcpu, int msr_index, long data);
    long get_segment_base(KvmVcpu vcpu, int seg);
    void get_segment(KvmVcpu vcpu, KvmSegment var, int seg);
    int get_cpl(KvmVcpu vcpu);
    void set_segment(KvmVcpu vcpu, KvmSegment var, int seg);
    void get_cs_db_l_bits(KvmVcpu vcpu, int[] db_l);
    void decache_cr4_guest_bits(KvmVcpu vcpu);
    void set_cr0(KvmVcpu vcpu, long cr0);
    void set_cr3(KvmVcpu vcpu, long cr3);
    void set_cr4(KvmVcpu vcpu, long cr4);
    void set_efer(KvmVcpu vcpu, long efer);
    void get_idt(KvmVcpu vcpu, DescriptorTable dt);
    void set_idt(KvmVcpu vcpu, DescriptorTable dt);
    void get_gdt(KvmVcpu vcpu, DescriptorTable dt);
    void set_gdt(KvmVcpu vcpu, DescriptorTable dt);
    long get_dr(KvmVcpu vcpu, int dr);
    void set_dr(KvmVcpu vcpu, int dr, long value, int[] exception);
    void cache_reg(KvmVcpu vcpu, int reg);
    long get_rflags(KvmVcpu vcpu);
    void set_rflags(KvmVcpu vcpu, long rflags);

    void tlb_flush(KvmVcpu vcpu);

    void run(KvmVcpu vcpu);
    int handle_exit(KvmVcpu vcpu);
    void skip_emulated_instruction(KvmVcpu vcpu);
    void set_interrupt_shadow(KvmVcpu vcpu, int mask);
    int get_interrupt_shadow(KvmVcpu vcpu, int mask);
    void patch_hypercall(KvmVcpu vcpu, byte[] hypercall_addr);
    void set_irq(KvmVcpu vcpu);
    void set_nmi(KvmVcpu vcpu);
    void queue_exception(KvmVcpu vcpu, int nr, boolean has_error_code, int error_code);
    int interrupt_allowed(KvmVcpu vcpu);
    int nmi_allowed(KvmVcpu vcpu);
    boolean get_nmi_mask(KvmVcpu vcpu);
    void set_nmi_mask(KvmVcpu vcpu, boolean masked);
    void enable_nmi_window(KvmVcpu vcpu);
    void enable_irq_window(KvmVcpu vcpu);
    void update_cr8_intercept(KvmVcpu vcpu, int tpr, int irr);
    int set_tss_addr(Kvm kvm, int addr);
    int get_tdp_level();
    long get_mt_mask(KvmVcpu vcpu, long gfn, boolean is_mmio);
    boolean gb_page_enable();

    /** exit_reasons_str: the name of a VMX exit reason for tracing, or null. */
    String exit_reason_str(int exit_reason);
}
