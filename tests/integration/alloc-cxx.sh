#!/bin/bash
# alloc-cxx.sh - C++ operator new/delete (scalar, array, nothrow) are
# attributed to their caller, not to the wrapper; 3 objects leaked; a new
# that throws bad_alloc unwinds normally (new's return is never hijacked).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"
pk_init
. "$top_srcdir/tests/integration/alloc-common.sh"
pk_need_targets alloc-cxx

alloc_run cxx "$PK_TMP/out" "$TARGETS/alloc-cxx"
[ "$ALLOC_RC" = 0 ] && grep -q '^done$' "$PK_TMP/out" || { pk_show "$PK_TMP/out" "$PK_TMP/out.err"; pk_fail "alloc-cxx exited $ALLOC_RC"; }
grep -q '^caught bad_alloc$' "$PK_TMP/out" || pk_fail "bad_alloc was not caught"
J=$PK_TMP/a.json
alloc_json cxx "$J"
# 100 x new Obj (40 B), 50 x new int[25] (100 B), 1 nothrow new Obj
alloc_expect "make_objects()" "$J" 'site("make_objects()")["count"], site("make_objects()")["bytes"], site("make_objects()")["frees"]' "(151, 9040, 148)"
alloc_expect "leaks" "$J" 'leaks_of("make_objects()")' "[(40, 3)]"
alloc_expect "leak allocator" "$J" 'sorted(set(l["allocator"] for l in d["leaks"] if l["stack"][0] == "make_objects()"))' "['operator new(unsigned long)']"
alloc_expect "no wrapper site" "$J" '[s["function"] for s in d["sites"] if s["function"].startswith("operator")]' "[]"
alloc_expect "failed new" "$J" 'd["totals"]["failed_allocs"]' "1"
# With a jump backend operator new is patched too (its detour records the
# entry and leaves no frame behind, so bad_alloc unwinds through it):
# nothing is left to int3 probes, and no allocator call stopped at an
# int3 probe.
if [ "${PK_ALLOC_BACKEND:-auto}" != int3 ]; then
	[ "$(alloc_stat cxx alloc_jump_fallbacks)" = 0 ] ||
		pk_fail "$(alloc_stat cxx alloc_jump_fallbacks) allocator functions were left to int3 probes"
	[ "$(alloc_stat cxx alloc_probe_stops)" -le 1 ] ||
		pk_fail "$(alloc_stat cxx alloc_probe_stops) int3 probe stops: operator new was not patched"
fi
