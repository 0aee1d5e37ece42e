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
# The schedule, whatever the machine's load (a main loop that stalls, e.g.
# reading a library's debug information, opens and closes windows late,
# never early): the k-th window opens no sooner than k periods after the
# first, none closes before 50 ms (but the last, cut by the end), they do
# not overlap, there are no more than the session's periods, and the armed
# fraction (of the time from the first window to the end) is no more than
# the windows add up to.
alloc_expect "windows" "$J" 'len(d["windows"]) >= 2 and len(d["windows"]) <= d["session"]["duration_s"] / 0.25 + 1' "True"
alloc_expect "window starts" "$J" 'all(w["start_s"] >= d["windows"][0]["start_s"] + k * 0.25 - 1e-6 for k, w in enumerate(d["windows"]))' "True"
alloc_expect "window lengths" "$J" 'all(w["end_s"] - w["start_s"] >= 0.05 - 1e-6 for w in d["windows"][:-1])' "True"
alloc_expect "windows apart" "$J" 'all(a["end_s"] <= b["start_s"] for a, b in zip(d["windows"], d["windows"][1:]))' "True"
alloc_expect "armed fraction" "$J" '0.03 < d["mode"]["armed_fraction"] < 0.8 and d["mode"]["armed_fraction"] <= sum(w["end_s"] - w["start_s"] for w in d["windows"]) / (d["windows"][-1]["end_s"] - d["windows"][0]["start_s"]) + 1e-6' "True"
# the timeline's last point holds every call, and the counts never go
# down in time order (with the ring's backends a record can reach
# perfkitd after a point later than its time: it is counted after that
# point, and the peak is not placed before it)
alloc_expect "last point" "$J" '(d["timeline"][-1]["alloc_calls"], d["timeline"][-1]["free_calls"]) == (d["totals"]["alloc_calls"], d["totals"]["free_calls"])' "True"
alloc_expect "calls only grow" "$J" 'all(a["alloc_calls"] <= b["alloc_calls"] and a["free_calls"] <= b["free_calls"] for a, b in zip(d["timeline"], d["timeline"][1:]))' "True"
alloc_expect "armed and disarmed points" "$J" 'sorted(set(p["armed"] for p in d["timeline"]))' "[False, True]"
pk_run_limited 30 "$PERFKIT" allocs win >"$PK_TMP/table" || pk_fail "perfkit allocs failed"
grep -q 'windowed' "$PK_TMP/table" && grep -q 'NOT scaled' "$PK_TMP/table" || { pk_show "$PK_TMP/table"; pk_fail "the table does not state the windowed mode"; }
pk_log "ok: windowed mode stated, not scaled"
