# in-read: an IN whose data comes from userspace.
# Reads a 32-bit value from the VMM's value port 0x510, adds one, keeps the
# result in EBX and prints it as eight hex digits and a newline on the UART.
# The VMM fills the data area of kvm_run before the next KVM_RUN; the kernel
# then copies it into EAX as it completes the IN (complete_pio).
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

        mov     dx, 0x510           # the value port
        in      eax, dx             # a 4-byte IN: KVM_EXIT_IO, size 4
        inc     eax                 # the guest's own work on the value
        mov     ebx, eax            # the result stays in EBX for the test

        mov     cx, 8               # eight nibbles, most significant first
        mov     esi, ebx
hex_digit:
        rol     esi, 4              # bring the next nibble into the low bits
        mov     ax, si
        and     al, 0x0f
        add     al, '0'             # 0-9 become '0'-'9'
        cmp     al, '9'
        jbe     have_digit
        add     al, 'A' - '0' - 10  # 10-15 become 'A'-'F'
have_digit:
        call    putc
        loop    hex_digit

        mov     al, '\n'
        call    putc
        hlt

# putc: send AL to the UART once the transmitter is empty. Keeps AL.
putc:
        push    dx
        mov     ah, al              # park the character in AH
        mov     dx, 0x3fd           # line status register
1:      in      al, dx
        test    al, 0x20            # transmitter holding register empty?
        jz      1b
        mov     dx, 0x3f8
        mov     al, ah
        out     dx, al
        pop     dx
        ret
