/*
 * open.c - opening and closing the store: file checks, SQLite settings
 * (WAL, busy timeout), recognising a perfkit database, running migrations,
 * and marking sessions of dead recorders as aborted.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "store/internal.h"
#include "util.h"

int pk_store_fail(struct pk_store *st, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->errmsg, sizeof(st->errmsg), fmt, ap);
	va_end(ap);
	return code;
}

int pk_store_sqlfail(struct pk_store *st, const char *what)
{
	int rc = sqlite3_errcode(st->db);
	int code = PK_STORE_ERROR;

	if (rc == SQLITE_READONLY || rc == SQLITE_PERM)
		code = PK_STORE_READONLY;
	else if (rc == SQLITE_NOTADB)
		code = PK_STORE_NOTDB;
	return pk_store_fail(st, code, "%s in '%s': %s", what, st->path,
			     sqlite3_errmsg(st->db));
}

sqlite3_stmt *pk_store_prepare(struct pk_store *st, const char *sql)
{
	sqlite3_stmt *q = NULL;

	if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) != SQLITE_OK) {
		pk_store_sqlfail(st, "cannot prepare a query");
		return NULL;
	}
	return q;
}

int pk_store_exec(struct pk_store *st, const char *sql)
{
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return pk_store_sqlfail(st, "cannot run a query");
	return PK_STORE_OK;
}

const char *pk_store_errmsg(const struct pk_store *st)
{
	return st ? st->errmsg : "no store";
}

/* One integer from a pragma or query; -1 with errmsg set on failure. */
static int query_int(struct pk_store *st, const char *sql, int64_t *out)
{
	sqlite3_stmt *q = pk_store_prepare(st, sql);
	int rc;

	if (!q)
		return -1;
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		pk_store_sqlfail(st, "cannot read");
		return -1;
	}
	return 0;
}

/* The directory holding path, malloc'd. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return pk_xstrdup(".");
	if (slash == path)
		return pk_xstrdup("/");
	return pk_xasprintf("%.*s", (int)(slash - path), path);
}

/* "file:PATH?immutable=1" with the URI's special characters escaped. */
static char *immutable_uri(const char *path)
{
	size_t n = strlen(path);
	char *uri = pk_xmalloc(n * 3 + 32), *p = uri;

	p += sprintf(p, "file:");
	for (; *path; path++) {
		unsigned char c = (unsigned char)*path;

		if (c == '%' || c == '?' || c == '#' || c < 0x20)
			p += sprintf(p, "%%%02X", c);
		else
			*p++ = (char)c;
	}
	strcpy(p, "?immutable=1");
	return uri;
}

/*
 * Checks before SQLite sees the file, so errors name the real cause.
 * Sets *writable to whether this process can write the file and create
 * its -wal/-shm companions.
 */
static int check_path(struct pk_store *st, enum pk_store_mode mode, int *writable)
{
	struct stat sb;
	char *dir = dir_of(st->path);
	int dir_ok = access(dir, W_OK) == 0, dir_errno = errno;
	int rc = PK_STORE_OK;

	if (stat(st->path, &sb) != 0) {
		if (errno != ENOENT)
			rc = pk_store_fail(st, PK_STORE_ERROR, "cannot open '%s': %s; pass another --db path",
					   st->path, strerror(errno));
		else if (mode == PK_STORE_MODE_READ)
			rc = pk_store_fail(st, PK_STORE_NOTFOUND,
					   "no perfkit database at '%s'; record a session with perfkitd first, or pass another --db path",
					   st->path);
		else if (!dir_ok && dir_errno == ENOENT)
			rc = pk_store_fail(st, PK_STORE_ERROR,
					   "cannot create '%s': directory '%s' does not exist; create it or pass another --db path",
					   st->path, dir);
		else if (!dir_ok)
			rc = pk_store_fail(st, PK_STORE_READONLY,
					   "cannot create '%s': %s; pass another --db path or make '%s' writable",
					   st->path, strerror(dir_errno), dir);
		*writable = dir_ok;
		free(dir);
		return rc;
	}
	if (S_ISDIR(sb.st_mode)) {
		rc = pk_store_fail(st, PK_STORE_NOTDB,
				   "'%s' is a directory, not a perfkit database; pass another --db path",
				   st->path);
	} else {
		int file_ok = access(st->path, W_OK) == 0, file_errno = errno;

		*writable = file_ok && dir_ok;
		if (mode == PK_STORE_MODE_WRITE && !file_ok)
			rc = pk_store_fail(st, PK_STORE_READONLY,
					   "cannot write '%s': %s; pass another --db path or fix its permissions",
					   st->path, strerror(file_errno));
		else if (mode == PK_STORE_MODE_WRITE && !dir_ok)
			rc = pk_store_fail(st, PK_STORE_READONLY,
					   "cannot write next to '%s' (its journal needs directory '%s'): %s; pass another --db path or fix the directory's permissions",
					   st->path, dir, strerror(dir_errno));
	}
	free(dir);
	return rc;
}

