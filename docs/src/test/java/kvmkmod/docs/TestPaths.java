package kvmkmod.docs;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Where the tests find the repository, the reference list and the rendered site. */
final class TestPaths {
    private TestPaths() {}

    /** The repository root: the kvmkmod.repo property set by the docs pom, else the module's parent. */
    static Path repo() {
        String p = System.getProperty("kvmkmod.repo");
        Path dir = p != null ? Path.of(p) : Path.of(System.getProperty("user.dir")).resolve("..");
        return dir.toAbsolutePath().normalize();
    }

    /**
     * The reference functions, or the test is skipped saying where it looked: the kvmkmod.reference
     * property first, then ../shared/reference beside the repository.
     */
    static ReferenceFunctions reference() {
        List<String> tried = new ArrayList<>();
        Optional<Path> dir = ReferenceFunctions.locateDirectory(repo(), tried);
        assumeTrue(dir.isPresent(), "reference list (functions.tsv) not found; looked in " + tried);
        return ReferenceFunctions.load(dir.get().resolve("functions.tsv"));
    }

    /** The rendered site: the kvmkmod.site property set by the docs pom, else target/generated-docs. */
    static Path site() {
        String p = System.getProperty("kvmkmod.site");
        Path dir = p != null ? Path.of(p) : Path.of(System.getProperty("user.dir"), "target", "generated-docs");
        if (p == null) assumeTrue(Files.isDirectory(dir), "no rendered site at " + dir + " (run the Maven build)");
        return dir;
    }
}
