#!/bin/bash
# annotate-lines.sh - "perfkit annotate" puts a function's samples on the
# right source line.
#
# tests/targets/annot-loop runs hot_lines(), whose loop body is a chain of
# 24 dependent multiply-adds written on one line (marked HOT in the
# source: about 100 cycles per iteration) and one addition on the next
# (marked COLD: about a cycle, as are the loop's increment and branch on
# the "for" line).  A sample stops the thread at the instruction it was
# about to execute, so the HOT line should hold about 95% of
# hot_lines()'s self samples; we ask for at least 80%, which leaves room
# for 4 binomial sigma at 700 samples (about 0.03) and for the compiler
# scheduling a few instructions of the chain under other lines.
#
# Checks:
#  * hot_lines holds most of the samples, and the HOT line carries >= 80%
#    of its self samples, is the heaviest line and is marked hot; its
#    source text is read from the file the session recorded;
#  * the per-line and per-address counts both add up to the function's
#    self samples, which equal 'perfkit report's;
#  * the table shows the line, marked with '*';
#  * the same program linked without debug sections (annot-loop-nodebug)
#    has no line information: annotate lists addresses instead, every
#    one inside hot_lines (nm), adding up to its self samples;
#  * a source file that has gone away: line numbers, no text;
#  * an unknown function is an error that suggests the close names.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
pk_init
pk_need_targets annot-loop annot-loop-nodebug

src=$top_srcdir/tests/targets/annot-loop.c
hot_line=$(grep -n '/\* HOT \*/' "$src" | cut -d: -f1)
cold_line=$(grep -n '/\* COLD \*/' "$src" | cut -d: -f1)
[ -n "$hot_line" ] && [ -n "$cold_line" ] || pk_fail "no HOT/COLD markers in $src"

record() { # NAME PROGRAM SECONDS
	local rc=0
	pk_run_limited 60 "$PERFKITD" run -q -F 499 -n "$1" -- "$2" "$3" \
		>"$PK_TMP/$1.out" 2>"$PK_TMP/$1.err" || rc=$?
	[ "$rc" = 0 ] || { pk_show "$PK_TMP/$1.out" "$PK_TMP/$1.err"; pk_fail "perfkitd run $1 exited $rc"; }
}

annotate_json() { # SESSION FUNCTION OUT
	pk_run_limited 30 "$PERFKIT" annotate "$1" "$2" --format json >"$3" 2>"$3.err" ||
		{ pk_show "$3" "$3.err"; pk_fail "perfkit annotate $1 $2 failed"; }
}

# ---- with line information ------------------------------------------------
record lines "$TARGETS/annot-loop" 1.5
annotate_json lines hot_lines "$PK_TMP/a.json"
pk_report lines "$PK_TMP/report.json"
self=$(pk_json "$PK_TMP/a.json" 'd["self_samples"]')
all=$(pk_json "$PK_TMP/a.json" 'd["total_weight"]')
pk_check_ge "samples in the session" "$all" 300
pk_check_ge "hot_lines' share of all samples" "$(python3 -c "print($self / $all)")" 0.90
[ "$self" = "$(pk_func "$PK_TMP/report.json" hot_lines self_samples)" ] ||
	pk_fail "annotate counts $self self samples, report $(pk_func "$PK_TMP/report.json" hot_lines self_samples)"

python3 - "$PK_TMP/a.json" "$hot_line" "$cold_line" "$src" <<'PY' >&2 || pk_fail "per-line attribution"
import json, os, sys
d = json.load(open(sys.argv[1]))
hot, cold, src = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
lines, self = d["lines"], d["self_samples"]
bad = []
by_line = {(os.path.basename(l["file"]), l["line"]): l for l in lines}
h = by_line.get(("annot-loop.c", hot))
if h is None:
    print("no samples on the HOT line %d: %s" % (hot, lines)); sys.exit(1)
share = h["samples"] / self
print("HOT line %d: %d of %d self samples = %.3f (at least 0.80)" % (hot, h["samples"], self, share))
if share < 0.80: bad.append("HOT line share %.3f < 0.80" % share)
if max(l["samples"] for l in lines) != h["samples"]: bad.append("HOT line is not the heaviest")
if not h["hot"]: bad.append("HOT line not marked hot")
if "/* HOT */" not in (h["source"] or ""): bad.append("HOT line's source text not read: %r" % h["source"])
if sum(l["samples"] for l in lines) + d["no_line_samples"] != self: bad.append("lines do not add up")
if sum(a["samples"] for a in d["addresses"]) != self: bad.append("addresses do not add up")
c = by_line.get(("annot-loop.c", cold))
if c and c["hot"] and c["samples"] / self < 0.10: bad.append("COLD line marked hot")
for b in bad: print("FAIL: " + b)
sys.exit(1 if bad else 0)
PY

