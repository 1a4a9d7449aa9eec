package kvmkmod.docs.labs;

import java.util.List;
import kvmkmod.include.trace.FunctionGraphTrace;
import kvmkmod.include.trace.FunctionGraphTrace.Call;
import kvmkmod.vmm.ExitEvent;

/**
 * Lab 4: MMIO and the EPT-violation path. The {@code mmio} guest stores to and loads from an address
 * past the end of its RAM; the student follows both accesses through the trace and answers where they
 * leave the guest, which handler takes them, what the VMM sees and what finishes the load.
 */
public final class Lab4Mmio extends Lab {
    @Override public int number() { return 4; }

    @Override public String title() { return "MMIO and the EPT-violation path"; }

    private static LabMachine.Run run;

    static synchronized LabMachine.Run run() {
        if (run == null) run = new LabMachine().run("mmio");
        return run;
    }

    /** The first VM exit whose handler led to emulate_instruction, and facts around it. */
    record Facts(String exitReason, String handler, String userspaceExit, long address, String completion) {}

    static Facts facts() {
        LabMachine.Run r = run();
        FunctionGraphTrace t = r.trace();
        String reason = "", handler = "";
        for (Call c : t.callsOf("vmx_handle_exit")) {
            boolean emulates = c.descendantsAndSelf().stream().anyMatch(d -> d.function().equals("emulate_instruction"));
            if (!emulates) continue;
            for (var e : c.events()) if (e.name().equals("kvm_exit")) reason = Lab1Trace.reason(e.text());
            for (String k : c.childNames()) if (k.startsWith("handle_")) { handler = k; break; }
            break;
        }
        ExitEvent mmio = r.result().exitLog().stream().filter(e -> e.reason() == kvmkmod.include.Kvm_h.KVM_EXIT_MMIO)
                .findFirst().orElse(null);
        String completion = "";
        for (Call c : t.callsOf("kvm_arch_vcpu_ioctl_run"))
            for (String k : c.childNames())
                if (k.equals("emulate_instruction")) completion = k;
        return new Facts(reason, handler, mmio == null ? "" : "KVM_EXIT_MMIO", mmio == null ? -1 : mmio.mmioAddr(), completion);
    }

    private static Check name(String key, String question, java.util.function.Function<Facts, String> truth) {
        return answerNames(key, question, () -> truth.apply(facts()));
    }

    @Override public List<Check> checks() {
        return List.of(
                name("exit_reason", "the VM exit reason of the access past RAM", Facts::exitReason),
                new Check("the basic exit reason number", true, w -> {
                    Long a = Lab.number(w.answer("exit_reason_number"));
                    if (w.answer("exit_reason_number").isEmpty()) return "exit_reason_number: no answer yet";
                    long want = facts().exitReason().equals("ept_violation") ? 48 : -1;
                    return a != null && a == want ? null : "exit_reason_number = " + w.answer("exit_reason_number") + " is not right";
                }),
                name("handler", "the vmx.c handler that takes it", Facts::handler),
                name("userspace_exit", "the exit_reason KVM_RUN returns to the VMM", Facts::userspaceExit),
                answerNumber("address", "the guest-physical address of the store", () -> facts().address()),
                name("completion", "what finishes the load on the next KVM_RUN", Facts::completion));
    }
}
