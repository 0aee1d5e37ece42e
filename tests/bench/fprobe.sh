#!/bin/bash
# tests/bench/fprobe.sh - what a probed call costs, against one bare
# ptrace stop measured in the same run.  Not a test (no pass/fail).
#
# fprobe-calls fib N makes fib(N) recursively (fib(22): 57,313 calls) and
# prints the time it took on stderr.  It runs REPS times alone and REPS
# times under perfkitd --probe fib (sampling at 1 Hz, so that nearly all
# the cost is the probes'); the extra time per call is the cost of a
# probed call (an entry stop; its return is timed in the target without
# a stop, see probe-cost.sh for the two-stop mode).  The bare stop is an
# int3 SIGTRAP stop resumed at once by a minimal tracer, which perfkitd
# measures at start (stat probe_stop_rtt_us), and the ptrace-rtt bench
# (interrupt stop) for reference.  Target: at most 2.4 bare stops.
#
#   tests/bench/fprobe.sh [N] [REPS]     (from the build directory)
set -e
N=${1:-22}
REPS=${2:-5}
B=${top_builddir:-$PWD}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export PERFKIT_DB=$T/b.db
median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
for i in $(seq "$REPS"); do
	"$B/tests/targets/fprobe-calls" fib "$N" 2>&1 >/dev/null | sed -n 's/^elapsed_ns=//p'
done | median >"$T/base"
calls=$("$B/tests/targets/fprobe-calls" fib "$N" 2>/dev/null | sed -n 's/.*calls=//p')
for i in $(seq "$REPS"); do
	"$B/daemon/perfkitd" run -q -F 1 -n "b$i" --probe fib -- "$B/tests/targets/fprobe-calls" fib "$N" \
		2>&1 >/dev/null | sed -n 's/^elapsed_ns=//p'
done | median >"$T/probed"
for i in $(seq "$REPS"); do
	"$B/src/perfkit" sessions show "b$i" --format json |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["stats"]["probe_stop_rtt_us"])'
done | median >"$T/rtt"
python3 - "$(cat "$T/base")" "$(cat "$T/probed")" "$calls" "$(cat "$T/rtt")" <<'PY'
import sys
base, probed, calls, rtt_us = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
per_call = (probed - base) / calls / 1e3
print("fib calls            %d" % calls)
print("alone                %.1f ms" % (base / 1e6))
print("probed               %.1f ms" % (probed / 1e6))
print("cost per probed call %.2f us (entry + return)" % per_call)
print("bare int3 stop       %.2f us (median, same runs)" % rtt_us)
print("ratio                %.2f bare stops per call (target <= 2.4)" % (per_call / rtt_us))
PY
if [ -x "$B/tests/bench/ptrace-rtt" ]; then
	echo "interrupt stop (ptrace-rtt, for reference):"
	"$B/tests/bench/ptrace-rtt" 999 1000 | sed 's/^/  /'
fi
