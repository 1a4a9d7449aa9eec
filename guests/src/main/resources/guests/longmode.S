# longmode: the modes guest without its two legacy paging steps - real mode,
# 16-bit and 32-bit protected mode, then straight to IA-32e mode (64-bit and
# compatibility mode). See modes.S, whose text this assembles.
        .set    DIRECT_TO_LONG_MODE, 1
        .include "modes.S"
