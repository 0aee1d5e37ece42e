# tests/lib.sh - shared helpers for perfkit's integration tests (bash).
#
# Sourced by every tests/integration/*.sh after `pk_init`.  It gives each
# test:
#   * the binaries: $PERFKITD, $PERFKIT, and $TARGETS (the tracees), found
#     from $top_builddir (set by `make check`; else guessed);
#   * a private temporary directory $PK_TMP and PERFKIT_DB=$PK_TMP/t.db, so
#     that a test never touches a user's database;
#   * a trap that kills, by pid, every process the test registered with
#     pk_track (tracees, recorders), and removes $PK_TMP;
#   * waits that always have a deadline (pk_wait_until, pk_wait_exit);
#   * skip (exit 77) and fail (exit 1) helpers that say why;
#   * JSON field extraction with python3, and the statistical checks used
#     to compare a profile against a tracee's own truth.
#
# Statistics.  Each sample lands in function F with probability p (F's
# true share of the profiled time), independently enough that the count
# of F among n samples is binomial: sigma = sqrt(n p (1 - p)).  Checks
# allow 4 sigma (a false failure about once in 16,000 checks) plus a small
# systematic allowance that each test states and justifies (time spent in
# clock reads, thread start-up, the edges of the recording window).
#
# $PK_TMP is removed at exit, except after a failure (PK_KEEP_ON_FAIL=0
# removes it then too) or with PK_KEEP=1.  PK_VERBOSE=1 traces the script.

PK_PIDS=
PK_TMP=
PK_TEST_NAME=${0##*/}

pk_log() {
	printf '%s: %s\n' "$PK_TEST_NAME" "$*" >&2
}

pk_skip() {
	printf '%s: SKIP: %s\n' "$PK_TEST_NAME" "$*" >&2
	exit 77
}

pk_fail() {
	printf '%s: FAIL: %s\n' "$PK_TEST_NAME" "$*" >&2
	exit 1
}

# Start time of a process (clock ticks since boot, stat field 22), which
# with the pid names it uniquely: a pid alone may be reused.
pk_start_time() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	set -- $s
	echo "${20}"
}

# pk_track PID...: kill these at exit if they still run (and are still the
# same processes: pid and start time are recorded).
pk_track() {
	local pid
	for pid in "$@"; do
		PK_PIDS="$PK_PIDS $pid:$(pk_start_time "$pid")"
	done
}

pk_cleanup() {
	local rc=$? entry pid
	for entry in $PK_PIDS; do
		pid=${entry%%:*}
		if [ -n "${entry#*:}" ] && [ "$(pk_start_time "$pid")" = "${entry#*:}" ]; then
			kill -KILL "$pid" 2>/dev/null
		fi
	done
	if [ -n "$PK_TMP" ] && [ -d "$PK_TMP" ]; then
		if [ "${PK_KEEP:-0}" = 1 ] || { [ "$rc" != 0 ] && [ "$rc" != 77 ] && [ "${PK_KEEP_ON_FAIL:-1}" = 1 ]; }; then
			pk_log "kept $PK_TMP"
		else
			chmod -R u+rwx "$PK_TMP" 2>/dev/null
			rm -rf "$PK_TMP"
		fi
	fi
	exit "$rc"
}

# Print the files a failed step left behind, to make the log useful.
pk_show() {
	local f
	for f in "$@"; do
		[ -f "$f" ] || continue
		printf -- '--- %s\n' "${f#"$PK_TMP"/}" >&2
		head -c 4000 "$f" >&2
		printf -- '---\n' >&2
	done
}

pk_init() {
	: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
	if [ -z "${top_builddir:-}" ]; then
		if [ -x "$PWD/daemon/perfkitd" ]; then top_builddir=$PWD; else top_builddir=$top_srcdir; fi
	fi
	PERFKITD=$top_builddir/daemon/perfkitd
	PERFKIT=$top_builddir/src/perfkit
	TARGETS=$top_builddir/tests/targets
	[ -x "$PERFKITD" ] || pk_fail "perfkitd not built: $PERFKITD (run make check)"
	[ -x "$PERFKIT" ] || pk_fail "perfkit not built: $PERFKIT (run make check)"
	command -v python3 >/dev/null || pk_skip "python3 is needed to read perfkit's JSON"
	PK_TMP=$(mktemp -d "${TMPDIR:-/tmp}/perfkit-test.XXXXXX") || pk_fail "mktemp failed"
	trap pk_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	export PERFKIT_DB=$PK_TMP/t.db
	# No terminal status line in logs; tests that care pass -q as well.
	[ "${PK_VERBOSE:-0}" = 1 ] && set -x
	return 0
}

# pk_need_targets NAME...: fail unless these tracees are built.
pk_need_targets() {
	local t
	for t in "$@"; do
		[ -x "$TARGETS/$t" ] || pk_fail "tracee not built: $TARGETS/$t (run make check)"
	done
}

# ---- time and waiting ---------------------------------------------------

