#!/bin/bash
# html-report.sh - "perfkit html" writes one self-contained report that
# works in a real browser.
#
# Two sessions of tests/targets/split (heavy_work about 75% of the CPU,
# light_work 25%) are recorded; the report of the longer one, compared
# with the shorter one, is checked:
#  * in the file: nothing is loaded from elsewhere (no <link>, no src=,
#    no url(), no @import; the only "http" are the SVG and XHTML
#    namespace names), every section is present, the function table's
#    rows are 'perfkit report's functions in the same order with the same
#    self counts;
#  * a session recorded with --alloc (tests/targets/alloc-suite basic:
#    10,000 malloc(100) in hot(), far more than any other site) adds the
#    allocation summary, the memory timeline chart, and hot() as the
#    first call site;
#  * in headless Chromium (tests/js/html-report.js says what exactly): no
#    errors, the table sorts on click and filters, the flame graph zooms
#    and resets, the differential flame graph is drawn, print media hide
#    the controls; a screenshot (and a PDF) are saved in the test's
#    directory, kept, and their paths printed.
# Needs /usr/bin/chromium and `npm ci --prefix tests/js` (skips otherwise).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
pk_init
pk_need_targets split alloc-suite

record() { # NAME CPU_SECONDS
	local rc=0
	pk_run_limited 60 "$PERFKITD" run -q -F 499 -n "$1" -- "$TARGETS/split" "$PK_TMP/$1.truth" "$2" \
		>"$PK_TMP/$1.out" 2>"$PK_TMP/$1.err" || rc=$?
	[ "$rc" = 0 ] || { pk_show "$PK_TMP/$1.out" "$PK_TMP/$1.err"; pk_fail "perfkitd run $1 exited $rc"; }
}
record before 0.5
record after 1

html=$PK_TMP/report.html
pk_run_limited 60 "$PERFKIT" html after --compare before -o "$html" >"$PK_TMP/html.out" 2>&1 ||
	{ pk_show "$PK_TMP/html.out"; pk_fail "perfkit html failed"; }
[ -s "$html" ] || pk_fail "no report written"

# Self-contained: nothing fetched from elsewhere.
if grep -Eio '<link|<img|src="|url\(|@import|https?://[^"&]*' "$html" |
	grep -Ev '^http://www\.w3\.org/(2000/svg|1999/xhtml)$' | grep -q .; then
	grep -Eion '<link|<img|src="|url\(|@import|https?://[^"&]*' "$html" | head >&2
	pk_fail "the report refers to something outside itself"
fi
for id in pk-summary pk-analysis pk-functions pk-lines pk-flamegraph pk-allocs pk-compare; do
	grep -q "<section id=\"$id\">" "$html" || pk_fail "section $id is missing"
done

# The function table is the report's.
pk_report after "$PK_TMP/report.json" --limit 0
python3 - "$html" "$PK_TMP/report.json" <<'PY' >&2 || pk_fail "the function table differs from 'perfkit report'"
import html.parser, json, sys
class T(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(); self.rows = []; self.on = False; self.cell = None
    def handle_starttag(self, tag, a):
        a = dict(a)
        if tag == "table": self.on = a.get("id") == "pk-ftable"
        elif self.on and tag == "tr" and "data-name" in a: self.rows.append([a["data-name"]])
        elif self.on and tag == "td" and self.rows: self.rows[-1].append(a.get("data-v"))
    def handle_endtag(self, tag):
        if tag == "table": self.on = False
t = T(); t.feed(open(sys.argv[1]).read())
rep = json.load(open(sys.argv[2]))["functions"]
got = [(r[0], int(r[1])) for r in t.rows]
want = [(f["function"], f["self_samples"]) for f in rep]
print("table: %d rows, report: %d functions; first %s" % (len(got), len(want), got[:2]))
sys.exit(0 if got == want else 1)
PY

# Allocations.
rc=0
echo go | pk_run_limited 60 "$PERFKITD" run -q -F 499 --alloc -n mem -- "$TARGETS/alloc-suite" basic \
	>"$PK_TMP/mem.out" 2>"$PK_TMP/mem.err" || rc=$?
[ "$rc" = 0 ] || { pk_show "$PK_TMP/mem.out" "$PK_TMP/mem.err"; pk_fail "perfkitd run --alloc exited $rc"; }
pk_run_limited 60 "$PERFKIT" html mem -o "$PK_TMP/mem.html" >"$PK_TMP/mem-html.out" 2>&1 ||
	{ pk_show "$PK_TMP/mem-html.out"; pk_fail "perfkit html of an --alloc session failed"; }
grep -q '<h3>Memory timeline</h3>' "$PK_TMP/mem.html" || pk_fail "no memory timeline in the --alloc report"
grep -q 'id="pk-atable"' "$PK_TMP/mem.html" || pk_fail "no call-site table in the --alloc report"
grep -q 'Not recorded: record with <code>perfkitd --alloc' "$html" ||
	pk_fail "the report of a session without --alloc does not say how to get allocations"

# In the browser.
[ -x /usr/bin/chromium ] || pk_skip "/usr/bin/chromium is missing (Debian package chromium)"
command -v node >/dev/null || pk_skip "node is needed (Debian package nodejs)"
[ -d "$top_srcdir/tests/js/node_modules/playwright-core" ] ||
	pk_skip "npm package playwright-core is missing: run 'npm ci --prefix tests/js'"
top=$(pk_json "$PK_TMP/report.json" 'd["functions"][0]["function"]')
mkdir -p "$PK_TMP/chromium"
TMPDIR=$PK_TMP/chromium pk_run_limited 180 node "$top_srcdir/tests/js/html-report.js" "$html" \
	"$PK_TMP/report.png" "$top" --compare 2>"$PK_TMP/node.err" ||
	{ pk_show "$PK_TMP/node.err"; pk_fail "in Chromium"; }
[ -s "$PK_TMP/report.png" ] || pk_fail "no screenshot"
memtop=$("$PERFKIT" report mem --format csv --limit 1 | sed -n 2p | cut -d, -f1)
TMPDIR=$PK_TMP/chromium pk_run_limited 180 node "$top_srcdir/tests/js/html-report.js" "$PK_TMP/mem.html" \
	"$PK_TMP/allocs.png" "$memtop" --allocs hot 2>"$PK_TMP/node.err" ||
	{ pk_show "$PK_TMP/node.err"; pk_fail "the --alloc report in Chromium"; }
# Keep the screenshot for people to look at; say where.
shots=${PK_HTML_SHOTS:-${TMPDIR:-/tmp}/perfkit-html-report}
mkdir -p "$shots" && cp "$PK_TMP/report.png" "$PK_TMP/report.pdf" "$html" "$PK_TMP/allocs.png" "$shots/" &&
	pk_log "screenshots: $shots/report.png, $shots/allocs.png (PDF: $shots/report.pdf, report: $shots/report.html)"
exit 0
