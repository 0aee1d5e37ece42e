#!/bin/bash
# probe-one-cpu.sh - probes with perfkitd and its target on one CPU (the
# target inherits perfkitd's affinity): spinning for the next trap cannot
# find it there, so the tracer blocks in waitpid between traps (its hot
# wait, bounded by a timer signal).  The counts stay exact, the targets'
# output right, and the session says the traps were caught that way.
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

blocking_stops() {
	local n
	n=$(alloc_stat "$1" trap_blocking_stops)
	python3 -c "import sys; sys.exit(0 if $n >= 1 else 1)" ||
		pk_fail "session $1: no probe stop caught by a blocking wait (trap_blocking_stops $n)"
	pk_log "ok: $1: $n probe stops caught by a blocking wait"
}

fp_record counts "$PK_TMP/out" --probe f --probe g -- "$TARGETS/fprobe-calls" counts
grep -q '^f=12345 g=1000$' "$PK_TMP/out" || { pk_show "$PK_TMP/out"; pk_fail "the program's output is wrong"; }
fp_probes counts "$PK_TMP/p.json"
fp_expect "$PK_TMP/p.json" f calls 12345
fp_expect "$PK_TMP/p.json" g calls 1000
fp_expect "$PK_TMP/p.json" f lost 0
fp_expect "$PK_TMP/p.json" g lost 0
blocking_stops counts

alloc_run basic "$PK_TMP/aout" "$TARGETS/alloc-suite" basic
[ "$ALLOC_RC" = 0 ] || { pk_show "$PK_TMP/aout" "$PK_TMP/aout.err"; pk_fail "alloc-suite basic exited $ALLOC_RC"; }
grep -q '^done$' "$PK_TMP/aout" || pk_fail "the tracee did not finish its work"
J=$PK_TMP/a.json
alloc_json basic "$J"
alloc_expect "hot()" "$J" 'site("hot")["count"], site("hot")["bytes"], site("hot")["live_bytes"]' "(10000, 1000000, 400)"
alloc_expect "cold()" "$J" 'site("cold")["count"], site("cold")["bytes"], site("cold")["live_bytes"]' "(2, 100, 50)"
alloc_expect "leaks of hot" "$J" 'leaks_of("hot")' "[(100, 4)]"
blocking_stops basic
