package kvmkmod.docs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The hop tables of the reference's call_paths.md, read into records: for each section (a: module load,
 * b: KVM_RUN, c: guest port I/O, d: KVM_CREATE_VCPU; and from this module's own {@link #MMU_PATHS},
 * e: EPT violation, f: shadow paging) the numbered rows, and for the rows that name a
 * caller and a callee, both functions with the definition line the row gives. Rows that describe a
 * stretch of code rather than one call ("registration tail", "returns 0", "internals") are kept with
 * no callee so that the pages can still list them.
 */
public final class CallPathSpec {
    /** A C function as a hop names it: the name, and where the row says it is defined (file may be a basename). */
    public record CFunction(String name, String file, int line) {
        public boolean located() { return file != null && line > 0; }
    }

    /**
     * One row. {@code caller}/{@code callee} are empty for rows that are not a single call;
     * {@code callSite} and {@code notes} are the row's own words.
     */
    public record Hop(String section, String id, Optional<CFunction> caller, Optional<CFunction> callee,
                      String hopText, String callSite, String notes) {
        public boolean isCall() { return caller.isPresent() && callee.isPresent(); }
    }

    /** One lettered section: its title and rows in order. */
    public record Section(String letter, String title, List<Hop> hops) {}

    private static final Pattern SECTION = Pattern.compile("^## ([a-z])\\) (.+)$");
    private static final Pattern ROW = Pattern.compile("^\\|\\s*([a-z]\\d+(?:\\.\\d+)?[a-z]?)\\s*\\|(.*)\\|(.*)\\|(.*)\\|\\s*$");
    private static final Pattern FN = Pattern.compile("^([A-Za-z_]\\w*)(?:\\s*\\(([\\w./-]+\\.[ch]):(\\d+)\\))?");
    private static final Pattern IDENT = Pattern.compile("[A-Za-z_]\\w*");

    private final Map<String, Section> sections;

    private CallPathSpec(Map<String, Section> sections) { this.sections = sections; }

    /** The MMU paths (sections e and f), kept beside the classes in call_paths.md's format. */
    static final String MMU_PATHS = "/kvmkmod/docs/mmu_paths.md";

    /** The reference's call_paths.md followed by {@link #MMU_PATHS}. */
    public static CallPathSpec load(Path callPathsMd) {
        try (java.io.InputStream in = CallPathSpec.class.getResourceAsStream(MMU_PATHS)) {
            List<String> lines = new ArrayList<>(Files.readAllLines(callPathsMd, StandardCharsets.UTF_8));
            if (in == null) throw new IllegalStateException(MMU_PATHS + " is missing from the class path");
            lines.addAll(new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().toList());
            return parse(lines);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static CallPathSpec parse(List<String> lines) {
        Map<String, String> titles = new LinkedHashMap<>();
        Map<String, List<Hop>> rows = new LinkedHashMap<>();
        String current = null;
        for (String l : lines) {
            Matcher s = SECTION.matcher(l);
            if (s.matches()) {
                current = s.group(1);
                titles.put(current, s.group(2).trim());
                rows.put(current, new ArrayList<>());
                continue;
            }
            if (current == null) continue;
            Matcher r = ROW.matcher(l);
            if (!r.matches()) continue;
            rows.get(current).addAll(hops(current, r.group(1).trim(), r.group(2).trim(), r.group(3).trim(), r.group(4).trim()));
        }
        Map<String, Section> out = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : titles.entrySet())
            out.put(e.getKey(), new Section(e.getKey(), e.getValue(), List.copyOf(rows.get(e.getKey()))));
        return new CallPathSpec(out);
    }

    /** A row; "A (loc) / B (loc)" as the callee gives one hop per alternative, ids suffixed (1), (2). */
    static List<Hop> hops(String section, String id, String hop, String site, String notes) {
        int arrow = hop.indexOf("->");
        if (arrow < 0) return List.of(new Hop(section, id, Optional.empty(), Optional.empty(), hop, site, notes));
        Optional<CFunction> caller = function(hop.substring(0, arrow).trim());
        String right = hop.substring(arrow + 2).trim();
        String[] alternatives = right.split("\\s+/\\s+");
        List<Hop> out = new ArrayList<>();
        for (int i = 0; i < alternatives.length; i++) {
            Optional<CFunction> callee = function(alternatives[i].trim());
            String hid = alternatives.length == 1 ? id : id + " (" + (i + 1) + ")";
            out.add(new Hop(section, hid, caller, callee, hop, site, notes));
        }
        return out;
    }

    static Optional<CFunction> function(String text) {
        Matcher m = FN.matcher(text);
        if (!m.lookingAt() || !IDENT.matcher(m.group(1)).matches()) return Optional.empty();
        return Optional.of(new CFunction(m.group(1), m.group(2), m.group(3) == null ? 0 : Integer.parseInt(m.group(3))));
    }

    public List<Section> sections() { return List.copyOf(sections.values()); }

    public Section section(String letter) {
        Section s = sections.get(letter);
        if (s == null) throw new IllegalArgumentException("call_paths.md has no section " + letter + ")");
        return s;
    }

    /**
     * The full path of a function named by a hop, from the reference list: the row of that name whose
     * file ends with the hop's file (a basename such as {@code vmx.c}) at the hop's line, else the only
     * row of that name. Empty when the reference does not know it (preempt_notifier_init, say).
     * paging_tmpl.h's instances (paging32_fetch) resolve to the row of the template (FNAME(fetch)).
     */
    public static Optional<ReferenceFunctions.Function> resolve(CFunction f, ReferenceFunctions ref) {
        List<ReferenceFunctions.Function> named = ref.named(f.name());
        if (f.located() && named.isEmpty())
            for (String file : ref.files())
                if (file.equals(f.file()) || file.endsWith("/" + f.file())) named = ref.find(file, f.name());
        if (f.located()) {
            for (ReferenceFunctions.Function r : named)
                if (r.line() == f.line() && (r.file().equals(f.file()) || r.file().endsWith("/" + f.file()))) return Optional.of(r);
            for (ReferenceFunctions.Function r : named)
                if (r.file().equals(f.file()) || r.file().endsWith("/" + f.file())) return Optional.of(r);
        }
        return named.size() == 1 ? Optional.of(named.get(0)) : Optional.empty();
    }
}
