package kvmkmod.docs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import kvmkmod.docs.labs.Grade;
import kvmkmod.docs.labs.Lab;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every lab's reference solution (labs/solutions/labN) passes its grader, and the starting point the
 * student gets (labs/labN) does not. Checks that need the Java module are not run while
 * KvmIntel.insmod is not written; the test then says so and is skipped (after grading what it can).
 */
class LabsTest {
    static Stream<Integer> labs() {
        return Grade.LABS.stream().map(Lab::number);
    }

    private static Grade.Report grade(Lab lab, Path dir) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        Grade.Report r = Grade.grade(lab, dir, TestPaths.repo(), new PrintStream(bytes, true, StandardCharsets.UTF_8));
        System.out.print(bytes.toString(StandardCharsets.UTF_8));
        return r;
    }

    private static void skipIfNotRun(Lab lab, Grade.Report r, String what) {
        if (!r.notRun().isEmpty()) {
            String why = "lab " + lab.number() + " " + what + ": " + r.notRun().size() + " check(s) not run: "
                    + r.notRun().get(0);
            System.out.println("[skipped] " + why);
            assumeTrue(false, why);
        }
    }

    @ParameterizedTest(name = "lab {0}: the reference solution passes its grader")
    @MethodSource("labs")
    void referenceSolutionPasses(int n) {
        Lab lab = Grade.lab(n);
        Path dir = lab.solutionDir(TestPaths.repo());
        assertThat(dir).isDirectory();
        Grade.Report r = grade(lab, dir);
        assertThat(r.failed()).as("lab %d: failed checks of the reference solution", n).isEmpty();
        skipIfNotRun(lab, r, "reference solution");
        assertThat(r.passed()).isEqualTo(lab.checks().size());
    }

    @ParameterizedTest(name = "lab {0}: the starting point fails its grader")
    @MethodSource("labs")
    void startingPointFails(int n) {
        Lab lab = Grade.lab(n);
        Path dir = lab.studentDir(TestPaths.repo());
        assertThat(dir).isDirectory();
        Grade.Report r = grade(lab, dir);
        if (r.failed().isEmpty()) skipIfNotRun(lab, r, "starting point");
        assertThat(r.failed()).as("lab %d: the starting point should fail at least one check", n).isNotEmpty();
    }

    @ParameterizedTest(name = "lab {0}: has a page with goal, background, steps and the grading command")
    @MethodSource("labs")
    void labPageExists(int n) throws Exception {
        Path page = TestPaths.repo().resolve("docs/src/docs/asciidoc/lab" + n + ".adoc");
        assertThat(page).isRegularFile();
        String text = Files.readString(page);
        assertThat(text).contains("== Goal", "== Background", "== Steps", "== Grading", "-Dlab=" + n);
    }
}
