#!/bin/bash
# alloc-basic.sh - perfkitd run --alloc on a tracee with known truth:
# 10,000 x malloc(100) in hot() and 2 x malloc(50) in cold(), exactly the
# leaked blocks with their sizes and stacks, a realloc growth chain, the
# aligned family (posix_memalign pointer read at return), and the outputs
# built on them: table, CSV, --timeline --svg, flamegraph --alloc; and
# twin(), called at the same depth from two callers, 1,000 times each.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"
pk_init
. "$top_srcdir/tests/integration/alloc-common.sh"
pk_need_targets alloc-suite

alloc_run basic "$PK_TMP/out" "$TARGETS/alloc-suite" basic
[ "$ALLOC_RC" = 0 ] || { pk_show "$PK_TMP/out" "$PK_TMP/out.err"; pk_fail "alloc-suite basic exited $ALLOC_RC"; }
grep -q '^done$' "$PK_TMP/out" || pk_fail "the tracee did not finish its work"
J=$PK_TMP/a.json
alloc_json basic "$J"
# CPU samples taken in a detour (trap, jump) count for the probed function:
# the unwinder steps over detours, so no sample is left in anonymous code
# (int3's out-of-line slots and return trampoline are not resolved so)
if [ "${PK_ALLOC_BACKEND:-auto}" != int3 ]; then
	"$PERFKIT" report basic --format csv --limit 0 >"$PK_TMP/cpu.csv" || pk_fail "perfkit report basic failed"
	anon=$(awk -F, 'NR > 1 && $2 == "[anon]" { s += $3 } END { print s + 0 }' "$PK_TMP/cpu.csv")
	[ "$anon" = 0 ] || { pk_show "$PK_TMP/cpu.csv"; pk_fail "$anon CPU samples in anonymous code (a detour?)"; }
fi

# the symbols of the code mapped at the probes' placing (the program, libc,
# the loader) were read before the program ran, not while its first calls
# waited in the ring
[ "$(alloc_stat basic alloc_modules_read_ahead)" -ge 2 ] 2>/dev/null ||
	pk_fail "modules read ahead: $(alloc_stat basic alloc_modules_read_ahead), expected the program and libc at least"
# expect_memo SESSION AT_LEAST WHAT: the walk memo gave SESSION's calls
# at least AT_LEAST times when the tracee's frames all take the CFA from
# the stack pointer (no frame pointer in its CFI); with frame pointers
# (every stack passes main(), whose CFA then comes from rbp), never
expect_memo() {
	local m
	m=$(alloc_stat "$1" alloc_walk_memo)
	if readelf --debug-dump=frames "$TARGETS/alloc-suite" | grep -q 'DW_CFA_def_cfa_register: r6'; then
		[ "$m" = 0 ] || pk_fail "$1: memoized walks: $m, expected none (frames from rbp)"
	else
		[ "${m%.*}" -ge "$2" ] 2>/dev/null || pk_fail "$1: memoized walks: $m, expected $3"
	fi
}
# hot()'s 10,000 calls share one stack: once perfkitd has taken its chain,
# a detour writes the chain's hash alone.  None known would mean that the
# detours and perfkitd hash chains differently (how many depends on how
# far perfkitd lags: in trap mode the ring, 4,096 records, holds the
# producer back, so hot()'s last thousands at least)
case ${PK_ALLOC_BACKEND:-auto}/${PERFKIT_ALLOC_WALK:-on} in
auto/on | trap/on)
	k=$(alloc_stat basic alloc_walk_known)
	[ "${k%.*}" -ge 1000 ] 2>/dev/null || pk_fail "known stacks: $k, expected hot()'s last thousands"
	# and the walk memo gives them: the same stack at the same depth
	expect_memo basic 1000 "hot()'s, of $k known" ;;
esac
# twin()'s calls through via_a() and via_b() enter malloc at the same
# depth with the same return address: each caller gets its own 1,000 (the
# walk memo, which has an entry for one of them, must tell them apart by
# the words above); in trap mode, with the walk on and no frame pointers,
# the memo gives the second half's calls from the caller it knows (500)
alloc_run twins "$PK_TMP/tw.out" "$TARGETS/alloc-suite" twins
[ "$ALLOC_RC" = 0 ] || { pk_show "$PK_TMP/tw.out" "$PK_TMP/tw.out.err"; pk_fail "alloc-suite twins exited $ALLOC_RC"; }
alloc_json twins "$PK_TMP/tw.json"
alloc_expect "twins" "$PK_TMP/tw.json" \
	'sorted((l["stack"][1], l["count"]) for l in d["leaks"] if l["stack"][:1] == ["twin"])' \
	"[('via_a', 1000), ('via_b', 1000)]"
