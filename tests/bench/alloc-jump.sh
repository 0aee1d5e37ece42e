#!/bin/bash
# tests/bench/alloc-jump.sh - perfkitd --alloc on the jump backend against
# the int3 backend and heaptrack, in one run (not part of make check).
#
# Workloads (each waits for a go byte, then times itself per step; a step
# is one malloc and one free, 2 allocation events):
#   micro  tests/targets/alloc-suite bench N: malloc(64)+free pairs
#   work   tests/bench/jprobe-work N: allocation-heavy (a free and a malloc
#          of 16..271 bytes per step, the block filled and summed)
#   work4  the same folding each block 4 times: about the allocation
#          density of the benchmark where heaptrack was measured at 5.6x
#   new4   work4 in C++ (tests/bench/new-work N 4): new[] and delete[]
#   deep4  work4 run 20 calls deep (a server's stack: every allocation's
#          stack 24 frames)
# Runs, interleaved, R of each, medians:
#   plain      the workload alone
#   jump       perfkitd run --alloc --probe-backend jump
#   trap       perfkitd run --alloc --probe-backend trap (the default: the
#              jump backend's ring, but a call waits for room, and then
#              stops, instead of being dropped: when these loops outrun
#              perfkitd they run at its pace)
#   int3       perfkitd run --alloc --probe-backend int3 (N/INT3_DIV steps:
#              about 25 us per event; the per-step time is what compares)
#   heaptrack  heaptrack's LD_PRELOAD recorder, if installed
# Prints ns per step, added us per allocation event, the slowdown against
# plain, and the allocation counts each tool recorded (perfkitd's
# alloc_calls and ring drops, heaptrack's "allocations").
# Usage: tests/bench/alloc-jump.sh [BUILDDIR] [N] [R]   (WORKLOADS="work4 new4" for some)
set -u
B=${1:-${top_builddir:-.}}
N=${2:-1000000}
R=${3:-5}
INT3_DIV=${INT3_DIV:-100}
B=$(cd "$B" && pwd)
for p in tests/targets/alloc-suite tests/bench/jprobe-work tests/bench/new-work daemon/perfkitd src/perfkit; do
	[ -x "$B/$p" ] || make -C "$B" "$p" >/dev/null || exit 1
done
HT=$(command -v heaptrack || true)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/pk-alloc-jump.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM
export PERFKIT_DB=$TMP/b.db
run_id=0

# one RUN WORKLOAD: appends NS_PER_STEP to $TMP/RUN.ns and "CALLS DROPS"
# to $TMP/RUN.calls (- where the tool does not say)
one() {
	local how=$1 w=$2 n=$N out=$TMP/out err=$TMP/err ns calls=- drops=-
	[ "$how" = int3 ] && n=$((N / INT3_DIV))
	case $w in
	micro) set -- "$B/tests/targets/alloc-suite" bench "$n" ;;
	work) set -- "$B/tests/bench/jprobe-work" "$n" ;;
	work4) set -- "$B/tests/bench/jprobe-work" "$n" 4 ;;
	new4) set -- "$B/tests/bench/new-work" "$n" 4 ;;
	deep4) set -- "$B/tests/bench/jprobe-work" "$n" 4 20 ;;
	esac
	run_id=$((run_id + 1))
	case $how in
	plain) echo g | "$@" >"$out" 2>"$err" ;;
	jump | trap | int3)
		echo g | "$B/daemon/perfkitd" run -q --alloc --probe-backend "$how" -n "r$run_id" -- "$@" >"$out" 2>"$err"
		read -r calls drops < <("$B/src/perfkit" sessions show "r$run_id" --format json |
			python3 -c "import json, sys; s = json.load(sys.stdin)['stats']; print(int(s.get('alloc_calls', 0)), int(s.get('alloc_ring_drops', 0)))") ;;
	heaptrack)
		(cd "$TMP" && echo g | "$HT" -o "$TMP/ht" "$@" >"$out" 2>"$err")
		calls=$(cat "$out" "$err" | sed -n 's/^[[:space:]]*allocations:[[:space:]]*\([0-9]*\).*/\1/p' | head -1)
		rm -f "$TMP"/ht* ;;
	esac
	ns=$(sed -n 's/^\(bench\|work\) \([0-9.]*\).*/\2/p' "$out" | head -1)
	[ -n "$ns" ] || { echo "alloc-jump.sh: $how $w failed:" >&2; cat "$out" "$err" >&2; }
	echo "${ns:-nan}" >>"$TMP/$how.ns"
	echo "${calls:--} ${drops:--}" >>"$TMP/$how.calls"
}

median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs; N=$N steps (int3: N/$INT3_DIV), median of $R"
hows="plain jump trap int3"
[ -n "$HT" ] && hows="$hows heaptrack"
for w in ${WORKLOADS:-micro work work4 new4 deep4}; do
	for h in $hows; do : >"$TMP/$h.ns"; : >"$TMP/$h.calls"; done
	for r in $(seq "$R"); do
		for h in $hows; do
			one "$h" "$w"
		done
	done
	P=$(median <"$TMP/plain.ns")
	printf '\n%s (%s steps):\n' "$w" "$N"
	printf '  %-10s %10s %16s %10s   %s\n' run ns/step "added us/event" slowdown "allocations recorded per run (drops)"
	for h in $hows; do
		M=$(median <"$TMP/$h.ns")
		counts=$(awk '{ printf " %s", $1; if ($2 != "-") printf " (%s)", $2 }' "$TMP/$h.calls")
		[ "$h" = plain ] && counts=" -"
		python3 -c "import sys; p, m = float(sys.argv[2]), float(sys.argv[3]); print('  %-10s %10.1f %16s %10.2f  %s' % (sys.argv[1], m, '-' if sys.argv[1] == 'plain' else '%.3f' % ((m - p) / 2 / 1000), m / p, sys.argv[4]))" "$h" "$P" "$M" "$counts"
	done
done
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
