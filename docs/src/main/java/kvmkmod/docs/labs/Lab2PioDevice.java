package kvmkmod.docs.labs;

import java.lang.reflect.Method;
import java.util.List;
import kvmkmod.include.Kvm;
import kvmkmod.include.KvmIoDevice;
import kvmkmod.include.trace.FunctionGraphTrace;
import kvmkmod.include.trace.FunctionGraphTrace.Call;
import kvmkmod.vmm.ExitEvent;

/**
 * Lab 2: an in-kernel device on the VM's PIO bus. The student's {@code lab2.ValuePortDevice} answers
 * 4-byte reads of port 0x510 inside the kernel, so the {@code in-read} guest's IN never reaches the
 * VMM: kernel_pio finds the device and kvm_emulate_pio completes the IN at once.
 */
public final class Lab2PioDevice extends Lab {
    static final String CLASS = "lab2.ValuePortDevice";
    static final int PORT = 0x510;
    static final long VALUE = 0x4b564d00L;

    @Override public int number() { return 2; }

    @Override public String title() { return "An in-kernel device on the PIO bus"; }

    private record Outcome(LabMachine.Run run, int registered, int createResult) {}

    private final java.util.Map<java.nio.file.Path, Outcome> runs = new java.util.HashMap<>();

    private synchronized Outcome run(Work w) throws Exception {
        Outcome o = runs.get(w.dir);
        if (o != null) return o;
        Class<?> dev = w.load(CLASS);
        if (!KvmIoDevice.class.isAssignableFrom(dev)) throw new IllegalStateException(CLASS + " does not implement KvmIoDevice");
        Method create = dev.getMethod("create", kvmkmod.kvm_main.KvmMain.class, Kvm.class);
        int[] found = new int[2];
        LabMachine.Run r = new LabMachine().beforeRun(vm -> {
            try {
                found[1] = (Integer) create.invoke(null, LabMachine.kvmMain(vm.module()), vm.kvm());
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(CLASS + ".create threw " + Grade.describe(e), e);
            }
            for (int i = 0; i < vm.kvm().pio_bus.dev_count; i++)
                if (dev.isInstance(vm.kvm().pio_bus.devs[i])) found[0]++;
        }).run("in-read");
        o = new Outcome(r, found[0], found[1]);
        runs.put(w.dir, o);
        return o;
    }

    @Override public List<Check> checks() {
        return List.of(
                new Check("create() registers the device on kvm->pio_bus", true, w -> {
                    Outcome o = run(w);
                    if (o.createResult() != 0) return "create returned " + o.createResult();
                    return o.registered() == 1 ? null : "the PIO bus holds " + o.registered() + " ValuePortDevice(s), expected 1";
                }),
                new Check("the IN from port 0x510 never reaches the VMM", true, w -> {
                    for (ExitEvent e : run(w).run().result().exitLog())
                        if (e.isIo() && e.port() == PORT) return "KVM_RUN returned to the VMM with " + e;
                    return null;
                }),
                new Check("the guest prints the device's value plus one", true, w -> {
                    String want = String.format("%08X\n", VALUE + 1);
                    String got = run(w).run().output();
                    return got.equals(want) ? null : "the guest printed " + quote(got) + ", expected " + quote(want);
                }),
                new Check("kernel_pio -> kvm_io_bus_read took it, complete_pio finished it", true, w -> {
                    FunctionGraphTrace t = run(w).run().trace();
                    String e = t.explain(true, "kvm_emulate_pio", "kernel_pio", "kvm_io_bus_read");
                    if (!e.isEmpty()) return e;
                    for (Call c : t.callsOf("kvm_emulate_pio"))
                        if (c.callsInOrder("kernel_pio", "complete_pio")) return null;
                    return "no kvm_emulate_pio called complete_pio after kernel_pio (the IN was not completed in the kernel)";
                }));
    }

    static String quote(String s) {
        return "\"" + s.replace("\n", "\\n") + "\"";
    }
}
