#!/bin/bash
# fprobe-threads.sh - 4 threads call one probed function: exact counts
# per thread and in all, no crash, the program's own result right.
#
# Each thread calls work() 2,500 times (work calls f, probed too: a
# probed callee on every thread).  The program checks its sum against
# the same computation without threads.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
pk_init
. "$top_srcdir/tests/integration/fprobe-common.sh"
pk_need_targets fprobe-calls

fp_record threads "$PK_TMP/out" --probe work --probe f -- "$TARGETS/fprobe-calls" threads
grep -q '^sum=[0-9]* ok$' "$PK_TMP/out" || { pk_show "$PK_TMP/out"; pk_fail "wrong program output"; }
fp_probes threads "$PK_TMP/p.json"
fp_expect "$PK_TMP/p.json" work calls 10000
fp_expect "$PK_TMP/p.json" f calls 10000
fp_expect "$PK_TMP/p.json" work lost 0
pk_run_limited 30 "$PERFKIT" probes threads --threads --format csv >"$PK_TMP/csv" 2>&1 || pk_fail "perfkit probes --threads failed"
n=$(grep -Ec '^work,fprobe-calls,[1-9][0-9]*,2500,0,' "$PK_TMP/csv")
[ "$n" = 4 ] || { pk_show "$PK_TMP/csv"; pk_fail "expected 4 threads with 2500 calls of work, got $n"; }
pk_log "ok: 4 threads with 2500 calls each"
# work's self time excludes f (probed, called from work)
python3 -c "import sys; sys.exit(0 if $(fp_field "$PK_TMP/p.json" work self_ns) < $(fp_field "$PK_TMP/p.json" work total_ns) else 1)" ||
	pk_fail "work's self time does not exclude its probed callee f"
exit 0
