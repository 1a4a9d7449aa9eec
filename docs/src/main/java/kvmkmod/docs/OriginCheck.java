package kvmkmod.docs;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import kvmkmod.docs.OriginScanner.Mirror;
import kvmkmod.docs.ReferenceFunctions.Function;
import kvmkmod.include.Origin;

/**
 * The rules every {@link Origin} must keep, checked against functions.tsv: the function is defined in
 * that file at exactly that line, a simplification says what it leaves out, and no C function is
 * claimed by two Java members.
 */
public final class OriginCheck {
    private OriginCheck() {}

    /** The row a mirror matches, if its file, name and line are all right. */
    public static Optional<Function> match(Mirror m, ReferenceFunctions ref) {
        String fn = m.cFunction();
        if (fn.isEmpty()) return Optional.empty();
        return ref.find(m.origin().file(), fn).stream().filter(f -> f.line() == m.origin().line()).findFirst();
    }

    /** Every problem found, one line each, naming the Java member and what the reference says. */
    public static List<String> problems(List<Mirror> mirrors, ReferenceFunctions ref) {
        List<String> out = new ArrayList<>();
        for (Mirror m : mirrors) {
            Origin o = m.origin();
            String who = m.signature() + " @Origin(file=" + o.file() + ", line=" + o.line()
                    + (o.function().isEmpty() ? "" : ", function=" + o.function()) + ")";
            String fn = m.cFunction();
            if (fn.isEmpty()) {
                out.add(who + ": a constructor must name its C function (function = \"...\")");
            } else if (ref.inFile(o.file()).isEmpty()) {
                out.add(who + ": " + o.file() + " is not a file of the reference list"
                        + elsewhere(ref.named(fn)));
            } else {
                List<Function> rows = ref.find(o.file(), fn);
                if (rows.isEmpty()) {
                    out.add(who + ": no function " + fn + " in " + o.file() + elsewhere(ref.named(fn)));
                } else if (rows.stream().noneMatch(r -> r.line() == o.line())) {
                    out.add(who + ": " + fn + " is at " + o.file() + ":" + rows.stream()
                            .map(r -> Integer.toString(r.line())).collect(Collectors.joining(" and ")) + ", not line " + o.line());
                }
            }
            if (o.status() == Origin.Status.SIMPLIFIED && o.note().isBlank())
                out.add(who + ": status SIMPLIFIED needs a note saying what is left out");
        }
        Map<String, List<Mirror>> claims = new LinkedHashMap<>();
        for (Mirror m : mirrors) {
            if (m.isAbstract() || m.cFunction().isEmpty()) continue;
            Optional<Function> row = match(m, ref);
            // A name defined twice in one file (kvm_mmu_audit in mmu.c) may be claimed once per definition;
            // paging_tmpl.h's FNAME(x) once per instance (paging64_x, paging32_x).
            boolean instance = m.origin().file().endsWith("/paging_tmpl.h")
                    && (m.cFunction().startsWith("paging64_") || m.cFunction().startsWith("paging32_"));
            String key = m.origin().file() + " " + (instance ? m.cFunction() : row.map(Function::name).orElse(m.cFunction()))
                    + (row.isPresent() && ref.find(m.origin().file(), m.cFunction()).size() > 1 ? ":" + row.get().line() : "");
            claims.computeIfAbsent(key, k -> new ArrayList<>()).add(m);
        }
        claims.forEach((k, ms) -> {
            if (ms.size() > 1)
                out.add(k.replace(' ', ':') + " is claimed by " + ms.size() + " Java members: "
                        + ms.stream().map(Mirror::signature).collect(Collectors.joining(", ")));
        });
        return out;
    }

    private static String elsewhere(List<Function> rows) {
        if (rows.isEmpty()) return "";
        return " (it is defined at " + rows.stream().map(r -> r.file() + ":" + r.line()).collect(Collectors.joining(", ")) + ")";
    }
}
