package kvmkmod.docs;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import kvmkmod.docs.OriginScanner.Mirror;
import kvmkmod.docs.ReferenceFunctions.Function;
import kvmkmod.include.Origin;

/**
 * Writes the cross-reference page (xref.adoc) from the {@link Origin} annotations found on the class
 * path: per C file, in the file's line order, each mirrored function with its Java member, its C line,
 * status and note, and how much of the file is reproduced. Run by the docs build before Asciidoctor:
 * {@code CrossReference --repo DIR --reference DIR --out FILE}.
 */
public final class CrossReference {
    /** The files of the four mirrored layers first, then the rest in the reference's order. */
    static final List<String> FILE_ORDER = List.of(
            "virt/kvm/kvm_main.c", "arch/x86/kvm/x86.c", "arch/x86/kvm/mmu.c", "arch/x86/kvm/paging_tmpl.h",
            "arch/x86/kvm/vmx.c", "arch/x86/kvm/emulate.c", "virt/kvm/coalesced_mmio.c");

    /** Where the kernel's identifiers are looked up, as link text only. */
    static final String ELIXIR = "https://elixir.bootlin.com/linux/v2.6.33/ident/";

    private CrossReference() {}

    public static void main(String[] args) throws IOException {
        Map<String, String> a = new LinkedHashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) a.put(args[i], args[i + 1]);
        if (!a.containsKey("--repo") || !a.containsKey("--out")) {
            System.err.println("usage: CrossReference --repo DIR [--reference DIR] --out FILE");
            System.exit(2);
        }
        Path repo = Path.of(a.get("--repo")).toAbsolutePath().normalize();
        if (a.containsKey("--reference") && System.getProperty("kvmkmod.reference") == null)
            System.setProperty("kvmkmod.reference", a.get("--reference"));
        List<String> tried = new ArrayList<>();
        Optional<Path> refDir = ReferenceFunctions.locateDirectory(repo, tried);
        Optional<ReferenceFunctions> ref = refDir.map(d -> ReferenceFunctions.load(d.resolve("functions.tsv")));
        Optional<CallPathSpec> paths = refDir.map(d -> d.resolve("call_paths.md")).filter(Files::isRegularFile)
                .map(CallPathSpec::load);
        OriginScanner.Result scan = OriginScanner.scan(CrossReference.class.getClassLoader(), OriginScanner.KVM_PACKAGES);
        if (!scan.errors().isEmpty()) {
            scan.errors().forEach(e -> System.err.println("CrossReference: " + e));
            System.exit(1);
        }
        Map<String, Set<String>> onPaths = ref.isPresent() && paths.isPresent()
                ? pathsByFunction(paths.get(), ref.get()) : Map.of();
        String page = render(scan.mirrors(), ref.orElse(null), new JavaSources(repo), tried, onPaths);
        Path out = Path.of(a.get("--out"));
        Files.createDirectories(out.toAbsolutePath().getParent());
        Files.writeString(out, page, StandardCharsets.UTF_8);
        System.out.println("CrossReference: " + scan.mirrors().size() + " mirrored members"
                + (ref.isPresent() ? "" : " (reference list not found)") + " -> " + out);
    }

    /**
     * For each C function ("file:name") that is a caller or callee of a hop in call_paths.md, the letters
     * of the call paths it takes part in (a: module load, b: KVM_RUN, c: guest I/O, d: KVM_CREATE_VCPU,
     * e: EPT violation, f: shadow paging). A paging_tmpl.h function is keyed by its instance's name
     * (paging32_fetch), as its Java mirror is.
     */
    static Map<String, Set<String>> pathsByFunction(CallPathSpec spec, ReferenceFunctions ref) {
        Map<String, Set<String>> on = new java.util.HashMap<>();
        for (CallPathSpec.Section sec : spec.sections())
            for (CallPathSpec.Hop h : sec.hops())
                for (Optional<CallPathSpec.CFunction> end : List.of(h.caller(), h.callee()))
                    end.ifPresent(f -> CallPathSpec.resolve(f, ref).ifPresent(r ->
                            on.computeIfAbsent(r.file() + ":" + f.name(), k -> new java.util.TreeSet<>()).add(sec.letter())));
        return on;
    }

    /** The call-path pages' links for the letters of {@link #pathsByFunction}. */
    private static String pathLinks(Set<String> letters) {
        StringBuilder sb = new StringBuilder();
        for (CallPathPages.Page p : CallPathPages.PAGES)
            if (letters.contains(p.letter()))
                sb.append(sb.length() == 0 ? "" : ", ").append("link:").append(p.slug()).append(".html[")
                        .append(p.letter()).append("]");
        return sb.toString();
    }

    /** The page. {@code ref} may be null when the reference list is not available. */
    static String render(List<Mirror> mirrors, ReferenceFunctions ref, JavaSources sources, List<String> tried) {
        return render(mirrors, ref, sources, tried, Map.of());
    }

    /** The page, with each function's call paths ({@link #pathsByFunction}) linked. */
    static String render(List<Mirror> mirrors, ReferenceFunctions ref, JavaSources sources, List<String> tried,
                         Map<String, Set<String>> onPaths) {
        StringBuilder sb = new StringBuilder();
        sb.append("= Cross-reference: Java and Linux 2.6.33.3\n");
        sb.append(":webfonts!:\n\n");
        sb.append("Every Java method or constructor that mirrors a function of the KVM module carries an ")
                .append("`@Origin` annotation: the C file, the line of the function's name in Linux 2.6.33.3, ")
                .append("whether the Java body is faithful or simplified, and why. ")
                .append("This page is generated from those annotations at build time, ")
                .append("and the test `kvmkmod.docs.CrossReferenceTest` checks each of them against the ")
                .append("reference list of the 2.6.33.3 functions, so a line here that disagrees with the kernel fails the build.\n\n");
        sb.append("The \"call paths\" column names the paths a function is a hop of and links to their pages: ");
        for (int i = 0; i < CallPathPages.PAGES.size(); i++) {
            CallPathPages.Page p = CallPathPages.PAGES.get(i);
            sb.append(i == 0 ? "" : ", ").append("link:").append(p.slug()).append(".html[").append(p.letter()).append("] ")
                    .append(text(p.title()));
        }
        sb.append(".\n\n");
        sb.append("The C names link to the identifier search of Elixir for v2.6.33; ")
                .append("the line numbers are those of 2.6.33.3, from which kvm-kmod 2.6.33.1's copies differ by a few lines ")
                .append("(kvm-kmod's `.c` files also carry a 40-line header).\n\n");

        Map<String, List<Mirror>> byFile = new LinkedHashMap<>();
        for (Mirror m : mirrors) byFile.computeIfAbsent(m.origin().file(), k -> new ArrayList<>()).add(m);
        List<String> files = new ArrayList<>(FILE_ORDER);
        if (ref != null) for (String f : ref.files()) if (!files.contains(f)) files.add(f);
        for (String f : byFile.keySet()) if (!files.contains(f)) files.add(f);

        sb.append("== Coverage\n\n");
        if (ref == null) {
            sb.append("The reference list (functions.tsv) was not found, so this build cannot count or check: looked in ")
                    .append(String.join(", ", tried.stream().map(t -> "`" + t + "`").toList())).append(".\n\n");
        }
        int mirroredTotal = 0, total = 0;
        sb.append("[cols=\"4,3,1,1,1\",options=\"header\"]\n|===\n");
        sb.append("| C file | kvm-kmod file | mirrored | functions | %\n");
        for (String f : files) {
            List<Function> rows = ref == null ? List.of() : ref.inFile(f);
            List<Mirror> ms = byFile.getOrDefault(f, List.of());
            int reproduced = countReproduced(ms, ref);
            mirroredTotal += reproduced;
            total += rows.size();
            String kmod = rows.isEmpty() ? "" : rows.get(0).kvmKmodFile();
            sb.append("| ").append(ms.isEmpty() ? mono(f) : "<<" + anchor(f) + "," + mono(f) + ">>")
                    .append(" | ").append(kmod.isEmpty() ? "" : mono(kmod))
                    .append(" | ").append(reproduced)
                    .append(" | ").append(rows.isEmpty() ? "" : Integer.toString(rows.size()))
                    .append(" | ").append(rows.isEmpty() ? "" : percent(reproduced, rows.size())).append('\n');
        }
        sb.append("| *all files* | | *").append(mirroredTotal).append("* | *").append(total).append("* | *")
                .append(total == 0 ? "" : percent(mirroredTotal, total)).append("*\n|===\n\n");
        sb.append("\"Mirrored\" counts the distinct C functions of the file that a Java member reproduces ")
                .append("at the right line; \"functions\" counts every function the file defines in 2.6.33.3.\n\n");
        if (mirrors.isEmpty()) sb.append("No Java member carries `@Origin` yet.\n\n");
        else packages(mirrors, sb);

        List<String> problems = ref == null ? List.of() : OriginCheck.problems(mirrors, ref);
        for (String f : files) {
            List<Mirror> ms = new ArrayList<>(byFile.getOrDefault(f, List.of()));
            if (ms.isEmpty()) continue;
            ms.sort(Comparator.comparingInt((Mirror m) -> m.origin().line()).thenComparing(Mirror::signature));
            List<Function> rows = ref == null ? List.of() : ref.inFile(f);
            sb.append("[[").append(anchor(f)).append("]]\n== ").append(mono(f)).append("\n\n");
            if (!rows.isEmpty())
                sb.append(countReproduced(ms, ref)).append(" of the ").append(rows.size())
                        .append(" functions of this file are mirrored (kvm-kmod: ").append(mono(rows.get(0).kvmKmodFile())).append(").\n\n");
            sb.append("[cols=\"2,7,8,2,9\",options=\"header\"]\n|===\n");
            sb.append("| line | C function | Java | call paths | status\n");
            Set<String> anchored = new java.util.HashSet<>();
            for (Mirror m : ms) {
                Origin o = m.origin();
                String c = m.cFunction();
                Optional<JavaSources.Location> loc = sources.locate(m);
                String java = loc.map(l -> "link:{source-base}" + l.path() + (l.line() > 0 ? "#L" + l.line() : "")
                        + "[" + pass(m.javaName()) + "]").orElse(pass(m.javaName()));
                if (loc.isPresent() && loc.get().line() > 0) java += " (" + loc.get().line() + ")";
                Optional<Function> row = ref == null ? Optional.empty() : OriginCheck.match(m, ref);
                String known = ref == null || row.isPresent() ? "" : " (not in the reference list at this line)";
                String ident = identOf(row.map(Function::name).orElse(c));
                // Raw HTML: C names start with "__", and two of them in one cell would read as AsciiDoc italics.
                String id = functionAnchor(f, c);
                String cell = c.isEmpty() ? "" : "pass:[" + (anchored.add(id) ? "<a id=\"" + html(id) + "\"></a>" : "")
                        + "<a href=\"" + html(ELIXIR + ident) + "\">" + html(c) + "</a>]";
                sb.append("| ").append(o.line())
                        .append(" | ").append(cell).append(known)
                        .append(" | ").append(java)
                        .append(" | ").append(pathLinks(onPaths.getOrDefault(f + ":" + c, Set.of())))
                        .append(" | ").append(o.status().name().toLowerCase())
                        .append(o.note().isBlank() ? "" : ": " + text(o.note())).append('\n');
            }
            sb.append("|===\n\n");
            if (!rows.isEmpty()) {
                Set<String> done = new LinkedHashSet<>();
                for (Mirror m : ms) OriginCheck.match(m, ref).ifPresent(r -> done.add(r.name() + ":" + r.line()));
                List<Function> missing = rows.stream().filter(r -> !done.contains(r.name() + ":" + r.line())).toList();
                if (!missing.isEmpty()) {
                    sb.append(".Not yet mirrored: ").append(missing.size()).append(" functions\n[%collapsible]\n====\n");
                    StringBuilder list = new StringBuilder();
                    for (Function r : missing) list.append(list.length() == 0 ? "" : ", ").append(pass(r.name())).append(" (").append(r.line()).append(')');
                    sb.append(list).append("\n====\n\n");
                }
            }
        }

        if (!problems.isEmpty()) {
            sb.append("== References that disagree with the reference list\n\n");
            for (String p : problems) sb.append("* ").append(text(p)).append('\n');
            sb.append('\n');
        }
        return sb.toString();
    }

    /** Which C files each Java package mirrors, as measured from the annotations. */
    private static void packages(List<Mirror> mirrors, StringBuilder sb) {
        Map<String, Map<String, Integer>> byPackage = new java.util.TreeMap<>();
        for (Mirror m : mirrors)
            byPackage.computeIfAbsent(m.type().getPackageName(), k -> new LinkedHashMap<>())
                    .merge(m.origin().file(), 1, Integer::sum);
        sb.append("== By Java package\n\n");
        sb.append("[cols=\"2,5\",options=\"header\"]\n|===\n| Java package | C files (annotated members)\n");
        for (Map.Entry<String, Map<String, Integer>> e : byPackage.entrySet()) {
            List<String> files = new ArrayList<>();
            e.getValue().entrySet().stream()
                    .sorted(Map.Entry.<String, Integer>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()))
                    .forEach(f -> files.add(mono(f.getKey()) + " (" + f.getValue() + ")"));
            sb.append("| ").append(mono(e.getKey())).append(" | ").append(String.join(", ", files)).append('\n');
        }
        sb.append("|===\n\n");
    }

    private static int countReproduced(List<Mirror> ms, ReferenceFunctions ref) {
        if (ref == null) return (int) ms.stream().map(m -> m.cFunction() + ":" + m.origin().line()).distinct().count();
        Set<String> done = new LinkedHashSet<>();
        for (Mirror m : ms) OriginCheck.match(m, ref).ifPresent(r -> done.add(r.name() + ":" + r.line()));
        return done.size();
    }

    private static String percent(int n, int of) {
        return String.format(java.util.Locale.ROOT, "%.0f%%", 100.0 * n / of);
    }

    /** The section id of a C file: {@code arch/x86/kvm/x86.c} becomes {@code file-arch-x86-kvm-x86-c}. */
    public static String anchor(String file) {
        return "file-" + file.replaceAll("[^A-Za-z0-9]+", "-");
    }

    /**
     * The id of a function's row, for links from other pages:
     * {@code xref.html#file-arch-x86-kvm-x86-c-vcpu_enter_guest}.
     */
    public static String functionAnchor(String file, String function) {
        return anchor(file) + "-" + function.replaceAll("[^A-Za-z0-9_]+", "_");
    }

    /** paging_tmpl.h's FNAME(x) is searched as x. */
    static String identOf(String c) {
        return c.startsWith("FNAME(") && c.endsWith(")") ? c.substring(6, c.length() - 1) : c;
    }

    static String html(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;")
                .replace("]", "&#93;");
    }

    /** Literal text in monospace, safe from AsciiDoc's inline formatting. */
    static String mono(String s) {
        return "`" + pass(s) + "`";
    }

    /** An identifier or path kept literal (C names start with underscores, which AsciiDoc would format). */
    static String pass(String s) {
        if (s.contains("+")) return text(s);
        return "+" + s + "+";
    }

    /** Free text in a table cell: HTML-escaped, no AsciiDoc formatting or attribute references. */
    static String text(String s) {
        if (s == null || s.isBlank()) return "";
        String t = s.replace("]", "\\]").replace("|", "\\|");
        if (t.endsWith("\\")) t += " ";
        return "pass:c[" + t + "]";
    }
}
