#!/bin/bash
# counters.sh - perfkitd --counters and --sample-on against known truth.
#
# The tracee touches N fresh pages, one write each, so it takes N page
# faults in touch_pages() plus the few of its start-up (ld.so, libc:
# about 60 here; 400 allowed).  Checked:
#   * page-faults and minor-faults counted, within [N, N + 400];
#   * every hardware event has a status; on a machine without a PMU each
#     is "unsupported" with errno ENOENT, value null (never 0), and the
#     table says "unavailable: no hardware PMU (ENOENT)";
#   * --sample-on cache-misses without a PMU fails before the program
#     starts, saying why;
#   * --sample-on page-faults:8 (a software event, the same mechanism as
#     a hardware one): the samples unwind into touch_pages, whose events
#     (samples x 8) are N within one period, and report shows them.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
pk_init
pk_need_targets faults

N=6000
pmu=0
ls /sys/bus/event_source/devices 2>/dev/null | grep -Eq '^(cpu|cpu_core|cpu_atom|armv)' && pmu=1

# Software events must open: a kernel or container without perf_event
# support is an environment limit, not a failure.
if [ -r /proc/sys/kernel/perf_event_paranoid ] && [ "$(cat /proc/sys/kernel/perf_event_paranoid)" -ge 3 ] &&
	[ "$(id -u)" != 0 ]; then
	pk_skip "perf_event_paranoid is 3: perf_event_open is refused to this user"
fi

pk_run_limited 60 "$PERFKITD" run -q --counters -n counted -- "$TARGETS/faults" $N \
	>"$PK_TMP/run.out" 2>"$PK_TMP/run.err" || { pk_show "$PK_TMP/run.err"; pk_fail "perfkitd run --counters failed"; }
grep -q "pages=$N " "$PK_TMP/run.out" || { pk_show "$PK_TMP/run.out"; pk_fail "the tracee did not report its pages"; }
"$PERFKIT" cache counted --format json >"$PK_TMP/c.json" 2>"$PK_TMP/c.err" ||
	{ pk_show "$PK_TMP/c.err"; pk_fail "perfkit cache --format json failed"; }

field() { pk_json "$PK_TMP/c.json" "[c for c in d['counters'] if c['name'] == '$1'][0]['$2']"; }

for ev in page-faults minor-faults; do
	[ "$(field $ev status)" = counted ] || pk_fail "$ev: status $(field $ev status), expected counted"
	v=$(field $ev value)
	python3 -c "import sys; v=float('$v'); sys.exit(0 if $N <= v <= $N + 400 else 1)" ||
		pk_fail "$ev: $v, expected $N..$((N + 400)) (N fresh pages plus start-up)"
	pk_log "ok: $ev = $v (N = $N)"
done
[ "$(field major-faults status)" = counted ] || pk_fail "major-faults not counted"
[ "$(field context-switches status)" = counted ] || pk_fail "context-switches not counted"
[ "$(field cpu-migrations status)" = counted ] || pk_fail "cpu-migrations not counted"

for ev in cycles instructions cache-references cache-misses branch-misses L1-dcache-load-misses dTLB-load-misses; do
	st=$(field $ev status)
	if [ $pmu = 0 ]; then
		[ "$st" = unsupported ] || pk_fail "$ev: status '$st' without a PMU, expected unsupported"
		[ "$(field $ev errno)" = 2 ] || pk_fail "$ev: errno $(field $ev errno), expected 2 (ENOENT)"
		[ "$(field $ev value)" = None ] || pk_fail "$ev: value $(field $ev value) for an event that did not open"
		[ "$(field $ev message)" = "unavailable: no hardware PMU (ENOENT)" ] ||
			pk_fail "$ev: message '$(field $ev message)'"
	else
		case $st in counted|unsupported|denied) ;; *) pk_fail "$ev: status '$st'" ;; esac
	fi
