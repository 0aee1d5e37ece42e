#!/bin/bash
# alloc-stop.sh - the target's safety on every way out: perfkitd stopped
# by SIGINT and by SIGTERM while two threads allocate flat out (one is
# inside malloc with its return hijacked, or at a breakpoint, almost
# always), and a target killed while probed.  The target never dies of
# SIGTRAP, finishes with the output of a run without perfkitd, and the
# session records what was seen.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"
pk_init
. "$top_srcdir/tests/integration/alloc-common.sh"
pk_need_targets alloc-suite

alloc_loop_n "$PK_TMP/bare.out" 3
N=$ALLOC_N

for sig in INT TERM; do
	alloc_start_tracee "$PK_TMP/$sig.out" "$TARGETS/alloc-suite" loop $N
	[ "$sig" = INT ] && pk_need_attach "$ALLOC_TPID"
	echo g >&8
	alloc_attach "stop-$sig" "$PK_TMP/$sig.err"
	sleep 0.5
	kill -"$sig" "$ALLOC_PPID"
	pk_wait_exit "$ALLOC_PPID" 60
	[ "$PK_STATUS" = 0 ] || { pk_show "$PK_TMP/$sig.err"; pk_fail "perfkitd stopped by SIG$sig exited $PK_STATUS"; }
	[ "$(pk_tracer_pid "$ALLOC_TPID")" = 0 ] || pk_fail "SIG$sig: the target is still traced"
	alloc_wait_tracee "$PK_TMP/$sig.out"
	cmp -s "$PK_TMP/bare.out" "$PK_TMP/$sig.out" || { pk_show "$PK_TMP/bare.out" "$PK_TMP/$sig.out"; pk_fail "SIG$sig: the output differs from a run without perfkitd"; }
	alloc_json "stop-$sig" "$PK_TMP/$sig.json"
	alloc_expect "SIG$sig: calls seen" "$PK_TMP/$sig.json" 'site("loop_worker")["count"] > 0' "True"
done

# Run mode, --duration reached: perfkitd lets the program go on alone.
echo g | pk_run_limited 120 "$PERFKITD" run -q --alloc -d 0.5 -n duration -- "$TARGETS/alloc-suite" loop $N \
	>"$PK_TMP/d.out" 2>"$PK_TMP/d.err" || { pk_show "$PK_TMP/d.out" "$PK_TMP/d.err"; pk_fail "run --alloc -d 0.5 failed"; }
cmp -s "$PK_TMP/bare.out" "$PK_TMP/d.out" || { pk_show "$PK_TMP/bare.out" "$PK_TMP/d.out"; pk_fail "run -d: the output differs from a run without perfkitd"; }
alloc_json duration "$PK_TMP/d.json"
alloc_expect "run -d: target went on" "$PK_TMP/d.json" 'd["target_exited"], site("loop_worker")["count"] > 0' "(False, True)"

# The target killed while probed: perfkitd ends and says so; the target
# died of the SIGKILL, nothing else.
"$PERFKITD" run -q --alloc -n killed -- "$TARGETS/alloc-suite" loop $N <<<g >"$PK_TMP/k.out" 2>"$PK_TMP/k.err" &
P=$!
pk_track "$P"
loop_child() { pgrep -P "$P" -f 'alloc-suite loop' >/dev/null; }
pk_wait_until 20 "the tracee to start" loop_child
T=$(pgrep -P "$P" -f 'alloc-suite loop')
sleep 0.5
kill -KILL "$T"
pk_wait_exit "$P" 60
[ "$PK_STATUS" = $((128 + 9)) ] || { pk_show "$PK_TMP/k.err"; pk_fail "perfkitd run returned $PK_STATUS for a target killed by SIGKILL (137 expected)"; }
alloc_json killed "$PK_TMP/k.json"
alloc_expect "killed: data kept" "$PK_TMP/k.json" 'd["target_exited"], site("loop_worker")["count"] > 0' "(True, True)"
pk_log "ok: no SIGTRAP on any way out"
