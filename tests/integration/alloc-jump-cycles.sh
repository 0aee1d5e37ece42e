#!/bin/bash
# alloc-jump-cycles.sh - 20 attach/detach cycles of perfkitd attach
# --alloc --probe-backend jump on one running program (tests/targets/
# alloc-paced: two threads allocating and freeing in bursts of 100 pairs a
# millisecond, a rate the jump backend follows without dropping).  Each
# window is exact: no event dropped or lost, every allocation seen is
# freed within the window except at most one per thread at its end, every
# free seen is of a block seen except at most one per thread at its start,
# sizes exact.  After every detach the ring is gone from the target and
# libc's code is byte for byte its file; the program finishes with exit
# status 0.  PK_CYCLES_BACKEND and PK_CYCLES_BURST run it with another
# backend and burst (alloc-trap-cycles.sh: trap, unpaced).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"
pk_init
PK_ALLOC_BACKEND=${PK_CYCLES_BACKEND:-jump} # the ring backends, whatever the default
. "$top_srcdir/tests/integration/alloc-common.sh"
pk_need_targets alloc-paced

CYCLES=${PK_JUMP_CYCLES:-20}
alloc_start_tracee "$PK_TMP/p.out" "$TARGETS/alloc-paced" 2 "${PK_CYCLES_BURST:-100}"
pk_need_attach "$ALLOC_TPID"
echo g >&8
seen=0
for i in $(seq 1 "$CYCLES"); do
	alloc_attach "cycle$i" "$PK_TMP/c$i.err" --probe-backend "$PK_ALLOC_BACKEND" -d 0.3
	pk_wait_exit "$ALLOC_PPID" 60
	[ "$PK_STATUS" = 0 ] || { pk_show "$PK_TMP/c$i.err"; pk_fail "cycle $i: perfkitd exited $PK_STATUS"; }
	pk_gone "$ALLOC_TPID" && { pk_show "$PK_TMP/p.out"; pk_fail "cycle $i: the target died"; }
	[ "$(pk_tracer_pid "$ALLOC_TPID")" = 0 ] || pk_fail "cycle $i: the target is still traced"
	grep -q 'memfd:perfkit-ring' "/proc/$ALLOC_TPID/maps" && pk_fail "cycle $i: the ring is still mapped after the detach"
	alloc_text_restored "$ALLOC_TPID" || pk_fail "cycle $i: libc's code is not restored"
	J=$PK_TMP/c$i.json
	alloc_json "cycle$i" "$J"
	[ "$(alloc_stat "cycle$i" alloc_jump_probes)" -ge 2 ] || pk_fail "cycle $i: the $PK_ALLOC_BACKEND backend was not used"
	[ "$(alloc_stat "cycle$i" alloc_ring_drops)" = 0 ] || { pk_show "$PK_TMP/c$i.err"; pk_fail "cycle $i: events dropped"; }
	[ "$(alloc_stat "cycle$i" alloc_jump_foreign_events)" = 0 ] || pk_fail "cycle $i: events of foreign threads"
	alloc_expect "cycle $i: window balance" "$J" \
		'(lambda s, t: (s["count"] > 0, 0 <= s["count"] - s["frees"] <= 2, s["live_count"] == s["count"] - s["frees"], t["unknown_frees"] <= 2, t["lost_returns"]))(site("paced_worker"), d["totals"])' \
		"(True, True, True, True, 0)"
	# thread 0 allocates 40 bytes, thread 1 41: bytes = 40 * count + (thread 1's)
	alloc_expect "cycle $i: sizes" "$J" \
		'(lambda s: 40 * s["count"] <= s["bytes"] <= 41 * s["count"] and s["bytes_freed"] <= s["bytes"])(site("paced_worker"))' "True"
	seen=$((seen + $(python3 -c 'import json,sys; print(sum(s["count"] for s in json.load(open(sys.argv[1]))["sites"] if s["function"] == "paced_worker"))' "$J")))
done
echo s >&8
alloc_wait_tracee "$PK_TMP/p.out"
pairs=$(sed -n 's/^pairs //p' "$PK_TMP/p.out")
[ -n "$pairs" ] && [ "$seen" -le "$pairs" ] || pk_fail "the windows saw $seen allocations of '$pairs'"
pk_log "ok: $CYCLES attach/detach cycles ($PK_ALLOC_BACKEND), exact windows ($seen of $pairs allocations seen), the target finished"
