#!/bin/bash
# compare-event.sh - perfkit compare --event compares sessions by another
# sampled event than cpu, testing sample counts, not weights.
#
# cmp-work-slow and cmp-work-fast (see compare-speedup.sh: slow_path does
# a third of the work in the fast build) are recorded with
# --sample-on cpu-clock:1000000, a software event that works without a
# PMU: one sample per millisecond of CPU, each weighing its period (1e6).
# Checks, on `compare --event cpu-clock slow fast`:
#  * both sides counted the cpu-clock event; slow_path's self value is a
#    significant improvement with a negative change, in the improvements
#    list, and nothing is a significant regression (--alpha 0.001, as in
#    compare-speedup.sh; fixed_work excepted when the runs' own clocks
#    show the same work cost more CPU: cmp_check_unchanged);
#  * values are weights (samples x 1e6) while the test ran on the sample
#    counts: slow_path's p-value is recomputed here from the counts and
#    the opportunities on the common base (the larger total weight), and
#    is far from what the weights would give;
#  * without --event the same sessions compare by cpu samples;
#  * the sessions also ran --counters: page-faults, counted in both, is in
#    JSON counters with the values perfkit cache reads, and no p-value;
#    hardware events (which do not open without a PMU) are not compared
#    unless counted in both;
#  * an event that a session lacks is an error (status 1) naming the
#    event and the events each session has.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
pk_init
. "$top_srcdir/tests/integration/compare-common.sh"
pk_need_targets cmp-work-slow cmp-work-fast

if [ -r /proc/sys/kernel/perf_event_paranoid ] && [ "$(cat /proc/sys/kernel/perf_event_paranoid)" -ge 3 ] &&
	[ "$(id -u)" != 0 ]; then
	pk_skip "perf_event_paranoid is 3: perf_event_open is refused to this user"
fi

for v in slow fast; do
	rc=0
	pk_run_limited 90 "$PERFKITD" run -q -F 499 --counters --sample-on cpu-clock:1000000 -n "$v" -- \
		"$TARGETS/cmp-work-$v" "$PK_TMP/truth-$v" >"$PK_TMP/out-$v" 2>"$PK_TMP/err-$v" || rc=$?
	[ "$rc" = 0 ] || { pk_show "$PK_TMP/out-$v" "$PK_TMP/err-$v"; pk_fail "perfkitd run --sample-on cpu-clock cmp-work-$v exited $rc"; }
done

J=$PK_TMP/cmp.json
cmp_compare "$J" --event cpu-clock slow fast --alpha 0.001
[ "$(pk_json "$J" "(d['before']['event'], d['after']['event'], d['before']['event_unit'], d['method']['event'])")" = \
	"('cpu-clock', 'cpu-clock', 'events', 'cpu-clock')" ] || { pk_show "$J"; pk_fail "the compared event is not cpu-clock"; }
pk_check_ge "cpu-clock samples in slow" "$(pk_json "$J" "d['before']['counted_samples']")" 300
[ "$(cmp_entry "$J" slow_path self_time significant)" = true ] ||
	{ pk_show "$J"; pk_fail "slow_path's cpu-clock is not a significant improvement"; }
pk_json "$J" "any(e['function'] == 'slow_path' and e['metric'] == 'self_time' for e in d['improvements'])" |
	grep -qx True || pk_fail "slow_path is not in the improvements list"
pct=$(cmp_entry "$J" slow_path self_time percent_change)
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < 0 else 1)" "$pct" ||
	pk_fail "slow_path's percent change is $pct, expected negative"
cmp_check_unchanged "$J" slow fast

# Weights for the values, counts for the test.
python3 - "$J" <<'PY' >&2 || pk_fail "the test was not run on sample counts"
import json, math, sys
d = json.load(open(sys.argv[1]))
e = [e for e in d["improvements"] if e["function"] == "slow_path" and e["metric"] == "self_time"][0]
assert e["unit"] == "events", e["unit"]
assert e["before"] == e["before_samples"] * 1000000 and e["after"] == e["after_samples"] * 1000000, e
nb, na = d["before"]["counted_samples"], d["after"]["counted_samples"]
wb, wa = d["before"]["counted_weight"], d["after"]["counted_weight"]
assert (wb, wa) == (nb * 1000000, na * 1000000), (wb, wa, nb, na)
base = max(wb, wa)
ob, oa = round(nb * base / wb), round(na * base / wa)
def z_p(x1, n1, x2, n2):
    p = (x1 + x2) / (n1 + n2)
    z = (x1 / n1 - x2 / n2) / math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
    return math.erfc(abs(z) / math.sqrt(2))
