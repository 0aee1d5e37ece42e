/*
 * session.c - the sessions table: begin (with name generation), end, find
 * by name / id / "last", list, and remove with everything a session owns.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "store/internal.h"
#include "util.h"

#define SESSION_COLUMNS \
	"id, name, command, mode, status, host, kernel, pid, recorder_pid," \
	" frequency, started_ns, ended_ns, exit_status, samples"

static char *column_strdup(sqlite3_stmt *q, int col)
{
	const unsigned char *t = sqlite3_column_text(q, col);

	return t ? pk_xstrdup((const char *)t) : NULL;
}

/* Fill s from a row selected with SESSION_COLUMNS. */
static void session_from_row(sqlite3_stmt *q, struct pk_session *s)
{
	memset(s, 0, sizeof(*s));
	s->id = sqlite3_column_int64(q, 0);
	s->name = column_strdup(q, 1);
	s->command = column_strdup(q, 2);
	s->mode = column_strdup(q, 3);
	s->status = column_strdup(q, 4);
	s->host = column_strdup(q, 5);
	s->kernel = column_strdup(q, 6);
	s->pid = sqlite3_column_int(q, 7);
	s->recorder_pid = sqlite3_column_int(q, 8);
	s->frequency = sqlite3_column_double(q, 9);
	s->started_ns = sqlite3_column_int64(q, 10);
	s->ended_ns = sqlite3_column_int64(q, 11);
	s->exit_status = sqlite3_column_int(q, 12);
	s->samples = sqlite3_column_int64(q, 13);
}

void pk_session_release(struct pk_session *s)
{
	if (!s)
		return;
	free(s->name);
	free(s->command);
	free(s->mode);
	free(s->status);
	free(s->host);
	free(s->kernel);
	memset(s, 0, sizeof(*s));
}

void pk_session_array_free(struct pk_session *v, size_t n)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < n; i++)
		pk_session_release(&v[i]);
	free(v);
}

/* "<basename of the first word>-YYYYMMDD-HHMMSS", file-name safe. */
static char *auto_name_base(const char *command, int64_t started_ns)
{
	char word[64], stamp[32];
	const char *c = command ? command : "";
	const char *start, *end;
	size_t n = 0;
	time_t t = (time_t)(started_ns / 1000000000);
	struct tm tm;

	while (*c == ' ' || *c == '\t')
		c++;
	end = c;
	while (*end && *end != ' ' && *end != '\t')
		end++;
	start = end;
	while (start > c && start[-1] != '/')
		start--;
	for (; start < end && n < sizeof(word) - 1; start++) {
		unsigned char ch = (unsigned char)*start;

		word[n++] = (isalnum(ch) || ch == '.' || ch == '_' || ch == '-') ? (char)ch : '_';
	}
	word[n] = '\0';
	if (!n)
		strcpy(word, "session");
	localtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	return pk_xasprintf("%s-%s", word, stamp);
}

