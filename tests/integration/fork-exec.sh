#!/bin/bash
# fork-exec.sh - a target that forks children and execs itself.
#
# tests/targets/forkexec burns 0.4 s of CPU in before_exec, forks a child
# that execs /bin/true and one that runs child_work and exits 5 (it checks
# both statuses), then execs itself and burns 0.4 s in after_exec.
#
# Checks: perfkitd run exits 0 with "forkexec ok" (the children ran and
# ended as they should under a tracer); samples are attributed to both
# before_exec and after_exec (on the stack: total samples; symbols
# reloaded after exec), about evenly
# (each half within 4 sigma + 0.05: the two stages burn the same CPU; the
# allowance covers exec and start-up around the stages); child_work has
# no samples, since forks are not followed unless asked (--follow-forks);
# the session is complete with complete stacks.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
pk_init
pk_need_targets forkexec
[ -x /bin/true ] || pk_skip "/bin/true is missing"

rc=0
pk_run_limited 60 "$PERFKITD" run -q -F 999 -n fx -- "$TARGETS/forkexec" /bin/true \
	>"$PK_TMP/out" 2>"$PK_TMP/err" || rc=$?
[ "$rc" = 0 ] || { pk_show "$PK_TMP/out" "$PK_TMP/err"; pk_fail "perfkitd run exited $rc, expected 0"; }
grep -q '^forkexec ok' "$PK_TMP/out" || { pk_show "$PK_TMP/out"; pk_fail "the program did not reach its second stage"; }

[ "$(pk_session_field fx status)" = complete ] || pk_fail "session fx is not complete"
pk_report fx "$PK_TMP/report.json"
before=$(pk_func "$PK_TMP/report.json" before_exec total_samples)
after=$(pk_func "$PK_TMP/report.json" after_exec total_samples)
child=$(pk_func "$PK_TMP/report.json" child_work total_samples)
pk_log "before_exec $before, after_exec $after, child_work $child samples"
pk_check_ge "before_exec samples" "$before" 20
pk_check_ge "after_exec samples (exec followed, symbols reloaded)" "$after" 20
pk_check_count "before_exec share of the two stages" "$before" $((before + after)) 0.5 0.05
[ "$child" = 0 ] || pk_fail "child_work has $child samples although forks are not followed"
pk_check_stacks fx
exit 0
