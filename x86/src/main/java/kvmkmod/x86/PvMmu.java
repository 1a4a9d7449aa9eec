package kvmkmod.x86;

import kvmkmod.include.KvmVcpu;
import kvmkmod.include.Origin;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import static kvmkmod.include.Errno.EFAULT;

/**
 * The paravirtual MMU operations of mmu.c (mmu.c:3036-3152), reached through the KVM_HC_MMU_OP hypercall:
 * the guest hands a batch of records (write a PTE, flush the TLB, release a page table) in its memory.
 * 2.6.33 answers KVM_CAP_PV_MMU with 0 but still serves the hypercall, so a guest that uses it gets the
 * work done. Kept apart from {@link Mmu} so the shadow-MMU file reads as mmu.c's core does.
 */
final class PvMmu {
    private final X86 x86;

    PvMmu(X86 x86) { this.x86 = x86; }

    /** asm/kvm_para.h: the operation codes and the size of the per-vCPU batch buffer (kvm_host.h). */
    static final int KVM_MMU_OP_WRITE_PTE = 1, KVM_MMU_OP_FLUSH_TLB = 2, KVM_MMU_OP_RELEASE_PT = 3;
    static final int MMU_OP_BUFFER_SIZE = 512;
    /** struct kvm_mmu_op_header is op and pad; the three records are header + 16, header, header + 8 bytes. */
    static final int HEADER = 8, WRITE_PTE = HEADER + 16, FLUSH_TLB = HEADER, RELEASE_PT = HEADER + 8;

    /** struct kvm_pv_mmu_op_buffer: the copied batch, a read position, bytes left and bytes consumed. */
    static final class Buffer {
        final ByteBuffer buf = ByteBuffer.allocate(MMU_OP_BUFFER_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        int ptr, len;
        long processed;
    }

    /** The position of {@code len} unread bytes, or -1 (NULL) when fewer are left. */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 3036)
    static int pv_mmu_peek_buffer(Buffer buffer, int len) {
        if (len > buffer.len) return -1;
        return buffer.ptr;
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 3044)
    static int pv_mmu_read_buffer(Buffer buffer, int len) {
        int ret = pv_mmu_peek_buffer(buffer, len);
        if (ret < 0) return ret;
        buffer.ptr += len;
        buffer.len -= len;
        buffer.processed += len;
        return ret;
    }

    /** A PTE is 4 bytes without PAE, 8 with it or in long mode. */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 3058)
    int kvm_pv_mmu_write(KvmVcpu vcpu, long addr, long value) {
        int bytes = 8;
        if (!X86.is_long_mode(vcpu) && !X86.is_pae(vcpu)) bytes = 4;

        int r = x86.mmu.mmu_topup_memory_caches(vcpu);
        if (r != 0) return r;

        byte[] v = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, value).array();
        // emulator_write_phys answers 1 on success (x86.c:3041)
        if (x86.emulator_write_phys(vcpu, addr, v, 0, bytes) == 0) return -EFAULT;
        return 1;
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 3077)
    int kvm_pv_mmu_flush_tlb(KvmVcpu vcpu) {
        x86.kvm_set_cr3(vcpu, vcpu.arch.cr3);
        return 1;
    }

    @Origin(file = "arch/x86/kvm/mmu.c", line = 3083)
    int kvm_pv_mmu_release_pt(KvmVcpu vcpu, long addr) {
        synchronized (vcpu.kvm.mmu_lock) {
            x86.mmu.mmu_unshadow(vcpu.kvm, addr >>> kvmkmod.hw.HostMemory.PAGE_SHIFT);
        }
        return 1;
    }

    /** One record: 1 when done, 0 to stop (short or unknown record), negative on error. */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 3091)
    int kvm_pv_mmu_op_one(KvmVcpu vcpu, Buffer buffer) {
        int header = pv_mmu_peek_buffer(buffer, HEADER);
        if (header < 0) return 0;
        switch (buffer.buf.getInt(header)) {
            case KVM_MMU_OP_WRITE_PTE: {
                int wpte = pv_mmu_read_buffer(buffer, WRITE_PTE);
                if (wpte < 0) return 0;
                return kvm_pv_mmu_write(vcpu, buffer.buf.getLong(wpte + HEADER), buffer.buf.getLong(wpte + HEADER + 8));
            }
            case KVM_MMU_OP_FLUSH_TLB: {
                int ftlb = pv_mmu_read_buffer(buffer, FLUSH_TLB);
                if (ftlb < 0) return 0;
                return kvm_pv_mmu_flush_tlb(vcpu);
            }
            case KVM_MMU_OP_RELEASE_PT: {
                int rpt = pv_mmu_read_buffer(buffer, RELEASE_PT);
                if (rpt < 0) return 0;
                return kvm_pv_mmu_release_pt(vcpu, buffer.buf.getLong(rpt + HEADER));
            }
            default:
                return 0;
        }
    }

    /** Runs up to 512 bytes of records from guest-physical {@code addr}; ret[0] = bytes consumed. */
    @Origin(file = "arch/x86/kvm/mmu.c", line = 3129)
    int kvm_pv_mmu_op(KvmVcpu vcpu, long bytes, long addr, long[] ret) {
        int r;
        Buffer buffer = vcpu.arch.mmu_op_buffer instanceof Buffer b ? b : new Buffer();
        vcpu.arch.mmu_op_buffer = buffer;

        buffer.ptr = 0;
        // min_t(unsigned long, ...): a "negative" byte count is a huge one
        buffer.len = Long.compareUnsigned(bytes, MMU_OP_BUFFER_SIZE) < 0 ? (int) bytes : MMU_OP_BUFFER_SIZE;
        buffer.processed = 0;

        r = x86.kvm_main.kvm_read_guest(vcpu.kvm, addr, buffer.buf.array(), 0, buffer.len);
        if (r == 0) {
            while (buffer.len != 0) {
                r = kvm_pv_mmu_op_one(vcpu, buffer);
                if (r <= 0) break;
            }
            if (r >= 0) r = 1;
        }
        ret[0] = buffer.processed;
        return r;
    }
}
