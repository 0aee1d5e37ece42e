#!/bin/bash
# alloc-signal.sh - a SIGALRM handler that allocates while the main loop
# allocates: the handler's calls (nested inside malloc's pending return)
# are each counted once, at the handler, and nothing leaks.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"
pk_init
. "$top_srcdir/tests/integration/alloc-common.sh"
pk_need_targets alloc-suite

alloc_run signal "$PK_TMP/out" "$TARGETS/alloc-suite" signal
[ "$ALLOC_RC" = 0 ] && grep -q '^done$' "$PK_TMP/out" || { pk_show "$PK_TMP/out" "$PK_TMP/out.err"; pk_fail "alloc-suite signal exited $ALLOC_RC"; }
n=$(sed -n 's/^handler \([0-9]*\)$/\1/p' "$PK_TMP/out")
[ -n "$n" ] && [ "$n" -ge 20 ] || pk_fail "the handler ran '$n' times, expected at least 20"
J=$PK_TMP/a.json
alloc_json signal "$J"
alloc_expect "handler allocations" "$J" 'site("on_alarm")["count"], site("on_alarm")["bytes"], site("on_alarm")["live_bytes"]' "($n, $((n * 77)), 0)"
alloc_expect "main loop" "$J" 'site("mode_signal")["count"] >= 20000, site("mode_signal")["count"] == site("mode_signal")["frees"], site("mode_signal")["bytes"] == 100 * site("mode_signal")["count"]' "(True, True, True)"
alloc_expect "no leak from the program" "$J" 'leaks_of("on_alarm") + leaks_of("mode_signal")' "[]"
