# Paging guest for the MMU tests: starts in 32-bit protected mode (flat CS=0x08, DS=0x10 set by the
# test through KVM_SET_SREGS), loaded at 0x7c00, 2 MiB of RAM. It runs 32-bit paging, PAE paging and
# IA-32e paging in turn; in each it builds its own tables, writes through a mapping, edits a live entry
# (then INVLPG), switches CR3 between two address spaces, touches MMIO at guest-physical 0xd0000000
# (no RAM there) and takes two page faults in its own #PF handler (a write to a read-only page, a read
# of an absent one), and reads and writes through a large guest page. Every value it reads is printed in hex on the debug port 0xe9, one per line.
# Assembled as the bundled guests are (guests/.../build.sh):
#   as --32 -o paging.o paging.S && ld -m elf_i386 -Ttext=0x7c00 -e _start --oformat binary -o paging.bin paging.o
        .code32
        .text
        .globl _start
_start:
        lgdt    gdtr
        ljmp    $0x08, $1f
1:      movw    $0x10, %ax
        movw    %ax, %ds
        movw    %ax, %es
        movw    %ax, %ss
        movl    $0x7000, %esp
        # IDT with one gate: vector 14 (#PF), a 32-bit interrupt gate to pf_handler
        movl    $pf_handler, %eax
        movw    %ax, idt+14*8
        movw    $0x08, idt+14*8+2
        movw    $0x8e00, idt+14*8+4
        shrl    $16, %eax
        movw    %ax, idt+14*8+6
        lidt    idtr

# ---------------------------------------------------------------- 32-bit paging
        # PD 0x10000: PD[0] -> PT0 0x11000 (identity 0-4 MiB), PD[1] -> PT1 0x12000 (virtual 4 MiB)
        movl    $0x10000, %edi
        xorl    %eax, %eax
        movl    $(5*1024), %ecx
        rep stosl                               # clears 0x10000-0x14fff
        movl    $0x11003, 0x10000
        movl    $0x12003, 0x10004
        movl    $0x11000, %edi
        movl    $0x3, %eax
        movl    $1024, %ecx
2:      movl    %eax, (%edi)
        addl    $0x1000, %eax
        addl    $4, %edi
        loop    2b
        movl    $0x20003, 0x12000               # 0x400000 -> page A 0x20000
        movl    $0xd0000003, 0x12008            # 0x402000 -> MMIO 0xd0000000
        # second address space, PD2 0x13000: shared identity, 0x400000 -> page C 0x22000 via PT2 0x14000
        movl    $0x11003, 0x13000
        movl    $0x14003, 0x13004
        movl    $0x22003, 0x14000

        movl    $0x10000, %eax
        movl    %eax, %cr3
        movl    %cr4, %eax
        orl     $0x10, %eax                     # PSE: 4 MiB pages
        movl    %eax, %cr4
        movl    %cr0, %eax
        orl     $0x80010000, %eax               # PG | WP
        movl    %eax, %cr0

        call    exercise32
        # a live directory entry: PD[3] -> PT1, so 0xc00000 aliases 0x400000
        movl    $0x12003, 0x1000c
        movl    0xc00000, %eax
        call    hex32

        movl    %cr0, %eax
        andl    $0x7fffffff, %eax
        movl    %eax, %cr0

# ---------------------------------------------------------------- PAE paging
        # PDPT 0x15000, PD 0x16000, PT0 0x17000 (identity 0-2 MiB), PT1 0x18000 (virtual 4 MiB),
        # second space: PDPT2 0x15020 -> PD2 0x19000 -> PT2 0x1a000
        movl    $0x15000, %edi
        xorl    %eax, %eax
        movl    $(6*1024), %ecx
        rep stosl                               # clears 0x15000-0x1afff
        movl    $0x16001, 0x15000
        movl    $0x19001, 0x15020
        movl    $0x17003, 0x16000
        movl    $0x18003, 0x16010               # PD[2]: 4 MiB
        movl    $0x17003, 0x19000
        movl    $0x1a003, 0x19010
        movl    $0x17000, %edi
        movl    $0x3, %eax
        movl    $512, %ecx
2:      movl    %eax, (%edi)
        addl    $0x1000, %eax
        addl    $8, %edi
        loop    2b
        movl    $0x20003, 0x18000
        movl    $0xd0000003, 0x18010
        movl    $0x22003, 0x1a000
        # PAE entries are 8 bytes: the tables for exercise32 are patched through pte_addr and pte_step
        movl    $0x18000, pte_addr
        movl    $8, pte_size
        movl    $0x16040, large_pde             # PD[8]: virtual 16 MiB
        movl    $0x15000, cr3_a
        movl    $0x15020, cr3_b

        movl    %cr4, %eax
        orl     $0x20, %eax                     # PAE
        movl    %eax, %cr4
        movl    $0x15000, %eax
        movl    %eax, %cr3
        movl    %cr0, %eax
        orl     $0x80000000, %eax
        movl    %eax, %cr0
        call    exercise32
        movl    %cr0, %eax
        andl    $0x7fffffff, %eax
        movl    %eax, %cr0

# ---------------------------------------------------------------- IA-32e paging
        # PML4 0x1b000 -> PDPT 0x1c000 -> the PAE PD 0x16000 (identity 0-2 MiB and 0x400000 -> PT1)
        movl    $0x1b000, %edi
        xorl    %eax, %eax
        movl    $(2*1024), %ecx
        rep stosl
        movl    $0x1c003, 0x1b000
        movl    $0x16003, 0x1c000
        movl    $0x1b000, %eax
        movl    %eax, %cr3
        movl    $0xc0000080, %ecx               # EFER.LME
        rdmsr
        orl     $0x100, %eax
        wrmsr
        movl    %cr0, %eax
        orl     $0x80000000, %eax
        movl    %eax, %cr0
        ljmp    $0x18, $long64

