package kvmkmod.include;

/** struct kvm_pio_request (asm/kvm_host.h): the port I/O in flight between an exit and its completion. */
public final class KvmPioRequest {
    public long count;
    public int cur_count;
    public long guest_gva;
    public int in;
    public int port;
    public int size;
    public int string;
    public int down;
    public int rep;
}
