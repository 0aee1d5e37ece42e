#!/bin/bash
# errors-run.sh - perfkitd run with a program it cannot start.
#
# A missing program (a path, and a name looked up in PATH), a file that is
# not executable, a directory, and no program at all: each must make
# perfkitd exit non-zero with a message naming the program and the cause,
# and must leave no session stuck in "recording".
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
pk_init

pk_expect_error "run a missing path" "not found|no such file" \
	"$PERFKITD" run -q -- "$PK_TMP/no-such-program"
pk_error_also "the message names the program" "no-such-program"

# (A plain PATH: a directory on PATH that this user may not search makes
# execvp answer EACCES rather than ENOENT.)
pk_expect_error "run a missing command" "not found|no such file" \
	env PATH=/usr/bin:/bin "$PERFKITD" run -q -- perfkit-test-no-such-command
pk_error_also "the message names the program" "perfkit-test-no-such-command"

printf 'echo hello\n' >"$PK_TMP/not-executable"
chmod 644 "$PK_TMP/not-executable"
pk_expect_error "run a file without execute permission" "not executable|permission denied" \
	"$PERFKITD" run -q -- "$PK_TMP/not-executable"
pk_error_also "the message names the program" "not-executable"

mkdir "$PK_TMP/a-directory"
pk_expect_error "run a directory" "directory|not executable|permission denied" \
	"$PERFKITD" run -q -- "$PK_TMP/a-directory"

pk_expect_error "run without a program" "usage|program|command|missing" "$PERFKITD" run -q --

pk_expect_error "an unknown sampler" "invalid sampler 'bogus'.*auto, perf or ptrace" \
	"$PERFKITD" run -q --sampler bogus -- /bin/true
pk_expect_error "wall mode with the perf sampler" "wall mode.*sleeping" \
	"$PERFKITD" run -q --mode wall --sampler perf -- /bin/true

# No session may be left "recording" by a failed start.
if [ -e "$PERFKIT_DB" ]; then
	"$PERFKIT" sessions list --format json >"$PK_TMP/list.json" 2>"$PK_TMP/list.err" ||
		{ pk_show "$PK_TMP/list.err"; pk_fail "perfkit sessions list failed"; }
	stuck=$(pk_json "$PK_TMP/list.json" '[s["name"] for s in d if s["status"] == "recording"]')
	[ "$stuck" = "[]" ] || pk_fail "failed starts left sessions recording: $stuck"
fi
exit 0
