package kvmkmod.include;

import java.nio.ByteBuffer;

/** struct kvm_regs (asm/kvm.h): 18 quadwords, 144 bytes, the layout KVM_GET_REGS/KVM_SET_REGS copy. */
public final class KvmRegs {
    public static final int SIZE = 144;

    public long rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
    public long r8, r9, r10, r11, r12, r13, r14, r15;
    public long rip, rflags;

    public KvmRegs read(ByteBuffer b, int off) {
        rax = b.getLong(off); rbx = b.getLong(off + 8); rcx = b.getLong(off + 16); rdx = b.getLong(off + 24);
        rsi = b.getLong(off + 32); rdi = b.getLong(off + 40); rsp = b.getLong(off + 48); rbp = b.getLong(off + 56);
        r8 = b.getLong(off + 64); r9 = b.getLong(off + 72); r10 = b.getLong(off + 80); r11 = b.getLong(off + 88);
        r12 = b.getLong(off + 96); r13 = b.getLong(off + 104); r14 = b.getLong(off + 112); r15 = b.getLong(off + 120);
        rip = b.getLong(off + 128); rflags = b.getLong(off + 136);
        return this;
    }

    public void write(ByteBuffer b, int off) {
        b.putLong(off, rax); b.putLong(off + 8, rbx); b.putLong(off + 16, rcx); b.putLong(off + 24, rdx);
        b.putLong(off + 32, rsi); b.putLong(off + 40, rdi); b.putLong(off + 48, rsp); b.putLong(off + 56, rbp);
        b.putLong(off + 64, r8); b.putLong(off + 72, r9); b.putLong(off + 80, r10); b.putLong(off + 88, r11);
        b.putLong(off + 96, r12); b.putLong(off + 104, r13); b.putLong(off + 112, r14); b.putLong(off + 120, r15);
        b.putLong(off + 128, rip); b.putLong(off + 136, rflags);
    }

    @Override public String toString() {
        return String.format("rax=%x rbx=%x rcx=%x rdx=%x rsi=%x rdi=%x rsp=%x rbp=%x rip=%x rflags=%x",
                rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp, rip, rflags);
    }
}
