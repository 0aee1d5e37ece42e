#!/bin/bash
# counters.sh - what --counters and --cache-sim cost (a benchmark, not a
# test: it prints numbers and asserts nothing).
#
#   bash tests/bench/counters.sh [BUILDDIR] [REPS]
#
# 1. A CPU-bound target (tests/bench/cpubound) bare, under perfkitd's
#    sampler alone, and under the sampler with --counters, interleaved
#    REPS times (default 7); medians of the target's own work time and
#    CPU time.  Counting should add nothing measurable beyond the sampler.
# 2. tests/targets/matrix 2048 natively, under valgrind's cachegrind with
#    perfkitd's options, and under perfkitd run --cache-sim: the two last
#    should take the same time (perfkit adds only the import, also shown).
set -u
B=$(cd "${1:-.}" && pwd) || exit 2
R=${2:-7}
TMP=$(mktemp -d /tmp/perfkit-bench-counters.XXXXXX) || exit 2
trap 'rm -rf "$TMP"' EXIT
export PERFKIT_DB=$TMP/b.db
ITER=${PK_BENCH_ITER:-40000}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs (timings on a loaded machine are noisy)"
for i in $(seq "$R"); do
	"$B/tests/bench/cpubound" "$ITER" >>"$TMP/bare"
	"$B/daemon/perfkitd" run -q -- "$B/tests/bench/cpubound" "$ITER" >>"$TMP/sampler"
	"$B/daemon/perfkitd" run -q --counters -- "$B/tests/bench/cpubound" "$ITER" >>"$TMP/counters" 2>/dev/null
done
for k in bare sampler counters; do
	e=$(awk '{ print $2 }' "$TMP/$k" | median)
	c=$(awk '{ print $4 }' "$TMP/$k" | median)
	printf '%-9s work %.3fs  cpu %.3fs (median of %d)\n' "$k" "$e" "$c" "$R"
	eval "E_$k=$e"
done
awk -v b="$E_bare" -v s="$E_sampler" -v c="$E_counters" 'BEGIN {
	printf "sampler / bare %.3f   sampler+counters / bare %.3f   counters / sampler %.3f\n", s / b, c / b, c / s }'

d1=32768,8,64 ll=8388608,16,64
for i in $(seq 3); do
	t0=$(date +%s%N); "$B/tests/targets/matrix" 2048 >/dev/null
	t1=$(date +%s%N); valgrind -q --tool=cachegrind --cache-sim=yes --I1=$d1 --D1=$d1 --LL=$ll --log-file=/dev/null \
		--cachegrind-out-file="$TMP/cg.%p" "$B/tests/targets/matrix" 2048 >/dev/null
	t2=$(date +%s%N); "$B/daemon/perfkitd" run -q --cache-sim -- "$B/tests/targets/matrix" 2048 >/dev/null
	t3=$(date +%s%N)
	echo "$(( (t1 - t0) / 1000000 )) $(( (t2 - t1) / 1000000 )) $(( (t3 - t2) / 1000000 ))" >>"$TMP/sim"
done
n=$(awk '{ print $1 }' "$TMP/sim" | median); v=$(awk '{ print $2 }' "$TMP/sim" | median); p=$(awk '{ print $3 }' "$TMP/sim" | median)
imp=$("$B/src/perfkit" sessions show last --format json | python3 -c "import json,sys; print(json.load(sys.stdin)['stats'].get('cachesim_import_s'))")
echo "matrix 2048: native ${n}ms, cachegrind ${v}ms ($(awk -v a="$v" -v b="$n" 'BEGIN{printf "%.1fx", a/b}')), perfkitd --cache-sim ${p}ms ($(awk -v a="$p" -v b="$n" 'BEGIN{printf "%.1fx", a/b}')), of which import ${imp}s (median of 3)"
