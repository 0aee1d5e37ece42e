# tests/integration/analyze-common.sh - helpers for the analyze-*.sh
# tests (sourced after tests/lib.sh and pk_init).
#
#   an_profile NAME MODE TRACEE ARGS...   record TRACEE under perfkitd
#       (--mode MODE, 499 Hz) as session NAME, then write
#       "perfkit analyze NAME --format json" to $PK_TMP/NAME.json
#   an_expect NAME RULE LOCATION SEVERITY  the analysis of NAME has a
#       finding of RULE whose location starts with LOCATION, at SEVERITY
#   an_max_severity NAME MAX               no finding above MAX

an_profile() {
	local name=$1 mode=$2 tracee=$3 rc=0
	shift 3
	pk_need_targets "$tracee"
	pk_run_limited 60 "$PERFKITD" run -q -F 499 --mode "$mode" -n "$name" -- "$TARGETS/$tracee" "$@" \
		>"$PK_TMP/$name.out" 2>"$PK_TMP/$name.err" || rc=$?
	[ "$rc" = 0 ] || { pk_show "$PK_TMP/$name.out" "$PK_TMP/$name.err"; pk_fail "perfkitd run $tracee exited $rc"; }
	grep -q "^$tracee done" "$PK_TMP/$name.out" || { pk_show "$PK_TMP/$name.out"; pk_fail "$tracee did not finish"; }
	if ! pk_run_limited 30 "$PERFKIT" analyze "$name" --format json >"$PK_TMP/$name.json" 2>"$PK_TMP/$name.json.err"; then
		pk_show "$PK_TMP/$name.json" "$PK_TMP/$name.json.err"
		pk_fail "perfkit analyze $name failed"
	fi
}

an_expect() {
	python3 - "$PK_TMP/$1.json" "$2" "$3" "$4" <<'PY' >&2 || { pk_show "$PK_TMP/$1.json"; pk_fail "$1: expected a $4 $2 finding at $3"; }
import json, sys
path, rule, loc, sev = sys.argv[1:5]
d = json.load(open(path))
found = [i for i in d["issues"] if i["rule"] == rule and i["location"].startswith(loc)]
for k in ("severity", "category", "location", "description", "recommendation", "evidence"):
    for i in d["issues"]:
        if k not in i:
            print("issue without %s: %r" % (k, i))
            sys.exit(1)
if not found:
    print("%s: no %s finding at %s; findings: %s" % (path, rule, loc,
          ["%s %s %s" % (i["severity"], i["rule"], i["location"]) for i in d["issues"]]))
    sys.exit(1)
f = found[0]
ok = f["severity"] == sev
print("%s: %s: %s %s at %s (impact %.3f, expected %s)" % (path.rsplit("/", 1)[-1], "ok" if ok else "FAIL",
      f["severity"], rule, f["location"], f["impact"], sev))
sys.exit(0 if ok else 1)
PY
}

an_max_severity() {
	python3 - "$PK_TMP/$1.json" "$2" <<'PY' >&2 || { pk_show "$PK_TMP/$1.json"; pk_fail "$1: a finding above $2"; }
import json, sys
order = ["low", "medium", "high", "critical"]
d = json.load(open(sys.argv[1]))
worst = [i for i in d["issues"] if order.index(i["severity"]) > order.index(sys.argv[2])]
for i in d["issues"]:
    print("  %s %s at %s (impact %.3f)" % (i["severity"], i["rule"], i["location"], i["impact"]))
if worst:
    print("FAIL: above %s: %s" % (sys.argv[2], [(i["rule"], i["location"]) for i in worst]))
    sys.exit(1)
print("ok: nothing above %s" % sys.argv[2])
PY
}
