#!/bin/bash
# tests/bench/run.sh - perfkit's benchmark: overhead and speed, side by
# side with a peer, measured in one run on one machine.  `make bench`
# runs it from the build directory; it is not part of `make check`
# (timings are never asserted in tests).  It prints a table of numbers
# with the issue's targets and a verdict per line; its exit status is 0
# whatever the verdicts (a benchmark reports, it does not gate).
#
# What it measures (the "Must reach" list of issue 2):
#  1. Slowdown of a CPU-bound single-threaded target (tests/bench/cpubound,
#     its own timing of the work only): unprofiled, perfkitd -F 99,
#     perfkitd -F 999 (the default sampler: the perf event where allowed),
#     perfkitd -F 999 --sampler ptrace (the fallback) and `perf record -e
#     cpu-clock -F 999 --call-graph dwarf`, interleaved, BENCH_REPS times
#     each, medians.  Targets: at most +1% at 99 Hz; at 999 Hz no slower
#     than perf.
#  2. The target's stop per sample: the bare ptrace round trip (interrupt,
#     wait, getregs, cont at 999 Hz, tests/bench/ptrace-rtt; plain
#     blocking wait, and a brief WNOHANG spin first) against perfkitd's
#     own stop_median_us / stop_p99_us of the 999 Hz ptrace runs.  Targets:
#     median <= 1.3x, p99 <= 5x the bare round trip.
#  3. Complete stacks over the tracee suite (split, split-static, threads4,
#     deep, worker, forkexec, wall): >= 99% of samples.
#  4. Keeping up: 4 busy threads (tests/bench/busy4) at 999 Hz: samples /
#     (999 x target CPU seconds) >= 95%; perfkitd's CPU time per sample.
#  5. A synthetic session of 1,000,000 samples over 10,000 stacks
#     (tests/tools/pk-mksession): `perfkit report` < 1 s; <= 24 bytes of
#     database per sample.
#  6. perfkitd's memory (VmRSS, every second) over a long session at 999 Hz
#     on 4 busy threads: stays flat.  BENCH_LONG seconds, default 60; the
#     issue asks for 10 minutes: BENCH_LONG=600 make bench.
#
# Parameters (environment): BENCH_REPS (5), BENCH_ITER (cpubound rounds,
# 180000: about 3 s here), BENCH_LONG (60), BENCH_KEEP=1 keeps the work
# directory, PERF (perf binary, default `perf` from PATH; its row is
# skipped when missing).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$PWD}"
REPS=${BENCH_REPS:-5}
ITER=${BENCH_ITER:-180000}
LONG=${BENCH_LONG:-60}
PERF=${PERF:-perf}
PERFKITD=$top_builddir/daemon/perfkitd
PERFKIT=$top_builddir/src/perfkit
T=$top_builddir/tests/targets
B=$top_builddir/tests/bench
MKSESSION=$top_builddir/tests/tools/pk-mksession

for f in "$PERFKITD" "$PERFKIT" "$B/cpubound" "$B/ptrace-rtt" "$B/busy4"; do
	[ -x "$f" ] || { echo "bench: $f is not built (run make bench from the build directory)" >&2; exit 1; }
done
command -v python3 >/dev/null || { echo "bench: python3 is needed" >&2; exit 1; }