pk_run_limited 30 "$PERFKIT" annotate lines hot_lines >"$PK_TMP/a.txt" 2>&1 || { pk_show "$PK_TMP/a.txt"; pk_fail "annotate (table) failed"; }
grep -Eq "^\* +[0-9]+ +[0-9.]+% +$hot_line +.*/\* HOT \*/" "$PK_TMP/a.txt" ||
	{ pk_show "$PK_TMP/a.txt"; pk_fail "the table does not show the HOT line marked with '*'"; }
pk_run_limited 30 "$PERFKIT" annotate lines hot_lines --format csv >"$PK_TMP/a.csv" 2>&1 || pk_fail "annotate csv failed"
grep -q "^line,.*annot-loop.c,$hot_line,,,[0-9]*,[0-9.]*,1\$" "$PK_TMP/a.csv" ||
	{ pk_show "$PK_TMP/a.csv"; pk_fail "the CSV does not have the HOT line marked hot"; }

# ---- without line information: addresses ---------------------------------
record nolines "$TARGETS/annot-loop-nodebug" 1
annotate_json nolines hot_lines "$PK_TMP/n.json"
range=$(nm "$TARGETS/annot-loop-nodebug" | awk '$3 == "hot_lines" { print $1 }')
[ -n "$range" ] || pk_fail "nm finds no hot_lines in annot-loop-nodebug"
python3 - "$PK_TMP/n.json" "$range" "$(nm -S "$TARGETS/annot-loop-nodebug" | awk '$4 == "hot_lines" { print $2 }')" <<'PY' >&2 || pk_fail "per-address fallback"
import json, sys
d = json.load(open(sys.argv[1]))
start, size = int(sys.argv[2], 16), int(sys.argv[3], 16)
bad = []
if d["lines"]: bad.append("lines listed without debug information: %s" % d["lines"][:2])
if d["self_samples"] < 100: bad.append("only %d self samples" % d["self_samples"])
if sum(a["samples"] for a in d["addresses"]) != d["self_samples"]: bad.append("addresses do not add up")
out = [hex(a["offset"]) for a in d["addresses"] if not start <= a["offset"] < start + size]
if out: bad.append("addresses outside hot_lines [%#x, %#x): %s" % (start, start + size, out))
print("%d addresses, %d samples, all inside hot_lines" % (len(d["addresses"]), d["self_samples"]))
for b in bad: print("FAIL: " + b)
sys.exit(1 if bad else 0)
PY
pk_run_limited 30 "$PERFKIT" annotate nolines hot_lines >"$PK_TMP/n.txt" 2>&1 || pk_fail "annotate nolines failed"
grep -q "no line information" "$PK_TMP/n.txt" && grep -Eq '^[* ] +[0-9]+ +[0-9.]+% +0x[0-9a-f]+ +annot-loop-nodebug' "$PK_TMP/n.txt" ||
	{ pk_show "$PK_TMP/n.txt"; pk_fail "the table does not fall back to addresses"; }

# ---- the source file has gone away ----------------------------------------
if command -v gcc >/dev/null; then
	cp "$src" "$PK_TMP/gone.c"
	gcc -O2 -g -o "$PK_TMP/gone" "$PK_TMP/gone.c" || pk_fail "cannot compile a copy of annot-loop.c"
	rm -f "$PK_TMP/gone.c"
	record gone "$PK_TMP/gone" 0.5
	pk_run_limited 30 "$PERFKIT" annotate gone hot_lines >"$PK_TMP/g.txt" 2>&1 || pk_fail "annotate gone failed"
	grep -q "source not found" "$PK_TMP/g.txt" && grep -Eq "^\* +[0-9]+ +[0-9.]+% +$hot_line *\$" "$PK_TMP/g.txt" ||
		{ pk_show "$PK_TMP/g.txt"; pk_fail "a missing source file should give line numbers only"; }
else
	pk_log "gcc not found: the missing-source check is left out"
fi

pk_expect_error "unknown function" "no function 'hot_line' in session 'lines'; did you mean 'hot_lines'" \
	"$PERFKIT" annotate lines hot_line
pk_expect_error "missing FUNCTION" "give a SESSION and a FUNCTION" "$PERFKIT" annotate lines
"$PERFKIT" annotate --help | grep -q "usage: perfkit annotate" || pk_fail "annotate --help"
exit 0
