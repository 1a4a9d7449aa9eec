package kvmkmod.hw.soft;

/**
 * Architectural numbers the soft CPU needs that asm/vmx.h of 2.6.33 does not name (values from the
 * Intel SDM vol. 3, Appendix C "VMX Basic Exit Reasons" and 30.4 "VM Instruction Error Numbers"), plus
 * the x86 flag and control-register bits the interpreter uses.
 */
final class SoftArch {
    private SoftArch() {}

    // Exit reasons absent from the 2.6.33 header
    static final int EXIT_REASON_INVD = 13;
    static final int EXIT_REASON_INVALID_STATE = 33;
    static final int EXIT_REASON_MSR_LOADING = 34;
    static final int EXIT_REASON_INVEPT = 50;
    static final int EXIT_REASON_INVVPID = 53;
    static final int EXIT_REASON_XSETBV = 55;
    static final int EXIT_REASON_GDTR_IDTR = 46;
    static final int EXIT_REASON_LDTR_TR = 47;

    // VM-instruction errors absent from the header
    static final int VMXERR_VMCALL_IN_VMX_ROOT_OPERATION = 1;
    static final int VMXERR_VMWRITE_READ_ONLY_VMCS_COMPONENT = 13;
    static final int VMXERR_VMXON_INVALID = 15;

    // VM-entry control "load IA32_EFER" and its guest-state field (SDM Appendix B.2)
    static final int VM_ENTRY_LOAD_IA32_EFER = 1 << 15;
    static final int VM_EXIT_SAVE_IA32_EFER = 1 << 20;
    static final int GUEST_IA32_EFER = 0x2806;
    static final int VM_ENTRY_LOAD_DEBUG_CONTROLS = 1 << 2;

    // EFLAGS
    static final int CF = 1, PF = 4, AF = 0x10, ZF = 0x40, SF = 0x80, TF = 0x100, IF = 0x200, DF = 0x400,
            OF = 0x800, IOPL = 0x3000, NT = 0x4000, RF = 0x10000, VM = 0x20000, AC = 0x40000;
    static final int ARITH_FLAGS = CF | PF | AF | ZF | SF | OF;

    // EFER
    static final long EFER_SCE = 1, EFER_LME = 0x100, EFER_LMA = 0x400, EFER_NXE = 0x800;

    // CR0 / CR4
    static final long CR0_PE = 1, CR0_MP = 2, CR0_EM = 4, CR0_TS = 8, CR0_ET = 0x10, CR0_NE = 0x20,
            CR0_WP = 0x10000, CR0_AM = 0x40000, CR0_NW = 0x20000000L, CR0_CD = 0x40000000L, CR0_PG = 0x80000000L;
    static final long CR4_PAE = 0x20, CR4_PSE = 0x10, CR4_VMXE = 0x2000;

    // Exception vectors
    static final int DE = 0, DB = 1, NMI = 2, BP = 3, OFV = 4, BR = 5, UD = 6, NM = 7, DBL_FAULT = 8, TS = 10, NP = 11,
            SS_FAULT = 12, GP = 13, PF_FAULT = 14, MF = 16, AC_FAULT = 17, MC = 18;

    // Segment register indices, in the order of the VMCS guest-state fields
    static final int ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5, LDTR = 6, TR = 7;
    static final String[] SEG_NAMES = {"ES", "CS", "SS", "DS", "FS", "GS", "LDTR", "TR"};
}
