package kvmkmod.docs;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** Every link of the rendered site that stays inside it (or inside the repository) leads somewhere. */
class SiteLinksTest {
    private static final Pattern HREF = Pattern.compile("\\bhref=\"([^\"]*)\"");
    private static final Pattern ID = Pattern.compile("\\b(?:id|name)=\"([^\"]*)\"");

    @Test
    void internalLinksResolve() throws IOException {
        Path site = TestPaths.site();
        List<Path> pages;
        try (Stream<Path> s = Files.walk(site)) {
            pages = s.filter(p -> p.toString().endsWith(".html")).sorted().toList();
        }
        assertThat(pages).extracting(p -> p.getFileName().toString()).contains("index.html", "xref.html");
        Map<Path, Set<String>> ids = new HashMap<>();
        List<String> broken = new ArrayList<>();
        int checked = 0;
        for (Path page : pages) {
            String html = Files.readString(page, StandardCharsets.UTF_8);
            Matcher m = HREF.matcher(html);
            while (m.find()) {
                String href = m.group(1).replace("&amp;", "&");
                if (href.matches("^[a-zA-Z][a-zA-Z0-9+.-]*:.*")) continue; // http:, https:, mailto:
                checked++;
                int hash = href.indexOf('#');
                String path = hash < 0 ? href : href.substring(0, hash);
                String frag = hash < 0 ? null : URLDecoder.decode(href.substring(hash + 1), StandardCharsets.UTF_8);
                Path target = path.isEmpty() ? page
                        : page.getParent().resolve(URLDecoder.decode(path, StandardCharsets.UTF_8)).normalize();
                String where = site.relativize(page) + ": href=\"" + m.group(1) + "\"";
                if (!Files.exists(target)) {
                    broken.add(where + " -> no such file " + target);
                } else if (frag != null && target.toString().endsWith(".html")
                        && !ids.computeIfAbsent(target, SiteLinksTest::ids).contains(frag)) {
                    broken.add(where + " -> no id \"" + frag + "\" in " + target.getFileName());
                }
            }
        }
        System.out.println("SiteLinksTest: " + checked + " internal links in " + pages.size() + " pages");
        assertThat(broken).as("broken links:\n  " + String.join("\n  ", broken) + "\n").isEmpty();
        assertThat(checked).isPositive();
    }

    private static Set<String> ids(Path page) {
        try {
            Set<String> out = new HashSet<>();
            Matcher m = ID.matcher(Files.readString(page, StandardCharsets.UTF_8));
            while (m.find()) out.add(m.group(1));
            return out;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