# Microseconds since the epoch (bash 5).
pk_now_us() {
	local t=${EPOCHREALTIME/./}
	printf '%s\n' "$t"
}

# pk_wait_until SECONDS WHAT CMD...: poll CMD every 20 ms until it
# succeeds; fail naming WHAT after SECONDS.
pk_wait_until() {
	local limit=$1 what=$2 start now
	shift 2
	start=$(pk_now_us)
	while ! "$@"; do
		now=$(pk_now_us)
		if [ $((now - start)) -gt $((limit * 1000000)) ]; then
			pk_fail "timed out after ${limit}s waiting for $what"
		fi
		sleep 0.02
	done
}

pk_file_nonempty() {
	[ -s "$1" ]
}

# State letter of a process (R, S, D, T, t, Z, ...), or X when it is gone.
pk_state() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || { echo X; return; }
	s=${s##*) }
	echo "${s%% *}"
}

pk_gone() {
	local s
	s=$(pk_state "$1")
	[ "$s" = X ] || [ "$s" = Z ]
}

# pk_wait_exit PID SECONDS: wait for a child of this shell with a deadline;
# prints nothing, sets PK_STATUS to its exit status.
pk_wait_exit() {
	pk_wait_until "$2" "pid $1 to exit" pk_gone "$1"
	PK_STATUS=0
	wait "$1" || PK_STATUS=$?
}

# The pid of the tracer of a process (0 when none).
pk_tracer_pid() {
	awk '/^TracerPid:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0
}

# User+system CPU clock ticks used so far by a process.
pk_cpu_ticks() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || { echo -1; return; }
	s=${s##*) }
	# After "pid (comm) ": state is field 1, utime 12, stime 13.
	set -- $s
	echo $(( ${12} + ${13} ))
}

# Fail unless a process is alive and not stopped (T or t): "untouched".
pk_assert_running() {
	local st
	st=$(pk_state "$1")
	case $st in
	R|S|D) ;;
	*) pk_fail "$2: target pid $1 is in state '$st', expected running or sleeping" ;;
	esac
}

# pk_run_limited SECONDS CMD...: run with a hard deadline (SIGKILL 3 s
# after SIGTERM); the status of CMD, or 124 when the limit was hit.
pk_run_limited() {
	local limit=$1
	shift
	timeout -k 3 "$limit" "$@"
}

# ---- ptrace permission --------------------------------------------------

pk_ptrace_scope() {
	cat /proc/sys/kernel/yama/ptrace_scope 2>/dev/null || echo "absent"
}

# Skip unless this user may attach to PID (asks a minimal tracer).
pk_need_attach() {
	local why
	pk_need_targets tracer
	if ! why=$("$TARGETS/tracer" --check "$1" 2>&1); then
		pk_skip "cannot ptrace-attach here ($why; uid $(id -u), yama ptrace_scope $(pk_ptrace_scope)): run as root or set kernel.yama.ptrace_scope=0"
	fi
}

# ---- JSON ---------------------------------------------------------------

# pk_json FILE EXPR: evaluate a python expression over the parsed JSON d.
pk_json() {
	python3 - "$1" "$2" <<'EOF'
import json, sys
with open(sys.argv[1]) as f:
    d = json.load(f)
v = eval(sys.argv[2], {"d": d})
print(v if not isinstance(v, (dict, list)) else json.dumps(v))
EOF
}

# pk_json_key FILE KEY: the first value named KEY anywhere in the JSON
# object (depth first: top level, then nested objects such as "stats").
# Prints "missing" when there is none.
pk_json_key() {
	python3 - "$1" "$2" <<'EOF'
import json, sys
with open(sys.argv[1]) as f:
    d = json.load(f)
def find(o, k):
    if isinstance(o, dict):
        if k in o:
            return o[k]
        for v in o.values():
            r = find(v, k)
            if r is not None:
                return r
    return None
v = find(d, sys.argv[2])
print("missing" if v is None else v)
EOF
}

# pk_report SESSION OUT [ARGS...]: perfkit report as JSON into OUT.
pk_report() {
	local session=$1 out=$2
	shift 2
	if ! pk_run_limited 30 "$PERFKIT" report "$session" --format json "$@" >"$out" 2>"$out.err"; then
		pk_show "$out" "$out.err"
		pk_fail "perfkit report $session failed"
	fi
}

# pk_show_session SESSION OUT: perfkit sessions show as JSON into OUT.
pk_show_session() {
	if ! pk_run_limited 30 "$PERFKIT" sessions show "$1" --format json >"$2" 2>"$2.err"; then
		pk_show "$2" "$2.err"
		pk_fail "perfkit sessions show $1 failed"
	fi
}

# pk_func REPORT FUNCTION FIELD: a field of one function in a report
# (0 when the function is absent).  FUNCTION matches the name exactly.
pk_func() {
	python3 - "$1" "$2" "$3" <<'EOF'
import json, sys
with open(sys.argv[1]) as f:
    d = json.load(f)
for fn in d["functions"]:
    if fn["function"] == sys.argv[2]:
        print(fn[sys.argv[3]])
        break
else:
    print(0)
EOF
}

