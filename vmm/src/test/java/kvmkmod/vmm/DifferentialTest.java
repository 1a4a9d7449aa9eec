package kvmkmod.vmm;

import kvmkmod.guests.Guests;
import kvmkmod.hw.Backend;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The oracle: every bundled guest (but the endless benchmark) must look the same to userspace on the
 * host's real /dev/kvm, on our Java KVM over the HOST backend and on our Java KVM over the SOFT backend
 * — the same exits with the same data, the same output, the same final registers, the same ioeventfd
 * count. While our module cannot be loaded yet, the Java legs are skipped with the reason printed.
 */
class DifferentialTest {

    /** Each guest is done in milliseconds on the real KVM; our kernel gets this long before a stop is requested. */
    static final long GUEST_TIMEOUT_MS = 20_000;

    static Stream<String> guests() {
        return Guests.names().stream().filter(n -> !n.equals("bench-out"))
                .filter(n -> !n.equals("triple-fault") || Boolean.getBoolean("kvmkmod.slowTests"));
    }

    private static GuestRunner.Observed reference(String guest) {
        try (HostSys sys = Transports.realKvm("DifferentialTest reference " + guest)) {
            return GuestRunner.run(sys, guest).observed();
        }
    }

    private static void compare(String guest, Backend backend) {
        GuestRunner.Observed expected = reference(guest);
        GuestRunner.Observed actual;
        try (JavaSys sys = Transports.java("DifferentialTest " + guest + " on java-" + backend.name().toLowerCase(), backend)) {
            actual = GuestRunner.run(sys, guest, GUEST_TIMEOUT_MS).observed();
        }
        if (actual.outcome() == Outcome.STOPPED)
            org.assertj.core.api.Assertions.fail("%s on %s: stopped by the watchdog after %d ms; exits until then: %s; "
                    + "the real KVM gave: %s", guest, backend, GUEST_TIMEOUT_MS, actual.exitLog(), expected.exitLog());
        // String I/O may be split differently into exits by different kernels: compare item by item.
        assertThat(ExitEvent.itemised(actual.exitLog())).as("%s: exit log on %s vs host /dev/kvm", guest, backend)
                .containsExactlyElementsOf(ExitEvent.itemised(expected.exitLog()));
        assertThat(actual.output()).as("%s: output", guest).isEqualTo(expected.output());
        assertThat(actual.regs()).as("%s: final registers", guest).isEqualTo(expected.regs());
        assertThat(actual.ioeventfdCount()).as("%s: ioeventfd count", guest).isEqualTo(expected.ioeventfdCount());
        assertThat(actual.outcome()).as("%s: outcome", guest).isEqualTo(expected.outcome());
    }

    // A kernel that ignores the stop request would hang the suite: give up on the test thread after 1 min.
    @org.junit.jupiter.api.Timeout(value = 60, threadMode = org.junit.jupiter.api.Timeout.ThreadMode.SEPARATE_THREAD)
    @ParameterizedTest(name = "{0}: java kvm over HOST == host /dev/kvm")
    @MethodSource("guests")
    void javaOverHostBackendMatchesRealKvm(String guest) { compare(guest, Backend.HOST); }

    @org.junit.jupiter.api.Timeout(value = 60, threadMode = org.junit.jupiter.api.Timeout.ThreadMode.SEPARATE_THREAD)
    @ParameterizedTest(name = "{0}: java kvm over SOFT == host /dev/kvm")
    @MethodSource("guests")
    void javaOverSoftBackendMatchesRealKvm(String guest) { compare(guest, Backend.SOFT); }
}
