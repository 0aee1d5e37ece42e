#!/bin/bash
# export-errors.sh - the error paths of `perfkit flamegraph` and `perfkit
# export`: an unknown session (message, status 1, no file), an empty
# session (a warning and a valid empty file in every format), an output
# path that cannot be written (a message naming the path, status 1), and
# a write that fails half-way (no partial file; an earlier file at that
# path is left as it was; no temporary file left behind).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/export-common.sh"

mksession plain --samples 20000 --stacks 600 --depth 12 --seed 51
mksession empty --samples 0

# --- unknown session ---------------------------------------------------
for cmd in "flamegraph" "export --format folded" "export --format pprof" "export --format speedscope"; do
	# shellcheck disable=SC2086
	expect_status 1 pk $cmd nosuch -o "$tmp/unknown.out"
	grep -q "no session 'nosuch'" "$tmp/err" || fail "$cmd: unknown session message: $(cat "$tmp/err")"
	[ -e "$tmp/unknown.out" ] && fail "$cmd: an output file was created for an unknown session"
done

# --- empty session: a valid empty result --------------------------------
expect_status 0 pk flamegraph empty -o "$tmp/empty.svg"
grep -q "session 'empty' has no samples; writing an empty flame graph" "$tmp/err" ||
	fail "empty flamegraph warning: $(cat "$tmp/err")"
python3 -c 'import sys, xml.dom.minidom as m; m.parse(sys.argv[1])' "$tmp/empty.svg" ||
	fail "empty flame graph is not well-formed XML"
grep -q 'no samples: nothing to show' "$tmp/empty.svg" || fail "empty flame graph does not say so"

expect_status 0 pk export empty --format folded
[ -s "$tmp/out" ] && fail "empty folded export is not empty: $(head -3 "$tmp/out")"
grep -q "has no samples; writing a file with no samples" "$tmp/err" || fail "empty export warning: $(cat "$tmp/err")"

expect_status 0 pk export empty --format pprof -o "$tmp/empty.pb.gz"
gzip -t "$tmp/empty.pb.gz" || fail "empty pprof is not gzip"
if command -v go >/dev/null; then
	HOME=$tmp PPROF_TMPDIR=$tmp GOCACHE=$tmp/gocache go tool pprof -top "$tmp/empty.pb.gz" >"$tmp/p.top" 2>&1 ||
		fail "go tool pprof rejects the empty profile: $(cat "$tmp/p.top")"
fi

expect_status 0 pk export empty --format speedscope -o "$tmp/empty.json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["profiles"] == []' "$tmp/empty.json" ||
	fail "empty speedscope file is not valid JSON with no profiles"
if command -v node >/dev/null && [ -d "$JSDIR/node_modules/ajv" ]; then
	node "$JSDIR/validate-speedscope.js" "$tmp/empty.json" >/dev/null || fail "empty speedscope file fails the schema"
fi

# A filter that matches nothing is an empty result too.
expect_status 0 pk export plain --format folded --thread 99999
grep -q "no samples of session 'plain' match the filter" "$tmp/err" || fail "empty filter warning: $(cat "$tmp/err")"

# --- output paths that cannot be written ---------------------------------
expect_status 1 pk flamegraph plain -o "$tmp/no/such/dir/x.svg"
grep -q "cannot write '$tmp/no/such/dir/x.svg': No such file or directory" "$tmp/err" ||
	fail "missing directory message: $(cat "$tmp/err")"
: >"$tmp/afile"
expect_status 1 pk export plain --format pprof -o "$tmp/afile/x.pb.gz"
grep -q "cannot write '$tmp/afile/x.pb.gz': Not a directory" "$tmp/err" || fail "not-a-directory message: $(cat "$tmp/err")"
expect_status 1 pk export plain --format folded -o "$tmp"
grep -q "cannot write '$tmp': it names a directory" "$tmp/err" || fail "directory message: $(cat "$tmp/err")"

# --- a write that fails half-way ----------------------------------------
# A file size limit of 64 KiB (room for SQLite's 32 KiB shared-memory
# file, not for the outputs, which are larger) makes the write fail with
# EFBIG part way through (SIGXFSZ ignored so the write returns the error).
pk flamegraph plain >"$tmp/full.svg" && pk export plain --format speedscope >"$tmp/full.json" ||
	fail "flamegraph/export to stdout failed"
[ "$(stat -c %s "$tmp/full.svg")" -gt 70000 ] && [ "$(stat -c %s "$tmp/full.json")" -gt 70000 ] ||
	fail "the test session is too small to fail a 64 KiB write"
echo "earlier content" >"$tmp/keep.svg"
mkdir "$tmp/out.d"
( trap '' XFSZ; ulimit -f 64; exec "$PERFKIT" flamegraph plain -o "$tmp/keep.svg" ) 2>"$tmp/err" && fail "a write past the file size limit succeeded"
grep -q "cannot write '$tmp/keep.svg'" "$tmp/err" || fail "half-way failure message: $(cat "$tmp/err")"
[ "$(cat "$tmp/keep.svg")" = "earlier content" ] || fail "the earlier file was changed by a failed write"
( trap '' XFSZ; ulimit -f 64; exec "$PERFKIT" export plain --format speedscope -o "$tmp/out.d/new.json" ) 2>"$tmp/err" && fail "speedscope past the file size limit succeeded"
grep -q "cannot write '$tmp/out.d/new.json'" "$tmp/err" || fail "half-way failure message: $(cat "$tmp/err")"
[ -z "$(ls -A "$tmp/out.d")" ] || fail "a partial or temporary file was left: $(ls -A "$tmp/out.d")"

# A complete write replaces the file, with the usual permissions.
( umask 022; "$PERFKIT" flamegraph plain -o "$tmp/keep.svg" ) || fail "flamegraph -o failed"
head -c 5 "$tmp/keep.svg" | grep -q '<?xml' || fail "flamegraph -o did not replace the file"
[ "$(stat -c %a "$tmp/keep.svg")" = 644 ] || fail "output mode is $(stat -c %a "$tmp/keep.svg"), expected 644"
# Links, devices and fifos are written in place, never replaced by a
# rename (a link in the test directory stands for /dev/stdout).
: >"$tmp/target.out"
ln -s "$tmp/target.out" "$tmp/link.out"
expect_status 0 pk export plain --format folded -o "$tmp/link.out"
[ -L "$tmp/link.out" ] || fail "-o through a symbolic link replaced the link"
[ -s "$tmp/target.out" ] || fail "-o through a symbolic link wrote nothing to its target"
mkfifo "$tmp/fifo"
cat "$tmp/fifo" >"$tmp/fifo.out" &
expect_status 0 pk export plain --format folded -o "$tmp/fifo"
wait
[ -p "$tmp/fifo" ] || fail "-o FIFO replaced the fifo"
cmp -s "$tmp/fifo.out" "$tmp/target.out" || fail "-o FIFO did not write the export"

# --- usage errors ----------------------------------------------------------
expect_status 2 pk export plain
grep -q "which format" "$tmp/err" || fail "missing --format message: $(cat "$tmp/err")"
expect_status 2 pk export plain --format svg
grep -q "unknown format 'svg'" "$tmp/err" || fail "bad format message: $(cat "$tmp/err")"
expect_status 2 pk flamegraph
expect_status 0 pk export --help
grep -q speedscope "$tmp/out" || fail "export --help does not list speedscope"
exit 0
