package kvmkmod.vmx;

import kvmkmod.include.Origin;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

/** Every @Origin of kvm-intel names a real 2.6.33.3 function at its real line, and all of vmx.c is there. */
class OriginTest {

    /** function name → "file:line" rows of functions.tsv (a name may be defined in two files). */
    static Map<String, Set<String>> reference() throws IOException {
        Map<String, Set<String>> m = new HashMap<>();
        List<String> lines = Files.readAllLines(ReferenceFiles.of("functions.tsv"));
        for (String l : lines.subList(1, lines.size())) {
            String[] f = l.split("\t");
            m.computeIfAbsent(f[0], k -> new HashSet<>()).add(f[1] + ":" + f[2]);
        }
        return m;
    }

    @Test
    void every_annotation_matches_functions_tsv() throws IOException {
        Map<String, Set<String>> ref = reference();
        for (Class<?> c : List.of(Vmx.class, KvmIntel.class, VcpuVmx.class)) {
            for (Method m : c.getDeclaredMethods()) {
                Origin o = m.getAnnotation(Origin.class);
                if (o == null) continue;
                String name = o.function().isEmpty() ? m.getName() : o.function();
                assertThat(ref.get(name)).as("%s in functions.tsv", name).isNotNull();
                assertThat(ref.get(name)).as("%s location", name).contains(o.file() + ":" + o.line());
                if (o.status() == Origin.Status.SIMPLIFIED)
                    assertThat(o.note()).as("%s says why it is simplified", name).isNotBlank();
            }
        }
    }

    @Test
    void every_vmx_c_function_is_mirrored() throws IOException {
        Set<String> want = new TreeSet<>();
        List<String> lines = Files.readAllLines(ReferenceFiles.of("functions.tsv"));
        for (String l : lines.subList(1, lines.size())) {
            String[] f = l.split("\t");
            if (f[1].equals("arch/x86/kvm/vmx.c")) want.add(f[0]);
        }
        Set<String> have = new TreeSet<>();
        for (Method m : Vmx.class.getDeclaredMethods()) {
            Origin o = m.getAnnotation(Origin.class);
            if (o != null && o.file().equals("arch/x86/kvm/vmx.c")) have.add(o.function().isEmpty() ? m.getName() : o.function());
        }
        Set<String> missing = new TreeSet<>(want);
        missing.removeAll(have);
        assertThat(missing).as("vmx.c functions without a Java mirror").isEmpty();
    }
}
