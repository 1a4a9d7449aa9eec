package kvmkmod.docs.labs;

import java.lang.reflect.Method;
import java.util.List;
import java.util.Optional;
import kvmkmod.include.trace.FunctionGraphTrace;
import kvmkmod.include.trace.FunctionGraphTrace.Call;
import kvmkmod.vmx.KvmIntel;

/**
 * Lab 7: shadow paging. The paging guest {@code shadow-pt} runs with {@code ept=0}; the student finds in the
 * trace (or the debugger) where KVM write-protects a guest page table, where the guest's write to one comes
 * back, and what the MMU does with it (answers.properties). Then {@code lab7.Setup.configure} chooses
 * kvm-intel's parameters so that every guest page-table write, the leaf table's too, is emulated and passed
 * to kvm_mmu_pte_write instead of letting the shadow page go out of sync.
 */
public final class Lab7ShadowPaging extends Lab {
    static final String CLASS = "lab7.Setup";
    static final String GUEST = "shadow-pt";
    static final String OUTPUT = "11111111\n11111111\n22222222\n";
    /** The entry of the guest's leaf table PT1 (at 0x12000) that step 4 of the guest writes. */
    static final long LEAF_ENTRY = 0x12004;

    @Override public int number() { return 7; }

    @Override public String title() { return "Shadow paging: write-protected guest page tables"; }

    // ---- part 1: the questions, answered from a run with ept=0 and the default oos_shadow=1 ----

    /** The facts the questions ask for, read off one traced run. */
    record Facts(String exitReason, String faultHandler, String writeProtect, long writeAddress, String emulatedWrite,
                 String pteWrite, int zapped, String unsync) {}

    private static Facts facts;

    static synchronized Facts facts() {
        if (facts == null) {
            KvmIntel.Params p = new KvmIntel.Params();
            p.enable_ept = false;
            facts = measure(new LabMachine().params(p).runDocsGuest(GUEST).trace());
        }
        return facts;
    }

    static Facts measure(FunctionGraphTrace t) {
        String reason = "", handler = "", emulated = "", pteWrite = "", protect = "", unsync = "";
        long address = -1;
        int zapped = -1;
        // the exit in which the emulator's store reached the MMU
        for (Call exit : t.callsOf("vmx_handle_exit")) {
            Optional<Call> write = exit.descendantsAndSelf().stream().filter(d -> d.function().equals("kvm_mmu_pte_write")).findFirst();
            if (write.isEmpty()) continue;
            for (var e : exit.events()) if (e.name().equals("kvm_exit")) reason = Lab1Trace.reason(e.text());
            for (Call d : exit.descendantsAndSelf()) {
                if (d.function().equals("kvm_mmu_page_fault") && !d.childNames().isEmpty() && handler.isEmpty())
                    handler = d.childNames().get(0);
                for (var e : d.events()) if (e.name().equals("kvm_page_fault") && address < 0) address = pageFaultAddress(e.text());
            }
            emulated = write.get().parent().map(Call::function).orElse("");
            pteWrite = write.get().function();
            zapped = (int) write.get().children().stream().filter(c -> c.function().equals("mmu_pte_write_zap_pte")).count();
            break;
        }
        // where a new shadow page of a guest table takes write access away from it
        for (Call get : t.callsOf("kvm_mmu_get_page"))
            if (get.parent().map(p -> p.function().startsWith("paging")).orElse(false) && get.childNames().contains("rmap_write_protect"))
                protect = "rmap_write_protect";
        for (Call c : t.callsOf("mmu_need_write_protect"))
            if (c.childNames().contains("kvm_unsync_page")) unsync = "kvm_unsync_page";
        return new Facts(reason, handler, protect, address, emulated, pteWrite, zapped, unsync);
    }

