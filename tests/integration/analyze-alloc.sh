#!/bin/bash
# analyze-alloc.sh - "perfkit analyze" finds allocation problems from CPU
# profiles recorded by the real perfkitd:
#
#   an-realloc     a 64 KiB buffer grown by realloc one byte at a time
#                  (~90% inside realloc)      excessive-allocation critical at append_bytes
#   an-smallalloc  100,000 16-byte mallocs freed at once, over and over
#                  (~88% inside malloc/free)  allocator-overhead   critical at churn_batch
#
# Both shares are far above the 50% threshold of critical.  The same
# problems recorded with --alloc (counts, sizes, leaks) are in
# analyze-alloc-trace.sh.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
pk_init
. "$top_srcdir/tests/integration/analyze-common.sh"

an_profile realloc cpu an-realloc 1
an_expect realloc excessive-allocation append_bytes critical

an_profile smallalloc cpu an-smallalloc 1
an_expect smallalloc allocator-overhead churn_batch critical
exit 0
