# alloc-common.sh - helpers of the allocation-tracking tests (alloc-*.sh),
# sourced after tests/lib.sh.  The tracees (tests/targets/alloc-suite,
# alloc-cxx) print "ready", wait for a byte on stdin, do one thing with a
# known truth and print it.

# alloc_run NAME OUT ARGS...: perfkitd run --alloc on a tracee (go byte
# given), the session named NAME, the tracee's stdout in OUT.
alloc_run() {
	local name=$1 out=$2 rc=0
	shift 2
	echo g | pk_run_limited 120 "$PERFKITD" run -q --alloc -n "$name" -- "$@" >"$out" 2>"$out.err" || rc=$?
	ALLOC_RC=$rc
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		pk_show "$out" "$out.err"
		pk_fail "perfkitd run --alloc $* did not finish within 120 s"
	fi
	[ "$rc" = $((128 + 5)) ] && { pk_show "$out" "$out.err"; pk_fail "$*: the target died of SIGTRAP"; }
	return 0
}

# alloc_json SESSION OUT [ARGS...]: perfkit allocs --format json into OUT.
alloc_json() {
	local session=$1 out=$2
	shift 2
	if ! pk_run_limited 30 "$PERFKIT" allocs "$session" --format json --limit 0 "$@" >"$out" 2>"$out.err"; then
		pk_show "$out" "$out.err"
		pk_fail "perfkit allocs $session failed"
	fi
	# with a jump backend (jump, trap, or auto: trap), the allocators were
	# patched (a static program at its entry point is int3 throughout, and
	# says so)
	if [ "${PK_ALLOC_BACKEND:-auto}" != int3 ] && [ "$session" != static ]; then
		[ "$(alloc_stat "$session" alloc_jump_probes)" -ge 1 ] 2>/dev/null ||
			pk_fail "session $session: no allocator was patched by the jump backend"
		# trap (the default) stops at a detour only when the ring is full
		# or a stack deeper than its slice, and never drops; jump never
		# stops
		case ${PK_ALLOC_BACKEND:-auto} in
		jump) [ "$(alloc_stat "$session" alloc_jump_trap_stops)" = -1 ] ||
			pk_fail "session $session: the jump backend stopped at detours" ;;
		*) [ "$(alloc_stat "$session" alloc_jump_trap_stops)" -ge 0 ] 2>/dev/null ||
			pk_fail "session $session: no count of detour stops (trap backend)"
		   [ "$(alloc_stat "$session" alloc_ring_drops)" = 0 ] ||
			pk_fail "session $session: the trap backend dropped $(alloc_stat "$session" alloc_ring_drops) events" ;;
		esac
	fi
}

# alloc_expect LABEL JSON EXPR EXPECTED: a python expression over d (the
# allocs JSON) must print EXPECTED.  site(f) is the call site named f (a
# dict of zeros when absent); leaks_of(f) the leaks whose call site is f,
# as sorted (size, count) pairs.
alloc_expect() {
	local label=$1 json=$2 expr=$3 want=$4 got
	got=$(python3 - "$json" "$expr" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
zero = {"count": 0, "bytes": 0, "frees": 0, "bytes_freed": 0, "live_bytes": 0, "live_count": 0, "avg_size": 0}
def site(f):
    for s in d["sites"]:
        if s["function"] == f:
            return s
    return zero
def leaks_of(f):
    return sorted((l["size"], l["count"]) for l in d["leaks"] if l["stack"] and l["stack"][0] == f)
print(eval(sys.argv[2]))
PY
) || { pk_show "$json"; pk_fail "$label: cannot evaluate $expr"; }
	if [ "$got" != "$want" ]; then
		pk_show "$json"
		pk_fail "$label: $expr is '$got', expected '$want'"
	fi
	pk_log "ok: $label: $got"
}

# alloc_start_tracee OUT ARGS...: start a tracee in the background with
# its stdin on a pipe held open as fd 8 (write "g" there to let it go);
# waits for its "ready" line.  Sets ALLOC_TPID.
alloc_start_tracee() {
	local out=$1
	shift
	rm -f "$PK_TMP/go"
	mkfifo "$PK_TMP/go" || pk_fail "mkfifo failed"
	"$@" <"$PK_TMP/go" >"$out" 2>&1 &
	ALLOC_TPID=$!
	exec 8>"$PK_TMP/go"
	pk_track "$ALLOC_TPID"
	pk_wait_until 20 "the tracee to be ready" grep -q '^ready$' "$out"
}

