package kvmkmod.vmm;

import kvmkmod.include.KvmRegs;

/** An immutable copy of struct kvm_regs, comparable with equals (for tests and differential runs). */
public record Registers(long rax, long rbx, long rcx, long rdx, long rsi, long rdi, long rsp, long rbp,
                        long r8, long r9, long r10, long r11, long r12, long r13, long r14, long r15,
                        long rip, long rflags) {

    public static Registers of(KvmRegs r) {
        return new Registers(r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rsp, r.rbp,
                r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15, r.rip, r.rflags);
    }

    @Override public String toString() {
        return String.format("rax=%x rbx=%x rcx=%x rdx=%x rsi=%x rdi=%x rsp=%x rbp=%x r8=%x r9=%x r10=%x r11=%x "
                        + "r12=%x r13=%x r14=%x r15=%x rip=%x rflags=%x", rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp,
                r8, r9, r10, r11, r12, r13, r14, r15, rip, rflags);
    }
}
