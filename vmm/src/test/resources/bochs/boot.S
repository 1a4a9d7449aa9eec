# boot.S: the boot sector that lets Bochs run a bundled guest (BochsGuestsTest).
# The BIOS loads this sector to 0x7c00; it moves itself to 0x600, sets the
# UART to 8 data bits (our VMM's UART needs no set-up, Bochs's starts at 5),
# reads the next 16 sectors (the guest image) to 0x8000 with INT 13h, copies
# them to 0x7c00 and jumps there with CS=0, as our VMM starts a guest.
# Build: as --32 -o boot.o boot.S && ld -m elf_i386 -Ttext=0x7c00 -e _start --oformat binary -o boot.bin boot.o
        .code16
        .intel_syntax noprefix
        .globl _start
_start:
        cli
        xor     ax, ax
        mov     ds, ax
        mov     es, ax
        mov     ss, ax
        mov     sp, 0x600
        cld
        mov     si, 0x7c00
        mov     di, 0x600
        mov     cx, 512
        rep movsb
        jmp     0:(0x600 + moved - _start)
moved:
        mov     bl, dl              # the boot drive, from the BIOS
        mov     dx, 0x3fb           # line control: 8 data bits, no parity, 1 stop bit
        mov     al, 3
        out     dx, al
        mov     dl, bl
        mov     ax, 0x0210          # read 16 sectors
        mov     cx, 0x0002          # cylinder 0, sector 2
        mov     dh, 0               # head 0
        mov     bx, 0x8000
        int     0x13
        mov     si, 0x8000
        mov     di, 0x7c00
        mov     cx, 16 * 512
        rep movsb
        xor     ax, ax
        mov     sp, 0x7c00
        jmp     0:0x7c00
        .org    510
        .byte   0x55, 0xaa
