#!/bin/bash
# fprobe-lost.sh - calls that never return are counted apart.
#
# jumper() is left by longjmp 500 times: 500 calls, 500 lost, none timed.
# In C++, thrower(int) is left by an exception 300 times (caught in
# main): the program must not terminate (an unwinder that meets the
# probe's return trampoline would), 300 calls and 300 lost; add(int, int)
# beside it returns normally 1,000 times.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
pk_init
. "$top_srcdir/tests/integration/fprobe-common.sh"
pk_need_targets fprobe-calls fprobe-cxx

fp_record jump "$PK_TMP/out" --probe jumper -- "$TARGETS/fprobe-calls" longjmp
grep -q '^jumps=500$' "$PK_TMP/out" || { pk_show "$PK_TMP/out"; pk_fail "wrong program output"; }
fp_probes jump "$PK_TMP/jump.json"
fp_expect "$PK_TMP/jump.json" jumper calls 500
fp_expect "$PK_TMP/jump.json" jumper lost 500
fp_expect "$PK_TMP/jump.json" jumper returned 0

fp_record cxx "$PK_TMP/out2" --probe thrower --probe add -- "$TARGETS/fprobe-cxx"
grep -q '^caught=300 add=1000$' "$PK_TMP/out2" || { pk_show "$PK_TMP/out2"; pk_fail "wrong program output"; }
fp_probes cxx "$PK_TMP/cxx.json"
fp_expect "$PK_TMP/cxx.json" 'thrower(int)' calls 300
fp_expect "$PK_TMP/cxx.json" 'thrower(int)' lost 300
fp_expect "$PK_TMP/cxx.json" 'add(int, int)' calls 1000
fp_expect "$PK_TMP/cxx.json" 'add(int, int)' lost 0
exit 0
