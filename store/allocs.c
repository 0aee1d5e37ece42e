/*
 * allocs.c - the allocation-tracking tables (schema v3): written once at
 * the end of a perfkitd --alloc session, read by perfkit allocs and
 * perfkit flamegraph --alloc.  See the allocation section of store.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"
#include "util.h"

static int step_done(struct pk_store *st, sqlite3_stmt *q)
{
	int rc = sqlite3_step(q) == SQLITE_DONE ? PK_STORE_OK
						: pk_store_sqlfail(st, "cannot store allocation data");

	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	return rc;
}

static int delete_session_rows(struct pk_store *st, int64_t sid)
{
	static const char *const sql[] = {
		"DELETE FROM alloc_sessions WHERE session_id = ?1",
		"DELETE FROM alloc_stacks WHERE session_id = ?1",
		"DELETE FROM alloc_live WHERE session_id = ?1",
		"DELETE FROM alloc_timeline WHERE session_id = ?1",
		"DELETE FROM alloc_windows WHERE session_id = ?1",
	};
	int rc = PK_STORE_OK;

	for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]) && rc == PK_STORE_OK; i++) {
		sqlite3_stmt *q = pk_store_prepare(st, sql[i]);

		if (!q)
			return PK_STORE_ERROR;
		sqlite3_bind_int64(q, 1, sid);
		rc = step_done(st, q);
		sqlite3_finalize(q);
	}
	return rc;
}

static int write_summary(struct pk_store *st, int64_t sid, const struct pk_alloc_summary *s)
{
	sqlite3_stmt *q = pk_store_prepare(st,
		"INSERT INTO alloc_sessions (session_id, mode, window_ns, period_ns, armed_ns,"
		" traced_ns, alloc_calls, free_calls, bytes_allocated, bytes_freed, peak_bytes,"
		" peak_ns, live_bytes, live_count, unknown_frees, failed_allocs, nested_calls,"
		" lost_returns, target_exited) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,"
		" ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)");
	const int64_t v[] = { s->window_ns, s->period_ns, s->armed_ns, s->traced_ns,
			      s->alloc_calls, s->free_calls, s->bytes_allocated, s->bytes_freed,
			      s->peak_bytes, s->peak_ns, s->live_bytes, s->live_count,
			      s->unknown_frees, s->failed_allocs, s->nested_calls, s->lost_returns,
			      s->target_exited };
	int rc;

	if (!q)
		return PK_STORE_ERROR;
	sqlite3_bind_int64(q, 1, sid);
	sqlite3_bind_text(q, 2, s->mode, -1, SQLITE_STATIC);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		sqlite3_bind_int64(q, (int)i + 3, v[i]);
	rc = step_done(st, q);
	sqlite3_finalize(q);
	return rc;
}

static int write_rows(struct pk_store *st, int64_t sid, const struct pk_alloc_data *d)
{
	sqlite3_stmt *q;
	int rc = PK_STORE_OK;

	q = pk_store_prepare(st, "INSERT OR REPLACE INTO alloc_stacks (session_id, stack_id, allocs,"
			     " bytes, frees, bytes_freed, live_count, live_bytes, peak_bytes)"
			     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
	if (!q)
		return PK_STORE_ERROR;
	for (size_t i = 0; i < d->n_stacks && rc == PK_STORE_OK; i++) {
		const struct pk_alloc_stack_row *r = &d->stacks[i];

		sqlite3_bind_int64(q, 1, sid);
		sqlite3_bind_int64(q, 2, r->stack_id);
		sqlite3_bind_int64(q, 3, r->allocs);
		sqlite3_bind_int64(q, 4, r->bytes);
		sqlite3_bind_int64(q, 5, r->frees);
		sqlite3_bind_int64(q, 6, r->bytes_freed);
		sqlite3_bind_int64(q, 7, r->live_count);
		sqlite3_bind_int64(q, 8, r->live_bytes);
		sqlite3_bind_int64(q, 9, r->peak_bytes);
		rc = step_done(st, q);
	}
	sqlite3_finalize(q);
	if (rc != PK_STORE_OK)
		return rc;

	q = pk_store_prepare(st, "INSERT INTO alloc_live (session_id, stack_id, size, count)"
			     " VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO UPDATE SET count = count + ?4");
	if (!q)
		return PK_STORE_ERROR;
	for (size_t i = 0; i < d->n_live && rc == PK_STORE_OK; i++) {
		sqlite3_bind_int64(q, 1, sid);
		sqlite3_bind_int64(q, 2, d->live[i].stack_id);
		sqlite3_bind_int64(q, 3, d->live[i].size);
		sqlite3_bind_int64(q, 4, d->live[i].count);
		rc = step_done(st, q);
	}
	sqlite3_finalize(q);
	if (rc != PK_STORE_OK)
		return rc;

	q = pk_store_prepare(st, "INSERT OR REPLACE INTO alloc_timeline (session_id, time_ns,"
			     " live_bytes, live_count, alloc_calls, free_calls, armed)"
			     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
	if (!q)
		return PK_STORE_ERROR;
	for (size_t i = 0; i < d->n_timeline && rc == PK_STORE_OK; i++) {
		const struct pk_alloc_point *p = &d->timeline[i];

		sqlite3_bind_int64(q, 1, sid);
		sqlite3_bind_int64(q, 2, p->time_ns);
		sqlite3_bind_int64(q, 3, p->live_bytes);
		sqlite3_bind_int64(q, 4, p->live_count);
		sqlite3_bind_int64(q, 5, p->alloc_calls);
		sqlite3_bind_int64(q, 6, p->free_calls);
		sqlite3_bind_int(q, 7, p->armed);
		rc = step_done(st, q);
	}
	sqlite3_finalize(q);
	if (rc != PK_STORE_OK)
		return rc;

	q = pk_store_prepare(st, "INSERT OR REPLACE INTO alloc_windows (session_id, start_ns, end_ns)"
			     " VALUES (?1, ?2, ?3)");
	if (!q)
		return PK_STORE_ERROR;
	for (size_t i = 0; i < d->n_windows && rc == PK_STORE_OK; i++) {
		sqlite3_bind_int64(q, 1, sid);
		sqlite3_bind_int64(q, 2, d->windows[i].start_ns);
		sqlite3_bind_int64(q, 3, d->windows[i].end_ns);
		rc = step_done(st, q);
	}
	sqlite3_finalize(q);
	return rc;
}

int pk_store_alloc_write(struct pk_store *st, int64_t sid, const struct pk_alloc_data *d)
{
	int rc;

	if (st->readonly || st->mode == PK_STORE_MODE_READ || st->schema < 3)
		return pk_store_fail(st, PK_STORE_READONLY, "'%s' cannot be written", st->path);
	if ((rc = pk_store_exec(st, "BEGIN IMMEDIATE")) != PK_STORE_OK)
		return rc;
	rc = delete_session_rows(st, sid);
	if (rc == PK_STORE_OK)
		rc = write_summary(st, sid, &d->summary);
	if (rc == PK_STORE_OK)
		rc = write_rows(st, sid, d);
	if (rc == PK_STORE_OK)
		rc = pk_store_exec(st, "COMMIT");
	if (rc != PK_STORE_OK)
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* Run a SELECT of ncol integer columns for session sid; calls row() per row. */
static int select_rows(struct pk_store *st, int64_t sid, const char *sql,
		       void (*row)(void *ctx, sqlite3_stmt *q), void *ctx)
{
	sqlite3_stmt *q = pk_store_prepare(st, sql);
	int src;

	if (!q)
		return PK_STORE_ERROR;
	sqlite3_bind_int64(q, 1, sid);
	while ((src = sqlite3_step(q)) == SQLITE_ROW)
		row(ctx, q);
	sqlite3_finalize(q);
	return src == SQLITE_DONE ? PK_STORE_OK : pk_store_sqlfail(st, "cannot read allocation data");
}

