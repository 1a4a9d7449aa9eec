package kvmkmod.emulator;

import kvmkmod.include.Origin;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

/** Every @Origin in the emulator names a real 2.6.33.3 function at its line, and all of emulate.c is there. */
class OriginTest {
    private static final Class<?>[] CLASSES = {Emulate.class, Alu.class, X86EmulateCtxt.class, DecodeCache.class,
            Operand.class};

    @Test
    void every_origin_matches_functions_tsv() throws Exception {
        Set<String> known = new HashSet<>();
        for (String[] r : Reference.tsv("functions.tsv")) known.add(r[0] + " " + r[1] + " " + r[2]);

        List<String> wrong = new ArrayList<>();
        Set<String> mirrored = new TreeSet<>();
        for (Class<?> k : CLASSES)
            for (Method m : k.getDeclaredMethods()) {
                Origin o = m.getAnnotation(Origin.class);
                if (o == null) continue;
                String fn = o.function().isEmpty() ? m.getName() : o.function();
                if (!known.contains(fn + " " + o.file() + " " + o.line())) wrong.add(fn + " " + o.file() + ":" + o.line());
                if (o.status() == Origin.Status.SIMPLIFIED) assertThat(o.note()).as(fn + " note").isNotBlank();
                mirrored.add(fn);
            }
        assertThat(wrong).isEmpty();

        Set<String> emulateC = new TreeSet<>();
        for (String[] r : Reference.tsv("functions.tsv")) if (r[1].equals("arch/x86/kvm/emulate.c")) emulateC.add(r[0]);
        assertThat(mirrored).containsAll(emulateC);
        System.out.printf("emulate.c: %d of %d functions mirrored with @Origin%n", mirrored.size(), emulateC.size());
    }
}
