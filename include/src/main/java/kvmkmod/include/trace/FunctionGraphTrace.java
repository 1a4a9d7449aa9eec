package kvmkmod.include.trace;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A function_graph trace read back into its call tree, so that a test can say "this call path appears
 * hop by hop" instead of comparing text. Reads what {@link Ftrace} prints (and what the kernel's
 * function_graph tracer prints in its default layout): each CPU column is its own tree; header lines,
 * blank lines and lines that are not trace lines are skipped, and a {@code }} with nothing open is
 * ignored.
 */
public final class FunctionGraphTrace {

    /** One item under a call, in the order it was printed: a nested call or a tracepoint. */
    public sealed interface Item permits Call, Event {}

    /** A tracepoint comment, {@code /* name: text *}{@code /}. */
    public record Event(int cpu, int depth, String name, String text, int lineNumber) implements Item {}

    /** A function call: a leaf ({@code fn();}) or a block ({@code fn() {} ... {@code }}). */
    public static final class Call implements Item {
        private final String function;
        private final int cpu;
        private final int depth;
        private final int lineNumber;
        private final Call parent;
        private final boolean leaf;
        private final List<Item> items = new ArrayList<>();
        private Double durationUs;
        private boolean closed;

        Call(String function, int cpu, int depth, int lineNumber, Call parent, boolean leaf) {
            this.function = function;
            this.cpu = cpu;
            this.depth = depth;
            this.lineNumber = lineNumber;
            this.parent = parent;
            this.leaf = leaf;
            this.closed = leaf;
        }

        public String function() { return function; }
        public int cpu() { return cpu; }
        /** 0 for a call printed at the outermost level. */
        public int depth() { return depth; }
        /** 1-based line in the parsed input where the call begins. */
        public int lineNumber() { return lineNumber; }
        public Optional<Call> parent() { return Optional.ofNullable(parent); }
        /** True when printed on one line as {@code fn();}. */
        public boolean leaf() { return leaf; }
        /** False when the trace ended before the call's closing brace. */
        public boolean closed() { return closed; }
        /** Duration printed on the leaf or closing line, in microseconds. */
        public OptionalDouble durationUs() {
            return durationUs == null ? OptionalDouble.empty() : OptionalDouble.of(durationUs);
        }
        /** Nested calls and tracepoints in printed order. */
        public List<Item> items() { return Collections.unmodifiableList(items); }

        public List<Call> children() {
            List<Call> r = new ArrayList<>();
            for (Item i : items) if (i instanceof Call c) r.add(c);
            return r;
        }

        public List<String> childNames() {
            return children().stream().map(Call::function).toList();
        }

        /** Tracepoints printed directly inside this call. */
        public List<Event> events() {
            List<Event> r = new ArrayList<>();
            for (Item i : items) if (i instanceof Event e) r.add(e);
            return r;
        }

        /** Whether {@code functions} are called directly from here, in this order (others may come between). */
        public boolean callsInOrder(String... functions) {
            int k = 0;
            for (Call c : children()) if (k < functions.length && c.function.equals(functions[k])) k++;
            return k == functions.length;
        }

        /** This call and every call under it, in printed order. */
        public List<Call> descendantsAndSelf() {
            List<Call> r = new ArrayList<>();
            collect(this, r);
            return r;
        }

        private static void collect(Call c, List<Call> into) {
            into.add(c);
            for (Call k : c.children()) collect(k, into);
        }

        @Override public String toString() { return function + (leaf ? "();" : "() {…}"); }
    }

    private static final Pattern LINE = Pattern.compile(
            "^\\s*(\\d+)\\)\\s*[+!#*@$]?\\s*(?:(\\d+(?:\\.\\d*)?)\\s+us)?\\s*\\|  ( *)(\\S.*?)\\s*$");
    private static final Pattern OPEN = Pattern.compile("^([^\\s(){};]+)\\(\\) \\{$");
    private static final Pattern LEAF = Pattern.compile("^([^\\s(){};]+)\\(\\);$");
    private static final Pattern CLOSE = Pattern.compile("^\\}(?:\\s*/\\*.*\\*/)?$");
    private static final Pattern EVENT = Pattern.compile("^/\\*\\s*([\\w.$-]+):\\s?(.*?)\\s*\\*/$");

    private final List<Item> top = new ArrayList<>();

    private FunctionGraphTrace() {}

    /** Parses the lines of a trace (as {@link Ftrace#capture} returns them). */
    public static FunctionGraphTrace parse(List<String> lines) {
        FunctionGraphTrace t = new FunctionGraphTrace();
        Map<Integer, Deque<Call>> open = new HashMap<>();
        int n = 0;
        for (String raw : lines) {
            n++;
            if (raw.startsWith("#")) continue;
            Matcher m = LINE.matcher(raw);
            if (!m.matches()) continue;
            int cpu = Integer.parseInt(m.group(1));
            Double us = m.group(2) == null ? null : Double.valueOf(m.group(2));
            String text = m.group(4);
            Deque<Call> stack = open.computeIfAbsent(cpu, k -> new ArrayDeque<>());
            Call parent = stack.peek();
            int depth = stack.size();
            Matcher g;
            if ((g = OPEN.matcher(text)).matches()) {
                Call c = new Call(g.group(1), cpu, depth, n, parent, false);
                t.add(parent, c);
                stack.push(c);
            } else if ((g = LEAF.matcher(text)).matches()) {
                Call c = new Call(g.group(1), cpu, depth, n, parent, true);
                c.durationUs = us;
                t.add(parent, c);
            } else if (CLOSE.matcher(text).matches()) {
                if (parent != null) {
                    stack.pop();
                    parent.closed = true;
                    parent.durationUs = us;
                }
            } else if ((g = EVENT.matcher(text)).matches()) {
                t.add(parent, new Event(cpu, depth, g.group(1), g.group(2), n));
            }
        }
        return t;
    }

