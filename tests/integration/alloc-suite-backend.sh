#!/bin/bash
# alloc-suite-backend.sh BACKEND - the allocation suite (alloc-*.sh, which
# run perfkitd's default backend, trap) once more with --probe-backend
# BACKEND: every backend must give the same counts, leaks and stacks, with
# threads, signal handlers that allocate, fork, exec, C++ (operator new
# falls back to int3 on jump and trap), attach, detach mid-run,
# SIGINT/SIGTERM and windows.  Not a test itself: alloc-jump-suite.sh and
# alloc-int3-suite.sh run it.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
export top_srcdir PK_ALLOC_BACKEND=$1
rc=0 passed=0
for t in basic threads signal deep fork cxx attach stop window exec; do
	echo "== alloc-$t.sh with --probe-backend $PK_ALLOC_BACKEND"
	bash "$top_srcdir/tests/integration/alloc-$t.sh"
	r=$?
	echo "== alloc-$t.sh: exit $r"
	[ "$r" = 0 ] && passed=$((passed + 1))
	[ "$r" = 0 ] || [ "$r" = 77 ] || rc=1
done
[ "$rc" = 0 ] && [ "$passed" = 0 ] && exit 77 # all skipped: never a silent pass
exit $rc
