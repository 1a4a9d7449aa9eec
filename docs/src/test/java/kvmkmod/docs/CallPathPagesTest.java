package kvmkmod.docs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import kvmkmod.docs.CallPathSpec.Hop;
import kvmkmod.include.trace.FunctionGraphTrace;
import org.junit.jupiter.api.Test;

/** The call-path generator on a small synthetic trace, and the parser on the real call_paths.md. */
class CallPathPagesTest {
    private static final ClassLoader LOADER = CallPathPagesTest.class.getClassLoader();

    /** A call_paths.md in miniature: the four sections, a few rows each, in the reference's layout. */
    static final List<String> SPEC = List.of(
            "## a) Module load (insmod kvm-intel)",
            "| # | hop | call site | condition / notes |",
            "|---|-----|-----------|-------------------|",
            "| a10 | kvm_init -> (registration tail) | kvm_main.c:2092-2127 | misc_register and friends |",
            "## b) KVM_RUN",
            "| b1 | kvm_vcpu_ioctl (virt/kvm/kvm_main.c:1257) -> kvm_arch_vcpu_ioctl_run (arch/x86/kvm/x86.c:4024) | kvm_main.c:1273 | case KVM_RUN |",
            "| b1.1 | kvm_arch_vcpu_ioctl_run (x86.c:4024) -> vcpu_load (kvm_main.c:106) | x86.c:4029 | |",
            "| b2 | kvm_arch_vcpu_ioctl_run (x86.c:4024) -> __vcpu_run (arch/x86/kvm/x86.c:3951) | x86.c:4071 | loop |",
            "## c) Guest port I/O (non-string IN/OUT)",
            "| c5b | kvm_emulate_pio returns 0 | x86.c:3250 | to userspace |",
            "## d) KVM_CREATE_VCPU",
            "| d9 | vmx_create_vcpu -> alloc_apic_access_page (vmx.c:2181) / alloc_identity_pagetable (vmx.c:2203) | vmx.c:3897 / 3904 | |");

    /** The same without the row whose functions this small trace does not call. */
    static final List<String> SPEC_FOR_TRACE = SPEC.stream().filter(l -> !l.startsWith("| d9 ")).toList();

    static final List<String> TRACE = List.of(
            "# tracer: function_graph",
            "#",
            " 0)               |  vmx_init() {",
            " 0)   9.000 us    |    kvm_init();",
            " 0)   9.500 us    |  }",
            " 0)               |  kvm_dev_ioctl() {",
            " 0)   2.000 us    |    kvm_dev_ioctl_create_vm();",
            " 0)   2.500 us    |  }",
            " 0)               |  kvm_vm_ioctl() {",
            " 0)   7.000 us    |    kvm_vm_ioctl_create_vcpu();",
            " 0)   7.500 us    |  }",
            " 0)               |  kvm_vcpu_ioctl() {",
            " 0)               |    kvm_arch_vcpu_ioctl_run() {",
            " 0)   0.500 us    |      vcpu_load();",
            " 0)   0.100 us    |      kvm_set_cr8();",
            " 0)   0.100 us    |      kvm_set_cr8();",
            " 0)   0.200 us    |      complete_pio();",
            " 0)               |      __vcpu_run() {",
            " 0)               |        vcpu_enter_guest() {",
            " 0)               |          /* kvm_entry: vcpu 0 */",
            " 0)   3.000 us    |          vmx_vcpu_run();",
            " 0)               |          vmx_handle_exit() {",
            " 0)               |            /* kvm_exit: reason io_instruction rip 0x7c14 */",
            " 0)               |            handle_io() {",
            " 0)               |              kvm_emulate_pio() {",
            " 0)   0.300 us    |                kernel_pio();",
            " 0)   0.900 us    |              }",
            " 0)   1.000 us    |            }",
            " 0)   4.000 us    |          }",
            " 0) + 12.000 us   |        }",
            " 0) + 13.000 us   |      }",
            " 0) + 15.000 us   |    }",
            " 0) + 16.000 us   |  }",
            " 0)               |  /* vmm_exit: IO out port=0x3f8 size=1 count=1 data=31 */");

    private static Path reference() {
        TestPaths.reference();
        List<String> tried = new java.util.ArrayList<>();
        return ReferenceFunctions.locateDirectory(TestPaths.repo(), tried).orElseThrow();
    }

