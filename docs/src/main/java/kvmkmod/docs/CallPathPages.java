package kvmkmod.docs;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import kvmkmod.docs.CallPathSpec.CFunction;
import kvmkmod.docs.CallPathSpec.Hop;
import kvmkmod.docs.OriginScanner.Mirror;
import kvmkmod.include.trace.FunctionGraphTrace;
import kvmkmod.include.trace.FunctionGraphTrace.Call;
import kvmkmod.include.trace.FunctionGraphTrace.Item;

/**
 * Writes the call-path pages (module load, KVM_RUN, guest port I/O, KVM_CREATE_VCPU from a traced run of
 * the bundled guest pio-both; the EPT violation and the shadow-paging fault paths from traced runs of the
 * paging guest shadow-pt with ept=1 and ept=0): the hop table of the reference's call_paths.md (and of
 * this module's mmu_paths.md) with each end linked to its row of the cross-reference, the trace excerpt of
 * that path, a diagram drawn from the trace and, for the MMU pages, the MMU as --mmu-view shows it after the run.
 * Every hop whose two functions have a Java mirror must show up in the trace as a call from the one to
 * the other, unless the hop's condition does not hold in this run (listed in {@link #NOT_TAKEN}); if one
 * is missing the generator says where the path breaks and the build fails.
 *
 * <p>Run by the docs build after the cross-reference:
 * {@code CallPathPages --repo DIR --reference DIR --out DIR [--trace FILE] [--guest NAME]}. With
 * {@code --trace} it reads a saved trace instead of running the default guest (the MMU pages' two runs
 * are always made). While the Java module cannot be
 * loaded (KvmIntel.insmod throws UnsupportedOperationException, as it did before vmx.c was written), the
 * build fails: the pages are made from that run. Without the reference list (call_paths.md) it writes
 * no pages and the index says why.
 */
public final class CallPathPages {
    /** The guest whose run the pages show: OUTs handled in the kernel (ioeventfd) and in userspace. */
    static final String DEFAULT_GUEST = "pio-both";

    /** The paging guest of the MMU pages (docs/src/main/resources/kvmkmod/docs/guests/shadow-pt.S). */
    static final String MMU_GUEST = "shadow-pt";

    /** The runs the pages are drawn from: the default guest, and the paging guest with and without EPT. */
    static final String RUN_DEFAULT = "default", RUN_EPT = "mmu-ept", RUN_SHADOW = "mmu-shadow";

    /** A traced run: its trace, the words that say what it was, the file the whole trace goes to, the MMU after it (or null). */
    record Traced(List<String> lines, String source, String traceFile, String mmuView) {}

    /** Hops whose condition does not hold when {@link #DEFAULT_GUEST} runs, with the reason shown on the page. */
    static final Map<String, String> NOT_TAKEN = Map.of(
            "b1.2", "the vCPU is runnable from the start (mp_state is not KVM_MP_STATE_UNINITIALIZED)",
            "b1.4", "the guest does no MMIO, so mmio_needed is never set",
            "d9 (1)", "no in-kernel irqchip, so there is no APIC-access page to allocate",
            "f3 (2)", "the guest uses 32-bit paging (CR4.PAE clear), so its faults go to the paging32 instance");

    /** One page: which section of call_paths.md, where it goes, what it says and which trees it shows. */
    record Page(String letter, String slug, String title, String intro, Set<String> alsoShown, Set<String> directOnly,
                Function<FunctionGraphTrace, List<Item>> roots, String run) {
        Page(String letter, String slug, String title, String intro, Set<String> alsoShown, Set<String> directOnly,
             Function<FunctionGraphTrace, List<Item>> roots) {
            this(letter, slug, title, intro, alsoShown, directOnly, roots, RUN_DEFAULT);
        }
    }

