package kvmkmod.guests;

import org.junit.jupiter.api.Test;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class GuestsTest {

    @Test
    void everyListedGuestHasImageAndSource() {
        assertThat(Guests.names()).contains("hello", "pio-both", "in-read", "mmio", "bench-out");
        for (String n : Guests.names()) {
            Guests.Guest g = Guests.load(n);
            assertThat(g.image()).as(n).isNotEmpty();
            assertThat(expanded(g.source())).as(n).contains(".code16");
            assertThat(g.loadAddress).as(n).isEqualTo(0x7c00);
        }
    }

    /** Every guest starts in real mode: its source, or a file it includes, says .code16. */
    private static String expanded(String source) {
        StringBuilder sb = new StringBuilder(source);
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\.include\\s+\"([^\"]+)\"").matcher(source);
        while (m.find()) {
            String f = m.group(1);
            sb.append(f.endsWith(".S") ? expanded(Guests.load(f.substring(0, f.length() - 2)).source())
                    : Guests.sourceFile(f));
        }
        return sb.toString();
    }

    @Test
    void includesAreOnTheClasspath() {
        assertThat(Guests.includes()).contains("serial.inc");
        for (String f : Guests.includes()) assertThat(Guests.sourceFile(f)).as(f).contains(".macro");
    }

    @Test
    void unknownGuestNamesTheKnownOnes() {
        assertThatThrownBy(() -> Guests.load("nope"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("hello");
    }

    /** The committed images are exactly what GNU as and ld make of the committed sources. */
    @Test
    void imagesMatchTheirSource() throws Exception {
        String why = binutilsMissing();
        if (why != null) System.out.println("GuestsTest.imagesMatchTheirSource skipped: " + why);
        assumeTrue(why == null, why);
        Path dir = Files.createTempDirectory("guests");
        try {
            // all sources first: a guest may .include another guest's source or an include file
            for (String f : Guests.includes()) Files.writeString(dir.resolve(f), Guests.sourceFile(f));
            for (String n : Guests.names()) Files.writeString(dir.resolve(n + ".S"), Guests.load(n).source());
            for (String n : Guests.names()) {
                Guests.Guest g = Guests.load(n);
                Path src = dir.resolve(n + ".S"), obj = dir.resolve(n + ".o"), bin = dir.resolve(n + ".bin");
                run(dir, "as", "--32", "-o", obj.toString(), src.toString());
                run(dir, "ld", "-m", "elf_i386", "-Ttext=0x" + Long.toHexString(g.loadAddress), "-e", "_start",
                        "--oformat", "binary", "-o", bin.toString(), obj.toString());
                assertThat(Files.readAllBytes(bin)).as("%s.bin rebuilt from %s.S", n, n).isEqualTo(g.image());
            }
        } finally {
            try (var s = Files.walk(dir)) { s.sorted(java.util.Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete); }
        }
    }

    private static String binutilsMissing() {
        for (String tool : new String[] {"as", "ld"}) {
            boolean found = false;
            for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator))
                if (!d.isEmpty() && Files.isExecutable(Path.of(d, tool))) { found = true; break; }
            if (!found) return "GNU " + tool + " is not on PATH; the committed images are used unchecked";
        }
        return null;
    }

    private static void run(Path dir, String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("%s: %s", String.join(" ", cmd), out).isZero();
    }
}
