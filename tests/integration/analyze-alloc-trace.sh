#!/bin/bash
# analyze-alloc-trace.sh - allocation rules on data from the real
# "perfkitd run --alloc" (every malloc/free traced, with stacks):
#
#   an-leak        remember_request() leaks 500 blocks of 4,096 bytes,
#                  nearly all of the peak       leak-suspect          critical
#   an-smallalloc  one batch: 100,000 mallocs of 16 bytes, all freed at
#                  once (every call of the run)  excessive-allocation critical
#
# The leak is 2,048,000 of about 2,048,256 peak bytes (critical from 50%);
# churn_batch makes all but a handful of the allocation calls (critical
# from 50%).  Tracing 300,000 allocator calls one ptrace stop each takes
# about 10 s here: the slowest analyze test.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
pk_init
. "$top_srcdir/tests/integration/analyze-common.sh"

# an_trace NAME TRACEE ARGS...: record with --alloc, analyze as JSON.
an_trace() {
	local name=$1 tracee=$2 rc=0
	shift 2
	pk_need_targets "$tracee"
	pk_run_limited 90 "$PERFKITD" run -q --alloc -n "$name" -- "$TARGETS/$tracee" "$@" \
		>"$PK_TMP/$name.out" 2>"$PK_TMP/$name.err" || rc=$?
	if grep -q 'not available' "$PK_TMP/$name.err"; then
		pk_skip "perfkitd --alloc is not available in this build"
	fi
	[ "$rc" = 0 ] || { pk_show "$PK_TMP/$name.out" "$PK_TMP/$name.err"; pk_fail "perfkitd run --alloc $tracee exited $rc"; }
	grep -q "^$tracee done" "$PK_TMP/$name.out" || { pk_show "$PK_TMP/$name.out"; pk_fail "$tracee did not finish"; }
	pk_run_limited 30 "$PERFKIT" analyze "$name" --format json >"$PK_TMP/$name.json" 2>"$PK_TMP/$name.json.err" ||
		{ pk_show "$PK_TMP/$name.json.err"; pk_fail "perfkit analyze $name failed"; }
	[ "$(pk_json "$PK_TMP/$name.json" 'd["summary"]["has_allocations"]')" = True ] ||
		{ pk_show "$PK_TMP/$name.json"; pk_fail "$name: analyze did not read the allocation data"; }
}

an_trace leak an-leak
an_expect leak leak-suspect remember_request critical
live=$(pk_json "$PK_TMP/leak.json" '[i for i in d["issues"] if i["rule"] == "leak-suspect" and i["location"].startswith("remember_request")][0]["evidence"]["live_bytes"]')
[ "$live" = 2048000 ] || pk_fail "leak-suspect: live bytes $live, expected exactly 2048000 (500 x 4096)"

an_trace small an-smallalloc 1 1
an_expect small excessive-allocation churn_batch critical
n=$(pk_json "$PK_TMP/small.json" '[i for i in d["issues"] if i["rule"] == "excessive-allocation"][0]["evidence"]["allocations"]')
avg=$(pk_json "$PK_TMP/small.json" '[i for i in d["issues"] if i["rule"] == "excessive-allocation"][0]["evidence"]["avg_size"]')
[ "$n" = 100000 ] && [ "$avg" = 16 ] || pk_fail "excessive-allocation: $n allocations of $avg bytes, expected 100000 of 16"
exit 0
