#!/usr/bin/env bash
# Guest MIPS of the soft CPU next to Bochs 2.7 on the same loop, in the same run: Bochs on the register
# loop, then `kvm-run bench --cpu` (the soft CPU on (a) the same register loop, (b) a paging-heavy loop,
# (c) an exit loop through the whole stack), then (a) over Bochs.
# Needs GNU as/ld and Debian's bochs, bochsbios, vgabios and bochs-term packages
# (apt-get install bochs bochsbios vgabios bochs-term); run from the repository root.
# Extra Maven arguments (e.g. -o) can be given in MVN_ARGS; BOCHS_ONLY=1 stops after Bochs, BOCHS_DEBUG=1
# also prints its raw times. Bochs is timed by wall clock and by its own CPU time; (a) is CPU time.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v bochs >/dev/null || { echo "bochs-compare: bochs is not installed (apt-get install bochs bochsbios vgabios bochs-term)"; exit 2; }
command -v script >/dev/null || { echo "bochs-compare: 'script' (util-linux) is needed to give Bochs a terminal"; exit 2; }
N=${1:-250000000}
work=$(mktemp -d)
trap 'touch "$work"/empty.done "$work"/loop.done 2>/dev/null; pkill -f "bochs -q -f $work" 2>/dev/null || true; rm -rf "$work"' EXIT

image() {   # image COUNT NAME
    as --32 -defsym COUNT="$1" -o "$work/l.o" native/bench/bochs-loop.S
    ld -m elf_i386 -Ttext=0x7c00 --oformat binary -o "$work/$2.bin" "$work/l.o"
    dd if=/dev/zero of="$work/$2.img" bs=512 count=2880 2>/dev/null
    dd if="$work/$2.bin" of="$work/$2.img" conv=notrunc 2>/dev/null
    cat > "$work/$2.rc" <<RC
megs: 16
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/vgabios/vgabios.bin
floppya: 1_44=$work/$2.img, status=inserted
boot: floppy
display_library: term
log: /dev/null
clock: sync=none
cpu: count=1, reset_on_triple_fault=0
RC
}

seconds() {  # seconds NAME: "WALL CPU", seconds from start until Bochs reports the shutdown port
    local out="$work/$1.out" start end pid="" ticks=0
    start=$(date +%s.%N)
    # Debian's Bochs starts in its debugger: "c" lets it run; the feeder keeps its terminal open until done
    ( sleep 1; printf 'c\n'; while [ ! -e "$work/$1.done" ]; do sleep 0.2; done ) 2>/dev/null \
        | script -qfc "bochs -q -f $work/$1.rc" /dev/null > "$out" 2>&1 &
    # Bochs' own CPU time (user + system, /proc/PID/stat fields 14 and 15), comparable with the soft CPU's;
    # sampled while it runs, since it may be gone by the time the shutdown message is seen
    until grep -q "Shutdown port" "$out" 2>/dev/null; do
        [ -z "$pid" ] && pid=$(pgrep -f "^bochs(-bin)? .*-f $work/$1.rc" | head -1 || true)  # Debian: a wrapper execs bochs-bin
        [ -n "$pid" ] && ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo "$ticks")
        sleep 0.05
    done
    end=$(date +%s.%N)
    [ -n "$pid" ] && ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo "$ticks")
    touch "$work/$1.done"
    pkill -f "bochs -q -f $work/$1.rc" 2>/dev/null || true
    wait 2>/dev/null || true
    echo "$(echo "$end - $start" | bc) $(echo "scale=3; $ticks / $(getconf CLK_TCK)" | bc)"
}

image 1 empty
image "$N" loop
read -r w0 c0 <<< "$(seconds empty)"
read -r w1 c1 <<< "$(seconds loop)"
[ -n "${BOCHS_DEBUG:-}" ] && echo "empty: $w0 s wall, $c0 s CPU; loop: $w1 s wall, $c1 s CPU"
mips=$(echo "scale=1; 4 * $N / ($w1 - $w0) / 1000000" | bc)
version=$(bochs --help 2>&1 | grep -o 'Bochs x86 Emulator [0-9.]*' | head -1 | awk '{print $4}')
if [ "$(echo "$c1 > $c0" | bc)" = 1 ]; then
    cpumips=$(echo "scale=1; 4 * $N / ($c1 - $c0) / 1000000" | bc)
    echo "Bochs $version: $((4 * N)) guest instructions (start-up subtracted) in $(echo "$w1 - $w0" | bc) s wall: $mips MIPS; in $(echo "$c1 - $c0" | bc) s CPU: $cpumips MIPS per CPU second"
else
    cpumips=$mips
    echo "Bochs $version: $((4 * N)) guest instructions (start-up subtracted) in $(echo "$w1 - $w0" | bc) s wall: $mips MIPS (its CPU time could not be read)"
fi
[ -n "${BOCHS_ONLY:-}" ] && exit 0
soft=$(mvn -q ${MVN_ARGS:-} -pl vmm -am compile -Dexec.args="bench --cpu" 2>&1 | grep -E '^\((a|b|c)\)')
echo "$soft"
a=$(echo "$soft" | grep '^(a)' | grep -oE '[0-9.]+ MIPS per CPU second' | awk '{print $1}')
echo "(a) / Bochs per CPU second: $(echo "scale=2; $a / $cpumips" | bc)x (over Bochs' wall-clock figure: $(echo "scale=2; $a / $mips" | bc)x)"
