/*
 * counters.c - perf_event counter values with the status of each event,
 * and cache-simulation results (cachegrind) per function and source line
 * (schema step "v5", see schema.c).
 *
 * Readers check that the tables exist rather than comparing version
 * numbers: a database made before this step reads as "no counters".
 */
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"
#include "util.h"

/* 1 when the table exists in the open database. */
static int have_table(struct pk_store *st, const char *name)
{
	sqlite3_stmt *q = pk_store_prepare(st, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1");
	int found;

	if (!q)
		return 0;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	found = sqlite3_step(q) == SQLITE_ROW;
	sqlite3_finalize(q);
	return found;
}

static char *column_strdup(sqlite3_stmt *q, int col)
{
	const unsigned char *t = sqlite3_column_text(q, col);

	return t ? pk_xstrdup((const char *)t) : NULL;
}

static int need_writable(struct pk_store *st, const char *table)
{
	if (st->mode != PK_STORE_MODE_WRITE || st->readonly)
		return pk_store_fail(st, PK_STORE_READONLY, "'%s' is open read-only", st->path);
	if (!have_table(st, table))
		return pk_store_fail(st, PK_STORE_ERROR, "'%s' has no table '%s': the schema is too old",
				     st->path, table);
	return PK_STORE_OK;
}

/* Run the prepared insert q once per row inside one transaction. */
typedef void (*bind_row_fn)(sqlite3_stmt *q, int64_t sid, const void *row, size_t i);

static int insert_rows(struct pk_store *st, int64_t sid, const char *sql, const void *rows, size_t n,
		       bind_row_fn bind, const char *what)
{
	sqlite3_stmt *q;
	int rc;
	size_t i;

	if ((rc = pk_store_exec(st, "BEGIN IMMEDIATE")) != PK_STORE_OK)
		return rc;
	q = pk_store_prepare(st, sql);
	if (!q) {
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return PK_STORE_ERROR;
	}
	for (i = 0; i < n && rc == PK_STORE_OK; i++) {
		sqlite3_reset(q);
		sqlite3_clear_bindings(q);
		bind(q, sid, rows, i);
		if (sqlite3_step(q) != SQLITE_DONE)
			rc = pk_store_sqlfail(st, what);
	}
	sqlite3_finalize(q);
	if (rc == PK_STORE_OK)
		rc = pk_store_exec(st, "COMMIT");
	if (rc != PK_STORE_OK)
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* ---- counters ----------------------------------------------------------- */

static void bind_counter(sqlite3_stmt *q, int64_t sid, const void *rows, size_t i)
{
	const struct pk_counter_row *c = (const struct pk_counter_row *)rows + i;
	int counted = c->status && !strcmp(c->status, "counted");

	sqlite3_bind_int64(q, 1, sid);
	sqlite3_bind_int(q, 2, c->tid);
	sqlite3_bind_text(q, 3, c->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, (int64_t)i);
	sqlite3_bind_text(q, 5, c->status ? c->status : "unsupported", -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 6, c->err);
	if (c->scope)
		sqlite3_bind_text(q, 7, c->scope, -1, SQLITE_STATIC);
	if (counted)
		sqlite3_bind_int64(q, 8, (int64_t)c->raw);
	sqlite3_bind_int64(q, 9, (int64_t)c->enabled_ns);
	sqlite3_bind_int64(q, 10, (int64_t)c->running_ns);
	if (counted)  /* raw and value stay NULL otherwise: never a pretend 0 */
		sqlite3_bind_double(q, 11, c->value);
}

int pk_store_add_counters(struct pk_store *st, int64_t sid, const struct pk_counter_row *rows, size_t n)
{
	int rc = need_writable(st, "counter_values");

	if (rc != PK_STORE_OK)
		return rc;
	return insert_rows(st, sid,
			   "INSERT OR REPLACE INTO counter_values (session_id, tid, name, seq, status,"
			   " errno, scope, raw, enabled_ns, running_ns, value)"
			   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
			   rows, n, bind_counter, "cannot store counters");
}

int pk_store_counters(struct pk_store *st, int64_t sid, struct pk_counter_row **out, size_t *n)
{
	struct pk_counter_row *v = NULL;
	size_t cap = 0, count = 0;
	sqlite3_stmt *q;
	int src;

	*out = NULL;
	*n = 0;
	if (!have_table(st, "counter_values"))
		return PK_STORE_OK;
	q = pk_store_prepare(st, "SELECT tid, name, status, errno, scope, raw, enabled_ns, running_ns, value"
			     " FROM counter_values WHERE session_id = ?1 ORDER BY tid, seq");
	if (!q)
		return PK_STORE_ERROR;
	sqlite3_bind_int64(q, 1, sid);
	while ((src = sqlite3_step(q)) == SQLITE_ROW) {
		struct pk_counter_row *c;

		pk_xgrow((void **)&v, &cap, count + 1, sizeof(*v));
		c = &v[count++];
		memset(c, 0, sizeof(*c));
		c->tid = sqlite3_column_int(q, 0);
		c->name = column_strdup(q, 1);
		c->status = column_strdup(q, 2);
		c->err = sqlite3_column_int(q, 3);
		c->scope = column_strdup(q, 4);
		c->raw = (uint64_t)sqlite3_column_int64(q, 5);
		c->enabled_ns = (uint64_t)sqlite3_column_int64(q, 6);
		c->running_ns = (uint64_t)sqlite3_column_int64(q, 7);
		c->value = sqlite3_column_double(q, 8);
	}
	sqlite3_finalize(q);
	if (src != SQLITE_DONE) {
		pk_counter_array_free(v, count);
		return pk_store_sqlfail(st, "cannot read counters");
	}
	*out = v;
	*n = count;
	return PK_STORE_OK;
}

void pk_counter_array_free(struct pk_counter_row *v, size_t n)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].status);
		free(v[i].scope);
	}
	free(v);
}

