package kvmkmod.vmm;

import kvmkmod.guests.Guests;
import kvmkmod.hw.Backend;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Map;
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

    /**
     * Guests the reference cannot run, and why. The host's /dev/kvm (PVM) emulates ring-0 code outside
     * 64-bit mode with the kernel's instruction emulator. {@link TeachingGuestsTest} checks the first
     * three on our KVM alone.
     */
    static final Map<String, String> NO_REFERENCE = Map.of(
            "modes", "it shuts the guest down at the MOV to CR0 that turns on 32-bit paging",
            "paging", "it shuts the guest down at the MOV to CR0 that turns on 32-bit paging",
            "exceptions", "KVM_EXIT_INTERNAL_ERROR (suberror 1, emulation) at the handler's IRETD in protected mode",
            "tasks", "KVM_EXIT_INTERNAL_ERROR (suberror 1, emulation) at the far JMP to a TSS descriptor",
            "hypercall", "KVM_RUN does not return after the VMCALL");

    /** Guests our KVM over the SOFT backend does not run like the reference yet, and why. */
    static final Map<String, String> DIFFERS_ON_SOFT = Map.of(
            "cpuid-msr", "PAT reads back its low 32 bits only (0000000000070406 at reset): 2.6.33 keeps kvm_vcpu_arch.pat "
                    + "as a u32 (asm/kvm_host.h:361), the host's newer KVM keeps all 64");

    /** Guests our KVM over the HOST backend does not run like the reference yet, and why. */
    static final Map<String, String> DIFFERS_ON_HOST = Map.of(
            "cpuid-msr", "the host vCPU answers CPUID, RDMSR and WRMSR itself, from the host's CPUID table and with a "
                    + "64-bit PAT, so no handle_cpuid/handle_rdmsr of ours runs",
            "longmode", "the guest reads CR0 as the host vCPU holds it (0x32 in real mode, not the read shadow "
                    + "0x60000010): the host answers MOV from CR0 itself",
            "paging64", "the host vCPU turns paging on without a CR-access exit, so our MMU keeps its nonpaging "
                    + "context and the emulator reports MMIO at the guest-virtual address (0x401010, not 0x100010)");

    @org.junit.jupiter.api.BeforeAll
    static void sayWhatIsNotCompared() {
        NO_REFERENCE.forEach((g, why) -> System.out.println("[not compared] " + g + ": on the host's /dev/kvm " + why));
        DIFFERS_ON_SOFT.forEach((g, why) -> System.out.println("[not compared] " + g + " on SOFT: " + why));
        DIFFERS_ON_HOST.forEach((g, why) -> System.out.println("[not compared] " + g + " on HOST: " + why));
    }

    static Stream<String> guests() {
        return Guests.names().stream().filter(n -> !n.equals("bench-out"))
                .filter(n -> !n.equals("triple-fault") || Boolean.getBoolean("kvmkmod.slowTests"))
                .filter(n -> !NO_REFERENCE.containsKey(n));
    }

    static Stream<String> guestsForSoft() { return guests().filter(n -> !DIFFERS_ON_SOFT.containsKey(n)); }

    static Stream<String> guestsForHost() { return guests().filter(n -> !DIFFERS_ON_HOST.containsKey(n)); }

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
    @MethodSource("guestsForHost")
    void javaOverHostBackendMatchesRealKvm(String guest) { compare(guest, Backend.HOST); }

    @org.junit.jupiter.api.Timeout(value = 60, threadMode = org.junit.jupiter.api.Timeout.ThreadMode.SEPARATE_THREAD)
    @ParameterizedTest(name = "{0}: java kvm over SOFT == host /dev/kvm")
    @MethodSource("guestsForSoft")
    void javaOverSoftBackendMatchesRealKvm(String guest) { compare(guest, Backend.SOFT); }
}
