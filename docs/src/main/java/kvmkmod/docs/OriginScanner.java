package kvmkmod.docs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.Executable;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.JarURLConnection;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Stream;
import kvmkmod.include.Origin;

/**
 * Finds the methods and constructors that carry {@link Origin} in given packages (and their
 * subpackages), reading the class path through the class loader, whether it holds directories
 * (a reactor build up to {@code test}) or jars (up to {@code package}).
 */
public final class OriginScanner {
    /** The packages that mirror kvm_main.c, x86.c (and its neighbours), vmx.c and emulate.c. */
    public static final List<String> KVM_PACKAGES =
            List.of("kvmkmod.kvm_main", "kvmkmod.x86", "kvmkmod.vmx", "kvmkmod.emulator");

    /** A Java method or constructor and the C function it says it mirrors. */
    public record Mirror(Class<?> type, Executable member, Origin origin) {
        /** The C name: {@link Origin#function()}, else the Java method name. */
        public String cFunction() {
            if (!origin.function().isEmpty()) return origin.function();
            return member instanceof Constructor<?> ? "" : member.getName();
        }

        /** {@code Class#method} with the nested class path, e.g. {@code Vmx.VcpuVmx#vmx_vcpu_run}. */
        public String javaName() {
            String simple = type.getName().substring(type.getName().lastIndexOf('.') + 1).replace('$', '.');
            return simple + "#" + (member instanceof Constructor<?> ? type.getSimpleName() : member.getName());
        }

        /** {@link #javaName()} with the parameter types, to tell overloads apart. */
        public String signature() {
            StringBuilder sb = new StringBuilder(javaName()).append('(');
            Class<?>[] ps = member.getParameterTypes();
            for (int i = 0; i < ps.length; i++) sb.append(i == 0 ? "" : ", ").append(ps[i].getSimpleName());
            return sb.append(')').toString();
        }

        public boolean isAbstract() { return Modifier.isAbstract(member.getModifiers()); }
    }

    /** What a scan found: the classes per package, the annotated members, and what failed to load. */
    public record Result(Map<String, List<String>> classesByPackage, List<Mirror> mirrors, List<String> errors) {}

    private OriginScanner() {}

    public static Result scan(ClassLoader loader, List<String> packages) {
        Map<String, List<String>> byPackage = new LinkedHashMap<>();
        List<Mirror> mirrors = new ArrayList<>();
        List<String> errors = new ArrayList<>();
        for (String pkg : packages) {
            TreeSet<String> names = new TreeSet<>();
            try {
                listClasses(loader, pkg, names);
            } catch (IOException e) {
                errors.add(pkg + ": " + e);
            }
            byPackage.put(pkg, List.copyOf(names));
            for (String name : names) {
                if (name.endsWith("package-info") || name.endsWith("module-info")) continue;
                try {
                    Class<?> c = Class.forName(name, false, loader);
                    collect(c, mirrors);
                } catch (ClassNotFoundException | LinkageError e) {
                    errors.add(name + ": " + e);
                }
            }
        }
        mirrors.sort(Comparator.comparing((Mirror m) -> m.type().getName()).thenComparing(Mirror::signature));
        return new Result(byPackage, List.copyOf(mirrors), List.copyOf(errors));
    }

    private static void collect(Class<?> c, List<Mirror> into) {
        List<Executable> members = new ArrayList<>();
        for (Method m : c.getDeclaredMethods()) if (!m.isSynthetic() && !m.isBridge()) members.add(m);
        for (Constructor<?> k : c.getDeclaredConstructors()) if (!k.isSynthetic()) members.add(k);
        for (Executable e : members) {
            Origin o = e.getAnnotation(Origin.class);
            if (o != null) into.add(new Mirror(c, e, o));
        }
    }

    /** Adds the binary names of the classes in {@code pkg} and below. */
    static void listClasses(ClassLoader loader, String pkg, TreeSet<String> into) throws IOException {
        String path = pkg.replace('.', '/') + "/";
        Enumeration<URL> roots = loader.getResources(path);
        while (roots.hasMoreElements()) {
            URL url = roots.nextElement();
            switch (url.getProtocol()) {
                case "file" -> {
                    Path dir;
                    try {
                        dir = Path.of(url.toURI());
                    } catch (URISyntaxException e) {
                        throw new IOException(url + ": " + e.getMessage(), e);
                    }
                    Path base = dir;
                    for (int i = 0; i < pkg.split("\\.").length; i++) base = base.getParent();
                    Path root = base;
                    try (Stream<Path> files = Files.walk(dir)) {
                        files.filter(f -> f.toString().endsWith(".class")).forEach(f -> {
                            String rel = root.relativize(f).toString().replace(java.io.File.separatorChar, '/');
                            into.add(rel.substring(0, rel.length() - ".class".length()).replace('/', '.'));
                        });
                    } catch (UncheckedIOException e) {
                        throw e.getCause();
                    }
                }
                case "jar" -> {
                    JarURLConnection conn = (JarURLConnection) url.openConnection();
                    conn.setUseCaches(false);
                    try (JarFile jar = conn.getJarFile()) {
                        for (Enumeration<JarEntry> es = jar.entries(); es.hasMoreElements(); ) {
                            String n = es.nextElement().getName();
                            if (n.startsWith(path) && n.endsWith(".class"))
                                into.add(n.substring(0, n.length() - ".class".length()).replace('/', '.'));
                        }
                    }
                }
                default -> throw new IOException("cannot list " + url);
            }
        }
    }
}
