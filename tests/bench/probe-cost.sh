#!/bin/bash
# tests/bench/probe-cost.sh - what one int3 probe stop costs the target,
# against bare ptrace stops measured in the same run (issues 4 and 5).
# Not a test: it prints numbers and ratios, and exits 0 whatever they are.
#
#   tests/bench/probe-cost.sh [REPS]          (from the build directory)
#
# Each repetition measures, one after the other (so that a busy spell of
# the machine touches every column alike):
#   - the bare stops (tests/bench/ptrace-rtt 100000 1000 int3): the
#     interrupt round trip (PTRACE_INTERRUPT, wait, GETREGS, CONT, back to
#     back) and the int3 round trip (a child traps back to back; wait,
#     GETREGS, CONT), each with a blocking wait and with a WNOHANG spin,
#     and the int3 round trip pinned to one CPU and to two (on a VM the
#     cross-CPU wake-up costs more than the rest; where perfkitd and its
#     target run is the scheduler's choice, so its stops fall between);
#   - allocations: alloc-suite bench ALLOC_N (malloc(64)+free pairs) alone
#     and under perfkitd --alloc -F 1 with --probe-backend int3 (a pair is
#     three stops: malloc entry and return, free entry) and with trap (the
#     default: the detours write a shared ring, and a call stops only when
#     the ring is full or its stack deep: this loop allocates faster than
#     perfkitd can follow, so it runs at perfkitd's pace, with a stop per
#     ring's worth of calls); a pair is two allocation events, so the cost
#     per event = (traced - alone) / 2;
#   - function probes: fprobe-calls fib FIB_N alone and under perfkitd
#     --probe fib -F 1: a call stops at its entry, its return is timed in
#     the target without a stop (the default), or stops too
#     (PERFKIT_PROBE_RETURNS=stop: two stops a call); cost per call =
#     (probed - alone) / calls.
# -F 1 --sampler ptrace keeps the sampler out of the way (nearly all the
# cost is the probes'): the perf sampler's cpu-clock event on each target
# thread costs it a little at every context switch, two per probe stop
# (fib(22) on one CPU: 32 against 28 us per call), which is the sampler's
# price, not the probes' (SAMPLER=perf measures with it).  The traced
# runs are made three ways: where the scheduler puts them ("free"),
# everything pinned to one CPU ("one": compare with the bare int3 stop on
# one CPU) and perfkitd on one CPU with its target on another ("two":
# compare with the bare int3 stop across two CPUs), so that each ratio
# compares stops that paid the same wake-ups.  With
# PERFKITD_BASE=/path/to/an/older/perfkitd the same runs are made with
# that binary too, interleaved, for a before/after table.
# Medians over the repetitions, with the lowest and highest value as the
# spread (the reference machine is a 2-vCPU VM shared with other work).
#
# Targets (the issues): per traced allocation event <= 1.2 bare stops;
# per probed call <= 2.4 bare stops (the issue's budget for two stops).
#
# Parameters (environment): ALLOC_N (20000), FIB_N (20), PERFKITD_BASE,
# SAMPLER (ptrace).
set -u
REPS=${1:-7}
SAMPLER=${SAMPLER:-ptrace}
ALLOC_N=${ALLOC_N:-20000}
FIB_N=${FIB_N:-20}
B=${top_builddir:-$PWD}
NEW=$B/daemon/perfkitd
RTT=$B/tests/bench/ptrace-rtt
AS=$B/tests/targets/alloc-suite
FC=$B/tests/targets/fprobe-calls
for f in "$NEW" "$RTT" "$AS" "$FC"; do
	[ -x "$f" ] || { echo "probe-cost.sh: $f is not built (make check TESTS= first)" >&2; exit 1; }
done
command -v python3 >/dev/null || { echo "probe-cost.sh: python3 is needed" >&2; exit 1; }
W=$(mktemp -d "${TMPDIR:-/tmp}/pk-probe-cost.XXXXXX") || exit 1
trap 'rm -rf "$W"' EXIT
export PERFKIT_DB=$W/b.db
BINS="new=$NEW"
[ -n "${PERFKITD_BASE:-}" ] && BINS="base=$PERFKITD_BASE $BINS"

