# paging64: the paging guest in 64-bit mode - the same experiment through
# 4-level page tables (PML4 -> PDPT -> page directory -> page table).
# See paging.S, whose text this assembles.
        .set    PAGING64, 1
        .include "paging.S"
