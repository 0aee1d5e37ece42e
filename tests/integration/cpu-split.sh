#!/bin/bash
# cpu-split.sh - perfkit's self shares match a tracee's own CPU split.
#
# tests/targets/split spends about 75% / 25% of its CPU in heavy_work /
# light_work, in jittered slices, and measures the real split itself with
# CLOCK_THREAD_CPUTIME_ID (its truth file).  Under `perfkitd run -F 999`
# for 2 s of CPU we get about 2,000 samples.
#
# Checks:
#  * perfkitd exits with the program's status (0), the program's stdout
#    comes through, and the session is "complete";
#  * heavy_work's share of the samples in heavy_work + light_work equals
#    the measured share within 4 binomial sigma (about 0.04 at 2,000
#    samples) + 0.02 systematic (slice edges: a sample taken during the
#    clock read that ends a slice is charged to clock_gettime, not to the
#    function; both functions read the clock at the same rate, so this
#    is small and symmetric);
#  * the two functions hold at least 90% of all samples (the rest is
#    clock_gettime, start-up and exit);
#  * main's total covers both functions (their stacks reach main);
#  * complete stacks >= 99%.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
pk_init
pk_need_targets split

# One recording and its checks with --sampler SAMPLER.
check_sampler() {
	local sampler=$1 name=split-$1 rc=0
	pk_run_limited 60 "$PERFKITD" run -q -F 999 --sampler "$sampler" -n "$name" -- "$TARGETS/split" "$PK_TMP/truth-$sampler" 2 \
		>"$PK_TMP/out-$sampler" 2>"$PK_TMP/err-$sampler" || rc=$?
	[ "$rc" = 0 ] || { pk_show "$PK_TMP/out-$sampler" "$PK_TMP/err-$sampler"; pk_fail "perfkitd run exited $rc, expected 0"; }
	grep -q '^split done' "$PK_TMP/out-$sampler" || { pk_show "$PK_TMP/out-$sampler"; pk_fail "the program's stdout did not come through"; }
	[ -s "$PK_TMP/truth-$sampler" ] || pk_fail "the tracee wrote no truth file"

	status=$(pk_session_field "$name" status)
	[ "$status" = complete ] || pk_fail "session status is '$status', expected complete"

	pk_report "$name" "$PK_TMP/report-$sampler.json"
	heavy_true=$(awk '$1 == "heavy_work" { print $2 }' "$PK_TMP/truth-$sampler")
	light_true=$(awk '$1 == "light_work" { print $2 }' "$PK_TMP/truth-$sampler")
	heavy=$(pk_func "$PK_TMP/report-$sampler.json" heavy_work self_samples)
	light=$(pk_func "$PK_TMP/report-$sampler.json" light_work self_samples)
	all=$(pk_total_samples "$PK_TMP/report-$sampler.json")
	pk_log "truth: heavy_work ${heavy_true}s light_work ${light_true}s; samples: heavy $heavy light $light of $all"

	pk_check_ge "samples in the session" "$all" 200
	p=$(python3 -c "import sys; h, l = map(float, sys.argv[1:]); print(h / (h + l))" "$heavy_true" "$light_true")
	pk_check_count "heavy_work share" "$heavy" $((heavy + light)) "$p" 0.02
	pk_check_ge "heavy_work + light_work share of all samples" \
		"$(python3 -c "print(($heavy + $light) / $all)")" 0.90

	main_total=$(pk_func "$PK_TMP/report-$sampler.json" main total_samples)
	pk_check_ge "main's total covers heavy_work + light_work" "$main_total" $((heavy + light))
	pk_check_stacks "$name"
	pk_check_sampler "$name" "$sampler"
}

# Both samplers: auto is the kernel's perf event where this machine allows
# it, ptrace interrupts are the fallback and must be as true.
check_sampler auto
check_sampler ptrace
exit 0
