#!/bin/bash
# alloc-int3.sh - the allocation suite (alloc-*.sh, which run perfkitd's
# default backend, jump) once more with --probe-backend int3: both
# backends must give the same counts, leaks and stacks.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
export top_srcdir PK_ALLOC_BACKEND=int3
rc=0
for t in basic threads signal fork cxx attach stop window exec; do
	echo "== alloc-$t.sh with --probe-backend int3"
	bash "$top_srcdir/tests/integration/alloc-$t.sh"
	r=$?
	echo "== alloc-$t.sh: exit $r"
	[ "$r" = 0 ] || [ "$r" = 77 ] || rc=1
done
exit $rc
