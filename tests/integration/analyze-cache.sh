#!/bin/bash
# analyze-cache.sh - cache-unfriendly from a real cache simulation:
# "perfkitd run --cache-sim" runs tests/targets/matrix under valgrind's
# cachegrind; sum_cols walks a 512 x 512 matrix of doubles by columns (a
# 4 KiB stride: nearly every load misses D1), sum_rows by rows (one miss
# per 64-byte line: 12.5%, below the 15% where the rule starts).
# "perfkit analyze" must report sum_cols as critical, say the data is
# simulated, and leave sum_rows alone.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
pk_init
. "$top_srcdir/tests/integration/analyze-common.sh"
pk_need_targets matrix
command -v valgrind >/dev/null || pk_skip "valgrind is not installed (--cache-sim needs it)"

rc=0
pk_run_limited 120 "$PERFKITD" run -q --cache-sim -n msim -- "$TARGETS/matrix" 512 both \
	>"$PK_TMP/msim.out" 2>"$PK_TMP/msim.err" || rc=$?
grep -q 'not available' "$PK_TMP/msim.err" && pk_skip "perfkitd --cache-sim is not available in this build"
[ "$rc" = 0 ] || { pk_show "$PK_TMP/msim.out" "$PK_TMP/msim.err"; pk_fail "perfkitd run --cache-sim exited $rc"; }
"$PERFKIT" analyze msim --format json >"$PK_TMP/msim.json" || pk_fail "perfkit analyze msim failed"
an_expect msim cache-unfriendly sum_cols critical
pk_json "$PK_TMP/msim.json" '[i["description"] for i in d["issues"] if i["rule"] == "cache-unfriendly"][0]' |
	grep -q 'simulated (cachegrind' || { pk_show "$PK_TMP/msim.json"; pk_fail "the finding does not say the data is simulated"; }
rows=$(pk_json "$PK_TMP/msim.json" 'len([i for i in d["issues"] if i["location"].startswith("sum_rows")])')
[ "$rows" = 0 ] || { pk_show "$PK_TMP/msim.json"; pk_fail "the row walk was reported"; }
# No sampling in a simulated run: no "too few samples" finding.
n=$(pk_json "$PK_TMP/msim.json" 'len([i for i in d["issues"] if i["rule"] == "profile-quality"])')
[ "$n" = 0 ] || { pk_show "$PK_TMP/msim.json"; pk_fail "a --cache-sim session was blamed for having no samples"; }
exit 0
