# paging: a guest that builds and edits its own page tables and reports what
# it reads through them. One virtual page, the window at 0x400000, shows a
# different physical page in each of two address spaces A and B:
#   1. CR3=A: the window shows page X;  MOV to CR3 = B: it shows page Y.
#   2. The processor set the accessed bit of B's PTE on the read, and the
#      dirty bit on a write through the window (the write changes page Y).
#   3. The guest points B's PTE at page Z and flushes the old translation
#      with INVLPG: the window shows page Z.
#   4. Back to A: the window shows page X again; page Y, read through the
#      identity map, holds the byte written in step 2.
#   5. A's PTE for the window's next page is pointed at guest-physical
#      0x100000, where no memslot is (RAM is 1 MiB): a store and a load
#      through that mapping leave KVM_RUN as KVM_EXIT_MMIO.
# SDM vol. 3, "Paging": "Accessed and Dirty Flags", "Invalidation of TLBs and
# Paging-Structure Caches" (INVLPG, MOV to CR3).
#
# This text assembles to two guests: paging (32-bit paging) and, with
# PAGING64 set (paging64.S), paging64 (4-level paging in 64-bit mode). The
# experiment is the same text in both code sizes; only the tables above the
# page directory and the entry size differ. The host's /dev/kvm used as the
# reference (PVM) runs only paging64: it shuts a guest down at the MOV to CR0
# that turns on 32-bit paging.
#
# Pages written by the guest (for dirty logging): the paging structures at
# 0x10000-0x18fff, pages X, Y, Z at 0x20000, 0x21000, 0x22000, the stack below 0x7c00.
# Exits: MOV to CR0/CR3/CR4, WRMSR (64-bit only) and INVLPG stay in the kernel
# (with EPT on, MOV to CR3 and INVLPG need no exit at all); UART I/O and the two
# MMIO accesses reach userspace.
#
# Syntax: GNU as, Intel syntax without % prefixes. Starts in 16-bit real mode,
# loaded at guest-physical 0x7c00 with CS=0, IP=0x7c00.

        .intel_syntax noprefix
        .include "serial.inc"
        .include "boot.inc"

        .set    PD_A, 0x10000       # page directory of address space A
        .set    PD_B, 0x11000       # page directory of address space B
        .set    PT_ID, 0x12000      # identity map of the first 1 MiB, shared by A and B
        .set    PT_A, 0x13000       # A's page table for 0x400000-
        .set    PT_B, 0x14000       # B's page table for 0x400000-
        .set    PML4_A, 0x15000     # 64-bit only: PML4 and PDPT above each page directory
        .set    PDPT_A, 0x16000
        .set    PML4_B, 0x17000
        .set    PDPT_B, 0x18000
        .set    PAGE_X, 0x20000
        .set    PAGE_Y, 0x21000
        .set    PAGE_Z, 0x22000
        .set    WINDOW, 0x400000
        .set    MMIO_PHYS, 0x100000 # no memslot: the first byte past 1 MiB of RAM

        .ifdef  PAGING64
        .set    ESZ, 8              # bytes per paging-structure entry
        .set    PDE_SHIFT, 21       # a PDE covers 2 MiB
        .set    ROOT_A, PML4_A
        .set    ROOT_B, PML4_B
        .else
        .set    ESZ, 4
        .set    PDE_SHIFT, 22       # a PDE covers 4 MiB
        .set    ROOT_A, PD_A
        .set    ROOT_B, PD_B
        .endif
        .set    WIN_PDE, (WINDOW >> PDE_SHIFT) * ESZ   # the window's PDE, offset in a directory

        # Entries above 4 GiB are not used: only the low dword of an entry is
        # written, the high dword of a 64-bit entry stays zero (fresh RAM).

        # CR3 := EAX, in either code size.
        .macro  SET_CR3
        .ifdef  PAGING64
        mov     cr3, rax            # MOV to CR3 takes a 64-bit register in 64-bit mode
        .else
        mov     cr3, eax
        .endif
        .endm

        # Writes "page C\n" (zero-terminated) at the start of a page.
        .macro  TAG page, letter
        mov     dword ptr [\page], 0x65676170                   # "page"
        mov     dword ptr [\page + 4], 0x000a0020 + (\letter << 8)   # " C\n", 0
        .endm

        START_32
        IDENTITY_PT PT_ID, 256, ESZ  # identity map 0-1 MiB with 4 KiB pages
        mov     dword ptr [PD_A], PT_ID + P_RW
        mov     dword ptr [PD_B], PT_ID + P_RW
        mov     dword ptr [PD_A + WIN_PDE], PT_A + P_RW
        mov     dword ptr [PD_B + WIN_PDE], PT_B + P_RW
        mov     dword ptr [PT_A], PAGE_X + P_RW   # A: window -> X
        mov     dword ptr [PT_B], PAGE_Y + P_RW   # B: window -> Y
        TAG     PAGE_X, 'X'
        TAG     PAGE_Y, 'Y'
        TAG     PAGE_Z, 'Z'

        .ifdef  PAGING64
        mov     dword ptr [PML4_A], PDPT_A + P_RW
        mov     dword ptr [PDPT_A], PD_A + P_RW
        mov     dword ptr [PML4_B], PDPT_B + P_RW
        mov     dword ptr [PDPT_B], PD_B + P_RW
        ENTER_LONG_MODE ROOT_A, paged
        .code64
        .else
        mov     eax, ROOT_A
        mov     cr3, eax
        SET_BITS cr0, CR0_PG        # 32-bit paging
        .endif