    static final List<Page> PAGES = List.of(
            new Page("a", "call-path-module-load", "Module load: insmod kvm-intel",
                    "Loading kvm-intel runs `vmx_init`, which hands the VMX operations to the generic `kvm_init`. "
                            + "That one checks the processor through the architecture layer, reads and checks the VMX "
                            + "capabilities on every processor, allocates a VMXON region per processor and registers `/dev/kvm`. "
                            + "VMXON itself waits: it runs on every processor when the first VM is created, "
                            + "which is why the second tree below is the `KVM_CREATE_VM` ioctl.",
                    Set.of(), Set.of(),
                    t -> join(firstRoot(t, "vmx_init", c -> true),
                            firstRoot(t, "kvm_dev_ioctl", c -> c.childNames().contains("kvm_dev_ioctl_create_vm")))),
            new Page("b", "call-path-kvm-run", "KVM_RUN: from the ioctl into the guest",
                    "The VMM's `ioctl(vcpu_fd, KVM_RUN, 0)` enters `kvm_vcpu_ioctl`, which hands over to the x86 layer. "
                            + "`kvm_arch_vcpu_ioctl_run` loads the vCPU on this processor, finishes any port I/O the previous "
                            + "exit left pending, and loops in `+__vcpu_run+`: each turn `vcpu_enter_guest` prepares the entry "
                            + "and calls `vmx_vcpu_run` through `kvm_x86_ops`, which enters the guest with VMLAUNCH or VMRESUME "
                            + "and returns at the next VM exit. The tree shown is the second `KVM_RUN` of the run: "
                            + "it starts by completing the port write of the first one.",
                    Set.of("kvm_arch_vcpu_load", "vmx_vcpu_load", "vcpu_put", "kvm_arch_vcpu_put", "vmx_vcpu_put",
                            "vmx_save_host_state", "kvm_load_guest_fpu", "inject_pending_event", "kvm_mmu_reload",
                            "vmx_handle_exit", "vmx_complete_interrupts", "post_kvm_run_save"),
                    Set.of(),
                    t -> firstRoot(t, "kvm_vcpu_ioctl", c -> c.children().stream().anyMatch(
                            r -> r.function().equals("kvm_arch_vcpu_ioctl_run") && r.childNames().contains("complete_pio")))),
            new Page("c", "call-path-guest-io", "Guest port I/O: an OUT leaves the guest",
                    "An `OUT` in the guest is a VM exit with reason 30 (I/O instruction). `vmx_handle_exit` looks the "
                            + "reason up in its handler table and calls `handle_io`, which decodes the exit qualification "
                            + "and calls `kvm_emulate_pio`. That fills in the `kvm_run` page for userspace and first offers "
                            + "the access to the devices on the VM's port bus (`kernel_pio`). The run below shows both "
                            + "outcomes: the write to port 0x500 is taken by an ioeventfd inside the kernel and the guest "
                            + "resumes at once; the write to the serial port 0x3f8 finds no device, so `KVM_RUN` returns to "
                            + "the VMM with `KVM_EXIT_IO`, and the next `KVM_RUN` completes the instruction with `complete_pio`.",
                    Set.of("kvm_vcpu_ioctl", "kvm_arch_vcpu_ioctl_run", "__vcpu_run", "vcpu_enter_guest",
                            "skip_emulated_instruction", "kvm_io_bus_write", "kvm_io_bus_read", "ioeventfd_write", "post_kvm_run_save"),
                    Set.of(),
                    CallPathPages::ioRoots),
            new Page("d", "call-path-create-vcpu", "KVM_CREATE_VCPU: a vCPU and its VMCS",
                    "`KVM_CREATE_VCPU` on the VM's file descriptor asks the architecture layer for a vCPU, and x86 asks "
                            + "vmx.c through `+kvm_x86_ops->vcpu_create+`. `vmx_create_vcpu` allocates the `vcpu_vmx`, a VPID "
                            + "and a VMCS, clears the VMCS, makes it current on this processor and fills it in with "
                            + "`vmx_vcpu_setup`. Back in the generic layer, `kvm_arch_vcpu_setup` resets the vCPU to its "
                            + "power-on state and sets up its MMU.",
                    Set.of("kvm_arch_vcpu_init", "kvm_mmu_create", "vmx_vcpu_reset", "kvm_arch_vcpu_load",
                            "kvm_arch_vcpu_put", "vmx_vcpu_put"),
                    Set.of("vmx_vcpu_setup>vmcs_writel"),
                    t -> firstRoot(t, "kvm_vm_ioctl", c -> c.childNames().contains("kvm_vm_ioctl_create_vcpu"))),
            new Page("e", "call-path-ept-violation", "EPT violation: a guest page mapped on first touch",
                    "With EPT the processor translates guest-physical addresses through tables KVM builds, and a "
                            + "guest-physical page that has no entry yet is a VM exit with reason 48 (EPT violation). "
                            + "`handle_ept_violation` reads the address from the VMCS and hands it to the MMU's generic "
                            + "`kvm_mmu_page_fault`, which calls the mode's fault handler: `tdp_page_fault`. That one pins the "
                            + "host page behind the guest frame and `+__direct_map+` walks the EPT tables down, creating the "
                            + "missing ones with `kvm_mmu_get_page`, and writes the leaf with `mmu_set_spte`. The guest never sees "
                            + "any of it: it runs the instruction again. The tree shown is the first EPT violation of the run "
                            + "that had to create a table.",
                    Set.of("gfn_to_pfn"), Set.of(),
                    t -> firstCall(t, "vmx_handle_exit", c -> has(c, "__direct_map", "kvm_mmu_get_page")), RUN_EPT),
            new Page("f", "call-path-shadow-paging", "Shadow paging (ept=0): a #PF exit and a guest page-table write",
                    "Without EPT (`--param ept=0`) the processor walks shadow page tables that KVM derives from the guest's "
                            + "own, and every guest page fault exits (reason 0, exception). `handle_exception` gives a `#PF` to "
                            + "`kvm_mmu_page_fault`, which calls the instance of `paging_tmpl.h` for the guest's paging mode: "
                            + "`paging32_page_fault` walks the guest's tables (`paging32_walk_addr`) and `paging32_fetch` builds "
                            + "the shadow entries. A guest table that gets a shadow page is write-protected (`rmap_write_protect`), "
                            + "so when the guest later writes an entry of it the write faults, `set_spte` refuses to map the table "
                            + "writable, and `kvm_mmu_page_fault` emulates the instruction: the emulator's store ends in "
                            + "`emulator_write_phys`, which writes guest memory and calls `kvm_mmu_pte_write` to bring the shadow "
                            + "entries in line. The first tree below is the fault that first shadowed and write-protected a guest "
                            + "table; the second is the guest's write to its live page directory.",
                    Set.of("account_shadowed", "kvm_write_guest", "mmu_pte_write_zap_pte"), Set.of(),
                    t -> join(firstCall(t, "vmx_handle_exit", c -> has(c, "paging32_fetch", "kvm_mmu_get_page")
                                    && has(c, "kvm_mmu_get_page", "rmap_write_protect")),
                            firstCall(t, "vmx_handle_exit", c -> has(c, "emulator_write_phys", "kvm_mmu_pte_write"))),
                    RUN_SHADOW));