    /** "address 1000c error_code b" gives 0x1000c. */
    static long pageFaultAddress(String text) {
        String[] w = text.trim().split("\\s+");
        if (w.length < 2 || !w[0].equals("address")) return -1;
        try {
            return Long.parseUnsignedLong(w[1].replaceFirst("^0x", ""), 16);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static Check name(String key, String question, java.util.function.Function<Facts, String> truth) {
        return answerNames(key, question, () -> truth.apply(facts()));
    }

    private static Check number(String key, String question, java.util.function.ToLongFunction<Facts> truth) {
        return answerNumber(key, question, () -> truth.applyAsLong(facts()));
    }

    // ---- part 2: the module's parameters ----

    private record Outcome(LabMachine.Run run, Object enableEpt, Object oosShadow) {}

    private final java.util.Map<java.nio.file.Path, Outcome> runs = new java.util.HashMap<>();

    private synchronized Outcome run(Work w) throws Exception {
        Outcome o = runs.get(w.dir);
        if (o != null) return o;
        Method configure = w.load(CLASS).getMethod("configure", KvmIntel.Params.class);
        KvmIntel.Params params = new KvmIntel.Params();
        configure.invoke(null, params);
        Object[] seen = new Object[2];
        LabMachine.Run r = new LabMachine().params(params).beforeRun(vm -> {
            seen[0] = LabMachine.field(LabMachine.vmx(vm.module()), "enable_ept");
            kvmkmod.x86.X86 x86 = (kvmkmod.x86.X86) LabMachine.field(LabMachine.vmx(vm.module()), "x86");
            seen[1] = x86.mmu.oos_shadow;
        }).runDocsGuest(GUEST);
        o = new Outcome(r, seen[0], seen[1]);
        runs.put(w.dir, o);
        return o;
    }

    /** The guest addresses of the page faults whose exit ended in kvm_mmu_pte_write. */
    static List<Long> emulatedTableWrites(FunctionGraphTrace t) {
        List<Long> out = new java.util.ArrayList<>();
        for (Call exit : t.callsOf("vmx_handle_exit")) {
            boolean write = exit.descendantsAndSelf().stream().anyMatch(d -> d.function().equals("kvm_mmu_pte_write"));
            if (!write) continue;
            for (Call d : exit.descendantsAndSelf())
                for (var e : d.events()) if (e.name().equals("kvm_page_fault")) out.add(pageFaultAddress(e.text()));
        }
        return out;
    }

    @Override public List<Check> checks() {
        return List.of(
                name("exit_reason", "the exit reason of the guest's write to its page directory", Facts::exitReason),
                name("fault_handler", "the paging_tmpl.h instance kvm_mmu_page_fault calls", Facts::faultHandler),
                name("write_protect", "the mmu.c function that write-protects a newly shadowed guest table", Facts::writeProtect),
                number("write_address", "the guest address of the faulting page-directory write", Facts::writeAddress),
                name("emulated_write", "the x86.c function that stores the emulated write", Facts::emulatedWrite),
                name("pte_write_handler", "the mmu.c function told about the write", Facts::pteWrite),
                number("shadow_entries_zapped", "how many shadow entries that one guest write zapped", Facts::zapped),
                name("unsync_function", "what lets a leaf shadow page go out of sync instead", Facts::unsync),
                new Check("configure: the module runs without EPT", true, w -> {
                    Object e = run(w).enableEpt();
                    return Integer.valueOf(0).equals(e) ? null : "vmx.c's enable_ept is " + e + " after insmod: the MMU uses EPT, there is nothing to shadow";
                }),
                new Check("configure: the leaf-table write is emulated into kvm_mmu_pte_write", true, w -> {
                    List<Long> writes = emulatedTableWrites(run(w).run().trace());
                    return writes.contains(LEAF_ENTRY) ? null : String.format(
                            "the guest's write to its leaf table entry %#x never reached kvm_mmu_pte_write (emulated writes: %s)",
                            LEAF_ENTRY, writes.stream().map(a -> String.format("%#x", a)).toList());
                }),
                new Check("configure: no shadow page goes out of sync", true, w -> {
                    int n = run(w).run().trace().callsOf("kvm_unsync_page").size();
                    return n == 0 ? null : "kvm_unsync_page ran " + n + " time(s) (oos_shadow is " + run(w).oosShadow() + ")";
                }),
                new Check("configure: the guest prints its three values and halts", true, w -> {
                    LabMachine.Run r = run(w).run();
                    String out = printed(r.output(), OUTPUT);
                    return out != null ? out : endedAtHlt(r.result());
                }));
    }
}
