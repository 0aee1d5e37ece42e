#!/bin/bash
# attach.sh - attach to a running process, detach, and it carries on.
#
# tests/targets/checksum mixes integers and floating point, does pipe I/O
# and short sleeps (syscalls that an interrupt hits), then recomputes its
# result another way and prints "checksum ok" only if both agree.
#
# Case 1: attach -d 1 while it runs for 4 s.  perfkitd must return with 0
# while the target still runs, leave it untraced (TracerPid 0) and not
# stopped; the target must then finish with "checksum ok" and exit 0.  The
# session is complete, with samples in its functions and complete stacks.
#
# Case 2: the target exits mid-session: attach -d 10 to a target that
# ends after about 1.5 s; perfkitd must notice the exit and return well
# before 10 s (we allow it 8 s), with the session complete.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
pk_init
pk_need_targets checksum

# ---- case 1: attach, detach after 1 s -----------------------------------
"$TARGETS/checksum" "$PK_TMP/ready1" 4 >"$PK_TMP/out1" 2>&1 &
pid=$!
pk_track "$pid"
pk_wait_until 10 "the tracee to start" pk_file_nonempty "$PK_TMP/ready1"
pk_need_attach "$pid"

rc=0
pk_run_limited 20 "$PERFKITD" attach "$pid" -F 999 -d 1 -n att -q >"$PK_TMP/att.out" 2>"$PK_TMP/att.err" || rc=$?
[ "$rc" = 0 ] || { pk_show "$PK_TMP/att.out" "$PK_TMP/att.err"; pk_fail "perfkitd attach -d 1 exited $rc"; }
if ! pk_gone "$pid"; then
	tracer=$(pk_tracer_pid "$pid")
	[ "$tracer" = 0 ] || pk_fail "after detach the target is still traced by pid $tracer"
	pk_assert_running "$pid" "after detach"
else
	pk_log "note: the target ended before perfkitd returned; detach state not checked"
fi
pk_wait_exit "$pid" 20
[ "$PK_STATUS" = 0 ] || { pk_show "$PK_TMP/out1"; pk_fail "the target exited $PK_STATUS after detach"; }
grep -q '^checksum ok' "$PK_TMP/out1" || { pk_show "$PK_TMP/out1"; pk_fail "the target's result is wrong after detach"; }

[ "$(pk_session_field att status)" = complete ] || pk_fail "session att is not complete"
pk_report att "$PK_TMP/att.json"
all=$(pk_total_samples "$PK_TMP/att.json")
pk_check_ge "samples in 1 s of attach" "$all" 20
mixed=$(pk_json "$PK_TMP/att.json" 'sum(f["total_samples"] for f in d["functions"] if f["function"] in ("mix_integers", "mix_floats"))')
pk_check_ge "samples in mix_integers + mix_floats" "$mixed" 1
pk_check_stacks att

# ---- case 2: the target exits during the session -----------------------
"$TARGETS/checksum" "$PK_TMP/ready2" 1.5 >"$PK_TMP/out2" 2>&1 &
pid=$!
pk_track "$pid"
pk_wait_until 10 "the tracee to start" pk_file_nonempty "$PK_TMP/ready2"
rc=0
pk_run_limited 8 "$PERFKITD" attach "$pid" -F 999 -d 10 -n gone -q >"$PK_TMP/gone.out" 2>"$PK_TMP/gone.err" || rc=$?
[ "$rc" = 124 ] && pk_fail "perfkitd attach -d 10 did not return within 8 s of a target that exits after 1.5 s"
[ "$rc" = 0 ] || { pk_show "$PK_TMP/gone.out" "$PK_TMP/gone.err"; pk_fail "perfkitd attach exited $rc when the target ended"; }
pk_wait_exit "$pid" 10
[ "$PK_STATUS" = 0 ] || pk_fail "the target exited $PK_STATUS"
grep -q '^checksum ok' "$PK_TMP/out2" || { pk_show "$PK_TMP/out2"; pk_fail "the target's result is wrong"; }
[ "$(pk_session_field gone status)" = complete ] || pk_fail "session gone is not complete"
pk_check_ge "samples of session gone" "$(pk_session_field gone samples)" 1
pk_check_stacks gone
exit 0
