#!/bin/sh
# tests/bench/jprobe.sh - cost of the jump-probe backend (daemon/jprobe.h)
# side by side with heaptrack, in one run (not part of make check).
#
# Workloads (each waits for a go byte, then times itself):
#   micro  tests/targets/alloc-suite bench N: N malloc(64)+free pairs
#   work   tests/bench/jprobe-work N: allocation-heavy (a free and a malloc
#          of 16..271 bytes per step, plus filling and summing the block)
#   work4  the same folding each block 4 times: about the allocation
#          density of the benchmark where heaptrack was measured at 5.6x
# Runs, interleaved, best of R each (the machine is shared: the minimum is
# the least disturbed run; a jprobe run whose ring overflowed counts only
# when all did, and the table says so):
#   plain      the workload alone
#   jprobe     libc's allocators jump-probed, ring drained concurrently by
#              tests/bench/jprobe-bench (65536 slots, 512-byte stack slices)
#   heaptrack  heaptrack's LD_PRELOAD recorder (if installed)
# Prints ns per step, added ns per allocation event (2 events a step:
# malloc and free) and the slowdown against plain.
# Usage: tests/bench/jprobe.sh [BUILDDIR] [N] [R]
set -u
B=${1:-${top_builddir:-.}}
N=${2:-1000000}
R=${3:-5}
for p in tests/targets/alloc-suite tests/bench/jprobe-bench tests/bench/jprobe-work; do
	[ -x "$B/$p" ] || make -C "$B" "$p" >/dev/null || exit 1
done
HT=$(command -v heaptrack || true)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM

# one timed run: $1 = plain|jprobe|heaptrack, $2 = micro|work; prints ns/step
one() {
	case $2 in
	micro) set -- "$1" "$B/tests/targets/alloc-suite" bench "$N" ;;
	work) set -- "$1" "$B/tests/bench/jprobe-work" "$N" ;;
	work4) set -- "$1" "$B/tests/bench/jprobe-work" "$N" 4 ;;
	esac
	case $1 in
	plain) echo g | "$2" "$3" ${4:-} ;;
	jprobe) "$B/tests/bench/jprobe-bench" "$2" "$3" ${4:-} > "$TMP/j.out"
		# a run whose ring overflowed took the cheaper drop path: it
		# only counts when no run went without drops
		if grep -q ' drops 0 ' "$TMP/j.out"; then
			cat "$TMP/j.out"
		else
			grep -v '^\(bench\|work\) ' "$TMP/j.out"
			sed -n 's/^\(bench\|work\) /dropped /p' "$TMP/j.out" >> "$TMP/dropped"
		fi
		cat "$TMP/j.out" >> "$TMP/jprobe.log" ;;
	heaptrack) (cd "$TMP" && echo g | "$HT" -o "$TMP/ht" "$2" "$3" ${4:-} 2>/dev/null) ;;
	esac | sed -n 's/^\(bench\|work\) \([0-9.]*\).*/\2/p'
	rm -f "$TMP"/ht*
}

best() { tr ' ' '\n' | grep . | sort -n | head -1; }

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs; N=$N steps, best of $R"
for w in micro work work4; do
	pl=""; jp=""; ht=""
	for r in $(seq "$R"); do
		pl="$pl $(one plain $w)"
		jp="$jp $(one jprobe $w)"
		[ -n "$HT" ] && ht="$ht $(one heaptrack $w)"
	done
	P=$(echo $pl | best); J=$(echo $jp | best)
	nd=$(grep -c ' drops 0 ' "$TMP/jprobe.log")
	if [ -z "$J" ]; then # every run dropped: say so, use them anyway
		J=$(sed -n 's/^dropped \([0-9.]*\).*/\1/p' "$TMP/dropped" | best)
		nd="0 (numbers below include the drop path)"
	fi
	printf '\n%s: jprobe runs without a drop: %s of %s; drops per run:%s\n' "$w" "$nd" "$R" \
		"$(sed -n 's/.* drops \([0-9]*\) .*/ \1/p' "$TMP/jprobe.log" | tr -d '\n')"
	printf '  %-10s %10s %16s %10s\n' run ns/step "added ns/event" slowdown
	printf '  %-10s %10.1f %16s %10s\n' plain "$P" - 1.00
	printf '  %-10s %10.1f %16.1f %10.2f\n' jprobe "$J" "$(echo "($J - $P) / 2" | bc -l)" \
		"$(echo "$J / $P" | bc -l)"
	if [ -n "$ht" ]; then
		H=$(echo $ht | best)
		printf '  %-10s %10.1f %16.1f %10.2f\n' heaptrack "$H" "$(echo "($H - $P) / 2" | bc -l)" \
			"$(echo "$H / $P" | bc -l)"
	else
		echo "  heaptrack: not installed"
	fi
	rm -f "$TMP/jprobe.log" "$TMP/dropped"
done
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