case ${PK_ALLOC_BACKEND:-auto}/${PERFKIT_ALLOC_WALK:-on} in
auto/on | trap/on)
	expect_memo twins 250 "most of one caller's second 500" ;;
esac
alloc_expect "mode" "$J" 'd["mode"]["name"], d["mode"]["scaled"], d["target_exited"]' "('full', False, True)"
alloc_expect "hot()" "$J" 'site("hot")["count"], site("hot")["bytes"], site("hot")["avg_size"], site("hot")["live_bytes"]' "(10000, 1000000, 100, 400)"
alloc_expect "cold()" "$J" 'site("cold")["count"], site("cold")["bytes"], site("cold")["live_bytes"]' "(2, 100, 50)"
# realloc(NULL,10), 20 growth steps (free + allocation each), realloc(p,0)
alloc_expect "realloc chain" "$J" 'site("chain")["count"], site("chain")["bytes"], site("chain")["frees"], site("chain")["live_bytes"]' "(21, 2310, 21, 0)"
# posix_memalign 1000 (leaked), aligned_alloc 128, memalign 100, valloc 5000,
# pvalloc(100) = 4096, reallocarray 10*20, calloc 10*30
alloc_expect "aligned family" "$J" 'site("aligned")["count"], site("aligned")["bytes"], site("aligned")["live_bytes"]' "(7, 10824, 1000)"
# the 3 blocks made before the go byte were seen too (run mode traces from the entry point)
alloc_expect "before go" "$J" 'site("mode_basic")["count"], site("mode_basic")["frees"], d["totals"]["unknown_frees"]' "(3, 3, 0)"
alloc_expect "leaks of hot" "$J" 'leaks_of("hot")' "[(100, 4)]"
alloc_expect "leaks of cold" "$J" 'leaks_of("cold")' "[(50, 1)]"
alloc_expect "leak of aligned" "$J" 'leaks_of("aligned"), [l["allocator"] for l in d["leaks"] if l["stack"][0] == "aligned"]' "([(1000, 1)], ['posix_memalign'])"
alloc_expect "leak stack" "$J" '[l["stack"][:2] for l in d["leaks"] if l["stack"][0] == "hot"]' "[['hot', 'mode_basic']]"
# Every other live block is libc's own (stdout's buffer): none from the program.
alloc_expect "no other leak" "$J" 'sorted(l["stack"][0] for l in d["leaks"] if l["stack"][0] not in ("hot", "cold", "aligned") and not l["stack"][0].startswith("_IO_"))' "[]"
alloc_expect "totals" "$J" 'd["totals"]["alloc_calls"] - d["totals"]["free_calls"] == d["totals"]["live_count"], d["totals"]["bytes_allocated"] - d["totals"]["bytes_freed"] == d["totals"]["live_bytes"]' "(True, True)"
alloc_expect "peak" "$J" 'd["totals"]["peak_bytes"] >= 1000000 + 100, d["totals"]["peak_bytes"] <= d["totals"]["bytes_allocated"]' "(True, True)"

# Table and CSV say the same.
pk_run_limited 30 "$PERFKIT" allocs basic >"$PK_TMP/table" || pk_fail "perfkit allocs (table) failed"
grep -q 'mode: full' "$PK_TMP/table" || { pk_show "$PK_TMP/table"; pk_fail "the table does not state the mode"; }
grep -Eq '^ *10000 .* hot$' "$PK_TMP/table" || { pk_show "$PK_TMP/table"; pk_fail "the table has no hot() row with 10000 calls"; }
pk_run_limited 30 "$PERFKIT" allocs basic --format csv --sort count >"$PK_TMP/csv" || pk_fail "perfkit allocs --format csv failed"
[ "$(sed -n 2p "$PK_TMP/csv" | cut -d, -f1-3)" = "hot,10000,1000000" ] || { pk_show "$PK_TMP/csv"; pk_fail "CSV: first row is not hot,10000,1000000"; }
pk_run_limited 30 "$PERFKIT" allocs basic --leaks --format csv >"$PK_TMP/leaks.csv" || pk_fail "allocs --leaks --format csv failed"
grep -q '^100,4,400,malloc,hot;mode_basic' "$PK_TMP/leaks.csv" || { pk_show "$PK_TMP/leaks.csv"; pk_fail "leaks CSV lacks hot's 4 x 100"; }

