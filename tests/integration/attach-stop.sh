#!/bin/bash
# attach-stop.sh - perfkitd attach (no duration) stops cleanly on Ctrl-C
# (SIGINT) and on SIGTERM.
#
# For each signal: attach to tests/targets/checksum, let it record about
# a second, send the signal to perfkitd.  It must end within 10 s with
# status 0 (a requested stop is not a failure; 128+N is accepted too, as a
# shell would report it), detach (TracerPid 0, the target not stopped),
# and leave the session "complete" with samples.  The target then
# finishes with a correct result.  perfkitd is started with SIGINT at its
# default disposition (a non-interactive shell would otherwise start a
# background job with SIGINT ignored, unlike a terminal's Ctrl-C).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
pk_init
pk_need_targets checksum
env --default-signal=INT true 2>/dev/null || pk_skip "env --default-signal is missing (coreutils >= 8.31)"

for sig in INT TERM; do
	"$TARGETS/checksum" "$PK_TMP/ready-$sig" 30 >"$PK_TMP/out-$sig" 2>&1 &
	pid=$!
	pk_track "$pid"
	pk_wait_until 10 "the tracee to start" pk_file_nonempty "$PK_TMP/ready-$sig"
	pk_need_attach "$pid"

	env --default-signal=INT "$PERFKITD" attach "$pid" -F 499 -n "stop-$sig" -q \
		>"$PK_TMP/pk-$sig.out" 2>"$PK_TMP/pk-$sig.err" &
	pkpid=$!
	pk_track "$pkpid"
	attached() { [ "$(pk_tracer_pid "$pid")" != 0 ] || ! kill -0 "$pkpid" 2>/dev/null; }
	pk_wait_until 10 "perfkitd to attach" attached
	sleep 1
	kill -0 "$pkpid" 2>/dev/null || { pk_show "$PK_TMP/pk-$sig.err"; pk_fail "perfkitd ended before SIG$sig"; }
	kill -"$sig" "$pkpid"
	pk_wait_exit "$pkpid" 10
	num=$(kill -l "$sig")
	case $PK_STATUS in
	0|$((128 + num))) ;;
	*) pk_show "$PK_TMP/pk-$sig.err"; pk_fail "perfkitd exited $PK_STATUS on SIG$sig" ;;
	esac
	[ "$(pk_tracer_pid "$pid")" = 0 ] || pk_fail "SIG$sig: the target is still traced"
	pk_assert_running "$pid" "after perfkitd stopped on SIG$sig"
	st=$(pk_session_field "stop-$sig" status)
	[ "$st" = complete ] || pk_fail "SIG$sig: session status '$st', expected complete"
	pk_check_ge "SIG$sig: samples" "$(pk_session_field "stop-$sig" samples)" 10
	pk_check_stacks "stop-$sig"

	kill -USR2 "$pid"
	pk_wait_exit "$pid" 10
	[ "$PK_STATUS" = 0 ] || { pk_show "$PK_TMP/out-$sig"; pk_fail "SIG$sig: the target exited $PK_STATUS"; }
	grep -q '^checksum ok' "$PK_TMP/out-$sig" || { pk_show "$PK_TMP/out-$sig"; pk_fail "SIG$sig: the target's result is wrong"; }
	pk_log "ok: SIG$sig stopped perfkitd cleanly; the target finished correctly"
done
exit 0
