package kvmkmod.hw.host;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Pointer;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The host's /dev/kvm: ioctl numbers, exit codes and the x86_64 layout of {@code struct kvm_run}, as
 * the modern {@code <linux/kvm.h>} and {@code <asm/kvm.h>} define them (offsets checked with offsetof
 * against the installed headers and against the running host, see HostKvmLayoutTest).
 *
 * <p>Everything goes through {@link LibC} (JNA direct mapping). The shared /dev/kvm descriptor is opened
 * once; {@link #usable()} caches its verdict.
 */
public final class HostKvm {
    private HostKvm() {}

    // ioctl numbers (_IO/_IOR/_IOW of KVMIO 0xAE in <linux/kvm.h>)
    public static final long KVM_GET_API_VERSION = 0xae00;
    public static final long KVM_CREATE_VM = 0xae01;
    public static final long KVM_CHECK_EXTENSION = 0xae03;
    public static final long KVM_GET_VCPU_MMAP_SIZE = 0xae04;
    public static final long KVM_CREATE_VCPU = 0xae41;
    public static final long KVM_SET_USER_MEMORY_REGION = 0x4020ae46L;
    public static final long KVM_SET_TSS_ADDR = 0xae47;
    public static final long KVM_RUN = 0xae80;
    public static final long KVM_GET_REGS = 0x8090ae81L;
    public static final long KVM_SET_REGS = 0x4090ae82L;
    public static final long KVM_GET_SREGS = 0x8138ae83L;
    public static final long KVM_SET_SREGS = 0x4138ae84L;
    public static final long KVM_INTERRUPT = 0x4004ae86L;
    public static final long KVM_SET_SIGNAL_MASK = 0x4004ae8bL;
    public static final long KVM_GET_MSRS = 0xc008ae88L;
    public static final long KVM_SET_MSRS = 0x4008ae89L;
    public static final long KVM_GET_FPU = 0x81a0ae8cL;
    public static final long KVM_SET_FPU = 0x41a0ae8dL;
    public static final int SIZEOF_KVM_FPU = 416;
    public static final long KVM_GET_VCPU_EVENTS = 0x8040ae9fL;
    public static final long KVM_SET_VCPU_EVENTS = 0x4040aea0L;

    public static final int KVM_API_VERSION = 12;

    // KVM_CHECK_EXTENSION capabilities
    public static final int KVM_CAP_USER_MEMORY = 3;
    public static final int KVM_CAP_SYNC_REGS = 74;
    public static final int KVM_CAP_READONLY_MEM = 81;
    public static final int KVM_CAP_IMMEDIATE_EXIT = 136;

    // kvm_run.kvm_valid_regs / kvm_dirty_regs bits (<asm/kvm.h>)
    public static final int KVM_SYNC_X86_REGS = 1;
    public static final int KVM_SYNC_X86_SREGS = 2;
    public static final int KVM_SYNC_X86_EVENTS = 4;

    // struct kvm_userspace_memory_region flags
    public static final int KVM_MEM_READONLY = 2;

    // kvm_run.exit_reason
    public static final int KVM_EXIT_UNKNOWN = 0;
    public static final int KVM_EXIT_EXCEPTION = 1;
    public static final int KVM_EXIT_IO = 2;
    public static final int KVM_EXIT_HYPERCALL = 3;
    public static final int KVM_EXIT_DEBUG = 4;
    public static final int KVM_EXIT_HLT = 5;
    public static final int KVM_EXIT_MMIO = 6;
    public static final int KVM_EXIT_IRQ_WINDOW_OPEN = 7;
    public static final int KVM_EXIT_SHUTDOWN = 8;
    public static final int KVM_EXIT_FAIL_ENTRY = 9;
    public static final int KVM_EXIT_INTR = 10;
    public static final int KVM_EXIT_INTERNAL_ERROR = 17;
    public static final int KVM_EXIT_IO_IN = 0, KVM_EXIT_IO_OUT = 1;
    public static final int KVM_INTERNAL_ERROR_EMULATION = 1;

    // struct kvm_run, x86_64 (<linux/kvm.h>)
    public static final int RUN_REQUEST_INTERRUPT_WINDOW = 0;   // u8
    public static final int RUN_IMMEDIATE_EXIT = 1;             // u8
    public static final int RUN_EXIT_REASON = 8;                // u32
    public static final int RUN_READY_FOR_INTERRUPT_INJECTION = 12; // u8
    public static final int RUN_IF_FLAG = 13;                   // u8
    public static final int RUN_CR8 = 16;                       // u64
    public static final int RUN_APIC_BASE = 24;                 // u64
    public static final int RUN_UNION = 32;                     // 256-byte exit union
    public static final int RUN_IO_DIRECTION = 32;              // u8
    public static final int RUN_IO_SIZE = 33;                   // u8
    public static final int RUN_IO_PORT = 34;                   // u16
    public static final int RUN_IO_COUNT = 36;                  // u32
    public static final int RUN_IO_DATA_OFFSET = 40;            // u64, from the start of kvm_run
    public static final int RUN_MMIO_PHYS_ADDR = 32;            // u64
    public static final int RUN_MMIO_DATA = 40;                 // u8[8]
    public static final int RUN_MMIO_LEN = 48;                  // u32
    public static final int RUN_MMIO_IS_WRITE = 52;             // u8
    public static final int RUN_INTERNAL_SUBERROR = 32;         // u32
    public static final int RUN_INTERNAL_NDATA = 36;            // u32
    public static final int RUN_INTERNAL_DATA = 40;             // u64[16]
    public static final int RUN_FAIL_ENTRY_REASON = 32;         // u64 hardware_entry_failure_reason
    public static final int RUN_VALID_REGS = 288;               // u64
    public static final int RUN_DIRTY_REGS = 296;               // u64
    public static final int RUN_S = 304;                        // union, 2048 bytes
    public static final int RUN_S_REGS = 304;                   // struct kvm_regs (144)
    public static final int RUN_S_SREGS = 448;                  // struct kvm_sregs (312)
    public static final int RUN_S_EVENTS = 760;                 // struct kvm_vcpu_events (64)
    public static final int SIZEOF_KVM_RUN = 2352;

    // struct kvm_regs: rax rbx rcx rdx rsi rdi rsp rbp r8..r15 rip rflags, 8 bytes each
    public static final int REGS_RAX = 0, REGS_RBX = 8, REGS_RCX = 16, REGS_RDX = 24, REGS_RSI = 32,
            REGS_RDI = 40, REGS_RSP = 48, REGS_RBP = 56, REGS_R8 = 64, REGS_RIP = 128, REGS_RFLAGS = 136;
    public static final int SIZEOF_KVM_REGS = 144;

    // struct kvm_sregs: 8 kvm_segment (24 bytes each) cs ds es fs gs ss tr ldt, gdt idt (kvm_dtable, 16),
    // cr0 cr2 cr3 cr4 cr8 efer apic_base, interrupt_bitmap[4]
    public static final int SREGS_CS = 0, SREGS_DS = 24, SREGS_ES = 48, SREGS_FS = 72, SREGS_GS = 96,
            SREGS_SS = 120, SREGS_TR = 144, SREGS_LDT = 168, SREGS_GDT = 192, SREGS_IDT = 208,
            SREGS_CR0 = 224, SREGS_CR2 = 232, SREGS_CR3 = 240, SREGS_CR4 = 248, SREGS_CR8 = 256,
            SREGS_EFER = 264, SREGS_APIC_BASE = 272, SREGS_INTERRUPT_BITMAP = 280;
    public static final int SIZEOF_KVM_SREGS = 312;
    // struct kvm_segment: base u64, limit u32, selector u16, type present dpl db s l g avl unusable padding (u8)
    public static final int SEG_BASE = 0, SEG_LIMIT = 8, SEG_SELECTOR = 12, SEG_TYPE = 14, SEG_PRESENT = 15,
            SEG_DPL = 16, SEG_DB = 17, SEG_S = 18, SEG_L = 19, SEG_G = 20, SEG_AVL = 21, SEG_UNUSABLE = 22;
    // struct kvm_dtable: base u64, limit u16
    public static final int DT_BASE = 0, DT_LIMIT = 8;

    // struct kvm_vcpu_events (64 bytes)
    public static final int EV_EXC_INJECTED = 0, EV_EXC_NR = 1, EV_EXC_HAS_ERROR_CODE = 2, EV_EXC_PENDING = 3,
            EV_EXC_ERROR_CODE = 4, EV_INT_INJECTED = 8, EV_INT_NR = 9, EV_INT_SOFT = 10, EV_INT_SHADOW = 11,
            EV_NMI_INJECTED = 12, EV_NMI_PENDING = 13, EV_NMI_MASKED = 14, EV_SIPI_VECTOR = 16, EV_FLAGS = 20;
    public static final int KVM_VCPUEVENT_VALID_SHADOW = 4;

    // struct kvm_userspace_memory_region: slot u32, flags u32, guest_phys_addr u64, memory_size u64, userspace_addr u64
    public static final int SIZEOF_MEMORY_REGION = 32;

    public static final int EINTR = 4, EAGAIN = 11;

    private static volatile Boolean usable;
    private static volatile String why = "not checked yet";
    private static int kvmFd = -1;
    private static int vcpuMmapSize;
    private static boolean readonlyMem;
    private static volatile Boolean outCompletesAtExit;

    /**
     * The host's KVM device: /dev/kvm, or the path in the system property {@code kvmkmod.hostkvm}
     * (naming a path that does not exist is how a build proves it passes on a machine without KVM).
     */
    public static String devicePath() { return System.getProperty("kvmkmod.hostkvm", "/dev/kvm"); }

    /** True when /dev/kvm opens read-write, speaks API 12 and has KVM_CAP_SYNC_REGS (answer cached). */
    public static boolean usable() {
        Boolean u = usable;
        if (u == null) {
            synchronized (HostKvm.class) {
                if (usable == null) usable = probe();
                u = usable;
            }
        }
        return u;
    }

    /** Why {@link #usable()} is false, in words; "usable" when it is true. */
    public static String whyNotUsable() {
        usable();
        return why;
    }

    private static boolean probe() {
        if (LibC.loadError() != null) { why = "no native C library through JNA: " + LibC.loadError(); return false; }
        if (!System.getProperty("os.arch", "").matches("amd64|x86_64")) { why = "the host is not x86_64"; return false; }
        int fd;
        try {
            fd = LibC.open(devicePath(), LibC.O_RDWR | LibC.O_CLOEXEC);
        } catch (LastErrorException e) {
            why = "cannot open " + devicePath() + " read-write: errno " + e.getErrorCode(); return false;
        } catch (Throwable t) {
            why = "cannot open " + devicePath() + ": " + t; return false;
        }
        try {
            int api = LibC.ioctl(fd, KVM_GET_API_VERSION, 0);
            if (api != KVM_API_VERSION) { why = "KVM_GET_API_VERSION is " + api + ", not 12"; LibC.close(fd); return false; }
            int sync = LibC.ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS);
            int need = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;
            if ((sync & need) != need) { why = "KVM_CAP_SYNC_REGS is " + sync + " (need REGS|SREGS)"; LibC.close(fd); return false; }
            if (LibC.ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) <= 0) { why = "no KVM_CAP_IMMEDIATE_EXIT"; LibC.close(fd); return false; }
            vcpuMmapSize = LibC.ioctl(fd, KVM_GET_VCPU_MMAP_SIZE, 0);
            readonlyMem = LibC.ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) > 0;
            kvmFd = fd;
            why = "usable";
            return true;
        } catch (LastErrorException e) {
            why = "ioctl on /dev/kvm failed: errno " + e.getErrorCode();
            try { LibC.close(fd); } catch (LastErrorException ignored) { }
            return false;
        }
    }

    static int kvmFd() {
        if (!usable()) throw new IllegalStateException("/dev/kvm is not usable: " + why);
        return kvmFd;
    }

    public static int vcpuMmapSize() { kvmFd(); return vcpuMmapSize; }

    public static boolean readonlyMemory() { kvmFd(); return readonlyMem; }

    /** KVM_CREATE_VM; the fd of the new VM. */
    public static int createVm() { return LibC.ioctl(kvmFd(), KVM_CREATE_VM, 0); }

    /** KVM_CREATE_VCPU. */
    public static int createVcpu(int vmFd, int id) { return LibC.ioctl(vmFd, KVM_CREATE_VCPU, id); }

    /** _IOWR(KVMIO, 0x05, struct kvm_cpuid2) and _IOW(KVMIO, 0x90, struct kvm_cpuid2) of linux/kvm.h. */
    static final int KVM_GET_SUPPORTED_CPUID = 0xc008ae05, KVM_SET_CPUID2 = 0x4008ae90;
    /** Room for this many 40-byte struct kvm_cpuid_entry2 after the 8-byte struct kvm_cpuid2 header. */
    private static final int CPUID_ENTRIES = 128;
    private static Memory supportedCpuid;

    /**
     * Gives a host vCPU every CPUID leaf the host supports (KVM_GET_SUPPORTED_CPUID, then KVM_SET_CPUID2), as
     * a VMM does: the host kernel answers the guest's CPUID itself and checks EFER.LME, CR4.PAE and the like
     * against that table, so an empty one leaves the guest without long mode.
     */
    public static void setSupportedCpuid(int vcpuFd) {
        synchronized (HostKvm.class) {
            if (supportedCpuid == null) {
                Memory m = new Memory(8 + 40L * CPUID_ENTRIES);
                m.clear();
                m.setInt(0, CPUID_ENTRIES);
                LibC.ioctl(kvmFd(), KVM_GET_SUPPORTED_CPUID, Pointer.nativeValue(m));
                supportedCpuid = m;
            }
        }
        LibC.ioctl(vcpuFd, KVM_SET_CPUID2, Pointer.nativeValue(supportedCpuid));
    }

    /** mmap of the vCPU's kvm_run (and PIO data page that follows it). */
    public static long mapRun(int vcpuFd) {
        return LibC.mmap(0, vcpuMmapSize(), LibC.PROT_READ | LibC.PROT_WRITE, LibC.MAP_SHARED, vcpuFd, 0);
    }

    /** Little-endian view of a mapped kvm_run. */
    public static ByteBuffer runBuffer(long runVa) {
        return new Pointer(runVa).getByteBuffer(0, vcpuMmapSize()).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** KVM_SET_USER_MEMORY_REGION with a caller-owned 32-byte scratch structure. */
    public static void setUserMemoryRegion(int vmFd, Memory scratch, int slot, int flags, long gpa, long size, long uaddr) {
        scratch.setInt(0, slot);
        scratch.setInt(4, flags);
        scratch.setLong(8, gpa);
        scratch.setLong(16, size);
        scratch.setLong(24, uaddr);
        LibC.ioctl(vmFd, KVM_SET_USER_MEMORY_REGION, Pointer.nativeValue(scratch));
    }

    /**
     * Whether this host finishes a non-string OUT before it exits to userspace (RIP already past the
     * instruction, nothing pending), as the in-kernel instruction emulator does; a VT-x host's fast PIO
     * path instead exits with RIP at the OUT and skips it on the next KVM_RUN. Measured once with a
     * two-instruction guest.
     */
    public static boolean outCompletesAtExit() {
        Boolean b = outCompletesAtExit;
        if (b == null) {
            synchronized (HostKvm.class) {
                if (outCompletesAtExit == null) outCompletesAtExit = measureOut();
                b = outCompletesAtExit;
            }
        }
        return b;
    }

    private static boolean measureOut() {
        int vm = createVm();
        Memory ram = new Memory(2 * 4096);
        Pointer page = ram.align(4096);
        page.setMemory(0, 4096, (byte) 0xf4);
        page.setByte(0, (byte) 0xe6);     // out 0x80, al
        page.setByte(1, (byte) 0x80);
        Memory scratch = new Memory(SIZEOF_KVM_SREGS);
        long run = 0;
        int vcpu = -1;
        try {
            setUserMemoryRegion(vm, scratch, 0, 0, 0, 4096, Pointer.nativeValue(page));
            vcpu = createVcpu(vm, 0);
            run = mapRun(vcpu);
            ByteBuffer rb = runBuffer(run);
            LibC.ioctl(vcpu, KVM_GET_SREGS, Pointer.nativeValue(scratch));
            scratch.setLong(SREGS_CS + SEG_BASE, 0);
            scratch.setShort(SREGS_CS + SEG_SELECTOR, (short) 0);
            LibC.ioctl(vcpu, KVM_SET_SREGS, Pointer.nativeValue(scratch));
            Memory regs = new Memory(SIZEOF_KVM_REGS);
            regs.setMemory(0, SIZEOF_KVM_REGS, (byte) 0);
            regs.setLong(REGS_RFLAGS, 2);
            LibC.ioctl(vcpu, KVM_SET_REGS, Pointer.nativeValue(regs));
            rb.putLong(RUN_VALID_REGS, KVM_SYNC_X86_REGS);
            LibC.ioctl(vcpu, KVM_RUN, 0);
            if (rb.getInt(RUN_EXIT_REASON) != KVM_EXIT_IO)
                throw new IllegalStateException("probe guest gave exit " + rb.getInt(RUN_EXIT_REASON));
            return rb.getLong(RUN_S_REGS + REGS_RIP) == 2;
        } finally {
            if (run != 0) LibC.munmap(run, vcpuMmapSize());
            if (vcpu >= 0) LibC.close(vcpu);
            LibC.close(vm);
            ram.close();
        }
    }
}
