#!/bin/bash
# top-live.sh - "perfkitd top" in a real terminal: tmux gives it an 80x24
# pseudo-terminal, we read the screen and press keys.
#
# The tracee is tests/targets/split (heavy_work about 75% of its CPU,
# light_work 25%), running on its own; top attaches to it.
#  * on the 80x24 screen, within a few refreshes, heavy_work is the first
#    function row (sorted by self, its 75% against light_work's 25% is
#    far outside sampling noise after a refresh of ~50 samples), no line
#    is wider than 80 columns, the tracee is traced while top runs;
#  * 't' sorts by total (the header says so and the first row has 100%
#    total), 'p' pauses ([paused]);
#  * 'q' ends top with status 0, the tracee is no longer traced, runs on
#    and finishes its work correctly (exit 0, "split done"), and top's
#    temporary database is gone;
#  * on a dumb terminal (TERM=dumb) top prints one table per interval
#    without escape sequences; Ctrl-C detaches cleanly too; --record NAME
#    keeps a session that 'perfkit report' reads, heavy_work first.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
pk_init
pk_need_targets split
command -v tmux >/dev/null || pk_skip "tmux is needed to drive top in a terminal (Debian package tmux)"

sock=$PK_TMP/tmux.sock
tm() { tmux -S "$sock" "$@"; }
trap 'pk_rc=$?; tm kill-server >/dev/null 2>&1; (exit $pk_rc); pk_cleanup' EXIT
screen() { tm capture-pane -p -t top 2>/dev/null; }
scrollback() { tm capture-pane -p -S -2000 -t top 2>/dev/null; }
screen_has() { screen | grep -Eq -- "$1"; }
first_row() { screen | sed -n 5p; }
first_row_is() { first_row | grep -Eq -- "$1"; }

start_tracee() { # NAME CPU_SECONDS
	"$TARGETS/split" "$PK_TMP/$1.truth" "$2" >"$PK_TMP/$1.out" 2>&1 &
	tracee=$!
	pk_track "$tracee"
	pk_wait_until 10 "the tracee to start" grep -qx split "/proc/$tracee/comm"
}

# start_top TERM ARGS...: perfkitd top in an 80x24 tmux window; its exit
# status goes to $PK_TMP/top.rc.
start_top() {
	local term=$1
	shift
	rm -f "$PK_TMP/top.rc"
	tm -f /dev/null new-session -d -s top -x 80 -y 24 \
		"env TERM=$term TMPDIR=$PK_TMP $PERFKITD top $* >&2; echo \$? > $PK_TMP/top.rc; sleep 60" ||
		pk_fail "cannot start tmux"
	tm set-option -t top remain-on-exit on >/dev/null 2>&1
}

finish_tracee() {
	pk_wait_exit "$tracee" 90
	[ "$PK_STATUS" = 0 ] || { pk_show "$PK_TMP/$1.out"; pk_fail "the tracee exited $PK_STATUS after top let it go"; }
	grep -q '^split done' "$PK_TMP/$1.out" || { pk_show "$PK_TMP/$1.out"; pk_fail "the tracee did not finish its work"; }
}

# ---- a full-screen terminal ------------------------------------------------
start_tracee full 4
start_top xterm-256color -i 0.5 "$tracee"
deadline=$((SECONDS + 30))
until first_row_is 'heavy_work'; do
	[ $SECONDS -lt $deadline ] || { screen >&2; pk_fail "heavy_work is not on top after 30 s"; }
	sleep 0.2
done
pk_log "on top: $(first_row)"
screen_has 'LAST INTERVAL' || { screen >&2; pk_fail "no table header"; }
wide=$(screen | awk 'length($0) > 80' | wc -l)
[ "$wide" = 0 ] || { screen >&2; pk_fail "$wide lines wider than 80 columns"; }
[ "$(pk_tracer_pid "$tracee")" != 0 ] || pk_fail "the tracee is not traced while top runs"

tm send-keys -t top t
pk_wait_until 10 "'t' to sort by total" screen_has 'sorted by total'
pk_wait_until 10 "the first row to be on every stack" first_row_is '^ +[0-9.]+% +100\.0%'
tm send-keys -t top p
pk_wait_until 10 "'p' to pause" screen_has '\[paused\]'
tm send-keys -t top p s

tm send-keys -t top q
pk_wait_until 15 "top to quit on 'q'" test -s "$PK_TMP/top.rc"
[ "$(cat "$PK_TMP/top.rc")" = 0 ] || { screen >&2; pk_fail "top exited $(cat "$PK_TMP/top.rc") after 'q'"; }
[ "$(pk_tracer_pid "$tracee")" = 0 ] || pk_fail "the tracee is still traced after 'q'"
pk_assert_running "$tracee" "after 'q'"
ls -d "$PK_TMP"/perfkitd-top.* >/dev/null 2>&1 && pk_fail "top left its temporary database behind"
tm kill-server 2>/dev/null
finish_tracee full
pk_log "ok: 'q' detached; the tracee finished with status 0"

# ---- a dumb terminal, Ctrl-C, --record -------------------------------------
start_tracee dumb 3
start_top dumb -i 0.5 --record topsession "$tracee"
deadline=$((SECONDS + 30))
until [ "$(scrollback | grep -c 'SELF%  TOTAL%')" -ge 2 ]; do
	[ $SECONDS -lt $deadline ] || { screen >&2; pk_fail "no two tables on a dumb terminal after 30 s"; }
	sleep 0.2
done
tm send-keys -t top C-c
pk_wait_until 15 "top to quit on Ctrl-C" test -s "$PK_TMP/top.rc"
[ "$(cat "$PK_TMP/top.rc")" = 0 ] || { screen >&2; pk_fail "top exited $(cat "$PK_TMP/top.rc") after Ctrl-C"; }
[ "$(pk_tracer_pid "$tracee")" = 0 ] || pk_fail "the tracee is still traced after Ctrl-C"
scrollback | grep -q $'\033' && pk_fail "escape sequences on a dumb terminal"
scrollback | grep -q "session 'topsession' recorded" || { screen >&2; pk_fail "top does not say where the session went"; }
tm kill-server 2>/dev/null
finish_tracee dumb
pk_report topsession "$PK_TMP/report.json"
top=$(pk_json "$PK_TMP/report.json" 'd["functions"][0]["function"]')
[ "$top" = heavy_work ] || pk_fail "the recorded session's first function is $top, expected heavy_work"
pk_log "ok: dumb terminal, Ctrl-C and --record"

pk_expect_error "top without a PID" "top needs a PID" "$PERFKITD" top
"$PERFKITD" top --help | grep -q "usage: perfkitd top" || pk_fail "perfkitd top --help"
exit 0
