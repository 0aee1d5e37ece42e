#!/bin/bash
# signals.sh - signals sent to a profiled process are all delivered, and
# SIGSTOP / SIGCONT from the user still stop and continue it.
#
# tests/targets/signals spins and counts SIGUSR1 in a handler.  While
# perfkitd is attached at 999 Hz we send it 100 SIGUSR1, one at a time:
# before each, we wait until the previous one is no longer pending
# (ShdPnd in /proc/PID/status), because standard signals do not queue and
# two sent back to back may merge into one delivery.  A tracer that drops
# a signal-delivery-stop (PTRACE_CONT with signal 0) makes the count fall
# short.  Then SIGSTOP: the process must stop (state T, or t while the
# tracer listens) and stay stopped, its CPU time frozen, until SIGCONT;
# after SIGCONT it must run again.  SIGUSR2 ends it: it must print
# "usr1 100", exit 0, and perfkitd must end with the target.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
pk_init
pk_need_targets signals
N=100

"$TARGETS/signals" "$PK_TMP/ready" >"$PK_TMP/out" 2>&1 &
pid=$!
pk_track "$pid"
pk_wait_until 10 "the tracee to start" pk_file_nonempty "$PK_TMP/ready"
pk_need_attach "$pid"

"$PERFKITD" attach "$pid" -F 999 -d 60 -n sig -q >"$PK_TMP/pk.out" 2>"$PK_TMP/pk.err" &
pkpid=$!
pk_track "$pkpid"
attached() { [ "$(pk_tracer_pid "$pid")" != 0 ] || ! kill -0 "$pkpid" 2>/dev/null; }
pk_wait_until 10 "perfkitd to attach" attached
kill -0 "$pkpid" 2>/dev/null || { pk_show "$PK_TMP/pk.err"; pk_fail "perfkitd attach ended early"; }

# SIGUSR1 is signal 10: bit 9 of the pending masks.
usr1_pending() {
	local shd
	shd=$(awk '/^ShdPnd:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) || return 1
	[ $((0x$shd & 0x200)) != 0 ]
}
usr1_clear() { ! usr1_pending; }
for ((i = 0; i < N; i++)); do
	pk_wait_until 5 "SIGUSR1 number $i to leave the pending set" usr1_clear
	kill -USR1 "$pid"
done
pk_wait_until 5 "the last SIGUSR1 to be delivered" usr1_clear

# SIGSTOP / SIGCONT.
is_stopped() { case $(pk_state "$pid") in T|t) return 0 ;; esac; return 1; }
is_running() { case $(pk_state "$pid") in R|S|D) return 0 ;; esac; return 1; }
kill -STOP "$pid"
pk_wait_until 5 "SIGSTOP to stop the target" is_stopped
before=$(pk_cpu_ticks "$pid")
sleep 0.5
after=$(pk_cpu_ticks "$pid")
is_stopped || pk_fail "the target was resumed while stopped by SIGSTOP (state $(pk_state "$pid"))"
[ $((after - before)) -le 1 ] || pk_fail "the target used $((after - before)) ticks of CPU while stopped"
kill -CONT "$pid"
pk_wait_until 5 "SIGCONT to resume the target" is_running
before=$(pk_cpu_ticks "$pid")
advanced() { [ "$(pk_cpu_ticks "$pid")" -gt "$before" ]; }
pk_wait_until 5 "the target to use CPU again after SIGCONT" advanced

kill -USR2 "$pid"
pk_wait_exit "$pid" 10
[ "$PK_STATUS" = 0 ] || { pk_show "$PK_TMP/out"; pk_fail "the target exited $PK_STATUS"; }
pk_wait_exit "$pkpid" 10
[ "$PK_STATUS" = 0 ] || { pk_show "$PK_TMP/pk.err"; pk_fail "perfkitd exited $PK_STATUS at the target's exit"; }
got=$(awk '$1 == "usr1" { print $2 }' "$PK_TMP/out")
[ "$got" = "$N" ] || pk_fail "the handler counted ${got:-nothing} SIGUSR1, $N were sent"
pk_log "ok: $N of $N SIGUSR1 delivered; SIGSTOP/SIGCONT honoured"

[ "$(pk_session_field sig status)" = complete ] || pk_fail "session sig is not complete"
pk_check_ge "samples of session sig" "$(pk_session_field sig samples)" 100
pk_check_stacks sig
exit 0
