package kvmkmod.docs;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import kvmkmod.docs.OriginScanner.Mirror;

/**
 * Finds where a Java member is declared in the repository's sources, so that the cross-reference can
 * link to the line. Reads the text only: the first declaration of the name whose annotations carry the
 * same {@code line = N} wins, else the first declaration with an {@code @Origin}, else the first one.
 */
public final class JavaSources {
    /** A path relative to the repository root, with {@code /} separators, and a 1-based line. */
    public record Location(String path, int line) {}

    private static final Pattern ORIGIN_LINE = Pattern.compile("\\bline\\s*=\\s*(\\d+)");
    private static final List<String> NOT_A_TYPE =
            List.of("return", "new", "throw", "else", "case", "yield", "assert", "await");

    private final Path root;
    private final List<Path> sourceRoots = new ArrayList<>();
    private final Map<Path, List<String>> cache = new HashMap<>();

    public JavaSources(Path repositoryRoot) {
        this.root = repositoryRoot.toAbsolutePath().normalize();
        try (Stream<Path> modules = Files.list(root)) {
            modules.sorted().map(m -> m.resolve("src/main/java")).filter(Files::isDirectory).forEach(sourceRoots::add);
        } catch (IOException e) {
            // no sources to link to: the page is written without source links
        }
    }

    public Optional<Location> locate(Mirror m) {
        String outer = m.type().getName();
        int dollar = outer.indexOf('$');
        if (dollar >= 0) outer = outer.substring(0, dollar);
        String rel = outer.replace('.', '/') + ".java";
        for (Path src : sourceRoots) {
            Path file = src.resolve(rel);
            if (!Files.isRegularFile(file)) continue;
            List<String> lines = read(file);
            boolean ctor = m.member() instanceof java.lang.reflect.Constructor<?>;
            String name = ctor ? m.type().getSimpleName() : m.member().getName();
            int line = find(lines, name, ctor, m.origin().line());
            String path = root.relativize(file).toString().replace(java.io.File.separatorChar, '/');
            return Optional.of(new Location(path, line));
        }
        return Optional.empty();
    }

    private List<String> read(Path file) {
        return cache.computeIfAbsent(file, f -> {
            try {
                return Files.readAllLines(f, StandardCharsets.UTF_8);
            } catch (IOException e) {
                return List.of();
            }
        });
    }

    /** 1-based line of the declaration, 0 if none is found. */
    static int find(List<String> lines, String name, boolean constructor, int originLine) {
        String q = Pattern.quote(name);
        Pattern decl = constructor
                ? Pattern.compile("^\\s*(?:(?:public|protected|private)\\s+)?" + q + "\\s*\\(")
                : Pattern.compile("^\\s*(?:@\\w+(?:\\([^)]*\\))?\\s+)*"
                        + "(?:(?:public|protected|private|static|final|synchronized|abstract|native|default|strictfp)\\s+)*"
                        + "(?:<[^>]*>\\s+)?([\\w.$]+(?:<.*>)?(?:\\s*\\[\\s*\\])*)\\s+" + q + "\\s*\\(");
        int firstAny = 0, firstWithOrigin = 0;
        for (int i = 0; i < lines.size(); i++) {
            Matcher d = decl.matcher(lines.get(i));
            if (!d.find()) continue;
            if (!constructor && NOT_A_TYPE.contains(d.group(1))) continue;
            String annotations = annotationsAbove(lines, i);
            if (annotations.contains("@Origin")) {
                Matcher l = ORIGIN_LINE.matcher(annotations);
                while (l.find()) if (Integer.parseInt(l.group(1)) == originLine) return i + 1;
                if (firstWithOrigin == 0) firstWithOrigin = i + 1;
            }
            if (firstAny == 0) firstAny = i + 1;
        }
        return firstWithOrigin != 0 ? firstWithOrigin : firstAny;
    }

    /** The text of the annotation lines right above line {@code i}, and of line {@code i} itself. */
    private static String annotationsAbove(List<String> lines, int i) {
        StringBuilder sb = new StringBuilder(lines.get(i));
        for (int k = i - 1; k >= 0 && k >= i - 20; k--) {
            String t = lines.get(k).strip();
            if (t.isEmpty() || t.endsWith(";") || t.endsWith("{") || t.endsWith("}") || t.endsWith("*/")) break;
            sb.insert(0, t + "\n");
        }
        return sb.toString();
    }
}
