package kvmkmod.docs.labs;

import java.lang.reflect.Method;
import java.util.List;
import java.util.function.ToIntFunction;
import kvmkmod.include.KvmVcpu;
import kvmkmod.include.trace.FunctionGraphTrace;
import kvmkmod.x86.X86;

/**
 * Lab 8: a hypercall of one's own. The student's {@code lab8.HypercallHandler.handle_vmcall} takes the
 * VMCALL exits (basic exit reason 18) in place of vmx.c's handle_vmcall: hypercall number 0x4b4d returns
 * RBX + RCX in RAX, every other number still goes to the original handler and so to kvm_emulate_hypercall.
 * The grader installs it as lab 3 does and runs the guest {@code hypercall}, which makes both calls and
 * prints the two results.
 */
public final class Lab8Hypercall extends Lab {
    static final String CLASS = "lab8.HypercallHandler";
    static final int EXIT_REASON_VMCALL = 18;
    static final String GUEST = "lab8-hypercall";
    /** 0x1200 + 0x34 for the new hypercall; -KVM_ENOSYS (-1000) from kvm_emulate_hypercall for number 99. */
    static final String OUTPUT = "00001234\nfffffc18\n";

    @Override public int number() { return 8; }

    @Override public String title() { return "A hypercall of one's own: the VMCALL exit"; }

    private final java.util.Map<java.nio.file.Path, LabMachine.Run> runs = new java.util.HashMap<>();

    synchronized LabMachine.Run run(Work w) throws Exception {
        LabMachine.Run r = runs.get(w.dir);
        if (r != null) return r;
        Method handler = w.load(CLASS).getMethod("handle_vmcall", X86.class, KvmVcpu.class, ToIntFunction.class);
        r = new LabMachine().beforeRun(vm -> Lab3ExitHandler.install(LabMachine.vmx(vm.module()), EXIT_REASON_VMCALL, handler))
                .runDocsGuest(GUEST);
        runs.put(w.dir, r);
        return r;
    }

    @Override public List<Check> checks() {
        return List.of(
                new Check("the guest prints 00001234 and then fffffc18", true, w -> {
                    return printed(run(w).output(), OUTPUT);
                }),
                new Check("two VMCALL exits; only the unknown number reaches kvm_emulate_hypercall", true, w -> {
                    FunctionGraphTrace t = run(w).trace();
                    long vmcalls = exits(t, "hypercall");
                    if (vmcalls != 2) return vmcalls + " VMCALL exits in the trace, expected 2";
                    int emulated = t.callsOf("kvm_emulate_hypercall").size();
                    if (emulated != 1) return "kvm_emulate_hypercall ran " + emulated + " time(s), expected once (for number 99 only)";
                    long hc = t.events().stream().filter(e -> e.name().equals("kvm_hypercall")).count();
                    return hc == 1 ? null : hc + " kvm_hypercall tracepoints, expected 1";
                }),
                new Check("the guest runs on to its HLT", true, w -> {
                    return endedAtHlt(run(w).result());
                }));
    }
}
