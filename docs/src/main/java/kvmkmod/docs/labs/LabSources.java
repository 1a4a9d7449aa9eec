package kvmkmod.docs.labs;

import java.io.File;
import java.io.IOException;
import java.io.StringWriter;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.JarFile;
import java.util.jar.Manifest;
import java.util.stream.Stream;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;

/**
 * Compiles the Java files of a lab's work directory against the project (the class path of this
 * JVM) into a temporary directory, once, and loads classes from there. A compile error is the
 * failure of the check that needed the class, with javac's messages.
 */
final class LabSources {
    private final Path dir;
    private ClassLoader loader;
    private String errors;

    LabSources(Path dir) { this.dir = dir; }

    Class<?> load(String name) throws Exception {
        if (loader == null && errors == null) compile();
        if (errors != null) throw new IllegalStateException("the lab's Java files do not compile:\n" + errors);
        return Class.forName(name, true, loader);
    }

    private void compile() throws IOException {
        List<String> files = new ArrayList<>();
        if (Files.isDirectory(dir)) {
            try (Stream<Path> s = Files.walk(dir)) {
                s.filter(p -> p.toString().endsWith(".java")).sorted().forEach(p -> files.add(p.toString()));
            }
        }
        if (files.isEmpty()) {
            errors = "no .java files in " + dir;
            return;
        }
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        if (javac == null) {
            errors = "this JVM has no Java compiler (run the grader with a JDK)";
            return;
        }
        Path out = Files.createTempDirectory("lab-classes");
        out.toFile().deleteOnExit();
        List<String> args = new ArrayList<>(List.of("-nowarn", "-encoding", "UTF-8", "-proc:none", "-d", out.toString(),
                "-classpath", classPath()));
        args.addAll(files);
        StringWriter msgs = new StringWriter();
        int rc = javac.run(null, null, null, args.toArray(String[]::new));
        if (rc != 0) {
            // run again into a writer for the message (javac.run prints to System.err)
            javax.tools.StandardJavaFileManager fm = javac.getStandardFileManager(null, null, null);
            javac.getTask(msgs, fm, null, args.subList(0, args.size() - files.size()), null,
                    fm.getJavaFileObjectsFromStrings(files)).call();
            errors = msgs.toString().isBlank() ? "javac failed" : msgs.toString();
            return;
        }
        loader = new URLClassLoader(new URL[] {out.toUri().toURL()}, LabSources.class.getClassLoader());
    }

    /** This JVM's class path, with the Class-Path of a manifest-only jar (as surefire makes) spelled out. */
    static String classPath() throws IOException {
        List<String> parts = new ArrayList<>();
        for (String p : System.getProperty("java.class.path").split(File.pathSeparator)) {
            parts.add(p);
            if (p.endsWith(".jar") && Files.isRegularFile(Path.of(p))) {
                try (JarFile j = new JarFile(p)) {
                    Manifest m = j.getManifest();
                    String cp = m == null ? null : m.getMainAttributes().getValue("Class-Path");
                    if (cp == null) continue;
                    for (String u : cp.trim().split("\\s+")) {
                        try {
                            parts.add(Path.of(new java.net.URI(u).isAbsolute() ? new java.net.URI(u)
                                    : Path.of(p).getParent().toUri().resolve(u)).toString());
                        } catch (java.net.URISyntaxException | IllegalArgumentException e) {
                            parts.add(u);
                        }
                    }
                }
            }
        }
        return String.join(File.pathSeparator, parts);
    }
}
