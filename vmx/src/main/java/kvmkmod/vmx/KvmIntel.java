package kvmkmod.vmx;

import kvmkmod.include.Errno;
import kvmkmod.include.Kernel;
import kvmkmod.kvm_main.KvmMain;
import kvmkmod.x86.X86;

/**
 * Loading and unloading kvm.ko and kvm-intel.ko into a {@link Kernel}: {@code insmod} links kvm.ko
 * (kvm_main.c with x86.c as its architecture) and runs kvm-intel's module init, vmx_init → kvm_init → ...,
 * which registers /dev/kvm; {@link #close()} is rmmod (vmx_exit).
 */
public final class KvmIntel implements AutoCloseable {
    /** Module parameters of kvm-intel with 2.6.33's names and defaults (vmx.c:44-62). */
    public static final class Params {
        public boolean enable_vpid = true;
        public boolean flexpriority_enabled = true;
        public boolean enable_ept = true;
        public boolean enable_unrestricted_guest = true;
        public boolean emulate_invalid_guest_state = false;
        /** PAUSE-loop exiting (vmx.c's ple_gap and ple_window parameters); ple_gap 0 turns it off. */
        public int ple_gap = VmxDefs.KVM_VMX_DEFAULT_PLE_GAP;
        public int ple_window = VmxDefs.KVM_VMX_DEFAULT_PLE_WINDOW;
        public boolean bypass_guest_pf = true;
        /** kvm.ko's mmu.c parameter oos_shadow (default 1), given at the same load. */
        public boolean oos_shadow = true;
    }

    private final KvmMain kvm_main;
    private final Vmx vmx;
    private boolean loaded;

    private KvmIntel(KvmMain kvm_main, Vmx vmx) {
        this.kvm_main = kvm_main;
        this.vmx = vmx;
    }

    /** insmod kvm.ko and kvm-intel.ko; throws {@link IllegalStateException} naming the errno vmx_init returned. */
    public static KvmIntel insmod(Kernel kernel, Params params) {
        KvmMain km = new KvmMain(kernel);
        X86 x86 = new X86(km);
        km.arch = x86;

        Vmx vmx = new Vmx(km, x86);
        vmx.enable_vpid = params.enable_vpid ? 1 : 0;
        vmx.flexpriority_enabled = params.flexpriority_enabled ? 1 : 0;
        vmx.enable_ept = params.enable_ept ? 1 : 0;
        vmx.enable_unrestricted_guest = params.enable_unrestricted_guest ? 1 : 0;
        vmx.emulate_invalid_guest_state = params.emulate_invalid_guest_state ? 1 : 0;
        vmx.ple_gap = params.ple_gap;
        vmx.ple_window = params.ple_window;
        vmx.bypass_guest_pf = params.bypass_guest_pf ? 1 : 0;

        x86.mmu.oos_shadow = params.oos_shadow;

        int r = vmx.vmx_init();
        if (r != 0)
            throw new IllegalStateException("insmod kvm-intel: vmx_init failed with -" + Errno.name(r) + " (" + r + ")");
        KvmIntel m = new KvmIntel(km, vmx);
        m.loaded = true;
        return m;
    }

    public static KvmIntel insmod(Kernel kernel) { return insmod(kernel, new Params()); }

    /** The loaded kvm-intel module (vmx.c's globals and functions). */
    public Vmx vmx() { return vmx; }

    /** The kvm.ko it is linked against. */
    public KvmMain kvm_main() { return kvm_main; }

    /** rmmod: vmx_exit, which ends in kvm_exit. */
    @Override public void close() {
        if (!loaded) return;
        loaded = false;
        vmx.vmx_exit();
    }
}
