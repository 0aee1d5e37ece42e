#!/bin/bash
# wall-mode.sh - wall-clock mode samples sleeping threads too.
#
# tests/targets/wall runs, for 2 s, a busy thread (busy_loop) and a
# sleeping one (sleepy_wait, 5 ms nanosleeps) while main waits in
# pthread_join.  In --mode wall every thread is sampled whatever its
# state, so busy_loop (self) and sleepy_wait (total: its samples sit in
# libc's nanosleep below it) each hold about a third of the samples.  In
# --mode cpu (the default) only running threads are sampled: sleepy_wait
# almost vanishes.
#
# Tolerances: 4 binomial sigma + 0.05 for the thirds (the threads start a
# few milliseconds after the process and main runs alone meanwhile); in
# cpu mode sleepy_wait may catch the instants it is awake between sleeps,
# at most 5%.  Where perfkit reports thread states, the busy thread's
# samples are in state R and the sleeping thread's in state S.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
pk_init
pk_need_targets wall

for mode in wall cpu; do
	rc=0
	pk_run_limited 60 "$PERFKITD" run -q -F 199 --mode "$mode" -n "w$mode" -- "$TARGETS/wall" "$PK_TMP/truth" 2 \
		>"$PK_TMP/$mode.out" 2>"$PK_TMP/$mode.err" || rc=$?
	[ "$rc" = 0 ] || { pk_show "$PK_TMP/$mode.err"; pk_fail "perfkitd run --mode $mode exited $rc"; }
	pk_report "w$mode" "$PK_TMP/$mode.json"
done

all=$(pk_total_samples "$PK_TMP/wall.json")
busy=$(pk_func "$PK_TMP/wall.json" busy_loop self_samples)
sleepy=$(pk_func "$PK_TMP/wall.json" sleepy_wait total_samples)
pk_check_count "wall mode: busy_loop share" "$busy" "$all" 0.3333 0.05
pk_check_count "wall mode: sleepy_wait share" "$sleepy" "$all" 0.3333 0.05
pk_check_ge "wall mode: threads" "$(pk_session_field wwall threads)" 3
[ "$(pk_session_field wwall mode)" = wall ] || pk_fail "session wwall does not say mode wall"
pk_check_stacks wwall

all=$(pk_total_samples "$PK_TMP/cpu.json")
busy=$(pk_func "$PK_TMP/cpu.json" busy_loop self_samples)
sleepy=$(pk_func "$PK_TMP/cpu.json" sleepy_wait total_samples)
pk_check_ge "cpu mode: busy_loop share" "$(python3 -c "print($busy / $all)")" 0.90
python3 -c "import sys; sys.exit(0 if $sleepy / $all <= 0.05 else 1)" ||
	pk_fail "cpu mode: sleepy_wait has $sleepy of $all samples; a sleeping thread must not be sampled"

# Thread states, where the report exposes them per function (a "states"
# object such as {"R": n, "S": m}).
if pk_json "$PK_TMP/wall.json" 'any("states" in f for f in d["functions"])' | grep -q True; then
	r=$(pk_json "$PK_TMP/wall.json" '[f for f in d["functions"] if f["function"] == "busy_loop"][0]["states"].get("R", 0)')
	s=$(pk_json "$PK_TMP/wall.json" '[f for f in d["functions"] if f["function"] == "sleepy_wait"][0]["states"].get("S", 0)')
	pk_check_ge "busy_loop samples in state R" "$(python3 -c "print($r / max($busy, 1))")" 0.90
	pk_check_ge "sleepy_wait samples in state S" "$(python3 -c "print($s / max($sleepy, 1))")" 0.90
else
	pk_log "note: the report shows no thread states; R/S checked through the cpu/wall contrast only"
fi
exit 0
