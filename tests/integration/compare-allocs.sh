#!/bin/bash
# compare-allocs.sh - perfkit compare shows what changed in allocations,
# exactly, when both sessions were recorded with --alloc.
#
# tests/targets/cmp-alloc.c built twice: cmp-alloc-few makes 2000 fewer
# malloc(64) in churn() and leaks 1 block of 100 in leak() instead of 4;
# steady() (500 x malloc(32), freed) is the same.  Everything else (the
# C library's own allocations) is the same program run twice, so between
# `compare many few`:
#  * allocations differ by exactly 2003, bytes allocated by 128300, bytes
#    not freed at the end by 300 (overall table, JSON allocations.totals,
#    CSV allocation_total rows);
#  * the call site churn goes from 3000 to 1000 allocations and from
#    192000 to 64000 bytes; leak from 4 to 1 and from 400 to 100 live
#    bytes; steady is not listed as changed;
#  * these carry no p-value and no verdict (null): exact counts, and the
#    output says so;
#  * a session without allocation data on one side: one line saying so,
#    no allocation rows at all.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
pk_init
. "$top_srcdir/tests/integration/compare-common.sh"
pk_need_targets cmp-alloc-many cmp-alloc-few cmp-work-fast

# The int3 backend: this test is about compare, and the allocation
# backends are tested by alloc-*.sh (at the time of writing the jump
# backend left the program's frames unnamed in about half of the runs of
# this short tracee, which would make every site 'added' or 'removed').
for v in many few; do
	rc=0
	pk_run_limited 120 "$PERFKITD" run -q --alloc --probe-backend int3 -n "$v" -- "$TARGETS/cmp-alloc-$v" \
		>"$PK_TMP/out-$v" 2>"$PK_TMP/err-$v" || rc=$?
	[ "$rc" = 0 ] && grep -q '^done$' "$PK_TMP/out-$v" ||
		{ pk_show "$PK_TMP/out-$v" "$PK_TMP/err-$v"; pk_fail "perfkitd run --alloc cmp-alloc-$v exited $rc"; }
done
# The truth as each build printed it.
churn_many=$(awk '$1 == "churn" { print $2 }' "$PK_TMP/out-many")
churn_few=$(awk '$1 == "churn" { print $2 }' "$PK_TMP/out-few")
leaks_many=$(awk '$1 == "leaks" { print $2 }' "$PK_TMP/out-many")
leaks_few=$(awk '$1 == "leaks" { print $2 }' "$PK_TMP/out-few")
[ "$churn_many/$churn_few/$leaks_many/$leaks_few" = 3000/1000/4/1 ] ||
	pk_fail "the tracees printed churn $churn_many/$churn_few, leaks $leaks_many/$leaks_few"

J=$PK_TMP/cmp.json
cmp_compare "$J" many few

# expect LABEL EXPR WANT: a python expression over d (the compare JSON).
expect() {
	local got
	got=$(python3 - "$J" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
a = d["allocations"]
def total(m):
    return [(t["before"], t["after"]) for t in a["totals"] if t["metric"] == m][0]
def site(f, m):
    s = [(t["before"], t["after"]) for t in a["sites"] if t["function"] == f and t["metric"] == m]
    return s[0] if s else None
print(eval(sys.argv[2]))
PY
) || { pk_show "$J"; pk_fail "$1: cannot evaluate $2"; }
	[ "$got" = "$3" ] || { pk_show "$J"; pk_fail "$1: $2 is '$got', expected '$3'"; }
	pk_log "ok: $1: $got"
}

expect "recorded" 'a["before_recorded"], a["after_recorded"]' "(True, True)"
expect "allocations differ by 2003" 'total("alloc_count")[0] - total("alloc_count")[1]' "2003"
expect "bytes allocated differ by 128300" 'total("alloc_bytes")[0] - total("alloc_bytes")[1]' "128300"
expect "bytes not freed differ by 300" 'total("live_bytes")[0] - total("live_bytes")[1]' "300"
expect "frees differ by 2000" 'total("free_count")[0] - total("free_count")[1]' "2000"
expect "churn count" 'site("churn", "alloc_count")' "(3000, 1000)"
expect "churn bytes" 'site("churn", "alloc_bytes")' "(192000, 64000)"
expect "churn live" 'site("churn", "alloc_live_bytes")' "(0, 0)"
expect "leak count" 'site("leak", "alloc_count")' "(4, 1)"
expect "leak live" 'site("leak", "alloc_live_bytes")' "(400, 100)"
expect "churn change" '[round(t["percent_change"], 3) for t in a["sites"] if t["function"] == "churn" and t["metric"] == "alloc_count"]' "[-66.667]"
expect "steady unchanged" 'site("steady", "alloc_count"), a["unchanged_sites"] >= 1' "(None, True)"
expect "no p-value, no verdict" 'set((t["p_value"], t["significant"], t["exact"]) for t in a["totals"] + a["sites"])' "{(None, None, True)}"
expect "the program's module" '[t["module"] for t in a["sites"] if t["function"] == "churn"][0]' "cmp-alloc-few"

