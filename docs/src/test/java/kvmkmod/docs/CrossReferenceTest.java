package kvmkmod.docs;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.stream.Collectors;
import kvmkmod.docs.OriginScanner.Mirror;
import kvmkmod.docs.OriginScanner.Result;
import org.junit.jupiter.api.Test;

/** Every @Origin of the KVM packages against functions.tsv, and the checker on known-bad input. */
class CrossReferenceTest {
    private static final ClassLoader LOADER = CrossReferenceTest.class.getClassLoader();

    @Test
    void scannerSeesEveryKvmPackage() {
        Result r = OriginScanner.scan(LOADER, OriginScanner.KVM_PACKAGES);
        assertThat(r.errors()).as("classes that failed to load").isEmpty();
        for (String pkg : OriginScanner.KVM_PACKAGES)
            assertThat(r.classesByPackage().get(pkg)).as("classes found in " + pkg).isNotEmpty();
    }

    @Test
    void everyOriginMatchesTheReferenceList() {
        ReferenceFunctions ref = TestPaths.reference();
        Result r = OriginScanner.scan(LOADER, OriginScanner.KVM_PACKAGES);
        List<String> problems = OriginCheck.problems(r.mirrors(), ref);
        System.out.println("CrossReferenceTest: " + r.mirrors().size() + " @Origin checked against functions.tsv ("
                + r.mirrors().stream().map(m -> m.origin().file()).distinct().count() + " files), "
                + problems.size() + " problems");
        assertThat(problems)
                .as("@Origin references that disagree with functions.tsv:\n  " + String.join("\n  ", problems) + "\n")
                .isEmpty();
    }

    @Test
    void renderedPageShowsEveryMirroredFunction() throws java.io.IOException {
        ReferenceFunctions ref = TestPaths.reference();
        java.nio.file.Path xref = TestPaths.site().resolve("xref.html");
        String html = java.nio.file.Files.readString(xref);
        List<String> missing = new java.util.ArrayList<>();
        for (Mirror m : OriginScanner.scan(LOADER, OriginScanner.KVM_PACKAGES).mirrors()) {
            if (m.cFunction().isEmpty() || OriginCheck.match(m, ref).isEmpty()) continue;
            String link = "<a href=\"" + CrossReference.ELIXIR
                    + CrossReference.identOf(OriginCheck.match(m, ref).get().name()) + "\">" + m.cFunction() + "</a>";
            String id = "id=\"" + CrossReference.functionAnchor(m.origin().file(), m.cFunction()) + "\"";
            if (!html.contains(link) || !html.contains(id)) missing.add(m.signature() + ": " + link + " / " + id);
        }
        assertThat(missing).as("rows of xref.html that Asciidoctor mangled or lost:\n  " + String.join("\n  ", missing)).isEmpty();
    }

    @Test
    void checkerReportsEveryKindOfMistakeAtOnce() {
        ReferenceFunctions ref = TestPaths.reference();
        Result r = OriginScanner.scan(LOADER, List.of("kvmkmod.docs.fixture"));
        assertThat(r.errors()).isEmpty();
        assertThat(r.mirrors()).extracting(Mirror::javaName).doesNotContain("Origins#helper");
        List<String> problems = OriginCheck.problems(r.mirrors(), ref);
        String all = problems.stream().collect(Collectors.joining("\n"));
        assertThat(problems).as(all).hasSize(7);
        assertThat(all)
                .contains("Origins#kvm_vcpu_ioctl() @Origin(file=virt/kvm/kvm_main.c, line=1256): "
                        + "kvm_vcpu_ioctl is at virt/kvm/kvm_main.c:1257, not line 1256")
                .contains("Origins#vcpu_put() @Origin(file=arch/x86/kvm/x86.c, line=117): no function vcpu_put in arch/x86/kvm/x86.c")
                .contains("(it is defined at virt/kvm/kvm_main.c:117)")
                .contains("no function vmx_handle_exits in arch/x86/kvm/vmx.c")
                .contains("arch/x86/kvm/svm.c is not a file of the reference list")
                .contains("Origins#handle_io() @Origin(file=arch/x86/kvm/vmx.c, line=2888): status SIMPLIFIED needs a note")
                .contains("Origins#Origins() @Origin(file=arch/x86/kvm/vmx.c, line=3862): a constructor must name its C function")
                .contains("virt/kvm/kvm_main.c:vcpu_load is claimed by 2 Java members: Origins#vcpu_load(), Origins.Again#vcpu_load()");
        assertThat(all).doesNotContain("paging64_walk_addr", "kvm_mmu_audit", "vcpuRun", "kvm_arch_vcpu_ioctl_run",
                "vcpu_enter_guest", "Origins#Origins(int)");
    }

    @Test
    void pagingTemplateNamesFindTheirFnameRow() {
        ReferenceFunctions ref = TestPaths.reference();
        assertThat(ref.find("arch/x86/kvm/paging_tmpl.h", "paging32_walk_addr"))
                .extracting(ReferenceFunctions.Function::name).containsExactly("FNAME(walk_addr)");
        assertThat(ref.all()).hasSize(889);
    }

