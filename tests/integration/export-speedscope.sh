#!/bin/bash
# export-speedscope.sh - `perfkit export --format speedscope` validates
# against the file-format schema published in the speedscope npm package
# (with ajv, a real JSON-schema validator), has one sampled profile per
# thread whose weights add up to `perfkit report --thread TID`, names
# frames as the report does, hostile names included, and opens in
# speedscope itself (its app from the npm package, in headless Chromium).  Needs `npm ci --prefix tests/js`.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/export-common.sh"

need_node_modules ajv speedscope

# validate SESSION ARGS...: schema and per-thread totals from the report.
validate() {
	local s=$1 tid list
	shift
	expect_status 0 pk export "$s" --format speedscope -o "$tmp/$s.speedscope.json" "$@"
	expect_status 0 pk report "$s" --format json --limit 0 "$@"
	list=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["threads"])' "$tmp/out")
	# Threads of pk-mksession are 1000, 1001, ...: ask the report per thread.
	printf '{"profiles": {' >"$tmp/expect.json"
	local first=1
	for tid in $(seq 1000 $((1000 + list - 1))); do
		pk report "$s" --format json --thread "$tid" "$@" >"$tmp/t.json" 2>/dev/null ||
			fail "report --thread $tid failed"
		w=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total_weight"])' "$tmp/t.json")
		[ "$w" = 0 ] && continue
		[ $first = 1 ] || printf ', ' >>"$tmp/expect.json"
		first=0
		printf '"thread %s": %s' "$tid" "$w" >>"$tmp/expect.json"
	done
	printf '}}\n' >>"$tmp/expect.json"
	node "$JSDIR/validate-speedscope.js" "$tmp/$s.speedscope.json" "$tmp/expect.json" ||
		fail "speedscope file of $s is not valid ($*)"
}

mksession plain --samples 12000 --stacks 200 --depth 9 --threads 4 --seed 31
validate plain
validate plain --from 0.5 --to 1.5
mksession hostile --samples 4000 --stacks 120 --depth 8 --threads 2 --seed 32 --hostile-names
validate hostile

# Names are the report's names (invalid UTF-8 replaced the same way).
pk report hostile --format json --limit 0 >"$tmp/h.json" || fail "report failed"
python3 - "$tmp/hostile.speedscope.json" "$tmp/h.json" <<'PY' || fail "frame names differ from the report's"
import json, sys
ss = json.load(open(sys.argv[1]))
rep = json.load(open(sys.argv[2]))
names = {f['name'] for f in ss['shared']['frames']}
missing = [f['function'] for f in rep['functions'] if f['function'] not in names]
assert not missing, missing[:5]
assert any(';' in n for n in names) and any('\ufffd' in n for n in names)
PY
# And speedscope itself opens them (its app from the npm package, in
# headless Chromium, loaded as speedscope's command-line tool does).
if [ -x /usr/bin/chromium ] && [ -d "$JSDIR/node_modules/playwright-core" ]; then
	for s in plain:4 hostile:2; do
		TMPDIR=$tmp timeout 120 node "$JSDIR/speedscope-open.js" "$tmp/${s%:*}.speedscope.json" \
			"${s%:*}" "${s#*:}" 2>"$tmp/node.err" >/dev/null ||
			fail "speedscope did not open ${s%:*}: $(grep -v 'unexpected operator' "$tmp/node.err")"
	done
else
	log "chromium or playwright-core missing: not opened in speedscope itself"
fi
exit 0
