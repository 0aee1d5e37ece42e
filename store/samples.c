/*
 * samples.c - packing samples into blocks, and the flush that writes
 * everything a writer buffered in one transaction.
 *
 * Why not one row per sample: a row costs 30-40 bytes of file plus its
 * index entry, and reading a million of them through SQLite takes seconds.
 * A block row holds up to PK_STORE_BLOCK_SAMPLES samples as varints, each
 * relative to the previous sample of the block:
 *
 *   header   varint  event << 2 | (weight != 1) << 1 | (state != 0)
 *   time     varint  zigzag(time_ns - previous time_ns); the first sample
 *                    of a block is relative to the row's first_ns
 *   tid      varint  zigzag(tid - previous tid); previous starts at 0
 *   stack    varint  stack_id
 *   weight   varint  zigzag(weight)        only when the header says so
 *   state    1 byte                        only when the header says so
 *
 * A typical cpu sample takes 6-9 bytes.  The row also records the block's
 * event (or 0 when it mixes events) so readers of one event skip the
 * others' blocks without decoding them.  Decoding lives in read.c.
 */
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"
#include "util.h"

/* The largest encoding of one sample: 5 varints of up to 10 bytes + 1. */
#define MAX_SAMPLE_BYTES 51

void pk_writer_close_block(struct pk_writer *w)
{
	struct pk_pending_block *b;

	if (w->blk_count == 0)
		return;
	pk_xgrow((void **)&w->blocks, &w->cap_blocks, w->n_blocks + 1, sizeof(*w->blocks));
	b = &w->blocks[w->n_blocks++];
	b->event = w->blk_event > 0 ? w->blk_event : 0;
	b->first_ns = w->blk_first_ns;
	b->last_ns = w->blk_last_ns;
	b->count = w->blk_count;
	b->data = w->blk;
	b->len = w->blk_len;
	w->blk = NULL;
	w->blk_len = w->blk_cap = 0;
	w->blk_count = 0;
	w->blk_event = -1;
}

int pk_store_add_sample(struct pk_store *st, int64_t sid, const struct pk_sample *s)
{
	int err = PK_STORE_OK;
	struct pk_writer *w = pk_writer_get(st, sid, &err);
	unsigned char *p;
	uint64_t header;

	if (!w)
		return err;
	if (s->event < 1 || s->event > w->n_events || s->stack_id < 0 || s->stack_id > w->n_nodes)
		return pk_store_fail(st, PK_STORE_ERROR,
				     "sample refers to an unknown event %d or stack %lld",
				     (int)s->event, (long long)s->stack_id);
	if (w->blk_count == 0) {
		w->blk_first_ns = s->time_ns;
		w->blk_prev_ns = s->time_ns;
		w->blk_prev_tid = 0;
		w->blk_event = s->event;
	} else if (w->blk_event != s->event) {
		w->blk_event = 0;
	}
	pk_xgrow((void **)&w->blk, &w->blk_cap, w->blk_len + MAX_SAMPLE_BYTES, 1);
	p = w->blk + w->blk_len;
	header = (uint64_t)s->event << 2 | (uint64_t)(s->weight != 1) << 1 | (s->state != 0);
	p += pk_varint_put(p, header);
	p += pk_varint_put(p, pk_zigzag(s->time_ns - w->blk_prev_ns));
	p += pk_varint_put(p, pk_zigzag((int64_t)s->tid - w->blk_prev_tid));
	p += pk_varint_put(p, (uint64_t)s->stack_id);
	if (s->weight != 1)
		p += pk_varint_put(p, pk_zigzag(s->weight));
	if (s->state)
		*p++ = (unsigned char)s->state;
	w->blk_len = (size_t)(p - w->blk);
	w->blk_prev_ns = s->time_ns;
	w->blk_prev_tid = s->tid;
	if (w->blk_count == 0 || s->time_ns > w->blk_last_ns)
		w->blk_last_ns = s->time_ns;
	w->blk_count++;
	w->pending_samples++;
	if (w->blk_count >= PK_STORE_BLOCK_SAMPLES) {
		pk_writer_close_block(w);
		return pk_store_flush(st);
	}
	return PK_STORE_OK;
}

/* Statements used by a flush, prepared once per flush. */
enum { Q_MODULE, Q_FUNCTION, Q_FRAME, Q_NODE, Q_EVENT, Q_BLOCK, Q_COUNT, N_QUERIES };

static const char *const flush_sql[N_QUERIES] = {
	"INSERT INTO modules (session_id, id, path, build_id) VALUES (?1, ?2, ?3, ?4)",
	"INSERT INTO functions (session_id, id, name, module_id) VALUES (?1, ?2, ?3, ?5)",
	"INSERT INTO frames (session_id, id, file, function_id, module_id, offset, line)"
	" VALUES (?1, ?2, ?3, ?5, ?6, ?7, ?8)",
	"INSERT INTO stack_nodes (session_id, id, parent, frame_id, depth)"
	" VALUES (?1, ?2, ?5, ?6, ?7)",
	"INSERT INTO events (session_id, id, name, unit) VALUES (?1, ?2, ?3, ?4)",
	"INSERT INTO sample_blocks (session_id, event, first_ns, last_ns, count, data)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	"UPDATE sessions SET samples = samples + ?2 WHERE id = ?1",
};

