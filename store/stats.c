/*
 * stats.c - per-session numeric facts (key/value), schema version 2 on.
 *
 * A database opened read-only at version 1 has no session_stats table: it
 * reads as "no stats" rather than failing.
 */
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"
#include "util.h"

int pk_store_set_stat(struct pk_store *st, int64_t sid, const char *key, double value)
{
	sqlite3_stmt *q;
	int rc = PK_STORE_OK;

	if (st->schema < 2)
		return pk_store_fail(st, PK_STORE_READONLY,
				     "'%s' is read-only at an old schema version; open it writable to upgrade it",
				     st->path);
	q = pk_store_prepare(st, "INSERT OR REPLACE INTO session_stats (session_id, key, value)"
			     " VALUES (?1, ?2, ?3)");
	if (!q)
		return PK_STORE_ERROR;
	sqlite3_bind_int64(q, 1, sid);
	sqlite3_bind_text(q, 2, key, -1, SQLITE_STATIC);
	sqlite3_bind_double(q, 3, value);
	if (sqlite3_step(q) != SQLITE_DONE)
		rc = pk_store_sqlfail(st, "cannot store a statistic");
	sqlite3_finalize(q);
	return rc;
}

int pk_store_get_stat(struct pk_store *st, int64_t sid, const char *key, double *value)
{
	sqlite3_stmt *q;
	int rc, src;

	if (st->schema < 2)
		return pk_store_fail(st, PK_STORE_NOTFOUND, "no statistic '%s'", key);
	q = pk_store_prepare(st, "SELECT value FROM session_stats WHERE session_id = ?1 AND key = ?2");
	if (!q)
		return PK_STORE_ERROR;
	sqlite3_bind_int64(q, 1, sid);
	sqlite3_bind_text(q, 2, key, -1, SQLITE_STATIC);
	src = sqlite3_step(q);
	if (src == SQLITE_ROW) {
		*value = sqlite3_column_double(q, 0);
		rc = PK_STORE_OK;
	} else if (src == SQLITE_DONE) {
		rc = pk_store_fail(st, PK_STORE_NOTFOUND, "no statistic '%s' in session %lld",
				   key, (long long)sid);
	} else {
		rc = pk_store_sqlfail(st, "cannot read a statistic");
	}
	sqlite3_finalize(q);
	return rc;
}

int pk_store_stats(struct pk_store *st, int64_t sid, struct pk_stat **out, size_t *n)
{
	sqlite3_stmt *q;
	struct pk_stat *v = NULL;
	size_t cap = 0, count = 0;
	int src;

	*out = NULL;
	*n = 0;
	if (st->schema < 2)
		return PK_STORE_OK;
	q = pk_store_prepare(st, "SELECT key, value FROM session_stats WHERE session_id = ?1"
			     " ORDER BY key");
	if (!q)
		return PK_STORE_ERROR;
	sqlite3_bind_int64(q, 1, sid);
	while ((src = sqlite3_step(q)) == SQLITE_ROW) {
		pk_xgrow((void **)&v, &cap, count + 1, sizeof(*v));
		v[count].key = pk_xstrdup((const char *)sqlite3_column_text(q, 0));
		v[count].value = sqlite3_column_double(q, 1);
		count++;
	}
	sqlite3_finalize(q);
	if (src != SQLITE_DONE) {
		pk_stat_array_free(v, count);
		return pk_store_sqlfail(st, "cannot read statistics");
	}
	*out = v;
	*n = count;
	return PK_STORE_OK;
}

void pk_stat_array_free(struct pk_stat *v, size_t n)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < n; i++)
		free(v[i].key);
	free(v);
}
