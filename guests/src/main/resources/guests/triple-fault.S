# triple-fault: a guest that dies. It loads an empty interrupt table
# (limit 0) and executes UD2. The #UD cannot be delivered (vector 6 is past
# the table's limit), which raises #GP; that cannot be delivered either, so a
# double fault; and when that fails too the processor shuts down. KVM reports
# it to userspace as KVM_EXIT_SHUTDOWN, and the VMM stops with an error.
#
# Syntax: GNU as, Intel syntax without % prefixes, 16-bit real mode.
# Loaded at guest-physical 0x7c00 with CS=0, IP=0x7c00.

        .code16
        .intel_syntax noprefix
        .globl _start
_start:
        cli
        xor     ax, ax
        mov     ds, ax
        lidt    [empty_idt]         # IDTR: base 0, limit 0 - no vector fits
        ud2                         # #UD -> #GP -> #DF -> shutdown

empty_idt:
        .word   0                   # limit
        .long   0                   # base
