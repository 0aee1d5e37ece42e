#!/bin/bash
# exit-status.sh - perfkitd run exits with the program's status and passes
# stdin, stdout and stderr through.
#
# tests/targets/crash burns 0.2 s of CPU and then exits 7, kills itself
# with SIGKILL, dies of a real SIGSEGV (a null write: a tracer sees a
# signal-delivery-stop and must deliver it) or aborts.  perfkitd run must
# exit 7, 137, 139 and 134 (128 + N for signal N), record the session as
# complete with that exit status and with samples.  A shell reading stdin
# and writing both outputs checks the pass-through.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
pk_init
pk_need_targets crash

check_end() {
	local name=$1 want=$2 rc=0 st
	shift 2
	pk_run_limited 30 "$PERFKITD" run -q -F 499 -n "$name" -- "$TARGETS/crash" "$@" \
		>"$PK_TMP/$name.out" 2>"$PK_TMP/$name.err" || rc=$?
	[ "$rc" = "$want" ] || { pk_show "$PK_TMP/$name.err"; pk_fail "crash $*: perfkitd run exited $rc, expected $want"; }
	st=$(pk_session_field "$name" status)
	[ "$st" = complete ] || pk_fail "crash $*: session status '$st', expected complete"
	st=$(pk_session_field "$name" exit_status)
	[ "$st" = "$want" ] || pk_fail "crash $*: session exit_status '$st', expected $want"
	pk_check_ge "crash $*: samples of work()" "$(pk_session_field "$name" samples)" 10
	pk_log "ok: crash $* -> exit $rc"
}
check_end exit7 7 exit 7
check_end exit0 0 exit 0
check_end killed 137 kill
check_end segv 139 segv
check_end abort 134 abort

# stdin, stdout and stderr pass through untouched.
rc=0
printf 'line one\nline two\n' |
	pk_run_limited 30 "$PERFKITD" run -q -n io -- /bin/sh -c 'cat; echo to-stderr >&2; exit 3' \
	>"$PK_TMP/io.out" 2>"$PK_TMP/io.err" || rc=$?
[ "$rc" = 3 ] || { pk_show "$PK_TMP/io.err"; pk_fail "sh -c ...exit 3: perfkitd run exited $rc"; }
printf 'line one\nline two\n' | cmp -s - "$PK_TMP/io.out" || { pk_show "$PK_TMP/io.out"; pk_fail "stdin did not reach stdout intact"; }
grep -qx 'to-stderr' "$PK_TMP/io.err" || { pk_show "$PK_TMP/io.err"; pk_fail "the program's stderr did not come through"; }
pk_log "ok: stdin/stdout/stderr passed through"
exit 0
