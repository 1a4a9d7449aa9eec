package kvmkmod.emulator;

import kvmkmod.include.KvmSegment;
import kvmkmod.include.KvmVcpu;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The x86.c / vendor side of the emulator boundary for the tests: segment state, MSRs, control
 * registers and a log of the calls that have effects outside the emulator (port I/O, exceptions,
 * descriptor-table loads). It keeps state the way x86.c would, without deciding anything for the emulator.
 */
final class FakeX86 implements EmulatorVcpuOps {
    final KvmSegment[] seg = new KvmSegment[8];
    int cpl;
    int interrupt_shadow;
    final Map<Integer, Long> msrs = new HashMap<>();
    final List<String> log = new ArrayList<>();
    long cr0, cr2, cr3, cr4, cr8;
    long rflagsAfterCr;
    int pioResult;
    int pioStringResult = 1;

    FakeX86() {
        for (int i = 0; i < seg.length; i++) seg[i] = new KvmSegment();
    }

    @Override public long get_segment_base(KvmVcpu vcpu, int s) { return seg[s].base; }
    @Override public void get_segment(KvmVcpu vcpu, KvmSegment var, int s) { var.copyFrom(seg[s]); }
    @Override public void set_segment(KvmVcpu vcpu, KvmSegment var, int s) { seg[s].copyFrom(var); log.add("set_segment " + s + " " + var.selector); }
    @Override public int get_cpl(KvmVcpu vcpu) { return cpl; }
    @Override public int get_msr(KvmVcpu vcpu, int msr_index, long[] pdata) {
        Long v = msrs.get(msr_index);
        if (v == null) return 1;
        pdata[0] = v;
        return 0;
    }
    @Override public int get_interrupt_shadow(KvmVcpu vcpu, int mask) { return interrupt_shadow & mask; }
    @Override public void kvm_get_segment(KvmVcpu vcpu, KvmSegment var, int s) { var.copyFrom(seg[s]); }
    @Override public int kvm_load_segment_descriptor(KvmVcpu vcpu, int selector, int type_bits, int s) {
        log.add(String.format("load_seg %d %x type %d", s, selector, type_bits));
        // Real-mode style: base = selector * 16.
        seg[s].selector = selector;
        seg[s].base = (long) selector << 4;
        return 0;
    }
    @Override public void kvm_queue_exception(KvmVcpu vcpu, int nr) { log.add("exception " + nr); }
    @Override public void kvm_inject_gp(KvmVcpu vcpu, int error_code) { log.add("#GP " + error_code); }
    @Override public int kvm_set_msr(KvmVcpu vcpu, int msr_index, long data) {
        if (msr_index == 0xdead) return 1;
        msrs.put(msr_index, data);
        return 0;
    }
    @Override public int kvm_get_msr(KvmVcpu vcpu, int msr_index, long[] pdata) { return get_msr(vcpu, msr_index, pdata); }
    @Override public int kvm_emulate_pio(KvmVcpu vcpu, int in, int size, int port) {
        log.add(String.format("pio %s size %d port %x", in != 0 ? "in" : "out", size, port));
        return pioResult;
    }
    @Override public int kvm_emulate_pio_string(KvmVcpu vcpu, int in, int size, long count, int down, long address,
                                                int rep, int port) {
        log.add(String.format("pio_string %s size %d count %d down %d addr %x rep %d port %x", in != 0 ? "in" : "out",
                size, count, down, address, rep, port));
        return pioStringResult;
    }
    @Override public int kvm_fix_hypercall(KvmVcpu vcpu) { log.add("fix_hypercall"); return 0; }
    @Override public void realmode_lgdt(KvmVcpu vcpu, int limit, long base) { log.add(String.format("lgdt %x %x", limit, base)); }
    @Override public void realmode_lidt(KvmVcpu vcpu, int limit, long base) { log.add(String.format("lidt %x %x", limit, base)); }
    @Override public void realmode_lmsw(KvmVcpu vcpu, long msw, long[] rflags) {
        cr0 = (cr0 & ~0xfL) | (msw & 0xf) | (cr0 & 1);
        log.add(String.format("lmsw %x", msw));
    }
    @Override public long realmode_get_cr(KvmVcpu vcpu, int cr) {
        return switch (cr) { case 0 -> cr0; case 2 -> cr2; case 3 -> cr3; case 4 -> cr4; case 8 -> cr8; default -> 0; };
    }
    @Override public void realmode_set_cr(KvmVcpu vcpu, int cr, long val, long[] rflags) {
        switch (cr) { case 0 -> cr0 = val; case 2 -> cr2 = val; case 3 -> cr3 = val; case 4 -> cr4 = val; case 8 -> cr8 = val & 0xf; default -> { } }
        log.add(String.format("set_cr%d %x", cr, val));
    }
    @Override public int emulate_invlpg(KvmVcpu vcpu, long address) { log.add(String.format("invlpg %x", address)); return 0; }
    @Override public int emulate_clts(KvmVcpu vcpu) { cr0 &= ~8L; log.add("clts"); return 0; }
    @Override public int emulator_get_dr(X86EmulateCtxt ctxt, int dr, long[] dest) {
        if (dr > 3) return X86EmulateOps.X86EMUL_UNHANDLEABLE;
        dest[0] = 0x1000L * (dr + 1);
        return 0;
    }
    @Override public int emulator_set_dr(X86EmulateCtxt ctxt, int dr, long value) { log.add(String.format("set_dr%d %x", dr, value)); return 0; }
    @Override public void kvm_report_emulation_failure(KvmVcpu vcpu, String context) { log.add("failure: " + context); }
}
