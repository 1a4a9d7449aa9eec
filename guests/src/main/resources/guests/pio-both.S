# pio-both: the two branches of port I/O in one loop.
# Port 0x500 has an ioeventfd registered by the VMM (KVM_IOEVENTFD), so the
# kernel completes those OUTs itself (kernel_pio) and only bumps an eventfd
# counter. Port 0x3f8 has nothing in the kernel, so those OUTs exit to
# userspace (KVM_EXIT_IO). Five rounds print "12345", then a newline.
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
        mov     ss, ax
        mov     sp, 0x7c00
        mov     cx, 5               # number of rounds
        mov     bl, '1'             # the digit to print this round

round:
        mov     dx, 0x500           # the ioeventfd port:
        mov     al, bl              # the kernel signals the eventfd and
        out     dx, al              # resumes the guest without leaving KVM_RUN

        mov     dx, 0x3f8           # the serial port: no kernel device here,
        mov     al, bl              # so KVM_RUN returns with KVM_EXIT_IO
        out     dx, al

        inc     bl                  # next digit
        loop    round               # CX -= 1; repeat while CX != 0

        mov     al, '\n'            # end the line (userspace again)
        out     dx, al
        hlt
