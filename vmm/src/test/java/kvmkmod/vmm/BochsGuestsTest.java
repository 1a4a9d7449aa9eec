package kvmkmod.vmm;

import kvmkmod.guests.Guests;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A second reference for the guests the host's /dev/kvm cannot run: Bochs 2.7, an x86 emulator nobody
 * here wrote, boots each from a floppy (the boot sector in {@code /bochs/boot.S} loads the image to
 * 0x7c00) with 1 MiB of RAM, and the UART transcript must be the one {@link TeachingGuestsTest} expects
 * of our KVM. This is the only check {@code tasks} has until our KVM mirrors kvm_task_switch.
 * Skipped, saying why, where Bochs (Debian packages bochs, bochsbios, vgabios, bochs-term) or
 * util-linux's {@code script} (Bochs wants a terminal) is missing.
 */
class BochsGuestsTest {

    static final String BIOS = "/usr/share/bochs/BIOS-bochs-latest", VGABIOS = "/usr/share/vgabios/vgabios.bin";
    static final long TIMEOUT_MS = 60_000;

    /** Each task's TR; NT and the previous-task link are set in a task entered by CALL or a task gate, not by JMP. */
    static final String TASKS = """
            main:                  TR=00000030 NT=00 link=00000000
            task 1 (far jmp):      TR=00000038 NT=00 link=00000000
            main:                  TR=00000030 NT=00 link=00000000
            task 2 (far call):     TR=00000040 NT=01 link=00000030
            main:                  TR=00000030 NT=00 link=00000000
            task 3 (task gate):    TR=00000048 NT=01 link=00000030
            main:                  TR=00000030 NT=00 link=00000000
            tasks: done
            """;

    private static String whyNot() {
        for (String tool : new String[] {"bochs", "script"}) {
            boolean found = false;
            for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator))
                if (!d.isEmpty() && Files.isExecutable(Path.of(d, tool))) { found = true; break; }
            if (!found) return tool + " is not on PATH";
        }
        for (String f : new String[] {BIOS, VGABIOS})
            if (!Files.isReadable(Path.of(f))) return f + " is missing";
        return null;
    }

    /** Boots {@code guest} under Bochs and returns the UART output once it ends with "GUEST: done\n". */
    static String runOnBochs(String guest) throws Exception {
        String why = whyNot();
        Transports.skipIf(why != null, "BochsGuestsTest " + guest, "Bochs cannot run here: " + why);
        Path w = Files.createTempDirectory("bochs-" + guest);
        Process p = null;
        try {
            byte[] boot, image = Guests.load(guest).image();
            try (var in = BochsGuestsTest.class.getResourceAsStream("/bochs/boot.bin")) { boot = in.readAllBytes(); }
            assertThat(image.length).as("the boot sector loads 16 sectors").isLessThanOrEqualTo(16 * 512);
            byte[] disk = new byte[2880 * 512];
            System.arraycopy(boot, 0, disk, 0, 512);
            System.arraycopy(image, 0, disk, 512, image.length);
            Files.write(w.resolve("disk.img"), disk);
            Path com1 = w.resolve("com1.txt"), rc = w.resolve("bochsrc");
            Files.writeString(rc, String.join("\n",
                    "megs: 1", "romimage: file=" + BIOS, "vgaromimage: file=" + VGABIOS,
                    "floppya: 1_44=" + w.resolve("disk.img") + ", status=inserted", "boot: floppy",
                    "display_library: term", "log: " + w.resolve("log.txt"),
                    "com1: enabled=1, mode=file, dev=" + com1, "clock: sync=none",
                    "cpu: count=1, reset_on_triple_fault=0", ""));
            p = new ProcessBuilder("script", "-qfc", "bochs -q -f " + rc, "/dev/null").directory(w.toFile())
                    .redirectErrorStream(true).redirectOutput(w.resolve("terminal.txt").toFile()).start();
            String end = guest + ": done\n";
            long deadline = System.currentTimeMillis() + TIMEOUT_MS;
            boolean started = false;
            String out = "";
            while (System.currentTimeMillis() < deadline && !out.endsWith(end)) {
                Thread.sleep(100);
                if (!started && Files.readString(w.resolve("terminal.txt"), StandardCharsets.ISO_8859_1).contains("<bochs:1>")) {
                    OutputStream cmd = p.getOutputStream();   // Debian's Bochs starts in its debugger: continue
                    cmd.write("c\n".getBytes(StandardCharsets.US_ASCII));
                    cmd.flush();
                    started = true;
                }
                if (Files.exists(com1)) out = Files.readString(com1, StandardCharsets.ISO_8859_1);
            }
            assertThat(out).as("%s under Bochs: no end marker within %d ms", guest, TIMEOUT_MS).endsWith(end);
            return out;
        } finally {
            if (p != null) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor();
            }
            try (var s = Files.walk(w)) { s.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete); }
        }
    }

    @Test
    void tasks() throws Exception { assertThat(runOnBochs("tasks")).isEqualTo(TASKS); }

    @Test
    void exceptions() throws Exception { assertThat(runOnBochs("exceptions")).isEqualTo(TeachingGuestsTest.EXCEPTIONS); }

    @Test
    void modes() throws Exception {
        assertThat(runOnBochs("modes")).isEqualTo(
                TeachingGuestsTest.REAL_TO_32 + TeachingGuestsTest.LEGACY_PAGING + TeachingGuestsTest.LONG_MODE);
    }

    @Test
    void paging() throws Exception { assertThat(runOnBochs("paging")).isEqualTo(TeachingGuestsTest.PAGING); }
}
