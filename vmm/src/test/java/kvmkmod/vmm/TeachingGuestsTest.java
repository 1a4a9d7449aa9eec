package kvmkmod.vmm;

import kvmkmod.hw.Backend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The teaching guests that leave real mode, build their own page tables, take exceptions or read CPUID
 * and MSRs: what each prints is fixed by the SDM, so the transcript is checked line by line on every
 * transport that runs the guest today (Bochs 2.7 prints the same transcripts). The host's /dev/kvm
 * (PVM) cannot turn on 32-bit or PAE paging nor deliver exceptions in protected mode, so modes, paging
 * and exceptions are checked on our KVM only; {@link DifferentialTest} compares the rest with it and
 * says which guests it leaves out and why.
 */
class TeachingGuestsTest {

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

    /** Every exception's vector, error code (#GP, #PF), CR2 (#PF) and saved EIP: a fault's is the faulting instruction. */
    static final String EXCEPTIONS = """
            #DE (div 0): vector 00 EIP 00007c85
            #UD (ud2): vector 06 EIP 00007c9b
            #BP (int3): vector 03 EIP 00007cb2
            int 0x80: vector 80 EIP 00007cc8
            #GP (mov ds): vector 0d error 00001230 EIP 00007ce0
            #PF (unmapped): vector 0e error 00000000 CR2 00800123 EIP 00007d40
            #PF (read-only): vector 0e error 00000003 CR2 00020010 EIP 00007d59
            exceptions: done
            """;
    /** After the vendor line (the host's): masked features, MSRs read back, PAT from its reset value. */
    static final String CPUID_MSR_AFTER_VENDOR = """
            cpuid 1: edx&features=0001a978 cpuid 0x80000001: edx&features=20100800
            SYSENTER_CS  wrote 10, reads 0000000000000010
            SYSENTER_ESP wrote 7000, reads 0000000000007000
            SYSENTER_EIP wrote 7e00, reads 0000000000007e00
            PAT at reset 0007040600070406
            PAT written, reads 0007040600070106
            EFER 0000000000000000
            TSC moved between two RDTSCs
            cpuid-msr: done
            """;

    private static GuestRunner.Run onRealKvm(String guest) {
        try (HostSys sys = Transports.realKvm("TeachingGuestsTest " + guest)) {
            return GuestRunner.run(sys, guest);
        }
    }

    private static GuestRunner.Run onSoft(String guest) {
        try (JavaSys sys = Transports.java("TeachingGuestsTest " + guest + " on java-soft", Backend.SOFT)) {
            return GuestRunner.run(sys, guest, TIMEOUT_MS);
        }
    }

