package kvmkmod.vmm;

import kvmkmod.include.Errno;
import kvmkmod.include.KvmCpuidEntry2;
import kvmkmod.include.KvmRegs;
import kvmkmod.include.KvmRun;
import kvmkmod.include.KvmSegment;
import kvmkmod.include.KvmSregs;
import kvmkmod.include.KvmUserspaceMemoryRegion;
import kvmkmod.include.KvmCoalescedMmio;
import kvmkmod.include.trace.Ftrace;

import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import static kvmkmod.include.Kvm_h.*;

/**
 * The userspace half of KVM for one VM with one vCPU, in the role qemu-kvm plays: it opens /dev/kvm,
 * creates the VM, gives it RAM, loads a flat image, creates the vCPU and runs it, handling every exit
 * KVM_RUN returns with. Methods that mirror qemu-kvm 0.12 (kvm-all.c, and qemu-kvm.c where libkvm lived)
 * keep those names; the rest is ordinary Java.
 *
 * <p>Machine layout: RAM is memslot 0 from guest-physical 0, {@link Config#memSize} bytes (1 MiB by
 * default). An image is copied to {@link Config#loadAddr} (0x7c00 by default, where a PC BIOS puts a boot
 * sector) and the vCPU starts in real mode at CS=0 (base 0), IP=load address, FLAGS=2, all other
 * registers zero; the guest sets up its own stack. Devices: the 16550 UART at 0x3f8, the debug port
 * 0xe9, the value port 0x510 and, in the kernel, an ioeventfd on port 0x500.
 *
 * <p>The run loop does not allocate per exit unless the exit log or tracing is on.
 */
public final class Vmm implements AutoCloseable {

    /** How to build the machine. Plain fields with the defaults described on {@link Vmm}. */
    public static final class Config {
        public long memSize = 1 << 20;
        public long loadAddr = 0x7c00;
        /** Stop after this many userspace exits; 0 for no limit. */
        public long maxExits = 0;
        /** What the value port 0x510 returns. */
        public int valuePortValue = 0x1234abcd;
        /** The port given an ioeventfd (in-kernel device); -1 for none. */
        public int ioeventfdPort = 0x500;
        /** Record every exit in the exit log (off for benchmarks). */
        public boolean recordExits = true;
        /** Where the UART and the debug port write. */
        public OutputStream output = System.out;
        public boolean flushOnNewline = true;
        /** Back guest RAM with hugetlbfs (2 MiB) pages, so the MMU can map it with large pages. */
        public boolean hugePages;
        /** Create the RAM slot with KVM_MEM_LOG_DIRTY_PAGES, for {@link Vmm#kvm_get_dirty_log}. */
        public boolean logDirtyPages;
        /** Give the vCPU the CPUID the kernel supports (KVM_GET_SUPPORTED_CPUID, KVM_SET_CPUID2). */
        public boolean cpuid = true;

        public Config copy() {
            Config c = new Config();
            c.memSize = memSize; c.loadAddr = loadAddr; c.maxExits = maxExits; c.valuePortValue = valuePortValue;
            c.ioeventfdPort = ioeventfdPort; c.recordExits = recordExits; c.output = output;
            c.flushOnNewline = flushOnNewline; c.hugePages = hugePages;
            c.flushOnNewline = flushOnNewline; c.cpuid = cpuid; c.logDirtyPages = logDirtyPages;
            return c;
        }
    }

    /** A KVM call during set-up failed; the message names the call and the errno. */
    public static final class VmmException extends RuntimeException {
        public final long errno;
        VmmException(String what, long err) {
            super(what + " failed: " + Errno.name(err));
            this.errno = err;
        }
        VmmException(String msg) {
            super(msg);
            this.errno = 0;
        }
    }

    private static final int ARG_PAGE = 4096;
    private static final int ARG_EVENTFD_BUF = 2048;

    private final Sys sys;
    private final Config cfg;

