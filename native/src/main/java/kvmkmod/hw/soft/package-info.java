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
 * window onto the current code page.
 *
 * <p>Time: the TSC is the number of retired instructions (REP iterations count), so the same guest
 * with the same inputs takes the same exits at the same TSC values.
 *
 * <h2>What is modelled, what is not (yet)</h2>
 * Modelled: real mode, 16/32-bit protected mode (GDT/LDT descriptors, IDT gates at the same privilege
 * level), virtual-8086 mode with VME redirection as vmx.c's enter_rmode uses it, 32-bit and PAE paging,
 * EPT with 2-MiB pages, unrestricted guest, the exits of SDM 25.1 for I/O (bitmaps), HLT, CPUID,
 * RDTSC, RDPMC, INVLPG, INVD, WBINVD, MOV CR/DR, RDMSR/WRMSR (MSR bitmaps), MONITOR/MWAIT, PAUSE, the
 * VMX instructions, exceptions (bitmap, #PF error-code mask/match), interrupt and NMI windows,
 * external interrupts (kick), triple fault, EPT violation/misconfiguration, APIC access.
 *
 * <p>Not yet: 64-bit mode (entry with "IA-32e mode guest" fails with an explanation), x87/SSE
 * (#UD), segment limit checks, privilege changes through gates and task switches, the VM-entry
 * MSR-load area (entry fails with an explanation), MTF, preemption timer, SMM. APIC-access exits are
 * taken for every access (no TPR virtualisation). The I/O bitmap of the TSS is consulted in
 * virtual-8086 mode and when CPL &gt; IOPL.
 */
package kvmkmod.hw.soft;
