#!/bin/bash
# compare-browser.sh - the differential flame graph of perfkit compare in
# a real browser (headless Chromium, Debian package chromium, driven by
# playwright-core from tests/js): colours and hover text agree with
# the sessions' call paths, and zoom/reset work as in every flame graph
# (tests/js/compare-browser.js says what exactly; the truth is the folded
# export of both sessions).  Sessions come from
# pk-mksession (no perfkitd needed): the same call-tree generator with a
# different sample count and seed, so some paths gain and some lose time.
# Needs `npm ci --prefix tests/js`.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/export-common.sh"

[ -x /usr/bin/chromium ] || skip "/usr/bin/chromium is missing (Debian package chromium)"
need_node_modules playwright-core

mksession before --samples 20000 --stacks 60 --depth 6 --seed 71
mksession after --samples 12000 --stacks 60 --depth 6 --seed 72
expect_status 0 pk compare before after --flamegraph "$tmp/diff.svg"
expect_status 0 pk compare before after --format json --limit 0
cp "$tmp/out" "$tmp/cmp.json"
expect_status 0 pk export before --format folded -o "$tmp/before.folded"
expect_status 0 pk export after --format folded -o "$tmp/after.folded"
TMPDIR=$tmp timeout 180 node "$JSDIR/compare-browser.js" "$tmp/diff.svg" "$tmp/before.folded" \
	"$tmp/after.folded" "$tmp/cmp.json" \
	>"$tmp/node.out" 2>"$tmp/node.err" || fail "in Chromium: $(cat "$tmp/node.err")"
log "$(cat "$tmp/node.out")"
exit 0