# The table: totals in the overall table, the sites, and why no p-value.
pk_run_limited 30 "$PERFKIT" compare many few >"$PK_TMP/cmp.txt" 2>&1 || pk_fail "compare (table) failed"
grep -Eq '^allocations +[0-9]+ +[0-9]+ +-[0-9.]+%' "$PK_TMP/cmp.txt" ||
	{ pk_show "$PK_TMP/cmp.txt"; pk_fail "the overall table has no allocations row"; }
grep -Eq '^churn +cmp-alloc-few +3000 -> 1000 +-66\.7% +192000 -> 64000 +-66\.7% +0 -> 0' "$PK_TMP/cmp.txt" ||
	{ pk_show "$PK_TMP/cmp.txt"; pk_fail "the table has no churn site row with its exact counts"; }
grep -q 'exact counts' "$PK_TMP/cmp.txt" && grep -q 'no p-value' "$PK_TMP/cmp.txt" ||
	{ pk_show "$PK_TMP/cmp.txt"; pk_fail "the table does not say the counts are exact"; }
grep -Ev '^(churn|leak) ' "$PK_TMP/cmp.txt" | grep -q '^steady ' &&
	{ pk_show "$PK_TMP/cmp.txt"; pk_fail "steady (unchanged) is listed as a changed site"; }
sed '/^$/q' "$PK_TMP/cmp.txt" | tr '\n' ' ' | grep -q 'Allocations (exact counts, no test): [0-9]* -> [0-9]* (-' ||
	{ pk_show "$PK_TMP/cmp.txt"; pk_fail "the summary does not state the allocation change"; }

# CSV: the same numbers.
pk_run_limited 30 "$PERFKIT" compare many few --format csv >"$PK_TMP/cmp.csv" || pk_fail "compare --format csv failed"
grep -q '^allocation_site,churn,cmp-alloc-few,alloc_count,allocations,3000,1000,' "$PK_TMP/cmp.csv" ||
	{ pk_show "$PK_TMP/cmp.csv"; pk_fail "the CSV has no churn alloc_count row"; }

# Only one side recorded allocations: one line, no numbers.
rc=0
pk_run_limited 90 "$PERFKITD" run -q -n plain -- "$TARGETS/cmp-work-fast" "$PK_TMP/truth-plain" 50 \
	>"$PK_TMP/out-plain" 2>"$PK_TMP/err-plain" || rc=$?
[ "$rc" = 0 ] || { pk_show "$PK_TMP/err-plain"; pk_fail "perfkitd run cmp-work-fast exited $rc"; }
pk_run_limited 30 "$PERFKIT" compare many plain >"$PK_TMP/one.txt" 2>&1 || pk_fail "compare many plain failed"
[ "$(grep -c "only BEFORE ('many') was recorded with --alloc" "$PK_TMP/one.txt")" = 1 ] ||
	{ pk_show "$PK_TMP/one.txt"; pk_fail "compare with one --alloc session does not say so in one line"; }
grep -Eq '^(allocations|bytes allocated|peak memory) ' "$PK_TMP/one.txt" &&
	{ pk_show "$PK_TMP/one.txt"; pk_fail "allocation totals shown although AFTER has none"; }
cmp_compare "$PK_TMP/one.json" many plain
[ "$(pk_json "$PK_TMP/one.json" "(d['allocations']['before_recorded'], d['allocations']['after_recorded'], d['allocations']['totals'])")" = "(True, False, [])" ] ||
	{ pk_show "$PK_TMP/one.json"; pk_fail "JSON allocations with one side recorded"; }
exit 0
