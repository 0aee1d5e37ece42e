#!/bin/bash
# alloc-deep.sh - allocations under a stack deeper than the slice a ring
# record carries (40 frames of 256 bytes, over 10 KiB; within the
# 16 KiB stack copy of --stack-bytes): the counts exact and every stack
# whole (40 descend() frames between deep_leaf() and mode_deep()), but
# with the jump backend, whose records carry 512 bytes of stack and
# which never stops the target: its stacks end early (a documented
# limit, checked as such).  With the trap backend (the default) the
# first allocation there stops its thread (its stack is deeper than the
# slice), perfkitd learns the stack's frames from it, and the other 199
# carry the return addresses their detour walks: a few stops in all.
# Without the walk (PERFKIT_ALLOC_WALK=off) each of the 200 stops; the
# frees, which need no stack, never do.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"
pk_init
. "$top_srcdir/tests/integration/alloc-common.sh"
pk_need_targets alloc-suite

alloc_run deep "$PK_TMP/out" "$TARGETS/alloc-suite" deep
[ "$ALLOC_RC" = 0 ] && grep -q '^done$' "$PK_TMP/out" || { pk_show "$PK_TMP/out" "$PK_TMP/out.err"; pk_fail "alloc-suite deep exited $ALLOC_RC"; }
J=$PK_TMP/a.json
alloc_json deep "$J"
alloc_expect "deep_leaf()" "$J" 'site("deep_leaf")["count"], site("deep_leaf")["bytes"], site("deep_leaf")["frees"], site("deep_leaf")["live_bytes"]' "(200, 3200, 100, 2400)"
alloc_expect "its leaks" "$J" 'leaks_of("deep_leaf")' "[(24, 100)]"
stack='next(l["stack"] for l in d["leaks"] if l["stack"] and l["stack"][0] == "deep_leaf")'
if [ "${PK_ALLOC_BACKEND:-auto}" = jump ]; then
	alloc_expect "the leaks' stack, cut after the slice" "$J" \
		"(lambda s: (0 < s.count('descend') < 40, 'mode_deep' in s))($stack)" "(True, False)"
else
	alloc_expect "the leaks' stack, whole" "$J" \
		"(lambda s: (s[1:41].count('descend'), s[41:42]))($stack)" "(40, ['mode_deep'])"
fi
case ${PK_ALLOC_BACKEND:-auto} in
auto | trap)
	n=$(alloc_stat deep alloc_jump_trap_stops)
	if [ "${PERFKIT_ALLOC_WALK:-}" = off ]; then # alloc-walkoff-suite.sh
		python3 -c "import sys; sys.exit(0 if 200 <= $n <= 300 else 1)" ||
			pk_fail "$n detour stops without the walk: each of the 200 allocations under the deep stack stops"
		exit 0
	fi
	w=$(alloc_stat deep alloc_walked_stacks)
	pk_log "detour stops: $n, walked stacks: $w"
	python3 -c "import sys; sys.exit(0 if 1 <= $n <= 20 and $w >= 195 else 1)" ||
		pk_fail "$n detour stops, $w walked stacks: the first allocation under the deep stack stops, the others walk it"
	PERFKIT_ALLOC_WALK=off alloc_run deep-nowalk "$PK_TMP/out2" "$TARGETS/alloc-suite" deep
	[ "$ALLOC_RC" = 0 ] || pk_fail "alloc-suite deep (no walk) exited $ALLOC_RC"
	alloc_json deep-nowalk "$J"
	alloc_expect "deep_leaf() (no walk)" "$J" 'site("deep_leaf")["count"], site("deep_leaf")["frees"]' "(200, 100)"
	alloc_expect "the leaks' stack, whole (no walk)" "$J" \
		"(lambda s: (s[1:41].count('descend'), s[41:42]))($stack)" "(40, ['mode_deep'])"
	n=$(alloc_stat deep-nowalk alloc_jump_trap_stops)
	pk_log "detour stops without the walk: $n"
	python3 -c "import sys; sys.exit(0 if 200 <= $n <= 300 else 1)" ||
		pk_fail "$n detour stops without the walk: each of the 200 allocations under the deep stack stops (the frees need no stack), and a few more at most for a full ring" ;;
esac
