# compare-common.sh - helpers shared by tests/integration/compare-*.sh
# (sourced after tests/lib.sh and pk_init).
#
# The tracee is tests/targets/cmp-work.c built twice: cmp-work-slow and
# cmp-work-fast, whose slow_path() does a third of the slow build's work
# while fixed_work() is unchanged.  Each run writes its own truth: its
# CPU time (CLOCK_PROCESS_CPUTIME_ID) and the iterations of each function.

# cmp_record NAME slow|fast [HZ]: record one run at HZ (default 499) as
# session NAME; the truth file is $PK_TMP/truth-NAME.
cmp_record() {
	local name=$1 variant=$2 hz=${3:-499} rc=0 n
	pk_run_limited 90 "$PERFKITD" run -q -F "$hz" -n "$name" -- "$TARGETS/cmp-work-$variant" \
		"$PK_TMP/truth-$name" >"$PK_TMP/out-$name" 2>"$PK_TMP/err-$name" || rc=$?
	[ "$rc" = 0 ] || { pk_show "$PK_TMP/out-$name" "$PK_TMP/err-$name"; pk_fail "perfkitd run cmp-work-$variant exited $rc"; }
	[ -s "$PK_TMP/truth-$name" ] || pk_fail "cmp-work-$variant wrote no truth file"
	n=$(pk_session_field "$name" samples)
	# Fewer samples than this and no statistical check below means much.
	pk_check_ge "samples in session $name" "$n" 100
}

# cmp_truth NAME KEY: a value from a run's truth file.
cmp_truth() {
	awk -v k="$2" '$1 == k { print $2 }' "$PK_TMP/truth-$1"
}

# cmp_compare OUT ARGS...: perfkit compare ARGS --format json into OUT;
# the command must succeed.
cmp_compare() {
	local out=$1 rc=0
	shift
	pk_run_limited 30 "$PERFKIT" compare --format json "$@" >"$out" 2>"$out.err" || rc=$?
	[ "$rc" = 0 ] || { pk_show "$out" "$out.err"; pk_fail "perfkit compare $* exited $rc"; }
	python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$out" 2>/dev/null ||
		{ pk_show "$out"; pk_fail "perfkit compare $* printed invalid JSON"; }
}

# cmp_entry JSON FUNCTION METRIC FIELD: a field of the entry for FUNCTION
# and METRIC in either list ("missing" when there is none).
cmp_entry() {
	python3 - "$@" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for e in d["improvements"] + d["regressions"]:
    if e["function"] == sys.argv[2] and e["metric"] == sys.argv[3]:
        v = e[sys.argv[4]]
        print("null" if v is None else str(v).lower() if isinstance(v, bool) else v)
        break
else:
    print("missing")
PY
}

# cmp_significant JSON LIST: how many entries of LIST are significant.
cmp_significant() {
	pk_json "$1" "sum(1 for e in d['$2'] if e['significant'])"
}

# cmp_check_ratio LABEL JSON FUNCTION METRIC TRUE_RATIO SYS: the function's
# time after / before agrees with TRUE_RATIO within 4 sigma + SYS
# (relative).  Sigma by the delta method from the sample counts: the time
# estimate x / rate has relative variance (1 - p) / (n p) for x of n
# samples at share p, so the ratio's relative variance is the sum of both.
cmp_check_ratio() {
	python3 - "$@" <<'PY' >&2 || exit 1
import json, math, sys
label, path, fn, metric, truth, sys_allow = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5]), float(sys.argv[6])
d = json.load(open(path))
for e in d["improvements"] + d["regressions"]:
    if e["function"] == fn and e["metric"] == metric:
        break
else:
    print("%s: FAIL: no entry for %s %s" % (label, fn, metric))
    sys.exit(1)
x1, x2 = e["before_samples"], e["after_samples"]
n1, n2 = d["before"]["counted_samples"], d["after"]["counted_samples"]
if x1 <= 0 or x2 <= 0:
    print("%s: FAIL: %s has %d / %d samples" % (label, fn, x1, x2))
    sys.exit(1)
ratio = e["after"] / e["before"]
rel = math.sqrt((1 - x1 / n1) / x1 + (1 - x2 / n2) / x2)
allowed = truth * (4 * rel + sys_allow)
ok = abs(ratio - truth) <= allowed
print("%s: %s: %s %s after/before = %.3f (%d -> %d samples), truth %.3f, |diff| %.3f, allowed %.3f (4 sigma %.3f + %.3f)"
      % (label, "ok" if ok else "FAIL", fn, metric, ratio, x1, x2, truth, abs(ratio - truth), allowed, truth * 4 * rel, truth * sys_allow))
sys.exit(0 if ok else 1)
PY
}

# cmp_cost_ratio BEFORE AFTER: CPU seconds per loop iteration in run
# AFTER over run BEFORE, from the runs' own truth files (both functions run
# the same loop).  1 when the machine ran both at one speed; on a shared
# machine (a busy SMT sibling, say) it drifts, and fixed_work's time, the
# same iterations in both runs, really changes by that much.
cmp_cost_ratio() {
	python3 -c 'import sys
c1, s1, f1, c2, s2, f2 = map(float, sys.argv[1:])
print((c2 / (s2 + f2)) / (c1 / (s1 + f1)))' \
		"$(cmp_truth "$1" cpu_s)" "$(cmp_truth "$1" slow_path_iterations)" "$(cmp_truth "$1" fixed_work_iterations)" \
		"$(cmp_truth "$2" cpu_s)" "$(cmp_truth "$2" slow_path_iterations)" "$(cmp_truth "$2" fixed_work_iterations)"
}

# cmp_check_unchanged JSON BEFORE AFTER: fixed_work's time changed as the
# runs' own clocks say the same work's cost changed (cmp_cost_ratio,
# within 4 sigma + 5%), and nothing is a significant regression - except
# fixed_work when that cost grew by more than 3%: then it truly took
# longer, and compare is right to say so.
cmp_check_unchanged() {
	local r n
	r=$(cmp_cost_ratio "$2" "$3")
	cmp_check_ratio "fixed_work" "$1" fixed_work self_time "$r" 0.05
	n=$(pk_json "$1" "sum(1 for e in d['regressions'] if e['significant'] and not (e['function'] == 'fixed_work' and $r > 1.03))")
	[ "$n" = 0 ] || { pk_show "$1"; pk_fail "$n significant regressions reported, expected none (cost per iteration after/before $r)"; }
	pk_log "ok: no unexplained regression (cost per iteration after/before $r)"
}

# cmp_check_close LABEL VALUE TRUTH REL: |VALUE - TRUTH| <= REL * TRUTH.
cmp_check_close() {
	python3 - "$@" <<'PY' >&2 || exit 1
import sys
label, v, t, rel = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
try:
    x = float(v)
except ValueError:
    print("%s: FAIL: %r is not a number" % (label, v))
    sys.exit(1)
ok = abs(x - t) <= rel * t
print("%s: %s: %.4f, truth %.4f, allowed +-%.1f%%" % (label, "ok" if ok else "FAIL", x, t, 100 * rel))
sys.exit(0 if ok else 1)
PY
}
