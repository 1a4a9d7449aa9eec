/**
 * The host backend of the native VMX layer: a VMX processor whose guest code runs through the host's
 * /dev/kvm (JNA direct mapping, {@link kvmkmod.hw.host.LibC}).
 *
 * <h2>Pieces</h2>
 * <ul>
 *   <li>{@link kvmkmod.hw.host.HostKvm}: ioctl numbers, exit codes and the x86_64 {@code struct kvm_run}
 *       layout of {@code <linux/kvm.h>} (offsets checked with offsetof against the installed header and
 *       against the running host by HostKvmLayoutTest); the cached usability verdict.</li>
 *   <li>{@link kvmkmod.hw.host.HostCpu}: VMX root operation emulated on the VMCS pages of HostMemory;
 *       VMLAUNCH/VMRESUME run the VMCS guest state in a host vCPU and turn the host exit into the VM exit
 *       of the SDM. One host VM per EPT root, one host vCPU per VMCS, created lazily; memslots mirror the
 *       EPT lazily (the first access to a page the host has no slot for comes back to us).</li>
 *   <li>{@code HostSignals}: kicking a thread out of KVM_RUN from inside a JVM.</li>
 *   <li>{@link kvmkmod.hw.host.HostKvmBench}: exit-rate benchmark.</li>
 * </ul>
 *
 * <h2>What the host does with a pending I/O (measured on the PVM host, kernel 6.18)</h2>
 * Ring-0 guest code runs in the host's instruction emulator, so port and MMIO exits come from the
 * emulator's paths, not from VT-x's fast-PIO path:
 * <ul>
 *   <li><b>OUT</b>: finished before the exit. RIP is already past the instruction, nothing is pending.
 *       (A VT-x host exits with RIP at the OUT and skips it on the next KVM_RUN if RIP is unchanged;
 *       {@link kvmkmod.hw.host.HostKvm#outCompletesAtExit()} measures which kind of host this is.)
 *       Since VMX reports the exit at the instruction, HostCpu finds the OUT that ended at RIP by
 *       decoding backwards, checked against port, size and data.</li>
 *   <li><b>OUTS / REP OUTS</b>: one element per exit; RSI (and RCX) already stepped; RIP stays at the
 *       instruction while elements remain, is past it after the last.</li>
 *   <li><b>IN</b>: RIP at the instruction; the next KVM_RUN completes it: AL/AX/EAX from the PIO data
 *       page, RIP past the IN. A RIP pushed through sync regs before that run is <i>overridden</i> by the
 *       completion (pushing RIP 0 or 4 for an IN at 0 still continued at 2); a RAX pushed through sync
 *       regs wins over the data page (the emulator's register cache is reloaded from the pushed regs and
 *       the IN's own writeback is lost).</li>
 *   <li><b>INS / REP INS</b>: RIP, RDI, RCX at the instruction; {@code count} elements at once; the
 *       completion stores all of them from the PIO page at ES:RDI and steps RDI/RCX/RIP.</li>
 *   <li><b>MMIO read</b>: RIP at the instruction, completed on the next KVM_RUN from
 *       {@code mmio.data}. <b>MMIO write</b>: done before the exit, RIP past the instruction.</li>
 *   <li>{@code immediate_exit = 1} runs the pending completion and returns -1/EINTR without entering
 *       the guest; kvm_run.s.regs then holds the completed state.</li>
 * </ul>
 *
 * <h2>The scheme HostCpu uses</h2>
 * After each exit it records, in {@code expect}, the registers the host vCPU holds once it has done what
 * is pending (OUT: the state at the exit; IN: RIP past the IN and RAX merged with the data). At the next
 * VM entry it compares the VMCS/regs() state with that:
 * <ul>
 *   <li>equal (the common case: our KVM skipped the instruction and put the data in AL): for an IN the
 *       value our KVM chose is written into the host's PIO data page, no registers are pushed, and the
 *       single KVM_RUN completes the IN exactly as our KVM decided. No extra ioctl.</li>
 *   <li>different while something is pending (our KVM re-executes, emulated a string, changed another
 *       register, migrated the VMCS, ...): KVM_RUN with immediate_exit first lets the host finish (for
 *       INS the data page is first filled with what guest memory already holds at the destination, so
 *       the host's stores change nothing), then the full register file is pushed with kvm_dirty_regs.
 *       One extra KVM_RUN, only in these rare cases (counted in {@code completions}).</li>
 *   <li>different with nothing pending: pushed with kvm_dirty_regs on the same KVM_RUN.</li>
 * </ul>
 * Segments, descriptor tables, CR0/CR3/CR4 and EFER are pushed (KVM_SYNC_X86_SREGS) only when a VMWRITE
 * changed one of those fields (or EFER was written) since the last exit; at an exit they are rewritten
 * into the VMCS only when the host's kvm_sregs differ from the copy taken at the previous exit. Events
 * (KVM_SYNC_X86_EVENTS) are pushed only to inject (VM_ENTRY_INTR_INFO_FIELD) or after an exit that left
 * an event undelivered (reported as IDT-vectoring information). kvm_valid_regs is always
 * REGS|SREGS|EVENTS: its cost is within the noise (see below). No allocation per exit (measured 0 bytes).
 *
 * <p>For an EPT violation from an MMIO exit the access is completed at once with immediate_exit; the
 * VMCS gets the state before the instruction (for a read the state at the exit; for a write, whose RIP
 * is past the store, the store is found by decoding backwards and checking its effective address
 * against the written address, and STOS/MOVS index registers are stepped back), and the registers are
 * pushed at the next entry, so the instruction runs again once our KVM has mapped the page.
 *
 * <h2>Other host facts found while building this</h2>
 * <ul>
 *   <li>KVM_RUN of a VM with no memslot at all fails with ENOSPC: HostCpu maps the page at CS:RIP (or
 *       at CR3 with paging) before the first run of a VM, and reports an EPT violation at once if the EPT
 *       does not map it.</li>
 *   <li>An instruction fetch from guest-physical memory without a memslot is KVM_EXIT_INTERNAL_ERROR,
 *       suberror 1 (emulation), ndata 6, with no address in the data: HostCpu computes CS.base+RIP
 *       (through the guest's page tables) and checks the EPT.</li>
 *   <li>The real-mode IVT limit is not checked (an IDT limit of 0 and INT3 runs the handler from the IVT
 *       anyway, no shutdown); in protected mode an empty IDT and UD2 gives KVM_EXIT_SHUTDOWN.</li>
 *   <li>The emulator has no x87 (FLD1 is an emulation failure) and cannot do INT3 in protected mode;
 *       such failures are reported as #UD at the instruction (exit reason 0).</li>
 *   <li>32-bit and PAE paging in ring 0 shut the guest down at once; 4-level paging (long mode) runs.</li>
 *   <li>KVM_EXIT_IRQ_WINDOW_OPEN is only checked between the host's own exits, so "STI; HLT" reaches the
 *       HLT: HostCpu turns that HLT into the interrupt-window exit VMX would have given. An STI followed
 *       by another exiting instruction (OUT) reports that exit first; the window exit comes one exit later.</li>
 *   <li>HLT exits (always, no in-kernel irqchip) with RIP past the HLT.</li>
 *   <li>After immediate_exit's EINTR, exit_reason keeps the previous value.</li>
 * </ul>
 *
 * <h2>Kicking</h2>
 * A real-time signal (62, SIG_IGN process-wide, blocked in vCPU threads, unblocked only inside KVM_RUN
 * by KVM_SET_SIGNAL_MASK) sent with pthread_kill makes a running KVM_RUN return EINTR; works in the JVM
 * (kickStopsARunningGuest). immediate_exit is set too, so a kick that arrives between runs stops the next.
 *
 * <h2>What the host backend cannot honour</h2>
 * The host decides which guest instructions exit, so these VM-execution controls are accepted but never
 * cause exits: CPUID, RDMSR/WRMSR and MSR bitmaps (the host answers them itself, with its own empty
 * CPUID table), RDTSC, RDPMC, INVLPG, MOV CR3/CR8 and CR0/CR4 guest-host masks (no CR-access exits; the
 * guest's CR changes are saved back at the next exit), MOV DR, MWAIT/MONITOR/PAUSE, PAUSE-loop exiting,
 * TPR shadow, NMI exiting and the exception bitmap (the host delivers guest exceptions itself). HLT
 * always exits. EPT execute permission is not enforced (read-only pages are, with KVM_MEM_READONLY).
 * APIC-access virtualization is removed from the reported capabilities. The CR0 read shadow is not
 * applied (the guest reads the real CR0). A VMCS that moves to a new EPT root gets a new host vCPU:
 * FPU and syscall/sysenter/base MSRs are carried over; other host-only state (XSAVE extensions, TSC) is not.
 * Host vCPUs whose VMCS page and host VMs whose EPT root page were freed are released when the next
 * host vCPU is created; everything else by {@link kvmkmod.hw.host.HostCpu#close()} (which releases the
 * host objects of every processor over the same HostMemory: Platform closes them together).
 */
package kvmkmod.hw.host;
