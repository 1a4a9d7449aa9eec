package kvmkmod.docs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * functions.tsv of the shared reference: every function defined in the KVM files of 2.6.33.3, with
 * the line that holds its name.
 */
public final class ReferenceFunctions {
    /** One row of functions.tsv. */
    public record Function(String name, String file, int line, boolean isStatic, String kvmKmodFile, String summary) {}

    private final List<Function> all;
    private final Map<String, List<Function>> byFile = new LinkedHashMap<>();

    private ReferenceFunctions(List<Function> all) {
        this.all = List.copyOf(all);
        for (Function f : all) byFile.computeIfAbsent(f.file(), k -> new ArrayList<>()).add(f);
    }

    public static ReferenceFunctions load(Path functionsTsv) {
        List<String> lines;
        try {
            lines = Files.readAllLines(functionsTsv, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (lines.isEmpty() || !lines.get(0).startsWith("function\tfile\tline\t"))
            throw new IllegalArgumentException(functionsTsv + ": not the functions.tsv header: "
                    + (lines.isEmpty() ? "(empty)" : lines.get(0)));
        List<Function> rows = new ArrayList<>();
        for (int i = 1; i < lines.size(); i++) {
            String l = lines.get(i);
            if (l.isBlank()) continue;
            String[] c = l.split("\t", -1);
            if (c.length < 6) throw new IllegalArgumentException(functionsTsv + ":" + (i + 1) + ": " + c.length + " columns");
            rows.add(new Function(c[0], c[1], Integer.parseInt(c[2]), c[3].equals("yes"), c[4], c[5]));
        }
        return new ReferenceFunctions(rows);
    }

    public List<Function> all() { return all; }

    /** The files in the order functions.tsv lists them. */
    public List<String> files() { return List.copyOf(byFile.keySet()); }

    public List<Function> inFile(String file) { return byFile.getOrDefault(file, Collections.emptyList()); }

    /**
     * The rows for {@code name} in {@code file}. For paging_tmpl.h, {@code paging64_x} and
     * {@code paging32_x} (the names the compiler sees) find the row recorded as {@code FNAME(x)}.
     */
    public List<Function> find(String file, String name) {
        String key = name;
        if (file.endsWith("/paging_tmpl.h")) {
            for (String p : new String[] {"paging64_", "paging32_"})
                if (name.startsWith(p)) key = "FNAME(" + name.substring(p.length()) + ")";
        }
        String k = key;
        return inFile(file).stream().filter(f -> f.name().equals(k) || f.name().equals(name)).toList();
    }

    /** Rows named {@code name} in any file. */
    public List<Function> named(String name) {
        return all.stream().filter(f -> f.name().equals(name)).toList();
    }

    /** The reference directory: the system property, else ../shared/reference beside the repository. */
    public static Optional<Path> locateDirectory(Path repositoryRoot, List<String> tried) {
        List<Path> candidates = new ArrayList<>();
        String prop = System.getProperty("kvmkmod.reference");
        if (prop != null && !prop.isBlank()) candidates.add(Path.of(prop));
        if (repositoryRoot != null) candidates.add(repositoryRoot.resolve("../shared/reference"));
        for (Path p : candidates) {
            Path n = p.toAbsolutePath().normalize();
            tried.add(n.toString());
            if (Files.isRegularFile(n.resolve("functions.tsv"))) return Optional.of(n);
        }
        return Optional.empty();
    }
}
