package kvmkmod.include;

import java.nio.ByteBuffer;

/**
 * struct kvm_run (linux/kvm.h): the page shared by the kernel and the userspace VMM through mmap of the
 * vCPU fd. Because both sides read it in place, this class is a view over that memory rather than a
 * copy: each field is an accessor pair named after the C field ({@code run.exit_reason()} reads,
 * {@code run.exit_reason(v)} writes), and each union member is a nested view ({@code run.io.port()}).
 * Offsets are those of x86_64; bytes 1..7 are padding in 2.6.33 (later kernels put immediate_exit at 1).
 */
public final class KvmRun {
    public static final int SIZE = 288;
    static final int UNION = 32;

    private final ByteBuffer b;
    private final int o;

    public final Hw hw;
    public final FailEntry fail_entry;
    public final Ex ex;
    public final Io io;
    public final Debug debug;
    public final Mmio mmio;
    public final Internal internal;
    public final Hypercall hypercall;

    /** A view of the kvm_run structure at {@code off} in {@code buf} (little-endian). */
    public KvmRun(ByteBuffer buf, int off) {
        this.b = buf;
        this.o = off;
        this.hw = new Hw();
        this.fail_entry = new FailEntry();
        this.ex = new Ex();
        this.io = new Io();
        this.debug = new Debug();
        this.mmio = new Mmio();
        this.internal = new Internal();
        this.hypercall = new Hypercall();
    }

    public ByteBuffer buffer() { return b; }

    public int request_interrupt_window() { return b.get(o) & 0xff; }
    public void request_interrupt_window(int v) { b.put(o, (byte) v); }
    /** Byte 1: padding in 2.6.33, immediate_exit in later kernels (used only with the host's /dev/kvm). */
    public int immediate_exit() { return b.get(o + 1) & 0xff; }
    public void immediate_exit(int v) { b.put(o + 1, (byte) v); }
    public int exit_reason() { return b.getInt(o + 8); }
    public void exit_reason(int v) { b.putInt(o + 8, v); }
    public int ready_for_interrupt_injection() { return b.get(o + 12) & 0xff; }
    public void ready_for_interrupt_injection(int v) { b.put(o + 12, (byte) v); }
    public int if_flag() { return b.get(o + 13) & 0xff; }
    public void if_flag(int v) { b.put(o + 13, (byte) v); }
    public long cr8() { return b.getLong(o + 16); }
    public void cr8(long v) { b.putLong(o + 16, v); }
    public long apic_base() { return b.getLong(o + 24); }
    public void apic_base(long v) { b.putLong(o + 24, v); }

    /** The hypercall member: u64 nr, u64 args[6], u64 ret, u32 longmode (KVM_EXIT_HYPERCALL, which 2.6.33 never raises). */
    public final class Hypercall {
        public long nr() { return b.getLong(o + UNION); }
        public long ret() { return b.getLong(o + UNION + 56); }
        public void ret(long v) { b.putLong(o + UNION + 56, v); }
    }

    /** The hw member: an exit reason the kernel could not handle. */
    public final class Hw {
        public long hardware_exit_reason() { return b.getLong(o + UNION); }
        public void hardware_exit_reason(long v) { b.putLong(o + UNION, v); }
    }

    /** The fail_entry member: why VM entry failed. */
    public final class FailEntry {
        public long hardware_entry_failure_reason() { return b.getLong(o + UNION); }
        public void hardware_entry_failure_reason(long v) { b.putLong(o + UNION, v); }
    }

    /** The ex member: an exception reported to userspace. */
    public final class Ex {
        public int exception() { return b.getInt(o + UNION); }
        public void exception(int v) { b.putInt(o + UNION, v); }
        public int error_code() { return b.getInt(o + UNION + 4); }
        public void error_code(int v) { b.putInt(o + UNION + 4, v); }
    }

    /** The io member: a port access for userspace; the data sit at {@code data_offset} from the start of kvm_run. */
    public final class Io {
        public int direction() { return b.get(o + UNION) & 0xff; }
        public void direction(int v) { b.put(o + UNION, (byte) v); }
        public int size() { return b.get(o + UNION + 1) & 0xff; }
        public void size(int v) { b.put(o + UNION + 1, (byte) v); }
        public int port() { return b.getShort(o + UNION + 2) & 0xffff; }
        public void port(int v) { b.putShort(o + UNION + 2, (short) v); }
        public int count() { return b.getInt(o + UNION + 4); }
        public void count(int v) { b.putInt(o + UNION + 4, v); }
        public long data_offset() { return b.getLong(o + UNION + 8); }
        public void data_offset(long v) { b.putLong(o + UNION + 8, v); }
    }

    /** The debug member (struct kvm_debug_exit_arch). */
    public final class Debug {
        public int exception() { return b.getInt(o + UNION); }
        public void exception(int v) { b.putInt(o + UNION, v); }
        public long pc() { return b.getLong(o + UNION + 8); }
        public void pc(long v) { b.putLong(o + UNION + 8, v); }
        public long dr6() { return b.getLong(o + UNION + 16); }
        public void dr6(long v) { b.putLong(o + UNION + 16, v); }
        public long dr7() { return b.getLong(o + UNION + 24); }
        public void dr7(long v) { b.putLong(o + UNION + 24, v); }
    }

    /** The mmio member: a guest access to memory no memslot backs. */
    public final class Mmio {
        public long phys_addr() { return b.getLong(o + UNION); }
        public void phys_addr(long v) { b.putLong(o + UNION, v); }
        /** Offset of data[8] within the buffer, for byte-wise copies. */
        public int data_offset() { return o + UNION + 8; }
        public long data() { return b.getLong(o + UNION + 8); }
        public void data(long v) { b.putLong(o + UNION + 8, v); }
        public int len() { return b.getInt(o + UNION + 16); }
        public void len(int v) { b.putInt(o + UNION + 16, v); }
        public int is_write() { return b.get(o + UNION + 20) & 0xff; }
        public void is_write(int v) { b.put(o + UNION + 20, (byte) v); }
    }

    /** The internal member: KVM_EXIT_INTERNAL_ERROR details. */
    public final class Internal {
        public static final int MAX_DATA = 16;
        public int suberror() { return b.getInt(o + UNION); }
        public void suberror(int v) { b.putInt(o + UNION, v); }
        public int ndata() { return b.getInt(o + UNION + 4); }
        public void ndata(int v) { b.putInt(o + UNION + 4, v); }
        public long data(int i) { return b.getLong(o + UNION + 8 + 8 * i); }
        public void data(int i, long v) { b.putLong(o + UNION + 8 + 8 * i, v); }
    }
}
