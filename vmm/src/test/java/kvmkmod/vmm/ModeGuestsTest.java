package kvmkmod.vmm;

import kvmkmod.hw.Backend;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The guests that change processor mode and build their own page tables (modes, longmode, paging,
 * paging64): what each prints is fixed by the SDM, so the transcript is checked line by line on every
 * transport that runs the guest. The host's /dev/kvm (PVM) cannot turn on 32-bit or PAE paging, so
 * modes and paging are checked on our KVM only; {@link DifferentialTest} compares the others with it.
 */
class ModeGuestsTest {

    static final long TIMEOUT_MS = DifferentialTest.GUEST_TIMEOUT_MS;

    static final String REAL_TO_32 = """
            real mode: CR0=60000010
            16-bit protected mode: CR0=60000011
            32-bit protected mode: CR0=60000011
            """;
    static final String LEGACY_PAGING = """
            32-bit paging: CR0=e0000011 CR4=00000010
            read through the 4 MiB page
            PAE paging: CR4=00000030
            """;
    static final String LONG_MODE = """
            64-bit mode: EFER=00000500 RAX>>32=01234567
            compatibility mode: EFER=00000500
            back in 64-bit mode
            modes: done
            """;
    /** Y's PTE: page 0x21000, present+writable, then accessed (0x20), then dirty (0x40); B's PDE: PT_B, accessed. */
    static final String PAGING = """
            CR3=A, window: page X
            CR3=B, window: page Y
            B's PTE after the read: 00021023, after a write: 00021063
            PTE -> page Z, INVLPG, window: page Z
            CR3=A, window: page X
            page Y now: page y
            B's PDE: 00014023
            MMIO through the window+4K: 000000ff
            paging: done
            """;

    private static GuestRunner.Run onRealKvm(String guest) {
        try (HostSys sys = Transports.realKvm("ModeGuestsTest " + guest)) {
            return GuestRunner.run(sys, guest);
        }
    }

    private static GuestRunner.Run onSoft(String guest) {
        try (JavaSys sys = Transports.java("ModeGuestsTest " + guest + " on java-soft", Backend.SOFT)) {
            return GuestRunner.run(sys, guest, TIMEOUT_MS);
        }
    }

    private static void assertHaltedWith(GuestRunner.Run r, String guest, String transcript) {
        assertThat(r.outputText()).as("%s: output (%s)", guest, r.result().message()).isEqualTo(transcript);
        assertThat(r.result().outcome()).as(guest).isEqualTo(Outcome.HLT);
    }

    private static List<String> mmioExits(GuestRunner.Run r) {
        return r.result().exitLog().stream().filter(e -> e.reason() == kvmkmod.include.Kvm_h.KVM_EXIT_MMIO)
                .map(ExitEvent::toString).toList();
    }

    @Test
    void longmodeOnRealKvm() { assertHaltedWith(onRealKvm("longmode"), "longmode", REAL_TO_32 + LONG_MODE); }

    @Test
    void longmodeOnSoft() { assertHaltedWith(onSoft("longmode"), "longmode", REAL_TO_32 + LONG_MODE); }

    @Test
    void modesOnSoftTakesEveryStep() {
        assertHaltedWith(onSoft("modes"), "modes", REAL_TO_32 + LEGACY_PAGING + LONG_MODE);
    }

    /** The reference for the MMIO exits: the guest-physical address behind the page mapping. */
    @Test
    void paging64OnRealKvm() {
        GuestRunner.Run r = onRealKvm("paging64");
        assertHaltedWith(r, "paging64", PAGING);
        assertThat(mmioExits(r)).containsExactly("MMIO write 0x100010 len=1 data=5a", "MMIO read 0x100014 len=1 data=ff");
    }

    @Test
    void paging64OnSoft() {
        GuestRunner.Run r = onSoft("paging64");
        assertHaltedWith(r, "paging64", PAGING);
        assertThat(mmioExits(r)).hasSize(2);
    }

    @Test
    void pagingOnSoft() {
        GuestRunner.Run r = onSoft("paging");
        assertHaltedWith(r, "paging", PAGING);
        assertThat(mmioExits(r)).hasSize(2);
    }
}
