#!/bin/bash
# alloc-walkoff-suite.sh - the allocation suite on the default backend
# (trap) with PERFKIT_ALLOC_WALK=off: every record carries a stack slice
# that perfkitd unwinds, as before the detours walked stacks themselves
# and as for any stack whose walk fails.  The suite's counts, leaks and
# stacks are the same either way (tests/integration/alloc-suite-backend.sh).
export PERFKIT_ALLOC_WALK=off
exec bash "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/alloc-suite-backend.sh" trap