/* Write one row of a writer with the statement of its kind. */
static int write_row(sqlite3_stmt *q, int64_t sid, const struct pk_pending_row *r)
{
	int nparams = sqlite3_bind_parameter_count(q);

	sqlite3_bind_int64(q, 1, sid);
	sqlite3_bind_int64(q, 2, r->id);
	if (nparams >= 3)
		sqlite3_bind_text(q, 3, r->s1, -1, SQLITE_STATIC);
	if (nparams >= 4)
		sqlite3_bind_text(q, 4, r->s2, -1, SQLITE_STATIC);
	if (nparams >= 5)
		sqlite3_bind_int64(q, 5, r->a);
	if (nparams >= 6)
		sqlite3_bind_int64(q, 6, r->b);
	if (nparams >= 7)
		sqlite3_bind_int64(q, 7, r->c);
	if (nparams >= 8)
		sqlite3_bind_int64(q, 8, r->d);
	return sqlite3_step(q) == SQLITE_DONE ? 0 : -1;
}

static int write_writer(struct pk_store *st, sqlite3_stmt **qs, struct pk_writer *w)
{
	size_t i;

	for (i = 0; i < w->n_rows; i++) {
		sqlite3_stmt *q = qs[w->rows[i].kind];
		int bad = write_row(q, w->sid, &w->rows[i]);

		sqlite3_reset(q);
		if (bad)
			return pk_store_sqlfail(st, "cannot store symbols");
	}
	for (i = 0; i < w->n_blocks; i++) {
		sqlite3_stmt *q = qs[Q_BLOCK];
		const struct pk_pending_block *b = &w->blocks[i];
		int src;

		sqlite3_bind_int64(q, 1, w->sid);
		sqlite3_bind_int(q, 2, b->event);
		sqlite3_bind_int64(q, 3, b->first_ns);
		sqlite3_bind_int64(q, 4, b->last_ns);
		sqlite3_bind_int64(q, 5, b->count);
		sqlite3_bind_blob(q, 6, b->data, (int)b->len, SQLITE_STATIC);
		src = sqlite3_step(q);
		sqlite3_reset(q);
		if (src != SQLITE_DONE)
			return pk_store_sqlfail(st, "cannot store samples");
	}
	if (w->pending_samples) {
		sqlite3_stmt *q = qs[Q_COUNT];
		int src;

		sqlite3_bind_int64(q, 1, w->sid);
		sqlite3_bind_int64(q, 2, w->pending_samples);
		src = sqlite3_step(q);
		sqlite3_reset(q);
		if (src != SQLITE_DONE)
			return pk_store_sqlfail(st, "cannot count samples");
	}
	return PK_STORE_OK;
}

/* After a commit: forget what was written. */
static void clear_written(struct pk_writer *w)
{
	size_t i;

	for (i = 0; i < w->n_rows; i++) {
		free(w->rows[i].s1);
		free(w->rows[i].s2);
	}
	for (i = 0; i < w->n_blocks; i++)
		free(w->blocks[i].data);
	w->n_rows = 0;
	w->n_blocks = 0;
	w->pending_samples = 0;
}

/*
 * Everything pending, all writers, one IMMEDIATE transaction.  On failure
 * the transaction is rolled back and the pending data kept, so a later
 * flush can retry.
 */
int pk_store_flush(struct pk_store *st)
{
	sqlite3_stmt *qs[N_QUERIES] = { NULL };
	struct pk_writer *w;
	int rc = PK_STORE_OK, i, any = 0;

	for (w = st->writers; w; w = w->next) {
		pk_writer_close_block(w);
		any |= w->n_rows || w->n_blocks || w->pending_samples;
	}
	if (!any)
		return PK_STORE_OK;
	if ((rc = pk_store_exec(st, "BEGIN IMMEDIATE")) != PK_STORE_OK)
		return rc;
	for (i = 0; i < N_QUERIES && rc == PK_STORE_OK; i++)
		if (!(qs[i] = pk_store_prepare(st, flush_sql[i])))
			rc = PK_STORE_ERROR;
	for (w = st->writers; w && rc == PK_STORE_OK; w = w->next)
		rc = write_writer(st, qs, w);
	for (i = 0; i < N_QUERIES; i++)
		sqlite3_finalize(qs[i]);
	if (rc == PK_STORE_OK)
		rc = pk_store_exec(st, "COMMIT");
	if (rc != PK_STORE_OK) {
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return rc;
	}
	for (w = st->writers; w; w = w->next)
		clear_written(w);
	return PK_STORE_OK;
}
