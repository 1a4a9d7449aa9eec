package kvmkmod.hw.soft;

/**
 * A debugger attached to a soft processor: it is called on the processor's thread at an instruction
 * boundary, before the instruction at {@code linearRip} runs, when that address is a breakpoint or when
 * the processor is single-stepping. The guest state is live at that moment: read it through
 * {@link SoftCpu#guestRip()}, {@link SoftCpu#regs()} or {@link SoftCpu#guestStateDump()} — or set a
 * Java breakpoint in an implementation of this method and look at it in the IDE.
 *
 * <p>This is a debugging port of the model, not an architectural feature: the guest cannot see it, and
 * a run with a debugger attached takes exactly the same exits as one without.
 */
@FunctionalInterface
public interface GuestDebugger {
    /**
     * @param breakpoint true when {@code linearRip} is one of the breakpoints, false for a single step
     * @return true to stop again before the next instruction (single-step), false to run on to the next
     *         breakpoint
     */
    boolean stopped(SoftCpu cpu, long linearRip, boolean breakpoint);
}
