/*
 * intern.c - the write side's symbol tables: modules, functions, frames,
 * stack nodes and events are interned through in-memory hash tables (one
 * per kind and session), given dense ids 1, 2, 3... and queued for the next
 * flush.  No SQL runs per call, so perfkitd can intern every frame of every
 * sample.
 *
 * A writer for a session that already has rows (written by an earlier
 * connection) is first filled from the database, so ids stay dense and
 * equal rows are never stored twice.
 */
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"
#include "util.h"

/* ---- the hash table ---------------------------------------------------- */

/* A fast 64-bit hash of a byte string (multiply-xorshift per 8 bytes). */
static uint64_t hash_bytes(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ (len * 0xff51afd7ed558ccdULL);

	while (len >= 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
		h ^= h >> 29;
		p += 8;
		len -= 8;
	}
	if (len) {
		uint64_t w = 0;

		memcpy(&w, p, len);
		h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

static struct pk_intern_slot *find_slot(const struct pk_intern_table *t, const void *key,
					size_t len, uint64_t h)
{
	size_t mask = t->cap - 1, i = (size_t)h & mask;

	for (;; i = (i + 1) & mask) {
		struct pk_intern_slot *s = &t->slots[i];

		if (!s->id)
			return s;
		if (s->hash == h && s->key_len == len && memcmp(t->keys + s->key_off, key, len) == 0)
			return s;
	}
}

int64_t pk_intern_lookup(const struct pk_intern_table *t, const void *key, size_t len)
{
	if (!t->cap)
		return 0;
	return find_slot(t, key, len, hash_bytes(key, len))->id;
}

static void grow_table(struct pk_intern_table *t)
{
	struct pk_intern_slot *old = t->slots;
	size_t old_cap = t->cap, i;

	t->cap = old_cap ? old_cap * 2 : 256;
	t->slots = pk_xcalloc(t->cap, sizeof(*t->slots));
	for (i = 0; i < old_cap; i++) {
		struct pk_intern_slot *s = &old[i];
		size_t mask = t->cap - 1, j = (size_t)s->hash & mask;

		if (!s->id)
			continue;
		while (t->slots[j].id)
			j = (j + 1) & mask;
		t->slots[j] = *s;
	}
	free(old);
}

void pk_intern_insert(struct pk_intern_table *t, const void *key, size_t len, int64_t id)
{
	uint64_t h = hash_bytes(key, len);
	struct pk_intern_slot *s;

	if ((t->used + 1) * 4 > t->cap * 3)  /* keep the load under 3/4 */
		grow_table(t);
	s = find_slot(t, key, len, h);
	pk_xgrow((void **)&t->keys, &t->keys_cap, t->keys_len + len, 1);
	memcpy(t->keys + t->keys_len, key, len);
	s->hash = h;
	s->key_off = (uint32_t)t->keys_len;
	s->key_len = (uint32_t)len;
	s->id = id;
	t->keys_len += len;
	t->used++;
}

void pk_intern_release(struct pk_intern_table *t)
{
	free(t->slots);
	free(t->keys);
	memset(t, 0, sizeof(*t));
}

/* ---- keys --------------------------------------------------------------- */

/* A key is built in w->key: integers as raw bytes, strings with a
 * presence byte so NULL and "" differ. */
struct keybuf {
	struct pk_writer *w;
	size_t len;
};

static void key_put(struct keybuf *k, const void *p, size_t n)
{
	pk_xgrow((void **)&k->w->key, &k->w->key_cap, k->len + n, 1);
	memcpy(k->w->key + k->len, p, n);
	k->len += n;
}

static void key_int(struct keybuf *k, int64_t v)
{
	key_put(k, &v, sizeof(v));
}

static void key_str(struct keybuf *k, const char *s)
{
	unsigned char present = s != NULL;

	key_put(k, &present, 1);
	if (s)
		key_put(k, s, strlen(s) + 1);
}

/* ---- writers ------------------------------------------------------------ */

void pk_writer_free(struct pk_writer *w)
{
	size_t i;

	if (!w)
		return;
	pk_intern_release(&w->modules);
	pk_intern_release(&w->functions);
	pk_intern_release(&w->frames);
	pk_intern_release(&w->nodes);
	pk_intern_release(&w->events);
	for (i = 0; i < w->n_rows; i++) {
		free(w->rows[i].s1);
		free(w->rows[i].s2);
	}
	for (i = 0; i < w->n_blocks; i++)
		free(w->blocks[i].data);
	free(w->rows);
	free(w->blocks);
	free(w->blk);
	free(w->node_depth);
	free(w->key);
	free(w);
}

void pk_writer_drop(struct pk_store *st, int64_t sid)
{
	struct pk_writer **pp;

	for (pp = &st->writers; *pp; pp = &(*pp)->next) {
		if ((*pp)->sid == sid) {
			struct pk_writer *w = *pp;

			*pp = w->next;
			pk_writer_free(w);
			return;
		}
	}
}

void pk_writer_queue_row(struct pk_writer *w, const struct pk_pending_row *row)
{
	pk_xgrow((void **)&w->rows, &w->cap_rows, w->n_rows + 1, sizeof(*w->rows));
	w->rows[w->n_rows++] = *row;
}

static void set_depth(struct pk_writer *w, int64_t id, int depth)
{
	size_t need = (size_t)id + 1;

	if (need > w->node_depth_cap) {
		size_t old = w->node_depth_cap;

		pk_xgrow((void **)&w->node_depth, &w->node_depth_cap, need, sizeof(int));
		memset(w->node_depth + old, 0, (w->node_depth_cap - old) * sizeof(int));
	}
	w->node_depth[id] = depth;
}

/* Fill the intern tables from what the database already holds. */
static int load_existing(struct pk_store *st, struct pk_writer *w)
{
	static const char *const sql[] = {
		"SELECT id, path, build_id, 0, 0, 0 FROM modules WHERE session_id = ?1 ORDER BY id",
		"SELECT id, name, NULL, module_id, 0, 0 FROM functions WHERE session_id = ?1 ORDER BY id",
		"SELECT id, file, NULL, function_id, module_id, offset, line FROM frames"
		" WHERE session_id = ?1 ORDER BY id",
		"SELECT id, NULL, NULL, parent, frame_id, depth FROM stack_nodes"
		" WHERE session_id = ?1 ORDER BY id",
		"SELECT id, name, NULL, 0, 0, 0 FROM events WHERE session_id = ?1 ORDER BY id",
	};
	int kind;

	set_depth(w, 0, 0);
	for (kind = 0; kind < 5; kind++) {
		sqlite3_stmt *q = pk_store_prepare(st, sql[kind]);
		int src;

		if (!q)
			return PK_STORE_ERROR;
		sqlite3_bind_int64(q, 1, w->sid);
		while ((src = sqlite3_step(q)) == SQLITE_ROW) {
			int64_t id = sqlite3_column_int64(q, 0);
			const char *s1 = (const char *)sqlite3_column_text(q, 1);
			const char *s2 = (const char *)sqlite3_column_text(q, 2);
			int64_t a = sqlite3_column_int64(q, 3), b = sqlite3_column_int64(q, 4);
			int64_t c = sqlite3_column_int64(q, 5);
			struct keybuf k = { w, 0 };

			switch (kind) {
			case PK_ROW_MODULE:
				key_str(&k, s1);
				key_str(&k, s2);
				pk_intern_insert(&w->modules, w->key, k.len, id);
				w->n_modules = id;
				break;
			case PK_ROW_FUNCTION:
				key_int(&k, a);
				key_str(&k, s1);
				pk_intern_insert(&w->functions, w->key, k.len, id);
				w->n_functions = id;
				break;
			case PK_ROW_FRAME:
				key_int(&k, a);
				key_int(&k, b);
				key_int(&k, c);
				key_int(&k, sqlite3_column_int64(q, 6));
				key_str(&k, s1);
				pk_intern_insert(&w->frames, w->key, k.len, id);
				w->n_frames = id;
				break;
			case PK_ROW_NODE:
				key_int(&k, a);
				key_int(&k, b);
				pk_intern_insert(&w->nodes, w->key, k.len, id);
				set_depth(w, id, (int)c);
				w->n_nodes = id;
				break;
			default:
				key_str(&k, s1);
				pk_intern_insert(&w->events, w->key, k.len, id);
				w->n_events = id;
				break;
			}
		}
		sqlite3_finalize(q);
		if (src != SQLITE_DONE)
			return pk_store_sqlfail(st, "cannot read the session's symbols");
	}
	return PK_STORE_OK;
}

struct pk_writer *pk_writer_get(struct pk_store *st, int64_t sid, int *err)
{
	struct pk_writer *w;
	sqlite3_stmt *q;
	int src;

	for (w = st->writers; w; w = w->next)
		if (w->sid == sid)
			return w;
	if (st->readonly || st->mode == PK_STORE_MODE_READ) {
		*err = pk_store_fail(st, PK_STORE_READONLY,
				     "'%s' is open for reading only; open it in write mode to record",
				     st->path);
		return NULL;
	}
	q = pk_store_prepare(st, "SELECT 1 FROM sessions WHERE id = ?1");
	if (!q) {
		*err = PK_STORE_ERROR;
		return NULL;
	}
	sqlite3_bind_int64(q, 1, sid);
	src = sqlite3_step(q);
	sqlite3_finalize(q);
	if (src != SQLITE_ROW) {
		*err = src == SQLITE_DONE
			? pk_store_fail(st, PK_STORE_NOTFOUND, "no session with id %lld", (long long)sid)
			: pk_store_sqlfail(st, "cannot read sessions");
		return NULL;
	}
	w = pk_xcalloc(1, sizeof(*w));
	w->sid = sid;
	w->blk_event = -1;
	if ((*err = load_existing(st, w)) != PK_STORE_OK) {
		pk_writer_free(w);
		return NULL;
	}
	w->next = st->writers;
	st->writers = w;
	return w;
}

/* Queue the row, forcing a flush when too many are waiting. */
static int64_t made(struct pk_store *st, struct pk_writer *w, struct pk_pending_row *row)
{
	pk_writer_queue_row(w, row);
	if (w->n_rows >= PK_STORE_MAX_PENDING_ROWS) {
		int rc = pk_store_flush(st);

		if (rc != PK_STORE_OK)
			return rc;
	}
	return row->id;
}

/* ---- the interning API -------------------------------------------------- */

int64_t pk_store_module(struct pk_store *st, int64_t sid, const char *path, const char *build_id)
{
	int err = PK_STORE_OK;
	struct pk_writer *w = pk_writer_get(st, sid, &err);
	struct keybuf k = { w, 0 };
	struct pk_pending_row row = { PK_ROW_MODULE, 0, 0, 0, 0, 0, NULL, NULL };
	int64_t id;

	if (!w)
		return err;
	if (!path)
		path = "";
	key_str(&k, path);
	key_str(&k, build_id);
	if ((id = pk_intern_lookup(&w->modules, w->key, k.len)))
		return id;
	row.id = ++w->n_modules;
	row.s1 = pk_xstrdup(path);
	row.s2 = build_id ? pk_xstrdup(build_id) : NULL;
	pk_intern_insert(&w->modules, w->key, k.len, row.id);
	return made(st, w, &row);
}

int64_t pk_store_function(struct pk_store *st, int64_t sid, const char *name, int64_t module_id)
{
	int err = PK_STORE_OK;
	struct pk_writer *w = pk_writer_get(st, sid, &err);
	struct keybuf k = { w, 0 };
	struct pk_pending_row row = { PK_ROW_FUNCTION, 0, 0, 0, 0, 0, NULL, NULL };
	int64_t id;

	if (!w)
		return err;
	if (!name)
		name = "";
	key_int(&k, module_id);
	key_str(&k, name);
	if ((id = pk_intern_lookup(&w->functions, w->key, k.len)))
		return id;
	row.id = ++w->n_functions;
	row.a = module_id;
	row.s1 = pk_xstrdup(name);
	pk_intern_insert(&w->functions, w->key, k.len, row.id);
	return made(st, w, &row);
}

int64_t pk_store_frame(struct pk_store *st, int64_t sid, int64_t function_id, int64_t module_id,
		       uint64_t offset, const char *file, int line)
{
	int err = PK_STORE_OK;
	struct pk_writer *w = pk_writer_get(st, sid, &err);
	struct keybuf k = { w, 0 };
	struct pk_pending_row row = { PK_ROW_FRAME, 0, 0, 0, 0, 0, NULL, NULL };
	int64_t id;

	if (!w)
		return err;
	key_int(&k, function_id);
	key_int(&k, module_id);
	key_int(&k, (int64_t)offset);
	key_int(&k, line);
	key_str(&k, file);
	if ((id = pk_intern_lookup(&w->frames, w->key, k.len)))
		return id;
	row.id = ++w->n_frames;
	row.a = function_id;
	row.b = module_id;
	row.c = (int64_t)offset;
	row.d = line;
	row.s1 = file ? pk_xstrdup(file) : NULL;
	pk_intern_insert(&w->frames, w->key, k.len, row.id);
	return made(st, w, &row);
}

int64_t pk_store_stack_node(struct pk_store *st, int64_t sid, int64_t parent, int64_t frame_id)
{
	int err = PK_STORE_OK;
	struct pk_writer *w = pk_writer_get(st, sid, &err);
	struct keybuf k = { w, 0 };
	struct pk_pending_row row = { PK_ROW_NODE, 0, 0, 0, 0, 0, NULL, NULL };
	int64_t id;

	if (!w)
		return err;
	if (parent < 0 || parent > w->n_nodes || frame_id < 1 || frame_id > w->n_frames)
		return pk_store_fail(st, PK_STORE_ERROR,
				     "stack node (parent %lld, frame %lld) refers to an unknown id",
				     (long long)parent, (long long)frame_id);
	key_int(&k, parent);
	key_int(&k, frame_id);
	if ((id = pk_intern_lookup(&w->nodes, w->key, k.len)))
		return id;
	row.id = ++w->n_nodes;
	row.a = parent;
	row.b = frame_id;
	row.c = w->node_depth[parent] + 1;
	set_depth(w, row.id, (int)row.c);
	pk_intern_insert(&w->nodes, w->key, k.len, row.id);
	return made(st, w, &row);
}

int pk_store_event(struct pk_store *st, int64_t sid, const char *name, const char *unit)
{
	int err = PK_STORE_OK;
	struct pk_writer *w = pk_writer_get(st, sid, &err);
	struct keybuf k = { w, 0 };
	struct pk_pending_row row = { PK_ROW_EVENT, 0, 0, 0, 0, 0, NULL, NULL };
	int64_t id;

	if (!w)
		return err;
	key_str(&k, name);
	if ((id = pk_intern_lookup(&w->events, w->key, k.len)))
		return (int)id;
	row.id = ++w->n_events;
	row.s1 = pk_xstrdup(name ? name : "");
	row.s2 = pk_xstrdup(unit ? unit : "samples");
	pk_intern_insert(&w->events, w->key, k.len, row.id);
	return (int)made(st, w, &row);
}