    @Test
    void parsesRowsAlternativesAndDescriptions() {
        CallPathSpec s = CallPathSpec.parse(SPEC);
        assertThat(s.sections()).extracting(CallPathSpec.Section::letter).containsExactly("a", "b", "c", "d");
        Hop b1 = s.section("b").hops().get(0);
        assertThat(b1.isCall()).isTrue();
        assertThat(b1.caller().get()).isEqualTo(new CallPathSpec.CFunction("kvm_vcpu_ioctl", "virt/kvm/kvm_main.c", 1257));
        assertThat(b1.callSite()).isEqualTo("kvm_main.c:1273");
        assertThat(s.section("a").hops().get(0).isCall()).isFalse();
        assertThat(s.section("c").hops().get(0).isCall()).isFalse();
        assertThat(s.section("d").hops()).extracting(Hop::id).containsExactly("d9 (1)", "d9 (2)");
        assertThat(s.section("d").hops().get(1).callee().get().name()).isEqualTo("alloc_identity_pagetable");
    }

    @Test
    void realReferenceResolvesEveryLocatedFunction() {
        Path dir = reference();
        assumeTrue(Files.isRegularFile(dir.resolve("call_paths.md")), "no call_paths.md in " + dir);
        ReferenceFunctions ref = ReferenceFunctions.load(dir.resolve("functions.tsv"));
        CallPathSpec s = CallPathSpec.load(dir.resolve("call_paths.md"));
        // a-d from the reference, e-f (the MMU) from the docs module's mmu_paths.md
        assertThat(s.sections()).extracting(CallPathSpec.Section::letter).containsExactly("a", "b", "c", "d", "e", "f");
        int calls = 0;
        for (CallPathSpec.Section sec : s.sections())
            for (Hop h : sec.hops()) {
                if (!h.isCall()) continue;
                calls++;
                for (CallPathSpec.CFunction f : List.of(h.caller().get(), h.callee().get()))
                    if (f.located()) assertThat(CallPathSpec.resolve(f, ref)).as(h.id() + " " + f).isPresent();
            }
        assertThat(calls).isGreaterThan(40);
        // the two functions called hardware_enable are told apart by file and line
        Hop a17 = s.section("a").hops().stream().filter(h -> h.id().equals("a17")).findFirst().orElseThrow();
        assertThat(CallPathSpec.resolve(a17.callee().get(), ref).get().file()).isEqualTo("arch/x86/kvm/vmx.c");
        assertThat(CallPathSpec.resolve(a17.caller().get(), ref).get().file()).isEqualTo("arch/x86/kvm/x86.c");
        // a paging_tmpl.h instance resolves to the template's row
        Hop f5 = s.section("f").hops().stream().filter(h -> h.id().equals("f5")).findFirst().orElseThrow();
        assertThat(f5.callee().get().name()).isEqualTo("paging32_fetch");
        ReferenceFunctions.Function fetch = CallPathSpec.resolve(f5.callee().get(), ref).orElseThrow();
        assertThat(fetch.file()).isEqualTo("arch/x86/kvm/paging_tmpl.h");
        assertThat(fetch.name()).isEqualTo("FNAME(fetch)");
        assertThat(fetch.line()).isEqualTo(290);
    }

    /** Section f in miniature, and a shadow-paging trace of the guest's write to its page directory. */
    static final List<String> MMU_SPEC = List.of(
            "## f) Shadow paging (ept=0): a #PF exit, and a write to a guest page table",
            "| f3 | kvm_mmu_page_fault (mmu.c:2775) -> paging32_page_fault (arch/x86/kvm/paging_tmpl.h:380) / paging64_page_fault (arch/x86/kvm/paging_tmpl.h:380) | mmu.c:2780 | indirect |",
            "| f5 | paging32_page_fault (paging_tmpl.h:380) -> paging32_fetch (arch/x86/kvm/paging_tmpl.h:290) | paging_tmpl.h:437 | |",
            "| f17 | emulator_write_phys (x86.c:2825) -> kvm_mmu_pte_write (arch/x86/kvm/mmu.c:2632) | x86.c:2833 | |");

