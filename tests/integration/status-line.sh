#!/bin/bash
# status-line.sh - the live status line appears on a terminal only.
#
# With stderr on a terminal (a pseudo-terminal from util-linux `script`),
# perfkitd shows a status line that it rewrites in place (carriage
# returns) with the elapsed time, samples, threads and unwind failures,
# and the allocation events (--alloc) or probed calls (--probe) so far.
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

# The instruments' counts: allocation events with --alloc (alloc-suite
# bench: 20,000 malloc+free pairs, so at most 40,001 events with the
# stdio buffer; on int3 probes, which take long enough for a few status
# updates), probed calls with --probe (fib(22): 57,313 calls); then
# `perfkit sessions show` labels their statistics instead of printing the
# raw keys (alloc_calls, probe_functions...).
# last_count OUT WHAT: the count before WHAT on the last status update.
last_count() {
	tr '\r' '\n' <"$1" | grep -E 'perfkitd: [0-9.]+ ?s ' | grep -oE "[0-9]+ $2" | tail -n 1 | cut -d' ' -f1
}
pk_need_targets alloc-suite fprobe-calls
rc=0
pk_run_limited 120 script -q -e -c "echo g | '$PERFKITD' run -F 99 --alloc --probe-backend int3 -n tty-alloc -- '$TARGETS/alloc-suite' bench 20000 >/dev/null" \
	/dev/null >"$PK_TMP/alloc.out" 2>&1 </dev/null || rc=$?
[ "$rc" = 0 ] || { pk_show "$PK_TMP/alloc.out"; pk_fail "perfkitd run --alloc on a terminal exited $rc"; }
n=$(last_count "$PK_TMP/alloc.out" "alloc events")
[ -n "$n" ] && [ "$n" -gt 0 ] && [ "$n" -le 40001 ] ||
	{ pk_show "$PK_TMP/alloc.out"; pk_fail "the status line shows no allocation events (got '${n:-none}')"; }
rc=0
pk_run_limited 120 script -q -e -c "'$PERFKITD' run -F 99 --probe fib -n tty-probe -- '$TARGETS/fprobe-calls' fib 22 >/dev/null" \
	/dev/null >"$PK_TMP/probe.out" 2>&1 </dev/null || rc=$?
[ "$rc" = 0 ] || { pk_show "$PK_TMP/probe.out"; pk_fail "perfkitd run --probe on a terminal exited $rc"; }
m=$(last_count "$PK_TMP/probe.out" "probed calls")
[ -n "$m" ] && [ "$m" -gt 0 ] && [ "$m" -le 57313 ] ||
	{ pk_show "$PK_TMP/probe.out"; pk_fail "the status line shows no probed calls (got '${m:-none}')"; }
for s in tty-alloc tty-probe; do
	pk_run_limited 30 "$PERFKIT" sessions show "$s" >"$PK_TMP/show-$s" 2>&1 ||
		{ pk_show "$PK_TMP/show-$s"; pk_fail "perfkit sessions show $s failed"; }
	if grep -E '^(alloc|probe)_[a-z_]+ ' "$PK_TMP/show-$s"; then
		pk_show "$PK_TMP/show-$s"
		pk_fail "sessions show $s prints raw statistic keys"
	fi
done
grep -Eq '^allocations +20001 ' "$PK_TMP/show-tty-alloc" ||
	{ pk_show "$PK_TMP/show-tty-alloc"; pk_fail "sessions show does not label the 20,001 allocations"; }
grep -Eq '^probed functions +1$' "$PK_TMP/show-tty-probe" ||
	{ pk_show "$PK_TMP/show-tty-probe"; pk_fail "sessions show does not label the probed functions"; }
pk_log "ok: $n alloc events and $m probed calls on the last status updates; statistics labelled"
exit 0