# exercise32: write 0x400000, retarget it (entry at pte_addr) to page B, INVLPG, write again,
# read A and B back, switch to the second space (cr3_b) and back, read MMIO.
exercise32:
        movl    $0x11111111, 0x400000
        movl    0x400000, %eax
        call    hex32
        movl    pte_addr, %ebx
        movl    $0x21003, (%ebx)                # the guest edits its live page table
        invlpg  0x400000
        movl    $0x22222222, 0x400000
        movl    0x20000, %eax
        call    hex32
        movl    0x21000, %eax
        call    hex32
        movl    cr3_b, %eax
        movl    %eax, %cr3
        movl    $0x33333333, 0x400000
        movl    cr3_a, %eax
        movl    %eax, %cr3
        movl    0x400000, %eax
        call    hex32
        movl    0x22000, %eax
        call    hex32
        movl    $0x5a, 0x402000                 # MMIO write
        movl    0x402000, %eax                  # MMIO read
        call    hex32
        # a write to a read-only page (entry 3 maps page A without W; CR0.WP is on): the guest's
        # #PF handler prints CR2 and the error code and makes the entry writable, and the write completes
        movl    pte_size, %ebx
        imull   $3, %ebx
        addl    pte_addr, %ebx
        movl    $0x20001, (%ebx)
        movl    %ebx, fix_addr
        movl    $0x20003, fix_val
        movl    $0x55555555, 0x403000
        movl    0x20000, %eax
        call    hex32
        movl    $0, (%ebx)
        invlpg  0x403000
        # a read of an absent page (entry 4 is empty): the handler maps page B there
        movl    pte_size, %ebx
        shll    $2, %ebx
        addl    pte_addr, %ebx
        movl    %ebx, fix_addr
        movl    $0x21003, fix_val
        movl    0x404000, %eax
        call    hex32
        movl    $0, (%ebx)
        invlpg  0x404000
        # a large guest page (4 MiB with PSE, 2 MiB with PAE) at virtual 16 MiB maps guest-physical 0
        movl    large_pde, %ebx
        movl    $0x83, (%ebx)
        movl    0x1020000, %eax                 # page A through the large page
        call    hex32
        movl    $0x66666666, 0x1021000          # page B written through it
        movl    0x21000, %eax
        call    hex32
        movl    $0, (%ebx)
        invlpg  0x1020000
        invlpg  0x1021000
        movl    pte_addr, %ebx
        movl    $0x20003, (%ebx)                # back to page A for the next mode
        invlpg  0x400000
        ret

# pf_handler: prints CR2 and the error code, stores fix_val at fix_addr, flushes CR2's page, retries
pf_handler:
        pushl   %eax
        pushl   %ebx
        movl    %cr2, %eax
        call    hex32
        movl    8(%esp), %eax                   # the error code
        call    hex32
        movl    fix_addr, %eax
        movl    fix_val, %ebx
        movl    %ebx, (%eax)
        movl    %cr2, %eax
        invlpg  (%eax)
        popl    %ebx
        popl    %eax
        addl    $4, %esp
        iret

# hex32: prints %eax as 8 hex digits and a newline on port 0xe9
hex32:
        pushl   %ecx
        pushl   %edx
        movl    %eax, %edx
        movl    $8, %ecx
3:      roll    $4, %edx
        movl    %edx, %eax
        andl    $0xf, %eax
        movb    hexdigits(%eax), %al
        outb    %al, $0xe9
        loop    3b
        movb    $10, %al
        outb    %al, $0xe9
        popl    %edx
        popl    %ecx
        ret

        .code64
long64:
        movq    $0x4444444444444444, %rax
        movq    %rax, 0x400000
        movq    0x20000, %rax                   # PT1[0] still maps page A
        movq    %rax, %rdx
        shrq    $32, %rax
        call    hex64
        movq    $0x21003, %rax
        movq    %rax, 0x18000                   # 64-bit store into the live table
        invlpg  0x400000
        movq    0x400000, %rax                  # now page B
        call    hex64
        movq    0x402000, %rax                  # MMIO read
        call    hex64
        hlt

# hex64: prints the low 32 bits of %rax
hex64:
        movl    %eax, %edx
        movl    $hexdigits, %esi
        movl    $8, %ecx
3:      roll    $4, %edx
        movl    %edx, %eax
        andl    $0xf, %eax
        movb    (%rsi,%rax), %al
        outb    %al, $0xe9
        loop    3b
        movb    $10, %al
        outb    %al, $0xe9
        ret

hexdigits:  .ascii "0123456789abcdef"
pte_addr:   .long 0x12000
pte_size:   .long 4
large_pde:  .long 0x10010                       # PD[4]: virtual 16 MiB
fix_addr:   .long 0
fix_val:    .long 0
        .p2align 3
idt:    .fill 15*8, 1, 0
idtr:   .word 15*8 - 1
        .long idt
cr3_a:      .long 0x10000
cr3_b:      .long 0x13000
        .p2align 3
gdt:    .quad 0
        .quad 0x00cf9a000000ffff                # 0x08 32-bit code
        .quad 0x00cf92000000ffff                # 0x10 data
        .quad 0x00af9a000000ffff                # 0x18 64-bit code
gdtr:   .word gdtr - gdt - 1
        .long gdt