# pk_total_samples REPORT: samples counted by a report.
pk_total_samples() {
	pk_json "$1" 'sum(f["self_samples"] for f in d["functions"])'
}

# pk_check_count LABEL COUNT N P SYS: fail unless COUNT out of N agrees
# with probability P within 4 binomial sigma plus SYS (a share, 0..1).
pk_check_count() {
	python3 - "$@" <<'EOF' >&2 || exit 1
import math, sys
label, count, n, p, sys_allow = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
if n <= 0:
    print("%s: FAIL: no samples" % label)
    sys.exit(1)
share = count / n
sigma = math.sqrt(p * (1 - p) / n)
allowed = 4 * sigma + sys_allow
ok = abs(share - p) <= allowed
print("%s: %s: %d of %d samples = %.4f, truth %.4f, |diff| %.4f, allowed %.4f (4 sigma %.4f + %.4f)"
      % (label, "ok" if ok else "FAIL", count, n, share, p, abs(share - p), allowed, 4 * sigma, sys_allow))
sys.exit(0 if ok else 1)
EOF
}

# pk_check_ge LABEL VALUE MIN: fail unless VALUE >= MIN (numbers).
pk_check_ge() {
	python3 - "$@" <<'EOF' >&2 || exit 1
import sys
label, v, lo = sys.argv[1], sys.argv[2], float(sys.argv[3])
try:
    x = float(v)
except ValueError:
    print("%s: FAIL: value %r is not a number" % (label, v))
    sys.exit(1)
ok = x >= lo
print("%s: %s: %g (at least %g)" % (label, "ok" if ok else "FAIL", x, lo))
sys.exit(0 if ok else 1)
EOF
}

# pk_check_stacks SESSION: at least 99% of the session's samples have a
# complete stack (the issue's bar for the tracee suite).  perfkit's
# "complete_stacks" statistic counts samples whose stack reached main or
# the thread's start routine; it is compared with "samples".
pk_check_stacks() {
	local out=$PK_TMP/show-$1.json cs n
	pk_show_session "$1" "$out"
	cs=$(pk_json_key "$out" complete_stacks)
	n=$(pk_json_key "$out" samples)
	[ "$cs" = missing ] && { pk_show "$out"; pk_fail "sessions show $1 has no complete_stacks"; }
	[ "$n" = missing ] || [ "$n" = 0 ] && { pk_show "$out"; pk_fail "sessions show $1 has no samples"; }
	pk_check_ge "complete stacks of $1 ($cs of $n samples)" "$(python3 -c "print($cs / $n)")" 0.99
}

# pk_check_sampler SESSION SAMPLER: the session was sampled the way
# --sampler SAMPLER asks (ptrace: never the perf event), and says which.
pk_check_sampler() {
	local used
	used=$(pk_session_field "$1" sampler_perf)
	case $2:$used in
	ptrace:0) ;;
	ptrace:*) pk_fail "--sampler ptrace: session $1 says sampler_perf=$used" ;;
	auto:0 | auto:1 | perf:1) ;;
	*) pk_fail "--sampler $2: session $1 says sampler_perf=$used" ;;
	esac
	pk_log "ok: --sampler $2 (perf event: $used)"
}

# pk_session_field SESSION KEY: a session field or statistic.
pk_session_field() {
	local out=$PK_TMP/show-$1-$2.json
	pk_show_session "$1" "$out"
	pk_json_key "$out" "$2"
}

# pk_expect_error WHAT PATTERN CMD...: CMD must exit non-zero (and not by
# our deadline) and print a message matching the extended regexp PATTERN
# (case-insensitive) on stderr or stdout.
pk_expect_error() {
	local what=$1 pattern=$2 rc=0 out=$PK_TMP/err.$RANDOM
	shift 2
	pk_run_limited 20 "$@" >"$out" 2>&1 </dev/null || rc=$?
	if [ "$rc" = 0 ]; then
		pk_show "$out"
		pk_fail "$what: exited 0, expected an error"
	fi
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		pk_show "$out"
		pk_fail "$what: did not finish within 20 s"
	fi
	if ! grep -Eiq -- "$pattern" "$out"; then
		pk_show "$out"
		pk_fail "$what: exit $rc but the message does not match /$pattern/"
	fi
	PK_LAST_ERR=$out
	pk_log "ok: $what: exit $rc: $(head -n 1 "$out")"
}

# pk_error_also WHAT PATTERN: the last pk_expect_error message also
# matches PATTERN (case-insensitive extended regexp).
pk_error_also() {
	if ! grep -Eiq -- "$2" "$PK_LAST_ERR"; then
		pk_show "$PK_LAST_ERR"
		pk_fail "$1: the message does not match /$2/"
	fi
}

# "${PK_AS_NOBODY[@]}" CMD...: run CMD as an unprivileged user (root
# only; an array, so that it also works under pk_run_limited).
PK_AS_NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --)