/* Open the SQLite connection; read-only opens fall back to immutable. */
static int open_connection(struct pk_store *st, enum pk_store_mode mode, int writable)
{
	int flags = writable ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY;

	if (mode == PK_STORE_MODE_WRITE)
		flags |= SQLITE_OPEN_CREATE;
	if (sqlite3_open_v2(st->path, &st->db, flags, NULL) != SQLITE_OK)
		return pk_store_sqlfail(st, "cannot open the database");
	sqlite3_busy_timeout(st->db, PK_STORE_BUSY_TIMEOUT_MS);
	st->readonly = !writable;
	if (writable)
		return PK_STORE_OK;
	/* A WAL database read-only: SQLite needs the -shm file; without it
	 * (and no right to create it) only an immutable open can read. */
	if (sqlite3_exec(st->db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL) == SQLITE_OK)
		return PK_STORE_OK;
	if (sqlite3_errcode(st->db) == SQLITE_NOTADB)
		return PK_STORE_OK;  /* reported by the caller */
	sqlite3_close(st->db);
	st->db = NULL;
	{
		char *uri = immutable_uri(st->path);
		int rc = sqlite3_open_v2(uri, &st->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);

		free(uri);
		if (rc != SQLITE_OK)
			return pk_store_sqlfail(st, "cannot open the database read-only");
	}
	return PK_STORE_OK;
}

/* Is this a perfkit database (or an empty file we may initialise)? */
static int recognise(struct pk_store *st, enum pk_store_mode mode, int *version)
{
	int64_t appid = 0, uv = 0, objects = 0;

	if (query_int(st, "PRAGMA application_id", &appid) < 0) {
		if (sqlite3_errcode(st->db) == SQLITE_NOTADB)
			return pk_store_fail(st, PK_STORE_NOTDB,
					     "'%s' is not a perfkit database (not an SQLite file); pass another --db path",
					     st->path);
		return PK_STORE_ERROR;
	}
	if (query_int(st, "PRAGMA user_version", &uv) < 0 ||
	    query_int(st, "SELECT count(*) FROM sqlite_master", &objects) < 0)
		return PK_STORE_ERROR;
	if (appid != PK_STORE_APPLICATION_ID) {
		if (appid == 0 && uv == 0 && objects == 0 && mode == PK_STORE_MODE_WRITE) {
			*version = 0;  /* empty: ours to initialise */
			return PK_STORE_OK;
		}
		return pk_store_fail(st, PK_STORE_NOTDB,
				     "'%s' is not a perfkit database (%s); pass another --db path",
				     st->path, objects == 0 ? "an empty file" : "another program's SQLite file");
	}
	if (uv > pk_store_schema_version())
		return pk_store_fail(st, PK_STORE_TOONEW,
				     "'%s' has schema version %d but this perfkit understands up to %d; use a newer perfkit",
				     st->path, (int)uv, pk_store_schema_version());
	*version = (int)uv;
	return PK_STORE_OK;
}

