package kvmkmod.vmx;

import kvmkmod.hw.Backend;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.invoke.SerializedLambda;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.util.List;

import static kvmkmod.hw.VmxArch.*;
import static org.assertj.core.api.Assertions.assertThat;

/** kvm_vmx_exit_handlers[] and vmx_exit_reasons_str[] against the 2.6.33 tables. */
// a runaway guest fails its test instead of hanging the build
@org.junit.jupiter.api.Timeout(value = 120, threadMode = org.junit.jupiter.api.Timeout.ThreadMode.SEPARATE_THREAD)
class ExitHandlersTest {

    /** The method a serializable method reference points at. */
    static String target(Object lambda) throws ReflectiveOperationException {
        Method w = lambda.getClass().getDeclaredMethod("writeReplace");
        w.setAccessible(true);
        return ((SerializedLambda) w.invoke(lambda)).getImplMethodName();
    }

    @Test
    void the_table_is_vmx_exit_handlers_tsv() throws IOException, ReflectiveOperationException {
        try (KvmIntel m = VmxTestSupport.load(Backend.SOFT)) {
            Vmx.ExitHandler[] t = m.vmx().kvm_vmx_exit_handlers;
            List<String> rows = Files.readAllLines(ReferenceFiles.of("vmx_exit_handlers.tsv"));
            int n = 0;
            boolean[] listed = new boolean[t.length];
            for (String row : rows.subList(1, rows.size())) {
                String[] f = row.split("\t");
                int reason = Integer.parseInt(f[1]);
                assertThat(t[reason]).as("slot %s", f[0]).isNotNull();
                assertThat(target(t[reason])).as("slot %s", f[0]).isEqualTo(f[2]);
                listed[reason] = true;
                n++;
            }
            assertThat(n).isEqualTo(33);
            for (int i = 0; i < t.length; i++) if (!listed[i]) assertThat(t[i]).as("slot %d is empty in 2.6.33", i).isNull();
            assertThat(m.vmx().kvm_vmx_max_exit_handlers).isEqualTo(EXIT_REASON_WBINVD + 1);
        }
    }

    @Test
    void exit_reason_names_are_those_of_2_6_33() {
        try (KvmIntel m = VmxTestSupport.load(Backend.SOFT)) {
            Vmx vmx = m.vmx();
            assertThat(vmx.exit_reason_str(EXIT_REASON_IO_INSTRUCTION)).isEqualTo("io_instruction");
            assertThat(vmx.exit_reason_str(EXIT_REASON_HLT)).isEqualTo("halt");
            assertThat(vmx.exit_reason_str(EXIT_REASON_EPT_VIOLATION)).isEqualTo("ept_violation");
            assertThat(vmx.exit_reason_str(EXIT_REASON_VMCALL)).isEqualTo("hypercall");
            // 2.6.33 names 19 reasons; the others print as numbers
            assertThat(vmx.exit_reason_str(EXIT_REASON_EPT_MISCONFIG)).isNull();
            assertThat(vmx.exit_reason_str(EXIT_REASON_RDTSC)).isNull();
            assertThat(vmx.exit_reason_str(VMX_EXIT_REASONS_FAILED_VMENTRY | 33)).isNull();
            int named = 0;
            for (String s : Vmx.vmx_exit_reasons_str) if (s != null) named++;
            assertThat(named).isEqualTo(19);
        }
    }

    @Test
    void trace_kvm_exit_names_the_reason() {
        try (KvmIntel m = VmxTestSupport.load(Backend.SOFT)) {
            VmxTestSupport.Vmm vmm = new VmxTestSupport.Vmm(m).withMemory();
            int vcpufd = (int) vmm.p.ioctl(vmm.vm, kvmkmod.include.Kvm_h.KVM_CREATE_VCPU, 0);
            vmm.poke(KvmApiTest.RESET_GPA, KvmApiTest.OUT_HLT);
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            kvmkmod.include.trace.Ftrace.start(new java.io.PrintStream(out, true));
            try {
                vmm.p.ioctl(vcpufd, kvmkmod.include.Kvm_h.KVM_RUN, 0);
                vmm.p.ioctl(vcpufd, kvmkmod.include.Kvm_h.KVM_RUN, 0);
            } finally {
                kvmkmod.include.trace.Ftrace.stop();
            }
            String trace = out.toString();
            assertThat(trace).contains("kvm_exit: reason ept_violation rip 0xfff0");
            assertThat(trace).contains("kvm_exit: reason io_instruction rip 0xfff5");
            assertThat(trace).contains("kvm_pio: pio_write at 0x3f8 size 1 count 1");
            assertThat(trace).contains("kvm_exit: reason halt rip 0xfff6");
        }
    }

    @Test
    void an_exit_with_no_handler_goes_to_userspace_as_KVM_EXIT_UNKNOWN() {
        // RDTSC (16) has no slot in 2.6.33: what vmx_handle_exit does with any such reason
        try (KvmIntel m = VmxTestSupport.load(Backend.SOFT)) {
            VmxTestSupport.Vmm vmm = new VmxTestSupport.Vmm(m).withMemory();
            int vcpufd = (int) vmm.p.ioctl(vmm.vm, kvmkmod.include.Kvm_h.KVM_CREATE_VCPU, 0);
            VcpuVmx v = (VcpuVmx) vmm.p.fget(vcpufd).private_data;
            VmxTestSupport.onCpu(m, v, () -> {
                v.exit_reason = EXIT_REASON_RDTSC;
                v.fail = 0;
                assertThat(m.vmx().vmx_handle_exit(v)).isZero();
            });
            assertThat(v.run.exit_reason()).isEqualTo(kvmkmod.include.Kvm_h.KVM_EXIT_UNKNOWN);
            assertThat(v.run.hw.hardware_exit_reason()).isEqualTo(EXIT_REASON_RDTSC);
        }
    }
}
