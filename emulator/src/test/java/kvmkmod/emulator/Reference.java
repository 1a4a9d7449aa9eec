package kvmkmod.emulator;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The 2.6.33.3 reference inventory (../shared/reference), passed by Maven as kvmkmod.reference. */
final class Reference {
    private Reference() {}

    static Path dir() {
        String p = System.getProperty("kvmkmod.reference");
        Path d = p != null ? Path.of(p) : Path.of("../../shared/reference");
        if (!Files.isDirectory(d)) d = Path.of("/work/shared/reference");
        assumeTrue(Files.isDirectory(d), "reference inventory not found: " + d);
        return d;
    }

    /** Rows of a TSV file without its header, split on tabs (trailing empty fields kept). */
    static List<String[]> tsv(String name) throws IOException {
        List<String> lines = Files.readAllLines(dir().resolve(name));
        List<String[]> rows = new ArrayList<>();
        for (String l : lines.subList(1, lines.size())) if (!l.isBlank()) rows.add(l.split("\t", -1));
        return rows;
    }
}
