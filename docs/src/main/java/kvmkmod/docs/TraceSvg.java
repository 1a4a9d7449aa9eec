package kvmkmod.docs;

import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import kvmkmod.docs.TraceExcerpt.Ev;
import kvmkmod.docs.TraceExcerpt.Fn;
import kvmkmod.docs.TraceExcerpt.Gap;
import kvmkmod.docs.TraceExcerpt.Node;

/**
 * Draws a pruned trace ({@link TraceExcerpt}) as an SVG call tree: one row per call, top to bottom in
 * the order the calls were made; a box per call, indented by depth, with an arrow from the caller's
 * box to each callee; the time spent written after the box; tracepoints (VM exits, PIO, userspace
 * exits) as flagged notes in the row where they fired; folded calls as a grey row. Boxes of the
 * functions the path is about are filled; a box links to the function's row of the cross-reference
 * when {@code link} knows it.
 */
public final class TraceSvg {
    static final int ROW = 24, TOP = 34, LEFT = 12, INDENT = 22, BOX_H = 18, CHAR_W = 7, PAD = 7;

    private TraceSvg() {}

    private static final class Canvas {
        final StringBuilder body = new StringBuilder();
        int row;
        int width = 400;
        final Function<String, String> link;

        Canvas(Function<String, String> link) { this.link = link; }

        int y(int r) { return TOP + r * ROW; }

        void extend(int x) { width = Math.max(width, x + 16); }
    }

    /** The SVG document (no XML declaration, so it can be placed inline in HTML). */
    public static String draw(String title, List<Node> forest, Function<String, String> link) {
        Canvas c = new Canvas(link);
        for (Node n : forest) draw(n, c, -1, -1);
        int height = c.y(c.row) + 8;
        StringBuilder sb = new StringBuilder();
        sb.append("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"callpath\" width=\"").append(c.width)
                .append("\" height=\"").append(height).append("\" viewBox=\"0 0 ").append(c.width).append(' ').append(height)
                .append("\" font-family=\"monospace\" font-size=\"12\" role=\"img\" aria-label=\"").append(esc(title)).append("\">\n");
        sb.append("<title>").append(esc(title)).append("</title>\n");
        sb.append("<defs><marker id=\"arrow\" viewBox=\"0 0 8 8\" refX=\"8\" refY=\"4\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\">")
                .append("<path d=\"M0,0 L8,4 L0,8 z\" fill=\"#444\"/></marker></defs>\n");
        sb.append("<text x=\"").append(LEFT).append("\" y=\"18\" font-weight=\"bold\">").append(esc(title)).append("</text>\n");
        sb.append(c.body);
        sb.append("</svg>\n");
        return sb.toString();
    }

    /** Draws {@code n} in the next row; {@code px}/{@code py} is the caller's connector point, or -1 at the top. */
    private static void draw(Node n, Canvas c, int px, int pyBottom) {
        int r = c.row++;
        int y = c.y(r);
        int mid = y + BOX_H / 2;
        int depth = depth(n);
        int x = LEFT + depth * INDENT;
        if (px >= 0) {
            String dash = n instanceof Fn ? "" : " stroke-dasharray=\"3,3\"";
            c.body.append(String.format(Locale.ROOT,
                    "<path d=\"M%d,%d V%d H%d\" fill=\"none\" stroke=\"#444\"%s%s/>\n",
                    px, pyBottom, mid, x - 1, dash, n instanceof Fn ? " marker-end=\"url(#arrow)\"" : ""));
        }
        if (n instanceof Fn f) {
            String label = f.function() + "()";
            int w = label.length() * CHAR_W + 2 * PAD;
            String href = c.link.apply(f.function());
            if (href != null) c.body.append("<a href=\"").append(esc(href)).append("\">");
            c.body.append(String.format(Locale.ROOT,
                    "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" rx=\"3\" fill=\"%s\" stroke=\"%s\"/>",
                    x, y, w, BOX_H, f.onPath() ? "#dbe9f7" : "#ffffff", f.onPath() ? "#2a6099" : "#888"));
            c.body.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\"%s>%s</text>",
                    x + PAD, y + 13, f.onPath() ? " font-weight=\"bold\"" : "", esc(label)));
            if (href != null) c.body.append("</a>");
            c.body.append('\n');
            int after = x + w + 8;
            if (f.durationUs() != null) {
                String d = String.format(Locale.ROOT, "%.3f us", f.durationUs());
                c.body.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" fill=\"#777\">%s</text>\n", after, y + 13, esc(d)));
                after += d.length() * CHAR_W;
            }
            c.extend(after);
            int cx = x + 10;
            for (Node k : f.children()) draw(k, c, cx, y + BOX_H);
        } else if (n instanceof Ev e) {
            boolean exit = e.name().endsWith("_exit");
            String label = e.name() + ": " + e.text();
            c.body.append(String.format(Locale.ROOT,
                    "<path d=\"M%d,%d l0,-12 l9,4 l-9,4\" fill=\"%s\" stroke=\"%s\"/>",
                    x + 2, y + 16, exit ? "#d9822b" : "#e8c07a", "#b06010"));
            c.body.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" fill=\"#a0500a\" font-style=\"italic\"%s>%s</text>\n",
                    x + 16, y + 13, exit ? " font-weight=\"bold\"" : "", esc(label)));
            c.extend(x + 16 + label.length() * CHAR_W);
        } else {
            Gap g = (Gap) n;
            String label = "\u22ee " + g.calls() + (g.calls() == 1 ? " call" : " calls") + " folded";
            c.body.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" fill=\"#999\">%s</text>\n", x + 4, y + 13, esc(label)));
            c.extend(x + 4 + label.length() * CHAR_W);
        }
    }

    private static int depth(Node n) {
        if (n instanceof Fn f) return f.depth();
        if (n instanceof Ev e) return e.depth();
        return ((Gap) n).depth();
    }

    static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
