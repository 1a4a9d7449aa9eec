package kvmkmod.hw;

/** Which processor sits behind the VMX instructions. */
public enum Backend {
    /** The host's /dev/kvm when it is usable, otherwise the soft CPU. */
    AUTO,
    /** A pure-Java x86 processor in VMX non-root operation. */
    SOFT,
    /** Guest code on the real processor, through the host's /dev/kvm. */
    HOST
}
