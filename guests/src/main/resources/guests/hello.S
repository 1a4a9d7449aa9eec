# hello: the "hello world" of virtualization.
# Prints "Hello from the guest!\n" on the 16550 UART at 0x3f8, then halts.
# Each character costs two exits to userspace: an IN from the line status
# register (is the transmitter ready?) and an OUT to the transmit register.
#
# Syntax: GNU as, Intel syntax without % prefixes, 16-bit real mode.
# Loaded by the VMM at guest-physical 0x7c00 with CS=0, IP=0x7c00.

        .code16
        .intel_syntax noprefix
        .globl _start
_start:
        cli                         # no interrupts: there is no interrupt controller
        xor     ax, ax              # flat real mode: every segment base is 0,
        mov     ds, ax              # so a label's link address is its
        mov     es, ax              # guest-physical address
        mov     ss, ax
        mov     sp, 0x7c00          # stack grows down below the image
        cld                         # lodsb walks forwards
        mov     si, offset message

next_char:
        lodsb                       # AL = [DS:SI], SI += 1
        test    al, al              # the string ends with a zero byte
        jz      done
        mov     bl, al              # keep the character; AL is needed for IN

        mov     dx, 0x3fd           # line status register (LSR)
wait_thre:
        in      al, dx              # exit to userspace: KVM_EXIT_IO, direction IN
        test    al, 0x20            # bit 5: transmitter holding register empty
        jz      wait_thre

        mov     dx, 0x3f8           # transmitter holding register (THR)
        mov     al, bl
        out     dx, al              # exit to userspace: KVM_EXIT_IO, direction OUT
        jmp     next_char

done:
        hlt                         # no irqchip in the kernel: KVM_EXIT_HLT

message:
        .asciz  "Hello from the guest!\n"