echo "probe-cost: $(uname -r), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), $REPS reps," \
	"alloc-suite bench $ALLOC_N, fib($FIB_N)"
calls=$("$FC" fib "$FIB_N" 2>/dev/null | sed -n 's/.*calls=//p')
# two CPUs this process may use, for the pinned placements
read -r CPU0 CPU1 < <(python3 -c 'import os; c = sorted(os.sched_getaffinity(0)); print(c[0], c[1] if len(c) > 1 else "")')
PLACES="free one"
[ -n "$CPU1" ] && command -v taskset >/dev/null && PLACES="free one two"
command -v taskset >/dev/null || PLACES=free
out=$W/values    # lines: KEY VALUE
: >"$out"
put() { printf '%s %s\n' "$1" "$2" >>"$out"; }
pair_ns() { awk '/^bench/ { print $2 }'; }
# traced PLACE PERFKITD ARGS...: perfkitd run ARGS, placed, with "g" on
# stdin after 0.3 s (the targets' measured loops start after that: the go
# byte of alloc-suite, fib's pause).  "two": perfkitd starts on CPU1 (its
# target inherits that CPU at fork), and 0.15 s later, the target forked
# but not yet measuring, perfkitd's threads move to CPU0.
traced() {
	local pl=$1 bin=$2 pid rc
	shift 2
	case $pl in
	free) (sleep 0.3; echo g) | "$bin" run "$@" ;;
	one) (sleep 0.3; echo g) | taskset -c "$CPU0" "$bin" run "$@" ;;
	two)
		(sleep 0.3; echo g) | taskset -c "$CPU1" "$bin" run "$@" &
		pid=$!
		sleep 0.15
		taskset -a -p -c "$CPU0" "$pid" >/dev/null
		wait "$pid"
		rc=$?
		return $rc ;;
	esac
}
fib_ns() { sed -n 's/^elapsed_ns=//p'; }
for ((r = 1; r <= REPS; r++)); do
	"$RTT" 100000 1000 int3 >"$W/rtt" 2>/dev/null
	put intr_block "$(awk '$1 == "blocking" { print $3 }' "$W/rtt")"
	put intr_spin "$(awk '$1 == "spinning" { print $3 }' "$W/rtt")"
	put int3_block "$(awk '$1 == "int3-blocking" { print $3 }' "$W/rtt")"
	put int3_spin "$(awk '$1 == "int3-spinning" { print $3 }' "$W/rtt")"
	put int3_same "$(awk '$1 == "int3-samecpu-blocking" { print $3 }' "$W/rtt")"
	put int3_cross "$(awk '$1 == "int3-crosscpu-spinning" { print $3 }' "$W/rtt")"
	for pl in $PLACES; do
		case $pl in
		free) tg=() ;;
		one) tg=(taskset -c "$CPU0") ;;
		two) tg=(taskset -c "$CPU1") ;;
		esac
		a0=$(echo g | "${tg[@]}" "$AS" bench "$ALLOC_N" | pair_ns)
		f0=$("${tg[@]}" "$FC" fib "$FIB_N" 2>&1 >/dev/null | fib_ns)
		for nb in $BINS; do
			n=${nb%%=*} bin=${nb#*=}
			for be in int3 trap; do
				a=$(traced "$pl" "$bin" -q -F 1 --sampler "$SAMPLER" --alloc --probe-backend $be -n "a$r$n$pl$be" -- \
					"$AS" bench "$ALLOC_N" 2>/dev/null | pair_ns)
				put "alloc_${be}_${n}_$pl" "$(python3 -c "print(($a - $a0) / 2 / 1e3)" 2>/dev/null || echo nan)"
			done
			f=$(traced "$pl" "$bin" -q -F 1 --sampler "$SAMPLER" --probe fib -n "f$r$n$pl" -- \
				"$FC" fib "$FIB_N" 300 2>&1 >/dev/null | fib_ns)
			put "fib_call_${n}_$pl" "$(python3 -c "print(($f - $f0) / $calls / 1e3)" 2>/dev/null || echo nan)"
			f=$(PERFKIT_PROBE_RETURNS=stop traced "$pl" "$bin" -q -F 1 --sampler "$SAMPLER" --probe fib \
				-n "s$r$n$pl" -- "$FC" fib "$FIB_N" 300 2>&1 >/dev/null | fib_ns)
			put "fibstop_call_${n}_$pl" "$(python3 -c "print(($f - $f0) / $calls / 1e3)" 2>/dev/null || echo nan)"
		done
	done
	echo "rep $r: $(awk -v ORS=' ' 'NR > c { printf "%s %.1f  ", $1, $2 }' c="${lines:-0}" "$out")" >&2
	lines=$(wc -l <"$out")
done

python3 - "$out" "${PERFKITD_BASE:+base} new" <<'EOF'
import math, statistics, sys
vals = {}
for line in open(sys.argv[1]):
    k, v = line.split()
    try:
        v = float(v)
    except ValueError:
        continue
    if not math.isnan(v):
        vals.setdefault(k, []).append(v)
names = sys.argv[2].split()
def med(k):
    v = vals.get(k)
    return statistics.median(v) if v else float("nan")
def spread(k):
    v = vals.get(k)
    return "%.1f-%.1f" % (min(v), max(v)) if v else "-"
print()
print("%-46s %9s  %s" % ("measure (us, median over reps)", "median", "spread (min-max)"))
for k, label in (("intr_block", "bare interrupt stop, blocking wait"),
                 ("intr_spin", "bare interrupt stop, spinning wait"),
                 ("int3_block", "bare int3 stop, blocking wait"),
                 ("int3_spin", "bare int3 stop, spinning wait"),
                 ("int3_same", "bare int3 stop, one CPU, blocking wait"),
                 ("int3_cross", "bare int3 stop, two CPUs, spinning wait")):
    print("%-46s %9.1f  %s" % (label, med(k), spread(k)))
places = [p for p in ("free", "one", "two") if any(k.endswith("_" + p) for k in vals)]
for n in names:
    for p in places:
        k = "%s_%s" % (n, p)
        for be, stops in (("int3", "1.5 stops"), ("trap", "stops when behind")):
            kk = "alloc_%s_%s" % (be, k)
            if kk in vals:
                print("%-46s %9.1f  %s" % ("perfkitd %s, %s: per alloc event, %s (%s)" % (n, p, be, stops), med(kk), spread(kk)))
        print("%-46s %9.1f  %s" % ("perfkitd %s, %s: per probed call (1 stop)" % (n, p), med("fib_call_" + k), spread("fib_call_" + k)))
        print("%-46s %9.1f  %s" % ("perfkitd %s, %s: per probed call, returns stopping (2 stops)" % (n, p), med("fibstop_call_" + k), spread("fibstop_call_" + k)))
print()
print("ratios (medians; target: alloc event <= 1.2 bare stops, probed call <= 2.4);")
print("each placement against the bare stop that pays the same wake-ups")
for n in names:
    for p, k, label in (("free", "int3_spin", "int3 stop, spinning wait"),
                        ("one", "int3_same", "int3 stop, one CPU"),
                        ("two", "int3_cross", "int3 stop, two CPUs")):
        if p not in places:
            continue
        b = med(k)
        a3, at, f, fs = (med("%s_%s_%s" % (m, n, p)) for m in ("alloc_int3", "alloc_trap", "fib_call", "fibstop_call"))
        print("  perfkitd %-4s %-4s vs bare %-25s alloc event int3 x%.2f trap x%.2f   probed call x%.2f (returns stopping x%.2f)"
              % (n, p, label, a3 / b, at / b, f / b, fs / b))
EOF
exit 0
