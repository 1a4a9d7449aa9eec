/**
 * The soft CPU: a pure-Java x86 processor with VMX, the second implementation of
 * {@link kvmkmod.hw.VmxCpu} beside the host backend.
 *
 * <h2>Where things are</h2>
 * <ul>
 *   <li>{@link kvmkmod.hw.soft.SoftCpu} — the processor in VMX root operation: capability MSRs,
 *       IA32_FEATURE_CONTROL, CR4.VMXE, VMXON/VMXOFF/VMCLEAR/VMPTRLD/VMPTRST/VMREAD/VMWRITE/INVEPT/INVVPID
 *       (SDM chapter 30), and VM entry: checks, guest-state loading, event injection (SDM chapter 26),
 *       then the guest-state save and exit information at VM exit (SDM chapter 27).
 *       {@code lastEntryFailure()} says in words which entry check failed.</li>
 *   <li>{@code EntryChecks} — SDM 26.2 and 26.3.1, each rule returning a sentence that cites its section.</li>
 *   <li>{@code SoftCore} — the guest in VMX non-root operation: decoder and interpreter, lazy flags,
 *       guest paging, EPT walk, the translation cache, event delivery (IVT, IDT, virtual-8086 redirection),
 *       and every instruction-caused VM exit.</li>
 *   <li>{@code SoftCpuBench} — speed of the interpreter and of an exit round trip.</li>
 * </ul>
 *
 * <h2>How it runs</h2>
 * A VMLAUNCH/VMRESUME that passes its checks loads the VMCS guest state into {@code SoftCore} and calls
 * {@code run}, which loops fetch-decode-execute on the calling thread until an instruction or event
 * causes a VM exit; the exit is recorded and the state stored back into the VMCS before the VMX
 * instruction returns {@code VM_SUCCEED}. General-purpose registers live in {@code regs()} throughout.
 * An instruction that exits or faults unwinds through a preallocated, stackless exception, so it never
 * half-completes: RIP stays at the instruction and memory/registers are written only after every
 * access that could fail has been translated. {@code kick()} from another thread is seen within 4096
 * instructions (or at once in HLT) and ends in an external-interrupt exit.
 *
 * <p>Memory: every guest access goes linear → (guest paging if CR0.PG) → guest-physical → (EPT if
 * enabled) → host-physical, and the result per 4-KiB linear page (a host buffer and R/W/X permission
 * tags) is cached in a 256-entry direct-mapped table. The cache is dropped on INVEPT, INVVPID,
 * VMCLEAR, an entry with a different EPTP or VMCS (or any entry while the guest pages), MOV to
 * CR0/CR3/CR4, a change of CPL, and INVLPG for its page. Instruction bytes are read through a fetch
 * window onto the current code page, cut short at the CS limit so that only the slow path checks it.
 *
 * <p>Time: the TSC is the number of retired instructions (REP iterations count), so the same guest
 * with the same inputs takes the same exits at the same TSC values.
 *
 * <h2>What is modelled, what is not (yet)</h2>
 * Modelled: real mode; 16/32-bit protected mode (GDT/LDT descriptors, IDT gates, privilege changes
 * through the TSS stack, IRET and RET far to an outer level, call gates with stack switch and parameter
 * copy, segment limit and type checks on every data and stack access with #GP/#SS, the CS limit on
 * instruction fetch and near-branch targets (also in real-address and virtual-8086 mode), the checks of
 * segment-register loads and the accessed bit they set in the descriptor, implicit supervisor accesses to
 * descriptor tables, the TSS and inner stacks); alignment checking (#AC at CPL 3 with CR0.AM and
 * RFLAGS.AC); the LOCK prefix (#UD on an instruction that does not accept
 * it or with a register destination); the 15-byte instruction length limit;
 * IA-32e mode (64-bit and compatibility mode, the decoding of REX, RIP-relative addressing, 16-byte IDT
 * gates with RSP0/IST, IRETQ and compatibility-mode IRET, 64-bit call gates, SYSCALL/SYSRET/SWAPGS,
 * SYSENTER/SYSEXIT in every protected mode, CR8, canonical-address #GP/#SS, a non-canonical near-branch
 * target #GP(0) at the branch); the single-step trap of
 * RFLAGS.TF (after each iteration of a REP string instruction, and after HLT), DR0-DR3 instruction,
 * data and (CR4.DE) I/O breakpoints (#DB, DR6, the pending-debug-exceptions field), the EXT bit of
 * error codes; virtual-8086 mode: VME redirection as vmx.c's enter_rmode uses it, events through the
 * IDT to ring 0 and IRET back, the IOPL-sensitive instructions with and without VME/PVI; 32-bit, PAE and 4-level
 * paging with accessed/dirty bits; EPT with 2-MiB pages; unrestricted guest. VM exits (SDM 25.1/25.2):
 * I/O (unconditional or bitmaps, with the TSS permission check first), HLT, CPUID, INVD, RDTSC (with
 * TSC offsetting), RDPMC, INVLPG, WBINVD, MOV CR0/CR3/CR4/CR8 (masks, shadows, CR3 targets, TPR shadow
 * and TPR-below-threshold), CLTS/LMSW, MOV DR, RDMSR/WRMSR (MSR bitmaps), MONITOR/MWAIT, PAUSE, every
 * VMX instruction, task switches, exceptions (bitmap, #PF error-code mask/match, IDT-vectoring
 * information), interrupt and NMI windows, external interrupts (kick), triple fault, EPT violation and misconfiguration, APIC
 * access. Event injection at entry, including NMIs and their blocking until IRET. The VM-entry
 * MSR-load, VM-exit MSR-store and VM-exit MSR-load areas.
 *
 * <p>Not modelled:
 * <ul>
 *   <li>x87/MMX/SSE/AVX instructions are not executed: they raise #NM or #UD as CR0.EM/MP/TS and
 *       CR4.OSFXSR require, and otherwise #UD, as on a processor without the feature (though CPUID reports
 *       the features); the fences, CLFLUSH and MOVNTI execute.</li>
 *   <li>Atomicity towards other agents: a LOCK-accepted instruction is atomic for this processor (it runs
 *       one instruction at a time), but its read and write are separate accesses to memory that the VMM or
 *       another vCPU thread may change in between.</li>
 *   <li>The monitor trap flag (not reported in IA32_VMX_PROCBASED_CTLS, so VM entry refuses it), the
 *       VMX-preemption timer, SMM, INIT/SIPI, 1-GByte pages (not reported in CPUID).</li>
 *   <li>Task switches are not performed by the processor: they always exit (SDM 25.1.2), as KVM expects.</li>
 *   <li>APIC-access exits are taken for every access to the page (no TPR read/write virtualisation
 *       through it).</li>
 *   <li>PAE PDPTEs are read from memory at each walk rather than from the VMCS PDPTR fields.</li>
 *   <li>Memory types (PAT, MTRRs, EPT memory type) are kept in their registers and fields but change
 *       nothing: every access behaves as write-back.</li>
 * </ul>
 */
package kvmkmod.hw.soft;
