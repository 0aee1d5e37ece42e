#!/bin/bash
# errors-attach.sh - perfkitd attach refuses what it cannot profile, says
# why, exits non-zero, and leaves the would-be target untouched.
#
# Cases: no such PID; a kernel thread; a zombie; a process already traced
# (by tests/targets/tracer, a minimal PTRACE_SEIZE tracer, and by strace
# where installed: the message names the tracer; these need permission to
# trace); permission denied (as root we run perfkitd as "nobody" against
# our own process; a user without ptrace permission, under Yama or in a
# container, tries our own process; otherwise PID 1 when another user
# owns it): the message says so and names the way out (root /
# CAP_SYS_PTRACE / ptrace_scope, the latter whenever Yama is present).  After each error
# the target process (tests/targets/checksum) must still run, not stopped
# and not traced by perfkitd, and it must finish with a correct result.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
pk_init
pk_need_targets checksum tracer zombie

"$TARGETS/checksum" "$PK_TMP/ready" 60 >"$PK_TMP/out" 2>&1 &
pid=$!
pk_track "$pid"
pk_wait_until 10 "the tracee to start" pk_file_nonempty "$PK_TMP/ready"
# Whether this user may ptrace the target at all (root, Yama, container).
if "$TARGETS/tracer" --check "$pid" >/dev/null 2>&1; then can_attach=1; else can_attach=0; fi

untouched() {
	pk_assert_running "$pid" "$1"
	[ "$(pk_tracer_pid "$pid")" = "${2:-0}" ] || pk_fail "$1: the target is traced by pid $(pk_tracer_pid "$pid")"
}

# ---- no such PID --------------------------------------------------------
nopid=$(( $(cat /proc/sys/kernel/pid_max) - 1 ))
while [ -e "/proc/$nopid" ]; do nopid=$((nopid - 1)); done
pk_expect_error "attach to missing pid $nopid" "no (such )?process|does not exist|not exist" \
	"$PERFKITD" attach "$nopid" -d 1
pk_error_also "attach to missing pid" "$nopid"

# ---- a kernel thread ----------------------------------------------------
kthread=
if [ "$(cat /proc/2/comm 2>/dev/null)" = kthreadd ]; then
	kthread=2
else
	# PF_KTHREAD (0x00200000) in the flags field (9th of stat).
	for f in /proc/[0-9]*/stat; do
		s=$(cat "$f" 2>/dev/null) || continue
		s=${s##*) }
		set -- $s
		if [ $(( ${7} & 0x00200000 )) != 0 ]; then kthread=${f//[^0-9]/}; break; fi
	done
fi
if [ -n "$kthread" ]; then
	pk_expect_error "attach to kernel thread $kthread" "kernel thread" "$PERFKITD" attach "$kthread" -d 1
else
	pk_log "note: no kernel thread visible in this pid namespace; case not run"
fi

# ---- a zombie -----------------------------------------------------------
"$TARGETS/zombie" "$PK_TMP/zready" &
zparent=$!
pk_track "$zparent"
pk_wait_until 10 "the zombie to appear" pk_file_nonempty "$PK_TMP/zready"
zpid=$(cat "$PK_TMP/zready")
is_zombie() { [ "$(pk_state "$zpid")" = Z ]; }
pk_wait_until 10 "pid $zpid to become a zombie" is_zombie
pk_expect_error "attach to zombie $zpid" "zombie" "$PERFKITD" attach "$zpid" -d 1
kill "$zparent"
untouched "after the zombie case"

# ---- already traced (needs permission to trace, for our stand-in) ------
if [ "$can_attach" = 1 ]; then
	"$TARGETS/tracer" "$pid" "$PK_TMP/tready" &
	tpid=$!
	pk_track "$tpid"
	pk_wait_until 10 "the tracer to seize the target" pk_file_nonempty "$PK_TMP/tready"
	pk_expect_error "attach to a traced process" "already (being )?traced|traced by" "$PERFKITD" attach "$pid" -d 1
	pk_error_also "the message names the tracer" "$tpid|tracer"
	untouched "while traced by another tracer" "$tpid"
	kill -TERM "$tpid"
	pk_wait_exit "$tpid" 10
	untouched "after the other tracer left"

	if command -v strace >/dev/null; then
		strace -o /dev/null -p "$pid" 2>/dev/null &
		spid=$!
		pk_track "$spid"
		straced() { [ "$(pk_tracer_pid "$pid")" != 0 ]; }
		pk_wait_until 10 "strace to attach" straced
		pk_expect_error "attach to a process under strace" "already (being )?traced|traced by" \
			"$PERFKITD" attach "$pid" -d 1
		pk_error_also "the message names strace" "strace"
		kill -INT "$spid"
		pk_wait_exit "$spid" 10
		untraced() { [ "$(pk_tracer_pid "$pid")" = 0 ]; }
		pk_wait_until 10 "strace to detach" untraced
		untouched "after the strace case"
	else
		pk_log "note: strace not installed; traced-by-strace case not run"
	fi
else
	pk_log "note: this user may not ptrace (yama ptrace_scope $(pk_ptrace_scope)); already-traced cases not run"
fi

# ---- permission denied --------------------------------------------------
if [ "$(id -u)" = 0 ]; then
	if command -v setpriv >/dev/null && "${PK_AS_NOBODY[@]}" true 2>/dev/null; then
		chmod 711 "$PK_TMP"
		mkdir -m 777 "$PK_TMP/nobody"
		pk_expect_error "attach as nobody to root's process" "permi|not allowed" \
			"${PK_AS_NOBODY[@]}" "$PERFKITD" attach "$pid" -d 1 --db "$PK_TMP/nobody/t.db"
		pk_error_also "the message gives the way out" "root|cap_sys_ptrace|ptrace_scope"
		if [ -e /proc/sys/kernel/yama/ptrace_scope ]; then
			pk_error_also "the message names ptrace_scope (Yama is on)" "ptrace_scope"
		fi
	else
		pk_log "note: cannot switch to user nobody (setpriv); permission case not run"
	fi
elif [ "$can_attach" = 0 ]; then
	# Not root, and not allowed to trace even this test's own process:
	# Yama (ptrace_scope >= 1) or a container without CAP_SYS_PTRACE.
	pk_expect_error "attach without permission (uid $(id -u), ptrace_scope $(pk_ptrace_scope))" \
		"permi|not allowed" "$PERFKITD" attach "$pid" -d 1
	pk_error_also "the message gives the way out" "root|cap_sys_ptrace|ptrace_scope"
	if [ -e /proc/sys/kernel/yama/ptrace_scope ]; then
		pk_error_also "the message names ptrace_scope (Yama is on)" "ptrace_scope"
	fi
elif [ "$(stat -c %u /proc/1)" != "$(id -u)" ]; then
	pk_expect_error "attach to pid 1 as uid $(id -u)" "permi|not allowed" "$PERFKITD" attach 1 -d 1
	pk_error_also "the message gives the way out" "root|cap_sys_ptrace|ptrace_scope"
else
	pk_log "note: pid 1 belongs to this user; permission case not run"
fi
untouched "after the permission case"

# The target finishes as if nothing happened.
kill -USR2 "$pid"
pk_wait_exit "$pid" 10
[ "$PK_STATUS" = 0 ] || { pk_show "$PK_TMP/out"; pk_fail "the target exited $PK_STATUS"; }
grep -q '^checksum ok' "$PK_TMP/out" || { pk_show "$PK_TMP/out"; pk_fail "the target's result is wrong"; }
exit 0