# The timeline chart: valid XML, axes labelled, the peak marked.
pk_run_limited 30 "$PERFKIT" allocs basic --timeline --svg "$PK_TMP/t.svg" >"$PK_TMP/tl" || pk_fail "allocs --timeline --svg failed"
python3 - "$PK_TMP/t.svg" "$J" <<'PY' || pk_fail "the timeline SVG is wrong"
import json, sys, xml.etree.ElementTree as ET
ns = "{http://www.w3.org/2000/svg}"
root = ET.parse(sys.argv[1]).getroot()
d = json.load(open(sys.argv[2]))
texts = " ".join(t.text or "" for t in root.iter(ns + "text"))
assert "time since the start (s)" in texts and "bytes in use" in texts, texts
peak = d["totals"]["peak_bytes"]
assert "peak" in texts and ("(%d bytes)" % peak) in texts, texts
assert len(list(root.iter(ns + "circle"))) == 1
pts = [p for p in root.iter(ns + "polyline")][0].get("points").split()
assert len(pts) >= 3, pts
PY

# Flame graph of the bytes: hot() is there with its bytes.
pk_run_limited 30 "$PERFKIT" flamegraph basic --alloc bytes -o "$PK_TMP/fg.svg" || pk_fail "flamegraph --alloc bytes failed"
grep -q '"hot"' "$PK_TMP/fg.svg" || grep -q 'hot' "$PK_TMP/fg.svg" || pk_fail "the allocation flame graph has no hot()"
pk_run_limited 30 "$PERFKIT" report basic --event alloc_count --format json >"$PK_TMP/r.json" || pk_fail "report --event alloc_count failed"
[ "$(pk_func "$PK_TMP/r.json" malloc self_samples)" -ge 10000 ] || { pk_show "$PK_TMP/r.json"; pk_fail "report counts fewer than 10000 mallocs"; }
[ "$(pk_func "$PK_TMP/r.json" hot total_samples)" = 10000 ] || { pk_show "$PK_TMP/r.json"; pk_fail "report --event alloc_count: hot() made 10000 allocations"; }
pk_run_limited 30 "$PERFKIT" report basic --event alloc_bytes --format json >"$PK_TMP/rb.json" || pk_fail "report --event alloc_bytes failed"
[ "$(pk_func "$PK_TMP/rb.json" hot total_samples)" = 1000000 ] || { pk_show "$PK_TMP/rb.json"; pk_fail "report --event alloc_bytes: hot() allocated 1000000 bytes"; }
# a loop's allocations within SAMPLE_MERGE_NS of each other are stored as
# one sample with their summed weight (int3's 25 us stops leave few to merge)
if [ "${PK_ALLOC_BACKEND:-auto}" != int3 ]; then
	python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(not d["samples"] * 10 < d["total_weight"])' "$PK_TMP/r.json" ||
		{ pk_show "$PK_TMP/r.json"; pk_fail "the hot loop's allocations were not merged into few samples"; }
fi
pk_log "ok: allocation reports of a run-mode session"

# The same program linked statically (non-PIE, allocators found in .symtab).
pk_need_targets alloc-suite-static
alloc_run static "$PK_TMP/sout" "$TARGETS/alloc-suite-static" basic
[ "$ALLOC_RC" = 0 ] && grep -q '^done$' "$PK_TMP/sout" || { pk_show "$PK_TMP/sout" "$PK_TMP/sout.err"; pk_fail "alloc-suite-static basic exited $ALLOC_RC"; }
J=$PK_TMP/s.json
alloc_json static "$J"
alloc_expect "static: hot()" "$J" 'site("hot")["count"], site("hot")["bytes"], site("cold")["count"], site("aligned")["bytes"], site("chain")["count"]' "(10000, 1000000, 2, 10824, 21)"
alloc_expect "static: leaks" "$J" 'leaks_of("hot"), leaks_of("cold"), leaks_of("aligned")' "([(100, 4)], [(50, 1)], [(1000, 1)])"
pk_log "ok: static executable"
