# tasks: hardware task switching, the 32-bit mechanism that saves all of a
# task's registers in its TSS and loads the next task's from its own.
#   main  LTR of its TSS, so that the first switch has somewhere to save it
#   1     far JMP to task 1's TSS descriptor; task 1 JMPs back to main's TSS
#   2     far CALL to task 2's TSS descriptor: nested, EFLAGS.NT=1 and the
#         previous-task link = main; task 2 returns with IRET
#   3     INT 0x40 through a task gate in the IDT: nested like a CALL;
#         task 3 returns with IRET
# Each task reports its TR (STR), EFLAGS.NT and the link field of its TSS;
# main reports TR after each return. SDM vol. 3, "Task Management": "Task
# Switching", "Task Linking", "Task-Gate Descriptor".
#
# Every task switch is a VM exit (EXIT_REASON_TASK_SWITCH): vmx.c
# handle_task_switch -> x86.c kvm_task_switch, which saves and loads the TSSes
# in guest memory. The UART I/O and the HLT reach userspace.
#
# Syntax: GNU as, Intel syntax without % prefixes. Starts in 16-bit real mode,
# loaded at guest-physical 0x7c00 with CS=0, IP=0x7c00.

        .intel_syntax noprefix
        .include "serial.inc"
        .include "boot.inc"

        .set    IDT, 0x2000
        .set    TSS_MAIN, 0x1000    # 104-byte 32-bit TSSes
        .set    TSS_1, 0x1080
        .set    TSS_2, 0x1100
        .set    TSS_3, 0x1180
        .set    SEL_TSS_MAIN, 0x30  # their descriptors follow the flat GDT
        .set    SEL_TSS_1, 0x38
        .set    SEL_TSS_2, 0x40
        .set    SEL_TSS_3, 0x48
        .set    TASK_GATE_VECTOR, 0x40

        # A 32-bit TSS descriptor (available, DPL 0, limit 0x67) for a TSS below 16 MiB,
        # and a task gate naming a TSS selector.
        .set    DESC_TSS_MAIN, 0x0000890000000067 + (TSS_MAIN << 16)
        .set    DESC_TSS_1, 0x0000890000000067 + (TSS_1 << 16)
        .set    DESC_TSS_2, 0x0000890000000067 + (TSS_2 << 16)
        .set    DESC_TSS_3, 0x0000890000000067 + (TSS_3 << 16)
        .set    TASK_GATE_3, 0x0000850000000000 + (SEL_TSS_3 << 16)

        .set    TSS_LINK, 0x00      # TSS fields
        .set    TSS_EIP, 0x20
        .set    TSS_EFLAGS, 0x24
        .set    TSS_ESP, 0x38
        .set    TSS_ES, 0x48
        .set    TSS_CS, 0x4c
        .set    TSS_SS, 0x50
        .set    TSS_DS, 0x54
        .set    EFLAGS_NT, 0x4000

        # A new task's TSS: where it starts, its stack; flat segments, IF=0.
        .macro  TASK tss, entry, stack
        mov     dword ptr [\tss + TSS_EIP], offset \entry
        mov     dword ptr [\tss + TSS_EFLAGS], 2
        mov     dword ptr [\tss + TSS_ESP], \stack
        mov     dword ptr [\tss + TSS_CS], SEL_CODE32
        mov     dword ptr [\tss + TSS_SS], SEL_DATA32
        mov     dword ptr [\tss + TSS_DS], SEL_DATA32
        mov     dword ptr [\tss + TSS_ES], SEL_DATA32
        .endm

        START_32
        TASK    TSS_1, task1, 0x6000
        TASK    TSS_2, task2, 0x5800
        TASK    TSS_3, task3, 0x5000
        mov     dword ptr [IDT + TASK_GATE_VECTOR * 8], TASK_GATE_3 & 0xffffffff
        mov     dword ptr [IDT + TASK_GATE_VECTOR * 8 + 4], TASK_GATE_3 >> 32
        lidt    [idt_desc]
        mov     ax, SEL_TSS_MAIN
        ltr     ax
        mov     esi, offset msg_main
        call    report

        jmp     SEL_TSS_1:0         # the offset is ignored: task 1 starts at its TSS's EIP
        mov     esi, offset msg_main
        call    report
        call    SEL_TSS_2:0
        mov     esi, offset msg_main
        call    report
        int     TASK_GATE_VECTOR
        mov     esi, offset msg_main
        call    report
        SAY     msg_done, 32
        hlt

task1:
        mov     esi, offset msg_task1
        call    report
        jmp     SEL_TSS_MAIN:0      # main's TSS is not busy after a JMP away from it

task2:
        mov     esi, offset msg_task2
        call    report
        iretd                       # NT=1: back to the task in the link field

task3:
        mov     esi, offset msg_task3
        call    report
        iretd

# Prints the string at ESI, then TR, EFLAGS.NT and the link field of the
# current TSS (found through the TSS base in the GDT descriptor TR selects).
report:
        call    puts32
        SAY     msg_tr, 32
        str     eax
        mov     ebp, eax            # the selector
        call    hex32
        SAY     msg_nt, 32
        pushfd
        pop     eax
        and     eax, EFLAGS_NT
        shr     eax, 14
        call    hex232
        SAY     msg_link, 32
        mov     eax, [gdt + ebp + 2] # base 23:0 of the TSS (all below 16 MiB)
        and     eax, 0xffffff
        movzx   eax, word ptr [eax + TSS_LINK]
        call    hex32
        SAY     msg_nl, 32
        ret

        SERIAL_ROUTINES 32

idt_desc:
        .word   (TASK_GATE_VECTOR + 1) * 8 - 1
        .long   IDT

        FLAT_GDT DESC_TSS_MAIN, DESC_TSS_1, DESC_TSS_2, DESC_TSS_3

msg_main:   .asciz "main:                  "
msg_task1:  .asciz "task 1 (far jmp):      "
msg_task2:  .asciz "task 2 (far call):     "
msg_task3:  .asciz "task 3 (task gate):    "
msg_tr:     .asciz "TR="
msg_nt:     .asciz " NT="
msg_link:   .asciz " link="
msg_done:   .asciz "tasks: done\n"
msg_nl:     .asciz "\n"
