#!/bin/bash
# alloc-exec.sh - a probed program that execs: the old image's probes go
# with it, the new image is probed again from its entry point, and every
# allocation of both is counted at its call site.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"
pk_init
. "$top_srcdir/tests/integration/alloc-common.sh"
pk_need_targets alloc-suite

# "exec" allocates 123 bytes, then execs "bench 10" (10 x malloc(64)+free),
# which waits for a second go byte.
printf gg | pk_run_limited 120 "$PERFKITD" run -q --alloc -n exec -- "$TARGETS/alloc-suite" exec \
	>"$PK_TMP/out" 2>"$PK_TMP/out.err" || { pk_show "$PK_TMP/out" "$PK_TMP/out.err"; pk_fail "alloc-suite exec failed"; }
grep -q '^bench ' "$PK_TMP/out" || { pk_show "$PK_TMP/out"; pk_fail "the exec'd program did not run"; }
J=$PK_TMP/a.json
alloc_json exec "$J"
alloc_expect "before exec" "$J" 'site("mode_exec")["count"], site("mode_exec")["bytes"], site("mode_exec")["frees"]' "(1, 123, 1)"
alloc_expect "after exec" "$J" 'site("mode_bench")["count"], site("mode_bench")["bytes"], site("mode_bench")["frees"]' "(10, 640, 10)"
alloc_expect "every stack known" "$J" 'site("[unknown]")["count"]' "0"
