#!/bin/bash
# killed-recorder.sh - perfkitd killed with SIGKILL mid-session.
#
# Attach mode: perfkitd attaches with PTRACE_SEIZE; when the tracer dies
# the kernel detaches it, so the target must carry on untraced and not
# stopped, and finish correctly.  The session must read back "aborted"
# (the store marks a "recording" session whose recorder is gone) and keep
# the samples flushed before the kill: after 3 s at 999 Hz of a busy
# target (about 3,000 samples) at least one batch must have been written.
#
# Run mode: the program perfkitd started must not be left stopped or
# traced (it may survive perfkitd or die with it; both are reported), and
# that session too reads back "aborted".
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
pk_init
pk_need_targets signals checksum

# ---- attach mode --------------------------------------------------------
"$TARGETS/signals" "$PK_TMP/ready" >"$PK_TMP/out" 2>&1 &
pid=$!
pk_track "$pid"
pk_wait_until 10 "the tracee to start" pk_file_nonempty "$PK_TMP/ready"
pk_need_attach "$pid"

"$PERFKITD" attach "$pid" -F 999 -d 60 -n killed -q >"$PK_TMP/pk.out" 2>"$PK_TMP/pk.err" &
pkpid=$!
pk_track "$pkpid"
attached() { [ "$(pk_tracer_pid "$pid")" != 0 ] || ! kill -0 "$pkpid" 2>/dev/null; }
pk_wait_until 10 "perfkitd to attach" attached
sleep 3
kill -0 "$pkpid" 2>/dev/null || { pk_show "$PK_TMP/pk.err"; pk_fail "perfkitd ended before it was killed"; }
kill -KILL "$pkpid"
pk_wait_exit "$pkpid" 10
untraced() { [ "$(pk_tracer_pid "$pid")" = 0 ]; }
pk_wait_until 10 "the kernel to detach the target" untraced
pk_assert_running "$pid" "after perfkitd was killed"
sleep 0.2
pk_assert_running "$pid" "0.2 s after perfkitd was killed"

kill -USR2 "$pid"
pk_wait_exit "$pid" 10
[ "$PK_STATUS" = 0 ] || { pk_show "$PK_TMP/out"; pk_fail "the target exited $PK_STATUS"; }
grep -q '^usr1 0$' "$PK_TMP/out" || { pk_show "$PK_TMP/out"; pk_fail "the target's output is wrong"; }

st=$(pk_session_field killed status)
[ "$st" = aborted ] || pk_fail "session killed reads back as '$st', expected aborted"
pk_check_ge "samples flushed before the kill" "$(pk_session_field killed samples)" 1
pk_report killed "$PK_TMP/killed.json"
pk_check_ge "busy_loop samples in the aborted session" "$(pk_func "$PK_TMP/killed.json" busy_loop self_samples)" 1

# ---- run mode -----------------------------------------------------------
"$PERFKITD" run -F 999 -n killedrun -q -- "$TARGETS/checksum" "$PK_TMP/ready2" 3 \
	>"$PK_TMP/out2" 2>"$PK_TMP/err2" &
pkpid=$!
pk_track "$pkpid"
pk_wait_until 10 "the program to start" pk_file_nonempty "$PK_TMP/ready2"
child=$(cat "$PK_TMP/ready2")
pk_track "$child"
sleep 1
kill -KILL "$pkpid"
pk_wait_exit "$pkpid" 10
# Not left stopped or traced: it either runs on untraced or is gone.
settled() { pk_gone "$child" || [ "$(pk_tracer_pid "$child")" = 0 ]; }
pk_wait_until 10 "the program to be released" settled
if ! pk_gone "$child"; then
	pk_assert_running "$child" "run mode, after perfkitd was killed"
	left() { pk_gone "$child"; }
	pk_wait_until 10 "the program to finish" left
fi
if grep -q '^checksum ok' "$PK_TMP/out2"; then
	pk_log "run mode: the program survived perfkitd and finished correctly"
else
	pk_log "run mode: the program did not outlive perfkitd (output: $(head -c 200 "$PK_TMP/out2"))"
fi
grep -q MISMATCH "$PK_TMP/out2" && pk_fail "run mode: the program computed a wrong result"
st=$(pk_session_field killedrun status)
[ "$st" = aborted ] || pk_fail "session killedrun reads back as '$st', expected aborted"
exit 0
