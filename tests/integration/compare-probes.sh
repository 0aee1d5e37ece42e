#!/bin/bash
# compare-probes.sh - perfkit compare carries the calls and mean latency
# of functions probed (perfkitd --probe) in both sessions.
#
# tests/targets/fprobe-calls counts calls f() 12,345 times and g() 1,000
# times; it is recorded twice with --probe f --probe g.  Checks:
#  * JSON probes.functions: calls 12345 -> 12345 and 1000 -> 1000, change
#    0%, exact, no p-value and no verdict (null); avg_ns entries present
#    for both, not exact, test "none" (no per-call variance is stored);
#  * the sampled rows of f and g (where sampled) carry the same calls;
#  * the table lists both with their exact calls and says why there is no
#    test; CSV has the probe rows;
#  * a session compared with itself: calls equal, nothing significant;
#  * probes in one session only: one line saying so.
# No latency value is asserted (timings are not tested here).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
pk_init
. "$top_srcdir/tests/integration/compare-common.sh"
. "$top_srcdir/tests/integration/fprobe-common.sh"
pk_need_targets fprobe-calls cmp-work-fast

fp_record p1 "$PK_TMP/out1" --probe f --probe g -- "$TARGETS/fprobe-calls" counts
fp_record p2 "$PK_TMP/out2" --probe f --probe g -- "$TARGETS/fprobe-calls" counts
for o in out1 out2; do
	grep -q '^f=12345 g=1000$' "$PK_TMP/$o" || { pk_show "$PK_TMP/$o"; pk_fail "the program's output is wrong"; }
done

J=$PK_TMP/cmp.json
cmp_compare "$J" p1 p2

expect() {
	local got
	got=$(python3 - "$J" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
p = d["probes"]
def probe(f, m):
    return [e for e in p["functions"] if e["function"] == f and e["metric"] == m][0]
def rows(f):
    return [e for e in d["improvements"] + d["regressions"] if e["function"] == f]
print(eval(sys.argv[2]))
PY
) || { pk_show "$J"; pk_fail "$1: cannot evaluate $2"; }
	[ "$got" = "$3" ] || { pk_show "$J"; pk_fail "$1: $2 is '$got', expected '$3'"; }
	pk_log "ok: $1: $got"
}

expect "both probed" 'p["before_probed"], p["after_probed"]' "(True, True)"
expect "f calls" 'probe("f", "calls")["before"], probe("f", "calls")["after"], probe("f", "calls")["percent_change"]' "(12345, 12345, 0)"
expect "g calls" 'probe("g", "calls")["before"], probe("g", "calls")["after"], probe("g", "calls")["percent_change"]' "(1000, 1000, 0)"
expect "f status and module" 'probe("f", "calls")["status"], probe("f", "calls")["module"]' "('both', 'fprobe-calls')"
expect "calls: exact, no p-value, no verdict" \
	'set((e["p_value"], e["significant"], e["exact"]) for e in p["functions"] if e["metric"] == "calls")' "{(None, None, True)}"
expect "latency: not tested" \
	'set((e["p_value"], e["significant"], e["exact"], e["test"], e["before"] > 0, e["after"] > 0) for e in p["functions"] if e["metric"] == "avg_ns")' \
	"{(None, None, False, 'none', True, True)}"
# The sampled rows of probed functions carry the calls.
expect "sampled rows of g" 'set((e.get("calls_before"), e.get("calls_after")) for e in rows("g")) <= {(1000, 1000)}' "True"
expect "sampled rows of f" 'set((e.get("calls_before"), e.get("calls_after")) for e in rows("f")) <= {(12345, 12345)}' "True"

pk_run_limited 30 "$PERFKIT" compare p1 p2 >"$PK_TMP/cmp.txt" 2>&1 || pk_fail "compare (table) failed"
grep -q '^Probed functions (2 in both sessions)' "$PK_TMP/cmp.txt" && grep -q 'not tested' "$PK_TMP/cmp.txt" ||
	{ pk_show "$PK_TMP/cmp.txt"; pk_fail "the table has no probed functions section saying why nothing is tested"; }
grep -Eq '^f +fprobe-calls +12345 -> 12345 +\+0\.0% ' "$PK_TMP/cmp.txt" &&
	grep -Eq '^g +fprobe-calls +1000 -> 1000 +\+0\.0% ' "$PK_TMP/cmp.txt" ||
	{ pk_show "$PK_TMP/cmp.txt"; pk_fail "the table lacks f's or g's exact calls"; }
pk_run_limited 30 "$PERFKIT" compare p1 p2 --format csv >"$PK_TMP/cmp.csv" || pk_fail "compare --format csv failed"
grep -q '^probe,f,fprobe-calls,calls,calls,12345,12345,0,both,' "$PK_TMP/cmp.csv" ||
	{ pk_show "$PK_TMP/cmp.csv"; pk_fail "the CSV has no probe row for f"; }

# Compared with itself: equal calls and no significant change at all.
J=$PK_TMP/self.json
cmp_compare "$J" p1 p1
expect "itself: f and g calls" '[(probe(f, "calls")["before"], probe(f, "calls")["after"]) for f in ("f", "g")]' "[(12345, 12345), (1000, 1000)]"
expect "itself: nothing significant" 'sum(1 for e in d["improvements"] + d["regressions"] if e["significant"])' "0"

# Only one session probed.
rc=0
pk_run_limited 90 "$PERFKITD" run -q -n plain -- "$TARGETS/cmp-work-fast" "$PK_TMP/truth-plain" 50 \
	>"$PK_TMP/out-plain" 2>"$PK_TMP/err-plain" || rc=$?
[ "$rc" = 0 ] || { pk_show "$PK_TMP/err-plain"; pk_fail "perfkitd run cmp-work-fast exited $rc"; }
pk_run_limited 30 "$PERFKIT" compare plain p1 >"$PK_TMP/one.txt" 2>&1 || pk_fail "compare plain p1 failed"
[ "$(grep -c "only AFTER ('p1') was recorded with --probe" "$PK_TMP/one.txt")" = 1 ] ||
	{ pk_show "$PK_TMP/one.txt"; pk_fail "compare with one probed session does not say so in one line"; }
grep -q '^Probed functions' "$PK_TMP/one.txt" && { pk_show "$PK_TMP/one.txt"; pk_fail "probe table shown with one side probed"; }
exit 0
