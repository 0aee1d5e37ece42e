#!/bin/bash
# recursion.sh - stacks 200 frames deep are unwound completely to main.
#
# tests/targets/deep recurses main -> descend x 200 -> bottom() and burns
# 1 s of CPU at the bottom: every sample's stack holds 202 frames of the
# program below main.  A truncated unwind (a frame limit, a stack copy too
# small, a CFI lookup failure half-way) loses main.
#
# Checks: main's total share >= 99% and descend's total share >= 99%
# (recursion counted once: its total never exceeds the sample count);
# bottom is on (nearly) every stack; complete stacks >= 99%; and, when
# perfkit can export folded stacks, the hottest stack has 200 descend
# frames.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
pk_init
pk_need_targets deep

rc=0
pk_run_limited 60 "$PERFKITD" run -q -F 999 -n deep -- "$TARGETS/deep" 1 200 \
	>"$PK_TMP/out" 2>"$PK_TMP/err" || rc=$?
[ "$rc" = 0 ] || { pk_show "$PK_TMP/out" "$PK_TMP/err"; pk_fail "perfkitd run exited $rc, expected 0"; }
grep -q '^deep done depth 200' "$PK_TMP/out" || pk_fail "the program did not finish"

pk_report deep "$PK_TMP/report.json"
all=$(pk_total_samples "$PK_TMP/report.json")
pk_check_ge "samples" "$all" 200
bottom=$(pk_func "$PK_TMP/report.json" bottom total_samples)
descend_total=$(pk_func "$PK_TMP/report.json" descend total_samples)
main_total=$(pk_func "$PK_TMP/report.json" main total_samples)
[ "$descend_total" -le "$all" ] || pk_fail "descend total $descend_total exceeds the $all samples: recursion counted more than once"
pk_check_ge "bottom's total share" "$(python3 -c "print($bottom / $all)")" 0.95
pk_check_ge "descend's total share" "$(python3 -c "print($descend_total / $all)")" 0.99
pk_check_ge "main's total share" "$(python3 -c "print($main_total / $all)")" 0.99
pk_check_stacks deep

# Frame count, where the folded export exists (another issue adds it).
if "$PERFKIT" export --help >/dev/null 2>&1 &&
   pk_run_limited 30 "$PERFKIT" export --format folded deep >"$PK_TMP/folded" 2>/dev/null; then
	# "frame;frame;... COUNT": the stack of the line with the largest count.
	depth=$(awk '{ n = $NF; $NF = ""; if (n > best) { best = n; stack = $0 } } END { print stack }' "$PK_TMP/folded" |
		tr ';' '\n' | grep -c '^descend')
	[ "$depth" = 200 ] || pk_fail "the hottest folded stack has $depth descend frames, expected 200"
	pk_log "ok: hottest stack has 200 descend frames"
else
	pk_log "note: no folded export in this perfkit; frame count checked through main's total only"
fi
exit 0
