#!/bin/bash
# status-line.sh - the live status line appears on a terminal only.
#
# With stderr on a terminal (a pseudo-terminal from util-linux `script`),
# perfkitd shows a status line that it rewrites in place (carriage
# returns) with the elapsed time, samples, threads and unwind failures.
# With stderr in a file it writes no status line at all (no carriage
# return, no escape sequence), and with -q nothing (tests/targets/split
# prints nothing on stderr itself).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
pk_init
pk_need_targets split

rc=0
pk_run_limited 30 "$PERFKITD" run -F 99 -n file -- "$TARGETS/split" "$PK_TMP/truth" 0.5 \
	>/dev/null 2>"$PK_TMP/file.err" || rc=$?
[ "$rc" = 0 ] || { pk_show "$PK_TMP/file.err"; pk_fail "perfkitd run exited $rc"; }
if grep -q $'[\r\033]' "$PK_TMP/file.err"; then
	pk_show "$PK_TMP/file.err"
	pk_fail "a status line was written although stderr is not a terminal"
fi

rc=0
pk_run_limited 30 "$PERFKITD" run -q -F 99 -n quiet -- "$TARGETS/split" "$PK_TMP/truth" 0.5 \
	>/dev/null 2>"$PK_TMP/quiet.err" || rc=$?
[ "$rc" = 0 ] || { pk_show "$PK_TMP/quiet.err"; pk_fail "perfkitd run -q exited $rc"; }
[ -s "$PK_TMP/quiet.err" ] && { pk_show "$PK_TMP/quiet.err"; pk_fail "perfkitd -q wrote to stderr"; }

command -v script >/dev/null || pk_skip "util-linux 'script' is missing: the terminal case cannot run (the file and -q cases passed)"
rc=0
pk_run_limited 30 script -q -e -c "'$PERFKITD' run -F 99 -n tty -- '$TARGETS/split' '$PK_TMP/truth' 1.5 >/dev/null" \
	/dev/null >"$PK_TMP/tty.out" 2>&1 </dev/null || rc=$?
[ "$rc" = 0 ] || { pk_show "$PK_TMP/tty.out"; pk_fail "perfkitd run on a terminal exited $rc"; }
# Status updates start with the elapsed time: "perfkitd: 1.5 s ...".
lines=$(tr '\r' '\n' <"$PK_TMP/tty.out" | grep -Ec 'perfkitd: [0-9.]+ ?s ')
[ "$lines" -ge 2 ] || { pk_show "$PK_TMP/tty.out"; pk_fail "no status line rewritten on the terminal ($lines updates)"; }
last=$(tr '\r' '\n' <"$PK_TMP/tty.out" | grep -E 'perfkitd: [0-9.]+ ?s ' | tail -n 1)
for word in samples thread unwind; do
	case $last in
	*"$word"*) ;;
	*) pk_show "$PK_TMP/tty.out"; pk_fail "the status line does not show '$word'" ;;
	esac
done
pk_log "ok: $lines status updates on a terminal, e.g. '${last//$'\033'\[K/}'"
exit 0
