#!/bin/bash
# fprobe-recursion.sh - recursion and mutual recursion: every call
# counted once, inclusive time never counted twice.
#
# fib(20) makes exactly 21,891 calls; is_even/is_odd for n = 0..99 make
# 2,550 and 2,500 (the tracee counts them itself and prints them).  The
# inclusive total of fib is the outermost call only: it cannot exceed
# the session's length, while the sum of every call's time is about
# 20 times larger.  Self times add up to the total.  fib again with
# every return stopping (the path timed returns fall back to), and a
# tail call out of a probed function into another.
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

# The same with every return stopping (PERFKIT_PROBE_RETURNS=stop: the
# trampoline path, which timed returns fall back to)
PERFKIT_PROBE_RETURNS=stop fp_record fibstop "$PK_TMP/outs" --probe fib -- "$TARGETS/fprobe-calls" fib 20
grep -q '^fib(20)=6765 calls=21891$' "$PK_TMP/outs" || { pk_show "$PK_TMP/outs"; pk_fail "wrong program output (returns stopping)"; }
fp_probes fibstop "$PK_TMP/fibs.json"
fp_expect "$PK_TMP/fibs.json" fib calls 21891
fp_expect "$PK_TMP/fibs.json" fib lost 0
[ "$(pk_session_field fibstop probe_timed_returns)" = 0 ] || pk_fail "PERFKIT_PROBE_RETURNS=stop, yet timed returns"
[ "$(pk_session_field fib probe_timed_returns)" -gt 0 ] || pk_fail "no timed return by default"

# A tail call: tail_hop jumps to tail_end, which returns to tail_hop's
# caller; both counted, neither lost, the program's results right.
fp_record tail "$PK_TMP/outt" --probe 'tail_*' -- "$TARGETS/fprobe-calls" tail
grep -q '^tail_end=1000 sum=ok$' "$PK_TMP/outt" || { pk_show "$PK_TMP/outt"; pk_fail "wrong program output (tail calls)"; }
fp_probes tail "$PK_TMP/tail.json"
fp_expect "$PK_TMP/tail.json" tail_hop calls 1000
fp_expect "$PK_TMP/tail.json" tail_end calls 1000
fp_expect "$PK_TMP/tail.json" tail_hop lost 0
fp_expect "$PK_TMP/tail.json" tail_end lost 0

fp_record mutual "$PK_TMP/out2" --probe 'is_*' -- "$TARGETS/fprobe-calls" mutual
grep -q '^evens=50 is_even=2550 is_odd=2500$' "$PK_TMP/out2" || { pk_show "$PK_TMP/out2"; pk_fail "wrong program output"; }
fp_probes mutual "$PK_TMP/mutual.json"
fp_expect "$PK_TMP/mutual.json" is_even calls 2550
fp_expect "$PK_TMP/mutual.json" is_odd calls 2500
fp_expect "$PK_TMP/mutual.json" is_even lost 0
fp_expect "$PK_TMP/mutual.json" is_odd lost 0
exit 0
