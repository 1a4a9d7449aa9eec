package kvmkmod.docs;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import kvmkmod.include.trace.FunctionGraphTrace;
import kvmkmod.include.trace.FunctionGraphTrace.Call;
import kvmkmod.include.trace.FunctionGraphTrace.Event;
import kvmkmod.include.trace.FunctionGraphTrace.Item;

/**
 * The part of a captured trace that a call-path page shows: the calls of chosen trees that lead to the
 * functions of the path, with every tracepoint under them, and the rest folded into counted gaps. The
 * same pruned tree gives the text excerpt (in the function_graph layout) and the SVG diagram, so the
 * two always show the same calls.
 */
public final class TraceExcerpt {
    /** A node of the pruned tree. */
    public sealed interface Node permits Fn, Ev, Gap {}

    /** A kept call; {@code children} are the kept items under it in printed order. */
    public record Fn(String function, int depth, boolean leaf, Double durationUs, boolean onPath, List<Node> children)
            implements Node {}

    /** A tracepoint. */
    public record Ev(String name, String text, int depth) implements Node {}

    /** {@code calls} consecutive calls (whole subtrees) left out, at {@code depth}. */
    public record Gap(int calls, int depth) implements Node {}

    /**
     * What to keep: a call whose function is in {@code path}, or one with such a call below it;
     * {@code directOnly} entries {@code "caller>callee"} keep {@code callee} only where {@code caller}
     * calls it directly (a helper called from everywhere, such as vmcs_writel). Runs of the same call
     * that lead to nothing further are cut to {@code maxRepeats}.
     */
    public record Selection(Set<String> path, Set<String> directOnly, int maxRepeats) {
        boolean anchors(String fn) {
            if (!path.contains(fn)) return false;
            for (String d : directOnly) if (d.endsWith(">" + fn)) return false;
            return true;
        }
    }

    private TraceExcerpt() {}

    /** The pruned forest of {@code roots} (and the top-level events between them). */
    public static List<Node> prune(List<Item> roots, Selection sel) {
        return pruneItems(roots, 0, sel, "");
    }

    private static List<Node> pruneItems(List<Item> items, int depth, Selection sel, String parent) {
        List<Node> out = new ArrayList<>();
        int folded = 0;
        String lastFn = null;
        int run = 0;
        for (Item i : items) {
            if (i instanceof Event e) {
                if (folded > 0) { out.add(new Gap(folded, depth)); folded = 0; }
                out.add(new Ev(e.name(), e.text(), depth));
                lastFn = null;
                continue;
            }
            Call c = (Call) i;
            boolean leads = leadsToPath(c, sel);
            boolean keep = sel.anchors(c.function()) || leads
                    || sel.directOnly().contains(parent + ">" + c.function());
            if (keep) {
                run = c.function().equals(lastFn) ? run + 1 : 1;
                // a long run of the same call that leads nowhere further is shown a few times only
                if (sel.maxRepeats() > 0 && run > sel.maxRepeats() && !leads) keep = false;
            }
            if (!keep) {
                folded++;
                continue;
            }
            lastFn = c.function();
            if (folded > 0) { out.add(new Gap(folded, depth)); folded = 0; }
            boolean on = sel.path().contains(c.function());
            List<Node> kids = c.leaf() ? List.of() : pruneItems(c.items(), depth + 1, sel, c.function());
            out.add(new Fn(c.function(), depth, c.leaf(), c.durationUs().isPresent() ? c.durationUs().getAsDouble() : null, on, kids));
        }
        if (folded > 0) out.add(new Gap(folded, depth));
        return out;
    }

    private static boolean leadsToPath(Call c, Selection sel) {
        for (Call d : c.descendantsAndSelf()) if (d != c && sel.anchors(d.function())) return true;
        return false;
    }

    /** The excerpt in the function_graph layout; folded calls become a {@code ⋮} line saying how many. */
    public static List<String> text(List<Node> forest) {
        List<String> out = new ArrayList<>();
        for (Node n : forest) text(n, out);
        return out;
    }

    private static void text(Node n, List<String> out) {
        if (n instanceof Ev e) {
            out.add(line("", e.depth(), "/* " + e.name() + ": " + e.text() + " */"));
        } else if (n instanceof Gap g) {
            out.add(line("", g.depth(), "\u22ee " + g.calls() + (g.calls() == 1 ? " call" : " calls") + " folded"));
        } else {
            Fn f = (Fn) n;
            if (f.leaf()) {
                out.add(line(duration(f.durationUs()), f.depth(), f.function() + "();"));
            } else {
                out.add(line("", f.depth(), f.function() + "() {"));
                for (Node k : f.children()) text(k, out);
                out.add(line(duration(f.durationUs()), f.depth(), "}"));
            }
        }
    }

    private static String line(String duration, int depth, String text) {
        StringBuilder sb = new StringBuilder(" 0) ").append(duration);
        while (sb.length() < 18) sb.append(' ');
        sb.append("|  ").append("  ".repeat(depth)).append(text);
        return sb.toString();
    }

    /** The duration field of function_graph: overhead mark, microseconds in at most seven digits, "us". */
    static String duration(Double us) {
        if (us == null) return "";
        long nanos = Math.max(0, Math.round(us * 1000));
        long usecs = nanos / 1000;
        char mark = usecs > 100 ? '!' : usecs > 10 ? '+' : ' ';
        String digits = Long.toString(usecs);
        StringBuilder sb = new StringBuilder().append(mark).append(' ').append(digits);
        if (digits.length() < 7) {
            String three = String.format(Locale.ROOT, "%03d", nanos % 1000);
            sb.append('.').append(three, 0, Math.min(3, 7 - digits.length()));
        }
        return sb.append(" us").toString();
    }

    /** Number of calls in the pruned forest. */
    public static int calls(List<Node> forest) {
        int n = 0;
        for (Node x : forest) if (x instanceof Fn f) n += 1 + calls(f.children());
        return n;
    }

    /** Parses {@code lines} and prunes the roots chosen by the caller: convenience for tests. */
    public static List<Node> of(FunctionGraphTrace t, Selection sel) { return prune(t.items(), sel); }
}
