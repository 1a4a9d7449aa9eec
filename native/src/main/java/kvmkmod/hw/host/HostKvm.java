package kvmkmod.hw.host;

/** Placeholder until the host backend lands. */
public final class HostKvm {
    private HostKvm() {}
    public static boolean usable() { return false; }
    public static String whyNotUsable() { return "host backend not built yet"; }
}
