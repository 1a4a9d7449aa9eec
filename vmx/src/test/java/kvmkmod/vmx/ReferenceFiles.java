package kvmkmod.vmx;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** A file of the 2.6.33.3 reference inventory, in the directory Maven passes as kvmkmod.reference. */
final class ReferenceFiles {
    private ReferenceFiles() {}

    static Path of(String name) {
        Path f = Path.of(System.getProperty("kvmkmod.reference", "../../shared/reference"), name);
        assumeTrue(Files.isRegularFile(f), "reference file not found: " + f.toAbsolutePath());
        return f;
    }
}
