package kvmkmod.docs.labs;

import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.List;
import java.util.function.ToIntFunction;
import kvmkmod.include.KvmVcpu;
import kvmkmod.x86.X86;

/**
 * Lab 3: a new exit handler. The student's {@code lab3.CpuidHandler.handle_cpuid} takes the CPUID exits
 * (basic exit reason 10) in place of vmx.c's handle_cpuid: for the leaf 0x4b4d0000 it answers the
 * signature "KvmKmodJava!" in EBX, ECX, EDX itself; every other leaf still goes to the original handler.
 * The grader installs it in slot 10 of the module's kvm_vmx_exit_handlers[] and runs a small guest
 * that asks for the new leaf and prints the twelve signature bytes to port 0xe9.
 */
public final class Lab3ExitHandler extends Lab {
    static final String CLASS = "lab3.CpuidHandler";
    static final int EXIT_REASON_CPUID = 10;
    static final String SIGNATURE = "KvmKmodJava!";

    /**
     * The guest, 16-bit real mode at 0x7c00 (source on the lab page): CPUID with EAX=0x4b4d0000, EDX kept in ESI,
     * then EBX, ECX and EDX to port 0xe9 a byte at a time, lowest byte first, then HLT.
     */
    static final byte[] GUEST = bytes(
            "66 b8 00 00 4d 4b", "0f a2", "66 89 d6", "ba e9 00",
            "66 89 d8", "e8 0d 00", "66 89 c8", "e8 07 00", "66 89 f0", "e8 01 00", "f4",
            "ee", "66 c1 e8 08", "ee", "66 c1 e8 08", "ee", "66 c1 e8 08", "ee", "c3");

    static byte[] bytes(String... groups) {
        String hex = String.join(" ", groups).trim();
        String[] b = hex.split("\\s+");
        byte[] out = new byte[b.length];
        for (int i = 0; i < b.length; i++) out[i] = (byte) Integer.parseInt(b[i], 16);
        return out;
    }

    @Override public int number() { return 3; }

    @Override public String title() { return "A new exit handler for CPUID"; }

    private final java.util.Map<java.nio.file.Path, LabMachine.Run> runs = new java.util.HashMap<>();

    synchronized LabMachine.Run run(Work w) throws Exception {
        LabMachine.Run r = runs.get(w.dir);
        if (r != null) return r;
        Method handler = w.load(CLASS).getMethod("handle_cpuid", X86.class, KvmVcpu.class, ToIntFunction.class);
        r = new LabMachine().beforeRun(vm -> install(LabMachine.vmx(vm.module()), EXIT_REASON_CPUID, handler)).run(GUEST, 0x7c00);
        runs.put(w.dir, r);
        return r;
    }

    /**
     * Puts the student's handler (a static method taking X86, the vCPU and the original handler) into slot
     * {@code exitReason} of kvm_vmx_exit_handlers[], keeping the original for it to call.
     */
    static void install(Object vmx, int exitReason, Method handler) {
        Object[] table = (Object[]) LabMachine.field(vmx, "kvm_vmx_exit_handlers");
        X86 x86 = (X86) LabMachine.field(vmx, "x86");
        Class<?> type = table.getClass().getComponentType();
        Object original = table[exitReason];
        Method handle = java.util.Arrays.stream(type.getMethods()).filter(m -> m.getName().equals("handle")).findFirst()
                .orElseThrow(() -> new IllegalStateException(type + " has no handle method"));
        handle.setAccessible(true);
        ToIntFunction<KvmVcpu> orig = v -> {
            try {
                return (Integer) handle.invoke(original, v);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e.getCause() != null ? e.getCause() : e);
            }
        };
        table[exitReason] = Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type}, (p, m, args) -> {
            if (m.getName().equals("handle")) {
                try {
                    return handler.invoke(null, x86, args[0], orig);
                } catch (java.lang.reflect.InvocationTargetException e) {
                    throw e.getCause();
                }
            }
            if (m.getName().equals("toString")) return handler.getDeclaringClass().getName() + "::" + handler.getName();
            if (m.getName().equals("hashCode")) return System.identityHashCode(p);
            if (m.getName().equals("equals")) return p == args[0];
            throw new UnsupportedOperationException(m.getName());
        });
    }

    @Override public List<Check> checks() {
        return List.of(
                new Check("the guest prints the signature for leaf 0x4b4d0000", true, w -> {
                    return printed(run(w).output(), SIGNATURE);
                }),
                new Check("the CPUID exit is answered in the kernel without handle_cpuid", true, w -> {
                    var t = run(w).trace();
                    long cpuidExits = exits(t, "cpuid");
                    if (cpuidExits != 1) return cpuidExits + " CPUID exits in the trace, expected 1";
                    int original = t.callsOf("handle_cpuid").size();
                    if (original != 0) return "vmx.c's handle_cpuid ran " + original + " time(s) for the new leaf";
                    for (var e : run(w).result().exitLog())
                        if (e.reason() != kvmkmod.include.Kvm_h.KVM_EXIT_HLT && !(e.isIo() && e.port() == 0xe9))
                            return "KVM_RUN returned to the VMM with " + e;
                    return null;
                }),
                new Check("the guest runs on to its HLT", true, w -> {
                    return endedAtHlt(run(w).result());
                }));
    }
}
