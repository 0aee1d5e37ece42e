#!/bin/bash
# fprobe-errors.sh - patterns that cannot be probed are refused clearly.
#
# A pattern that matches nothing is an error naming the near names
# (edit distance: 'fibb' -> 'fib'); a pattern over --probe-limit is
# refused with the count ('*' in the program and libc: thousands); a
# module pattern limits the search ('libc.so*:fib' matches nothing).
# In each case the program still runs to its end.  A PROG that is a #!
# script (a wrapper, a pyenv shim) runs its interpreter first: the
# patterns are for the program it execs, so they are looked for in each
# program it runs and checked when it ends (fib through a shell wrapper:
# 177 calls of fib(10); 'fibb' through it: the same error, at the end,
# exit 1).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
pk_init
pk_need_targets fprobe-calls

pk_expect_error "no match" "'fibb' matches no function; did you mean .*'fib'" \
	"$PERFKITD" run -q --probe fibb -- "$TARGETS/fprobe-calls" fib 5
pk_expect_error "over the limit" "match [0-9]+ functions, more than --probe-limit 100" \
	"$PERFKITD" run -q --probe '*' -- "$TARGETS/fprobe-calls" fib 5
pk_expect_error "limit option" "match [0-9]+ functions, more than --probe-limit 3" \
	"$PERFKITD" run -q --probe-limit 3 --probe 'is_*' --probe 'f*' -- "$TARGETS/fprobe-calls" fib 5
pk_expect_error "module pattern" "'libc.so\*:fib' matches no function" \
	"$PERFKITD" run -q --probe 'libc.so*:fib' -- "$TARGETS/fprobe-calls" fib 5
# the module part selects: fib in the program by its basename
rc=0
pk_run_limited 60 "$PERFKITD" run -q -n mod --probe 'fprobe-calls:fib' -- "$TARGETS/fprobe-calls" fib 10 \
	>"$PK_TMP/out" 2>&1 || rc=$?
[ "$rc" = 0 ] || { pk_show "$PK_TMP/out"; pk_fail "MODULE:GLOB pattern run exited $rc"; }
pk_run_limited 30 "$PERFKIT" probes mod --format csv >"$PK_TMP/csv" 2>&1
grep -q '^fib,fprobe-calls,0,177,0,' "$PK_TMP/csv" || { pk_show "$PK_TMP/csv"; pk_fail "fib(10) must make 177 calls"; }
printf '#!/bin/sh\nexec "%s" "$@"\n' "$TARGETS/fprobe-calls" >"$PK_TMP/wrapper" && chmod +x "$PK_TMP/wrapper" ||
	pk_fail "cannot write a wrapper script"
rc=0
pk_run_limited 60 "$PERFKITD" run -n script --probe fib -- "$PK_TMP/wrapper" fib 10 >"$PK_TMP/out" 2>&1 || rc=$?
[ "$rc" = 0 ] || { pk_show "$PK_TMP/out"; pk_fail "--probe through a wrapper script exited $rc"; }
grep -q 'is a script' "$PK_TMP/out" || { pk_show "$PK_TMP/out"; pk_fail "a script PROG is not said"; }
pk_run_limited 30 "$PERFKIT" probes script --format csv >"$PK_TMP/csv" 2>&1
grep -q '^fib,fprobe-calls,0,177,0,' "$PK_TMP/csv" || { pk_show "$PK_TMP/csv"; pk_fail "fib(10) through the wrapper must make 177 calls"; }
pk_expect_error "no match through a script" "'fibb' matches no function; did you mean .*'fib'" \
	"$PERFKITD" run -q --probe fibb -- "$PK_TMP/wrapper" fib 5
exit 0
