#!/bin/bash
# alloc-fork.sh - a target that forks while probed: the child inherits
# the int3 bytes and hijacked return slots and must be cleaned before it
# runs; it allocates 100 times and exits 0, unharmed.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"
pk_init
. "$top_srcdir/tests/integration/alloc-common.sh"
pk_need_targets alloc-suite

alloc_run fork "$PK_TMP/out" "$TARGETS/alloc-suite" fork
[ "$ALLOC_RC" = 0 ] && grep -q '^done$' "$PK_TMP/out" || { pk_show "$PK_TMP/out" "$PK_TMP/out.err"; pk_fail "alloc-suite fork exited $ALLOC_RC"; }
grep -q '^child exited 0$' "$PK_TMP/out" || { pk_show "$PK_TMP/out"; pk_fail "the fork child did not exit 0 (killed by a left-over breakpoint?)"; }
J=$PK_TMP/a.json
alloc_json fork "$J"
# the parent's block, freed after the child's exit; the child is not traced
alloc_expect "parent" "$J" 'site("mode_fork")["count"], site("mode_fork")["bytes"], site("mode_fork")["frees"]' "(1, 200, 1)"
