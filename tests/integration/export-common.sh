# tests/integration/export-common.sh - sourced by the export-*.sh and
# flamegraph-*.sh tests: the binaries, a private temporary directory and
# database, skip/fail helpers, and synthetic sessions from pk-mksession.
# These tests need no perfkitd: sessions are written through the store API.

set -u
name=${0##*/}
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=.}"
PERFKIT=$top_builddir/src/perfkit
MKSESSION=$top_builddir/tests/tools/pk-mksession
JSDIR=$top_srcdir/tests/js

skip() { echo "$name: SKIP: $*" >&2; exit 77; }
fail() { echo "$name: FAIL: $*" >&2; exit 1; }
log() { echo "$name: $*" >&2; }

[ -x "$PERFKIT" ] || skip "$PERFKIT is not built"
[ -x "$MKSESSION" ] || skip "$MKSESSION is not built (make check builds it)"
command -v python3 >/dev/null || skip "python3 is needed to read perfkit's JSON"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pk-export.XXXXXX") || fail "mktemp"
trap 'rm -rf "$tmp"' EXIT
export PERFKIT_DB=$tmp/perfkit.db
unset XDG_DATA_HOME

pk() { "$PERFKIT" "$@"; }

# mksession NAME ARGS...: a synthetic session (see pk-mksession --help).
mksession() {
	local n=$1
	shift
	"$MKSESSION" --db "$PERFKIT_DB" --name "$n" "$@" >/dev/null ||
		fail "pk-mksession --name $n $* failed"
}

# expect_status STATUS CMD...: run; stdout in $tmp/out, stderr in $tmp/err.
expect_status() {
	local want=$1 got
	shift
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	[ "$got" = "$want" ] || fail "'$*' exited $got, expected $want; stderr: $(cat "$tmp/err")"
}

# need_node_modules: skip unless `npm ci --prefix tests/js` was run.
need_node_modules() {
	command -v node >/dev/null || skip "node is needed (Debian package nodejs)"
	local m
	for m in "$@"; do
		[ -d "$JSDIR/node_modules/$m" ] ||
			skip "npm package $m is missing: run 'npm ci --prefix tests/js'"
	done
}