# alloc_attach NAME ERR ARGS...: perfkitd attach --alloc to ALLOC_TPID in
# the background (ARGS are more options); waits until its probes are in
# place (the "attached" line).  Sets ALLOC_PPID.
alloc_attach() {
	local name=$1 err=$2
	shift 2
	"$PERFKITD" attach "$ALLOC_TPID" --alloc -n "$name" "$@" 2>"$err" &
	ALLOC_PPID=$!
	pk_track "$ALLOC_PPID"
	pk_wait_until 30 "perfkitd to attach" grep -q 'attached to PID' "$err"
}

# alloc_wait_tracee OUT: wait for the tracee; fail unless it exited 0
# (never by SIGTRAP) having printed "done".
alloc_wait_tracee() {
	pk_wait_exit "$ALLOC_TPID" 120
	exec 8>&-
	if [ "$PK_STATUS" = $((128 + 5)) ]; then
		pk_show "$1"
		pk_fail "the tracee died of SIGTRAP"
	fi
	if [ "$PK_STATUS" != 0 ] || ! grep -q '^done$' "$1"; then
		pk_show "$1"
		pk_fail "the tracee exited with status $PK_STATUS"
	fi
}

# alloc_loop_n BARE_OUT [SECONDS]: pick ALLOC_N so that "alloc-suite loop N"
# runs about SECONDS (default 3) without perfkitd on this machine, and
# write the output of such a run (the truth) to BARE_OUT.
alloc_loop_n() {
	local t0 t1 ms secs=${2:-3}
	t0=$(pk_now_us)
	echo g | "$TARGETS/alloc-suite" loop 5000000 >/dev/null || pk_fail "alloc-suite loop failed"
	t1=$(pk_now_us)
	ms=$(( (t1 - t0) / 1000 ))
	[ "$ms" -ge 1 ] || ms=1
	ALLOC_N=$(( 5000000 * secs * 1000 / ms ))
	[ "$ALLOC_N" -le 2000000000 ] || ALLOC_N=2000000000
	[ "$ALLOC_N" -ge 5000000 ] || ALLOC_N=5000000
	echo g | pk_run_limited 120 "$TARGETS/alloc-suite" loop "$ALLOC_N" >"$1" || pk_fail "the bare run failed"
}

# PK_ALLOC_BACKEND=int3|jump|trap|auto: every perfkitd of the test runs
# with --probe-backend that (tests/integration/alloc-jump-suite.sh and
# alloc-int3-suite.sh run the suite so).
if [ -n "${PK_ALLOC_BACKEND:-}" ]; then
	printf '#!/bin/sh\ncmd=$1\nshift\nexec "%s" "$cmd" --probe-backend %s "$@"\n' \
		"$PERFKITD" "$PK_ALLOC_BACKEND" >"$PK_TMP/perfkitd-backend" || pk_fail "cannot write a wrapper"
	chmod +x "$PK_TMP/perfkitd-backend"
	PERFKITD=$PK_TMP/perfkitd-backend
	pk_log "probe backend: $PK_ALLOC_BACKEND"
fi

# alloc_stat SESSION KEY: a statistic of the session (sessions show).
alloc_stat() {
	pk_run_limited 30 "$PERFKIT" sessions show "$1" --format json |
		python3 -c "import json, sys; print('%g' % json.load(sys.stdin)['stats'].get(sys.argv[1], -1))" "$2"
}

# alloc_text_restored PID: every executable mapping of libc in PID is
# byte for byte its file (no patched jump, no int3 left behind).
alloc_text_restored() {
	python3 - "$1" <<'PY'
import sys
pid = sys.argv[1]
bad = 0
with open("/proc/%s/maps" % pid) as maps, open("/proc/%s/mem" % pid, "rb") as mem:
    for line in maps:
        f = line.split()
        if len(f) < 6 or "x" not in f[1] or "libc.so" not in f[5]:
            continue
        lo, hi = (int(x, 16) for x in f[0].split("-"))
        mem.seek(lo)
        live = mem.read(hi - lo)
        with open("/proc/%s/root%s" % (pid, f[5]), "rb") as elf:
            elf.seek(int(f[2], 16))
            disk = elf.read(hi - lo)
        n = sum(1 for a, b in zip(live, disk) if a != b)
        if n:
            print("%s: %d bytes differ from %s" % (f[0], n, f[5]))
            bad += 1
sys.exit(1 if bad else 0)
PY
}
