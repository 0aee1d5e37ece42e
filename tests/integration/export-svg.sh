#!/bin/bash
# export-svg.sh - `perfkit flamegraph` writes well-formed XML (checked by a
# real XML parser: python3's expat, and xmllint where installed) even for
# hostile function names; the frames agree with the folded export and the
# report: with --minwidth 0 there is one frame per distinct call path, the
# root is as wide as the samples, --reverse puts each function's self
# samples in the bottom row, --thread/--from/--to filter like the report;
# --icicle, --colors, --title and --width do what they say.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/export-common.sh"

# svgcheck SVG FOLDED REPORT.json MODE: parse and compare (see above).
svgcheck() {
	python3 - "$@" <<'PY'
import json, sys, xml.etree.ElementTree as ET
svg, folded, report, mode = sys.argv[1:5]
NS = '{http://www.w3.org/2000/svg}'
root = ET.parse(svg).getroot()          # raises on malformed XML
frames = root.find(".//%sg[@id='frames']" % NS)
gs = list(frames)
rep = json.load(open(report))
total = rep['total_weight']
d0 = [g for g in gs if g.get('data-d') == '0']
assert len(d0) == 1 and int(d0[0].get('data-v')) == total, (len(d0), total)
# Names from the embedded table: pkData = {...};
script = [s.text for s in root.iter(NS + 'script') if s.text and 'var pkData' in s.text][0]
data = json.loads(script.split('var pkData = ', 1)[1].rsplit(';', 1)[0])
names = [f[0] for f in data['funcs']]
def name(g):
    return names[int(g.get('data-f'))] if g.get('data-f') is not None else None
if mode == 'forward':
    prefixes = set()
    for line in open(folded, 'rb').read().decode('utf-8', 'replace').splitlines():
        parts = line.rsplit(' ', 1)[0].split(';')
        for k in range(1, len(parts) + 1):
            prefixes.add(tuple(parts[:k]))
    # every drawn frame but the root is one distinct call path
    assert len(gs) == len(prefixes) + 1, (len(gs), len(prefixes) + 1)
elif mode == 'reverse':
    bottom = {}
    for g in gs:
        if g.get('data-d') == '1':
            bottom[name(g)] = bottom.get(name(g), 0) + int(g.get('data-v'))
    want = {f['function']: f['self_samples'] for f in rep['functions'] if f['self_samples']}
    if rep['no_stack_weight']:
        want['[no stack]'] = rep['no_stack_weight']
    assert bottom == want, sorted(set(bottom.items()) ^ set(want.items()))[:5]
# Children never stick out of their parent, and the widths drawn match.
plot = float(root.get('width')) - 20
for g in gs:
    r = g.find(NS + 'rect')
    w = float(r.get('width'))
    assert abs(w - plot * int(g.get('data-v')) / total) < 0.01, (w, g.attrib)
print(len(gs), 'frames ok')
PY
}

# run_case SESSION MODE ARGS...: flamegraph + folded + report with ARGS.
run_case() {
	local s=$1 mode=$2 filter=()
	shift 2
	local a
	for a in "$@"; do
		case $a in --thread=*|--from=*|--to=*) filter+=("$a") ;; esac
	done
	expect_status 0 pk flamegraph "$s" -o "$tmp/$s.svg" "$@"
	expect_status 0 pk export "$s" --format folded -o "$tmp/$s.folded" "${filter[@]}"
	expect_status 0 pk report "$s" --format json --limit 0 "${filter[@]}"
	cp "$tmp/out" "$tmp/$s.json"
	if command -v xmllint >/dev/null; then
		xmllint --noout "$tmp/$s.svg" 2>"$tmp/xmllint.err" || fail "xmllint: $(head -5 "$tmp/xmllint.err") ($s $*)"
	fi
	svgcheck "$tmp/$s.svg" "$tmp/$s.folded" "$tmp/$s.json" "$mode" ||
		fail "flame graph of $s ($*) is wrong"
}

mksession plain --samples 20000 --stacks 400 --depth 12 --threads 3 --seed 41
mksession hostile --samples 6000 --stacks 200 --depth 8 --threads 2 --seed 42 --hostile-names

run_case plain forward --minwidth=0
run_case plain forward --minwidth=0 --thread=1001
run_case plain forward --minwidth=0 --from=0.5 --to=2
run_case plain reverse --minwidth=0 --reverse
run_case plain default
run_case hostile forward --minwidth=0
run_case hostile reverse --minwidth=0 --reverse --icicle --colors=mono
run_case hostile default --title='<b>&"title"</b>' --width=800

# Title escaped, width honoured, icicle puts the root at the top.
grep -q '&lt;b&gt;&amp;&quot;title&quot;&lt;/b&gt;' "$tmp/hostile.svg" || fail "title not escaped"
grep -q '<svg [^>]*width="800"' "$tmp/hostile.svg" || fail "--width ignored"
expect_status 0 pk flamegraph plain --icicle -o "$tmp/ice.svg"
grep -q 'data-d="0"><rect x="10.00" y="72"' "$tmp/ice.svg" || fail "--icicle: root not at the top"
# The default minwidth merges the long tail and says so in the subtitle.
grep -q 'frames narrower than 0.1 px merged' "$tmp/plain.svg" || log "no frame was narrow enough to merge"
# Palettes: mono has only greys.
expect_status 0 pk flamegraph plain --colors mono -o "$tmp/mono.svg"
python3 - "$tmp/mono.svg" <<'PY' || fail "--colors mono is not grey"
import re, sys
fills = set(re.findall(r'fill="#([0-9a-f]{6})"', open(sys.argv[1]).read()))
assert fills and all(f[0:2] == f[2:4] == f[4:6] for f in fills if f != 'f8f8f4'), fills
PY
# Same function, same colour, whatever the session.
c1=$(grep -o 'data-f="[0-9]*" data-s="0" data-v="[0-9]*" data-d="1"><rect [^>]*fill="#[0-9a-f]*"' "$tmp/plain.svg" | grep -o 'fill="[^"]*"')
[ -n "$c1" ] || fail "no main frame found"
expect_status 0 pk flamegraph plain --thread 1002 -o "$tmp/t.svg"
c2=$(grep -o 'data-f="[0-9]*" data-s="0" data-v="[0-9]*" data-d="1"><rect [^>]*fill="#[0-9a-f]*"' "$tmp/t.svg" | grep -o 'fill="[^"]*"')
[ "$c1" = "$c2" ] || fail "main changed colour between graphs: $c1 vs $c2"

# Options are checked.
expect_status 2 pk flamegraph plain --colors rainbow
grep -q "unknown palette 'rainbow'" "$tmp/err" || fail "bad palette message: $(cat "$tmp/err")"
expect_status 2 pk flamegraph plain --minwidth -1
expect_status 2 pk flamegraph plain --width 5
expect_status 0 pk flamegraph --help
grep -q -- '--minwidth' "$tmp/out" || fail "--help does not list --minwidth"
exit 0
