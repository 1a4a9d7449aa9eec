# mmio: memory that no memslot backs.
# Guest RAM is slot 0 from 0 to the top of memory (1 MiB by default), so
# 0xffff:0x0010 = 0x100000 lies just past it. A store there and a load from
# 0x100004 each leave KVM_RUN with KVM_EXIT_MMIO. The VMM has no device at that
# address: the store is dropped and the load reads all ones. The byte loaded
# goes to the Bochs-style debug port 0xe9, which the VMM echoes to its output.
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

        mov     ax, 0xffff          # ES base = 0xffff0
        mov     es, ax
        mov     byte ptr es:[0x10], 0x5a   # write 1 byte at 0x100000: MMIO write
        mov     al, byte ptr es:[0x14]     # read 1 byte at 0x100004: MMIO read
        mov     bl, al                     # keep it for the test (expect 0xff)

        mov     dx, 0xe9            # debug port: print 'M', then the byte read
        mov     al, 'M'
        out     dx, al
        mov     al, bl
        out     dx, al
        hlt
