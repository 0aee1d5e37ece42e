#!/bin/bash
# alloc-window.sh - --alloc-sample ON/PERIOD: probes armed 50 ms of every
# 250 ms.  The session says it is windowed, records its windows and the
# armed fraction, scales nothing (the counts are of the armed windows), and
# the target finishes with the right output.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"
pk_init
. "$top_srcdir/tests/integration/alloc-common.sh"
pk_need_targets alloc-suite

alloc_loop_n "$PK_TMP/bare.out" 4
N=$ALLOC_N
alloc_start_tracee "$PK_TMP/w.out" "$TARGETS/alloc-suite" loop $N
pk_need_attach "$ALLOC_TPID"
echo g >&8
alloc_attach win "$PK_TMP/w.err" --alloc-sample 50ms/250ms -d 1.6
pk_wait_exit "$ALLOC_PPID" 60
[ "$PK_STATUS" = 0 ] || { pk_show "$PK_TMP/w.err"; pk_fail "perfkitd --alloc-sample exited $PK_STATUS"; }
alloc_wait_tracee "$PK_TMP/w.out"
cmp -s "$PK_TMP/bare.out" "$PK_TMP/w.out" || pk_fail "the output differs from a run without perfkitd"
J=$PK_TMP/w.json
alloc_json win "$J" --timeline
alloc_expect "mode" "$J" 'd["mode"]["name"], d["mode"]["window_s"], d["mode"]["period_s"], d["mode"]["scaled"]' "('windowed', 0.05, 0.25, False)"
# one window opens every 250 ms of the session (at most 1.6 s, less if
# the target ends first); the fraction is about 0.2 (ticks come at least
# every 250 ms, so a window may run long: at most 0.6).
alloc_expect "windows" "$J" 'len(d["windows"]) >= 2 and abs(len(d["windows"]) - d["session"]["duration_s"] / 0.25) <= 1.5' "True"
alloc_expect "window length" "$J" 'all(0.04 <= w["end_s"] - w["start_s"] <= 0.5 for w in d["windows"][:-1])' "True"
alloc_expect "armed fraction" "$J" '0.1 <= d["mode"]["armed_fraction"] <= 0.6' "True"
alloc_expect "armed and disarmed points" "$J" 'sorted(set(p["armed"] for p in d["timeline"]))' "[False, True]"
pk_run_limited 30 "$PERFKIT" allocs win >"$PK_TMP/table" || pk_fail "perfkit allocs failed"
grep -q 'windowed' "$PK_TMP/table" && grep -q 'NOT scaled' "$PK_TMP/table" || { pk_show "$PK_TMP/table"; pk_fail "the table does not state the windowed mode"; }
pk_log "ok: windowed mode stated, not scaled"
