#!/bin/bash
# export-folded.sh - `perfkit export --format folded` against the report:
# every line is "frames count" with frames root to leaf joined by ';', the
# counts add up to the session's samples, each function's leaf counts equal
# its self samples in `perfkit report --format json`, and hostile names
# (';' inside names, spaces, markup, quotes, non-ASCII, invalid UTF-8) keep
# one frame per name: ';' inside a name becomes ':'.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/export-common.sh"

check() {
	local s=$1
	shift
	expect_status 0 pk export "$s" --format folded "$@"
	cp "$tmp/out" "$tmp/$s.folded"
	expect_status 0 pk report "$s" --format json --limit 0 "$@"
	cp "$tmp/out" "$tmp/$s.json"
	python3 - "$tmp/$s.folded" "$tmp/$s.json" <<'PY' || fail "folded export of $s disagrees with the report ($*)"
import json, re, sys
from collections import Counter
folded = open(sys.argv[1], 'rb').read()
report = json.load(open(sys.argv[2]))
line_re = re.compile(rb'^(.+) ([0-9]+)$')
total, leaf = 0, Counter()
lines = folded.split(b'\n')
assert lines[-1] == b'', 'no newline at the end'
seen = set()
for line in lines[:-1]:
    m = line_re.match(line)
    assert m, 'bad line %r' % line[:200]
    stack, n = m.group(1), int(m.group(2))
    assert n > 0
    assert stack not in seen, 'stack listed twice: %r' % stack[:200]
    seen.add(stack)
    total += n
    # Names as the report's JSON writes them: invalid bytes -> U+FFFD.
    leaf[stack.split(b';')[-1].decode('utf-8', 'replace')] += n
assert total == report['total_weight'], (total, report['total_weight'])
want = Counter()
for f in report['functions']:
    if f['self_samples']:
        want[f['function'].replace(';', ':')] += f['self_samples']
if report['no_stack_weight']:
    want['[no stack]'] += report['no_stack_weight']
assert leaf == want, 'leaf counts differ: %r' % (set(leaf.items()) ^ set(want.items()))
print(len(seen), 'stacks,', total, 'samples')
PY
}

mksession plain --samples 20000 --stacks 300 --depth 10 --threads 3 --seed 11
mksession hostile --samples 8000 --stacks 200 --depth 8 --threads 2 --seed 12 --hostile-names
check plain
check plain --thread 1001
check plain --from 1 --to 3
check hostile
grep -q 'semi:colon:frame_' "$tmp/hostile.folded" || fail "';' inside a name did not become ':'"
grep -q 'semi;colon' "$tmp/hostile.folded" && fail "a raw ';' inside a name split a frame"

# flamegraph.pl, where installed, reads the file.
if command -v flamegraph.pl >/dev/null; then
	flamegraph.pl "$tmp/plain.folded" >"$tmp/plain-pl.svg" || fail "flamegraph.pl rejected the folded file"
	grep -q '<svg' "$tmp/plain-pl.svg" || fail "flamegraph.pl wrote no SVG"
else
	log "flamegraph.pl not installed: not cross-checked with it"
fi
exit 0
