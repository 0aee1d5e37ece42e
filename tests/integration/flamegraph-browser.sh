#!/bin/bash
# flamegraph-browser.sh - the flame graph's JavaScript in a real browser:
# headless Chromium (Debian package chromium) driven by playwright-core
# (npm, tests/js) with real mouse and keyboard input.  Hover, click to
# zoom, reset, Ctrl-F and regular-expression search are checked against
# the folded export of the same session, and hostile function names
# against the report (tests/js/flamegraph-browser.js says what exactly).
# Needs `npm ci --prefix tests/js`.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/export-common.sh"

[ -x /usr/bin/chromium ] || skip "/usr/bin/chromium is missing (Debian package chromium)"
need_node_modules playwright-core

mksession web --samples 20000 --stacks 300 --depth 10 --threads 2 --seed 61
expect_status 0 pk flamegraph web --minwidth 0 -o "$tmp/web.svg"
expect_status 0 pk export web --format folded -o "$tmp/web.folded"
# Chromium writes its profile under TMPDIR: keep it in the test directory.
TMPDIR=$tmp timeout 180 node "$JSDIR/flamegraph-browser.js" "$tmp/web.svg" "$tmp/web.folded" \
	2>"$tmp/node.err" || fail "in Chromium: $(grep -v 'unexpected operator' "$tmp/node.err")"

# Hostile names: shown as the report names them, as text, searchable.
mksession hostile --samples 6000 --stacks 200 --depth 8 --threads 2 --seed 62 --hostile-names
expect_status 0 pk flamegraph hostile -o "$tmp/hostile.svg"
expect_status 0 pk report hostile --format json --limit 0
cp "$tmp/out" "$tmp/hostile.json"
TMPDIR=$tmp timeout 180 node "$JSDIR/flamegraph-browser.js" --names "$tmp/hostile.svg" "$tmp/hostile.json" \
	2>"$tmp/node.err" || fail "hostile names in Chromium: $(grep -v 'unexpected operator' "$tmp/node.err")"
exit 0