int pk_store_session_begin(struct pk_store *st, struct pk_session *s)
{
	struct utsname un;
	sqlite3_stmt *q;
	char *base = NULL, *name = NULL;
	int attempt, rc = PK_STORE_OK;

	if (uname(&un) != 0)
		memset(&un, 0, sizeof(un));
	if (!s->started_ns)
		s->started_ns = (int64_t)pk_realtime_ns();
	s->recorder_pid = (int)getpid();
	q = pk_store_prepare(st, "INSERT INTO sessions (name, command, mode, status, host,"
			     " kernel, pid, recorder_pid, frequency, started_ns, ended_ns,"
			     " exit_status, samples)"
			     " VALUES (?1, ?2, ?3, 'recording', ?4, ?5, ?6, ?7, ?8, ?9, 0, -1, 0)");
	if (!q)
		return PK_STORE_ERROR;
	sqlite3_bind_text(q, 2, s->command, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, s->mode ? s->mode : "cpu", -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, s->host ? s->host : un.nodename, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(q, 5, s->kernel ? s->kernel : un.release, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(q, 6, s->pid);
	sqlite3_bind_int(q, 7, s->recorder_pid);
	sqlite3_bind_double(q, 8, s->frequency);
	sqlite3_bind_int64(q, 9, s->started_ns);
	if (!s->name)
		base = auto_name_base(s->command, s->started_ns);
	for (attempt = 1;; attempt++) {
		int src;

		free(name);
		if (s->name)
			name = pk_xstrdup(s->name);
		else if (attempt == 1)
			name = pk_xstrdup(base);
		else
			name = pk_xasprintf("%s-%d", base, attempt);
		sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
		src = sqlite3_step(q);
		sqlite3_reset(q);
		if (src == SQLITE_DONE)
			break;
		if (sqlite3_extended_errcode(st->db) != SQLITE_CONSTRAINT_UNIQUE) {
			rc = pk_store_sqlfail(st, "cannot create a session");
			break;
		}
		if (s->name) {
			rc = pk_store_fail(st, PK_STORE_EXISTS,
					   "a session named '%s' already exists; choose another name or remove it first",
					   s->name);
			break;
		}
	}
	sqlite3_finalize(q);
	free(base);
	if (rc != PK_STORE_OK) {
		free(name);
		return rc;
	}
	s->id = sqlite3_last_insert_rowid(st->db);
	if (s->name)
		free(name);
	else
		s->name = name;
	return PK_STORE_OK;
}

int pk_store_session_end(struct pk_store *st, int64_t sid, const char *status,
			 int exit_status, int64_t ended_ns)
{
	sqlite3_stmt *q;
	int rc = pk_store_flush(st);

	if (rc != PK_STORE_OK)
		return rc;
	if (!ended_ns)
		ended_ns = (int64_t)pk_realtime_ns();
	q = pk_store_prepare(st, "UPDATE sessions SET status = ?2, exit_status = ?3, ended_ns = ?4,"
			     " samples = (SELECT COALESCE(sum(count), 0) FROM sample_blocks"
			     "  WHERE session_id = ?1) WHERE id = ?1");
	if (!q)
		return PK_STORE_ERROR;
	sqlite3_bind_int64(q, 1, sid);
	sqlite3_bind_text(q, 2, status ? status : "complete", -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 3, exit_status);
	sqlite3_bind_int64(q, 4, ended_ns);
	if (sqlite3_step(q) != SQLITE_DONE)
		rc = pk_store_sqlfail(st, "cannot end the session");
	else if (sqlite3_changes(st->db) == 0)
		rc = pk_store_fail(st, PK_STORE_NOTFOUND, "no session with id %lld", (long long)sid);
	sqlite3_finalize(q);
	if (rc == PK_STORE_OK)
		pk_writer_drop(st, sid);
	return rc;
}

int pk_store_session_set_pid(struct pk_store *st, int64_t sid, int pid)
{
	sqlite3_stmt *q = pk_store_prepare(st, "UPDATE sessions SET pid = ?2 WHERE id = ?1");
	int rc = PK_STORE_OK;

	if (!q)
		return PK_STORE_ERROR;
	sqlite3_bind_int64(q, 1, sid);
	sqlite3_bind_int(q, 2, pid);
	if (sqlite3_step(q) != SQLITE_DONE)
		rc = pk_store_sqlfail(st, "cannot update the session");
	else if (sqlite3_changes(st->db) == 0)
		rc = pk_store_fail(st, PK_STORE_NOTFOUND, "no session with id %lld", (long long)sid);
	sqlite3_finalize(q);
	return rc;
}

/* Run a one-row session query; NOTFOUND when it returns nothing. */
static int find_one(struct pk_store *st, const char *sql, const char *text, int64_t num,
		    struct pk_session *out)
{
	sqlite3_stmt *q = pk_store_prepare(st, sql);
	int rc, src;

	if (!q)
		return PK_STORE_ERROR;
	if (text)
		sqlite3_bind_text(q, 1, text, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(q, 1, num);
	src = sqlite3_step(q);
	if (src == SQLITE_ROW) {
		session_from_row(q, out);
		rc = PK_STORE_OK;
	} else if (src == SQLITE_DONE) {
		rc = PK_STORE_NOTFOUND;
	} else {
		rc = pk_store_sqlfail(st, "cannot read sessions");
	}
	sqlite3_finalize(q);
	return rc;
}

int pk_store_session_find(struct pk_store *st, const char *spec, struct pk_session *out)
{
	int rc;
	const char *p;

	memset(out, 0, sizeof(*out));
	rc = find_one(st, "SELECT " SESSION_COLUMNS " FROM sessions WHERE name = ?1", spec, 0, out);
	if (rc != PK_STORE_NOTFOUND)
		return rc;
	if (strcmp(spec, "last") == 0) {
		rc = find_one(st, "SELECT " SESSION_COLUMNS " FROM sessions WHERE ?1 = 0"
			      " ORDER BY id DESC LIMIT 1", NULL, 0, out);
		if (rc == PK_STORE_NOTFOUND)
			return pk_store_fail(st, rc, "no sessions recorded yet in '%s'; record one with perfkitd",
					     st->path);
		return rc;
	}
	for (p = spec; *p >= '0' && *p <= '9'; p++)
		;
	if (*spec && !*p && p - spec < 18)
		rc = find_one(st, "SELECT " SESSION_COLUMNS " FROM sessions WHERE id = ?1",
			      NULL, strtoll(spec, NULL, 10), out);
	if (rc == PK_STORE_NOTFOUND)
		pk_store_fail(st, rc, "no session '%s' in '%s'; see 'perfkit sessions list'",
			      spec, st->path);
	return rc;
}

int pk_store_session_name_free(struct pk_store *st, const char *name)
{
	struct pk_session s;
	int rc = find_one(st, "SELECT " SESSION_COLUMNS " FROM sessions WHERE name = ?1", name, 0, &s);

	if (rc == PK_STORE_NOTFOUND)
		return PK_STORE_OK;
	if (rc != PK_STORE_OK)
		return rc;
	pk_session_release(&s);
	return pk_store_fail(st, PK_STORE_EXISTS,
			     "a session named '%s' already exists; choose another name or remove it first",
			     name);
}

int pk_store_session_list(struct pk_store *st, struct pk_session **out, size_t *n)
{
	sqlite3_stmt *q = pk_store_prepare(st, "SELECT " SESSION_COLUMNS " FROM sessions ORDER BY id");
	struct pk_session *v = NULL;
	size_t cap = 0, count = 0;
	int src;

	*out = NULL;
	*n = 0;
	if (!q)
		return PK_STORE_ERROR;
	while ((src = sqlite3_step(q)) == SQLITE_ROW) {
		pk_xgrow((void **)&v, &cap, count + 1, sizeof(*v));
		session_from_row(q, &v[count++]);
	}
	sqlite3_finalize(q);
	if (src != SQLITE_DONE) {
		pk_session_array_free(v, count);
		return pk_store_sqlfail(st, "cannot list sessions");
	}
	*out = v;
	*n = count;
	return PK_STORE_OK;
}

int pk_store_session_remove(struct pk_store *st, int64_t sid)
{
	static const char *const tables[] = {
		"sample_blocks", "stack_nodes", "frames", "functions", "modules",
		"events", "session_stats",
	};
	size_t i;
	int rc = PK_STORE_OK;

	if ((rc = pk_store_exec(st, "BEGIN IMMEDIATE")) != PK_STORE_OK)
		return rc;
	for (i = 0; i < sizeof(tables) / sizeof(tables[0]) && rc == PK_STORE_OK; i++) {
		char *sql;
		sqlite3_stmt *q;

		if (st->schema < 2 && strcmp(tables[i], "session_stats") == 0)
			continue;
		sql = pk_xasprintf("DELETE FROM %s WHERE session_id = ?1", tables[i]);
		q = pk_store_prepare(st, sql);
		free(sql);
		if (!q) {
			rc = PK_STORE_ERROR;
			break;
		}
		sqlite3_bind_int64(q, 1, sid);
		if (sqlite3_step(q) != SQLITE_DONE)
			rc = pk_store_sqlfail(st, "cannot remove the session");
		sqlite3_finalize(q);
	}
	if (rc == PK_STORE_OK) {
		sqlite3_stmt *q = pk_store_prepare(st, "DELETE FROM sessions WHERE id = ?1");

		if (!q) {
			rc = PK_STORE_ERROR;
		} else {
			sqlite3_bind_int64(q, 1, sid);
			if (sqlite3_step(q) != SQLITE_DONE)
				rc = pk_store_sqlfail(st, "cannot remove the session");
			else if (sqlite3_changes(st->db) == 0)
				rc = pk_store_fail(st, PK_STORE_NOTFOUND, "no session with id %lld",
						   (long long)sid);
			sqlite3_finalize(q);
		}
	}
	if (rc != PK_STORE_OK) {
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return rc;
	}
	if (pk_store_exec(st, "COMMIT") != PK_STORE_OK) {
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return PK_STORE_ERROR;
	}
	pk_writer_drop(st, sid);
	return PK_STORE_OK;
}