done
if [ $pmu = 0 ]; then
	[ "$(pk_json "$PK_TMP/c.json" "d['derived']['ipc']")" = None ] || pk_fail "IPC shown without cycles"
	"$PERFKIT" cache counted >"$PK_TMP/c.txt" 2>&1 || pk_fail "perfkit cache (table) failed"
	grep -q "cycles .*unavailable: no hardware PMU (ENOENT)" "$PK_TMP/c.txt" ||
		{ pk_show "$PK_TMP/c.txt"; pk_fail "the table does not say why cycles is missing"; }
	grep -q "The measured cache view is unavailable: no hardware PMU (ENOENT)" "$PK_TMP/c.txt" ||
		{ pk_show "$PK_TMP/c.txt"; pk_fail "the table does not say the cache view is unavailable"; }
	pk_log "ok: hardware events unsupported (ENOENT), shown as unavailable, never 0"

	pk_expect_error "--sample-on cache-misses without a PMU" \
		"--sample-on cache-misses: unavailable: no hardware PMU \(ENOENT\)" \
		"$PERFKITD" run -q --sample-on cache-misses -n nopmu -- "$TARGETS/faults" 10
	"$PERFKIT" sessions list --format json >"$PK_TMP/l.json" 2>/dev/null
	[ "$(pk_json "$PK_TMP/l.json" "[s['name'] for s in d if s['name'] == 'nopmu']")" = "[]" ] ||
		pk_fail "a refused --sample-on left a session behind"
fi

# Overflow sampling with the unwinder, on a software event.
# (A 1 KiB stack copy holds this tracee's few frames and lets the 2 MiB
# ring hold over 1,000 samples: a burst of faults loses none.)
pk_run_limited 60 "$PERFKITD" run -q --sample-on page-faults:8 --stack-size 1024 -n sampled -- "$TARGETS/faults" $N \
	>"$PK_TMP/run2.out" 2>"$PK_TMP/run2.err" || { pk_show "$PK_TMP/run2.err"; pk_fail "perfkitd --sample-on failed"; }
"$PERFKIT" cache sampled --format json >"$PK_TMP/s.json" 2>"$PK_TMP/s.err" ||
	{ pk_show "$PK_TMP/s.err"; pk_fail "perfkit cache on the sampled session failed"; }
"$PERFKIT" sessions show sampled --format json >"$PK_TMP/show.json" 2>/dev/null
lost=$(pk_json_key "$PK_TMP/show.json" sample_on_lost)
touch=$(pk_json "$PK_TMP/s.json" "sum(f['events'] for f in d['functions'] if f['function'] == 'touch_pages')")
label=$(pk_json "$PK_TMP/s.json" "d['functions'][0]['label']")
[ "$label" = "sampled, with skid" ] || pk_fail "sampled functions labelled '$label'"
pk_log "touch_pages: $touch events sampled (period 8), lost samples: $lost"
python3 -c "import sys; t=$touch; l=float('$lost'); sys.exit(0 if $N - 8 - 8 * l <= t <= $N + 8 else 1)" ||
	pk_fail "touch_pages has $touch sampled page faults, expected $N within one period (lost: $lost)"
"$PERFKIT" report sampled --event page-faults --format json >"$PK_TMP/r.json" 2>"$PK_TMP/r.err" ||
	{ pk_show "$PK_TMP/r.err"; pk_fail "perfkit report --event page-faults failed"; }
top=$(pk_json "$PK_TMP/r.json" "d['functions'][0]['function']")
[ "$top" = touch_pages ] || pk_fail "report's top function for page-faults is '$top'"
main=$(pk_json "$PK_TMP/r.json" "[f['total_samples'] for f in d['functions'] if f['function'] == 'main'][0]")
# Weights are events (8 per sample): main must be on the stack of (nearly)
# every touch_pages sample.
[ "$main" -ge $((touch * 95 / 100)) ] || pk_fail "main is on only $main of $touch sampled events: unwinding failed"
pk_log "ok: --sample-on page-faults:8 attributed $touch of $N faults to touch_pages, unwound through main"
exit 0