static void stack_row(void *ctx, sqlite3_stmt *q)
{
	struct pk_alloc_data *d = ctx;
	struct pk_alloc_stack_row *r;
	size_t cap = d->n_stacks;

	d->stacks = pk_xrealloc(d->stacks, (cap + 1) * sizeof(*d->stacks));
	r = &d->stacks[d->n_stacks++];
	r->stack_id = sqlite3_column_int64(q, 0);
	r->allocs = sqlite3_column_int64(q, 1);
	r->bytes = sqlite3_column_int64(q, 2);
	r->frees = sqlite3_column_int64(q, 3);
	r->bytes_freed = sqlite3_column_int64(q, 4);
	r->live_count = sqlite3_column_int64(q, 5);
	r->live_bytes = sqlite3_column_int64(q, 6);
	r->peak_bytes = sqlite3_column_int64(q, 7);
}

static void live_row(void *ctx, sqlite3_stmt *q)
{
	struct pk_alloc_data *d = ctx;
	struct pk_alloc_live_row *r;

	d->live = pk_xrealloc(d->live, (d->n_live + 1) * sizeof(*d->live));
	r = &d->live[d->n_live++];
	r->stack_id = sqlite3_column_int64(q, 0);
	r->size = sqlite3_column_int64(q, 1);
	r->count = sqlite3_column_int64(q, 2);
}

