#!/bin/bash
# export-pprof.sh - `perfkit export --format pprof` read by a real
# consumer: `go tool pprof -top` (Debian package golang-go) lists the same
# functions with the same self (flat) and total (cum) counts as
# `perfkit report --format json`, for the whole session and for one
# thread; the profile says cpu/nanoseconds, carries the build-id and the
# session's duration; hostile names still give the right totals; an empty
# session gives a profile pprof opens.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/export-common.sh"

command -v go >/dev/null || skip "go is needed for 'go tool pprof' (Debian package golang-go)"
# pprof keeps state under $HOME; keep it in the test directory.
export HOME=$tmp PPROF_TMPDIR=$tmp GOCACHE=$tmp/gocache GOFLAGS=

# compare SESSION ARGS...: pprof's -top table against the report.
compare() {
	local s=$1 file=$tmp/$1.pb.gz
	shift
	expect_status 0 pk export "$s" --format pprof -o "$file" "$@"
	[ -s "$file" ] || fail "no pprof file for $s"
	expect_status 0 pk report "$s" --format json --limit 0 "$@"
	cp "$tmp/out" "$tmp/$s.json"
	go tool pprof -top -sample_index=samples -nodecount=100000 -nodefraction=0 \
		-edgefraction=0 "$file" >"$tmp/$s.top" 2>"$tmp/$s.top.err" ||
		fail "go tool pprof could not read $file: $(cat "$tmp/$s.top.err")"
	python3 - "$tmp/$s.top" "$tmp/$s.json" <<'PY' || fail "pprof and report disagree for $s ($*); pprof said: $(head -20 "$tmp/$s.top")"
import json, re, sys
top = open(sys.argv[1]).read().splitlines()
report = json.load(open(sys.argv[2]))
i = next(k for k, l in enumerate(top) if l.split()[:2] == ['flat', 'flat%'])
got = {}
for l in top[i + 1:]:
    m = re.match(r'^\s*(\d+)\s+\S+%\s+\S+%\s+(\d+)\s+\S+%\s+(.*)$', l)
    assert m, 'unparsed pprof line: %r' % l
    got[m.group(3)] = (int(m.group(1)), int(m.group(2)))
want = {f['function']: (f['self_samples'], f['total_samples']) for f in report['functions']}
assert got == want, 'differ: %r' % sorted(set(got.items()) ^ set(want.items()))[:10]
total = re.search(r'Total samples = (\d+)', '\n'.join(top))
assert total and int(total.group(1)) == report['total_weight'], (total, report['total_weight'])
# The top functions in the same order where counts differ.
order_p = [n for n, _ in sorted(got.items(), key=lambda kv: -kv[1][0])][:5]
order_r = [f['function'] for f in report['functions']][:5]
assert [got[n][0] for n in order_p] == [want[n][0] for n in order_r], (order_p, order_r)
print(len(got), 'functions agree, top:', ', '.join(order_r))
PY
}

mksession plain --samples 30000 --stacks 400 --depth 10 --threads 3 --seed 21 --frequency 250
compare plain
compare plain --thread 1002

# The header: cpu time in nanoseconds by default, the build-id, duration.
go tool pprof -top "$tmp/plain.pb.gz" >"$tmp/head" 2>&1 || fail "pprof -top failed: $(cat "$tmp/head")"
grep -q '^Type: cpu$' "$tmp/head" || fail "default sample type is not cpu: $(head -8 "$tmp/head")"
grep -q '^Build ID: [0-9a-f]\{8,\}' "$tmp/head" || fail "no build-id: $(head -8 "$tmp/head")"
grep -q '^perfkit session plain$' "$tmp/head" || fail "no session comment: $(head -8 "$tmp/head")"
go tool pprof -raw "$tmp/plain.pb.gz" >"$tmp/raw" 2>&1 || fail "pprof -raw failed"
grep -q '^PeriodType: cpu nanoseconds$' "$tmp/raw" || fail "no period type: $(head -8 "$tmp/raw")"
grep -q '^Period: 4000000$' "$tmp/raw" || fail "period is not 1/250 Hz: $(grep Period "$tmp/raw")"
dur=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["session"]["duration_s"])' "$tmp/plain.json")
pdur=$(sed -n 's/^Duration: \([0-9.]*\).*/\1/p' "$tmp/raw")
python3 -c "import sys; sys.exit(abs($dur - $pdur) > 0.01)" || fail "duration $pdur, session says $dur"

# Hostile names: the totals still agree (pprof shortens C++-looking names
# for display, so names are not compared one by one here).
mksession hostile --samples 5000 --stacks 150 --depth 8 --seed 22 --hostile-names
expect_status 0 pk export hostile --format pprof -o "$tmp/hostile.pb.gz"
go tool pprof -top -sample_index=samples "$tmp/hostile.pb.gz" >"$tmp/h.top" 2>&1 || fail "pprof rejected hostile names: $(cat "$tmp/h.top")"
grep -q 'Total samples = 5000 *$' "$tmp/h.top" || fail "hostile total: $(head -8 "$tmp/h.top")"

# Refuses to write binary data to a terminal only; a pipe is fine.
pk export plain --format pprof | gzip -t || fail "pprof on stdout is not gzip"
exit 0
