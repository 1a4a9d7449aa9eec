package kvmkmod.hw;

/**
 * One logical processor with VMX, as the kernel's vmx.c sees it: the VMX instructions, the capability
 * MSRs, CPUID, CR4, and the general-purpose registers that the VM-entry code loads before VMLAUNCH and
 * saves after a VM exit (in vmx.c that is the inline asm of vmx_vcpu_run).
 *
 * <p>The VMX instructions return a status as the processor's RFLAGS report it (SDM 30.2 "Conventions"):
 * {@link #VM_SUCCEED}, {@link #VM_FAIL_INVALID} (no current VMCS) or {@link #VM_FAIL_VALID} (error
 * number in the current VMCS's VM_INSTRUCTION_ERROR field). A VMLAUNCH/VMRESUME that enters the guest
 * returns {@link #VM_SUCCEED} once the guest has taken a VM exit; the exit information is then in the
 * current VMCS (VM_EXIT_REASON, EXIT_QUALIFICATION, ...) and the guest registers in {@link #regs()}.
 *
 * <p>Two implementations: the soft CPU (a Java x86 processor in VMX non-root operation) and the host
 * CPU (guest code runs on the real processor through the host's /dev/kvm).
 */
public interface VmxCpu {
    int VM_SUCCEED = 0;
    int VM_FAIL_INVALID = 1;
    int VM_FAIL_VALID = 2;

    /** Index of the general-purpose registers in {@link #regs()}: the VCPU_REGS_* order of kvm_host.h. */
    int RAX = 0, RCX = 1, RDX = 2, RBX = 3, RSP = 4, RBP = 5, RSI = 6, RDI = 7,
        R8 = 8, R9 = 9, R10 = 10, R11 = 11, R12 = 12, R13 = 13, R14 = 14, R15 = 15;

    /** This processor's number (smp_processor_id). */
    int id();

    /** The memory this processor reads by host-physical address. */
    HostMemory memory();

    /** Which implementation this is, for messages: "soft" or "host". */
    String backend();

    // Identification and configuration

    /** RDMSR; throws {@link IllegalArgumentException} for an MSR the processor does not have (#GP). */
    long rdmsr(int msr);

    /** WRMSR of a host MSR (IA32_FEATURE_CONTROL, ...); throws {@link IllegalArgumentException} on #GP. */
    void wrmsr(int msr, long value);

    /** CPUID: fills {@code out} with EAX, EBX, ECX, EDX. */
    void cpuid(int leaf, int subleaf, int[] out);

    long read_cr4();

    void write_cr4(long value);

    // VMX instructions (SDM chapter 30 "VMX Instruction Reference")

    int vmxon(long vmxonRegionHpa);

    int vmxoff();

    int vmclear(long vmcsHpa);

    int vmptrld(long vmcsHpa);

    /** VMPTRST: the current-VMCS pointer, or -1 when there is none. */
    long vmptrst();

    /** VMREAD from the current VMCS; 0 with a failure status when it cannot be read. */
    long vmread(int field);

    int vmwrite(int field, long value);

    int vmlaunch();

    int vmresume();

    int invept(int type, long eptp);

    int invvpid(int type, int vpid, long linearAddress);

    /** Status of the last VMX instruction (for VMREAD, whose value is its result). */
    int lastStatus();

    // Guest register file used across VM entry and exit

    /** The 16 general-purpose registers (RSP is in the VMCS and ignored here). Mutable, never reallocated. */
    long[] regs();

    long cr2();

    void set_cr2(long value);

    /**
     * MOV from DR{@code n} in VMX root operation: DR0-DR3 and DR6 belong to the processor, not to the VMCS
     * (which holds only the guest's DR7). The processors here keep them but do not match breakpoints.
     */
    long get_debugreg(int n);

    /** MOV to DR{@code n} in VMX root operation. */
    void set_debugreg(long value, int n);

    /**
     * Asks the processor, from any thread, to stop running guest code soon: the guest takes an
     * external-interrupt VM exit (reason 1), as when the host sends this CPU an IPI.
     */
    void kick();
}
