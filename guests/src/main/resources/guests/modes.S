# modes: the road from the reset state to 64-bit mode, one step at a time,
# each step reported on the UART with the control register it changed:
#   real mode -> 16-bit protected mode -> 32-bit protected mode (flat GDT)
#   -> 32-bit paging (4 KiB pages, and one 4 MiB PSE page read as an alias)
#   -> PAE paging (2 MiB page) -> IA-32e mode: 64-bit mode
#   -> compatibility mode (far jump to a 32-bit code segment) and back.
# SDM vol. 3, "Mode Switching": "Switching to Protected Mode",
# "Initializing IA-32e Mode"; "Paging": 32-bit, PAE and 4-level paging.
#
# longmode.S assembles this same text with DIRECT_TO_LONG_MODE set: it leaves
# out the two legacy paging steps and goes from 32-bit protected mode straight
# to IA-32e mode. The host's /dev/kvm used as the reference here (PVM) runs
# only that route: it shuts the guest down at the MOV to CR0 that turns on
# 32-bit or PAE paging without EFER.LME.
#
# Every MOV to CR0/CR3/CR4 and the WRMSR to EFER is a VM exit handled in the
# kernel (handle_cr, handle_wrmsr); only the UART accesses reach userspace.
#
# Memory: the image at 0x7c00, the stack below it, page tables at 0x1000-0x6fff:
#   0x1000 32-bit page directory   0x2000 its page table (first 1 MiB)
#   0x3000 PAE page-directory-pointer table   0x4000 page directory (2 MiB page)
#   0x5000 PML4   0x6000 4-level page-directory-pointer table (-> 0x4000)
#
# Syntax: GNU as, Intel syntax without % prefixes. Starts in 16-bit real mode,
# loaded at guest-physical 0x7c00 with CS=0, IP=0x7c00.

        .intel_syntax noprefix
        .include "serial.inc"
        .include "boot.inc"

        .set    PD32, 0x1000
        .set    PT32, 0x2000
        .set    PDPT_PAE, 0x3000
        .set    PD_PAE, 0x4000
        .set    PML4, 0x5000
        .set    PDPT_LM, 0x6000
        .set    ALIAS_4M, 0x400000  # virtual base of the 4 MiB page that maps physical 0

        .code16
        .globl _start
_start:
        REAL_MODE_START
        SAY     msg_real, 16
        mov     eax, cr0
        call    hex16
        SAY     msg_nl, 16

        ENTER_PROTECTED_MODE SEL_CODE16, pm16
pm16:
        LOAD_DATA_SEGMENTS SEL_DATA16
        SAY     msg_pm16, 16
        mov     eax, cr0
        call    hex16
        SAY     msg_nl, 16
        jmp     SEL_CODE32:pm32     # 16-bit far jump: a 16-bit offset is enough here

        SERIAL_ROUTINES 16

        .code32
pm32:
        LOAD_DATA_SEGMENTS SEL_DATA32, 0x7c00
        SAY     msg_pm32, 32
        mov     eax, cr0
        call    hex32
        SAY     msg_nl, 32

        .ifndef DIRECT_TO_LONG_MODE
        # 32-bit paging: PDE 0 -> a page table identity-mapping the first 1 MiB
        # with 4 KiB pages; PDE 1 is a 4 MiB page (PS) mapping physical 0 again.
        IDENTITY_PT PT32, 256, 4
        mov     dword ptr [PD32], PT32 + P_RW
        mov     dword ptr [PD32 + 4], 0x080 + P_RW   # physical 0, PS
        mov     eax, PD32
        mov     cr3, eax
        SET_BITS cr4, CR4_PSE
        SET_BITS cr0, CR0_PG
        SAY     msg_pg32, 32
        mov     eax, cr0
        call    hex32
        SAY     msg_cr4, 32
        mov     eax, cr4
        call    hex32
        SAY     msg_nl, 32
        SAY     ALIAS_4M+msg_alias, 32     # the same bytes, seen through the 4 MiB page

        # PAE: paging off, CR3 -> page-directory-pointer table, CR4.PAE, paging on.
        CLEAR_BITS cr0, CR0_PG
        mov     dword ptr [PD_PAE], 0x080 + P_RW     # 2 MiB page at physical 0
        mov     dword ptr [PDPT_PAE], PD_PAE + 0x001 # PDPTEs: present only
        mov     eax, PDPT_PAE
        mov     cr3, eax
        SET_BITS cr4, CR4_PAE
        SET_BITS cr0, CR0_PG
        SAY     msg_pae, 32
        mov     eax, cr4
        call    hex32
        SAY     msg_nl, 32
        CLEAR_BITS cr0, CR0_PG
        .endif

        # IA-32e (paging is off). The PAE step, when assembled, has already
        # built the page directory; writing it again is harmless.
        mov     dword ptr [PD_PAE], 0x080 + P_RW     # 2 MiB page at physical 0
        mov     dword ptr [PML4], PDPT_LM + P_RW
        mov     dword ptr [PDPT_LM], PD_PAE + P_RW
        ENTER_LONG_MODE PML4, lm64

        # Compatibility mode, reached from 64-bit mode by an indirect far jump.
compat:
        SAY     msg_compat, 32
        mov     ecx, MSR_EFER
        rdmsr
        call    hex32
        SAY     msg_nl, 32
        jmp     SEL_CODE64:lm64_back

        SERIAL_ROUTINES 32

        .code64
lm64:
        SAY     msg_lm, 64
        mov     ecx, MSR_EFER
        rdmsr
        call    hex64
        SAY     msg_rax, 64
        mov     rax, 0x0123456789abcdef
        shr     rax, 32             # only a 64-bit register has bits 32-63
        call    hex64
        SAY     msg_nl, 64
        jmp     fword ptr [rip + far_compat] # m16:32 far pointer: to a 32-bit code segment
lm64_back:
        SAY     msg_back, 64
        hlt

        SERIAL_ROUTINES 64

far_compat:
        .long   compat
        .word   SEL_CODE32

        FLAT_GDT

msg_real:   .asciz "real mode: CR0="
msg_pm16:   .asciz "16-bit protected mode: CR0="
msg_pm32:   .asciz "32-bit protected mode: CR0="
msg_pg32:   .asciz "32-bit paging: CR0="
msg_cr4:    .asciz " CR4="
msg_alias:  .asciz "read through the 4 MiB page\n"
msg_pae:    .asciz "PAE paging: CR4="
msg_lm:     .asciz "64-bit mode: EFER="
msg_rax:    .asciz " RAX>>32="
msg_compat: .asciz "compatibility mode: EFER="
msg_back:   .asciz "back in 64-bit mode\nmodes: done\n"
msg_nl:     .asciz "\n"
