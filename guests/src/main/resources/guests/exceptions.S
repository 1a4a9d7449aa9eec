# exceptions: an IDT of 32-bit interrupt gates and one handler that reports
# what the processor pushed. The guest raises, one after the other:
#   #DE  DIV by zero                    fault: saved EIP = the DIV
#   #UD  UD2                            fault
#   #BP  INT3                           trap: saved EIP = the next instruction
#   INT 0x80                            software interrupt: saved EIP = next
#   #GP  MOV DS of selector 0x1230      error code = the selector (past the GDT limit)
#   #PF  read of an unmapped page       error code 0 (not present, read, ring 0), CR2
#   #PF  write to a read-only page      error code 3 (present, write), CR2; CR0.WP makes
#                                       ring 0 honour the read-only bit
# and prints, per exception, the vector, the error code (for #GP and #PF),
# CR2 (for #PF) and the saved EIP. The handler resumes at the step's next
# label instead of returning to the faulting instruction.
# SDM vol. 3, "Interrupt and Exception Handling": "Exception Classifications",
# "Error Code", "Interrupt 14-Page-Fault Exception (#PF)".
#
# Exits (our KVM, EPT on): the exception bitmap of 2.6.33 (update_exception_bitmap)
# holds #UD, #MC, #DB and, without EPT, #PF: so only the UD2 exits, as an
# exception exit - handle_exception gives it to the emulator (EMULTYPE_TRAP_UD),
# which cannot do UD2, and kvm_queue_exception puts #UD back for the guest's
# IDT. The other exceptions go straight to the guest. CR access for CR0/CR3,
# UART I/O, HLT.
#
# Syntax: GNU as, Intel syntax without % prefixes. Starts in 16-bit real mode,
# loaded at guest-physical 0x7c00 with CS=0, IP=0x7c00.

        .intel_syntax noprefix
        .include "serial.inc"
        .include "boot.inc"

        .set    IDT, 0x1000         # 256 gates of 8 bytes
        .set    PD, 0x2000
        .set    PT, 0x3000          # identity map of the first 1 MiB
        .set    RO_PAGE, 0x20000    # mapped read-only
        .set    UNMAPPED, 0x800000  # no page-directory entry covers it
        .set    GATE_INT32, 0x8e00  # present, DPL 0, 32-bit interrupt gate
        .set    HAS_ERROR, 0x100    # in the word a stub pushes: the processor pushed an error code

        # The handler resumes at label: every step names where it goes on.
        .macro  EXPECT label
        mov     dword ptr [resume], offset \label
        .endm

        # An entry point per vector: make the frame the same for all - error
        # code (0 when the processor pushes none), then vector | HAS_ERROR.
        .macro  STUB vector, error
stub_\vector:
        .if     \error == 0
        push    0
        .endif
        push    \vector + \error * HAS_ERROR
        jmp     report
        .endm

        START_32
        mov     esi, offset gates   # fill the IDT from the (vector, stub) table
1:      mov     ecx, [esi]
        cmp     ecx, -1
        je      2f
        mov     eax, [esi + 4]
        lea     edi, [IDT + ecx * 8]
        mov     [edi], ax                       # offset 15:0
        mov     word ptr [edi + 2], SEL_CODE32
        mov     word ptr [edi + 4], GATE_INT32
        shr     eax, 16
        mov     [edi + 6], ax                   # offset 31:16
        add     esi, 8
        jmp     1b
2:      lidt    [idt_desc]

        SAY     msg_de, 32
        EXPECT  1f
        xor     edx, edx
        mov     eax, 1
        xor     ecx, ecx
        div     ecx                 # #DE
1:      SAY     msg_ud, 32
        EXPECT  1f
        ud2                         # #UD
1:      SAY     msg_bp, 32
        EXPECT  1f
        int3                        # #BP
1:      SAY     msg_int, 32
        EXPECT  1f
        int     0x80
1:      SAY     msg_gp, 32
        EXPECT  1f
        mov     ax, 0x1230          # GDT index 0x246, far past its limit
        mov     ds, ax              # #GP(0x1230)
1:      LOAD_DATA_SEGMENTS SEL_DATA32

        IDENTITY_PT PT, 256, 4
        and     dword ptr [PT + (RO_PAGE >> 12) * 4], ~2   # RO_PAGE read-only
        mov     dword ptr [PD], PT + P_RW
        mov     eax, PD
        mov     cr3, eax
        SET_BITS cr0, CR0_PG + CR0_WP
        SAY     msg_pf_np, 32
        EXPECT  1f
        mov     eax, [UNMAPPED + 0x123]         # #PF, not present
1:      SAY     msg_pf_ro, 32
        EXPECT  1f
        mov     byte ptr [RO_PAGE + 0x10], 1    # #PF, protection
1:      SAY     msg_done, 32
        hlt

        STUB    0, 0
        STUB    3, 0
        STUB    6, 0
        STUB    13, 1
        STUB    14, 1
        STUB    0x80, 0

        # Stack: vector | HAS_ERROR, error code, EIP, CS, EFLAGS.
report:
        SAY     msg_vec, 32
        mov     eax, [esp]
        call    hex232
        test    dword ptr [esp], HAS_ERROR
        jz      1f
        SAY     msg_err, 32
        mov     eax, [esp + 4]
        call    hex32
1:      cmp     byte ptr [esp], 14
        jne     2f
        SAY     msg_cr2, 32
        mov     eax, cr2
        call    hex32
2:      SAY     msg_eip, 32
        mov     eax, [esp + 8]
        call    hex32
        SAY     msg_nl, 32
        mov     eax, [resume]
        mov     [esp + 8], eax      # go on with the next step
        add     esp, 8
        iretd

        SERIAL_ROUTINES 32

        .balign 4
resume: .long   0
gates:  .long   0, stub_0, 3, stub_3, 6, stub_6, 13, stub_13, 14, stub_14, 0x80, stub_0x80, -1
idt_desc:
        .word   256 * 8 - 1
        .long   IDT

        FLAT_GDT

msg_de:     .asciz "#DE (div 0): "
msg_ud:     .asciz "#UD (ud2): "
msg_bp:     .asciz "#BP (int3): "
msg_int:    .asciz "int 0x80: "
msg_gp:     .asciz "#GP (mov ds): "
msg_pf_np:  .asciz "#PF (unmapped): "
msg_pf_ro:  .asciz "#PF (read-only): "
msg_vec:    .asciz "vector "
msg_err:    .asciz " error "
msg_cr2:    .asciz " CR2 "
msg_eip:    .asciz " EIP "
msg_done:   .asciz "exceptions: done\n"
msg_nl:     .asciz "\n"
