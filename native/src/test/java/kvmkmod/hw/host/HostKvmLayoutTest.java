package kvmkmod.hw.host;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;

import static kvmkmod.hw.host.HostKvm.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The kvm_run / kvm_regs / kvm_sregs offsets in HostKvm, checked against the running host with a tiny guest. */
class HostKvmLayoutTest {
    @BeforeEach
    void needKvm() { assumeTrue(HostKvm.usable(), HostKvm.whyNotUsable()); }

    @Test
    void syncRegsAndIoUnionSitWhereHostKvmSays() {
        int vm = HostKvm.createVm();
        Memory ram = new Memory(3 * 4096);
        Pointer page = ram.align(4096);
        page.setMemory(0, 8192, (byte) 0xf4);
        // mov ax,0x1111; mov bx,0x2222; mov cx,0x3333; mov si,0x4444; mov di,0x5555; mov bp,0x6666;
        // mov dx,0x1f0; out dx,ax; mov al,[0x1800]  (0x1000-0x1fff has no memslot: MMIO read)
        int[] code = {0xb8, 0x11, 0x11, 0xbb, 0x22, 0x22, 0xb9, 0x33, 0x33, 0xbe, 0x44, 0x44, 0xbf, 0x55, 0x55,
                0xbd, 0x66, 0x66, 0xba, 0xf0, 0x01, 0xef, 0xa0, 0x00, 0x18};
        for (int i = 0; i < code.length; i++) page.setByte(0x100 + i, (byte) code[i]);
        Memory scratch = new Memory(SIZEOF_KVM_SREGS);
        HostKvm.setUserMemoryRegion(vm, scratch, 0, 0, 0, 4096, Pointer.nativeValue(page));
        int vcpu = HostKvm.createVcpu(vm, 0);
        long runVa = HostKvm.mapRun(vcpu);
        try {
            ByteBuffer run = HostKvm.runBuffer(runVa);
            LibC.ioctl(vcpu, KVM_GET_SREGS, Pointer.nativeValue(scratch));
            assertThat(scratch.getLong(SREGS_APIC_BASE) & 0xfffff000L).isEqualTo(0xfee00000L);
            scratch.setLong(SREGS_CS + SEG_BASE, 0x0);
            scratch.setShort(SREGS_CS + SEG_SELECTOR, (short) 0);
            LibC.ioctl(vcpu, KVM_SET_SREGS, Pointer.nativeValue(scratch));
            // registers pushed through kvm_run.s.regs with kvm_dirty_regs, read back through s.regs
            LibC.ioctl(vcpu, KVM_GET_REGS, runVa + RUN_S_REGS);
            run.putLong(RUN_S_REGS + REGS_RIP, 0x100);
            run.putLong(RUN_S_REGS + REGS_RFLAGS, 2);
            run.putLong(RUN_S_REGS + REGS_RSP, 0xabc);
            run.putLong(RUN_VALID_REGS, KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS);
            run.putLong(RUN_DIRTY_REGS, KVM_SYNC_X86_REGS);
            LibC.ioctl(vcpu, KVM_RUN, 0);
            assertThat(run.getInt(RUN_EXIT_REASON)).isEqualTo(KVM_EXIT_IO);
            assertThat(run.get(RUN_IO_DIRECTION)).isEqualTo((byte) KVM_EXIT_IO_OUT);
            assertThat(run.get(RUN_IO_SIZE)).isEqualTo((byte) 2);
            assertThat(run.getShort(RUN_IO_PORT)).isEqualTo((short) 0x1f0);
            assertThat(run.getInt(RUN_IO_COUNT)).isEqualTo(1);
            assertThat(run.getShort((int) run.getLong(RUN_IO_DATA_OFFSET))).isEqualTo((short) 0x1111);
            assertThat(run.getLong(RUN_S_REGS + REGS_RAX)).isEqualTo(0x1111);
            assertThat(run.getLong(RUN_S_REGS + REGS_RBX)).isEqualTo(0x2222);
            assertThat(run.getLong(RUN_S_REGS + REGS_RCX)).isEqualTo(0x3333);
            assertThat(run.getLong(RUN_S_REGS + REGS_RDX)).isEqualTo(0x1f0);
            assertThat(run.getLong(RUN_S_REGS + REGS_RSI)).isEqualTo(0x4444);
            assertThat(run.getLong(RUN_S_REGS + REGS_RDI)).isEqualTo(0x5555);
            assertThat(run.getLong(RUN_S_REGS + REGS_RBP)).isEqualTo(0x6666);
            assertThat(run.getLong(RUN_S_REGS + REGS_RSP)).isEqualTo(0xabc);
            assertThat(run.getLong(RUN_S_SREGS + SREGS_CS + SEG_BASE)).isZero();
            assertThat(run.get(RUN_S_SREGS + SREGS_CS + SEG_TYPE)).isEqualTo((byte) 11);
            assertThat(run.get(RUN_S_SREGS + SREGS_CS + SEG_PRESENT)).isEqualTo((byte) 1);
            assertThat(run.getShort(RUN_S_SREGS + SREGS_DS + SEG_SELECTOR)).isZero();
            assertThat(run.getInt(RUN_S_SREGS + SREGS_DS + SEG_LIMIT)).isEqualTo(0xffff);
            assertThat(run.getLong(RUN_S_SREGS + SREGS_APIC_BASE) & 0xfffff000L).isEqualTo(0xfee00000L);
            LibC.ioctl(vcpu, KVM_RUN, 0);
            assertThat(run.getInt(RUN_EXIT_REASON)).isEqualTo(KVM_EXIT_MMIO);
            assertThat(run.getLong(RUN_MMIO_PHYS_ADDR)).isEqualTo(0x1800);
            assertThat(run.getInt(RUN_MMIO_LEN)).isEqualTo(1);
            assertThat(run.get(RUN_MMIO_IS_WRITE)).isZero();
            run.put(RUN_MMIO_DATA, (byte) 0x7e);
            LibC.ioctl(vcpu, KVM_RUN, 0);
            assertThat(run.getInt(RUN_EXIT_REASON)).isEqualTo(KVM_EXIT_HLT);
            assertThat(run.getLong(RUN_S_REGS + REGS_RAX)).isEqualTo(0x117e);
        } finally {
            LibC.munmap(runVa, HostKvm.vcpuMmapSize());
            LibC.close(vcpu);
            LibC.close(vm);
            ram.close();
        }
    }

    @Test
    void usableIsCachedAndExplained() {
        assertThat(HostKvm.usable()).isTrue();
        assertThat(HostKvm.whyNotUsable()).isEqualTo("usable");
        assertThat(HostKvm.vcpuMmapSize()).isGreaterThanOrEqualTo(SIZEOF_KVM_RUN);
    }
}
