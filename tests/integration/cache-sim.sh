#!/bin/bash
# cache-sim.sh - perfkitd run --cache-sim on a tracee of known cache
# behaviour, imported and shown by perfkit cache.
#
# The tracee sums a 2048 x 2048 matrix of 8-byte elements by rows
# (sum_rows: 8 elements per 64-byte line, so 1/8 of the loads miss D1) and
# by columns (sum_cols: a 16 KiB stride, every load a new line and the
# column's lines fall into a few D1 sets, so nearly all miss).  Checked:
# sum_cols' D1 miss ratio above 90%, sum_rows' within 1/8 +- 0.02, sum_cols
# ranked above sum_rows, the geometry stated in the label, the program's
# own output and exit status passed through.  The simulated D1 is the
# host's when sysfs reports it (8-way 32 KiB here; any D1 of at least
# 4 KiB with 64-byte lines gives the same two ratios).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
pk_init
pk_need_targets matrix

command -v valgrind >/dev/null 2>&1 || pk_skip "valgrind is not installed (apt-get install valgrind)"
line=$(cat /sys/devices/system/cpu/cpu0/cache/index0/coherency_line_size 2>/dev/null || echo 64)
[ "$line" = 64 ] || pk_skip "the host's cache line is $line bytes; this test's 1/8 assumes 64"

t0=$(pk_now_us)
pk_run_limited 120 "$PERFKITD" run -q --cache-sim -n sim -- "$TARGETS/matrix" 2048 \
	>"$PK_TMP/run.out" 2>"$PK_TMP/run.err" || { pk_show "$PK_TMP/run.err"; pk_fail "perfkitd run --cache-sim failed"; }
t1=$(pk_now_us)
grep -q "^n=2048 rows=" "$PK_TMP/run.out" || { pk_show "$PK_TMP/run.out"; pk_fail "the program's output was lost"; }
pk_log "perfkitd run --cache-sim took $(( (t1 - t0) / 1000 )) ms"

"$PERFKIT" cache sim --format json --limit 0 >"$PK_TMP/c.json" 2>"$PK_TMP/c.err" ||
	{ pk_show "$PK_TMP/c.err"; pk_fail "perfkit cache --format json failed"; }
fn() { pk_json "$PK_TMP/c.json" "[f for f in d['functions'] if f['function'] == '$1'][0]['$2']"; }
cols=$(fn sum_cols d1_miss_ratio)
rows=$(fn sum_rows d1_miss_ratio)
pk_log "D1 miss ratio: sum_cols $cols, sum_rows $rows"
python3 -c "import sys; sys.exit(0 if $cols > 0.9 else 1)" || pk_fail "sum_cols D1 miss ratio $cols, expected > 0.9"
python3 -c "import sys; sys.exit(0 if abs($rows - 0.125) < 0.02 else 1)" || pk_fail "sum_rows D1 miss ratio $rows, expected 1/8"
[ "$(fn sum_cols source)" = simulated ] || pk_fail "sum_cols source is not 'simulated'"
# Both walks load every element once: 2048 * 2048 data reads each.
refs=$(fn sum_rows data_refs)
python3 -c "import sys; sys.exit(0 if abs($refs - 4194304) < 64 else 1)" || pk_fail "sum_rows data refs $refs, expected 4194304"
rank=$(pk_json "$PK_TMP/c.json" "[f['function'] for f in d['functions']].index('sum_cols') < [f['function'] for f in d['functions']].index('sum_rows')")
[ "$rank" = True ] || pk_fail "sum_cols is not ranked above sum_rows"
label=$(pk_json "$PK_TMP/c.json" "d['simulation']['label']")
case $label in "simulated (cachegrind, D1="*", LL="*")") ;; *) pk_fail "simulation label '$label'" ;; esac
[ "$(pk_json "$PK_TMP/c.json" "d['counters']")" = "[]" ] || pk_fail "a simulation session shows measured counters"
pk_log "ok: $label; sum_cols ranked above sum_rows"

"$PERFKIT" cache sim >"$PK_TMP/c.txt" 2>&1 || pk_fail "perfkit cache (table) failed"
grep -q "Caches simulated (cachegrind, D1=" "$PK_TMP/c.txt" || { pk_show "$PK_TMP/c.txt"; pk_fail "the table is not labelled simulated"; }
"$PERFKIT" cache sim --lines --format csv >"$PK_TMP/l.csv" 2>&1 || pk_fail "perfkit cache --lines --format csv failed"
grep -q "^line,sum_cols,.*matrix.c" "$PK_TMP/l.csv" || { pk_show "$PK_TMP/l.csv"; pk_fail "no per-line row for sum_cols"; }

# PROG's exit status comes back; --cache-sim refuses to mix with ptrace instruments.
rc=0
pk_run_limited 60 "$PERFKITD" run -q --cache-sim -n sim-status -- "$TARGETS/matrix" 0 >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || pk_fail "exit status $rc under --cache-sim, expected the program's 2"
pk_expect_error "--cache-sim with --counters" "cannot be combined" \
	"$PERFKITD" run -q --cache-sim --counters -- "$TARGETS/matrix" 8
pk_expect_error "--cache-sim with attach" "run only" "$PERFKITD" attach $$ --cache-sim
exit 0
