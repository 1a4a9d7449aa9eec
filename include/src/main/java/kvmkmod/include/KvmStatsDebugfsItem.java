package kvmkmod.include;

import java.util.function.ToLongFunction;

/**
 * struct kvm_stats_debugfs_item (linux/kvm_host.h): one file under debugfs kvm/, named after a counter of
 * struct kvm_vcpu_stat (KVM_STAT_VCPU) or struct kvm_vm_stat (KVM_STAT_VM). The C keeps the field's offset;
 * here the entry keeps a reader of the field.
 */
public final class KvmStatsDebugfsItem {
    public enum Kind { KVM_STAT_VM, KVM_STAT_VCPU }

    public final String name;
    public final Kind kind;
    private final ToLongFunction<Object> field;

    private KvmStatsDebugfsItem(String name, Kind kind, ToLongFunction<Object> field) {
        this.name = name;
        this.kind = kind;
        this.field = field;
    }

    /** VCPU_STAT(x) */
    public static KvmStatsDebugfsItem VCPU_STAT(String name, ToLongFunction<KvmVcpu.KvmVcpuStat> field) {
        return new KvmStatsDebugfsItem(name, Kind.KVM_STAT_VCPU, o -> field.applyAsLong(((KvmVcpu) o).stat));
    }

    /** VM_STAT(x) */
    public static KvmStatsDebugfsItem VM_STAT(String name, ToLongFunction<Kvm.KvmVmStat> field) {
        return new KvmStatsDebugfsItem(name, Kind.KVM_STAT_VM, o -> field.applyAsLong(((Kvm) o).stat));
    }

    /** The counter in one VM or vCPU (the kind says which), as the u32 the C keeps. */
    public long get(Object vmOrVcpu) { return Integer.toUnsignedLong((int) field.applyAsLong(vmOrVcpu)); }
}
