package kvmkmod.docs.labs;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;

/**
 * A lab: a number, a title, the directory of the work the student hands in (labs/labN, or
 * labs/solutions/labN for the reference solution) and the checks that grade it. A check returns null
 * when it passes and says what is wrong when it does not.
 */
public abstract class Lab {
    /** One graded check. */
    public record Check(String name, boolean needsModule, Grader grader) {}

    @FunctionalInterface
    public interface Grader {
        /** Null when the check passes, else what is wrong. May throw; the throwable is the failure. */
        String grade(Work work) throws Exception;
    }

    /** The work being graded: where it is, its answers file and its Java sources. */
    public static final class Work {
        public final Path dir;
        private final LabSources sources;
        private Properties answers;

        Work(Path dir) {
            this.dir = dir;
            this.sources = new LabSources(dir);
        }

        /** {@code answers.properties} of the work directory; a missing key reads as empty. */
        public String answer(String key) {
            if (answers == null) {
                answers = new Properties();
                Path f = dir.resolve("answers.properties");
                if (Files.isRegularFile(f)) {
                    try (Reader r = Files.newBufferedReader(f, StandardCharsets.UTF_8)) {
                        answers.load(r);
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                }
            }
            return answers.getProperty(key, "").trim();
        }

        /** The student's class {@code name} (package and all), compiled from the work directory. */
        public Class<?> load(String name) throws Exception { return sources.load(name); }
    }

    public abstract int number();

    public abstract String title();

    public abstract List<Check> checks();

    /** labs/labN: the student's starting point and work. */
    public Path studentDir(Path repo) { return repo.resolve("labs").resolve("lab" + number()); }

    /** labs/solutions/labN: the reference solution. */
    public Path solutionDir(Path repo) { return repo.resolve("labs").resolve("solutions").resolve("lab" + number()); }

    /** Whether {@code answer} names {@code expected}, ignoring case, spaces, "()" and a leading 0x for numbers. */
    static boolean same(String answer, String expected) {
        return norm(answer).equals(norm(expected));
    }

    static String norm(String s) {
        String t = s.trim().toLowerCase(java.util.Locale.ROOT).replace("()", "").replace(" ", "");
        return t;
    }

    /** A number in decimal or 0x hex, or null. */
    static Long number(String s) {
        String t = s.trim().toLowerCase(java.util.Locale.ROOT).replace("_", "");
        try {
            if (t.startsWith("0x")) return Long.parseUnsignedLong(t.substring(2), 16);
            return Long.parseLong(t);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /**
     * A check that the answer {@code key} names what a measured run shows; {@code truth} is asked only when
     * there is an answer, and empty means the run did not show it.
     */
    static Check answerNames(String key, String question, java.util.function.Supplier<String> truth) {
        return new Check(question, true, w -> {
            if (w.answer(key).isEmpty()) return key + ": no answer yet";
            String t = truth.get();
            if (t.isEmpty()) return "the run did not show this (" + question + ")";
            return same(w.answer(key), t) ? null : key + " = " + w.answer(key) + " does not match the run";
        });
    }

    /** The same for a number, decimal or 0x hex; a negative {@code truth} means the run did not show it. */
    static Check answerNumber(String key, String question, java.util.function.LongSupplier truth) {
        return new Check(question, true, w -> {
            if (w.answer(key).isEmpty()) return key + ": no answer yet";
            Long a = number(w.answer(key));
            long t = truth.getAsLong();
            if (t < 0) return "the run did not show this (" + question + ")";
            return a != null && a == t ? null : key + " = " + w.answer(key) + " does not match the run";
        });
    }

    /** Null when the guest printed {@code want}, else what it printed instead. */
    static String printed(String got, String want) {
        return got.equals(want) ? null : "the guest printed " + Lab2PioDevice.quote(got) + ", expected " + Lab2PioDevice.quote(want);
    }

    /** How many VM exits of {@code reason} (as kvm_exit prints it: cpuid, hypercall, ...) the trace holds. */
    static long exits(kvmkmod.include.trace.FunctionGraphTrace t, String reason) {
        return t.events().stream().filter(e -> e.name().equals("kvm_exit") && e.text().startsWith("reason " + reason + " ")).count();
    }

    /** Null when the run ended at the guest's HLT, else how it ended. */
    static String endedAtHlt(kvmkmod.vmm.RunResult r) {
        return r.outcome() == kvmkmod.vmm.Outcome.HLT ? null
                : "the run ended with " + r.outcome() + " (" + r.message() + "), not at the guest's HLT";
    }

    static String expect(String what, String answer, Object expected) {
        if (answer.isEmpty()) return what + ": no answer yet";
        return what + ": " + answer + " is not right";
    }
}