static void point_row(void *ctx, sqlite3_stmt *q)
{
	struct pk_alloc_data *d = ctx;
	struct pk_alloc_point *p;

	d->timeline = pk_xrealloc(d->timeline, (d->n_timeline + 1) * sizeof(*d->timeline));
	p = &d->timeline[d->n_timeline++];
	p->time_ns = sqlite3_column_int64(q, 0);
	p->live_bytes = sqlite3_column_int64(q, 1);
	p->live_count = sqlite3_column_int64(q, 2);
	p->alloc_calls = sqlite3_column_int64(q, 3);
	p->free_calls = sqlite3_column_int64(q, 4);
	p->armed = sqlite3_column_int(q, 5);
}

static void window_row(void *ctx, sqlite3_stmt *q)
{
	struct pk_alloc_data *d = ctx;

	d->windows = pk_xrealloc(d->windows, (d->n_windows + 1) * sizeof(*d->windows));
	d->windows[d->n_windows].start_ns = sqlite3_column_int64(q, 0);
	d->windows[d->n_windows].end_ns = sqlite3_column_int64(q, 1);
	d->n_windows++;
}

static int read_summary(struct pk_store *st, int64_t sid, struct pk_alloc_summary *s)
{
	sqlite3_stmt *q = pk_store_prepare(st,
		"SELECT mode, window_ns, period_ns, armed_ns, traced_ns, alloc_calls, free_calls,"
		" bytes_allocated, bytes_freed, peak_bytes, peak_ns, live_bytes, live_count,"
		" unknown_frees, failed_allocs, nested_calls, lost_returns, target_exited"
		" FROM alloc_sessions WHERE session_id = ?1");
	int src, rc = PK_STORE_OK;

	if (!q)
		return PK_STORE_ERROR;
	sqlite3_bind_int64(q, 1, sid);
	src = sqlite3_step(q);
	if (src == SQLITE_ROW) {
		int64_t *v[] = { &s->window_ns, &s->period_ns, &s->armed_ns, &s->traced_ns,
				 &s->alloc_calls, &s->free_calls, &s->bytes_allocated,
				 &s->bytes_freed, &s->peak_bytes, &s->peak_ns, &s->live_bytes,
				 &s->live_count, &s->unknown_frees, &s->failed_allocs,
				 &s->nested_calls, &s->lost_returns };
		const char *mode = (const char *)sqlite3_column_text(q, 0);

		snprintf(s->mode, sizeof(s->mode), "%s", mode ? mode : "full");
		for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
			*v[i] = sqlite3_column_int64(q, (int)i + 1);
		s->target_exited = sqlite3_column_int(q, 17);
	} else if (src == SQLITE_DONE) {
		rc = pk_store_fail(st, PK_STORE_NOTFOUND,
				   "session %lld has no allocation data (record it with perfkitd --alloc)",
				   (long long)sid);
	} else {
		rc = pk_store_sqlfail(st, "cannot read allocation data");
	}
	sqlite3_finalize(q);
	return rc;
}

int pk_store_alloc_read(struct pk_store *st, int64_t sid, struct pk_alloc_data *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if (st->schema < 3)
		return pk_store_fail(st, PK_STORE_NOTFOUND,
				     "session %lld has no allocation data (the database predates it)",
				     (long long)sid);
	rc = read_summary(st, sid, &out->summary);
	if (rc == PK_STORE_OK)
		rc = select_rows(st, sid, "SELECT stack_id, allocs, bytes, frees, bytes_freed,"
				 " live_count, live_bytes, peak_bytes FROM alloc_stacks"
				 " WHERE session_id = ?1 ORDER BY stack_id", stack_row, out);
	if (rc == PK_STORE_OK)
		rc = select_rows(st, sid, "SELECT stack_id, size, count FROM alloc_live"
				 " WHERE session_id = ?1 ORDER BY stack_id, size", live_row, out);
	if (rc == PK_STORE_OK)
		rc = select_rows(st, sid, "SELECT time_ns, live_bytes, live_count, alloc_calls,"
				 " free_calls, armed FROM alloc_timeline WHERE session_id = ?1"
				 " ORDER BY time_ns", point_row, out);
	if (rc == PK_STORE_OK)
		rc = select_rows(st, sid, "SELECT start_ns, end_ns FROM alloc_windows"
				 " WHERE session_id = ?1 ORDER BY start_ns", window_row, out);
	if (rc != PK_STORE_OK)
		pk_alloc_data_release(out);
	return rc;
}

void pk_alloc_data_release(struct pk_alloc_data *d)
{
	if (!d)
		return;
	free(d->stacks);
	free(d->live);
	free(d->timeline);
	free(d->windows);
	memset(d, 0, sizeof(*d));
}