    private int kvm_fd = -1, vm_fd = -1, vcpu_fd = -1, ioeventfd = -1;
    private long argVa;
    private ByteBuffer arg;
    private long ramVa;
    private ByteBuffer ram;
    private int vcpuMmapSize;
    private ByteBuffer runBuf;
    private KvmRun run;

    public final IoBus pio = new IoBus();
    public final MmioBus mmio = new MmioBus();
    public final Serial16550 serial;
    public final ValuePort valuePort;
    public final CountingPort ioeventfdFallback = new CountingPort();

    /** kvm-all.c KVMState.coalesced_mmio: the ring's page in the vCPU mapping (KVM_CAP_COALESCED_MMIO), 0 without. */
    private int coalesced_mmio;
    private long coalescedWrites;

    private boolean ioeventfdRegistered;
    private String ioeventfdError;
    private long ioeventfdSignals;

    private final long[] exitCounts = new long[EXIT_REASON_SLOTS];
    static final int EXIT_REASON_SLOTS = 32;
    private long exits;
    private long interrupted;
    private final List<ExitEvent> exitLog = new ArrayList<>();
    private volatile boolean stopRequested;

    /**
     * Builds the whole machine: kvm_init, RAM, vCPU, devices and the ioeventfd. Throws
     * {@link VmmException} naming the KVM call that failed.
     */
    public Vmm(Sys sys, Config cfg) {
        this.sys = sys;
        this.cfg = cfg.copy();
        this.serial = new Serial16550(Serial16550.COM1, this.cfg.output, this.cfg.flushOnNewline);
        this.valuePort = new ValuePort(this.cfg.valuePortValue);
        try {
            argVa = check("mmap of the ioctl argument page", sys.mmapAnonymous(ARG_PAGE));
            arg = sys.buffer(argVa, ARG_PAGE);
            kvm_init();
            ramVa = check("mmap of guest RAM", this.cfg.hugePages ? sys.mmapHugetlb(this.cfg.memSize)
                    : sys.mmapAnonymous(this.cfg.memSize));
            ram = sys.buffer(ramVa, (int) this.cfg.memSize);
            check("KVM_SET_USER_MEMORY_REGION", kvm_set_user_memory_region(0, 0, this.cfg.memSize, ramVa,
                    this.cfg.logDirtyPages ? KVM_MEM_LOG_DIRTY_PAGES : 0));
            kvm_init_vcpu();
            if (this.cfg.cpuid) kvm_setup_cpuid();
            pio.register(Serial16550.COM1, 8, serial);
            pio.register(DebugPort.PORT, 1, new DebugPort(this.cfg.output, this.cfg.flushOnNewline));
            pio.register(ValuePort.PORT, ValuePort.LEN, valuePort);
            if (this.cfg.ioeventfdPort >= 0) {
                pio.register(this.cfg.ioeventfdPort, 1, ioeventfdFallback);
                setUpIoeventfd(this.cfg.ioeventfdPort);
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    private static long check(String what, long r) {
        if (r < 0) throw new VmmException(what, r);
        return r;
    }

    // --- the KVM calls, as kvm-all.c wraps them ---------------------------------------------------

    /** kvm-all.c kvm_ioctl: an ioctl on the /dev/kvm fd. */
    public long kvm_ioctl(int type, long arg) { return sys.ioctl(kvm_fd, type, arg); }

    /** kvm-all.c kvm_vm_ioctl: an ioctl on the VM fd. */
    public long kvm_vm_ioctl(int type, long arg) { return sys.ioctl(vm_fd, type, arg); }

    /** kvm-all.c kvm_vcpu_ioctl: an ioctl on the vCPU fd. */
    public long kvm_vcpu_ioctl(int type, long arg) { return sys.ioctl(vcpu_fd, type, arg); }

    /** kvm-all.c kvm_check_extension: KVM_CHECK_EXTENSION on /dev/kvm; 0 when absent. */
    public long kvm_check_extension(int extension) {
        long r = kvm_ioctl(KVM_CHECK_EXTENSION, extension);
        return r < 0 ? 0 : r;
    }

    /** kvm-all.c kvm_init: open /dev/kvm, insist on API version 12, KVM_CREATE_VM. */
    private void kvm_init() {
        int fd = sys.open("/dev/kvm");
        if (fd < 0) throw new VmmException("open /dev/kvm", fd);
        kvm_fd = fd;
        long version = kvm_ioctl(KVM_GET_API_VERSION, 0);
        if (version < 0) throw new VmmException("KVM_GET_API_VERSION", version);
        if (version != KVM_API_VERSION)
            throw new VmmException("KVM API version " + version + " (this VMM speaks " + KVM_API_VERSION + ")");
        vm_fd = (int) check("KVM_CREATE_VM", kvm_ioctl(KVM_CREATE_VM, 0));
        coalesced_mmio = (int) kvm_check_extension(KVM_CAP_COALESCED_MMIO);
    }

    /**
     * kvm-all.c kvm_coalesce_mmio_region: guest writes to {@code [start, start+size)} are queued in the
     * kernel's ring instead of each leaving KVM_RUN; they reach {@link #mmio} when the ring is drained.
     * -ENOSYS when the kernel has no coalesced MMIO.
     */
    public long kvm_coalesce_mmio_region(long start, int size) {
        return coalescedZoneIoctl(KVM_REGISTER_COALESCED_MMIO, start, size);
    }

    /** kvm-all.c kvm_uncoalesce_mmio_region: every zone inside the range goes back to one exit per write. */
    public long kvm_uncoalesce_mmio_region(long start, int size) {
        return coalescedZoneIoctl(KVM_UNREGISTER_COALESCED_MMIO, start, size);
    }

    private long coalescedZoneIoctl(int ioctl, long start, int size) {
        if (coalesced_mmio == 0) return -Errno.ENOSYS;
        KvmCoalescedMmio.Zone zone = new KvmCoalescedMmio.Zone();
        zone.addr = start;
        zone.size = size;
        zone.write(arg, 0);
        return kvm_vm_ioctl(ioctl, argVa);
    }

    /**
     * kvm-all.c kvm_flush_coalesced_mmio_buffer: replays the queued writes, oldest first, to the devices,
     * then hands each slot back to the kernel. Runs after every return from KVM_RUN, before the exit is
     * handled, so the device sees the writes in guest order even when the ring filled and a write exited.
     */
    void kvm_flush_coalesced_mmio_buffer() {
        if (coalesced_mmio == 0) return;
        final ByteBuffer b = runBuf;
        final int ring = coalesced_mmio * 4096;
        int first = b.getInt(ring + KvmCoalescedMmio.RING_FIRST);
        while (first != b.getInt(ring + KvmCoalescedMmio.RING_LAST)) {
            int e = ring + KvmCoalescedMmio.RING_ENTRIES + first * KvmCoalescedMmio.ENTRY_SIZE;
            int len = Math.min(8, Math.max(0, b.getInt(e + KvmCoalescedMmio.ENTRY_LEN)));
            long v = 0;
            for (int i = len - 1; i >= 0; i--) v = (v << 8) | (b.get(e + KvmCoalescedMmio.ENTRY_DATA + i) & 0xff);
            mmio.write(b.getLong(e + KvmCoalescedMmio.ENTRY_PHYS_ADDR), len, v);
            coalescedWrites++;
            // the slot is consumed before the kernel may reuse it (smp_wmb)
            java.lang.invoke.VarHandle.releaseFence();
            first = (first + 1) % KvmCoalescedMmio.KVM_COALESCED_MMIO_MAX;
            b.putInt(ring + KvmCoalescedMmio.RING_FIRST, first);
        }
    }

    /** Writes replayed from the coalesced MMIO ring so far. */
    public long coalescedWrites() { return coalescedWrites; }

    /** kvm-all.c kvm_set_user_memory_region: one memslot, through the argument page. */
    public long kvm_set_user_memory_region(int slot, long guestPhys, long size, long userspaceAddr) {
        return kvm_set_user_memory_region(slot, guestPhys, size, userspaceAddr, 0);
    }

    /** The same with flags, e.g. KVM_MEM_LOG_DIRTY_PAGES to start dirty logging (kvm-all.c kvm_dirty_pages_log_change). */
    public long kvm_set_user_memory_region(int slot, long guestPhys, long size, long userspaceAddr, int flags) {
        KvmUserspaceMemoryRegion mem = new KvmUserspaceMemoryRegion();
        mem.slot = slot;
        mem.flags = flags;
        mem.guest_phys_addr = guestPhys;
        mem.memory_size = size;
        mem.userspace_addr = userspaceAddr;
        mem.write(arg, 0);
        return kvm_vm_ioctl(KVM_SET_USER_MEMORY_REGION, argVa);
    }

    /** Turns dirty logging of guest RAM (slot 0) on or off. */
    public long kvm_log_dirty_pages(boolean on) {
        return kvm_set_user_memory_region(0, 0, cfg.memSize, ramVa, on ? kvmkmod.include.Kvm_h.KVM_MEM_LOG_DIRTY_PAGES : 0);
    }

    /** kvm-all.c kvm_init_vcpu: KVM_CREATE_VCPU 0, then map its kvm_run (size from KVM_GET_VCPU_MMAP_SIZE). */
    private void kvm_init_vcpu() {
        vcpu_fd = (int) check("KVM_CREATE_VCPU", kvm_vm_ioctl(KVM_CREATE_VCPU, 0));
        long size = check("KVM_GET_VCPU_MMAP_SIZE", kvm_ioctl(KVM_GET_VCPU_MMAP_SIZE, 0));
        if (size < KvmRun.SIZE) throw new VmmException("KVM_GET_VCPU_MMAP_SIZE returned " + size + ", less than kvm_run");
        // a ring page outside the mapping cannot be drained: do without coalescing
        if ((coalesced_mmio + 1L) * 4096 > size) coalesced_mmio = 0;
        vcpuMmapSize = (int) size;
        long va = check("mmap of the vCPU fd", sys.mmap(size, vcpu_fd, 0));
        runBuf = sys.buffer(va, vcpuMmapSize);
        run = new KvmRun(runBuf, 0);
    }

    private static final int ARG_DIRTY_BITMAP = 1024;

    /**
     * kvm-all.c kvm_physical_sync_dirty_bitmap, reduced to one slot: KVM_GET_DIRTY_LOG copies the slot's
     * dirty bitmap (one bit per 4 KiB page, bit n = page n of the slot, 64 pages a word) to userspace and
     * clears it. The bitmap comes through the argument page into {@code bitmap}; 0 or -errno.
     */
    public long kvm_get_dirty_log(int slot, long[] bitmap) {
        if (ARG_DIRTY_BITMAP + 8L * bitmap.length > ARG_EVENTFD_BUF)
            throw new VmmException(bitmap.length * 64 + " pages need a larger dirty bitmap than the argument page holds");
        for (int i = 0; i < bitmap.length; i++) arg.putLong(ARG_DIRTY_BITMAP + 8 * i, 0);
        long r = kvm_get_dirty_log(slot, argVa + ARG_DIRTY_BITMAP);
        if (r == 0) for (int i = 0; i < bitmap.length; i++) bitmap[i] = arg.getLong(ARG_DIRTY_BITMAP + 8 * i);
        return r;
    }

    /** The same with the bitmap at any userspace address (which the kernel must be able to write). */
    public long kvm_get_dirty_log(int slot, long bitmapVa) {
        kvmkmod.include.KvmDirtyLog log = new kvmkmod.include.KvmDirtyLog();
        log.slot = slot;
        log.dirty_bitmap = bitmapVa;
        log.write(arg, 0);
        return kvm_vm_ioctl(KVM_GET_DIRTY_LOG, argVa);
    }

    /** The dirty guest-physical page numbers of RAM slot {@code slot}; throws {@link VmmException} with the errno. */
    public List<Long> kvm_get_dirty_log(int slot) {
        int pages = (int) (cfg.memSize >> 12);
        long[] bitmap = new long[(pages + 63) / 64];
        check("KVM_GET_DIRTY_LOG", kvm_get_dirty_log(slot, bitmap));
        List<Long> dirty = new ArrayList<>();
        for (int page = 0; page < pages; page++)
            if ((bitmap[page / 64] >>> (page % 64) & 1) != 0) dirty.add((long) page);
        return dirty;
    }

    /** Room for this many struct kvm_cpuid_entry2 after the struct kvm_cpuid2 header. */
    static final int CPUID_MAX_ENTRIES = 100;

    /**
     * target-i386/kvm.c kvm_arch_init_vcpu, reduced to its core: the vCPU gets every CPUID leaf the
     * kernel supports. Without it a vCPU has an empty CPUID table, and a kernel that checks CR4 and
     * EFER against the guest's CPUID (as later Linux does) refuses CR4.PSE/PAE and EFER.LME.
     */
    private void kvm_setup_cpuid() {
        int bytes = KvmCpuidEntry2.HEADER_SIZE + CPUID_MAX_ENTRIES * KvmCpuidEntry2.SIZE;
        long va = check("mmap of the CPUID table", sys.mmapAnonymous(bytes));
        ByteBuffer b = sys.buffer(va, bytes);
        b.putInt(0, CPUID_MAX_ENTRIES);
        check("KVM_GET_SUPPORTED_CPUID", kvm_ioctl(KVM_GET_SUPPORTED_CPUID, va));
        check("KVM_SET_CPUID2", kvm_vcpu_ioctl(KVM_SET_CPUID2, va));
    }

    /**
     * kvm-all.c kvm_set_ioeventfd_pio_word, generalised to any length: KVM_IOEVENTFD on a port, no
     * datamatch (every write signals). {@code assign=false} removes it.
     */
    public long kvm_set_ioeventfd_pio(int fd, int port, int len, boolean assign) {
        for (int i = 0; i < 64; i += 8) arg.putLong(i, 0);
        arg.putLong(0, 0);                 // datamatch
        arg.putLong(8, port);              // addr
        arg.putInt(16, len);               // len
        arg.putInt(20, fd);                // fd
        arg.putInt(24, KVM_IOEVENTFD_FLAG_PIO | (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN));
        return kvm_vm_ioctl(KVM_IOEVENTFD, argVa);
    }

    static final int KVM_IOEVENTFD_FLAG_DATAMATCH = 1, KVM_IOEVENTFD_FLAG_PIO = 2, KVM_IOEVENTFD_FLAG_DEASSIGN = 4;

    private void setUpIoeventfd(int port) {
        int efd = sys.eventfd(0);
        if (efd < 0) { ioeventfdError = "eventfd: " + Errno.name(efd); return; }
        ioeventfd = efd;
        long r = kvm_set_ioeventfd_pio(efd, port, 1, true);
        if (r < 0) {
            ioeventfdError = "KVM_IOEVENTFD: " + Errno.name(r) + "; OUTs to port 0x" + Integer.toHexString(port)
                    + " come to userspace instead";
            return;
        }
        ioeventfdRegistered = true;
    }

    /** Reads and clears the ioeventfd's counter, adding it to the total signalled so far; returns the total. */
    public long ioeventfdCount() {
        if (ioeventfd < 0) return 0;
        long r = sys.read(ioeventfd, argVa + ARG_EVENTFD_BUF, 8);
        if (r == 8) ioeventfdSignals += arg.getLong(ARG_EVENTFD_BUF);
        return ioeventfdSignals;
    }

    public boolean ioeventfdRegistered() { return ioeventfdRegistered; }

    /** Why the ioeventfd is not in the kernel, or null when it is (or none was asked for). */
    public String ioeventfdError() { return ioeventfdError; }

    // --- registers ---------------------------------------------------------------------------------

    public KvmRegs kvm_get_regs() {
        check("KVM_GET_REGS", kvm_vcpu_ioctl(KVM_GET_REGS, argVa));
        return new KvmRegs().read(arg, 0);
    }

    public void kvm_set_regs(KvmRegs regs) {
        regs.write(arg, 0);
        check("KVM_SET_REGS", kvm_vcpu_ioctl(KVM_SET_REGS, argVa));
    }

    public KvmSregs kvm_get_sregs() {
        check("KVM_GET_SREGS", kvm_vcpu_ioctl(KVM_GET_SREGS, argVa));
        return new KvmSregs().read(arg, 0);
    }

    public void kvm_set_sregs(KvmSregs sregs) {
        sregs.write(arg, 0);
        check("KVM_SET_SREGS", kvm_vcpu_ioctl(KVM_SET_SREGS, argVa));
    }

    // --- the image ---------------------------------------------------------------------------------

    /**
     * Copies a flat image into guest RAM at the configured load address and points the vCPU at it:
     * real mode, every segment selector 0 with base 0, IP = load address, FLAGS = 2 (the reserved bit).
     */
    public void loadImage(byte[] image) {
        long load = cfg.loadAddr;
        if (load < 0 || load + image.length > cfg.memSize)
            throw new VmmException(String.format("image of %d bytes at %#x does not fit in %d bytes of guest RAM",
                    image.length, load, cfg.memSize));
        ram.put((int) load, image);

        KvmSregs sregs = kvm_get_sregs();
        for (KvmSegment s : new KvmSegment[] {sregs.cs, sregs.ds, sregs.es, sregs.fs, sregs.gs, sregs.ss}) {
            s.selector = 0;
            s.base = 0;
        }
        kvm_set_sregs(sregs);

        KvmRegs regs = new KvmRegs();
        regs.rip = load;
        regs.rflags = 2;
        kvm_set_regs(regs);
    }

    /** Guest RAM, position 0 = guest-physical 0. */
    public ByteBuffer ram() { return ram; }

    /** The vCPU's kvm_run page, as mapped. */
    public KvmRun kvmRun() { return run; }

    // --- the run loop ------------------------------------------------------------------------------

    /**
     * Asks a running {@link #kvm_run()} to return {@link Outcome#STOPPED}, from any thread. Three things
     * happen: a flag checked after every exit is set; kvm_run.immediate_exit is set (the host's /dev/kvm
     * then refuses the next entry with -EINTR); and on our Java kernel the thread inside KVM_RUN is sent
     * a signal, so a runaway vCPU leaves KVM_RUN with -EINTR. On the host's /dev/kvm a guest that never
     * exits cannot be stopped (no real signal is sent).
     */
    public void requestStop() {
        // immediate_exit before the flag: the loop resets immediate_exit only after it saw the flag
        if (run != null) run.immediate_exit(1);
        stopRequested = true;
        Thread t = runningThread;
        if (t != null && sys instanceof JavaSys) ((JavaSys) sys).kill(t);
    }

    private volatile Thread runningThread;

    /**
     * qemu-kvm.c kvm_run (kvm-all.c kvm_cpu_exec): KVM_RUN until the guest halts or fails, handling
     * each exit on the way. -EINTR from KVM_RUN means "signal pending": loop again unless a stop was
     * asked for.
     */
    public RunResult kvm_run() {
        runningThread = Thread.currentThread();
        try {
            return kvm_run_loop();
        } finally {
            runningThread = null;
        }
    }

    private RunResult kvm_run_loop() {
        long start = System.nanoTime();
        final KvmRun run = this.run;
        final boolean record = cfg.recordExits;
        Outcome outcome;
        String message = null;
        loop:
        for (;;) {
            if (stopRequested) { outcome = Outcome.STOPPED; break; }
            if (cfg.maxExits > 0 && exits >= cfg.maxExits) { outcome = Outcome.MAX_EXITS; break; }
            long r = sys.ioctl(vcpu_fd, KVM_RUN, 0);
            kvm_flush_coalesced_mmio_buffer();
            if (r < 0) {
                if (r == -Errno.EINTR || r == -Errno.EAGAIN) {
                    interrupted++;
                    // a stop request that raced with the end of the previous run must not refuse every entry
                    if (!stopRequested && run.immediate_exit() != 0) run.immediate_exit(0);
                    continue;
                }
                outcome = Outcome.IOCTL_ERROR;
                message = "KVM_RUN failed: " + Errno.name(r);
                break;
            }
            exits++;
            int reason = run.exit_reason();
            exitCounts[reason >= 0 && reason < EXIT_REASON_SLOTS - 1 ? reason : EXIT_REASON_SLOTS - 1]++;
            switch (reason) {
                case KVM_EXIT_IO: {
                    long dataOffset = run.io.data_offset();
                    int size = run.io.size(), count = run.io.count();
                    if (dataOffset < 0 || size <= 0 || count < 0 || dataOffset + (long) size * count > vcpuMmapSize) {
                        outcome = Outcome.IOCTL_ERROR;
                        message = String.format("KVM_EXIT_IO data (offset %#x, %d x %d bytes) lies outside the %d-byte vCPU mapping",
                                dataOffset, count, size, vcpuMmapSize);
                        break loop;
                    }
                    kvm_handle_io(run.io.port(), (int) dataOffset, run.io.direction(), size, count);
                    if (record || Ftrace.on)
                        note(ExitEvent.io(run.io.direction(), run.io.port(), size, count,
                                hex(runBuf, (int) dataOffset, size * count)), record);
                    continue;
                }
                case KVM_EXIT_MMIO: {
                    handle_mmio(run);
                    if (record || Ftrace.on)
                        note(ExitEvent.mmio(run.mmio.phys_addr(), run.mmio.len(), run.mmio.is_write() != 0,
                                hex(runBuf, run.mmio.data_offset(), Math.min(8, Math.max(0, run.mmio.len())))), record);
                    continue;
                }
                case KVM_EXIT_INTR:
                    if (record || Ftrace.on) note(ExitEvent.other(reason, 0), record);
                    continue;
                case KVM_EXIT_HLT:
                    outcome = Outcome.HLT;
                    break;
                case KVM_EXIT_SHUTDOWN:
                    outcome = Outcome.SHUTDOWN;
                    break;
                case KVM_EXIT_FAIL_ENTRY:
                    outcome = Outcome.FAIL_ENTRY;
                    message = String.format("VM entry failed, hardware_entry_failure_reason %#x",
                            run.fail_entry.hardware_entry_failure_reason());
                    break;
                case KVM_EXIT_INTERNAL_ERROR:
                    outcome = Outcome.INTERNAL_ERROR;
                    message = "KVM internal error, suberror " + run.internal.suberror();
                    break;
                case KVM_EXIT_UNKNOWN:
                    outcome = Outcome.UNKNOWN;
                    message = String.format("unknown exit, hardware_exit_reason %#x", run.hw.hardware_exit_reason());
                    break;
                case KVM_EXIT_EXCEPTION:
                    outcome = Outcome.EXCEPTION;
                    message = String.format("guest exception %d, error code %#x", run.ex.exception(), run.ex.error_code());
                    break;
                default:
                    outcome = Outcome.UNHANDLED_EXIT;
                    message = "exit reason " + ExitEvent.reasonName(reason) + " (" + reason + ") is not handled by this VMM";
                    break;
            }
            if (record || Ftrace.on) note(ExitEvent.other(reason, detail(reason)), record);
            break;
        }
        if (outcome == Outcome.STOPPED) {
            stopRequested = false;
            run.immediate_exit(0);
            Thread.interrupted();   // the stop has been delivered; do not leave it pending
        }
        long elapsed = System.nanoTime() - start;
        Registers regs = Registers.of(kvm_get_regs());
        return new RunResult(outcome, message != null ? message : outcome.description, exits, interrupted,
                exitCounts.clone(), Collections.unmodifiableList(new ArrayList<>(exitLog)), regs,
                ioeventfdCount(), ioeventfdRegistered, ioeventfdFallback.writes(), elapsed);
    }

    private long detail(int reason) {
        switch (reason) {
            case KVM_EXIT_FAIL_ENTRY: return run.fail_entry.hardware_entry_failure_reason();
            case KVM_EXIT_INTERNAL_ERROR: return run.internal.suberror();
            case KVM_EXIT_UNKNOWN: return run.hw.hardware_exit_reason();
            case KVM_EXIT_EXCEPTION: return ((long) run.ex.error_code() << 32) | (run.ex.exception() & 0xffffffffL);
            default: return 0;
        }
    }

    private void note(ExitEvent e, boolean record) {
        if (record) exitLog.add(e);
        if (Ftrace.on) Ftrace.event("vmm_exit", e.toString());
    }

    /**
     * kvm-all.c kvm_handle_io: {@code count} items of {@code size} bytes at {@code data} in the vCPU
     * mapping; an OUT hands each to the device on {@code port}, an IN fills each from it. The kernel
     * copies IN data into the guest when the next KVM_RUN completes the instruction.
     */
    void kvm_handle_io(int port, int data, int direction, int size, int count) {
        final ByteBuffer b = runBuf;
        for (int i = 0; i < count; i++, data += size) {
            if (direction == KVM_EXIT_IO_IN) {
                int v = pio.read(port, size);
                switch (size) {
                    case 1: b.put(data, (byte) v); break;
                    case 2: b.putShort(data, (short) v); break;
                    default: b.putInt(data, v); break;
                }
            } else {
                int v;
                switch (size) {
                    case 1: v = b.get(data) & 0xff; break;
                    case 2: v = b.getShort(data) & 0xffff; break;
                    default: v = b.getInt(data); break;
                }
                pio.write(port, size, v);
            }
        }
    }

    /**
     * qemu-kvm.c handle_mmio (kvm-all.c does this inline with cpu_physical_memory_rw): a guest access
     * to an address outside every memslot, {@code len} bytes in kvm_run.mmio.data.
     */
    void handle_mmio(KvmRun run) {
        long addr = run.mmio.phys_addr();
        int len = Math.min(8, Math.max(0, run.mmio.len()));
        int data = run.mmio.data_offset();
        if (run.mmio.is_write() != 0) {
            long v = 0;
            for (int i = len - 1; i >= 0; i--) v = (v << 8) | (runBuf.get(data + i) & 0xff);
            mmio.write(addr, len, v);
        } else {
            long v = mmio.read(addr, len);
            for (int i = 0; i < len; i++, v >>>= 8) runBuf.put(data + i, (byte) v);
        }
    }

    private static String hex(ByteBuffer b, int off, int len) {
        StringBuilder sb = new StringBuilder(len * 2);
        for (int i = 0; i < len; i++) {
            int v = b.get(off + i) & 0xff;
            sb.append(Character.forDigit(v >> 4, 16)).append(Character.forDigit(v & 15, 16));
        }
        return sb.toString();
    }

    /** Exits so far by KVM_EXIT_* reason (the last slot counts reasons beyond the table). */
    public long[] exitCounts() { return exitCounts.clone(); }

    public long exits() { return exits; }

    public Sys sys() { return sys; }

    /** Changes the --max-exits limit (counted over the VMM's life, not per {@link #kvm_run()}); 0 for none. */
    public void maxExits(long n) { cfg.maxExits = n; }

    /** The vCPU's file descriptor, for a bare KVM_RUN loop (the benchmark's baseline). */
    int vcpuFd() { return vcpu_fd; }

    /** Closes the vCPU, VM, eventfd and /dev/kvm descriptors. Mappings stay with the {@link Sys}. */
    @Override public void close() {
        if (ioeventfd >= 0) { sys.close(ioeventfd); ioeventfd = -1; }
        if (vcpu_fd >= 0) { sys.close(vcpu_fd); vcpu_fd = -1; }
        if (vm_fd >= 0) { sys.close(vm_fd); vm_fd = -1; }
        if (kvm_fd >= 0) { sys.close(kvm_fd); kvm_fd = -1; }
    }
}
