#!/bin/bash
# probe-one-cpu.sh - probes with perfkitd and its target on one CPU (the
# target inherits perfkitd's affinity), where spinning for the next trap
# cannot find it, so the tracer blocks in waitpid between traps (its hot
# wait, bounded by a timer signal) unless the scheduler runs the target
# at once when it is resumed (then the next stop is there when perfkitd
# looks).  Each workload runs twice: as it comes, and with
# PERFKIT_TRAP_WAIT=block, which takes every stop after a trap by the
# blocking wait (the session must say so).  The counts stay exact and the
# targets' output right either way.
#   - fprobe-calls counts: f() 12,345 times, g() 1,000 times (1 ms each);
#   - alloc-suite basic with --alloc (the trap backend by default):
#     10,000 x malloc(100) in hot(), 2 x malloc(50) in cold().
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"
pk_init
. "$top_srcdir/tests/integration/alloc-common.sh"
. "$top_srcdir/tests/integration/fprobe-common.sh"
pk_need_targets fprobe-calls alloc-suite

cpu=$(python3 -c 'import os; print(min(os.sched_getaffinity(0)))') || pk_fail "cannot read this process's CPUs"
printf '#!/bin/sh\nexec taskset -c %s "%s" "$@"\n' "$cpu" "$PERFKITD" >"$PK_TMP/perfkitd-pinned" ||
	pk_fail "cannot write a wrapper"
chmod +x "$PK_TMP/perfkitd-pinned"
PERFKITD=$PK_TMP/perfkitd-pinned
pk_log "perfkitd and its targets on CPU $cpu"

# stops_caught SESSION MODE LEAST: how the stops were caught; with block,
# none by spinning and at least LEAST by the blocking wait (int3 probes
# stop at every call; the ring backend only when its ring is full, which
# on one CPU depends on how often the scheduler lets perfkitd drain it
# while the target runs: from none to a few)
stops_caught() {
	local n m
	n=$(alloc_stat "$1" trap_blocking_stops)
	m=$(alloc_stat "$1" trap_spin_stops)
	pk_log "$1 ($2): $n probe stops caught by a blocking wait, $m by spinning"
	if [ "$2" = block ]; then
		python3 -c "import sys; sys.exit(0 if max($n, 0) >= $3 and $m <= 0 else 1)" ||
			pk_fail "session $1: PERFKIT_TRAP_WAIT=block, yet $n stops by a blocking wait and $m by spinning"
	fi
}

for mode in auto block; do
	if [ "$mode" = block ]; then export PERFKIT_TRAP_WAIT=block; else unset PERFKIT_TRAP_WAIT; fi
	fp_record "counts-$mode" "$PK_TMP/out" --probe f --probe g -- "$TARGETS/fprobe-calls" counts
	grep -q '^f=12345 g=1000$' "$PK_TMP/out" || { pk_show "$PK_TMP/out"; pk_fail "the program's output is wrong"; }
	fp_probes "counts-$mode" "$PK_TMP/p.json"
	fp_expect "$PK_TMP/p.json" f calls 12345
	fp_expect "$PK_TMP/p.json" g calls 1000
	fp_expect "$PK_TMP/p.json" f lost 0
	fp_expect "$PK_TMP/p.json" g lost 0
	stops_caught "counts-$mode" "$mode" 1

	alloc_run "basic-$mode" "$PK_TMP/aout" "$TARGETS/alloc-suite" basic
	[ "$ALLOC_RC" = 0 ] || { pk_show "$PK_TMP/aout" "$PK_TMP/aout.err"; pk_fail "alloc-suite basic exited $ALLOC_RC"; }
	grep -q '^done$' "$PK_TMP/aout" || pk_fail "the tracee did not finish its work"
	J=$PK_TMP/a-$mode.json
	alloc_json "basic-$mode" "$J"
	alloc_expect "hot()" "$J" 'site("hot")["count"], site("hot")["bytes"], site("hot")["live_bytes"]' "(10000, 1000000, 400)"
	alloc_expect "cold()" "$J" 'site("cold")["count"], site("cold")["bytes"], site("cold")["live_bytes"]' "(2, 100, 50)"
	alloc_expect "leaks of hot" "$J" 'leaks_of("hot")' "[(100, 4)]"
	stops_caught "basic-$mode" "$mode" 0
done
