/*
 * internal.h - private parts of the session store shared by the store's .c files.
 *
 * Nothing outside store/ includes this header except the store's own unit
 * test, which uses the schema-version hook to build old databases.
 *
 * The write side keeps one struct pk_writer per session being written: the
 * in-memory intern tables (so interning is O(1) and never reads SQL), the
 * rows made since the last flush, and the sample block being packed.
 * pk_store_flush() writes all of that in one short transaction, so a
 * concurrent writer of another session is never blocked for long.
 */
#ifndef PK_STORE_INTERNAL_H
#define PK_STORE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

#include "store/store.h"

/* PRAGMA application_id of a perfkit database: "PkDB". */
#define PK_STORE_APPLICATION_ID 0x506b4442
/* Samples per packed block; a full block triggers an automatic flush. */
#define PK_STORE_BLOCK_SAMPLES 4096
/* Interned rows waiting for a flush before one is forced. */
#define PK_STORE_MAX_PENDING_ROWS 16384
/* How long a statement waits for another connection's lock. */
#define PK_STORE_BUSY_TIMEOUT_MS 10000

/*
 * Test hook: when > 0, pk_store_open() migrates a database only up to this
 * schema version (used to build "old" databases in tests/unit/test-store.c).
 */
extern int pk_store_test_max_version;

/* ---- intern tables: byte-string key -> id, open addressing ------------- */

struct pk_intern_slot {
	uint64_t hash;
	uint32_t key_off;
	uint32_t key_len;
	int64_t id;          /* 0 = empty slot */
};

struct pk_intern_table {
	struct pk_intern_slot *slots;
	size_t cap;          /* power of two, or 0 */
	size_t used;
	unsigned char *keys; /* all keys, back to back */
	size_t keys_len, keys_cap;
};

/* The id stored for key, or 0 when absent. */
int64_t pk_intern_lookup(const struct pk_intern_table *t, const void *key, size_t len);
/* Store key -> id (id > 0); key must be absent. */
void pk_intern_insert(struct pk_intern_table *t, const void *key, size_t len, int64_t id);
void pk_intern_release(struct pk_intern_table *t);

/* ---- the write side ----------------------------------------------------- */

enum pk_row_kind {
	PK_ROW_MODULE,
	PK_ROW_FUNCTION,
	PK_ROW_FRAME,
	PK_ROW_NODE,
	PK_ROW_EVENT,
};

/* An interned row not yet written. */
struct pk_pending_row {
	enum pk_row_kind kind;
	int64_t id;
	int64_t a, b, c, d;  /* kind-specific integer columns */
	char *s1, *s2;       /* kind-specific text columns (owned) */
};

/* A finished sample block not yet written. */
struct pk_pending_block {
	int event;           /* the only event in the block, or 0 when mixed */
	int64_t first_ns, last_ns;
	int64_t count;
	unsigned char *data; /* owned */
	size_t len;
};

struct pk_writer {
	struct pk_writer *next;
	int64_t sid;
	struct pk_intern_table modules, functions, frames, nodes, events;
	int64_t n_modules, n_functions, n_frames, n_nodes, n_events;
	int *node_depth;     /* node_depth[id], id 0 = root (depth 0) */
	size_t node_depth_cap;

	struct pk_pending_row *rows;
	size_t n_rows, cap_rows;

	unsigned char *key;  /* scratch space to build intern keys */
	size_t key_cap;

	/* the block being packed */
	unsigned char *blk;
	size_t blk_len, blk_cap;
	int64_t blk_count;
	int64_t blk_first_ns, blk_last_ns, blk_prev_ns;
	int32_t blk_prev_tid;
	int blk_event;       /* -1: no sample yet; 0: mixed; else the event */

	struct pk_pending_block *blocks;
	size_t n_blocks, cap_blocks;
	int64_t pending_samples;
};

struct pk_store {
	sqlite3 *db;
	char *path;
	enum pk_store_mode mode;
	int readonly;        /* the connection cannot write */
	int schema;          /* user_version after open */
	char errmsg[512];
	struct pk_writer *writers;
};

/* Set st->errmsg (printf-style); returns code for "return pk_store_fail(...)". */
int pk_store_fail(struct pk_store *st, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Set st->errmsg from SQLite's last error, prefixed by what failed. */
int pk_store_sqlfail(struct pk_store *st, const char *what);

/* Prepare, or record the error and return NULL. */
sqlite3_stmt *pk_store_prepare(struct pk_store *st, const char *sql);
/* Run a statement without results (BEGIN, COMMIT...); PK_STORE_OK or error. */
int pk_store_exec(struct pk_store *st, const char *sql);

/* The writer of session sid, made (and filled from rows already stored)
 * on first use; NULL with errmsg set when the session does not exist. */
struct pk_writer *pk_writer_get(struct pk_store *st, int64_t sid, int *err);
/* Forget a session's writer (after remove, or at close). */
void pk_writer_drop(struct pk_store *st, int64_t sid);
void pk_writer_free(struct pk_writer *w);
/* Close the block being packed into the pending list. */
void pk_writer_close_block(struct pk_writer *w);
/* Queue a pending row (takes ownership of s1, s2). */
void pk_writer_queue_row(struct pk_writer *w, const struct pk_pending_row *row);

/* Schema: the migration steps and their application (schema.c). */
int pk_store_schema_migrate(struct pk_store *st, int from, int to);
/* Mark dead recorders' sessions aborted (open.c). */
int pk_store_fix_aborted(struct pk_store *st);

/* ---- varints (LEB128) and zigzag, for the packed sample blocks --------- */

static inline size_t pk_varint_put(unsigned char *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (unsigned char)v;
	return n;
}

/* Decode at *p (not past end); returns 0 on success, -1 when truncated. */
static inline int pk_varint_get(const unsigned char **p, const unsigned char *end, uint64_t *out)
{
	uint64_t v = 0;
	unsigned shift = 0;
	const unsigned char *q = *p;

	while (q < end && shift < 64) {
		unsigned char b = *q++;

		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*p = q;
			*out = v;
			return 0;
		}
		shift += 7;
	}
	return -1;
}

static inline uint64_t pk_zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t pk_unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

#endif
