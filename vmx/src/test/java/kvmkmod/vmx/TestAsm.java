package kvmkmod.vmx;

import org.junit.jupiter.api.Assumptions;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Small test guests written in GNU as (Intel syntax) and assembled into a flat image when the test runs,
 * linked at a given address. Without binutils the test is skipped, saying so.
 */
final class TestAsm {
    private TestAsm() {}

    static byte[] assemble(String source, long org) {
        String why = missing();
        if (why != null) {
            System.out.println("skipped: " + why);
            Assumptions.abort(why);
        }
        try {
            Path dir = Files.createTempDirectory("testasm");
            try {
                Path src = dir.resolve("g.S"), obj = dir.resolve("g.o"), bin = dir.resolve("g.bin");
                Files.writeString(src, ".intel_syntax noprefix\n.globl _start\n" + source + "\n");
                run(dir, "as", "--32", "-o", obj.toString(), src.toString());
                run(dir, "ld", "-m", "elf_i386", "-Ttext=0x" + Long.toHexString(org), "-e", "_start",
                        "--oformat", "binary", "-o", bin.toString(), obj.toString());
                return Files.readAllBytes(bin);
            } finally {
                try (var s = Files.walk(dir)) { s.sorted(java.util.Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete); }
            }
        } catch (java.io.IOException | InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String missing() {
        for (String tool : new String[] {"as", "ld"}) {
            boolean found = false;
            for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator))
                if (!d.isEmpty() && Files.isExecutable(Path.of(d, tool))) { found = true; break; }
            if (!found) return "GNU " + tool + " is not on PATH, so the test guest cannot be assembled";
        }
        return null;
    }

    private static void run(Path dir, String... cmd) throws java.io.IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0)
            throw new IllegalStateException(String.join(" ", cmd) + ": " + out);
    }
}
