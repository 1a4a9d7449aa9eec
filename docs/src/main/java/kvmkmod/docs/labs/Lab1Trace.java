package kvmkmod.docs.labs;

import java.util.ArrayList;
import java.util.List;
import kvmkmod.include.trace.FunctionGraphTrace;
import kvmkmod.include.trace.FunctionGraphTrace.Call;
import kvmkmod.include.trace.FunctionGraphTrace.Event;

/**
 * Lab 1: trace the bundled guest {@code hello} and answer questions about KVM_RUN from the trace. The
 * grader makes the same run and reads the answers off its own trace.
 */
public final class Lab1Trace extends Lab {
    /** The facts the questions ask for, measured on one traced run of hello. */
    record Facts(int kvmRuns, int vmExits, String firstExitReason, String firstExitHandler, String ioHandler,
                 int userspaceExits, int completePio) {}

    private static Facts facts;

    @Override public int number() { return 1; }

    @Override public String title() { return "Tracing KVM_RUN"; }

    /** One measured run per JVM. */
    static synchronized Facts facts() {
        if (facts == null) facts = measure(new LabMachine().run("hello").trace());
        return facts;
    }

    static Facts measure(FunctionGraphTrace t) {
        List<Event> exits = t.events().stream().filter(e -> e.name().equals("kvm_exit")).toList();
        String firstReason = exits.isEmpty() ? "" : reason(exits.get(0).text());
        String firstHandler = "";
        for (Call c : t.callsOf("vmx_handle_exit")) {
            List<String> kids = new ArrayList<>(c.childNames());
            kids.removeIf(k -> !k.startsWith("handle_"));
            if (!kids.isEmpty()) { firstHandler = kids.get(0); break; }
        }
        String io = "";
        for (Call c : t.callsOf("kvm_emulate_pio"))
            if (c.parent().isPresent()) { io = c.parent().get().function(); break; }
        int user = (int) t.events().stream().filter(e -> e.name().equals("vmm_exit")).count();
        return new Facts(t.callsOf("kvm_arch_vcpu_ioctl_run").size(), exits.size(), firstReason, firstHandler, io,
                user, t.callsOf("complete_pio").size());
    }

    /** "reason io_instruction rip 0x7c14" gives io_instruction. */
    static String reason(String text) {
        String[] w = text.trim().split("\\s+");
        return w.length > 1 && w[0].equals("reason") ? w[1] : text;
    }

    private static Check number(String key, String question, java.util.function.ToIntFunction<Facts> truth) {
        return answerNumber(key, question, () -> truth.applyAsInt(facts()));
    }

    private static Check name(String key, String question, java.util.function.Function<Facts, String> truth) {
        return answerNames(key, question, () -> truth.apply(facts()));
    }

    @Override public List<Check> checks() {
        return List.of(
                number("kvm_run_calls", "how many KVM_RUN ioctls the VMM made", Facts::kvmRuns),
                number("vm_exits", "how many VM exits the guest caused", Facts::vmExits),
                name("first_exit_reason", "the reason of the first VM exit", Facts::firstExitReason),
                name("first_exit_handler", "the handler vmx_handle_exit called for it", Facts::firstExitHandler),
                name("io_handler", "the handler that calls kvm_emulate_pio", Facts::ioHandler),
                number("userspace_exits", "how many times KVM_RUN returned to the VMM", Facts::userspaceExits),
                number("complete_pio_calls", "how many times complete_pio ran", Facts::completePio));
    }
}