    private CallPathPages() {}

    public static void main(String[] args) throws IOException {
        Map<String, String> a = new LinkedHashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) a.put(args[i], args[i + 1]);
        if (!a.containsKey("--repo") || !a.containsKey("--out")) {
            System.err.println("usage: CallPathPages --repo DIR [--reference DIR] --out DIR [--trace FILE] [--guest NAME]");
            System.exit(2);
        }
        Path repo = Path.of(a.get("--repo")).toAbsolutePath().normalize();
        Path out = Path.of(a.get("--out"));
        Files.createDirectories(out);
        if (a.containsKey("--reference") && System.getProperty("kvmkmod.reference") == null)
            System.setProperty("kvmkmod.reference", a.get("--reference"));
        List<String> tried = new ArrayList<>();
        Optional<Path> refDir = ReferenceFunctions.locateDirectory(repo, tried);
        OriginScanner.Result scan = OriginScanner.scan(CallPathPages.class.getClassLoader(), OriginScanner.KVM_PACKAGES);
        DocLinks.write(out, scan.mirrors(), refDir.map(d -> ReferenceFunctions.load(d.resolve("functions.tsv"))).orElse(null));
        if (refDir.isEmpty() || !Files.isRegularFile(refDir.get().resolve("call_paths.md"))) {
            String why = "the reference (functions.tsv, call_paths.md) was not found; looked in " + tried;
            System.out.println("CallPathPages: no call-path pages: " + why);
            writeIndexFragment(out, null, why);
            return;
        }
        ReferenceFunctions ref = ReferenceFunctions.load(refDir.get().resolve("functions.tsv"));
        CallPathSpec spec = CallPathSpec.load(refDir.get().resolve("call_paths.md"));
        String guest = a.getOrDefault("--guest", DEFAULT_GUEST);

