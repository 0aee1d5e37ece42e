# fprobe-common.sh - helpers of the function probe tests (fprobe-*.sh),
# sourced after tests/lib.sh and pk_init.

# fp_record NAME OUTFILE PERFKITD-ARGS... -- PROG ARGS: perfkitd run with
# the session NAME; the program's stdout goes to OUTFILE.  Fails unless
# perfkitd (and so the program) exits 0.
fp_record() {
	local name=$1 out=$2 rc=0
	shift 2
	pk_run_limited 120 "$PERFKITD" run -q -n "$name" "$@" >"$out" 2>"$out.err" || rc=$?
	[ "$rc" = 0 ] || { pk_show "$out" "$out.err"; pk_fail "perfkitd run $name exited $rc, expected 0"; }
}

# fp_probes SESSION OUT: perfkit probes as JSON into OUT.
fp_probes() {
	if ! pk_run_limited 30 "$PERFKIT" probes "$1" --format json >"$2" 2>"$2.err"; then
		pk_show "$2" "$2.err"
		pk_fail "perfkit probes $1 failed"
	fi
}

# fp_field JSON FUNCTION KEY: KEY of FUNCTION's entry in "probes"
# ("missing" when the function is not there).
fp_field() {
	python3 - "$1" "$2" "$3" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for p in d["probes"]:
    if p["function"] == sys.argv[2]:
        print(p[sys.argv[3]])
        break
else:
    print("missing")
PY
}

# fp_expect JSON FUNCTION KEY VALUE: exact value.
fp_expect() {
	local v
	v=$(fp_field "$1" "$2" "$3")
	if [ "$v" != "$4" ]; then
		pk_show "$1"
		pk_fail "$2: $3 is $v, expected $4"
	fi
	pk_log "ok: $2: $3 = $v"
}
