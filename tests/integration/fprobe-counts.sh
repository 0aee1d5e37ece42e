#!/bin/bash
# fprobe-counts.sh - --probe counts every call exactly and times calls.
#
# tests/targets/fprobe-calls counts: f() 12,345 times (a few ns of
# arithmetic), g() 1,000 times (each spins 1 ms of wall time on
# CLOCK_MONOTONIC).  Checks: exact calls, no lost call, g's median and
# mean within 10% of 1 ms (the probe cost, about 2 x 20 us per call here,
# is corrected; see below for a loaded machine), f's self time = its
# total (no probed callee), g's min
# >= 1 ms minus the 10%; the report says the times include the probe
# overhead; sessions show states the probe stops and their cost, and how
# the returns were caught; samples inside a probed call unwind through the
# replaced return address; perfkit
# report adds calls/avg/p99 to the probed functions; table and CSV work.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
pk_init
. "$top_srcdir/tests/integration/fprobe-common.sh"
pk_need_targets fprobe-calls

fp_record counts "$PK_TMP/out" --probe f --probe g -- "$TARGETS/fprobe-calls" counts
grep -q '^f=12345 g=1000$' "$PK_TMP/out" || { pk_show "$PK_TMP/out"; pk_fail "the program's output is wrong"; }
fp_probes counts "$PK_TMP/p.json"
fp_expect "$PK_TMP/p.json" f calls 12345
fp_expect "$PK_TMP/p.json" g calls 1000
fp_expect "$PK_TMP/p.json" f lost 0
fp_expect "$PK_TMP/p.json" g lost 0
fp_expect "$PK_TMP/p.json" f module fprobe-calls
# Latency.  The median must be 1 ms within 10% always; the mean too,
# unless the machine cannot keep time: a run without perfkitd whose
# calls of g take more than 5% over 1 ms on average (as the caller sees
# them) means other load preempts the program, and then the mean of any
# wall-clock measurement includes that.
p50=$(fp_field "$PK_TMP/p.json" g p50_ns)
python3 -c "import sys; sys.exit(0 if abs($p50 - 1e6) <= 1e5 else 1)" ||
	pk_fail "g's median latency is $p50 ns, expected 1 ms within 10%"
pk_log "ok: g's median latency $p50 ns (1 ms within 10%)"
avg=$(fp_field "$PK_TMP/p.json" g avg_ns)
# The program times its own calls of g in the same run (as its caller sees
# them, the probe's two stops included): when those stayed within 10% of
# 1 ms the machine kept time, and the corrected mean must be 1 ms within
# 10%.  Under other load both grow; then the probe's mean must still lie
# between the 1 ms floor and what the caller saw.
caller=$(sed -n 's/^g_caller_mean_ns=//p' "$PK_TMP/out")
[ -n "$caller" ] || { pk_show "$PK_TMP/out"; pk_fail "the program did not report g's mean"; }
python3 -c "import sys; sys.exit(0 if 0.9e6 <= $avg <= $caller + 1e4 else 1)" ||
	pk_fail "g's mean latency $avg ns is outside [0.9 ms, the caller's own mean $caller ns]"
if python3 -c "import sys; sys.exit(0 if $caller <= 1.1e6 else 1)"; then
	python3 -c "import sys; sys.exit(0 if abs($avg - 1e6) <= 1e5 else 1)" ||
		pk_fail "g's mean latency is $avg ns, expected 1 ms within 10%"
	pk_log "ok: g's mean latency $avg ns (1 ms within 10%; the caller saw $caller ns)"
else
	pk_log "ok: g's mean latency $avg ns within [0.9 ms, $caller ns]; 1 ms within 10% not checked: the program itself saw its 1 ms calls take $caller ns on average in this run (other load)"
fi
[ "$(fp_field "$PK_TMP/p.json" f total_ns)" = "$(fp_field "$PK_TMP/p.json" f self_ns)" ] ||
	pk_fail "f calls no probed function: its self time must equal its total"
