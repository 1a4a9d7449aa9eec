package kvmkmod.docs.labs;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The lab grader, in the manner of {@code make grade}: runs every check of a lab against the student's
 * directory (labs/labN) or the reference solution (labs/solutions/labN) and prints OK or FAIL per
 * check, then the score. Exit status: 0 all checks pass, 1 a check failed, 2 usage, 3 no check failed
 * but some could not run because the Java module cannot be loaded on this build.
 *
 * <pre>
 * mvn -q -pl docs -am compile -Dlab=2                 # grade labs/lab2
 * mvn -q -pl docs -am compile -Dlab=2 -Dlab.tree=solution
 * </pre>
 */
public final class Grade {
    public static final List<Lab> LABS = List.of(new Lab1Trace(), new Lab2PioDevice(), new Lab3ExitHandler(),
            new Lab4Mmio(), new Lab5Vm86(), new Lab6Debugger(), new Lab7ShadowPaging(), new Lab8Hypercall());

    /** What a grading run found. */
    public record Report(int passed, List<String> failed, List<String> notRun) {
        public boolean allPassed() { return failed.isEmpty() && notRun.isEmpty(); }
    }

    private Grade() {}

    public static Lab lab(int n) {
        for (Lab l : LABS) if (l.number() == n) return l;
        throw new IllegalArgumentException("no lab " + n + " (labs 1-" + LABS.size() + ")");
    }

    public static void main(String[] args) {
        Map<String, String> a = new LinkedHashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) a.put(args[i], args[i + 1]);
        if (!a.containsKey("--repo") || !a.containsKey("--lab")) {
            System.err.println("usage: Grade --repo DIR --lab N|all [--tree student|solution]");
            System.exit(2);
        }
        Path repo = Path.of(a.get("--repo")).toAbsolutePath().normalize();
        boolean solution = "solution".equals(a.getOrDefault("--tree", "student"));
        List<Lab> labs;
        try {
            labs = a.get("--lab").equals("all") ? LABS : List.of(lab(Integer.parseInt(a.get("--lab").trim())));
        } catch (IllegalArgumentException e) {
            System.err.println("Grade: " + e.getMessage());
            System.exit(2);
            return;
        }
        boolean failed = false, notRun = false;
        for (Lab l : labs) {
            Path traces = repo.resolve("docs/target/lab-traces/lab" + l.number());
            LabMachine.traceDir = traces;
            Report r = grade(l, solution ? l.solutionDir(repo) : l.studentDir(repo), repo, System.out);
            if (java.nio.file.Files.isDirectory(traces))
                System.out.println("  the traces of the grader's runs are in " + repo.relativize(traces) + "/\n");
            failed |= !r.failed().isEmpty();
            notRun |= !r.notRun().isEmpty();
        }
        System.exit(failed ? 1 : notRun ? 3 : 0);
    }

    private static String unavailable;
    private static boolean probed;

    /** Why the module cannot run the labs' guests, or null; asked once per JVM. */
    public static synchronized String moduleUnavailable() {
        if (!probed) {
            unavailable = LabMachine.whyUnavailable();
            probed = true;
        }
        return unavailable;
    }

    /** Grades the work in {@code dir}, printing a line per check and the score to {@code out}. */
    public static Report grade(Lab lab, Path dir, Path repo, PrintStream out) {
        out.println("lab " + lab.number() + ": " + lab.title() + "  (grading " + repo.relativize(dir) + ")");
        Lab.Work work = new Lab.Work(dir);
        int passed = 0;
        List<String> failed = new ArrayList<>(), notRun = new ArrayList<>();
        for (Lab.Check c : lab.checks()) {
            String why = c.needsModule() ? moduleUnavailable() : null;
            String result;
            if (why != null) {
                result = "NOT RUN";
                notRun.add(c.name() + ": " + why);
            } else {
                String problem;
                try {
                    problem = c.grader().grade(work);
                } catch (LabMachine.Unavailable u) {
                    problem = null;
                    why = u.getMessage();
                } catch (Throwable t) {
                    problem = describe(t);
                }
                if (why != null) {
                    result = "NOT RUN";
                    notRun.add(c.name() + ": " + why);
                } else if (problem == null) {
                    result = "OK";
                    passed++;
                } else {
                    result = "FAIL";
                    failed.add(c.name() + ": " + problem);
                    why = problem;
                }
            }
            StringBuilder line = new StringBuilder("  ").append(c.name()).append(' ');
            while (line.length() < 62) line.append('.');
            line.append(' ').append(result);
            out.println(line);
            if (why != null) for (String l : why.split("\n")) out.println("      " + l);
        }
        int total = lab.checks().size();
        out.println("  Score: " + passed + "/" + total + (notRun.isEmpty() ? "" : " (" + notRun.size() + " not run: the module cannot be loaded on this build)"));
        out.println();
        return new Report(passed, failed, notRun);
    }

    static String describe(Throwable t) {
        if (t instanceof java.lang.reflect.InvocationTargetException i && i.getCause() != null) t = i.getCause();
        String m = t.getMessage();
        StackTraceElement[] st = t.getStackTrace();
        String where = st.length > 0 ? " at " + st[0] : "";
        return t.getClass().getSimpleName() + (m == null ? "" : ": " + m) + where;
    }
}
