#!/bin/bash
# reader-cli.sh - the perfkit binary end to end on synthetic sessions made
# by tests/tools/pk-mksession: every command answers --help, JSON and CSV
# parse (hostile function names included) and agree with each other, the
# report's numbers add up, and errors exit with the documented status and
# message.  perfkitd is not needed.
set -u

name=${0##*/}
top_builddir=${top_builddir:-.}
PERFKIT=$top_builddir/src/perfkit
MKSESSION=$top_builddir/tests/tools/pk-mksession

skip() { echo "$name: SKIP: $*" >&2; exit 77; }
fail() { echo "$name: FAIL: $*" >&2; exit 1; }

[ -x "$PERFKIT" ] || skip "$PERFKIT is not built"
[ -x "$MKSESSION" ] || skip "$MKSESSION is not built (make check builds it)"
command -v python3 >/dev/null || skip "python3 is needed to parse JSON and CSV"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pk-reader-cli.XXXXXX") || fail "mktemp"
trap 'rm -rf "$tmp"' EXIT
db=$tmp/perfkit.db
export PERFKIT_DB=$db
unset XDG_DATA_HOME

pk() { "$PERFKIT" "$@"; }

# expect_status STATUS CMD... : run, keep stdout/stderr in $tmp/out, $tmp/err
expect_status() {
	local want=$1 got
	shift
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	[ "$got" = "$want" ] || fail "'$*' exited $got, expected $want; stderr: $(cat "$tmp/err")"
}

# --- errors before any session exists ---------------------------------
expect_status 1 pk sessions list
grep -q "no sessions recorded yet" "$tmp/err" || fail "missing db: $(cat "$tmp/err")"
grep -q "perfkitd run" "$tmp/err" || fail "missing db message does not say how to record"
[ ! -e "$db" ] || fail "reading created the database"

# --- every command answers --help -------------------------------------
expect_status 0 pk --help
commands=$(awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { exit }' "$tmp/out")
[ -n "$commands" ] || fail "perfkit --help lists no commands"
for c in $commands; do
	expect_status 0 pk "$c" --help
	grep -q "usage: perfkit $c" "$tmp/out" || fail "'perfkit $c --help' shows no usage"
	expect_status 0 pk help "$c"
done
for sub in list show rm stop; do
	expect_status 0 pk sessions "$sub" --help
done
expect_status 0 pk --version
grep -q "^perfkit [0-9]" "$tmp/out" || fail "--version: $(cat "$tmp/out")"
expect_status 2 pk no-such-command
expect_status 2 pk --no-such-option

# --- sessions ----------------------------------------------------------
"$MKSESSION" --db "$db" --name plain --samples 20000 --stacks 300 --threads 3 --seed 7 >/dev/null \
	|| fail "pk-mksession failed"
"$MKSESSION" --db "$db" --name hostile --samples 3000 --stacks 100 --threads 2 --seed 8 \
	--hostile-names --alloc >/dev/null || fail "pk-mksession --hostile-names failed"

expect_status 0 pk sessions list --format json
python3 - "$tmp/out" <<'EOF' || fail "sessions list --format json"
import json, re, sys
v = json.load(open(sys.argv[1]))
assert isinstance(v, list) and [s["name"] for s in v] == ["plain", "hostile"], v
for s in v:
    for k in ("id", "name", "command", "pid", "status", "started_at", "duration_s", "samples"):
        assert k in s, (k, s)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", s["started_at"]), s["started_at"]
assert v[0]["samples"] == 20000, v[0]
EOF
expect_status 0 pk sessions list
grep -q "^ID  NAME" "$tmp/out" || fail "sessions list table has no header: $(cat "$tmp/out")"
expect_status 0 pk sessions list --format csv
python3 -c 'import csv, sys; r = list(csv.DictReader(open(sys.argv[1]))); assert [x["name"] for x in r] == ["plain", "hostile"], r' \
	"$tmp/out" || fail "sessions list --format csv"
expect_status 0 pk sessions show plain --format json
python3 -c 'import json, sys; s = json.load(open(sys.argv[1])); assert s["name"] == "plain" and isinstance(s["stats"], dict), s' \
	"$tmp/out" || fail "sessions show --format json"
expect_status 0 pk sessions show last
grep -q "^session *hostile" "$tmp/out" || fail "'show last' is not the newest session"

# --- report: JSON, CSV and table agree, numbers add up -----------------
for s in plain hostile; do
	expect_status 0 pk report --format json "$s"
	cp "$tmp/out" "$tmp/$s.json"
	expect_status 0 pk report --format csv "$s"
	cp "$tmp/out" "$tmp/$s.csv"
	python3 - "$tmp/$s.json" "$tmp/$s.csv" <<'EOF' || fail "report $s: JSON/CSV check"
import csv, json, sys
r = json.load(open(sys.argv[1]))
for k in ("id", "name", "command", "pid", "status", "started_at", "duration_s", "samples"):
    assert k in r["session"], k
f = r["functions"]
assert f, "no functions"
for x in f:
    for k in ("function", "module", "self_samples", "total_samples", "self_percent",
              "total_percent", "self_time_s", "total_time_s", "source"):
        assert k in x, (k, x)
    assert x["total_samples"] >= x["self_samples"], x
    assert x["total_samples"] <= r["total_weight"], x
selfs = [x["self_samples"] for x in f]
assert selfs == sorted(selfs, reverse=True), "not sorted by self"
assert sum(selfs) == r["total_weight"] - r["no_stack_weight"], (sum(selfs), r["total_weight"])
main = [x for x in f if x["function"] == "main"]
assert main and main[0]["total_samples"] == r["total_weight"] - r["no_stack_weight"], main
rows = list(csv.DictReader(open(sys.argv[2], newline="")))
assert len(rows) == len(f), (len(rows), len(f))
for x, row in zip(f, rows):
    assert row["function"] == x["function"], (row["function"], x["function"])
    assert int(row["self_samples"]) == x["self_samples"]
    assert int(row["total_samples"]) == x["total_samples"]
EOF
done
python3 -c 'import json, sys; assert json.load(open(sys.argv[1]))["samples"] == 20000' "$tmp/plain.json" \
	|| fail "report plain does not count 20000 samples"

expect_status 0 pk report --sort total --limit 5 plain
grep -q "^Session 'plain' (id 1), event cpu: 20000 samples" "$tmp/out" || fail "report header: $(head -1 "$tmp/out")"
[ "$(grep -c ' compute_\| main ' "$tmp/out")" = 5 ] || fail "--limit 5 did not show 5 functions: $(cat "$tmp/out")"

# A thread's samples are a part of the whole.
tid=$(python3 -c 'print(1001)')
expect_status 0 pk report --format json --thread "$tid" plain
python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); assert 0 < r["samples"] < 20000 and r["threads"] == 1, r["samples"]' \
	"$tmp/out" || fail "--thread $tid"
expect_status 0 pk report --format json --event alloc hostile
python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); assert r["event"] == "alloc" and r["unit"] == "bytes" and r["functions"], r["event"]' \
	"$tmp/out" || fail "--event alloc"

