#!/bin/sh
# tests/bench/jprobe.sh - cost of the jump-probe backend (daemon/jprobe.h)
# side by side with heaptrack, in one run (not part of make check).
#
#   alloc-suite bench N: N malloc(64)+free pairs, prints ns per pair.
#   plain      the tracee alone
#   jprobe     libc's allocators jump-probed, ring drained concurrently
#              (tests/bench/jprobe-bench)
#   heaptrack  LD_PRELOAD recorder (heaptrack, if installed)
# Prints ns per pair, added ns per allocation event (2 events a pair) and
# slowdowns (wall time of the whole run against plain).
# Usage: tests/bench/jprobe.sh [BUILDDIR] [N]
set -u
B=${1:-${top_builddir:-.}}
N=${2:-2000000}
T=$B/tests/targets/alloc-suite
J=$B/tests/bench/jprobe-bench
[ -x "$T" ] || { echo "build $T first (make check)" >&2; exit 1; }
[ -x "$J" ] || make -C "$B" tests/bench/jprobe-bench >/dev/null || exit 1

now() { date +%s.%N; }
# the tracee waits for a byte on stdin: give it one
plain() { echo g | "$T" bench "$N" | sed -n 's/^bench //p'; }

best() { sort -n | head -1; }

echo "load: $(cut -d' ' -f1-3 /proc/loadavg)   N=$N pairs"
p_ns=""; j_ns=""; h_ns=""; p_w=""; j_w=""; h_w=""
for run in 1 2 3; do
	t0=$(now); v=$(plain); t1=$(now)
	p_ns="$p_ns $v"; p_w="$p_w $(echo "$t1 - $t0" | bc)"
	t0=$(now); v=$("$J" "$T" bench "$N" | tee /tmp/jprobe-bench.$$ | sed -n 's/^bench //p'); t1=$(now)
	j_ns="$j_ns $v"; j_w="$j_w $(echo "$t1 - $t0" | bc)"
	if command -v heaptrack >/dev/null 2>&1; then
		d=$(mktemp -d)
		t0=$(now)
		v=$(cd "$d" && echo g | heaptrack -o "$d/ht" "$T" bench "$N" 2>/dev/null |
			sed -n 's/^bench //p')
		t1=$(now)
		rm -rf "$d"
		h_ns="$h_ns $v"; h_w="$h_w $(echo "$t1 - $t0" | bc)"
	fi
done
grep '^events' /tmp/jprobe-bench.$$; rm -f /tmp/jprobe-bench.$$
P=$(echo $p_ns | tr ' ' '\n' | best); PW=$(echo $p_w | tr ' ' '\n' | best)
JN=$(echo $j_ns | tr ' ' '\n' | best); JW=$(echo $j_w | tr ' ' '\n' | best)
printf '%-10s %10s %14s %12s %10s\n' run ns/pair "added ns/event" "wall s" slowdown
printf '%-10s %10.1f %14s %12.3f %10s\n' plain "$P" - "$PW" 1.00
printf '%-10s %10.1f %14.1f %12.3f %10.2f\n' jprobe "$JN" "$(echo "($JN - $P) / 2" | bc -l)" \
	"$JW" "$(echo "$JN / $P" | bc -l)"
if [ -n "$h_ns" ]; then
	HN=$(echo $h_ns | tr ' ' '\n' | best); HW=$(echo $h_w | tr ' ' '\n' | best)
	printf '%-10s %10.1f %14.1f %12.3f %10.2f\n' heaptrack "$HN" "$(echo "($HN - $P) / 2" | bc -l)" \
		"$HW" "$(echo "$HN / $P" | bc -l)"
else
	echo "heaptrack: not installed"
fi
echo "(slowdown: ns per pair against plain, best of 3; wall s includes start-up and, for heaptrack, its report)"
