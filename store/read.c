/*
 * read.c - the read side: a session's symbol tables in one load, event
 * lookup, and streaming the packed samples back (decoder of the format
 * described in samples.c).
 */
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"
#include "util.h"

static char *dup_col(sqlite3_stmt *q, int col)
{
	const unsigned char *t = sqlite3_column_text(q, col);

	return t ? pk_xstrdup((const char *)t) : NULL;
}

void pk_symtab_release(struct pk_symtab *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->n_modules; i++) {
		free(t->modules[i].path);
		free(t->modules[i].build_id);
	}
	for (i = 0; i < t->n_functions; i++)
		free(t->functions[i].name);
	for (i = 0; i < t->n_frames; i++)
		free(t->frames[i].file);
	for (i = 0; i < t->n_events; i++) {
		free(t->events[i].name);
		free(t->events[i].unit);
	}
	free(t->modules);
	free(t->functions);
	free(t->frames);
	free(t->nodes);
	free(t->events);
	memset(t, 0, sizeof(*t));
}

/*
 * Load one table into an array indexed by id - 1.  Ids are dense, so the
 * count is the highest id; a hole (never written by this store) stays
 * zeroed rather than shifting later rows.
 */
static int load_table(struct pk_store *st, int64_t sid, int kind, struct pk_symtab *t)
{
	static const char *const sql[] = {
		"SELECT id, path, build_id FROM modules WHERE session_id = ?1 ORDER BY id",
		"SELECT id, name, module_id FROM functions WHERE session_id = ?1 ORDER BY id",
		"SELECT id, function_id, module_id, offset, file, line FROM frames"
		" WHERE session_id = ?1 ORDER BY id",
		"SELECT id, parent, frame_id, depth FROM stack_nodes WHERE session_id = ?1 ORDER BY id",
		"SELECT id, name, unit FROM events WHERE session_id = ?1 ORDER BY id",
	};
	sqlite3_stmt *q = pk_store_prepare(st, sql[kind]);
	size_t cap = 0, n = 0;
	void *arr = NULL;
	int src;

	if (!q)
		return PK_STORE_ERROR;
	sqlite3_bind_int64(q, 1, sid);
	while ((src = sqlite3_step(q)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(q, 0);
		size_t i, old = cap;

		if (id < 1 || id > (int64_t)(n + 1000000)) {
			sqlite3_finalize(q);
			free(arr);
			return pk_store_fail(st, PK_STORE_ERROR, "session %lld has a corrupt symbol table",
					     (long long)sid);
		}
		i = (size_t)id - 1;
		switch (kind) {
		case PK_ROW_MODULE: {
			struct pk_module_row *v;

			pk_xgrow(&arr, &cap, i + 1, sizeof(*v));
			v = arr;
			memset(v + old, 0, (cap - old) * sizeof(*v));
			v[i].path = dup_col(q, 1);
			v[i].build_id = dup_col(q, 2);
			break;
		}
		case PK_ROW_FUNCTION: {
			struct pk_function_row *v;

			pk_xgrow(&arr, &cap, i + 1, sizeof(*v));
			v = arr;
			memset(v + old, 0, (cap - old) * sizeof(*v));
			v[i].name = dup_col(q, 1);
			v[i].module_id = sqlite3_column_int64(q, 2);
			break;
		}
		case PK_ROW_FRAME: {
			struct pk_frame_row *v;

			pk_xgrow(&arr, &cap, i + 1, sizeof(*v));
			v = arr;
			memset(v + old, 0, (cap - old) * sizeof(*v));
			v[i].function_id = sqlite3_column_int64(q, 1);
			v[i].module_id = sqlite3_column_int64(q, 2);
			v[i].offset = (uint64_t)sqlite3_column_int64(q, 3);
			v[i].file = dup_col(q, 4);
			v[i].line = sqlite3_column_int(q, 5);
			break;
		}
		case PK_ROW_NODE: {
			struct pk_node_row *v;

			pk_xgrow(&arr, &cap, i + 1, sizeof(*v));
			v = arr;
			memset(v + old, 0, (cap - old) * sizeof(*v));
			v[i].parent = sqlite3_column_int64(q, 1);
			v[i].frame_id = sqlite3_column_int64(q, 2);
			v[i].depth = sqlite3_column_int(q, 3);
			break;
		}
		default: {
			struct pk_event_row *v;

			pk_xgrow(&arr, &cap, i + 1, sizeof(*v));
			v = arr;
			memset(v + old, 0, (cap - old) * sizeof(*v));
			v[i].name = dup_col(q, 1);
			v[i].unit = dup_col(q, 2);
			break;
		}
		}
		if (i + 1 > n)
			n = i + 1;
	}
	sqlite3_finalize(q);
	switch (kind) {
	case PK_ROW_MODULE: t->modules = arr; t->n_modules = n; break;
	case PK_ROW_FUNCTION: t->functions = arr; t->n_functions = n; break;
	case PK_ROW_FRAME: t->frames = arr; t->n_frames = n; break;
	case PK_ROW_NODE: t->nodes = arr; t->n_nodes = n; break;
	default: t->events = arr; t->n_events = n; break;
	}
	if (src != SQLITE_DONE)
		return pk_store_sqlfail(st, "cannot read the session's symbols");
	return PK_STORE_OK;
}

int pk_store_load_symtab(struct pk_store *st, int64_t sid, struct pk_symtab *out)
{
	int kind, rc = PK_STORE_OK;

	memset(out, 0, sizeof(*out));
	/* One read transaction: a consistent snapshot while perfkitd writes. */
	if (pk_store_exec(st, "BEGIN") != PK_STORE_OK)
		return PK_STORE_ERROR;
	for (kind = PK_ROW_MODULE; kind <= PK_ROW_EVENT && rc == PK_STORE_OK; kind++)
		rc = load_table(st, sid, kind, out);
	sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
	if (rc != PK_STORE_OK)
		pk_symtab_release(out);
	return rc;
}

int pk_store_find_event(struct pk_store *st, int64_t sid, const char *name)
{
	sqlite3_stmt *q = pk_store_prepare(st, "SELECT id FROM events WHERE session_id = ?1 AND name = ?2");
	int rc, src;

	if (!q)
		return PK_STORE_ERROR;
	sqlite3_bind_int64(q, 1, sid);
	sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
	src = sqlite3_step(q);
	if (src == SQLITE_ROW)
		rc = sqlite3_column_int(q, 0);
	else if (src == SQLITE_DONE)
		rc = pk_store_fail(st, PK_STORE_NOTFOUND, "session %lld has no event '%s'",
				   (long long)sid, name);
	else
		rc = pk_store_sqlfail(st, "cannot read events");
	sqlite3_finalize(q);
	return rc;
}

/* Decode one block and call cb for its samples of event (0 = all). */
static int decode_block(struct pk_store *st, const unsigned char *p, size_t len, int64_t count,
			int64_t first_ns, int event, pk_sample_cb cb, void *ctx)
{
	const unsigned char *end = p + len;
	struct pk_sample s;
	int64_t prev_ns = first_ns, i;
	int32_t prev_tid = 0;

	for (i = 0; i < count; i++) {
		uint64_t header, dt, dtid, stack, weight = 2;  /* zigzag(1) */

		if (pk_varint_get(&p, end, &header) || pk_varint_get(&p, end, &dt) ||
		    pk_varint_get(&p, end, &dtid) || pk_varint_get(&p, end, &stack) ||
		    ((header & 2) && pk_varint_get(&p, end, &weight)) ||
		    ((header & 1) && p >= end))
			return pk_store_fail(st, PK_STORE_ERROR, "a sample block in '%s' is corrupt",
					     st->path);
		s.time_ns = prev_ns + pk_unzigzag(dt);
		s.tid = (int32_t)(prev_tid + pk_unzigzag(dtid));
		s.event = (int32_t)(header >> 2);
		s.stack_id = (int64_t)stack;
		s.weight = pk_unzigzag(weight);
		s.state = (header & 1) ? (char)*p++ : 0;
		prev_ns = s.time_ns;
		prev_tid = s.tid;
		if (!event || s.event == event) {
			int r = cb(ctx, &s);

			if (r)
				return r;
		}
	}
	return PK_STORE_OK;
}

int pk_store_foreach_sample(struct pk_store *st, int64_t sid, int event, pk_sample_cb cb, void *ctx)
{
	sqlite3_stmt *q = pk_store_prepare(st, "SELECT event, first_ns, count, data FROM sample_blocks"
					   " WHERE session_id = ?1 AND (?2 = 0 OR event = 0 OR event = ?2)"
					   " ORDER BY id");
	int rc = PK_STORE_OK, src;

	if (!q)
		return PK_STORE_ERROR;
	sqlite3_bind_int64(q, 1, sid);
	sqlite3_bind_int(q, 2, event);
	while ((src = sqlite3_step(q)) == SQLITE_ROW) {
		const unsigned char *data = sqlite3_column_blob(q, 3);
		size_t len = (size_t)sqlite3_column_bytes(q, 3);

		rc = decode_block(st, data, len, sqlite3_column_int64(q, 2),
				  sqlite3_column_int64(q, 1), event, cb, ctx);
		if (rc)
			break;
	}
	if (!rc && src != SQLITE_DONE)
		rc = pk_store_sqlfail(st, "cannot read samples");
	sqlite3_finalize(q);
	return rc;
}
