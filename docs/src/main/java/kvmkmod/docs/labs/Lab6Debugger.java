package kvmkmod.docs.labs;

import java.util.List;
import java.util.Optional;
import kvmkmod.docs.OriginScanner;
import kvmkmod.include.trace.FunctionGraphTrace;

/**
 * Lab 6: with the debugger, find where the value of an IN enters the guest's RAX. The student stops in
 * the kernel while the {@code in-read} guest runs and writes down the function, its C origin, its Java
 * class, the guest RIP of the IN, the size of the access and what RAX holds right after.
 */
public final class Lab6Debugger extends Lab {
    static final int VALUE = 0x1234abcd;

    @Override public int number() { return 6; }

    @Override public String title() { return "Where an IN value enters RAX, found with the debugger"; }

    private static LabMachine.Run run;

    static synchronized LabMachine.Run run() {
        if (run == null) run = new LabMachine().value(VALUE).run("in-read");
        return run;
    }

    static Optional<OriginScanner.Mirror> completePio() {
        return OriginScanner.scan(Lab6Debugger.class.getClassLoader(), OriginScanner.KVM_PACKAGES).mirrors().stream()
                .filter(m -> m.cFunction().equals("complete_pio")).findFirst();
    }

    private static Check text(String key, String question, java.util.function.Supplier<String> truth) {
        return new Check(question, false, w -> {
            if (w.answer(key).isEmpty()) return key + ": no answer yet";
            return same(w.answer(key), truth.get()) ? null : key + " = " + w.answer(key) + " is not right";
        });
    }

    @Override public List<Check> checks() {
        return List.of(
                text("function", "the C function that copies the IN data into RAX", () -> "complete_pio"),
                text("c_origin", "its file and line in Linux 2.6.33.3", () -> completePio()
                        .map(m -> m.origin().file() + ":" + m.origin().line()).orElse("arch/x86/kvm/x86.c:3143")),
                text("java_class", "the Java class that mirrors it", () -> completePio()
                        .map(m -> m.type().getSimpleName()).orElse("X86")),
                new Check("the guest RIP of the IN", true, w -> {
                    if (w.answer("in_rip").isEmpty()) return "in_rip: no answer yet";
                    FunctionGraphTrace t = run().trace();
                    Long want = null;
                    for (var e : t.events())
                        if (e.name().equals("kvm_exit") && e.text().startsWith("reason io_instruction")) {
                            want = Lab.number(e.text().replaceAll(".*rip\\s+", ""));
                            break;
                        }
                    Long a = Lab.number(w.answer("in_rip"));
                    return a != null && a.equals(want) ? null : "in_rip = " + w.answer("in_rip") + " is not right";
                }),
                new Check("the size of the access in bytes", false, w -> {
                    Long a = Lab.number(w.answer("in_size"));
                    if (w.answer("in_size").isEmpty()) return "in_size: no answer yet";
                    return a != null && a == 4 ? null : "in_size = " + w.answer("in_size") + " is not right";
                }),
                new Check("RAX right after complete_pio (kvm-run's default --value)", true, w -> {
                    Long a = Lab.number(w.answer("rax_after"));
                    if (w.answer("rax_after").isEmpty()) return "rax_after: no answer yet";
                    run();
                    return a != null && a == (VALUE & 0xffffffffL) ? null : "rax_after = " + w.answer("rax_after") + " is not right";
                }));
    }
}