# --- errors ------------------------------------------------------------
expect_status 1 pk report nope
grep -qx "perfkit: error: no session 'nope' in '$db'; see 'perfkit sessions list'" "$tmp/err" \
	|| fail "unknown session message: $(cat "$tmp/err")"
expect_status 2 pk report --bogus plain
grep -q "^usage: perfkit report" "$tmp/err" || fail "bad option shows no usage"
expect_status 2 pk report --format xml plain
echo "not a database, just some text that is long enough" >"$tmp/text.db"
expect_status 1 pk --db "$tmp/text.db" sessions list
grep -q "perfkit: error:" "$tmp/err" || fail "not-a-db message: $(cat "$tmp/err")"
expect_status 1 pk sessions stop plain
grep -q "not being recorded" "$tmp/err" || fail "stop of a finished session: $(cat "$tmp/err")"

# --- rm ----------------------------------------------------------------
expect_status 0 pk sessions rm hostile
expect_status 1 pk sessions show hostile
expect_status 0 pk --db "$db" sessions list --format json
python3 -c 'import json, sys; assert [s["name"] for s in json.load(open(sys.argv[1]))] == ["plain"]' "$tmp/out" \
	|| fail "rm left: $(cat "$tmp/out")"

# --- stop: a real perfkitd recording in the foreground of a subshell ------
PERFKITD=$top_builddir/daemon/perfkitd
if [ -x "$PERFKITD" ]; then
	sh -c 'while :; do :; done' &
	target=$!
	"$PERFKITD" attach "$target" --name live -q 2>"$tmp/perfkitd.err" &
	recorder=$!
	trap 'kill -KILL $target $recorder 2>/dev/null; rm -rf "$tmp"' EXIT
	# Wait (with a deadline) until the session exists and has samples.
	for i in $(seq 1 100); do
		pk sessions show --format json live >"$tmp/out" 2>/dev/null &&
			python3 -c 'import json, sys; s = json.load(open(sys.argv[1])); sys.exit(0 if s["samples"] > 0 else 1)' \
				"$tmp/out" 2>/dev/null && break
		kill -0 "$recorder" 2>/dev/null || break
		sleep 0.1
	done
	if ! kill -0 "$recorder" 2>/dev/null; then
		kill -KILL "$target"
		echo "$name: note: perfkitd could not record here ($(cat "$tmp/perfkitd.err")); stop not tested" >&2
	else
		expect_status 0 pk sessions stop live
		grep -q "^session 'live' complete: [1-9][0-9]* samples" "$tmp/out" || fail "stop: $(cat "$tmp/out")"
		wait "$recorder" || fail "perfkitd exited $? after 'sessions stop'"
		kill -0 "$target" 2>/dev/null || fail "the target died when its recording was stopped"
		kill -KILL "$target"
		expect_status 1 pk sessions stop live
	fi
fi

echo "$name: ok"