pk_check_ge "g's p50 (ns)" "$(fp_field "$PK_TMP/p.json" g p50_ns)" 900000
pk_check_ge "g's p99 >= p50" \
	"$(( $(fp_field "$PK_TMP/p.json" g p99_ns) - $(fp_field "$PK_TMP/p.json" g p50_ns) ))" 0

# The table states the overhead and the correction.
pk_run_limited 30 "$PERFKIT" probes counts >"$PK_TMP/table" 2>&1 || pk_fail "perfkit probes (table) failed"
grep -q 'include the probe overhead' "$PK_TMP/table" || { pk_show "$PK_TMP/table"; pk_fail "the table does not say that times include the probe overhead"; }
grep -Eq '^f +fprobe-calls +all +12345 ' "$PK_TMP/table" || { pk_show "$PK_TMP/table"; pk_fail "no table row for f with 12345 calls"; }
pk_run_limited 30 "$PERFKIT" probes counts --format csv >"$PK_TMP/csv" 2>&1 || pk_fail "perfkit probes (csv) failed"
grep -q '^g,fprobe-calls,0,1000,0,' "$PK_TMP/csv" || { pk_show "$PK_TMP/csv"; pk_fail "no CSV row for g"; }

# sessions show: probe stops and their median cost.  A call stops at its
# entry; its return is timed in the target without a stop (a timed
# return), or stops too where it cannot be (then it counts as stopped):
# every one of the 13,345 calls returned one way or the other.
stops=$(pk_session_field counts probe_stops)
[ "$stops" != missing ] || pk_fail "sessions show has no probe_stops"
timed=$(pk_session_field counts probe_timed_returns)
stopped=$(pk_session_field counts probe_stopped_returns)
[ "$(( timed + stopped ))" = 13345 ] || pk_fail "returns: $timed timed + $stopped stopped, expected 13345 in all"
pk_check_ge "timed returns" "$timed" 1
pk_check_ge "probe stops" "$stops" $(( 12345 + 1000 + stopped ))
pk_check_ge "probe stop median (us)" "$(pk_session_field counts probe_stop_median_us)" 0.001
pk_run_limited 30 "$PERFKIT" sessions show counts >"$PK_TMP/show" 2>&1
grep -q '^probe stops' "$PK_TMP/show" || { pk_show "$PK_TMP/show"; pk_fail "sessions show does not label the probe stops"; }

# perfkit report: calls, avg and p99 beside the sampled columns.
pk_report counts "$PK_TMP/report.json"
calls=$(python3 - "$PK_TMP/report.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print(next((f.get("calls", "none") for f in d["functions"] if f["function"] == "g"), "absent"))
PY
)
[ "$calls" = 1000 ] || pk_fail "perfkit report: g has calls $calls, expected 1000"
pk_log "ok: perfkit report shows g with 1000 calls"

# Samples taken inside g (about a second of it) unwind through the stub
# or trampoline that holds g's return address, on to main: the sampler's
# unwinder reads the original address from the engine (and a sample at
# g's entry stop or in the engine's code before g's first instruction is
# g's, its return address at the stack pointer).  A sample in a stub
# after g returned ends there (rare).
pk_run_limited 30 "$PERFKIT" export counts --format folded >"$PK_TMP/folded" 2>&1 ||
	{ pk_show "$PK_TMP/folded"; pk_fail "perfkit export --format folded failed"; }
python3 - "$PK_TMP/folded" <<'PY' || pk_fail "samples inside g do not unwind on to main"
import sys
in_g = through = 0
for line in open(sys.argv[1]):
    stack, n = line.rsplit(" ", 1)
    frames = stack.split(";")
    if "g" in frames:
        in_g += int(n)
        if "main" in frames[:frames.index("g")]:
            through += int(n)
print("fprobe-counts.sh: %d of %d samples inside g unwind on to main" % (through, in_g))
sys.exit(0 if in_g >= 20 and through >= 0.8 * in_g else 1)
PY
exit 0
