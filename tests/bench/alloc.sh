#!/bin/bash
# tests/bench/alloc.sh - what perfkitd --alloc costs, measured in one run
# (not part of make check; run from the build directory after make check,
# or with top_builddir set):
#
#   1. a bare ptrace stop (tests/bench/ptrace-rtt, spinning wait);
#   2. the cost per traced event: alloc-suite's malloc(64)+free loop bare
#      and under perfkitd --alloc (the default backend, trap: a pair is two
#      events, written into the shared ring; a thread stops only when the
#      ring is full, so this loop, faster than perfkitd, runs at its
#      pace), as a ratio to the bare stop, with the stops taken;
#   3. heaptrack (LD_PRELOAD) on the same loop: both slowdowns, and the
#      allocation counts and leaked bytes of both tools on the same runs
#      (and on alloc-suite basic, whose truth is known).
set -u
: "${top_builddir:=$PWD}"
T=$top_builddir/tests/targets/alloc-suite
PERFKITD=$top_builddir/daemon/perfkitd
PERFKIT=$top_builddir/src/perfkit
RTT=$top_builddir/tests/bench/ptrace-rtt
N=${ALLOC_BENCH_N:-20000}
for f in "$T" "$PERFKITD" "$PERFKIT" "$RTT"; do
	[ -x "$f" ] || { echo "alloc.sh: $f is not built (make check first)" >&2; exit 1; }
done
TMP=$(mktemp -d "${TMPDIR:-/tmp}/pk-alloc-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
export PERFKIT_DB=$TMP/b.db

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
bare_stop=$("$RTT" 100000 3000 | awk '/^blocking/ { print $3 }')
echo "bare ptrace stop (interrupt, blocking wait, getregs, cont, back to back): median ${bare_stop} us"

pair_ns() { awk '/^bench/ { print $2 }' "$1"; }
best_bare=
for i in 1 2 3; do
	echo g | "$T" bench "$N" >"$TMP/bare$i"
	v=$(pair_ns "$TMP/bare$i")
	best_bare=$(python3 -c "print(min(float('$v'), float('${best_bare:-$v}')))")
done
echo g | "$PERFKITD" run -q --alloc -n bench -- "$T" bench "$N" >"$TMP/traced" 2>"$TMP/traced.err"
traced=$(pair_ns "$TMP/traced")
stops=$("$PERFKIT" sessions show bench --format json | python3 -c "import json,sys; s=json.load(sys.stdin)['stats']; print('%d' % (s.get('alloc_jump_trap_stops', 0) + s.get('alloc_probe_stops', 0)))" 2>/dev/null)
python3 - "$best_bare" "$traced" "$bare_stop" "$stops" "$N" <<'PY'
import sys
bare, traced, stop, stops, n = (float(x) if x not in ("", "None") else float("nan") for x in sys.argv[1:6])
per_event = (traced - bare) / 2 / 1000
print("malloc(64)+free pair: bare %.1f ns, under perfkitd --alloc %.1f us (%.0fx)" % (bare, traced / 1000, traced / bare))
print("cost per traced event (2 per pair): %.2f us = %.3fx the bare stop; %d ptrace stops for %d events" % (per_event, per_event / stop, stops, 2 * n))
PY

# heaptrack on the same loop
if command -v heaptrack >/dev/null && command -v heaptrack_print >/dev/null; then
	echo g | heaptrack -o "$TMP/ht-bench" "$T" bench "$N" >"$TMP/ht.out" 2>"$TMP/ht.err"
	ht=$(pair_ns "$TMP/ht.out")
	python3 -c "print('heaptrack on the same loop: %.2f us per pair (%.1fx the bare loop); perfkitd --alloc: %.1fx' % ($ht / 1000, $ht / $best_bare, $traced / $best_bare))"
	compare() {
		local name=$1 file=$2 pk ht_calls ht_leak
		pk=$("$PERFKIT" allocs "$name" --format json | python3 -c "import json,sys; t=json.load(sys.stdin)['totals']; print(t['alloc_calls'], t['live_bytes'])")
		heaptrack_print -p 0 -a 0 -T 0 -l 0 "$file"* >"$TMP/hp.txt" 2>/dev/null
		ht_calls=$(awk '/^calls to allocation functions:/ { print $5 }' "$TMP/hp.txt")
		ht_leak=$(heaptrack_print -p 0 -a 0 -T 0 -l 1 "$file"* 2>/dev/null | awk '/leaked over .* from$/ { s = $1; m = 1; if (s ~ /K$/) m = 1000; if (s ~ /M$/) m = 1000000; sub(/[KMB]+$/, "", s); t += s * m } END { printf "%d", t }')
		echo "$name: perfkitd alloc_calls ${pk% *} leaked ${pk#* } bytes; heaptrack calls ${ht_calls} leaked ~${ht_leak} bytes (its K = 1000, 3 digits)"
	}
	compare bench "$TMP/ht-bench"
	echo "(heaptrack's preload library links libstdc++, whose constructor allocates its"
	echo " emergency exception pool before main: one call more than the program makes)"
	echo g | "$PERFKITD" run -q --alloc -n basic -- "$T" basic >/dev/null 2>&1
	echo g | heaptrack -o "$TMP/ht-basic" "$T" basic >/dev/null 2>&1
	compare basic "$TMP/ht-basic"
	echo "(alloc-suite basic ends its realloc chain with realloc(p, 0), which frees p in glibc;"
	echo " heaptrack counts that block as leaked, perfkitd as freed)"
else
	echo "heaptrack not installed (Debian package heaptrack): comparison skipped"
fi
