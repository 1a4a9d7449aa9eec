package kvmkmod.emulator;

import kvmkmod.include.KvmVcpu;

import static kvmkmod.include.KvmVcpuArch.VCPU_REGS_RIP;

/** A vCPU, its guest memory and the emulator, for running one instruction at a time. */
final class Machine {
    static final int CODE = 0x1000;

    final FlatGuest mem = new FlatGuest(0x100000);
    final FakeX86 x86 = new FakeX86();
    final Emulate emulate = new Emulate(x86);
    final KvmVcpu vcpu = new KvmVcpu();
    final X86EmulateCtxt ctxt = new X86EmulateCtxt();
    final long[] regs = vcpu.arch.regs;
    int mode;
    long rflags = 0x2;
    int lastDecode;

    Machine(int mode) {
        this.mode = mode;
        if (mode == X86EmulateCtxt.X86EMUL_MODE_PROT64) vcpu.arch.shadow_efer = 0x500;
        if (mode != X86EmulateCtxt.X86EMUL_MODE_REAL) vcpu.arch.cr0 = 1;
        regs[VCPU_REGS_RIP] = CODE;
    }

    Machine code(int... bytes) {
        mem.put(CODE, bytes);
        regs[VCPU_REGS_RIP] = CODE;
        return this;
    }

    /** decode + emulate as x86.c's emulate_instruction calls them; the emulate result, or the decode's. */
    int step() {
        ctxt.vcpu = vcpu;
        ctxt.eflags = rflags;
        ctxt.mode = mode;
        lastDecode = emulate.x86_decode_insn(ctxt, mem);
        if (lastDecode != 0) return lastDecode;
        int r = emulate.x86_emulate_insn(ctxt, mem);
        if (r == 0) rflags = ctxt.eflags;
        return r;
    }

    /** Steps a REP instruction until RIP leaves it (each emulation does one iteration). */
    int run(int maxSteps) {
        long start = regs[VCPU_REGS_RIP];
        int r = 0;
        for (int i = 0; i < maxSteps && regs[VCPU_REGS_RIP] == start; i++) {
            r = step();
            if (r != 0) return r;
        }
        return r;
    }

    long rip() { return regs[VCPU_REGS_RIP]; }
}
