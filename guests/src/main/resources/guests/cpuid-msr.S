# cpuid-msr: what the guest learns from CPUID and what the MSRs keep.
#   CPUID 0           the vendor string
#   CPUID 1           EDX, the features a kernel needs to boot (PSE, TSC, MSR,
#                     PAE, CX8, SEP, PGE, CMOV, PAT) masked out of the rest
#   CPUID 0x80000001  EDX, SYSCALL, NX and LM masked
#   WRMSR then RDMSR  SYSENTER_CS/ESP/EIP, PAT (from its reset value)
#   RDMSR             EFER (0 in real mode)
#   RDTSC twice       whether the TSC moved
# SDM vol. 2 "CPUID", vol. 3 "Model-Specific Registers", "PAT".
#
# Exits (our KVM): CPUID always exits (handle_cpuid -> kvm_emulate_cpuid,
# which answers from the table the VMM set with KVM_SET_CPUID2). The MSR
# bitmap of 2.6.33 lets SYSENTER_CS/ESP/EIP through without an exit (they live
# in the VMCS guest-state area); PAT and EFER exit (handle_rdmsr/handle_wrmsr ->
# vmx_get_msr/vmx_set_msr -> kvm_get_msr_common/kvm_set_msr_common). RDTSC does
# not exit (the TSC offset applies). UART I/O and HLT reach userspace.
#
# Syntax: GNU as, Intel syntax without % prefixes, 16-bit real mode (RDMSR,
# WRMSR and CPUID need CPL 0, not protected mode). Loaded at guest-physical
# 0x7c00 with CS=0, IP=0x7c00.

        .intel_syntax noprefix
        .include "serial.inc"
        .include "boot.inc"

        .set    MSR_IA32_SYSENTER_CS, 0x174
        .set    MSR_IA32_SYSENTER_ESP, 0x175
        .set    MSR_IA32_SYSENTER_EIP, 0x176
        .set    MSR_IA32_CR_PAT, 0x277
        .set    FEATURES_1_EDX, 0x1a978     # PSE TSC MSR PAE CX8 SEP PGE CMOV PAT
        .set    FEATURES_81_EDX, 0x20100800 # SYSCALL NX LM

        # Prints the label's text, then EDX:EAX as 16 hex digits and a newline.
        .macro  SHOW64 msg
        mov     ebp, eax
        mov     edi, edx            # SAY clobbers EDX
        SAY     \msg, 16
        mov     eax, edi
        call    hex16
        mov     eax, ebp
        call    hex16
        SAY     msg_nl, 16
        .endm

        # WRMSR of hi:lo to msr, then RDMSR of it, shown.
        .macro  WRITE_READ msr, hi, lo, msg
        mov     ecx, \msr
        mov     edx, \hi
        mov     eax, \lo
        wrmsr
        rdmsr
        SHOW64  \msg
        .endm

        .code16
        .globl _start
_start:
        REAL_MODE_START
        xor     eax, eax
        cpuid
        mov     [vendor], ebx
        mov     [vendor + 4], edx
        mov     [vendor + 8], ecx
        SAY     msg_vendor, 16
        SAY     vendor, 16

        mov     eax, 1
        cpuid
        mov     ebp, edx
        SAY     msg_leaf1, 16
        mov     eax, ebp
        and     eax, FEATURES_1_EDX
        call    hex16
        mov     eax, 0x80000001
        cpuid
        mov     ebp, edx
        SAY     msg_leaf81, 16
        mov     eax, ebp
        and     eax, FEATURES_81_EDX
        call    hex16
        SAY     msg_nl, 16

        WRITE_READ MSR_IA32_SYSENTER_CS, 0, 0x0010, msg_cs
        WRITE_READ MSR_IA32_SYSENTER_ESP, 0, 0x00007000, msg_esp
        WRITE_READ MSR_IA32_SYSENTER_EIP, 0, 0x00007e00, msg_eip
        mov     ecx, MSR_IA32_CR_PAT
        rdmsr
        SHOW64  msg_pat
        WRITE_READ MSR_IA32_CR_PAT, 0x00070406, 0x00070106, msg_pat_w  # entry 1: WT -> WC
        mov     ecx, MSR_EFER
        rdmsr
        SHOW64  msg_efer

        rdtsc
        mov     ebx, eax
        mov     esi, edx
        rdtsc
        sub     eax, ebx
        sbb     edx, esi            # EDX:EAX = the second read minus the first
        or      eax, edx
        mov     esi, offset msg_tsc_no
        jz      1f
        mov     esi, offset msg_tsc_yes
1:      call    puts16
        SAY     msg_done, 16
        hlt

        SERIAL_ROUTINES 16

vendor:      .asciz "............\n"     # 12 bytes from EBX, EDX, ECX
msg_vendor:  .asciz "cpuid 0: "
msg_leaf1:   .asciz "cpuid 1: edx&features="
msg_leaf81:  .asciz " cpuid 0x80000001: edx&features="
msg_cs:      .asciz "SYSENTER_CS  wrote 10, reads "
msg_esp:     .asciz "SYSENTER_ESP wrote 7000, reads "
msg_eip:     .asciz "SYSENTER_EIP wrote 7e00, reads "
msg_pat:     .asciz "PAT at reset "
msg_pat_w:   .asciz "PAT written, reads "
msg_efer:    .asciz "EFER "
msg_tsc_yes: .asciz "TSC moved between two RDTSCs\n"
msg_tsc_no:  .asciz "TSC did not move\n"
msg_done:    .asciz "cpuid-msr: done\n"
msg_nl:      .asciz "\n"