want = z_p(e["before_samples"], ob, e["after_samples"], oa)
assert e["test"] == "z", e["test"]
ok = abs(e["p_value"] - want) <= 1e-6 * want + 1e-300
print("slow_path: %d -> %d samples of %d / %d opportunities: p %.4g, from the counts %.4g: %s"
      % (e["before_samples"], e["after_samples"], ob, oa, e["p_value"], want, "ok" if ok else "FAIL"))
assert ok
assert "sample counts" in d["method"]["test"], d["method"]["test"]
PY

# Without --event: cpu samples, as before.
cmp_compare "$PK_TMP/cpu.json" slow fast
[ "$(pk_json "$PK_TMP/cpu.json" "(d['before']['event'], d['after']['event'])")" = "('cpu', 'cpu')" ] ||
	{ pk_show "$PK_TMP/cpu.json"; pk_fail "compare without --event did not use cpu"; }

# Counters: what both sessions counted, as perfkit cache reads them.
for v in slow fast; do
	pk_run_limited 30 "$PERFKIT" cache "$v" --format json >"$PK_TMP/cache-$v.json" 2>&1 ||
		{ pk_show "$PK_TMP/cache-$v.json"; pk_fail "perfkit cache $v failed"; }
done
python3 - "$J" "$PK_TMP/cache-slow.json" "$PK_TMP/cache-fast.json" <<'PY' >&2 || pk_fail "the counters compared are wrong"
import json, sys
d = json.load(open(sys.argv[1]))
sides = [json.load(open(p)) for p in sys.argv[2:4]]
def counted(c):
    return {r["name"]: r["value"] for r in c["counters"] if r.get("status") == "counted"}
cb, ca = counted(sides[0]), counted(sides[1])
want = sorted(set(cb) & set(ca))
got = sorted(e["metric"] for e in d["counters"])
print("counters counted in both: %s; compared: %s" % (want, got))
assert "page-faults" in want, want
assert got == want, (got, want)
for e in d["counters"]:
    assert (e["before"], e["after"]) == (cb[e["metric"]], ca[e["metric"]]), e
    assert e["p_value"] is None and e["significant"] is None, e
PY

# The table says what was compared.
pk_run_limited 30 "$PERFKIT" compare --event cpu-clock slow fast >"$PK_TMP/cmp.txt" 2>&1 || pk_fail "compare --event (table) failed"
grep -q '^Improvements: less cpu-clock than before' "$PK_TMP/cmp.txt" && grep -q 'on sample counts' "$PK_TMP/cmp.txt" ||
	{ pk_show "$PK_TMP/cmp.txt"; pk_fail "the table does not name the event and the test"; }

# An event neither session has, and one only one session has.
pk_expect_error "--event cache-misses" "no event 'cache-misses' in either session" \
	"$PERFKIT" compare --event cache-misses slow fast
pk_error_also "--event cache-misses: events listed" "'slow' has cpu, cpu-clock; 'fast' has cpu, cpu-clock"
rc=0
pk_run_limited 90 "$PERFKITD" run -q -n plain -- "$TARGETS/cmp-work-fast" "$PK_TMP/truth-plain" 50 \
	>"$PK_TMP/out-plain" 2>"$PK_TMP/err-plain" || rc=$?
[ "$rc" = 0 ] || { pk_show "$PK_TMP/err-plain"; pk_fail "perfkitd run cmp-work-fast exited $rc"; }
pk_expect_error "--event cpu-clock with AFTER lacking it" "no event 'cpu-clock' in AFTER: .*'plain' has cpu[;,]" \
	"$PERFKIT" compare --event cpu-clock slow plain
rc=0
"$PERFKIT" compare --event cache-misses slow fast >/dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] || pk_fail "compare with an unknown --event exited $rc, expected 1"
exit 0