/* ---- cache simulation ------------------------------------------------- */

int pk_store_set_cachesim(struct pk_store *st, int64_t sid, const struct pk_cachesim_info *info)
{
	sqlite3_stmt *q;
	int rc = need_writable(st, "cachesim_runs");

	if (rc != PK_STORE_OK)
		return rc;
	q = pk_store_prepare(st, "INSERT OR REPLACE INTO cachesim_runs (session_id, tool, d1, ll, i1,"
			     " geometry_from) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
	if (!q)
		return PK_STORE_ERROR;
	sqlite3_bind_int64(q, 1, sid);
	sqlite3_bind_text(q, 2, info->tool, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, info->d1, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, info->ll, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 5, info->i1, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 6, info->geometry_from, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_DONE)
		rc = pk_store_sqlfail(st, "cannot store the cache simulation");
	sqlite3_finalize(q);
	return rc;
}

int pk_store_get_cachesim(struct pk_store *st, int64_t sid, struct pk_cachesim_info *out)
{
	sqlite3_stmt *q;
	int rc, src;

	memset(out, 0, sizeof(*out));
	if (!have_table(st, "cachesim_runs"))
		return pk_store_fail(st, PK_STORE_NOTFOUND, "no cache simulation in session %lld", (long long)sid);
	q = pk_store_prepare(st, "SELECT tool, d1, ll, i1, geometry_from FROM cachesim_runs WHERE session_id = ?1");
	if (!q)
		return PK_STORE_ERROR;
	sqlite3_bind_int64(q, 1, sid);
	src = sqlite3_step(q);
	if (src == SQLITE_ROW) {
		out->tool = column_strdup(q, 0);
		out->d1 = column_strdup(q, 1);
		out->ll = column_strdup(q, 2);
		out->i1 = column_strdup(q, 3);
		out->geometry_from = column_strdup(q, 4);
		rc = PK_STORE_OK;
	} else if (src == SQLITE_DONE) {
		rc = pk_store_fail(st, PK_STORE_NOTFOUND, "no cache simulation in session %lld", (long long)sid);
	} else {
		rc = pk_store_sqlfail(st, "cannot read the cache simulation");
	}
	sqlite3_finalize(q);
	return rc;
}

void pk_cachesim_info_release(struct pk_cachesim_info *info)
{
	if (!info)
		return;
	free(info->tool);
	free(info->d1);
	free(info->ll);
	free(info->i1);
	free(info->geometry_from);
	memset(info, 0, sizeof(*info));
}

static void bind_cachesim_row(sqlite3_stmt *q, int64_t sid, const void *rows, size_t i)
{
	const struct pk_cachesim_row *r = (const struct pk_cachesim_row *)rows + i;
	const uint64_t counts[] = { r->ir, r->dr, r->dw, r->d1mr, r->d1mw, r->dlmr, r->dlmw, r->i1mr, r->ilmr };
	int k;

	sqlite3_bind_int64(q, 1, sid);
	sqlite3_bind_text(q, 2, r->function ? r->function : "???", -1, SQLITE_STATIC);
	if (r->file)
		sqlite3_bind_text(q, 3, r->file, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 4, r->line);
	for (k = 0; k < 9; k++)
		sqlite3_bind_int64(q, 5 + k, (int64_t)counts[k]);
}

int pk_store_add_cachesim_rows(struct pk_store *st, int64_t sid, const struct pk_cachesim_row *rows, size_t n)
{
	int rc = need_writable(st, "cachesim_rows");

	if (rc != PK_STORE_OK)
		return rc;
	return insert_rows(st, sid,
			   "INSERT INTO cachesim_rows (session_id, function, file, line, ir, dr, dw,"
			   " d1mr, d1mw, dlmr, dlmw, i1mr, ilmr)"
			   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
			   rows, n, bind_cachesim_row, "cannot store cache simulation results");
}

int pk_store_cachesim_rows(struct pk_store *st, int64_t sid, int lines, struct pk_cachesim_row **out, size_t *n)
{
	struct pk_cachesim_row *v = NULL;
	size_t cap = 0, count = 0;
	sqlite3_stmt *q;
	int src;

	*out = NULL;
	*n = 0;
	if (!have_table(st, "cachesim_rows"))
		return PK_STORE_OK;
	q = pk_store_prepare(st, lines ?
			     "SELECT function, file, line, ir, dr, dw, d1mr, d1mw, dlmr, dlmw, i1mr, ilmr"
			     " FROM cachesim_rows WHERE session_id = ?1 AND line > 0"
			     " ORDER BY d1mr + d1mw DESC, ir DESC, function, line" :
			     "SELECT function, file, line, ir, dr, dw, d1mr, d1mw, dlmr, dlmw, i1mr, ilmr"
			     " FROM cachesim_rows WHERE session_id = ?1 AND line = 0"
			     " ORDER BY d1mr + d1mw DESC, ir DESC, function");
	if (!q)
		return PK_STORE_ERROR;
	sqlite3_bind_int64(q, 1, sid);
	while ((src = sqlite3_step(q)) == SQLITE_ROW) {
		struct pk_cachesim_row *r;

		pk_xgrow((void **)&v, &cap, count + 1, sizeof(*v));
		r = &v[count++];
		memset(r, 0, sizeof(*r));
		r->function = column_strdup(q, 0);
		r->file = column_strdup(q, 1);
		r->line = sqlite3_column_int(q, 2);
		r->ir = (uint64_t)sqlite3_column_int64(q, 3);
		r->dr = (uint64_t)sqlite3_column_int64(q, 4);
		r->dw = (uint64_t)sqlite3_column_int64(q, 5);
		r->d1mr = (uint64_t)sqlite3_column_int64(q, 6);
		r->d1mw = (uint64_t)sqlite3_column_int64(q, 7);
		r->dlmr = (uint64_t)sqlite3_column_int64(q, 8);
		r->dlmw = (uint64_t)sqlite3_column_int64(q, 9);
		r->i1mr = (uint64_t)sqlite3_column_int64(q, 10);
		r->ilmr = (uint64_t)sqlite3_column_int64(q, 11);
	}
	sqlite3_finalize(q);
	if (src != SQLITE_DONE) {
		pk_cachesim_row_array_free(v, count);
		return pk_store_sqlfail(st, "cannot read cache simulation results");
	}
	*out = v;
	*n = count;
	return PK_STORE_OK;
}

void pk_cachesim_row_array_free(struct pk_cachesim_row *v, size_t n)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < n; i++) {
		free(v[i].function);
		free(v[i].file);
	}
	free(v);
}