    @Test
    void sourceLocatorFindsTheAnnotatedDeclaration() {
        List<String> src = List.of(
                "class X {",
                "    /** doc */",
                "    @Origin(file = \"arch/x86/kvm/x86.c\", line = 10)",
                "    static int foo(int a) {",
                "        return foo(a, 2);",
                "    }",
                "    @Origin(file = \"arch/x86/kvm/x86.c\",",
                "            line = 20, status = Origin.Status.SIMPLIFIED,",
                "            note = \"two\")",
                "    public static java.util.List<String> foo(int a, int b) {",
                "        int r = foo(1);",
                "        return null;",
                "    }",
                "    X(int k) {}",
                "}");
        assertThat(JavaSources.find(src, "foo", false, 20)).isEqualTo(10);
        assertThat(JavaSources.find(src, "foo", false, 10)).isEqualTo(4);
        assertThat(JavaSources.find(src, "foo", false, 99)).isEqualTo(4);
        assertThat(JavaSources.find(src, "X", true, 1)).isEqualTo(14);
        assertThat(JavaSources.find(src, "bar", false, 1)).isZero();
    }

    @Test
    void pageRendersFixturesWithLinksAndEscapes() {
        ReferenceFunctions ref = TestPaths.reference();
        Result r = OriginScanner.scan(LOADER, List.of("kvmkmod.docs.fixture"));
        String page = CrossReference.render(r.mirrors(), ref, new JavaSources(TestPaths.repo()), List.of());
        assertThat(page)
                .contains("[[file-virt-kvm-kvm-main-c]]\n== `+virt/kvm/kvm_main.c+`")
                .contains("| <<file-arch-x86-kvm-x86-c,`+arch/x86/kvm/x86.c+`>> | `+x86/x86.c+` | 3 | 192 | 2%")
                .contains("| 3951 | pass:[<a id=\"file-arch-x86-kvm-x86-c-__vcpu_run\"></a>"
                        + "<a href=\"https://elixir.bootlin.com/linux/v2.6.33/ident/__vcpu_run\">__vcpu_run</a>]")
                .contains("<a href=\"https://elixir.bootlin.com/linux/v2.6.33/ident/walk_addr\">paging64_walk_addr</a>")
                .contains("| simplified: pass:c[no \\| pipes \\] or *stars* {attr} lost]")
                .contains("== References that disagree with the reference list")
                .contains("| `+kvmkmod.docs.fixture+` | `+arch/x86/kvm/x86.c+` (5), `+arch/x86/kvm/vmx.c+` (4), `+virt/kvm/kvm_main.c+` (3), ");
        // a C function claimed twice gets its anchor once (a duplicate id would be an Asciidoctor warning)
        assertThat(page.split("id=\"file-virt-kvm-kvm-main-c-vcpu_load\"", -1)).hasSize(2);
        // x86.c: __vcpu_run, vcpu_enter_guest and kvm_arch_vcpu_ioctl_run (claimed twice, counted once)
        assertThat(page).contains("3 of the 192 functions of this file are mirrored");
    }

    /** Each function row names the call paths it is a hop of, linked to their pages. */
    @Test
    void rowsLinkTheCallPathsTheirFunctionTakesPartIn() throws java.io.IOException {
        ReferenceFunctions ref = TestPaths.reference();
        java.nio.file.Path md = ReferenceFunctions.locateDirectory(TestPaths.repo(), new java.util.ArrayList<>())
                .orElseThrow().resolve("call_paths.md");
        java.util.Map<String, java.util.Set<String>> on = CrossReference.pathsByFunction(CallPathSpec.load(md), ref);
        assertThat(on.get("arch/x86/kvm/vmx.c:handle_io")).containsExactly("c");
        assertThat(on.get("virt/kvm/kvm_main.c:kvm_vcpu_ioctl")).contains("b");
        assertThat(on.get("arch/x86/kvm/vmx.c:alloc_vmcs_cpu")).containsExactly("a", "d");
        assertThat(on).doesNotContainKey("arch/x86/kvm/emulate.c:x86_decode_insn");
        // the MMU paths: EPT (e) and shadow paging (f) meet in kvm_mmu_page_fault; a paging_tmpl.h
        // function is a hop under its instance's name, as its Java mirror is called
        assertThat(on.get("arch/x86/kvm/mmu.c:kvm_mmu_page_fault")).containsExactly("e", "f");
        assertThat(on.get("arch/x86/kvm/vmx.c:handle_ept_violation")).containsExactly("e");
        assertThat(on.get("arch/x86/kvm/paging_tmpl.h:paging32_fetch")).containsExactly("f");
        assertThat(on.get("arch/x86/kvm/mmu.c:kvm_mmu_pte_write")).containsExactly("f");
        assertThat(on).doesNotContainKey("arch/x86/kvm/paging_tmpl.h:FNAME(fetch)");
        String html = java.nio.file.Files.readString(TestPaths.site().resolve("xref.html"));
        assertThat(html).contains("href=\"call-path-guest-io.html\"")
                .contains("href=\"call-path-ept-violation.html\"").contains("href=\"call-path-shadow-paging.html\"");
        // the MMU's files have their sections, with the paging_tmpl.h instances and coalesced_mmio.c
        assertThat(html).contains("id=\"file-arch-x86-kvm-mmu-c\"").contains("id=\"file-arch-x86-kvm-paging-tmpl-h\"")
                .contains("id=\"file-virt-kvm-coalesced-mmio-c\"")
                .contains("id=\"file-arch-x86-kvm-paging-tmpl-h-paging32_page_fault\"")
                .contains("id=\"file-arch-x86-kvm-paging-tmpl-h-paging64_page_fault\"");
    }
}