    private void add(Call parent, Item item) {
        if (parent == null) top.add(item);
        else parent.items.add(item);
    }

    /** Outermost calls and tracepoints, all CPUs, in printed order. */
    public List<Item> items() { return Collections.unmodifiableList(top); }

    /** Outermost calls, all CPUs, in printed order. */
    public List<Call> roots() {
        List<Call> r = new ArrayList<>();
        for (Item i : top) if (i instanceof Call c) r.add(c);
        return r;
    }

    /** Every call, in printed order (per tree, depth first). */
    public List<Call> calls() {
        List<Call> r = new ArrayList<>();
        for (Call c : roots()) r.addAll(c.descendantsAndSelf());
        return r;
    }

    public List<Call> callsOf(String function) {
        return calls().stream().filter(c -> c.function.equals(function)).toList();
    }

    public Optional<Call> first(String function) {
        return calls().stream().filter(c -> c.function.equals(function)).findFirst();
    }

    /** Every tracepoint, at any depth, in printed order. */
    public List<Event> events() {
        List<Event> r = new ArrayList<>();
        for (Item i : top) collectEvents(i, r);
        return r;
    }

    private static void collectEvents(Item i, List<Event> into) {
        if (i instanceof Event e) into.add(e);
        else for (Item k : ((Call) i).items) collectEvents(k, into);
    }

    /**
     * Whether some call of {@code path[0]} calls {@code path[1]} directly, which calls {@code path[2]}
     * directly, and so on.
     */
    public boolean hasChain(String... path) { return matchedHops(true, path) == path.length; }

    /**
     * Like {@link #hasChain} but each hop may pass through other traced calls (the callee is a
     * descendant rather than a child), as when a hop of the C path goes through a helper.
     */
    public boolean hasPath(String... path) { return matchedHops(false, path) == path.length; }

    /**
     * How many leading functions of {@code path} were found as a chain (direct) or path: {@code 0} if
     * {@code path[0]} was never called. Gives assertion messages the hop where a path breaks.
     */
    public int matchedHops(boolean direct, String... path) {
        if (path.length == 0) return 0;
        int best = 0;
        for (Call c : callsOf(path[0])) {
            best = Math.max(best, 1 + deepest(c, direct, path, 1));
            if (best == path.length) break;
        }
        return best;
    }

    /**
     * Empty when {@code path} is found (as a chain if {@code direct}); otherwise says where it breaks
     * and what the last function found does call, for an assertion message.
     */
    public String explain(boolean direct, String... path) {
        int k = matchedHops(direct, path);
        if (k == path.length) return "";
        if (k == 0) return path.length == 0 ? "empty path" : path[0] + " was never called";
        // what any call of path[k-1] calls, wherever it was called from
        List<String> seen = new ArrayList<>();
        for (Call c : callsOf(path[k - 1])) {
            List<Call> under = direct ? c.children() : c.descendantsAndSelf().subList(1, c.descendantsAndSelf().size());
            for (Call u : under) if (!seen.contains(u.function)) seen.add(u.function);
        }
        return "the path stops after " + String.join(" -> ", java.util.Arrays.asList(path).subList(0, k))
                + ": " + path[k - 1] + " never " + (direct ? "calls " : "leads to ") + path[k]
                + (seen.isEmpty() ? " (it makes no traced call)" : " (it " + (direct ? "calls" : "leads to") + " " + String.join(", ", seen) + ")");
    }

    private static int deepest(Call from, boolean direct, String[] path, int k) {
        if (k == path.length) return 0;
        int best = 0;
        List<Call> candidates = direct ? from.children() : from.descendantsAndSelf();
        if (!direct) candidates = candidates.subList(1, candidates.size());
        for (Call c : candidates) {
            if (!c.function.equals(path[k])) continue;
            best = Math.max(best, 1 + deepest(c, direct, path, k + 1));
            if (k + best == path.length) break;
        }
        return best;
    }

    /** The tree as indented names, one per line, for assertion messages. */
    public String render() {
        StringBuilder sb = new StringBuilder();
        for (Item i : top) render(i, sb);
        return sb.toString();
    }

    private static void render(Item i, StringBuilder sb) {
        if (i instanceof Event e) {
            sb.append(e.cpu()).append(") ").append("  ".repeat(e.depth()))
                    .append("/* ").append(e.name()).append(": ").append(e.text()).append(" */\n");
            return;
        }
        Call c = (Call) i;
        sb.append(c.cpu).append(") ").append("  ".repeat(c.depth)).append(c.function)
                .append(c.leaf ? "();" : "() {").append('\n');
        if (!c.leaf) {
            for (Item k : c.items) render(k, sb);
            sb.append(c.cpu).append(") ").append("  ".repeat(c.depth)).append(c.closed ? "}" : "… (not closed)").append('\n');
        }
    }
}