    static final List<String> MMU_TRACE = List.of(
            " 0)               |  vmx_handle_exit() {",
            " 0)               |    /* kvm_exit: reason exception rip 0x7c9a */",
            " 0)               |    handle_exception() {",
            " 0)               |      kvm_mmu_page_fault() {",
            " 0)               |        paging32_page_fault() {",
            " 0)   1.000 us    |          paging32_walk_addr();",
            " 0)   2.000 us    |          paging32_fetch();",
            " 0)   4.000 us    |        }",
            " 0)               |        emulate_instruction() {",
            " 0)               |          x86_emulate_insn() {",
            " 0)               |            emulator_write_phys() {",
            " 0)   1.000 us    |              kvm_write_guest();",
            " 0)   3.000 us    |              kvm_mmu_pte_write();",
            " 0)   5.000 us    |            }",
            " 0)   6.000 us    |          }",
            " 0)   7.000 us    |        }",
            " 0)  12.000 us    |      }",
            " 0)  13.000 us    |    }",
            " 0)  14.000 us    |  }");

    @Test
    void shadowPagingPageLinksTheInstancesAndShowsTheMmu() {
        ReferenceFunctions ref = TestPaths.reference();
        List<OriginScanner.Mirror> mirrors = OriginScanner.scan(LOADER, OriginScanner.KVM_PACKAGES).mirrors();
        CallPathPages.Traced run = new CallPathPages.Traced(MMU_TRACE, "a test trace", "t.txt", "MMU of vcpu 0: shadow paging\n");
        CallPathPages.Generated g = CallPathPages.generate(CallPathSpec.parse(MMU_SPEC), ref, mirrors,
                java.util.Map.of(CallPathPages.RUN_SHADOW, run));
        assertThat(g.errors()).isEmpty();
        assertThat(g.pages()).containsOnlyKeys("call-path-shadow-paging");
        assertThat(g.checked()).isEqualTo(3);
        assertThat(g.pages().get("call-path-shadow-paging"))
                // the instance links to its own row of the cross-reference, defined at the template's line
                .contains("<a href=\"xref.html#file-arch-x86-kvm-paging-tmpl-h-paging32_fetch\"><code>paging32_fetch</code></a>")
                .contains("`+arch/x86/kvm/paging_tmpl.h:290+`")
                .contains("pass:c[not taken in this run: the guest uses 32-bit paging")
                .contains("|              kvm_mmu_pte_write();")
                .contains("link:t.txt[t.txt]")
                .contains("== The MMU after the run").contains("MMU of vcpu 0: shadow paging");
    }

    @Test
    void pagesShowHopsDiagramAndExcerpt() {
        ReferenceFunctions ref = TestPaths.reference();
        List<OriginScanner.Mirror> mirrors = OriginScanner.scan(LOADER, OriginScanner.KVM_PACKAGES).mirrors();
        CallPathPages.Generated g = CallPathPages.generate(CallPathSpec.parse(SPEC_FOR_TRACE), ref, mirrors, TRACE, "a test trace");
        assertThat(g.errors()).isEmpty();
        assertThat(g.checked()).isEqualTo(3);
        String run = g.pages().get("call-path-kvm-run");
        assertThat(run)
                .contains("= KVM_RUN: from the ioctl into the guest")
                .contains("<a href=\"xref.html#file-virt-kvm-kvm-main-c-kvm_vcpu_ioctl\"><code>kvm_vcpu_ioctl</code></a>"
                        + " &#8594; <a href=\"xref.html#file-arch-x86-kvm-x86-c-kvm_arch_vcpu_ioctl_run\">")
                .contains("`+arch/x86/kvm/x86.c:3951+`")
                .contains("pass:c[called directly]")
                .contains("<svg xmlns=\"http://www.w3.org/2000/svg\"")
                .contains(" 0)               |  kvm_vcpu_ioctl() {")
                .contains(" 0)   0.500 us    |      vcpu_load();")
                .contains("|      \u22ee 3 calls folded")
                .contains("|            /* kvm_exit: reason io_instruction rip 0x7c14 */");
        // the I/O page follows the run out to the VMM's exit
        assertThat(g.pages().get("call-path-guest-io"))
                .contains("|  /* vmm_exit: IO out port=0x3f8 size=1 count=1 data=31 */");
        // a row that is not one call keeps its words
        assertThat(g.pages().get("call-path-module-load")).contains("2+| pass:c[kvm_init -> (registration tail)]");
    }

