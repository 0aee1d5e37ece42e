#!/bin/bash
# alloc-threads.sh - 4 threads allocating at once (5000 malloc/free pairs
# each, then one block kept): no event lost, no false leak.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"
pk_init
. "$top_srcdir/tests/integration/alloc-common.sh"
pk_need_targets alloc-suite

alloc_run threads "$PK_TMP/out" "$TARGETS/alloc-suite" threads
[ "$ALLOC_RC" = 0 ] && grep -q '^done$' "$PK_TMP/out" || { pk_show "$PK_TMP/out" "$PK_TMP/out.err"; pk_fail "alloc-suite threads exited $ALLOC_RC"; }
J=$PK_TMP/a.json
alloc_json threads "$J"
# worker i: 5000 x malloc(32 + i), freed, then malloc(1000 + i) kept
alloc_expect "all allocations" "$J" 'site("worker")["count"], site("worker")["bytes"]' "(20004, 674006)"
alloc_expect "all frees" "$J" 'site("worker")["frees"], site("worker")["bytes_freed"]' "(20000, 670000)"
alloc_expect "exactly the kept blocks live" "$J" 'leaks_of("worker")' "[(1000, 1), (1001, 1), (1002, 1), (1003, 1)]"
alloc_expect "no return lost" "$J" 'd["totals"]["lost_returns"]' "0"
