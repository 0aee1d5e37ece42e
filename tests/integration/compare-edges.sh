#!/bin/bash
# compare-edges.sh - perfkit compare on sessions that do not line up, and
# its command line.
#
# Checks:
#  * different functions on each side (split's heavy_work/light_work
#    against cmp-work's slow_path/fixed_work, real recordings): the
#    functions of one side only are "removed" / "added" with a -100% /
#    null (infinite) change, tested like the others, the output is valid
#    in every format and the exit status 0;
#  * an empty session (perfkitd run -- true: no samples) on either side:
#    nothing is tested, nothing is significant, the summary says why, a
#    flame graph is still written, --fail-on-regression 0 exits 0;
#  * usage: --help, a missing or extra SESSION, an unknown session, bad
#    --alpha, --format or --fail-on-regression values.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
pk_init
. "$top_srcdir/tests/integration/compare-common.sh"
pk_need_targets cmp-work-slow split

cmp_record cmp slow
rc=0
pk_run_limited 60 "$PERFKITD" run -q -F 499 -n split -- "$TARGETS/split" "$PK_TMP/truth-split" 1 \
	>"$PK_TMP/out-split" 2>&1 || rc=$?
[ "$rc" = 0 ] || { pk_show "$PK_TMP/out-split"; pk_fail "perfkitd run split exited $rc"; }
TRUE=$(command -v true) || pk_fail "no 'true' program"
rc=0
pk_run_limited 30 "$PERFKITD" run -q -F 499 -n empty -- "$TRUE" >"$PK_TMP/out-empty" 2>&1 || rc=$?
[ "$rc" = 0 ] || { pk_show "$PK_TMP/out-empty"; pk_fail "perfkitd run true exited $rc"; }
n=$(pk_session_field empty samples)
[ "$n" = 0 ] || pk_skip "'true' ran long enough to be sampled ($n samples): no empty session to test"

# Different functions on each side.
J=$PK_TMP/diff.json
cmp_compare "$J" split cmp
[ "$(cmp_entry "$J" heavy_work self_time status)" = removed ] || { pk_show "$J"; pk_fail "heavy_work is not 'removed'"; }
[ "$(cmp_entry "$J" heavy_work self_time percent_change)" = -100 ] || { pk_show "$J"; pk_fail "heavy_work's change is not -100%"; }
[ "$(cmp_entry "$J" slow_path self_time status)" = added ] || { pk_show "$J"; pk_fail "slow_path is not 'added'"; }
[ "$(cmp_entry "$J" slow_path self_time percent_change)" = null ] || { pk_show "$J"; pk_fail "a new function's change is not null"; }
# Hundreds of samples against none: both verdicts are real.
[ "$(cmp_entry "$J" slow_path self_time significant)" = true ] || { pk_show "$J"; pk_fail "slow_path (added) is not significant"; }
[ "$(cmp_entry "$J" heavy_work self_time significant)" = true ] || { pk_show "$J"; pk_fail "heavy_work (removed) is not significant"; }
[ "$(cmp_entry "$J" heavy_work self_time p_value)" != null ] || pk_fail "heavy_work was not tested"
"$PERFKIT" compare split cmp --format csv >"$PK_TMP/diff.csv" || pk_fail "compare --format csv failed"
grep -q '^regression,slow_path,' "$PK_TMP/diff.csv" || { pk_show "$PK_TMP/diff.csv"; pk_fail "CSV lacks the added function"; }
"$PERFKIT" compare split cmp >"$PK_TMP/diff.txt" || pk_fail "compare (table) failed"
grep -q "slow_path .* new " "$PK_TMP/diff.txt" || { pk_show "$PK_TMP/diff.txt"; pk_fail "the table does not mark slow_path new"; }
rc=0
"$PERFKIT" compare split cmp --fail-on-regression 10000 >/dev/null 2>"$PK_TMP/gate.err" || rc=$?
[ "$rc" = 3 ] || { pk_show "$PK_TMP/gate.err"; pk_fail "a significant new function did not trip --fail-on-regression ($rc)"; }

# An empty session on either side.
for pair in "empty cmp" "cmp empty"; do
	set -- $pair
	J=$PK_TMP/empty-$1-$2.json
	cmp_compare "$J" "$1" "$2"
	[ "$(pk_json "$J" "d['method']['tested']")" = False ] || { pk_show "$J"; pk_fail "compare $pair: tested"; }
	[ "$(pk_json "$J" "d['method']['tests']")" = 0 ] || { pk_show "$J"; pk_fail "compare $pair: tests ran"; }
	[ "$(pk_json "$J" "sum(e['significant'] for e in d['improvements'] + d['regressions'])")" = 0 ] ||
		{ pk_show "$J"; pk_fail "compare $pair: something is significant"; }
	pk_json "$J" "d['summary']" | grep -q "has no samples" || { pk_show "$J"; pk_fail "compare $pair: the summary does not say why"; }
	rc=0
	"$PERFKIT" compare "$1" "$2" --fail-on-regression 0 --flamegraph "$PK_TMP/e.svg" >"$PK_TMP/e.txt" 2>&1 || rc=$?
	[ "$rc" = 0 ] || { pk_show "$PK_TMP/e.txt"; pk_fail "compare $pair --fail-on-regression 0 exited $rc"; }
	python3 -c 'import sys, xml.dom.minidom as m; m.parse(sys.argv[1])' "$PK_TMP/e.svg" ||
		pk_fail "compare $pair: the flame graph is not well-formed"
done
cmp_compare "$PK_TMP/ee.json" empty empty
"$PERFKIT" compare empty empty >/dev/null || pk_fail "compare empty empty failed"
pk_log "ok: different functions and empty sessions"

# Command line.
"$PERFKIT" compare --help >"$PK_TMP/help" || pk_fail "compare --help exited non-zero"
grep -q "fail-on-regression" "$PK_TMP/help" || pk_fail "compare --help does not document --fail-on-regression"
"$PERFKIT" help compare >/dev/null || pk_fail "perfkit help compare failed"
"$PERFKIT" --help | grep -q "^  compare " || pk_fail "perfkit --help does not list compare"
pk_expect_error "one session" "two sessions" "$PERFKIT" compare cmp
pk_expect_error "three sessions" "exactly two" "$PERFKIT" compare cmp cmp cmp
pk_expect_error "unknown session" "no session 'nope'" "$PERFKIT" compare cmp nope
pk_expect_error "bad --alpha" "alpha" "$PERFKIT" compare --alpha 2 cmp cmp
pk_expect_error "bad --format" "format" "$PERFKIT" compare --format xml cmp cmp
pk_expect_error "bad --fail-on-regression" "percentage" "$PERFKIT" compare --fail-on-regression lots cmp cmp
pk_expect_error "unwritable --flamegraph" "cannot write" "$PERFKIT" compare cmp cmp --flamegraph "$PK_TMP/no/such/dir/x.svg"
exit 0
