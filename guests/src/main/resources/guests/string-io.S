# string-io: port I/O with the string instructions. One REP OUTSB sends a
# whole message to the debug port 0xe9, and one REP INSW reads four words
# from the value port 0x510 into memory. KVM hands such an instruction to
# userspace as a single KVM_EXIT_IO with count > 1 (as many items as fit in
# the data page), and the VMM handles each item in turn (kvm_handle_io).
#
# Syntax: GNU as, Intel syntax without % prefixes, 16-bit real mode.
# Loaded at guest-physical 0x7c00 with CS=0, IP=0x7c00.

        .code16
        .intel_syntax noprefix
        .globl _start
_start:
        cli
        xor     ax, ax
        mov     ds, ax              # OUTS reads from DS:SI
        mov     es, ax              # INS writes to ES:DI
        mov     ss, ax
        mov     sp, 0x7c00
        cld                         # both strings walk upwards

        mov     si, offset message
        mov     cx, message_end - message
        mov     dx, 0xe9            # the debug port
        rep outsb                   # one exit, count = length of the message

        mov     di, offset buffer
        mov     cx, 4
        mov     dx, 0x510           # the value port
        rep insw                    # one exit, count = 4, size = 2

        mov     ax, [buffer + 6]    # the last word read, for the test
        hlt

message:
        .ascii  "string I/O\n"
message_end:
        .balign 2
buffer:
        .word   0, 0, 0, 0