int pk_store_open(const char *path, enum pk_store_mode mode, struct pk_store **out,
		  char *err, size_t errlen)
{
	struct pk_store *st = pk_xcalloc(1, sizeof(*st));
	int writable = 0, version = 0, target, rc;

	*out = NULL;
	st->path = pk_xstrdup(path);
	st->mode = mode;
	rc = check_path(st, mode, &writable);
	if (rc == PK_STORE_OK)
		rc = open_connection(st, mode, writable);
	if (rc == PK_STORE_OK)
		rc = recognise(st, mode, &version);
	st->schema = version;
	target = pk_store_schema_version();
	if (pk_store_test_max_version > 0 && pk_store_test_max_version < target)
		target = pk_store_test_max_version;
	if (rc == PK_STORE_OK && !st->readonly) {
		/* WAL lets readers read while perfkitd writes; NORMAL sync is
		 * crash-safe for the process in WAL mode. */
		if (sqlite3_exec(st->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite3_exec(st->db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL) != SQLITE_OK)
			rc = pk_store_sqlfail(st, "cannot configure the database");
		/* perfkitd appends; a small page cache keeps its memory flat
		 * over long sessions (the 2 MiB default filled over minutes). */
		if (rc == PK_STORE_OK && mode == PK_STORE_MODE_WRITE &&
		    sqlite3_exec(st->db, "PRAGMA cache_size = -256", NULL, NULL, NULL) != SQLITE_OK)
			rc = pk_store_sqlfail(st, "cannot configure the database");
	}
	if (rc == PK_STORE_OK && version < target && !st->readonly)
		rc = pk_store_schema_migrate(st, version, target);
	if (rc == PK_STORE_OK && st->schema == 0)
		rc = pk_store_fail(st, PK_STORE_NOTDB,
				   "'%s' is not a perfkit database (no schema); pass another --db path", path);
	if (rc == PK_STORE_OK && !st->readonly)
		rc = pk_store_fix_aborted(st);
	if (rc != PK_STORE_OK) {
		if (err && errlen)
			snprintf(err, errlen, "%s", st->errmsg);
		pk_store_close(st);
		return rc;
	}
	*out = st;
	return PK_STORE_OK;
}

void pk_store_close(struct pk_store *st)
{
	if (!st)
		return;
	if (st->writers && st->db)
		pk_store_flush(st);
	while (st->writers) {
		struct pk_writer *w = st->writers;

		st->writers = w->next;
		pk_writer_free(w);
	}
	sqlite3_close(st->db);
	free(st->path);
	free(st);
}

/*
 * A session whose recorder died (SIGKILL, power cut) stays "recording"
 * forever unless someone notices: any open on the recorder's host checks
 * whether that pid still exists.  A reused pid hides the death until that
 * process exits too, which errs on the safe side.
 */
int pk_store_fix_aborted(struct pk_store *st)
{
	struct utsname un;
	sqlite3_stmt *q, *upd;
	int64_t *dead = NULL;
	size_t n = 0, cap = 0, i;
	int rc = PK_STORE_OK;

	if (uname(&un) != 0)
		return PK_STORE_OK;
	q = pk_store_prepare(st, "SELECT id, recorder_pid FROM sessions"
			     " WHERE status = 'recording' AND host = ?1");
	if (!q)
		return PK_STORE_ERROR;
	upd = pk_store_prepare(st, "UPDATE sessions SET status = 'aborted',"
			       " ended_ns = started_ns + COALESCE((SELECT max(last_ns)"
			       "  FROM sample_blocks WHERE session_id = ?1), 0)"
			       " WHERE id = ?1 AND status = 'recording'");
	if (!upd) {
		sqlite3_finalize(q);
		return PK_STORE_ERROR;
	}
	sqlite3_bind_text(q, 1, un.nodename, -1, SQLITE_TRANSIENT);
	/* Collect first: updating the rows a query walks is best avoided. */
	while (sqlite3_step(q) == SQLITE_ROW) {
		pid_t pid = (pid_t)sqlite3_column_int(q, 1);

		if (pid <= 0 || kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		pk_xgrow((void **)&dead, &cap, n + 1, sizeof(*dead));
		dead[n++] = sqlite3_column_int64(q, 0);
	}
	sqlite3_finalize(q);
	for (i = 0; i < n && rc == PK_STORE_OK; i++) {
		sqlite3_bind_int64(upd, 1, dead[i]);
		if (sqlite3_step(upd) != SQLITE_DONE)
			rc = pk_store_sqlfail(st, "cannot mark an aborted session");
		sqlite3_reset(upd);
	}
	sqlite3_finalize(upd);
	free(dead);
	/* A database we may read but someone else writes is not our fault. */
	if (rc == PK_STORE_READONLY && st->mode == PK_STORE_MODE_READ)
		rc = PK_STORE_OK;
	return rc;
}
