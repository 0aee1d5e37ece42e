#!/bin/bash
# tests/bench/flamegraph.sh - flame graph and export speed on a large
# synthetic session (not part of `make check`).
#
#   tests/bench/flamegraph.sh [BUILDDIR]      (default: the current directory)
#
# Makes a session of 3,000,000 samples over about 100,000 distinct call
# paths (pk-mksession), then measures, best of 3 runs each:
#   * `perfkit flamegraph` at the default --minwidth: wall time and size
#     (goals: under 1 s, under 3 MB), and with --minwidth 0 for scale;
#   * the three exports;
#   * flamegraph.pl on the folded export, side by side, when
#     /usr/bin/flamegraph.pl exists (it is not a dependency);
#   * in headless Chromium (when /usr/bin/chromium and tests/js's npm
#     packages are there): load time, click-to-redraw of zoom and reset,
#     keystroke-to-redraw of a search (tests/js/flamegraph-bench.js).
set -u
top_srcdir=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$PWD}
PERFKIT=$build/src/perfkit
MKSESSION=$build/tests/tools/pk-mksession
[ -x "$PERFKIT" ] && [ -x "$MKSESSION" ] ||
	{ echo "build perfkit and tests/tools/pk-mksession first (make check), then run from the build directory" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pk-fg-bench.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
export PERFKIT_DB=$tmp/bench.db

# best_of3 CMD...: the shortest wall time of three runs, in seconds.
best_of3() {
	local best= t s e
	for _ in 1 2 3; do
		s=${EPOCHREALTIME/./}
		"$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; echo 999; return; }
		e=${EPOCHREALTIME/./}
		t=$((e - s))
		[ -z "$best" ] || [ "$t" -lt "$best" ] && best=$t
	done
	printf '%d.%03d\n' $((best / 1000000)) $(((best % 1000000) / 1000))
}

echo "== session"
"$MKSESSION" --db "$PERFKIT_DB" --name big --samples 3000000 --stacks 110000 --depth 16 \
	--threads 4 --seed 7 >/dev/null || exit 1
"$PERFKIT" export big --format folded -o "$tmp/big.folded" || exit 1
stacks=$(wc -l <"$tmp/big.folded")
echo "samples: 3000000, distinct call paths (folded lines): $stacks"
echo "perfkit report (for scale): $(best_of3 "$PERFKIT" report big) s"

echo "== perfkit flamegraph"
t=$(best_of3 "$PERFKIT" flamegraph big -o "$tmp/big.svg")
size=$(stat -c %s "$tmp/big.svg")
frames=$(grep -c '^<g data-' "$tmp/big.svg")
echo "default --minwidth 0.1: $t s, $size bytes, $frames frames drawn"
grep -o 'id="subtitle"[^>]*>[^<]*' "$tmp/big.svg" | sed 's/.*>/  subtitle: /'
awk -v t="$t" -v s="$size" 'BEGIN {
	printf "goal time < 1 s: %s; goal size < 3 MB: %s\n", (t < 1 ? "met" : "MISSED"), (s < 3000000 ? "met" : "MISSED") }'
t0=$(best_of3 "$PERFKIT" flamegraph big --minwidth 0 -o "$tmp/big0.svg")
echo "--minwidth 0 (every frame): $t0 s, $(stat -c %s "$tmp/big0.svg") bytes, $(grep -c '^<g data-' "$tmp/big0.svg") frames"
echo "--reverse: $(best_of3 "$PERFKIT" flamegraph big --reverse -o "$tmp/rev.svg") s, $(stat -c %s "$tmp/rev.svg") bytes"

echo "== perfkit export"
for f in folded pprof speedscope; do
	t=$(best_of3 "$PERFKIT" export big --format "$f" -o "$tmp/big.$f")
	echo "$f: $t s, $(stat -c %s "$tmp/big.$f") bytes"
done

echo "== flamegraph.pl"
if [ -x /usr/bin/flamegraph.pl ]; then
	s=${EPOCHREALTIME/./}
	/usr/bin/flamegraph.pl "$tmp/big.folded" >"$tmp/pl.svg"
	e=${EPOCHREALTIME/./}
	echo "flamegraph.pl: $(((e - s) / 1000)) ms, $(stat -c %s "$tmp/pl.svg") bytes (one run)"
else
	echo "/usr/bin/flamegraph.pl absent: comparison skipped"
fi

echo "== Chromium"
if [ -x /usr/bin/chromium ] && [ -d "$top_srcdir/tests/js/node_modules/playwright-core" ]; then
	TMPDIR=$tmp timeout 300 node "$top_srcdir/tests/js/flamegraph-bench.js" "$tmp/big.svg" 2>&1 |
		grep -v 'unexpected operator'
else
	echo "chromium or tests/js/node_modules missing (npm ci --prefix tests/js): skipped"
fi
