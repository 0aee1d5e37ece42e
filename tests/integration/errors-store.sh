#!/bin/bash
# errors-store.sh - database and session errors.
#
# * an unknown session: perfkit report / sessions show / sessions rm name
#   it and fail;
# * a session name in use (-n): perfkitd run refuses before starting the
#   program, and the session of that name is kept;
# * a database that cannot be written (a read-only directory; as root we
#   run perfkitd as "nobody", since root ignores file modes): perfkitd run
#   fails before starting the program (the program would create a file);
# * a file that is not a perfkit database (a text file, and an SQLite
#   database of some other program): perfkitd and perfkit both refuse
#   with "not a perfkit database" and leave the file byte for byte as it
#   was; perfkitd attach refuses before touching its target, which keeps
#   running untraced and finishes correctly.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
pk_init
pk_need_targets checksum

# A valid database with one session, for the unknown-session cases.
pk_run_limited 30 "$PERFKITD" run -q -n real -- /bin/true >/dev/null 2>"$PK_TMP/real.err" ||
	{ pk_show "$PK_TMP/real.err"; pk_fail "perfkitd run -- /bin/true failed"; }
pk_expect_error "report of an unknown session" "nosuch" "$PERFKIT" report nosuch
pk_error_also "the message says it is unknown" "no (such )?session|not found|unknown|no session"
pk_expect_error "show of an unknown session" "nosuch" "$PERFKIT" sessions show nosuch
pk_expect_error "rm of an unknown session" "nosuch" "$PERFKIT" sessions rm nosuch

# A name already taken: refused before the program starts (it would
# create a file), the existing session kept as it was.
mkdir -m 777 "$PK_TMP/scratch"
pk_expect_error "perfkitd run -n with a name in use" "already exists" \
	"$PERFKITD" run -q -n real -- /bin/sh -c "touch $PK_TMP/scratch/ran-taken"
pk_error_also "the message names the session and the way out" "'real'.*remove it"
[ -e "$PK_TMP/scratch/ran-taken" ] && pk_fail "perfkitd started the program under a session name in use"
[ "$(pk_session_field real status)" = complete ] || pk_fail "the existing session was harmed"

# ---- not writable -------------------------------------------------------
chmod 711 "$PK_TMP"
mkdir -m 555 "$PK_TMP/ro"
if [ "$(id -u)" = 0 ]; then
	if command -v setpriv >/dev/null && "${PK_AS_NOBODY[@]}" true 2>/dev/null; then
		pk_expect_error "a database in a read-only directory" "writ|permission|read-only" \
			"${PK_AS_NOBODY[@]}" "$PERFKITD" run -q --db "$PK_TMP/ro/t.db" -- /bin/sh -c "touch $PK_TMP/scratch/ran"
		pk_error_also "the message names the database" "ro/t.db|$PK_TMP/ro"
	else
		pk_log "note: cannot switch to user nobody; not-writable case not run"
	fi
else
	pk_expect_error "a database in a read-only directory" "writ|permission|read-only" \
		"$PERFKITD" run -q --db "$PK_TMP/ro/t.db" -- /bin/sh -c "touch $PK_TMP/scratch/ran"
	pk_error_also "the message names the database" "ro/t.db|$PK_TMP/ro"
fi
[ -e "$PK_TMP/scratch/ran" ] && pk_fail "perfkitd started the program although it could not write its database"

# ---- not a perfkit database ---------------------------------------------
printf 'just some notes\nnot a database\n' >"$PK_TMP/notes.txt"
cp "$PK_TMP/notes.txt" "$PK_TMP/notes.orig"
python3 -c "
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute('create table recipes (name text, minutes integer)')
c.execute(\"insert into recipes values ('bread', 240)\")
c.commit()
c.close()" "$PK_TMP/other.db" || pk_fail "cannot create an SQLite file with python3"
cp "$PK_TMP/other.db" "$PK_TMP/other.orig"

for db in notes.txt other.db; do
	pk_expect_error "perfkitd run --db $db" "not a perfkit database" \
		"$PERFKITD" run -q --db "$PK_TMP/$db" -- /bin/sh -c "touch $PK_TMP/scratch/ran2"
	[ -e "$PK_TMP/scratch/ran2" ] && pk_fail "perfkitd started the program with $db as its database"
	pk_expect_error "perfkit sessions list on $db" "not a perfkit database" \
		env PERFKIT_DB="$PK_TMP/$db" "$PERFKIT" sessions list
done
cmp -s "$PK_TMP/notes.txt" "$PK_TMP/notes.orig" || pk_fail "the text file was modified"
cmp -s "$PK_TMP/other.db" "$PK_TMP/other.orig" || pk_fail "the other program's database was modified"

# attach with a bad database: refused before the target is touched.
"$TARGETS/checksum" "$PK_TMP/ready" 30 >"$PK_TMP/out" 2>&1 &
pid=$!
pk_track "$pid"
pk_wait_until 10 "the tracee to start" pk_file_nonempty "$PK_TMP/ready"
pk_expect_error "perfkitd attach --db notes.txt" "not a perfkit database" \
	"$PERFKITD" attach "$pid" -d 1 --db "$PK_TMP/notes.txt"
pk_assert_running "$pid" "after attach refused the database"
[ "$(pk_tracer_pid "$pid")" = 0 ] || pk_fail "the target is still traced"
kill -USR2 "$pid"
pk_wait_exit "$pid" 10
[ "$PK_STATUS" = 0 ] || pk_fail "the target exited $PK_STATUS"
grep -q '^checksum ok' "$PK_TMP/out" || { pk_show "$PK_TMP/out"; pk_fail "the target's result is wrong"; }
exit 0
