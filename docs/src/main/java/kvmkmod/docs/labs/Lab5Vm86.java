package kvmkmod.docs.labs;

import java.lang.reflect.Method;
import java.util.List;
import kvmkmod.hw.VmxCapabilities;
import kvmkmod.vmx.KvmIntel;

/**
 * Lab 5: real mode without unrestricted guest. The student's {@code lab5.Setup.configure} takes the
 * soft CPU's VMX capabilities and kvm-intel's parameters before the module loads; switched off, vmx.c
 * must run the real-mode guest {@code hello} in virtual-8086 mode (enter_rmode) and it still has to
 * print its greeting.
 */
public final class Lab5Vm86 extends Lab {
    static final String CLASS = "lab5.Setup";

    @Override public int number() { return 5; }

    @Override public String title() { return "Real mode through vm86 when unrestricted guest is off"; }

    private record Outcome(LabMachine.Run run, Object unrestricted) {}

    private final java.util.Map<java.nio.file.Path, Outcome> runs = new java.util.HashMap<>();

    private synchronized Outcome run(Work w) throws Exception {
        Outcome o = runs.get(w.dir);
        if (o != null) return o;
        Method configure = w.load(CLASS).getMethod("configure", VmxCapabilities.class, KvmIntel.Params.class);
        VmxCapabilities caps = VmxCapabilities.westmere();
        KvmIntel.Params params = new KvmIntel.Params();
        configure.invoke(null, caps, params);
        Object[] seen = new Object[1];
        LabMachine.Run r = new LabMachine().capabilities(caps).params(params)
                .beforeRun(vm -> seen[0] = LabMachine.field(LabMachine.vmx(vm.module()), "enable_unrestricted_guest"))
                .run("hello");
        o = new Outcome(r, seen[0]);
        runs.put(w.dir, o);
        return o;
    }

    @Override public List<Check> checks() {
        return List.of(
                new Check("the loaded module runs without unrestricted guest", true, w -> {
                    Object u = run(w).unrestricted();
                    return Integer.valueOf(0).equals(u) ? null : "vmx.c's enable_unrestricted_guest is " + u + " after insmod";
                }),
                new Check("the guest runs in vm86: its HLT faults into handle_rmode_exception", true, w -> {
                    String e = run(w).run().trace().explain(true, "handle_exception", "handle_rmode_exception");
                    return e.isEmpty() ? null : e;
                }),
                new Check("hello prints its greeting once and halts", true, w -> {
                    LabMachine.Run r = run(w).run();
                    String want = "Hello from the guest!\n";
                    if (!r.output().equals(want))
                        return "the guest printed " + Lab2PioDevice.quote(r.output().length() > 80 ? r.output().substring(0, 80) + "..." : r.output());
                    return endedAtHlt(r.result());
                }));
    }
}