paged:
        SAY     msg_a
        SAY     WINDOW              # page X

        mov     eax, ROOT_B
        SET_CR3                     # address space B
        SAY     msg_b
        SAY     WINDOW              # page Y
        SAY     msg_pte
        mov     eax, [PT_B]         # accessed (0x20) set by the read
        call    hex
        mov     byte ptr [WINDOW + 5], 'y'   # write through the window: page Y
        SAY     msg_pte_w
        mov     eax, [PT_B]         # dirty (0x40) set by the write
        call    hex
        SAY     msg_nl

        mov     dword ptr [PT_B], PAGE_Z + P_RW   # edit the PTE in memory...
        invlpg  [WINDOW]            # ...and drop the stale translation
        SAY     msg_invlpg
        SAY     WINDOW              # page Z

        mov     eax, ROOT_A
        SET_CR3                     # back to A
        SAY     msg_a
        SAY     WINDOW              # page X
        SAY     msg_y
        SAY     PAGE_Y              # page y: the write of step 2, through the identity map
        SAY     msg_pde
        mov     eax, [PD_B + WIN_PDE]   # a directory entry gets the accessed bit too
        call    hex
        SAY     msg_nl

        mov     dword ptr [PT_A + ESZ], MMIO_PHYS + P_RW   # window + 4 KiB -> no memslot
        invlpg  [WINDOW + 0x1000]
        mov     byte ptr [WINDOW + 0x1000 + 0x10], 0x5a     # KVM_EXIT_MMIO write to 0x100010
        movzx   ebp, byte ptr [WINDOW + 0x1000 + 0x14]     # KVM_EXIT_MMIO read from 0x100014
        SAY     msg_mmio
        mov     eax, ebp
        call    hex
        SAY     msg_done
        hlt

        SERIAL_ROUTINES

        FLAT_GDT

msg_a:       .asciz "CR3=A, window: "
msg_b:       .asciz "CR3=B, window: "
msg_pte:     .asciz "B's PTE after the read: "
msg_pte_w:   .asciz ", after a write: "
msg_invlpg:  .asciz "PTE -> page Z, INVLPG, window: "
msg_y:       .asciz "page Y now: "
msg_pde:     .asciz "B's PDE: "
msg_mmio:    .asciz "MMIO through the window+4K: "
msg_done:    .asciz "\npaging: done\n"
msg_nl:      .asciz "\n"
