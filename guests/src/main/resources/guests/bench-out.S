# bench-out: the exit benchmark. An endless "out dx, al; jmp" loop to port
# 0x520 (no device in kernel or VMM), so every iteration is one round trip:
# guest -> KVM -> userspace -> KVM -> guest. The VMM stops it after a given
# number of exits.
#
# Why not the classic POST port 0x80? KVM 2.6.33 clears bit 0x80 in the VMX
# I/O bitmap (hardware_setup in vmx.c): OUTs to 0x80 are the io_delay of old
# kernels and run on the real port without a VM exit. On 2.6.33 this loop
# would then never exit at all.
#
# Syntax: GNU as, Intel syntax without % prefixes, 16-bit real mode.
# Loaded at guest-physical 0x7c00 with CS=0, IP=0x7c00.

        .code16
        .intel_syntax noprefix
        .globl _start
_start:
        cli
        mov     dx, 0x520           # the benchmark port
        xor     al, al
again:
        out     dx, al              # one KVM_EXIT_IO per iteration
        jmp     again