    /**
     * The MMU pages this build made from its own runs of shadow-pt: the write to the live page directory
     * (0x1000c) emulated into kvm_mmu_pte_write without EPT, EPT violations with it, and after each run the
     * MMU as MmuView printed it (shadow tables over the guest's directory, gfn 0x10; EPT tables).
     */
    @Test
    void builtMmuPagesShowTheRealRuns() throws java.io.IOException {
        String shadow = Files.readString(TestPaths.site().resolve("call-path-shadow-paging.html"));
        assertThat(shadow).contains("kvm_page_fault: address 1000c").contains("kvm_mmu_pte_write()")
                .contains("rmap_write_protect()").contains("paging32_fetch()")
                .contains("MMU of vcpu 0: shadow paging").contains("(guest table gfn 0x10)");
        String ept = Files.readString(TestPaths.site().resolve("call-path-ept-violation.html"));
        assertThat(ept).contains("kvm_exit: reason ept_violation").contains("__direct_map()")
                .contains("MMU of vcpu 0: EPT (tdp)").doesNotContain("paging32_page_fault()");
    }

    @Test
    void aMissingMirroredHopIsAnErrorThatSaysWhereThePathBreaks() {
        ReferenceFunctions ref = TestPaths.reference();
        List<OriginScanner.Mirror> mirrors = OriginScanner.scan(LOADER, OriginScanner.KVM_PACKAGES).mirrors();
        List<String> broken = TRACE.stream().filter(l -> !l.contains("vcpu_load")).toList();
        CallPathPages.Generated g = CallPathPages.generate(CallPathSpec.parse(SPEC_FOR_TRACE), ref, mirrors, broken, "a test trace");
        assertThat(g.errors()).hasSize(1);
        assertThat(g.errors().get(0)).startsWith("b1.1 kvm_arch_vcpu_ioctl_run -> vcpu_load: the path stops after kvm_arch_vcpu_ioctl_run:")
                .contains("never calls vcpu_load (it calls kvm_set_cr8, complete_pio, __vcpu_run)");
    }

    @Test
    void svgDrawsBoxesArrowsEventsAndLinks() {
        FunctionGraphTrace t = FunctionGraphTrace.parse(TRACE);
        List<TraceExcerpt.Node> forest = TraceExcerpt.prune(t.items(),
                new TraceExcerpt.Selection(Set.of("kvm_vcpu_ioctl", "__vcpu_run", "vmx_handle_exit", "handle_io"), Set.of(), 3));
        String svg = TraceSvg.draw("KVM_RUN <test>", forest, fn -> fn.equals("handle_io") ? "xref.html#h" : null);
        assertThat(svg).startsWith("<svg ").endsWith("</svg>\n")
                .contains("<title>KVM_RUN &lt;test&gt;</title>")
                .contains("marker-end=\"url(#arrow)\"")
                .contains("<a href=\"xref.html#h\"><rect")
                .contains("kvm_exit: reason io_instruction rip 0x7c14")
                .contains("vmm_exit: IO out port=0x3f8")
                .contains("16.000 us");
        // one box per kept call: kvm_vcpu_ioctl, kvm_arch_vcpu_ioctl_run, __vcpu_run, vcpu_enter_guest,
        // vmx_handle_exit, handle_io; the three set-up ioctls before them and vmx_vcpu_run are folded
        assertThat(svg.split("<rect ", -1)).hasSize(7);
        assertThat(TraceExcerpt.calls(forest)).isEqualTo(6);
        assertThat(String.join("\n", TraceExcerpt.text(forest)))
                .contains("|  \u22ee 3 calls folded").contains("\u22ee 4 calls folded").contains("\u22ee 1 call folded")
                .doesNotContain("vcpu_load").doesNotContain("kernel_pio");
    }

    @Test
    void durationsKeepTheFunctionGraphWidth() {
        assertThat(TraceExcerpt.duration(0.512)).isEqualTo("  0.512 us");
        assertThat(TraceExcerpt.duration(123.456)).isEqualTo("! 123.456 us");
        assertThat(TraceExcerpt.duration(293723.4)).isEqualTo("! 293723.4 us");
    }
}
