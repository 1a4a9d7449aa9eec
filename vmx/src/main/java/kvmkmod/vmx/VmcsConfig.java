package kvmkmod.vmx;

/**
 * struct vmcs_config (vmx.c:164): the VMX controls this module settled on at load time, derived from
 * the capability MSRs by setup_vmcs_config. Every processor must agree on it
 * (vmx_check_processor_compat compares field by field, as the C's memcmp does).
 */
public final class VmcsConfig {
    public int size;
    public int order;
    public int revision_id;
    public int pin_based_exec_ctrl;
    public int cpu_based_exec_ctrl;
    public int cpu_based_2nd_exec_ctrl;
    public int vmexit_ctrl;
    public int vmentry_ctrl;

    @Override public boolean equals(Object o) {
        if (!(o instanceof VmcsConfig)) return false;
        VmcsConfig c = (VmcsConfig) o;
        return size == c.size && order == c.order && revision_id == c.revision_id
                && pin_based_exec_ctrl == c.pin_based_exec_ctrl && cpu_based_exec_ctrl == c.cpu_based_exec_ctrl
                && cpu_based_2nd_exec_ctrl == c.cpu_based_2nd_exec_ctrl && vmexit_ctrl == c.vmexit_ctrl
                && vmentry_ctrl == c.vmentry_ctrl;
    }

    @Override public int hashCode() {
        return java.util.Objects.hash(size, order, revision_id, pin_based_exec_ctrl, cpu_based_exec_ctrl,
                cpu_based_2nd_exec_ctrl, vmexit_ctrl, vmentry_ctrl);
    }

    @Override public String toString() {
        return String.format("vmcs_config{size=%d order=%d revision_id=%#x pin=%#x cpu=%#x cpu2=%#x exit=%#x entry=%#x}",
                size, order, revision_id, pin_based_exec_ctrl, cpu_based_exec_ctrl, cpu_based_2nd_exec_ctrl,
                vmexit_ctrl, vmentry_ctrl);
    }
}
