#!/bin/bash
# alloc-attach.sh - perfkitd attach --alloc: (1) attached before the work
# starts: exact counts, and the 3 blocks allocated before the attach and
# freed during it are unknown frees, not negatives; (2) attached in the
# middle of a run and detached after 1 s: the target finishes with the
# right output and status.  The symbols of the code mapped are read before
# the threads are stopped to place the probes.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"
pk_init
. "$top_srcdir/tests/integration/alloc-common.sh"
pk_need_targets alloc-suite

alloc_start_tracee "$PK_TMP/basic.out" "$TARGETS/alloc-suite" basic
pk_need_attach "$ALLOC_TPID"
alloc_attach att-basic "$PK_TMP/basic.err"
echo g >&8
alloc_wait_tracee "$PK_TMP/basic.out"
pk_wait_exit "$ALLOC_PPID" 60
[ "$PK_STATUS" = 0 ] || { pk_show "$PK_TMP/basic.err"; pk_fail "perfkitd attach exited $PK_STATUS"; }
J=$PK_TMP/basic.json
alloc_json att-basic "$J"
alloc_expect "hot()" "$J" 'site("hot")["count"], site("hot")["bytes"], site("hot")["live_bytes"]' "(10000, 1000000, 400)"
alloc_expect "unknown frees" "$J" 'd["totals"]["unknown_frees"], site("mode_basic")["count"]' "(3, 0)"
alloc_expect "leaks" "$J" 'leaks_of("hot"), leaks_of("cold"), leaks_of("aligned")' "([(100, 4)], [(50, 1)], [(1000, 1)])"
[ "$(alloc_stat att-basic alloc_modules_read_ahead)" -ge 2 ] 2>/dev/null ||
	pk_fail "modules read ahead before the stop: $(alloc_stat att-basic alloc_modules_read_ahead), expected the program and libc at least"
alloc_expect "no negative" "$J" 'd["totals"]["live_bytes"] >= 0 and all(s["live_bytes"] >= 0 for s in d["sites"])' "True"

# Mid-run: the truth is the output of a run without perfkitd.
alloc_loop_n "$PK_TMP/bare.out" 3
N=$ALLOC_N
alloc_start_tracee "$PK_TMP/loop.out" "$TARGETS/alloc-suite" loop $N
echo g >&8
sleep 0.2
alloc_attach att-loop "$PK_TMP/loop.err" -d 1
pk_wait_exit "$ALLOC_PPID" 60
[ "$PK_STATUS" = 0 ] || { pk_show "$PK_TMP/loop.err"; pk_fail "perfkitd attach -d 1 exited $PK_STATUS"; }
alloc_wait_tracee "$PK_TMP/loop.out"
cmp -s "$PK_TMP/bare.out" "$PK_TMP/loop.out" || { pk_show "$PK_TMP/bare.out" "$PK_TMP/loop.out"; pk_fail "the output differs from a run without perfkitd"; }
J=$PK_TMP/loop.json
alloc_json att-loop "$J"
alloc_expect "calls seen" "$J" 'site("loop_worker")["count"] > 0, d["target_exited"]' "(True, False)"
pk_log "ok: detached mid-run, the target finished with the right output"
