#!/bin/bash
# threads.sh - every thread is sampled, and evenly.
#
# tests/targets/threads4 runs worker_0..worker_3 in four threads that
# start together and each burn 1 s of their own CPU time; its truth file
# gives each worker's thread id and CPU time.  Under `perfkitd run -F 999`
# (cpu mode samples running and runnable threads alike; on a 2-CPU
# machine the four share the CPUs) we expect thousands of samples.
#
# Checks:
#  * each worker's share of the samples in the four workers (its total
#    samples: each thread's stacks hold its worker, whatever the leaf, so
#    this counts the thread's samples) equals its share of their CPU time within 4 binomial sigma + 0.03 systematic
#    (the four threads do not end at exactly the same moment: the last
#    one may run alone for a scheduler slice or two, which shifts runnable
#    time, what cpu mode samples, slightly away from CPU time);
#  * `perfkit report --thread TID` of each worker's thread has that
#    worker on the stack of at least 90% of the thread's samples (thread
#    start-up is the rest), so the four thread ids were all sampled
#    and told apart;
#  * the session counts at least 4 threads; complete stacks >= 99%
#    (worker stacks reach start_thread / clone, not main).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
pk_init
pk_need_targets threads4

# One recording and its checks with --sampler SAMPLER.
check_sampler() {
	local sampler=$1 name=threads-$1 rc=0
	pk_run_limited 60 "$PERFKITD" run -q -F 999 --sampler "$sampler" -n "$name" -- "$TARGETS/threads4" "$PK_TMP/truth-$sampler" 1 \
		>"$PK_TMP/out-$sampler" 2>"$PK_TMP/err-$sampler" || rc=$?
	[ "$rc" = 0 ] || { pk_show "$PK_TMP/out-$sampler" "$PK_TMP/err-$sampler"; pk_fail "perfkitd run exited $rc, expected 0"; }
	grep -q '^threads4 done' "$PK_TMP/out-$sampler" || pk_fail "the program did not finish"

	pk_report "$name" "$PK_TMP/report-$sampler.json"
	cpu_sum=$(awk '{ s += $3 } END { print s }' "$PK_TMP/truth-$sampler")
	sum=0
	for i in 0 1 2 3; do
		n[$i]=$(pk_func "$PK_TMP/report-$sampler.json" "worker_$i" total_samples)
		sum=$((sum + n[i]))
	done
	pk_check_ge "samples in the four workers" "$sum" 400
	for i in 0 1 2 3; do
		read -r _ tid cpu < <(grep "^worker_$i " "$PK_TMP/truth-$sampler")
		p=$(python3 -c "import sys; print(float(sys.argv[1]) / float(sys.argv[2]))" "$cpu" "$cpu_sum")
		pk_check_count "worker_$i share" "${n[$i]}" "$sum" "$p" 0.03

		pk_report "$name" "$PK_TMP/thread-$sampler-$tid.json" --thread "$tid"
		mine=$(pk_func "$PK_TMP/thread-$sampler-$tid.json" "worker_$i" total_samples)
		all=$(pk_total_samples "$PK_TMP/thread-$sampler-$tid.json")
		[ "$all" -gt 0 ] || pk_fail "thread $tid (worker_$i) has no samples"
		pk_check_ge "worker_$i share of thread $tid's samples" \
			"$(python3 -c "print($mine / $all)")" 0.90
	done

	threads=$(pk_session_field "$name" threads)
	pk_check_ge "threads in the session" "$threads" 4
	pk_check_stacks "$name"
	pk_check_sampler "$name" "$sampler"
}

# Both samplers: auto is the kernel's perf event where this machine allows
# it, ptrace interrupts are the fallback and must be as true.
check_sampler auto
check_sampler ptrace
exit 0
