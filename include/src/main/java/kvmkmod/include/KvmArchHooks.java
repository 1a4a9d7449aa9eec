package kvmkmod.include;

/**
 * The kvm_arch_* functions that virt/kvm/kvm_main.c calls and an architecture (here arch/x86/kvm/x86.c)
 * provides — declared in linux/kvm_host.h and resolved by the linker in C; here kvm_main holds an
 * implementation of this interface, given to it when kvm.ko is assembled.
 */
public interface KvmArchHooks {
    int kvm_arch_init(KvmX86Ops opaque);
    /** x86.c's KVM_GET_DIRTY_LOG: copies the bitmap, then write-protects the slot and clears it. */
    int kvm_vm_ioctl_get_dirty_log(Kvm kvm, KvmDirtyLog log);
    void kvm_arch_exit();
    int kvm_arch_hardware_enable(Object garbage);
    void kvm_arch_hardware_disable(Object garbage);
    int kvm_arch_hardware_setup();
    void kvm_arch_hardware_unsetup();
    void kvm_arch_check_processor_compat(int[] rtn);

    /** Throws {@link ErrPtr} where the C returns ERR_PTR. */
    Kvm kvm_arch_create_vm();
    void kvm_arch_destroy_vm(Kvm kvm);
    void kvm_arch_sync_events(Kvm kvm);

    KvmVcpu kvm_arch_vcpu_create(Kvm kvm, int id);
    int kvm_arch_vcpu_setup(KvmVcpu vcpu);
    void kvm_arch_vcpu_destroy(KvmVcpu vcpu);
    int kvm_arch_vcpu_init(KvmVcpu vcpu);
    void kvm_arch_vcpu_uninit(KvmVcpu vcpu);
    void kvm_arch_vcpu_load(KvmVcpu vcpu, int cpu);
    void kvm_arch_vcpu_put(KvmVcpu vcpu);
    int kvm_arch_vcpu_runnable(KvmVcpu vcpu);

    int kvm_arch_vcpu_ioctl_run(KvmVcpu vcpu, KvmRun kvm_run);
    int kvm_arch_vcpu_ioctl_get_regs(KvmVcpu vcpu, KvmRegs regs);
    int kvm_arch_vcpu_ioctl_set_regs(KvmVcpu vcpu, KvmRegs regs);
    int kvm_arch_vcpu_ioctl_get_sregs(KvmVcpu vcpu, KvmSregs sregs);
    int kvm_arch_vcpu_ioctl_set_sregs(KvmVcpu vcpu, KvmSregs sregs);
    /** The generic vCPU ioctls kvm_main.c hands to the architecture; -EINVAL where an arch has none. */
    default int kvm_arch_vcpu_ioctl_get_mpstate(KvmVcpu vcpu, int[] mp_state) { return -Errno.EINVAL; }
    default int kvm_arch_vcpu_ioctl_set_mpstate(KvmVcpu vcpu, int mp_state) { return -Errno.EINVAL; }
    default int kvm_arch_vcpu_ioctl_translate(KvmVcpu vcpu, KvmTranslation tr) { return -Errno.EINVAL; }
    default int kvm_arch_vcpu_ioctl_get_fpu(KvmVcpu vcpu, KvmFpu fpu) { return -Errno.EINVAL; }
    default int kvm_arch_vcpu_ioctl_set_fpu(KvmVcpu vcpu, KvmFpu fpu) { return -Errno.EINVAL; }
    default int kvm_arch_vcpu_ioctl_set_guest_debug(KvmVcpu vcpu, KvmGuestDebug dbg) { return -Errno.EINVAL; }
    long kvm_arch_vcpu_ioctl(File filp, int ioctl, long arg);
    long kvm_arch_vm_ioctl(File filp, int ioctl, long arg);
    long kvm_arch_dev_ioctl(File filp, int ioctl, long arg);
    int kvm_dev_ioctl_check_extension(long ext);

    int kvm_arch_set_memory_region(Kvm kvm, KvmUserspaceMemoryRegion mem, KvmMemorySlot old, int user_alloc);
    void kvm_arch_flush_shadow(Kvm kvm);

    /** x86.c's debugfs_entries[]: the counters kvm_init_debug publishes under debugfs kvm/. */
    default KvmStatsDebugfsItem[] debugfs_entries() { return new KvmStatsDebugfsItem[0]; }
}
