package kvmkmod.docs;

import java.util.List;
import kvmkmod.hw.Backend;
import kvmkmod.include.trace.Ftrace;
import kvmkmod.include.trace.FunctionGraph;
import kvmkmod.vmm.GuestRunner;
import kvmkmod.vmm.JavaSys;

/**
 * One traced run of a bundled guest through the Java module on the soft CPU, from insmod to rmmod:
 * the whole of it is inside {@link Ftrace#capture}, so the trace starts with vmx_init and holds the VMM's
 * set-up ioctls, every KVM_RUN and the module's exit.
 */
public final class TraceCapture {
    /** The trace lines, or (when the module cannot be loaded because a part is not written yet) why not. */
    public record Result(List<String> lines, String unavailable, GuestRunner.Run run) {}

    private TraceCapture() {}

    public static Result run(String guest) {
        FunctionGraph.install();
        GuestRunner.Run[] run = new GuestRunner.Run[1];
        try {
            List<String> lines = Ftrace.capture(() -> {
                try (JavaSys sys = JavaSys.create(Backend.SOFT)) {
                    run[0] = GuestRunner.run(sys, guest);
                }
            });
            return new Result(lines, null, run[0]);
        } catch (JavaSys.Unavailable u) {
            if (u.notImplementedYet()) return new Result(List.of(), u.getMessage(), null);
            throw u;
        }
    }
}
