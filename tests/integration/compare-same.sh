#!/bin/bash
# compare-same.sh - nothing changed, and perfkit compare says so.
#
# cmp-work-slow is recorded twice with `perfkitd run -F 499`: the same
# program doing the same work.  Checks:
#  * compare a b: no significant improvement or regression in either
#    list, self or total time; --fail-on-regression 0 exits 0;
#  * the CPU speedup is the runs' own CPU ratio (their
#    CLOCK_PROCESS_CPUTIME_ID) within 2% (see compare-speedup.sh for the
#    allowance) and close to 1;
#  * each function's time ratio is 1 within 4 sigma + 5% (cmp_check_ratio);
#  * a third run sampled at 199 Hz compares with a (499 Hz) the same way:
#    no significant change, time ratios 1 (times, not counts, compared);
#  * compare a a (the same session twice): same_session, every change 0,
#    both lists empty, speedup exactly 1, and the table says so.
#
# --alpha 0.001: a verdict under no change is a false discovery, which
# happens with probability <= alpha by construction; 0.001 keeps this
# test's own false failures to one run in a thousand.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
pk_init
. "$top_srcdir/tests/integration/compare-common.sh"
pk_need_targets cmp-work-slow

cmp_record a slow
cmp_record b slow
J=$PK_TMP/ab.json
cmp_compare "$J" a b --alpha 0.001
for list in improvements regressions; do
	n=$(cmp_significant "$J" $list)
	[ "$n" = 0 ] || { pk_show "$J"; pk_fail "$n significant $list between two runs of the same program"; }
done
pk_log "ok: no significant change between two runs of the same program"
cmp_check_ratio "slow_path a -> b" "$J" slow_path self_time 1 0.05
cmp_check_ratio "fixed_work a -> b" "$J" fixed_work self_time 1 0.05
true_speedup=$(python3 -c "import sys; print(float(sys.argv[1]) / float(sys.argv[2]))" \
	"$(cmp_truth a cpu_s)" "$(cmp_truth b cpu_s)")
cmp_check_close "CPU speedup a -> b" "$(pk_json "$J" "d['speedup']['cpu']")" "$true_speedup" 0.02
cmp_check_close "CPU speedup a -> b is about 1" "$(pk_json "$J" "d['speedup']['cpu']")" 1 0.10
rc=0
pk_run_limited 30 "$PERFKIT" compare a b --alpha 0.001 --fail-on-regression 0 >"$PK_TMP/gate" 2>&1 || rc=$?
[ "$rc" = 0 ] || { pk_show "$PK_TMP/gate"; pk_fail "--fail-on-regression 0 between identical programs exited $rc"; }

# Another sampling rate: fewer samples, the same times.
cmp_record c slow 199
J=$PK_TMP/ac.json
cmp_compare "$J" a c --alpha 0.001
for list in improvements regressions; do
	n=$(cmp_significant "$J" $list)
	[ "$n" = 0 ] || { pk_show "$J"; pk_fail "$n significant $list between 499 Hz and 199 Hz runs of the same program"; }
done
cmp_check_ratio "slow_path 499 Hz -> 199 Hz" "$J" slow_path self_time 1 0.05
cmp_check_ratio "fixed_work 499 Hz -> 199 Hz" "$J" fixed_work self_time 1 0.05

# The same session twice.
J=$PK_TMP/aa.json
cmp_compare "$J" a a
[ "$(pk_json "$J" "d['same_session']")" = True ] || pk_fail "compare a a: same_session is not true"
[ "$(pk_json "$J" "len(d['improvements']) + len(d['regressions'])")" = 0 ] ||
	{ pk_show "$J"; pk_fail "compare a a lists changes"; }
[ "$(pk_json "$J" "d['speedup']['cpu'] == 1")" = True ] || { pk_show "$J"; pk_fail "compare a a: CPU speedup is not 1"; }
"$PERFKIT" compare a a >"$PK_TMP/aa.txt" || pk_fail "compare a a (table) failed"
grep -q "same session" "$PK_TMP/aa.txt" || { pk_show "$PK_TMP/aa.txt"; pk_fail "compare a a does not say it is the same session"; }
exit 0