    /** Our KVM over the soft processor, loaded with {@code ept} as the module parameter (0: shadow paging). */
    private static GuestRunner.Run onSoft(String guest, boolean ept) {
        try (JavaSys sys = MmuPagingTest.open(MmuPagingTest.params(ept, true))) {
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

    /** With EPT the emulator finds the MMIO address through the guest's own page tables (paging32/64_gva_to_gpa). */
    @ParameterizedTest
    @ValueSource(strings = {"paging", "paging64"})
    void pagingOnSoft(String guest) {
        GuestRunner.Run r = onSoft(guest);
        assertHaltedWith(r, guest, PAGING);
        assertThat(mmioExits(r)).containsExactly("MMIO write 0x100010 len=1 data=5a", "MMIO read 0x100014 len=1 data=ff");
    }

    @Test
    void tasksOnSoft() { assertHaltedWith(onSoft("tasks"), "tasks", BochsGuestsTest.TASKS); }

    /** kvm_emulate_hypercall: 0 for KVM_HC_VAPIC_POLL_IRQ, -KVM_ENOSYS (-1000) for a number it does not know. */
    @Test
    void hypercallOnSoft() {
        assertHaltedWith(onSoft("hypercall"), "hypercall", """
                vmcall KVM_HC_VAPIC_POLL_IRQ: eax=00000000
                vmcall 0x12345: eax=fffffc18
                hypercall: done
                """);
    }

    /**
     * ept=0: shadow paging, and real mode in vm86 (2.6.33 turns unrestricted guest off without EPT). Every
     * teaching guest prints the same and leaves KVM_RUN for the same reasons as with EPT.
     */
    @ParameterizedTest
    @ValueSource(strings = {"modes", "longmode", "paging", "paging64", "exceptions", "tasks", "hypercall", "cpuid-msr"})
    void shadowPagingRunsEveryGuestAsEptDoes(String guest) {
        GuestRunner.Run ept = onSoft(guest, true), shadow = onSoft(guest, false);
        assertThat(ept.result().outcome()).as("%s with EPT: %s", guest, ept.result().message()).isEqualTo(Outcome.HLT);
        assertThat(shadow.outputText()).as("%s with ept=0 (%s)", guest, shadow.result().message()).isEqualTo(ept.outputText());
        assertThat(ExitEvent.itemised(shadow.result().exitLog())).isEqualTo(ExitEvent.itemised(ept.result().exitLog()));
    }

    @Test
    void exceptionsOnSoft() { assertHaltedWith(onSoft("exceptions"), "exceptions", EXCEPTIONS); }

    @Test
    void cpuidMsrOnRealKvm() {
        GuestRunner.Run r = onRealKvm("cpuid-msr");
        String out = r.outputText();
        assertThat(out).as("cpuid-msr: output (%s)", r.result().message()).matches("(?s)cpuid 0: [\\x20-\\x7e]{12}\n.*");
        assertThat(out.substring(out.indexOf('\n') + 1)).isEqualTo(CPUID_MSR_AFTER_VENDOR);
        assertThat(r.result().outcome()).isEqualTo(Outcome.HLT);
    }

    /**
     * Dirty logging sees exactly the pages the guest wrote: the stack page (0x7000), the paging structures
     * (0x10000-0x18000, written by the guest and, for A/D bits, by the processor) and pages X, Y, Z.
     */
    static final List<Long> PAGING64_DIRTY = List.of(0x7L, 0x10L, 0x11L, 0x12L, 0x13L, 0x14L, 0x15L, 0x16L, 0x17L, 0x18L,
            0x20L, 0x21L, 0x22L);

    @Test
    void paging64DirtiesTheKnownPagesOnRealKvm() {
        try (HostSys sys = Transports.realKvm("TeachingGuestsTest paging64 dirty log")) {
            assertDirtyPages(sys, List.of());
        }
    }

    /**
     * The same pages through our KVM_GET_DIRTY_LOG (slot write-protected, sptes made writable at the first
     * write). Before the run, 2.6.33's vCPU reset has already written the vm86 TSS (init_rmode_tss): without
     * KVM_SET_TSS_ADDR it takes the last three pages of slot 0 (rmode_tss_base, vmx.c:1466).
     */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void paging64DirtiesTheSamePagesOnOurKvm(boolean ept) {
        try (JavaSys sys = MmuPagingTest.open(MmuPagingTest.params(ept, true))) {
            long last = new Vmm.Config().memSize / 4096 - 1;
            assertDirtyPages(sys, List.of(last - 2, last - 1, last));
        }
    }

    private static void assertDirtyPages(Sys sys, List<Long> beforeTheRun) {
        Vmm.Config c = new Vmm.Config();
        c.logDirtyPages = true;
        c.maxExits = 100_000;
        c.output = new java.io.ByteArrayOutputStream();
        try (Vmm vmm = new Vmm(sys, c)) {
            vmm.loadImage(kvmkmod.guests.Guests.load("paging64").image());
            assertThat(vmm.kvm_get_dirty_log(0)).as("before the run").containsExactlyElementsOf(beforeTheRun);
            assertThat(vmm.kvm_run().outcome()).isEqualTo(Outcome.HLT);
            assertThat(vmm.kvm_get_dirty_log(0)).containsExactlyElementsOf(PAGING64_DIRTY);
            assertThat(vmm.kvm_get_dirty_log(0)).as("the log is cleared when read").isEmpty();
        }
    }
}
