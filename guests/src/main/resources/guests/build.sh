#!/bin/sh
# Reassembles every NAME.S here into the flat image NAME.bin, linked at the
# load address in guests.properties (0x7c00 for all bundled guests). A source
# may .include serial.inc or another NAME.S (longmode.S, paging64.S).
# Needs GNU binutils (as, ld). Run from this directory.
set -e
for s in *.S; do
  n=${s%.S}
  as --32 -o "/tmp/$n.o" "$s"
  ld -m elf_i386 -Ttext=0x7c00 -e _start --oformat binary -o "$n.bin" "/tmp/$n.o"
  chmod 644 "$n.bin"
  rm -f "/tmp/$n.o"
done
