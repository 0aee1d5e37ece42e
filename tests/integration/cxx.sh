#!/bin/bash
# cxx.sh - C++ names are demangled.
#
# tests/targets/worker spends its CPU in ns::Worker::run() and the
# template ns::mix<unsigned long>().  The report must name them in
# demangled form (no _ZN... symbol of the program left), with
# ns::Worker::run() on at least 90% of the stacks and its total covering
# ns::mix (its callee); complete stacks >= 99%.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
pk_init
pk_need_targets worker

rc=0
pk_run_limited 60 "$PERFKITD" run -q -F 999 -n cxx -- "$TARGETS/worker" 1 \
	>"$PK_TMP/out" 2>"$PK_TMP/err" || rc=$?
[ "$rc" = 0 ] || { pk_show "$PK_TMP/err"; pk_fail "perfkitd run exited $rc"; }
pk_report cxx "$PK_TMP/report.json"
all=$(pk_total_samples "$PK_TMP/report.json")
run_self=$(pk_func "$PK_TMP/report.json" 'ns::Worker::run()' self_samples)
run_total=$(pk_func "$PK_TMP/report.json" 'ns::Worker::run()' total_samples)
mix=$(pk_json "$PK_TMP/report.json" 'sum(f["self_samples"] for f in d["functions"] if "ns::mix<unsigned long>" in f["function"])')
mangled=$(pk_json "$PK_TMP/report.json" '[f["function"] for f in d["functions"] if f["function"].startswith("_ZN2ns")]')
[ "$mangled" = "[]" ] || pk_fail "mangled names left in the report: $mangled"
[ "$run_total" -gt 0 ] || { pk_json "$PK_TMP/report.json" '[f["function"] for f in d["functions"]][:10]' >&2; pk_fail "no function named ns::Worker::run()"; }
[ "$mix" -gt 0 ] || pk_fail "no function named ns::mix<unsigned long>(...)"
pk_check_ge "ns::Worker::run() total share" "$(python3 -c "print($run_total / $all)")" 0.9
pk_check_ge "ns::Worker::run() total covers ns::mix" "$run_total" $((run_self + mix))
pk_check_stacks cxx
exit 0
