package kvmkmod.vmm;

import kvmkmod.hw.HostMemory;
import kvmkmod.include.Kvm;
import kvmkmod.include.KvmVcpu;
import kvmkmod.x86.Mmu;
import kvmkmod.x86.X86;

import java.util.ArrayList;
import java.util.List;

/**
 * The MMU view ({@code --mmu-view}): the tables the processor walks for a vCPU right now — the EPT tables
 * with EPT, the shadow page tables without — read from host memory from the root down. Each present entry
 * is one row: its level and index, the guest address range it covers (guest-physical with EPT,
 * guest-virtual for shadow tables), the host-physical address it points at, its permissions, and for a
 * table page the guest frame it shadows. As text, or as an SVG drawing of the same rows.
 */
public final class MmuView {
    /** One present entry of the walked tables. */
    public record Entry(int level, int index, long guestAddr, long entryHpa, long value, long targetHpa,
                        boolean leaf, String perms, String shadows) {}

    private MmuView() {}

    /** Every present entry below the vCPU's root, depth first, as the processor would meet them. */
    public static List<Entry> walk(X86 x86, KvmVcpu vcpu) {
        List<Entry> out = new ArrayList<>();
        Mmu mmu = x86.mmu;
        long root = vcpu.arch.mmu.root_hpa;
        if (!kvmkmod.include.KvmMmu.VALID_PAGE(root)) return out;
        HostMemory mem = x86.kvm_main.kernel.platform.memory();
        boolean ept = mmu.tdp_enabled;
        synchronized (vcpu.kvm.mmu_lock) {
            int level = vcpu.arch.mmu.shadow_root_level;
            if (level == Mmu.PT32E_ROOT_LEVEL) {
                for (int i = 0; i < 4; i++) {
                    long e = mem.read64(root + 8L * i);
                    if ((e & 1) == 0 || e == -1L || !mmu.shadowPresent(e)) continue;
                    long t = e & Mmu.PT64_BASE_ADDR_MASK;
                    out.add(new Entry(3, i, (long) i << 30, root + 8L * i, e, t, false, "p", shadows(mmu, t)));
                    table(mmu, mem, t, 2, (long) i << 30, ept, out);
                }
            } else {
                table(mmu, mem, root, level, 0, ept, out);
            }
        }
        return out;
    }

    private static void table(Mmu mmu, HostMemory mem, long table, int level, long base, boolean ept, List<Entry> out) {
        for (int i = 0; i < 512; i++) {
            long ea = table + 8L * i;
            long e = mem.read64(ea);
            boolean present = ept ? (e & 7) != 0 : (e & 1) != 0;
            if (!present || !mmu.shadowPresent(e)) continue;
            long addr = base + ((long) i << (12 + 9 * (level - 1)));
            if (level == 4 && addr >= 1L << 47) addr |= 0xffff000000000000L; // canonical upper half
            long t = e & Mmu.PT64_BASE_ADDR_MASK;
            boolean leaf = level == 1 || (e & Mmu.PT_PAGE_SIZE_MASK) != 0;
            out.add(new Entry(level, i, addr, ea, e, t, leaf, perms(e, ept), leaf ? "" : shadows(mmu, t)));
            if (!leaf) table(mmu, mem, t, level - 1, addr, ept, out);
        }
    }

    private static String perms(long e, boolean ept) {
        if (ept) return ((e & 1) != 0 ? "r" : "-") + ((e & 2) != 0 ? "w" : "-") + ((e & 4) != 0 ? "x" : "-");
        return "r" + ((e & 2) != 0 ? "w" : "-") + ((e & Mmu.PT64_NX_MASK) == 0 ? "x" : "-") + ((e & 4) != 0 ? "u" : "s");
    }

    private static String shadows(Mmu mmu, long tableHpa) {
        Mmu.KvmMmuPage sp = mmu.page_header(tableHpa);
        if (sp == null) return "";
        return (sp.direct() ? "direct gfn " : "guest table gfn ") + "0x" + Long.toHexString(sp.gfn)
                + (sp.unsync ? " unsync" : "");
    }

    /** The rows as text, indented by level. */
    public static String text(Kvm kvm, KvmVcpu vcpu, X86 x86) {
        boolean ept = x86.mmu.tdp_enabled;
        StringBuilder sb = new StringBuilder();
        String root = x86.mmu.page_header(vcpu.arch.mmu.root_hpa) == null ? "" : " " + shadows(x86.mmu, vcpu.arch.mmu.root_hpa);
        sb.append(String.format("MMU of vcpu %d: %s, root hpa 0x%x (level %d%s), guest cr3 0x%x, %d table pages%n",
                vcpu.vcpu_id, ept ? "EPT (tdp)" : "shadow paging", vcpu.arch.mmu.root_hpa,
                vcpu.arch.mmu.shadow_root_level, root, vcpu.arch.cr3, Mmu.activePages(kvm).size()));
        String what = ept ? "gpa" : "gva";
        for (Entry e : walk(x86, vcpu)) {
            sb.append("  ".repeat(Math.max(0, 4 - e.level())));
            sb.append(String.format("L%d[%3d] %s 0x%x -> %s 0x%x %s%s%n", e.level(), e.index(), what, e.guestAddr(),
                    e.leaf() ? "page hpa" : "table hpa", e.targetHpa(), e.perms(),
                    e.shadows().isEmpty() ? "" : " (" + e.shadows() + ")"));
        }
        return sb.toString();
    }

    /** The same rows drawn as an SVG tree: one box per entry, indented by level. */
    public static String svg(Kvm kvm, KvmVcpu vcpu, X86 x86) {
        List<Entry> rows = walk(x86, vcpu);
        int h = 40 + 22 * rows.size();
        StringBuilder sb = new StringBuilder();
        sb.append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"900\" height=\"").append(h)
          .append("\" font-family=\"monospace\" font-size=\"12\">\n");
        sb.append("<text x=\"10\" y=\"20\">").append(esc(text(kvm, vcpu, x86).lines().findFirst().orElse(""))).append("</text>\n");
        int y = 40;
        for (Entry e : rows) {
            int x = 10 + 40 * (4 - e.level());
            String fill = e.leaf() ? (e.perms().contains("w") ? "#cfe8cf" : "#f3e3c3") : "#d6e2f5";
            sb.append(String.format("<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"18\" fill=\"%s\" stroke=\"#555\"/>%n",
                    x, y - 13, 880 - x, fill));
            sb.append(String.format("<text x=\"%d\" y=\"%d\">%s</text>%n", x + 4, y,
                    esc(String.format("L%d[%d] 0x%x -> 0x%x %s %s", e.level(), e.index(), e.guestAddr(), e.targetHpa(),
                            e.perms(), e.shadows()))));
            y += 22;
        }
        return sb.append("</svg>\n").toString();
    }

    private static String esc(String s) { return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"); }

    /** The first vCPU of the first VM of a Java kernel, with its x86 module, or null when there is none. */
    public static String render(JavaSys sys, boolean asSvg) {
        X86 x86 = (X86) sys.module().kvm_main().arch;
        for (Kvm kvm : sys.module().kvm_main().vms()) {
            for (KvmVcpu v : kvm.vcpus) {
                if (v != null) return asSvg ? svg(kvm, v, x86) : text(kvm, v, x86);
            }
        }
        return null;
    }
}
