#!/bin/bash
# analyze-clean.sh - no false alarms, and an honest word on thin profiles.
#
# an-balanced runs eight equal stages (12.5% each), no allocation, copying
# or system calls: no finding may be above low (a stage at 12.5% is a
# low slow-function at most; medium starts at 20%, 3 sigma away with 600
# samples).  A 50 ms run sampled at 99 Hz gives a handful of samples:
# profile-quality must say so, at high or critical (fewer than 50).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
pk_init
. "$top_srcdir/tests/integration/analyze-common.sh"

an_profile balanced cpu an-balanced 1.2
an_max_severity balanced low
"$PERFKIT" analyze balanced >"$PK_TMP/balanced.txt" || pk_fail "perfkit analyze balanced (table) failed"
grep -q '^Performance Analysis' "$PK_TMP/balanced.txt" || pk_fail "no 'Performance Analysis' section"

rc=0
pk_run_limited 30 "$PERFKITD" run -q -F 99 -n short -- "$TARGETS/an-slow" 0.05 >"$PK_TMP/short.out" 2>&1 || rc=$?
[ "$rc" = 0 ] || { pk_show "$PK_TMP/short.out"; pk_fail "perfkitd run an-slow 0.05 exited $rc"; }
"$PERFKIT" analyze short --format json >"$PK_TMP/short.json" || pk_fail "perfkit analyze short failed"
sev=$(pk_json "$PK_TMP/short.json" '[i["severity"] for i in d["issues"] if i["rule"] == "profile-quality" and "samples" in i["evidence"]]')
case $sev in
*high*|*critical*) pk_log "ok: thin profile: profile-quality $sev" ;;
*) pk_show "$PK_TMP/short.json"; pk_fail "a 50 ms profile at 99 Hz must be flagged high or critical, got: $sev" ;;
esac
"$PERFKIT" analyze short | grep -q 'Record longer' || pk_fail "the table does not recommend recording longer"
exit 0