W=$(mktemp -d "${TMPDIR:-/tmp}/perfkit-bench.XXXXXX") || exit 1
PIDS=
cleanup() {
	local p
	for p in $PIDS; do kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null; done
	if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "bench: kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
export PERFKIT_DB=$W/bench.db
RESULTS=$W/results.txt
: >"$RESULTS"

log() { printf 'bench: %s\n' "$*" >&2; }
# result KEY VALUE: remember a number for the table.
result() { printf '%s %s\n' "$1" "$2" >>"$RESULTS"; }
# median of the numbers on stdin
median() { python3 -c 'import sys, statistics; v = [float(x) for x in sys.stdin.read().split()]; print(statistics.median(v) if v else "nan")'; }
# pkstat SESSION KEY: a number from `perfkit sessions show --format json`
pkstat() {
	"$PERFKIT" sessions show "$1" --format json 2>/dev/null | python3 -c '
import json, sys
def find(o, k):
    if isinstance(o, dict):
        if k in o:
            return o[k]
        for v in o.values():
            r = find(v, k)
            if r is not None:
                return r
    return None
try:
    v = find(json.load(sys.stdin), sys.argv[1])
except ValueError:
    v = None
print("nan" if v is None else v)' "$2"
}
elapsed_of() { awk '{ for (i = 1; i < NF; i++) if ($i == "elapsed_s") print $(i + 1) }' "$1"; }

echo "perfkit benchmark: $(uname -r), $(nproc) CPUs, $(date -u +%Y-%m-%dT%H:%MZ), load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
# Timings mean little on a busy machine: say so rather than hide it.
if python3 -c "import os, sys; sys.exit(0 if os.getloadavg()[0] > 0.5 * os.cpu_count() else 1)"; then
	log "WARNING: the machine is busy (load $(cut -d' ' -f1 /proc/loadavg) on $(nproc) CPUs): slowdowns and stop times below are unreliable"
fi

# ---- 1. slowdown ---------------------------------------------------------
have_perf=0
if command -v "$PERF" >/dev/null && "$PERF" record -q -e cpu-clock -F 999 -o "$W/probe.data" -- true >/dev/null 2>&1; then
	have_perf=1
else
	log "perf record unusable here: its row is left out"
fi
log "1. slowdown: $REPS x (bare, perfkitd 99 Hz, perfkitd 999 Hz$([ $have_perf = 1 ] && echo ", perf 999 Hz")), cpubound $ITER"
for ((r = 1; r <= REPS; r++)); do
	"$B/cpubound" "$ITER" >"$W/bare.$r" || exit 1
	"$PERFKITD" run -q -F 99 -n "b99-$r" -- "$B/cpubound" "$ITER" >"$W/pk99.$r" 2>"$W/pk99.$r.err" || log "perfkitd 99 Hz run $r failed: $(head -c 300 "$W/pk99.$r.err")"
	"$PERFKITD" run -q -F 999 -n "b999-$r" -- "$B/cpubound" "$ITER" >"$W/pk999.$r" 2>"$W/pk999.$r.err" || log "perfkitd 999 Hz run $r failed: $(head -c 300 "$W/pk999.$r.err")"
	"$PERFKITD" run -q -F 999 --sampler ptrace -n "bpt999-$r" -- "$B/cpubound" "$ITER" >"$W/pkpt999.$r" 2>"$W/pkpt999.$r.err" || log "perfkitd 999 Hz ptrace run $r failed: $(head -c 300 "$W/pkpt999.$r.err")"
	if [ $have_perf = 1 ]; then
		"$PERF" record -q -e cpu-clock -F 999 --call-graph dwarf -o "$W/perf.data" -- "$B/cpubound" "$ITER" >"$W/perf.$r" 2>/dev/null
		rm -f "$W/perf.data"
	fi
	log "   rep $r: bare $(elapsed_of "$W/bare.$r") pk99 $(elapsed_of "$W/pk99.$r") pk999 $(elapsed_of "$W/pk999.$r") pkpt999 $(elapsed_of "$W/pkpt999.$r") perf $([ $have_perf = 1 ] && elapsed_of "$W/perf.$r")"
done
for c in bare pk99 pk999 pkpt999 perf; do
	m=$(for ((r = 1; r <= REPS; r++)); do [ -f "$W/$c.$r" ] && elapsed_of "$W/$c.$r"; done | median)
	result "elapsed_$c" "$m"
done
stop_med=$(for ((r = 1; r <= REPS; r++)); do pkstat "bpt999-$r" stop_median_us; done | grep -v nan | median)
stop_p99=$(for ((r = 1; r <= REPS; r++)); do pkstat "bpt999-$r" stop_p99_us; done | grep -v nan | median)
result pk_stop_median "$stop_med"
result pk_stop_p99 "$stop_p99"
result pk99_achieved_hz "$(for ((r = 1; r <= REPS; r++)); do pkstat "b99-$r" achieved_hz; done | grep -v nan | median)"
result pk999_achieved_hz "$(for ((r = 1; r <= REPS; r++)); do pkstat "b999-$r" achieved_hz; done | grep -v nan | median)"

# ---- 2. bare ptrace round trip ------------------------------------------
log "2. bare ptrace round trip at 999 Hz"
if "$B/ptrace-rtt" 999 3000 >"$W/rtt" 2>"$W/rtt.err"; then
	result rtt_block_median "$(awk '$1 == "blocking" { print $3 }' "$W/rtt")"
	result rtt_block_p99 "$(awk '$1 == "blocking" { print $5 }' "$W/rtt")"
	result rtt_spin_median "$(awk '$1 == "spinning" { print $3 }' "$W/rtt")"
	result rtt_spin_p99 "$(awk '$1 == "spinning" { print $5 }' "$W/rtt")"
else
	log "ptrace-rtt failed: $(cat "$W/rtt.err")"
fi

# ---- 3. complete stacks over the tracee suite ----------------------------
log "3. complete stacks over the tracee suite"
suite() {
	local name=$1
	shift
	"$PERFKITD" run -q -F 999 -n "suite-$name" -- "$@" >/dev/null 2>"$W/suite-$name.err" ||
		log "suite run $name failed: $(head -c 300 "$W/suite-$name.err")"
	printf '%s %s %s\n' "$name" "$(pkstat "suite-$name" samples)" "$(pkstat "suite-$name" complete_stacks)" >>"$W/suite"
}
: >"$W/suite"
[ -x "$T/split" ] && suite split "$T/split" "$W/truth" 1
[ -x "$T/split-static" ] && suite static "$T/split-static" "$W/truth" 1
[ -x "$T/threads4" ] && suite threads "$T/threads4" "$W/truth" 0.5
[ -x "$T/deep" ] && suite deep "$T/deep" 1 200
[ -x "$T/worker" ] && suite cxx "$T/worker" 1
[ -x "$T/forkexec" ] && suite forkexec "$T/forkexec" /bin/true
[ -x "$T/wall" ] && suite wall "$T/wall" "$W/truth" 1
cat "$W/suite" >&2
result complete_stacks "$(python3 -c '
import sys
n = c = 0.0
for line in open(sys.argv[1]):
    name, s, f = line.split()
    try:
        s, f = float(s), float(f)   # samples, samples with complete stacks
    except ValueError:
        continue
    n += s; c += f
print(c / n if n else "nan")' "$W/suite")"

# ---- 4. keeping up: 4 busy threads at 999 Hz ------------------------------
log "4. 4 busy threads at 999 Hz for 5 s"
python3 - "$PERFKITD" "$B/busy4" "$W" <<'EOF' >"$W/keepup" 2>"$W/keepup.err"
import resource, subprocess, sys
pk, busy, w = sys.argv[1:4]
out = subprocess.run([pk, "run", "-q", "-F", "999", "-n", "keepup", "--", busy, "5"],
                     capture_output=True, text=True)
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
target = float(out.stdout.split()[1]) if out.stdout.startswith("cpu_s") else float("nan")
print("rc", out.returncode, "target_cpu", target, "all_cpu", ru.ru_utime + ru.ru_stime)
EOF
read -r _ rc _ tcpu _ allcpu <"$W/keepup" || { rc=1; tcpu=nan; allcpu=nan; }
[ "$rc" = 0 ] || log "keep-up run failed: $(cat "$W/keepup.err")"
ks=$(pkstat keepup samples)
result keepup_samples "$ks"
result keepup_target_cpu "$tcpu"
result keepup_ratio "$(python3 -c "print($ks / (999 * $tcpu))" 2>/dev/null || echo nan)"
result keepup_wall_ratio "$(python3 -c "print($ks / (999 * 4 * 5))" 2>/dev/null || echo nan)"
result keepup_pk_cpu_per_sample_us "$(python3 -c "print(($allcpu - $tcpu) / $ks * 1e6)" 2>/dev/null || echo nan)"
result keepup_stat_cpu_per_sample_us "$(pkstat keepup recorder_cpu_per_sample_us)"

# ---- 5. a million-sample session ------------------------------------------
log "5. synthetic session: 1,000,000 samples over 10,000 stacks"
if [ -x "$MKSESSION" ]; then
	export PERFKIT_DB=$W/big.db
	if "$MKSESSION" --db "$W/big.db" --samples 1000000 --stacks 10000 --name big >"$W/mk.out" 2>&1; then
		for i in 1 2 3; do
			python3 - "$PERFKIT" <<'EOF'
import subprocess, sys, time
t = time.monotonic()
r = subprocess.run([sys.argv[1], "report", "big", "--format", "json"], stdout=subprocess.DEVNULL)
print(time.monotonic() - t if r.returncode == 0 else "nan")
EOF
		done >"$W/report-times"
		result big_report_s "$(grep -v nan "$W/report-times" | median)"
		bytes=$(( $(stat -c %s "$W/big.db") + $(stat -c %s "$W/big.db-wal" 2>/dev/null || echo 0) ))
		result big_bytes_per_sample "$(python3 -c "print($bytes / 1e6)")"
	else
		log "pk-mksession failed: $(head -c 300 "$W/mk.out")"
	fi
	export PERFKIT_DB=$W/bench.db
else
	log "tests/tools/pk-mksession is not built: row left out"
fi

# ---- 6. memory over a long session -----------------------------------------
log "6. perfkitd RSS over $LONG s at 999 Hz on 4 busy threads (BENCH_LONG; the issue asks 600)"
"$PERFKITD" run -q -F 999 -n long -- "$B/busy4" "$LONG" >/dev/null 2>"$W/long.err" &
pkpid=$!
PIDS="$PIDS $pkpid"
: >"$W/rss"
deadline=$((SECONDS + LONG + 60))
while kill -0 "$pkpid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
	awk '/^VmRSS:/ { print $2 }' "/proc/$pkpid/status" 2>/dev/null >>"$W/rss"
	sleep 1
done
kill -0 "$pkpid" 2>/dev/null && { log "long run overran its deadline; killed"; kill -KILL "$pkpid"; }
wait "$pkpid" 2>/dev/null
PIDS=   # reaped: its pid may be reused from now on
python3 - "$W/rss" >>"$RESULTS" <<'EOF'
import sys
v = [int(x) for x in open(sys.argv[1]).read().split()]
if len(v) >= 8:
    q = len(v) // 4
    early = sum(v[q:2 * q]) / q   # after warm-up
    late = sum(v[-q:]) / q
    print("rss_early_kib", early)
    print("rss_late_kib", late)
    print("rss_max_kib", max(v))
    print("rss_growth", late / early - 1)
EOF
result long_samples "$(pkstat long samples)"

# ---- the table --------------------------------------------------------------
python3 - "$RESULTS" "$have_perf" "$LONG" <<'EOF'
import math, sys
r = {}
for line in open(sys.argv[1]):
    k, _, v = line.strip().partition(" ")
    try:
        r[k] = float(v)
    except ValueError:
        r[k] = float("nan")
have_perf, long_s = sys.argv[2] == "1", sys.argv[3]
g = lambda k: r.get(k, float("nan"))
def verdict(ok):
    if ok is None or (isinstance(ok, float) and math.isnan(ok)):
        return "n/a"
    return "PASS" if ok else "MISS"
def ok(cond, *vals):
    return None if any(math.isnan(x) for x in vals) else cond
rows = []
bare = g("elapsed_bare")
def slow(k):
    return (g(k) / bare - 1) * 100
rows.append(("unprofiled cpubound, median elapsed", "%.3f s" % bare, "", ""))
s99, s999, sperf = slow("elapsed_pk99"), slow("elapsed_pk999"), slow("elapsed_perf")
rows.append(("perfkitd -F 99: slowdown", "%+.2f%% (x%.4f)" % (s99, g("elapsed_pk99") / bare), "<= +1%", verdict(ok(s99 <= 1.0, s99))))
rows.append(("perfkitd -F 999: slowdown", "%+.2f%% (x%.4f)" % (s999, g("elapsed_pk999") / bare), "<= perf", verdict(ok(s999 <= sperf, s999, sperf))))
spt = slow("elapsed_pkpt999")
rows.append(("perfkitd -F 999 --sampler ptrace: slowdown", "%+.2f%% (x%.4f)" % (spt, g("elapsed_pkpt999") / bare), "(fallback)", ""))
if have_perf:
    rows.append(("perf record cpu-clock -F 999 dwarf: slowdown", "%+.2f%% (x%.4f)" % (sperf, g("elapsed_perf") / bare), "(peer)", ""))
rows.append(("perfkitd achieved Hz at 99 / 999", "%.1f / %.1f" % (g("pk99_achieved_hz"), g("pk999_achieved_hz")), "", ""))
rows.append(("bare ptrace round trip (blocking wait) median / p99", "%.1f / %.1f us" % (g("rtt_block_median"), g("rtt_block_p99")), "", ""))
rows.append(("bare ptrace round trip (spin, then block) median / p99", "%.1f / %.1f us" % (g("rtt_spin_median"), g("rtt_spin_p99")), "", ""))
sm, sp = g("pk_stop_median"), g("pk_stop_p99")
mr, pr = sm / g("rtt_block_median"), sp / g("rtt_block_p99")
mr2, pr2 = sm / g("rtt_spin_median"), sp / g("rtt_spin_p99")
rows.append(("perfkitd --sampler ptrace stop per sample median / p99 (999 Hz)", "%.1f / %.1f us" % (sm, sp), "", ""))
rows.append(("  median vs bare (blocking; spin)", "x%.2f; x%.2f" % (mr, mr2), "<= x1.3", verdict(ok(mr <= 1.3, mr))))
rows.append(("  p99 vs bare (blocking; spin)", "x%.2f; x%.2f" % (pr, pr2), "<= x5", verdict(ok(pr <= 5, pr))))
cs = g("complete_stacks")
rows.append(("complete stacks, tracee suite", "%.2f%%" % (cs * 100), ">= 99%", verdict(ok(cs >= 0.99, cs))))
kr = g("keepup_ratio")
rows.append(("4 threads @999 Hz: samples / (999 x target CPU s)", "%.1f%% (%d samples, %.2f CPU s)" % (kr * 100, g("keepup_samples") if not math.isnan(g("keepup_samples")) else -1, g("keepup_target_cpu")), ">= 95%", verdict(ok(kr >= 0.95, kr))))
rows.append(("  samples / (999 x 4 threads x 5 s wall)", "%.1f%%" % (g("keepup_wall_ratio") * 100), "", ""))
rows.append(("  perfkitd CPU per sample (rusage; its own stat)", "%.1f us; %s us" % (g("keepup_pk_cpu_per_sample_us"), "%.1f" % g("keepup_stat_cpu_per_sample_us")), "", ""))
br, bb = g("big_report_s"), g("big_bytes_per_sample")
rows.append(("1M samples / 10k stacks: perfkit report", "%.3f s" % br, "< 1 s", verdict(ok(br < 1, br))))
rows.append(("1M samples / 10k stacks: database bytes per sample", "%.1f" % bb, "<= 24", verdict(ok(bb <= 24, bb))))
gr = g("rss_growth")
rows.append(("perfkitd RSS over %s s @999 Hz x4: early -> late (max)" % long_s, "%.0f -> %.0f KiB (%.0f); %+.1f%%" % (g("rss_early_kib"), g("rss_late_kib"), g("rss_max_kib"), gr * 100), "flat (<= +10%)", verdict(ok(gr <= 0.10, gr))))
w = max(len(x[0]) for x in rows)
load = open("/proc/loadavg").read().split()[0]
print()
print("%-*s  %-34s  %-15s  %s" % (w, "measure", "value", "target", "verdict"))
print("-" * (w + 64))
print("(load average at the end: %s on %d CPUs)" % (load, __import__("os").cpu_count()))
for a, b, c, d in rows:
    print("%-*s  %-34s  %-15s  %s" % (w, a, b, c, d))
EOF
exit 0