        List<String> lines;
        String source;
        if (a.containsKey("--trace")) {
            lines = Files.readAllLines(Path.of(a.get("--trace")), StandardCharsets.UTF_8);
            source = "a saved trace (" + Path.of(a.get("--trace")).getFileName() + ")";
        } else {
            TraceCapture.Result r = TraceCapture.run(guest);
            if (r.unavailable() != null) {
                // the module loads on main: a build where it cannot has lost the run these pages are made from
                System.err.println("CallPathPages: no traced run to draw the call paths from: " + r.unavailable());
                System.exit(1);
            }
            lines = r.lines();
            source = "the bundled guest `" + guest + "` run by the VMM through `JavaSys` on the SOFT backend";
        }
        Map<String, Traced> runs = new LinkedHashMap<>();
        runs.put(RUN_DEFAULT, new Traced(lines, source, "call-paths-trace.txt", null));
        runs.put(RUN_EPT, mmuRun(true));
        runs.put(RUN_SHADOW, mmuRun(false));
        for (Traced t : runs.values()) Files.write(out.resolve(t.traceFile()), t.lines(), StandardCharsets.UTF_8);
        Generated g = generate(spec, ref, scan.mirrors(), runs);
        if (!g.errors().isEmpty()) {
            System.err.println("CallPathPages: hops of the call paths that the Java mirrors but the trace does not show:");
            for (String e : g.errors()) System.err.println("  " + e);
            System.err.println("CallPathPages: the full traces are in " + out + " (call-paths-trace*.txt)");
            System.exit(1);
        }
        for (Map.Entry<String, String> p : g.pages().entrySet())
            Files.writeString(out.resolve(p.getKey() + ".adoc"), p.getValue(), StandardCharsets.UTF_8);
        for (Map.Entry<String, String> p : g.svgs().entrySet())
            Files.writeString(out.resolve(p.getKey() + ".svg"), p.getValue(), StandardCharsets.UTF_8);
        writeIndexFragment(out, guest, null);
        System.out.println("CallPathPages: " + g.pages().size() + " pages, " + g.checked() + " hops found in "
                + runs.size() + " traced runs -> " + out);
    }

    /**
     * The paging guest traced on the soft CPU with EPT on or off (kvm-intel's {@code ept} parameter), and the
     * MMU as {@code --mmu-view text} shows it after the last KVM_RUN.
     */
    static Traced mmuRun(boolean ept) {
        kvmkmod.vmx.KvmIntel.Params p = new kvmkmod.vmx.KvmIntel.Params();
        p.enable_ept = ept;
        String[] view = new String[1];
        kvmkmod.docs.labs.LabMachine.Run r;
        try {
            r = new kvmkmod.docs.labs.LabMachine().params(p).afterRun(vm -> view[0] = vm.mmuView()).runDocsGuest(MMU_GUEST);
        } catch (kvmkmod.docs.labs.LabMachine.Unavailable u) {
            System.err.println("CallPathPages: no traced run to draw the MMU call paths from: " + u.getMessage());
            System.exit(1);
            throw u;
        }
        return new Traced(r.traceLines(), "the paging guest `" + MMU_GUEST + "` (`docs/src/main/resources/kvmkmod/docs/guests/"
                + MMU_GUEST + ".S`) run by the VMM on the SOFT backend with kvm-intel's `ept=" + (ept ? 1 : 0) + "`",
                "call-paths-trace-" + (ept ? RUN_EPT : RUN_SHADOW) + ".txt", view[0]);
    }

    /** The generated pages (slug to AsciiDoc), the diagrams (slug to SVG), the hops checked and what is wrong. */
    record Generated(Map<String, String> pages, Map<String, String> svgs, int checked, List<String> errors) {}

    /** A hop as the page shows it: both ends resolved against the reference list and the Java mirrors. */
    record Resolved(Hop hop, Optional<ReferenceFunctions.Function> caller, Optional<ReferenceFunctions.Function> callee,
                    Optional<Mirror> callerJava, Optional<Mirror> calleeJava) {
        boolean mirrored() { return callerJava.isPresent() && calleeJava.isPresent(); }
    }

    /** The pages of the default run only, from {@code lines}. */
    static Generated generate(CallPathSpec spec, ReferenceFunctions ref, List<Mirror> mirrors, List<String> lines, String source) {
        return generate(spec, ref, mirrors, Map.of(RUN_DEFAULT, new Traced(lines, source, "call-paths-trace.txt", null)));
    }

    /** The pages whose run is in {@code runs}, each from its run's trace. */
    static Generated generate(CallPathSpec spec, ReferenceFunctions ref, List<Mirror> mirrors, Map<String, Traced> runs) {
        Map<String, FunctionGraphTrace> traces = new HashMap<>();
        Map<String, Mirror> byFunction = new HashMap<>();
        Map<String, Set<String>> filesOfName = new HashMap<>();
        for (Mirror m : mirrors) {
            if (m.cFunction().isEmpty()) continue;
            byFunction.putIfAbsent(m.origin().file() + ":" + m.cFunction(), m);
            filesOfName.computeIfAbsent(m.cFunction(), k -> new LinkedHashSet<>()).add(m.origin().file());
        }
        Function<String, String> link = fn -> {
            Set<String> files = filesOfName.get(fn);
            return files == null || files.size() != 1 ? null : "xref.html#" + CrossReference.functionAnchor(files.iterator().next(), fn);
        };
        Map<String, String> pages = new LinkedHashMap<>();
        Map<String, String> svgs = new LinkedHashMap<>();
        List<String> errors = new ArrayList<>();
        int checked = 0;
        for (Page p : PAGES) {
            Traced run = runs.get(p.run());
            if (run == null) continue;
            FunctionGraphTrace trace = traces.computeIfAbsent(p.run(), k -> FunctionGraphTrace.parse(run.lines()));
            CallPathSpec.Section section = spec.section(p.letter());
            List<Resolved> hops = new ArrayList<>();
            Set<String> pathNames = new LinkedHashSet<>(p.alsoShown());
            for (Hop h : section.hops()) {
                Optional<ReferenceFunctions.Function> cr = h.caller().flatMap(f -> CallPathSpec.resolve(f, ref));
                Optional<ReferenceFunctions.Function> ce = h.callee().flatMap(f -> CallPathSpec.resolve(f, ref));
                // by the hop's name: paging32_fetch resolves to the template's row FNAME(fetch)
                Resolved r = new Resolved(h, cr, ce,
                        cr.map(f -> byFunction.get(f.file() + ":" + h.caller().get().name())),
                        ce.map(f -> byFunction.get(f.file() + ":" + h.callee().get().name())));
                hops.add(r);
                h.caller().ifPresent(f -> pathNames.add(f.name()));
                h.callee().ifPresent(f -> pathNames.add(f.name()));
            }
            Map<String, String> status = new HashMap<>();
            for (Resolved r : hops) {
                if (!r.hop().isCall() || !r.mirrored()) continue;
                String from = r.hop().caller().get().name(), to = r.hop().callee().get().name();
                boolean direct = trace.hasChain(from, to);
                boolean through = direct || trace.hasPath(from, to);
                String reason = NOT_TAKEN.get(r.hop().id());
                if (direct) status.put(r.hop().id(), "called directly");
                else if (through) status.put(r.hop().id(), "called through " + between(trace, from, to));
                else if (reason != null) status.put(r.hop().id(), "not taken in this run: " + reason);
                else errors.add(r.hop().id() + " " + from + " -> " + to + ": " + trace.explain(true, from, to));
                if (through) checked++;
            }
            List<Item> roots = p.roots().apply(trace);
            if (roots.isEmpty())
                errors.add("section " + p.letter() + ": the trace has no tree for this page (" + p.title() + ")");
            TraceExcerpt.Selection sel = new TraceExcerpt.Selection(pathNames, p.directOnly(), 3);
            List<TraceExcerpt.Node> forest = TraceExcerpt.prune(roots, sel);
            String svg = TraceSvg.draw(p.title(), forest, link);
            svgs.put(p.slug(), svg);
            pages.put(p.slug(), page(p, section, hops, status, forest, svg, run));
        }
        return new Generated(pages, svgs, checked, errors);
    }

    /** The traced functions between {@code from} and {@code to} on the first such path, for the status column. */
    static String between(FunctionGraphTrace t, String from, String to) {
        for (Call c : t.callsOf(from))
            for (Call d : c.descendantsAndSelf()) {
                if (d == c || !d.function().equals(to)) continue;
                List<String> mid = new ArrayList<>();
                for (Optional<Call> p = d.parent(); p.isPresent() && p.get() != c; p = p.get().parent()) mid.add(0, p.get().function());
                return String.join(" \u2192 ", mid);
            }
        return "other calls";
    }

    static String page(Page p, CallPathSpec.Section section, List<Resolved> hops, Map<String, String> status,
                       List<TraceExcerpt.Node> forest, String svg, Traced run) {
        String source = run.source();
        StringBuilder sb = new StringBuilder();
        sb.append("= ").append(p.title()).append("\n:webfonts!:\n\n");
        sb.append(p.intro()).append("\n\n");
        sb.append("This page is generated by the docs build from ").append(source)
                .append(", traced with `FunctionGraph` and `Ftrace`. The hops are those of section ").append(p.letter())
                .append(") of the project's call-path reference (`call_paths.md`").append(p.letter().compareTo("e") >= 0
                        ? ", continued for the MMU in `docs/src/main/resources/kvmkmod/docs/mmu_paths.md`" : "")
                .append("), with the C lines of Linux {linux-version}. ")
                .append("A hop whose two functions both have a Java mirror must appear in the trace, or the build fails.\n\n");

        sb.append("== Hops\n\n");
        sb.append("[cols=\"2,6,5,3,4,4\",options=\"header\"]\n|===\n");
        sb.append("| # | caller \u2192 callee | Java (callee) | call site | callee defined at | in this run\n");
        for (Resolved r : hops) {
            Hop h = r.hop();
            sb.append("| ").append(h.id()).append('\n');
            if (h.isCall()) {
                sb.append("| pass:[").append(cName(h.caller().get(), r.caller(), r.callerJava())).append(" &#8594; ")
                        .append(cName(h.callee().get(), r.callee(), r.calleeJava())).append("]\n");
                sb.append("| ").append(r.calleeJava().map(m -> "pass:[<a href=\"xref.html#"
                        + CrossReference.html(CrossReference.functionAnchor(m.origin().file(), m.cFunction())) + "\"><code>"
                        + CrossReference.html(m.javaName()) + "</code></a>]").orElse("")).append('\n');
                sb.append("| ").append(CrossReference.text(h.callSite())).append('\n');
                sb.append("| ").append(r.callee().map(f -> CrossReference.mono(f.file() + ":" + f.line()))
                        .orElse(h.callee().get().located() ? CrossReference.mono(h.callee().get().file() + ":" + h.callee().get().line()) : "")).append('\n');
                String st = status.get(h.id());
                if (st == null) st = !r.mirrored() ? "not mirrored in Java yet" : "";
                sb.append("| ").append(CrossReference.text(st)).append('\n');
            } else {
                sb.append("2+| ").append(CrossReference.text(h.hopText())).append('\n');
                sb.append("| ").append(CrossReference.text(h.callSite())).append('\n');
                sb.append("2+| ").append(CrossReference.text(h.notes())).append('\n');
            }
        }
        sb.append("|===\n\n");
        sb.append("The conditions and details of each hop are in the reference; the C names link to the function's row of the ")
                .append("xref:xref.adoc[cross-reference], where the Java method and its source line are.\n\n");

        sb.append("== Diagram\n\n");
        sb.append("Drawn by the docs build from the trace below: a box per call, in the order the calls were made, ")
                .append("with an arrow from each caller; the time each call took follows its box. ")
                .append("Filled boxes are the functions of this path; flags mark the tracepoints that fired ")
                .append("(`kvm_exit` for a VM exit, `kvm_pio` for port I/O, `vmm_exit` where `KVM_RUN` returned to the VMM). ")
                .append("A box links to the function in the cross-reference. Calls that lead to none of the path's functions are folded into grey lines.\n\n");
        sb.append("++++\n<div class=\"callpath-svg\">\n").append(svg).append("</div>\n++++\n\n");
        sb.append("The same drawing as a file: link:").append(p.slug()).append(".svg[").append(p.slug()).append(".svg].\n\n");

        sb.append("== Trace excerpt\n\n");
        sb.append("The trace of the run, pruned the same way (").append(TraceExcerpt.calls(forest))
                .append(" calls shown; `\u22ee` lines count the calls folded). The whole trace of the run, ")
                .append(run.lines().size()).append(" lines, is link:").append(run.traceFile()).append("[")
                .append(run.traceFile()).append("].\n\n");
        sb.append("[listing]\n....\n");
        for (String h : kvmkmod.include.trace.Ftrace.HEADER) sb.append(h).append('\n');
        for (String l : TraceExcerpt.text(forest)) sb.append(l).append('\n');
        sb.append("....\n");
        if (run.mmuView() != null) {
            sb.append("\n== The MMU after the run\n\n");
            sb.append("What `kvm-run --mmu-view text` prints for this run, made by the docs build with the VMM's `MmuView` ")
                    .append("after the guest's last `KVM_RUN`: the tables the processor walks for the vCPU, from the root down, ")
                    .append("one line per present entry (level and index, the guest address it covers, the host-physical page or ")
                    .append("table it points at, its permissions, and for a table the guest frame it shadows).\n\n");
            sb.append("[listing]\n....\n").append(run.mmuView()).append(run.mmuView().endsWith("\n") ? "" : "\n").append("....\n");
        }
        return sb.toString();
    }

    private static String cName(CFunction f, Optional<ReferenceFunctions.Function> row, Optional<Mirror> java) {
        String name = CrossReference.html(f.name());
        if (java.isPresent() && row.isPresent())
            return "<a href=\"xref.html#" + CrossReference.html(CrossReference.functionAnchor(row.get().file(), f.name())) + "\"><code>" + name + "</code></a>";
        return "<code>" + name + "</code>";
    }

    /** {@code _call-paths.adoc}, included by the index: the four pages, or why this build has none. */
    static void writeIndexFragment(Path out, String guest, String unavailable) throws IOException {
        StringBuilder sb = new StringBuilder();
        if (unavailable == null) {
            sb.append("Each of these pages is generated from a traced run on the soft CPU (of the bundled guest `").append(guest)
                    .append("`, and for the MMU pages of the paging guest `").append(MMU_GUEST).append("` with and without EPT), ")
                    .append("with the hop table of the call-path reference, a diagram drawn from the trace ")
                    .append("and the trace itself:\n\n");
            for (Page p : PAGES) sb.append("* xref:").append(p.slug()).append(".adoc[").append(p.title()).append("]\n");
            sb.append('\n');
        } else {
            sb.append("The call-path pages (module load, `KVM_RUN`, guest port I/O, `KVM_CREATE_VCPU`, EPT violation, shadow paging) are generated from traced runs ")
                    .append("of a bundled guest through the Java module. This build could not make that run, so it has none: ")
                    .append(CrossReference.text(unavailable)).append("\n\n");
        }
        Files.writeString(out.resolve("_call-paths.adoc"), sb.toString(), StandardCharsets.UTF_8);
        // {page-SLUG}: a link to the page when it exists, its title in words when this build has none
        StringBuilder links = new StringBuilder("// generated by CallPathPages\n");
        for (Page p : PAGES)
            links.append(":page-").append(p.slug()).append(": ").append(unavailable == null
                    ? "xref:" + p.slug() + ".adoc[" + p.title() + "]"
                    : "\u201c" + p.title() + "\u201d (generated from a traced run, which this build could not make)").append('\n');
        Files.writeString(out.resolve("_page-links.adoc"), links.toString(), StandardCharsets.UTF_8);
    }

    // ---- choosing the trees a page shows ----

    static List<Item> firstRoot(FunctionGraphTrace t, String function, java.util.function.Predicate<Call> which) {
        for (Call c : t.roots()) if (c.function().equals(function) && which.test(c)) return List.of(c);
        return List.of();
    }

    /** The first call of {@code function} anywhere in the trace that {@code which} accepts. */
    static List<Item> firstCall(FunctionGraphTrace t, String function, java.util.function.Predicate<Call> which) {
        for (Call c : t.callsOf(function)) if (which.test(c)) return List.of(c);
        return List.of();
    }

    /** Whether {@code c}'s subtree holds a call of {@code from} that itself calls {@code to} directly. */
    static boolean has(Call c, String from, String to) {
        return c.descendantsAndSelf().stream().anyMatch(d -> d.function().equals(from) && d.childNames().contains(to));
    }

    @SafeVarargs
    static List<Item> join(List<Item>... parts) {
        List<Item> r = new ArrayList<>();
        for (List<Item> p : parts) r.addAll(p);
        return r;
    }

    /**
     * The first KVM_RUN in which handle_io reached kernel_pio, the events after it (the VMM's exit) and
     * the next KVM_RUN, which completes the I/O.
     */
    static List<Item> ioRoots(FunctionGraphTrace t) {
        List<Item> top = t.items();
        for (int i = 0; i < top.size(); i++) {
            if (!(top.get(i) instanceof Call c) || !c.function().equals("kvm_vcpu_ioctl")) continue;
            boolean io = c.descendantsAndSelf().stream().anyMatch(d -> d.function().equals("kvm_emulate_pio")
                    && d.childNames().contains("kernel_pio"));
            if (!io) continue;
            List<Item> r = new ArrayList<>();
            r.add(c);
            for (int j = i + 1; j < top.size(); j++) {
                r.add(top.get(j));
                if (top.get(j) instanceof Call) break;
            }
            return r;
        }
        return List.of();
    }
}
