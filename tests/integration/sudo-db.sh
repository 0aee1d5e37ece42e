#!/bin/bash
# sudo-db.sh - under sudo, perfkitd leaves the database to the invoking
# user.
#
# As root we pretend to be `sudo perfkitd run` invoked by "nobody"
# (SUDO_USER / SUDO_UID / SUDO_GID, as sudo sets them) with --db in a
# directory nobody can write.  The database (and its -wal / -shm files if
# any) must belong to nobody afterwards, and nobody, without privileges,
# must then be able to read it (sessions list, report) and change it
# (sessions rm): "sudo perfkitd ..." followed by "perfkit ..." just works.
# The default-path part (the invoking user's home) is not exercised: it
# would need a real user account with a home directory.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
pk_init
pk_need_targets split

[ "$(id -u)" = 0 ] || pk_skip "needs root to act as sudo (this runs as uid $(id -u))"
command -v setpriv >/dev/null && "${PK_AS_NOBODY[@]}" true 2>/dev/null ||
	pk_skip "cannot switch to user nobody with setpriv"
chmod 711 "$PK_TMP"
mkdir -m 777 "$PK_TMP/home"
db=$PK_TMP/home/t.db

rc=0
SUDO_USER=nobody SUDO_UID=65534 SUDO_GID=65534 \
	pk_run_limited 30 "$PERFKITD" run -q -F 499 -n sudo --db "$db" -- "$TARGETS/split" "$PK_TMP/home/truth" 0.3 \
	>/dev/null 2>"$PK_TMP/err" || rc=$?
[ "$rc" = 0 ] || { pk_show "$PK_TMP/err"; pk_fail "perfkitd run under (pretend) sudo exited $rc"; }
for f in "$db" "$db-wal" "$db-shm"; do
	[ -e "$f" ] || continue
	owner=$(stat -c %u:%g "$f")
	[ "$owner" = 65534:65534 ] || pk_fail "${f##*/} is owned by $owner, expected the invoking user 65534:65534"
done

rc=0
"${PK_AS_NOBODY[@]}" env PERFKIT_DB="$db" "$PERFKIT" sessions list --format json >"$PK_TMP/list.json" 2>"$PK_TMP/list.err" || rc=$?
[ "$rc" = 0 ] || { pk_show "$PK_TMP/list.err"; pk_fail "the invoking user cannot list the sessions ($rc)"; }
n=$(pk_json "$PK_TMP/list.json" 'len([s for s in d if s["name"] == "sudo" and s["status"] == "complete"])')
[ "$n" = 1 ] || { pk_show "$PK_TMP/list.json"; pk_fail "the invoking user does not see session sudo complete"; }
"${PK_AS_NOBODY[@]}" env PERFKIT_DB="$db" "$PERFKIT" report sudo --format json >"$PK_TMP/report.json" 2>"$PK_TMP/report.err" ||
	{ pk_show "$PK_TMP/report.err"; pk_fail "the invoking user cannot read the report"; }
"${PK_AS_NOBODY[@]}" env PERFKIT_DB="$db" "$PERFKIT" sessions rm sudo >"$PK_TMP/rm.out" 2>&1 ||
	{ pk_show "$PK_TMP/rm.out"; pk_fail "the invoking user cannot remove the session"; }
pk_log "ok: database owned by the invoking user, who can list, report and remove"
exit 0
