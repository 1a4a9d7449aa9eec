# shadow-pt: the guest of the MMU call-path page and of lab 7. It starts in real mode at 0x7c00 like the
# bundled guests, switches to 32-bit protected mode and turns on 32-bit paging with tables of its own,
# then:
#   1. stores 0x11111111 through virtual 0x400000 (page table PT1 -> page A at 0x20000) and prints it,
#   2. writes a live page-directory entry, PD[3] = PT1, so that virtual 0xc00000 aliases 0x400000,
#   3. reads 0xc00000 through the new entry and prints it,
#   4. writes a live page-table entry, PT1[1] = page B at 0x21000, stores 0x22222222 through virtual
#      0x401000 and prints page B read through the identity map,
# each value as 8 hex digits and a newline on the debug port 0xe9, then HLT.
# With EPT each guest-physical page is mapped on its first touch (EPT violations); without EPT
# (kvm-run --param ept=0) KVM shadows the guest's tables: step 2 is a write to a shadowed, write-protected
# directory; step 4 writes a shadowed leaf table, which KVM lets go out of sync unless oos_shadow=0.
# Memory: code at 0x7c00, stack below 0x7000, PD 0x10000, PT0 0x11000 (identity 0-1 MiB), PT1 0x12000, pages A 0x20000 and B 0x21000.
# Assembled as the bundled guests are (guests/src/main/resources/guests/build.sh):
#   as --32 -o shadow-pt.o shadow-pt.S && ld -m elf_i386 -Ttext=0x7c00 -e _start --oformat binary -o shadow-pt.bin shadow-pt.o
        .code16
        .text
        .globl _start
_start:
        cli
        xorw    %ax, %ax
        movw    %ax, %ds
        lgdtl   gdtr
        movl    %cr0, %eax
        orl     $1, %eax                        # PE
        movl    %eax, %cr0
        ljmpl   $0x08, $pm32

        .code32
pm32:   movw    $0x10, %ax
        movw    %ax, %ds
        movw    %ax, %es
        movw    %ax, %ss
        movl    $0x7000, %esp

        # clear PD, PT0 and PT1 (0x10000-0x12fff)
        movl    $0x10000, %edi
        xorl    %eax, %eax
        movl    $(3*1024), %ecx
        rep stosl
        movl    $0x11003, 0x10000               # PD[0] -> PT0, present | writable
        movl    $0x12003, 0x10004               # PD[1] -> PT1 (virtual 4 MiB)
        movl    $0x11000, %edi                  # PT0: identity map of the first MiB
        movl    $0x3, %eax
        movl    $256, %ecx
1:      movl    %eax, (%edi)
        addl    $0x1000, %eax
        addl    $4, %edi
        loop    1b
        movl    $0x20003, 0x12000               # PT1[0]: 0x400000 -> page A 0x20000

        movl    $0x10000, %eax
        movl    %eax, %cr3
        movl    %cr0, %eax
        orl     $0x80010000, %eax               # PG | WP
        movl    %eax, %cr0

        movl    $0x11111111, 0x400000           # 1. a store through the guest's mapping
        movl    0x400000, %eax
        call    hex32
        movl    $0x12003, 0x1000c               # 2. the guest writes a live directory entry
        movl    0xc00000, %eax                  # 3. and reads through it
        call    hex32
        movl    $0x21003, 0x12004               # 4. the guest writes a live leaf entry: 0x401000 -> page B
        movl    $0x22222222, 0x401000
        movl    0x21000, %eax
        call    hex32
        hlt

# hex32: EAX as 8 hex digits and a newline on port 0xe9
hex32:  movl    $8, %ecx
        movl    %eax, %ebx
        movw    $0xe9, %dx
2:      roll    $4, %ebx
        movl    %ebx, %eax
        andl    $0xf, %eax
        movb    digits(%eax), %al
        outb    %al, %dx
        loop    2b
        movb    $'\n', %al
        outb    %al, %dx
        ret

digits: .ascii  "0123456789abcdef"
        .p2align 3
gdt:    .quad   0
        .quad   0x00cf9b000000ffff              # 0x08: code, base 0, 4 GiB, 32-bit
        .quad   0x00cf93000000ffff              # 0x10: data, base 0, 4 GiB
gdtr:   .word   gdtr - gdt - 1
        .long   gdt
