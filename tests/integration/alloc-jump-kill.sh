#!/bin/bash
# alloc-jump-kill.sh - the jump backend fails safe: perfkitd killed by
# SIGKILL while the allocators of the target are patched (attach and run
# mode, two threads allocating flat out) leaves a target that finishes
# with the output of a run without perfkitd and exit status 0: the
# detours go on writing into a ring nobody reads, which fills and drops.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"
pk_init
. "$top_srcdir/tests/integration/alloc-common.sh"
pk_need_targets alloc-suite

alloc_loop_n "$PK_TMP/bare.out" 3
N=$ALLOC_N

# attach: the ring is mapped and the probes are jumps (no int3 fallback)
alloc_start_tracee "$PK_TMP/a.out" "$TARGETS/alloc-suite" loop $N
pk_need_attach "$ALLOC_TPID"
echo g >&8
alloc_attach kill-attach "$PK_TMP/a.err" --probe-backend jump
grep -q 'memfd:perfkit-ring' "/proc/$ALLOC_TPID/maps" || { pk_show "$PK_TMP/a.err"; pk_fail "no perfkit ring mapped in the target"; }
grep -q 'int3' "$PK_TMP/a.err" && { pk_show "$PK_TMP/a.err"; pk_fail "a C allocator fell back to int3"; }
sleep 0.5
kill -KILL "$ALLOC_PPID"
pk_wait_exit "$ALLOC_PPID" 30
pk_wait_until 10 "the target to be untraced" test "$(pk_tracer_pid "$ALLOC_TPID")" = 0
alloc_wait_tracee "$PK_TMP/a.out"
cmp -s "$PK_TMP/bare.out" "$PK_TMP/a.out" || { pk_show "$PK_TMP/bare.out" "$PK_TMP/a.out"; pk_fail "attach, perfkitd killed: the output differs from a run without perfkitd"; }
pk_log "ok: attach: perfkitd killed by SIGKILL, the target finished correctly"

# run: the target is perfkitd's child; it goes on alone
"$PERFKITD" run -q --alloc --probe-backend jump -n kill-run -- "$TARGETS/alloc-suite" loop $N <<<g >"$PK_TMP/r.out" 2>"$PK_TMP/r.err" &
P=$!
pk_track "$P"
loop_child() { pgrep -P "$P" -f 'alloc-suite loop' >/dev/null; }
pk_wait_until 20 "the tracee to start" loop_child
T=$(pgrep -P "$P" -f 'alloc-suite loop')
pk_track "$T"
pk_wait_until 20 "the ring in the target" grep -q 'memfd:perfkit-ring' "/proc/$T/maps"
sleep 0.5
kill -KILL "$P"
pk_wait_exit "$P" 30
pk_wait_until 120 "the orphaned target to finish" pk_gone "$T"
grep -q '^done$' "$PK_TMP/r.out" || { pk_show "$PK_TMP/r.out"; pk_fail "run, perfkitd killed: the target did not finish"; }
cmp -s "$PK_TMP/bare.out" "$PK_TMP/r.out" || { pk_show "$PK_TMP/bare.out" "$PK_TMP/r.out"; pk_fail "run, perfkitd killed: the output differs from a run without perfkitd"; }
pk_log "ok: run: perfkitd killed by SIGKILL, the target finished correctly"
