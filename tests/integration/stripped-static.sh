#!/bin/bash
# stripped-static.sh - a stripped binary and a static binary.
#
# The same tracee as cpu-split.sh (tests/targets/split: 75% / 25% of its
# CPU in two functions, truth measured by itself), linked two more ways:
#
# split-stripped (-s: no .symtab, no debug info; .dynsym holds only
# imports).  Its own functions cannot be named: frames inside it must
# read "module+0xOFFSET", never a wrong name, and the samples still
# count: the program's outermost frame (_start, unnamed here) is on at
# least 99% of the stacks, and its hottest frames are module+0xOFFSET.
# .eh_frame survives stripping, so stacks stay complete.
#
# split-static (-static: non-PIE, no shared libraries, libc linked in).
# Names resolve from .symtab; the 75/25 split agrees with the truth within
# 4 sigma + 0.02 (as in cpu-split.sh); main covers both functions and
# stacks are complete.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
pk_init
pk_need_targets split-stripped split-static

# ---- stripped -----------------------------------------------------------
rc=0
pk_run_limited 60 "$PERFKITD" run -q -F 999 -n stripped -- "$TARGETS/split-stripped" "$PK_TMP/truth1" 1 \
	>"$PK_TMP/out1" 2>"$PK_TMP/err1" || rc=$?
[ "$rc" = 0 ] || { pk_show "$PK_TMP/err1"; pk_fail "perfkitd run (stripped) exited $rc"; }
pk_report stripped "$PK_TMP/stripped.json"
all=$(pk_total_samples "$PK_TMP/stripped.json")
pk_check_ge "stripped: samples" "$all" 100
inside=$(pk_json "$PK_TMP/stripped.json" 'max([f["total_samples"] for f in d["functions"] if "split-stripped" in (f.get("module") or "")] or [0])')
named=$(pk_json "$PK_TMP/stripped.json" '[f["function"] for f in d["functions"] if "split-stripped" in (f.get("module") or "") and "+0x" not in f["function"]]')
pk_check_ge "stripped: share of stacks through the stripped module" "$(python3 -c "print($inside / $all)")" 0.99
[ "$named" = "[]" ] || pk_fail "stripped: frames of a stripped binary got names: $named"
example=$(pk_json "$PK_TMP/stripped.json" '([f["function"] for f in d["functions"] if "split-stripped" in (f.get("module") or "")] or ["none"])[0]')
case $example in
*split-stripped+0x*) ;;
*) pk_fail "stripped: the module's hottest frame is '$example', expected split-stripped+0xOFFSET" ;;
esac
pk_log "ok: hottest frame of the stripped binary: $example"
pk_check_stacks stripped

# ---- static -------------------------------------------------------------
rc=0
pk_run_limited 60 "$PERFKITD" run -q -F 999 -n static -- "$TARGETS/split-static" "$PK_TMP/truth2" 2 \
	>"$PK_TMP/out2" 2>"$PK_TMP/err2" || rc=$?
[ "$rc" = 0 ] || { pk_show "$PK_TMP/err2"; pk_fail "perfkitd run (static) exited $rc"; }
pk_report static "$PK_TMP/static.json"
heavy_true=$(awk '$1 == "heavy_work" { print $2 }' "$PK_TMP/truth2")
light_true=$(awk '$1 == "light_work" { print $2 }' "$PK_TMP/truth2")
heavy=$(pk_func "$PK_TMP/static.json" heavy_work self_samples)
light=$(pk_func "$PK_TMP/static.json" light_work self_samples)
p=$(python3 -c "import sys; h, l = map(float, sys.argv[1:]); print(h / (h + l))" "$heavy_true" "$light_true")
pk_check_count "static: heavy_work share" "$heavy" $((heavy + light)) "$p" 0.02
pk_check_ge "static: main's total covers both" "$(pk_func "$PK_TMP/static.json" main total_samples)" $((heavy + light))
pk_check_stacks static
exit 0
