#!/bin/bash
# background.sh - attach --background, list while recording, stop.
#
# perfkitd attach PID --background must return once attached, printing the
# session name, while a detached recorder keeps sampling.  `perfkit
# sessions list` then shows the session "recording"; `perfkit sessions
# stop NAME` ends it: the recorder detaches (the target's TracerPid goes
# back to 0, it is not left stopped), the recorder exits and the session
# becomes "complete" with samples.  The target (tests/targets/checksum)
# then finishes with a correct result.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
pk_init
pk_need_targets checksum

"$TARGETS/checksum" "$PK_TMP/ready" 30 >"$PK_TMP/out" 2>&1 &
pid=$!
pk_track "$pid"
pk_wait_until 10 "the tracee to start" pk_file_nonempty "$PK_TMP/ready"
pk_need_attach "$pid"

rc=0
pk_run_limited 15 "$PERFKITD" attach "$pid" --background -F 499 -n bg >"$PK_TMP/bg.out" 2>"$PK_TMP/bg.err" </dev/null || rc=$?
[ "$rc" = 0 ] || { pk_show "$PK_TMP/bg.out" "$PK_TMP/bg.err"; pk_fail "perfkitd attach --background exited $rc"; }
grep -qw bg "$PK_TMP/bg.out" || { pk_show "$PK_TMP/bg.out"; pk_fail "attach --background did not print the session name"; }

recorder=$(pk_tracer_pid "$pid")
[ "$recorder" != 0 ] || pk_fail "after attach --background returned, the target is not traced"
pk_track "$recorder"
pk_log "recorder pid $recorder"

"$PERFKIT" sessions list --format json >"$PK_TMP/list.json" 2>"$PK_TMP/list.err" ||
	{ pk_show "$PK_TMP/list.err"; pk_fail "perfkit sessions list failed"; }
st=$(pk_json "$PK_TMP/list.json" '[s["status"] for s in d if s["name"] == "bg"]')
[ "$st" = '["recording"]' ] || { pk_show "$PK_TMP/list.json"; pk_fail "sessions list shows bg as $st, expected recording"; }

# Let it record a little, then stop it.
sleep 1
rc=0
pk_run_limited 15 "$PERFKIT" sessions stop bg >"$PK_TMP/stop.out" 2>&1 || rc=$?
[ "$rc" = 0 ] || { pk_show "$PK_TMP/stop.out"; pk_fail "perfkit sessions stop bg exited $rc"; }
complete() { [ "$(pk_session_field bg status)" = complete ]; }
pk_wait_until 10 "session bg to become complete" complete
untraced() { [ "$(pk_tracer_pid "$pid")" = 0 ]; }
pk_wait_until 10 "the recorder to detach" untraced
recorder_gone() { ! kill -0 "$recorder" 2>/dev/null; }
pk_wait_until 10 "the recorder to exit" recorder_gone
pk_assert_running "$pid" "after sessions stop"
pk_check_ge "samples of session bg" "$(pk_session_field bg samples)" 10

kill -USR2 "$pid"
pk_wait_exit "$pid" 10
[ "$PK_STATUS" = 0 ] || { pk_show "$PK_TMP/out"; pk_fail "the target exited $PK_STATUS"; }
grep -q '^checksum ok' "$PK_TMP/out" || { pk_show "$PK_TMP/out"; pk_fail "the target's result is wrong"; }
pk_check_stacks bg
exit 0
