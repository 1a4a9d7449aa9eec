package kvmkmod.emulator;

import kvmkmod.include.KvmVcpu;

import java.util.ArrayList;
import java.util.List;

/**
 * Guest memory for the tests: linear address = offset in a byte array (no paging), the role x86.c's
 * kvm_read_guest_virt / emulator_*_emulated play for a real guest. Accesses outside the array fault.
 * Every emulated write is recorded, as x86.c would turn it into an MMIO exit.
 */
final class FlatGuest implements X86EmulateOps {
    final byte[] mem;
    final List<String> writes = new ArrayList<>();
    int emulatedReads;

    FlatGuest(int size) { mem = new byte[size]; }

    private boolean inRange(long addr, int bytes) { return addr >= 0 && addr + bytes <= mem.length; }

    @Override public int read_std(long addr, byte[] val, int bytes, KvmVcpu vcpu) {
        if (!inRange(addr, bytes)) return X86EMUL_PROPAGATE_FAULT;
        System.arraycopy(mem, (int) addr, val, 0, bytes);
        return X86EMUL_CONTINUE;
    }

    @Override public int read_emulated(long addr, byte[] val, int bytes, KvmVcpu vcpu) {
        emulatedReads++;
        return read_std(addr, val, bytes, vcpu);
    }

    @Override public int write_emulated(long addr, byte[] val, int bytes, KvmVcpu vcpu) {
        if (!inRange(addr, bytes)) return X86EMUL_PROPAGATE_FAULT;
        System.arraycopy(val, 0, mem, (int) addr, bytes);
        writes.add(String.format("%x/%d", addr, bytes));
        return X86EMUL_CONTINUE;
    }

    @Override public int cmpxchg_emulated(long addr, byte[] old, byte[] new_, int bytes, KvmVcpu vcpu) {
        // As x86.c's emulator_cmpxchg_emulated in 2.6.33: a plain write.
        return write_emulated(addr, new_, bytes, vcpu);
    }

    void put(long addr, int... bytes) { for (int i = 0; i < bytes.length; i++) mem[(int) addr + i] = (byte) bytes[i]; }

    long get(long addr, int bytes) {
        long v = 0;
        for (int i = bytes - 1; i >= 0; i--) v = (v << 8) | (mem[(int) addr + i] & 0xff);
        return v;
    }

    void set(long addr, int bytes, long v) { for (int i = 0; i < bytes; i++) mem[(int) addr + i] = (byte) (v >>> (8 * i)); }
}
