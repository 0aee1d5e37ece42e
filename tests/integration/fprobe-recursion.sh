#!/bin/bash
# fprobe-recursion.sh - recursion and mutual recursion: every call
# counted once, inclusive time never counted twice.
#
# fib(20) makes exactly 21,891 calls; is_even/is_odd for n = 0..99 make
# 2,550 and 2,500 (the tracee counts them itself and prints them).  The
# inclusive total of fib is the outermost call only: it cannot exceed
# the session's length, while the sum of every call's time is about
# 20 times larger.  Self times add up to the total.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
pk_init
. "$top_srcdir/tests/integration/fprobe-common.sh"
pk_need_targets fprobe-calls

fp_record fib "$PK_TMP/out" --probe fib -- "$TARGETS/fprobe-calls" fib 20
grep -q '^fib(20)=6765 calls=21891$' "$PK_TMP/out" || { pk_show "$PK_TMP/out"; pk_fail "wrong program output"; }
fp_probes fib "$PK_TMP/fib.json"
fp_expect "$PK_TMP/fib.json" fib calls 21891
fp_expect "$PK_TMP/fib.json" fib lost 0
total=$(fp_field "$PK_TMP/fib.json" fib total_ns)
self=$(fp_field "$PK_TMP/fib.json" fib self_ns)
dur=$(pk_session_field fib duration_s)
python3 -c "import sys; sys.exit(0 if 0 < $total <= $dur * 1e9 else 1)" ||
	pk_fail "fib's total $total ns is not within the session's $dur s: recursion counted twice?"
# (self times add up to the total; 2% for calls of a few ns whose probe
# cost correction is clamped at zero)
python3 -c "import sys; sys.exit(0 if $self <= 1.02 * $total else 1)" ||
	pk_fail "fib's self time $self exceeds its total $total"
pk_log "ok: fib total $total ns within $dur s, self $self ns"

fp_record mutual "$PK_TMP/out2" --probe 'is_*' -- "$TARGETS/fprobe-calls" mutual
grep -q '^evens=50 is_even=2550 is_odd=2500$' "$PK_TMP/out2" || { pk_show "$PK_TMP/out2"; pk_fail "wrong program output"; }
fp_probes mutual "$PK_TMP/mutual.json"
fp_expect "$PK_TMP/mutual.json" is_even calls 2550
fp_expect "$PK_TMP/mutual.json" is_odd calls 2500
fp_expect "$PK_TMP/mutual.json" is_even lost 0
fp_expect "$PK_TMP/mutual.json" is_odd lost 0
exit 0
