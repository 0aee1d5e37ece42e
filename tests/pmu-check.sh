#!/bin/bash
# pmu-check.sh - perfkit's hardware-counter checks, for a machine with a
# CPU PMU (bare metal, or a VM that exposes one).  Self-contained given a
# built tree; runs in well under 2 minutes; prints what it measured and a
# PASS/FAIL summary; exits 0 only when every check passed (1 on a failed
# check, 2 when it cannot run at all).
#
#   bash tests/pmu-check.sh [BUILDDIR]      (default: the current directory)
#
# Checks (tracee tests/targets/matrix: a 2048 x 2048 matrix of doubles
# walked by rows, then separately by columns):
#   1. cycles and instructions are counted (status "counted", value > 0)
#   2. IPC of the row walk is plausible (between 0.05 and 8)
#   3. cache-misses (and L1-dcache-load-misses where the CPU has it) are
#      higher for the column walk than for the row walk
#   4. --sample-on cache-misses on the column walk puts most of its sampled
#      misses in sum_cols (sampled, with skid: more than half)
# Run as root, or with kernel.perf_event_paranoid <= 2 (user space only).
set -u
B=${1:-$(pwd)}
B=$(cd "$B" && pwd) || exit 2
PERFKITD=$B/daemon/perfkitd
PERFKIT=$B/src/perfkit
MATRIX=$B/tests/targets/matrix
for f in "$PERFKITD" "$PERFKIT" "$MATRIX"; do
	[ -x "$f" ] || { echo "pmu-check: $f is missing: build the tree first (make && make check TESTS=)"; exit 2; }
done
command -v python3 >/dev/null || { echo "pmu-check: python3 is needed to read perfkit's JSON"; exit 2; }
TMP=$(mktemp -d /tmp/perfkit-pmu-check.XXXXXX) || exit 2
trap 'rm -rf "$TMP"' EXIT
export PERFKIT_DB=$TMP/pmu.db
pass=0 fail=0
ok() { echo "PASS: $*"; pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

echo "pmu-check: $(uname -srm), $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | sed 's/^ //')"
echo "pmu-check: PMUs: $(ls /sys/bus/event_source/devices 2>/dev/null | tr '\n' ' ')"
echo "pmu-check: perf_event_paranoid=$(cat /proc/sys/kernel/perf_event_paranoid 2>/dev/null), uid=$(id -u)"

# value NAME SESSION: the counter's value, or its status and message.
counters() { "$PERFKIT" cache "$1" --format json >"$TMP/$1.json" 2>"$TMP/$1.err" || { cat "$TMP/$1.err"; return 1; }; }
get() {
	python3 - "$TMP/$1.json" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
c = [c for c in d["counters"] if c["name"] == sys.argv[2]]
if not c:
    print("missing")
elif c[0]["status"] != "counted":
    print("%s: %s" % (c[0]["status"], c[0]["message"]))
else:
    print("%.0f" % c[0]["value"])
PY
}
isnum() { case $1 in ''|*[!0-9]*) return 1 ;; *) return 0 ;; esac; }

for walk in rows cols; do
	if ! timeout 60 "$PERFKITD" run -q --counters -n "$walk" -- "$MATRIX" 2048 "$walk" >"$TMP/$walk.out" 2>"$TMP/$walk.run"; then
		cat "$TMP/$walk.run"
		bad "perfkitd run --counters -- matrix 2048 $walk failed"
		continue
	fi
	counters "$walk" || bad "perfkit cache $walk failed"
done

declare -A V
for walk in rows cols; do
	for ev in cycles instructions cache-references cache-misses L1-dcache-loads L1-dcache-load-misses \
		branch-misses dTLB-load-misses page-faults; do
		V[$walk,$ev]=$(get "$walk" "$ev" 2>/dev/null || echo "missing")
		printf 'pmu-check: %-5s %-22s %s\n' "$walk" "$ev" "${V[$walk,$ev]}"
	done
done

# 1. cycles and instructions counted
for walk in rows cols; do
	if isnum "${V[$walk,cycles]}" && isnum "${V[$walk,instructions]}" && [ "${V[$walk,cycles]}" -gt 0 ] &&
		[ "${V[$walk,instructions]}" -gt 0 ]; then
		ok "$walk: cycles ${V[$walk,cycles]} and instructions ${V[$walk,instructions]} counted"
	else
		bad "$walk: cycles '${V[$walk,cycles]}', instructions '${V[$walk,instructions]}'"
	fi
done

# 2. IPC plausible
if isnum "${V[rows,cycles]}" && isnum "${V[rows,instructions]}" && [ "${V[rows,cycles]}" -gt 0 ]; then
	ipc=$(python3 -c "print('%.3f' % (${V[rows,instructions]} / ${V[rows,cycles]}))")
	if python3 -c "import sys; sys.exit(0 if 0.05 <= $ipc <= 8 else 1)"; then
		ok "rows: IPC $ipc is plausible (0.05..8)"
	else
		bad "rows: IPC $ipc is not plausible"
	fi
	echo "pmu-check: perfkit cache's derived IPC (rows): $(python3 -c "import json; print(json.load(open('$TMP/rows.json'))['derived']['ipc'])")"
else
	bad "rows: IPC cannot be computed"
fi

# 3. the column walk misses more
for ev in cache-misses L1-dcache-load-misses; do
	r=${V[rows,$ev]} c=${V[cols,$ev]}
	if isnum "$r" && isnum "$c"; then
		if [ "$c" -gt "$r" ]; then
			ok "$ev: column walk $c > row walk $r ($(python3 -c "print('%.1fx' % ($c / max($r, 1)))"))"
		else
			bad "$ev: column walk $c is not higher than row walk $r"
		fi
	elif [ "$ev" = cache-misses ]; then
		bad "cache-misses not counted: rows '$r', cols '$c'"
	else
		echo "pmu-check: note: $ev not available here (rows '$r'), not checked"
	fi
done

# 4. sampling on cache-misses attributes to sum_cols
if timeout 60 "$PERFKITD" run -q --sample-on cache-misses -n sampled -- "$MATRIX" 2048 cols >"$TMP/s.out" 2>"$TMP/s.run"; then
	"$PERFKIT" cache sampled --format json --limit 0 >"$TMP/sampled.json" 2>"$TMP/s.err"
	share=$(python3 - "$TMP/sampled.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
f = [f for f in d["functions"] if f.get("event") == "cache-misses"]
tot = sum(x["events"] for x in f)
col = sum(x["events"] for x in f if x["function"] == "sum_cols")
print("%.3f %d" % (col / tot if tot else 0, tot))
PY
)
	echo "pmu-check: --sample-on cache-misses: sum_cols share, sampled events: $share"
	if python3 -c "import sys; sys.exit(0 if ${share%% *} > 0.5 else 1)"; then
		ok "--sample-on cache-misses: most sampled misses in sum_cols (${share%% *})"
	else
		bad "--sample-on cache-misses: sum_cols has only ${share%% *} of the sampled misses"
	fi
else
	cat "$TMP/s.run"
	bad "perfkitd run --sample-on cache-misses failed"
fi

echo
echo "pmu-check: $pass passed, $fail failed: $([ $fail = 0 ] && echo PASS || echo FAIL)"
[ $fail = 0 ]
