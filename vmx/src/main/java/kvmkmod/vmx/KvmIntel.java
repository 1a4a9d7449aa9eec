package kvmkmod.vmx;

import kvmkmod.include.Kernel;

/**
 * Loading and unloading kvm.ko and kvm-intel.ko into a {@link Kernel}: {@code insmod} runs the module
 * init path (vmx_init → kvm_init → ...) and registers /dev/kvm; {@link #close()} is rmmod.
 */
public final class KvmIntel implements AutoCloseable {
    /** Module parameters of kvm-intel with 2.6.33's names and defaults. */
    public static final class Params {
        public boolean enable_vpid = true;
        public boolean flexpriority_enabled = true;
        public boolean enable_ept = true;
        public boolean enable_unrestricted_guest = true;
        public boolean emulate_invalid_guest_state = false;
        public boolean bypass_guest_pf = true;
    }

    private KvmIntel() {}

    /** insmod kvm.ko and kvm-intel.ko; throws {@link IllegalStateException} with the init error. */
    public static KvmIntel insmod(Kernel kernel, Params params) { throw new UnsupportedOperationException("not yet"); }

    public static KvmIntel insmod(Kernel kernel) { return insmod(kernel, new Params()); }

    @Override public void close() {}
}
