package kvmkmod.vmx;

import kvmkmod.hw.Backend;
import kvmkmod.hw.HostMemory;
import kvmkmod.hw.VmxCapabilities;
import kvmkmod.hw.VmxCpu;
import kvmkmod.include.Errno;
import kvmkmod.include.Vfs;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static kvmkmod.hw.VmxArch.*;
import static kvmkmod.include.Kvm_h.KVM_CREATE_VM;
import static kvmkmod.hw.MsrIndex.*;
import static kvmkmod.vmx.VmxDefs.*;
import static kvmkmod.x86.X86.X86_CR4_VMXE;
import static org.assertj.core.api.Assertions.assertThat;

/** insmod kvm-intel (vmx_init → kvm_init → hardware_setup ...), lazy VMXON, rmmod. */
class ModuleLoadTest {

    static boolean bit(HostMemory.Region page, int byteOffset, int nr) {
        return (page.buf.get(byteOffset + (nr >>> 3)) & (1 << (nr & 7))) != 0;
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"SOFT", "HOST"})
    void vmx_init_builds_the_bitmaps_and_registers_dev_kvm(Backend backend) {
        try (KvmIntel m = VmxTestSupport.load(backend)) {
            Vmx vmx = m.vmx();
            // I/O bitmap A: every port of 0-0x7fff exits except the POST port 0x80
            for (int port = 0; port < 0x8000; port++)
                assertThat(bit(vmx.vmx_io_bitmap_a, 0, port)).as("port %#x intercepted", port).isEqualTo(port != 0x80);
            for (int port = 0; port < 0x8000; port++)
                assertThat(bit(vmx.vmx_io_bitmap_b, 0, port)).as("port %#x intercepted", 0x8000 + port).isTrue();
            // MSR bitmaps: the MSRs vmx_init lets through, read-high at 0x400 and write-high at 0xc00
            assertThat(bit(vmx.vmx_msr_bitmap_legacy, 0x400, MSR_FS_BASE & 0x1fff)).isFalse();
            assertThat(bit(vmx.vmx_msr_bitmap_legacy, 0xc00, MSR_GS_BASE & 0x1fff)).isFalse();
            assertThat(bit(vmx.vmx_msr_bitmap_legacy, 0x400, MSR_KERNEL_GS_BASE & 0x1fff)).as("long mode only").isTrue();
            assertThat(bit(vmx.vmx_msr_bitmap_longmode, 0x400, MSR_KERNEL_GS_BASE & 0x1fff)).isFalse();
            assertThat(bit(vmx.vmx_msr_bitmap_legacy, 0x000, MSR_IA32_SYSENTER_CS)).isFalse();
            assertThat(bit(vmx.vmx_msr_bitmap_legacy, 0x800, MSR_IA32_SYSENTER_EIP)).isFalse();
            assertThat(bit(vmx.vmx_msr_bitmap_legacy, 0x000, MSR_IA32_TSC)).as("TSC still exits").isTrue();
            assertThat(bit(vmx.vmx_msr_bitmap_legacy, 0x400, MSR_EFER & 0x1fff)).as("EFER still exits").isTrue();
            // VPID 0 is the host's
            assertThat(vmx.vmx_vpid_bitmap.get(0)).isTrue();
            // EPT: tdp on and no bypass of guest page faults
            assertThat(vmx.enable_ept).isEqualTo(1);
            assertThat(vmx.mmu.tdp_enabled).isTrue();
            assertThat(vmx.bypass_guest_pf).isZero();
            assertThat(vmx.x86.kvm_x86_ops).isSameAs(vmx);
            // one VMXON region per processor, each stamped with the revision id, none entered yet
            assertThat(vmx.vmxarea).hasSize(vmx.platform.num_possible_cpus());
            for (int cpu = 0; cpu < vmx.vmxarea.length; cpu++) {
                assertThat(vmx.vmxarea[cpu]).isNotNull();
                assertThat(vmx.vmxarea[cpu].buf.getInt(0)).isEqualTo(VmxCapabilities.VMCS_REVISION_ID);
                for (int other = 0; other < cpu; other++) assertThat(vmx.vmxarea[cpu].hpa).isNotEqualTo(vmx.vmxarea[other].hpa);
                assertThat(vmx.platform.cpu(cpu).read_cr4() & X86_CR4_VMXE).as("no VMXON at load").isZero();
            }
            Vfs p = m.kvm_main().kernel.newProcess();
            assertThat(p.open("/dev/kvm")).isGreaterThanOrEqualTo(0);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"SOFT", "HOST"})
    void first_vm_enables_vmx_on_every_cpu_and_the_last_disables_it(Backend backend) {
        try (KvmIntel m = VmxTestSupport.load(backend)) {
            Vmx vmx = m.vmx();
            Vfs p = m.kvm_main().kernel.newProcess();
            int kvm = p.open("/dev/kvm");
            int vm = (int) p.ioctl(kvm, KVM_CREATE_VM, 0);
            assertThat(vm).isGreaterThanOrEqualTo(0);
            for (int cpu = 0; cpu < vmx.platform.num_possible_cpus(); cpu++) {
                VmxCpu c = vmx.platform.cpu(cpu);
                assertThat(c.read_cr4() & X86_CR4_VMXE).as("CR4.VMXE on cpu %d", cpu).isNotZero();
                long fc = c.rdmsr(MSR_IA32_FEATURE_CONTROL);
                assertThat(fc & (FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMXON_ENABLED))
                        .isEqualTo((long) (FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMXON_ENABLED));
                // a second VMXON on the same processor fails: it is in VMX root operation
                assertThat(c.vmxon(vmx.vmxarea[cpu].hpa)).isNotEqualTo(VmxCpu.VM_SUCCEED);
            }
            int vm2 = (int) p.ioctl(kvm, KVM_CREATE_VM, 0);
            assertThat(vm2).isGreaterThanOrEqualTo(0);
            assertThat(p.close(vm)).isZero();
            assertThat(vmx.platform.cpu(0).read_cr4() & X86_CR4_VMXE).as("still one VM").isNotZero();
            assertThat(p.close(vm2)).isZero();
            for (int cpu = 0; cpu < vmx.platform.num_possible_cpus(); cpu++)
                assertThat(vmx.platform.cpu(cpu).read_cr4() & X86_CR4_VMXE).as("VMXOFF on cpu %d", cpu).isZero();
        }
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"SOFT", "HOST"})
    void vmx_locked_off_by_the_bios_fails_insmod(Backend backend) {
        kvmkmod.hw.Platform platform = VmxTestSupport.platform(backend);
        // IA32_FEATURE_CONTROL locked with VMXON disabled: vmx_disabled_by_bios, kvm_arch_init -EOPNOTSUPP
        for (int cpu = 0; cpu < platform.num_possible_cpus(); cpu++)
            platform.cpu(cpu).wrmsr(MSR_IA32_FEATURE_CONTROL, FEATURE_CONTROL_LOCKED);
        kvmkmod.include.Kernel kernel = new kvmkmod.include.Kernel(platform);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> KvmIntel.insmod(kernel))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("EOPNOTSUPP");
        assertThat(kernel.newProcess().open("/dev/kvm")).isEqualTo(-Errno.ENOENT);
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"SOFT", "HOST"})
    void rmmod_unregisters_dev_kvm(Backend backend) {
        KvmIntel m = VmxTestSupport.load(backend);
        Vfs p = m.kvm_main().kernel.newProcess();
        m.close();
        assertThat(p.open("/dev/kvm")).isEqualTo(-Errno.ENOENT);
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"SOFT", "HOST"})
    void a_second_vendor_module_is_refused(Backend backend) {
        try (KvmIntel m = VmxTestSupport.load(backend)) {
            // kvm_arch_init answers -EEXIST when kvm_x86_ops is already set
            assertThat(m.kvm_main().arch.kvm_arch_init(m.vmx())).isEqualTo(-Errno.EEXIST);
        }
    }
}
