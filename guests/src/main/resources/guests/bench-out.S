# bench-out: the exit benchmark. An endless "out dx, al; jmp" loop to port
# 0x80 (the old POST diagnostic port; no device in kernel or VMM), so every
# iteration is one round trip: guest -> KVM -> userspace -> KVM -> guest.
# The VMM stops it after a given number of exits.
#
# Syntax: GNU as, Intel syntax without % prefixes, 16-bit real mode.
# Loaded at guest-physical 0x7c00 with CS=0, IP=0x7c00.

        .code16
        .intel_syntax noprefix
        .globl _start
_start:
        cli
        mov     dx, 0x80            # the benchmark port
        xor     al, al
again:
        out     dx, al              # one KVM_EXIT_IO per iteration
        jmp     again
