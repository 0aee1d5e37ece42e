/*
 * probes.c - results of function probes (perfkitd --probe), schema v4:
 * one row per probed function and thread, plus an all-threads row
 * (tid 0) whose percentiles come from the merged histograms.
 *
 * Readers check for the table rather than for a schema version, so a
 * database made before function probes reads as "no probes".
 */
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"
#include "util.h"

static int have_table(struct pk_store *st)
{
	sqlite3_stmt *q = pk_store_prepare(st, "SELECT 1 FROM sqlite_master"
					   " WHERE type = 'table' AND name = 'probe_results'");
	int found;

	if (!q)
		return 0;
	found = sqlite3_step(q) == SQLITE_ROW;
	sqlite3_finalize(q);
	return found;
}

int pk_store_add_probe_row(struct pk_store *st, int64_t sid, const struct pk_probe_row *r)
{
	sqlite3_stmt *q;
	int rc = PK_STORE_OK;

	if (!have_table(st))
		return pk_store_fail(st, PK_STORE_READONLY,
				     "'%s' has no table for function probes; open it writable to upgrade it",
				     st->path);
	q = pk_store_prepare(st, "INSERT OR REPLACE INTO probe_results (session_id, function, module,"
			     " tid, calls, lost, returned, total_ns, self_ns, sum_ns, min_ns, max_ns,"
			     " p50_ns, p90_ns, p99_ns)"
			     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)");
	if (!q)
		return PK_STORE_ERROR;
	sqlite3_bind_int64(q, 1, sid);
	sqlite3_bind_text(q, 2, r->function, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, r->module ? r->module : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, r->tid);
	sqlite3_bind_int64(q, 5, r->calls);
	sqlite3_bind_int64(q, 6, r->lost);
	sqlite3_bind_int64(q, 7, r->returned);
	sqlite3_bind_int64(q, 8, r->total_ns);
	sqlite3_bind_int64(q, 9, r->self_ns);
	sqlite3_bind_int64(q, 10, r->sum_ns);
	sqlite3_bind_int64(q, 11, r->min_ns);
	sqlite3_bind_int64(q, 12, r->max_ns);
	sqlite3_bind_int64(q, 13, r->p50_ns);
	sqlite3_bind_int64(q, 14, r->p90_ns);
	sqlite3_bind_int64(q, 15, r->p99_ns);
	if (sqlite3_step(q) != SQLITE_DONE)
		rc = pk_store_sqlfail(st, "cannot store function probe results");
	sqlite3_finalize(q);
	return rc;
}

int pk_store_probe_rows(struct pk_store *st, int64_t sid, int all_threads_only,
			struct pk_probe_row **out, size_t *n)
{
	sqlite3_stmt *q;
	struct pk_probe_row *v = NULL;
	size_t cap = 0, count = 0;
	int src;

	*out = NULL;
	*n = 0;
	if (!have_table(st))
		return PK_STORE_OK;
	q = pk_store_prepare(st, "SELECT function, module, tid, calls, lost, returned, total_ns,"
			     " self_ns, sum_ns, min_ns, max_ns, p50_ns, p90_ns, p99_ns"
			     " FROM probe_results WHERE session_id = ?1 AND (?2 = 0 OR tid = 0)"
			     " ORDER BY total_ns DESC, calls DESC, function, module, tid");
	if (!q)
		return PK_STORE_ERROR;
	sqlite3_bind_int64(q, 1, sid);
	sqlite3_bind_int(q, 2, all_threads_only);
	while ((src = sqlite3_step(q)) == SQLITE_ROW) {
		struct pk_probe_row *r;

		pk_xgrow((void **)&v, &cap, count + 1, sizeof(*v));
		r = &v[count++];
		r->function = pk_xstrdup((const char *)sqlite3_column_text(q, 0));
		r->module = pk_xstrdup((const char *)sqlite3_column_text(q, 1));
		r->tid = sqlite3_column_int(q, 2);
		r->calls = sqlite3_column_int64(q, 3);
		r->lost = sqlite3_column_int64(q, 4);
		r->returned = sqlite3_column_int64(q, 5);
		r->total_ns = sqlite3_column_int64(q, 6);
		r->self_ns = sqlite3_column_int64(q, 7);
		r->sum_ns = sqlite3_column_int64(q, 8);
		r->min_ns = sqlite3_column_int64(q, 9);
		r->max_ns = sqlite3_column_int64(q, 10);
		r->p50_ns = sqlite3_column_int64(q, 11);
		r->p90_ns = sqlite3_column_int64(q, 12);
		r->p99_ns = sqlite3_column_int64(q, 13);
	}
	sqlite3_finalize(q);
	if (src != SQLITE_DONE) {
		pk_probe_row_array_free(v, count);
		return pk_store_sqlfail(st, "cannot read function probe results");
	}
	*out = v;
	*n = count;
	return PK_STORE_OK;
}

void pk_probe_row_array_free(struct pk_probe_row *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++) {
		free(v[i].function);
		free(v[i].module);
	}
	free(v);
}
