#!/bin/bash
# fprobe-detach.sh - detach while a thread is inside a probed function.
#
# fprobe-calls slow 10 calls slow() (300 ms of nanosleep) 10 times;
# perfkitd attaches with --probe slow for 1 s, so it detaches while the
# thread is inside slow() with its return address hijacked.  The program
# must go on, return from slow() normally and exit 0 with its output;
# the call in progress is counted lost.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
pk_init
. "$top_srcdir/tests/integration/fprobe-common.sh"
pk_need_targets fprobe-calls

"$TARGETS/fprobe-calls" slow 10 >"$PK_TMP/out" 2>&1 &
pid=$!
pk_track "$pid"
pk_need_attach "$pid"
pk_wait_until 10 "the program to start" grep -q ready "$PK_TMP/out"
rc=0
pk_run_limited 30 "$PERFKITD" attach "$pid" -q -n detach --probe slow -d 1 >"$PK_TMP/rec" 2>&1 || rc=$?
[ "$rc" = 0 ] || { pk_show "$PK_TMP/rec"; pk_fail "perfkitd attach exited $rc"; }
rc=0
for _ in $(seq 1 300); do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.05
done
wait "$pid" || rc=$?
[ "$rc" = 0 ] || { pk_show "$PK_TMP/out"; pk_fail "the program exited $rc after the detach, expected 0"; }
grep -q '^slow returned 10 times$' "$PK_TMP/out" || { pk_show "$PK_TMP/out"; pk_fail "the program did not finish normally"; }
fp_probes detach "$PK_TMP/p.json"
pk_check_ge "calls of slow seen" "$(fp_field "$PK_TMP/p.json" slow calls)" 2
fp_expect "$PK_TMP/p.json" slow lost 1
exit 0
