/*
 * test-store.c - CUnit suite for the session store (store/).
 *
 * Every test works on a fresh database file in a private temporary
 * directory and checks values read back against what it wrote: samples
 * exactly and in order, symbol rows, session fields, schema versions
 * (through a raw SQLite connection where the store API cannot show them).
 * Writer/reader and crash behaviour use forked processes, as perfkitd and
 * perfkit are separate processes in real use.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <sqlite3.h>

#include "store/internal.h"
#include "store/store.h"
#include "util.h"

static char tmpdir[64];
static int db_counter;

/* A fresh database path in the private directory (static buffer). */
static const char *new_db_path(void)
{
	static char path[128];

	snprintf(path, sizeof(path), "%s/t%d.db", tmpdir, ++db_counter);
	return path;
}

static struct pk_store *open_or_fail(const char *path, enum pk_store_mode mode)
{
	struct pk_store *st = NULL;
	char err[512] = "";
	int rc = pk_store_open(path, mode, &st, err, sizeof(err));

	if (rc != PK_STORE_OK)
		fprintf(stderr, "open '%s' failed (%d): %s\n", path, rc, err);
	CU_ASSERT_EQUAL_FATAL(rc, PK_STORE_OK);
	return st;
}

/* One integer from a raw SQLite query on path (-1 on error). */
static int64_t raw_int(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *q;
	int64_t v = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return -1;
	}
	if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK) {
		if (sqlite3_step(q) == SQLITE_ROW)
			v = sqlite3_column_int64(q, 0);
		sqlite3_finalize(q);
	}
	sqlite3_close(db);
	return v;
}

static int64_t begin_session(struct pk_store *st, const char *name, const char *command)
{
	struct pk_session s;
	int64_t id;

	memset(&s, 0, sizeof(s));
	s.name = name ? pk_xstrdup(name) : NULL;
	s.command = pk_xstrdup(command);
	s.mode = pk_xstrdup("cpu");
	s.frequency = 99;
	s.exit_status = -1;
	CU_ASSERT_EQUAL_FATAL(pk_store_session_begin(st, &s), PK_STORE_OK);
	id = s.id;
	pk_session_release(&s);
	return id;
}

/* ---- collecting samples -------------------------------------------------- */

struct collected {
	struct pk_sample *v;
	size_t n, cap;
	int stop_after;   /* > 0: return 7 after that many */
};

static int collect(void *ctx, const struct pk_sample *s)
{
	struct collected *c = ctx;

	pk_xgrow((void **)&c->v, &c->cap, c->n + 1, sizeof(*c->v));
	c->v[c->n++] = *s;
	if (c->stop_after && (int)c->n == c->stop_after)
		return 7;
	return 0;
}

static int64_t count_samples(struct pk_store *st, int64_t sid, int event)
{
	struct collected c = { NULL, 0, 0, 0 };
	int rc = pk_store_foreach_sample(st, sid, event, collect, &c);

	free(c.v);
	return rc == PK_STORE_OK ? (int64_t)c.n : -1;
}

/* A small symbol set: two modules, three functions, stacks
 * main->work->leaf and main->idle.  Returns the leaf node ids. */
struct small_syms {
	int64_t mod[2], fn[3], fr[3], node_work_leaf, node_idle, node_main;
	int cpu, alloc;
};

static void make_small_syms(struct pk_store *st, int64_t sid, struct small_syms *y)
{
	int64_t node_work;

	y->mod[0] = pk_store_module(st, sid, "/usr/bin/prog", "abcdef0123");
	y->mod[1] = pk_store_module(st, sid, "/lib/libc.so.6", NULL);
	y->fn[0] = pk_store_function(st, sid, "main", y->mod[0]);
	y->fn[1] = pk_store_function(st, sid, "work<int>(a;b) \"q\" \xff", y->mod[0]);
	y->fn[2] = pk_store_function(st, sid, "__select", y->mod[1]);
	y->fr[0] = pk_store_frame(st, sid, y->fn[0], y->mod[0], 0x1130, "main.c", 12);
	y->fr[1] = pk_store_frame(st, sid, y->fn[1], y->mod[0], 0x1200, NULL, 0);
	y->fr[2] = pk_store_frame(st, sid, y->fn[2], y->mod[1], 0xfffffffff0001234ULL, "select.c", 7);
	y->node_main = pk_store_stack_node(st, sid, 0, y->fr[0]);
	node_work = pk_store_stack_node(st, sid, y->node_main, y->fr[1]);
	y->node_work_leaf = pk_store_stack_node(st, sid, node_work, y->fr[2]);
	y->node_idle = pk_store_stack_node(st, sid, y->node_main, y->fr[2]);
	y->cpu = pk_store_event(st, sid, "wall", "samples");
	y->alloc = pk_store_event(st, sid, "alloc", "bytes");
}

/* Deterministic, varied samples: times going back and forth across
 * threads, large and negative deltas, weights, states, mixed events. */
static void make_samples(const struct small_syms *y, struct pk_sample *v, size_t n)
{
	uint64_t x = 12345;
	size_t i;
	int64_t t = 1000;
	static const char states[] = { 0, 'R', 'S', 'D', 'T' };

	for (i = 0; i < n; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		t += (int64_t)((x >> 33) % 2000000) - 100000;  /* sometimes back */
		v[i].time_ns = i == 7 ? (int64_t)1 << 50 : t;
		v[i].tid = (int32_t)(100 + (x >> 20) % 9) * (i == 11 ? 100000 : 1);
		v[i].event = (x >> 40) % 5 == 0 ? y->alloc : y->cpu;
		v[i].stack_id = (x >> 45) % 7 == 0 ? 0 : ((x >> 50) % 2 ? y->node_work_leaf : y->node_idle);
		v[i].weight = v[i].event == y->alloc ? (int64_t)((x >> 13) % 100000) + 2 : 1;
		if (i == 13)
			v[i].weight = -5;
		if (i == 17)
			v[i].weight = (int64_t)1 << 45;
		v[i].state = v[i].event == y->cpu ? states[(x >> 7) % 5] : 0;
	}
}

static int samples_equal(const struct pk_sample *a, const struct pk_sample *b)
{
	return a->time_ns == b->time_ns && a->tid == b->tid && a->event == b->event &&
	       a->stack_id == b->stack_id && a->weight == b->weight && a->state == b->state;
}

/* ---- tests --------------------------------------------------------------- */

static void test_roundtrip(void)
{
	const char *path = new_db_path();
	struct pk_store *st = open_or_fail(path, PK_STORE_MODE_WRITE);
	struct small_syms y;
	struct pk_session s;
	struct pk_symtab tab;
	struct collected c = { NULL, 0, 0, 0 };
	enum { N = 10000 };
	struct pk_sample *v = pk_xcalloc(N, sizeof(*v));
	int64_t sid;
	size_t i, n_alloc = 0, j;

	char name[] = "roundtrip", command[] = "/bin/prog -x 1", mode[] = "wall";

	memset(&s, 0, sizeof(s));
	s.name = name;   /* not released: the fields are ours */
	s.command = command;
	s.mode = mode;
	s.pid = 123;
	s.frequency = 99.5;
	s.started_ns = 1764150000000000000LL;
	CU_ASSERT_EQUAL_FATAL(pk_store_session_begin(st, &s), PK_STORE_OK);
	CU_ASSERT_STRING_EQUAL(s.name, "roundtrip");
	CU_ASSERT(s.id > 0);
	sid = s.id;
	CU_ASSERT_EQUAL(pk_store_session_set_pid(st, sid, 4321), PK_STORE_OK);
	CU_ASSERT_EQUAL(pk_store_session_set_pid(st, sid + 100, 1), PK_STORE_NOTFOUND);
	make_small_syms(st, sid, &y);
	CU_ASSERT_EQUAL(y.cpu, 1);
	CU_ASSERT_EQUAL(y.alloc, 2);
	make_samples(&y, v, N);
	for (i = 0; i < N; i++) {
		CU_ASSERT_EQUAL_FATAL(pk_store_add_sample(st, sid, &v[i]), PK_STORE_OK);
		if (i == 999)
			CU_ASSERT_EQUAL(pk_store_flush(st), PK_STORE_OK);
		n_alloc += v[i].event == y.alloc;
	}
	{
		struct pk_sample bad = v[0];

		bad.stack_id = 999;
		CU_ASSERT_EQUAL(pk_store_add_sample(st, sid, &bad), PK_STORE_ERROR);
	}
	CU_ASSERT_EQUAL(pk_store_session_end(st, sid, "complete", 3, 1764150009000000000LL), PK_STORE_OK);
	pk_store_close(st);

	st = open_or_fail(path, PK_STORE_MODE_READ);
	memset(&s, 0, sizeof(s));
	CU_ASSERT_EQUAL_FATAL(pk_store_session_find(st, "roundtrip", &s), PK_STORE_OK);
	CU_ASSERT_EQUAL(s.id, sid);
	CU_ASSERT_STRING_EQUAL(s.command, "/bin/prog -x 1");
	CU_ASSERT_STRING_EQUAL(s.mode, "wall");
	CU_ASSERT_STRING_EQUAL(s.status, "complete");
	CU_ASSERT_EQUAL(s.pid, 4321);
	CU_ASSERT_EQUAL(s.recorder_pid, getpid());
	CU_ASSERT_DOUBLE_EQUAL(s.frequency, 99.5, 1e-9);
	CU_ASSERT_EQUAL(s.started_ns, 1764150000000000000LL);
	CU_ASSERT_EQUAL(s.ended_ns, 1764150009000000000LL);
	CU_ASSERT_EQUAL(s.exit_status, 3);
	CU_ASSERT_EQUAL(s.samples, N);
	CU_ASSERT(s.host && s.host[0]);
	CU_ASSERT(s.kernel && s.kernel[0]);
	pk_session_release(&s);
	pk_session_release(NULL);

	CU_ASSERT_EQUAL_FATAL(pk_store_load_symtab(st, sid, &tab), PK_STORE_OK);
	CU_ASSERT_EQUAL_FATAL(tab.n_modules, 2);
	CU_ASSERT_STRING_EQUAL(tab.modules[0].path, "/usr/bin/prog");
	CU_ASSERT_STRING_EQUAL(tab.modules[0].build_id, "abcdef0123");
	CU_ASSERT_PTR_NULL(tab.modules[1].build_id);
	CU_ASSERT_EQUAL_FATAL(tab.n_functions, 3);
	CU_ASSERT_STRING_EQUAL(tab.functions[1].name, "work<int>(a;b) \"q\" \xff");
	CU_ASSERT_EQUAL(tab.functions[2].module_id, y.mod[1]);
	CU_ASSERT_EQUAL_FATAL(tab.n_frames, 3);
	CU_ASSERT_EQUAL(tab.frames[0].offset, 0x1130);
	CU_ASSERT_STRING_EQUAL(tab.frames[0].file, "main.c");
	CU_ASSERT_EQUAL(tab.frames[0].line, 12);
	CU_ASSERT_PTR_NULL(tab.frames[1].file);
	CU_ASSERT_EQUAL(tab.frames[2].offset, 0xfffffffff0001234ULL);
	CU_ASSERT_EQUAL(tab.frames[2].function_id, y.fn[2]);
	CU_ASSERT_EQUAL_FATAL(tab.n_nodes, 4);
	CU_ASSERT_EQUAL(tab.nodes[y.node_main - 1].parent, 0);
	CU_ASSERT_EQUAL(tab.nodes[y.node_main - 1].depth, 1);
	CU_ASSERT_EQUAL(tab.nodes[y.node_work_leaf - 1].depth, 3);
	CU_ASSERT_EQUAL(tab.nodes[y.node_work_leaf - 1].frame_id, y.fr[2]);
	CU_ASSERT_EQUAL(tab.nodes[y.node_idle - 1].parent, y.node_main);
	CU_ASSERT_EQUAL(tab.nodes[y.node_idle - 1].depth, 2);
	for (j = 0; j < tab.n_nodes; j++)  /* parents before children */
		CU_ASSERT((size_t)tab.nodes[j].parent < j + 1);
	CU_ASSERT_EQUAL_FATAL(tab.n_events, 2);
	CU_ASSERT_STRING_EQUAL(tab.events[1].name, "alloc");
	CU_ASSERT_STRING_EQUAL(tab.events[1].unit, "bytes");
	pk_symtab_release(&tab);
	pk_symtab_release(NULL);

	CU_ASSERT_EQUAL(pk_store_find_event(st, sid, "alloc"), y.alloc);
	CU_ASSERT_EQUAL(pk_store_find_event(st, sid, "cycles"), PK_STORE_NOTFOUND);

	CU_ASSERT_EQUAL(pk_store_foreach_sample(st, sid, 0, collect, &c), PK_STORE_OK);
	CU_ASSERT_EQUAL_FATAL(c.n, N);
	for (i = 0; i < N; i++)
		if (!samples_equal(&c.v[i], &v[i])) {
			CU_FAIL("sample differs");
			fprintf(stderr, "sample %zu: got t=%lld tid=%d ev=%d st=%lld w=%lld s=%d\n", i,
				(long long)c.v[i].time_ns, c.v[i].tid, c.v[i].event,
				(long long)c.v[i].stack_id, (long long)c.v[i].weight, c.v[i].state);
			break;
		}
	c.n = 0;
	CU_ASSERT_EQUAL(pk_store_foreach_sample(st, sid, y.alloc, collect, &c), PK_STORE_OK);
	CU_ASSERT_EQUAL_FATAL(c.n, n_alloc);
	for (i = 0, j = 0; i < N; i++)
		if (v[i].event == y.alloc)
			CU_ASSERT(samples_equal(&c.v[j++], &v[i]));
	c.n = 0;
	c.stop_after = 5;
	CU_ASSERT_EQUAL(pk_store_foreach_sample(st, sid, 0, collect, &c), 7);
	CU_ASSERT_EQUAL(c.n, 5);
	free(c.v);
	free(v);
	/* writing through a read-mode store is refused */
	CU_ASSERT_EQUAL(pk_store_module(st, sid, "/x", NULL), PK_STORE_READONLY);
	pk_store_close(st);
	pk_store_close(NULL);
}

static void test_intern_dedup(void)
{
	const char *path = new_db_path();
	struct pk_store *st = open_or_fail(path, PK_STORE_MODE_WRITE);
	int64_t sid = begin_session(st, "dedup", "/bin/true"), other;
	int64_t m1, m2, m3, f1, f2, fr1, fr2, n1, n2;
	struct pk_symtab tab;
	int i;

	m1 = pk_store_module(st, sid, "/bin/a", "11");
	m2 = pk_store_module(st, sid, "/bin/a", NULL);
	m3 = pk_store_module(st, sid, "/bin/a", "");
	CU_ASSERT_EQUAL(m1, 1);
	CU_ASSERT_EQUAL(m2, 2);
	CU_ASSERT_EQUAL(m3, 3);
	f1 = pk_store_function(st, sid, "f", m1);
	f2 = pk_store_function(st, sid, "f", m2);
	CU_ASSERT_EQUAL(f1, 1);
	CU_ASSERT_EQUAL(f2, 2);
	fr1 = pk_store_frame(st, sid, f1, m1, 16, NULL, 0);
	fr2 = pk_store_frame(st, sid, f1, m1, 16, "", 0);
	CU_ASSERT_EQUAL(fr1, 1);
	CU_ASSERT_EQUAL(fr2, 2);
	n1 = pk_store_stack_node(st, sid, 0, fr1);
	n2 = pk_store_stack_node(st, sid, n1, fr1);
	CU_ASSERT_EQUAL(n1, 1);
	CU_ASSERT_EQUAL(n2, 2);
	for (i = 0; i < 1000; i++) {
		CU_ASSERT_EQUAL(pk_store_module(st, sid, "/bin/a", "11"), m1);
		CU_ASSERT_EQUAL(pk_store_module(st, sid, "/bin/a", NULL), m2);
		CU_ASSERT_EQUAL(pk_store_function(st, sid, "f", m2), f2);
		CU_ASSERT_EQUAL(pk_store_frame(st, sid, f1, m1, 16, NULL, 0), fr1);
		CU_ASSERT_EQUAL(pk_store_stack_node(st, sid, n1, fr1), n2);
		CU_ASSERT_EQUAL(pk_store_event(st, sid, "cpu", "samples"), 1);
	}
	CU_ASSERT_EQUAL(pk_store_stack_node(st, sid, 77, fr1), PK_STORE_ERROR);
	CU_ASSERT_EQUAL(pk_store_stack_node(st, sid, 0, 77), PK_STORE_ERROR);
	/* another session has its own dense ids */
	other = begin_session(st, "dedup-other", "/bin/true");
	CU_ASSERT_EQUAL(pk_store_module(st, other, "/bin/z", NULL), 1);
	CU_ASSERT_EQUAL(pk_store_module(st, sid + 1000, "/bin/z", NULL), PK_STORE_NOTFOUND);
	CU_ASSERT_EQUAL(pk_store_flush(st), PK_STORE_OK);
	pk_store_close(st);

	/* a new writer on the same session finds the stored rows */
	st = open_or_fail(path, PK_STORE_MODE_WRITE);
	CU_ASSERT_EQUAL(pk_store_module(st, sid, "/bin/a", NULL), m2);
	CU_ASSERT_EQUAL(pk_store_function(st, sid, "f", m1), f1);
	CU_ASSERT_EQUAL(pk_store_stack_node(st, sid, n1, fr1), n2);
	CU_ASSERT_EQUAL(pk_store_event(st, sid, "cpu", "samples"), 1);
	CU_ASSERT_EQUAL(pk_store_module(st, sid, "/bin/b", NULL), 4);
	CU_ASSERT_EQUAL(pk_store_stack_node(st, sid, n2, fr2), 3);
	CU_ASSERT_EQUAL(pk_store_flush(st), PK_STORE_OK);
	CU_ASSERT_EQUAL_FATAL(pk_store_load_symtab(st, sid, &tab), PK_STORE_OK);
	CU_ASSERT_EQUAL(tab.n_modules, 4);
	CU_ASSERT_EQUAL(tab.n_functions, 2);
	CU_ASSERT_EQUAL(tab.n_frames, 2);
	CU_ASSERT_EQUAL(tab.n_nodes, 3);
	CU_ASSERT_EQUAL(tab.nodes[2].depth, 3);
	CU_ASSERT_EQUAL(tab.n_events, 1);
	CU_ASSERT_STRING_EQUAL(tab.modules[2].build_id, "");
	pk_symtab_release(&tab);
	pk_store_close(st);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM modules"), 5);
}

static void test_migration(void)
{
	const char *path = new_db_path();
	struct pk_store *st;
	struct pk_session s;
	struct small_syms y;
	struct pk_sample smp[300];
	struct collected c = { NULL, 0, 0, 0 };
	double val = 0;
	int64_t sid;
	sqlite3 *db;
	char err[512];
	int i;

	CU_ASSERT(pk_store_schema_version() >= 2);
	pk_store_test_max_version = 1;
	st = open_or_fail(path, PK_STORE_MODE_WRITE);
	sid = begin_session(st, "old", "/bin/old");
	make_small_syms(st, sid, &y);
	make_samples(&y, smp, 300);
	for (i = 0; i < 300; i++)
		CU_ASSERT_EQUAL(pk_store_add_sample(st, sid, &smp[i]), PK_STORE_OK);
	CU_ASSERT_EQUAL(pk_store_session_end(st, sid, "complete", 0, 0), PK_STORE_OK);
	/* v1 has no statistics table */
	CU_ASSERT_NOT_EQUAL(pk_store_set_stat(st, sid, "threads", 2), PK_STORE_OK);
	pk_store_close(st);
	pk_store_test_max_version = 0;
	CU_ASSERT_EQUAL(raw_int(path, "PRAGMA user_version"), 1);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM sqlite_master WHERE name = 'session_stats'"), 0);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM sqlite_master WHERE name = 'sample_blocks_by_session'"), 0);

	/* reopen with the current code: migrated, data intact, stats usable */
	st = open_or_fail(path, PK_STORE_MODE_WRITE);
	CU_ASSERT_EQUAL(raw_int(path, "PRAGMA user_version"), pk_store_schema_version());
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM sqlite_master WHERE name = 'session_stats'"), 1);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM sqlite_master WHERE name = 'sample_blocks_by_session'"), 1);
	memset(&s, 0, sizeof(s));
	CU_ASSERT_EQUAL_FATAL(pk_store_session_find(st, "old", &s), PK_STORE_OK);
	CU_ASSERT_EQUAL(s.samples, 300);
	CU_ASSERT_STRING_EQUAL(s.status, "complete");
	pk_session_release(&s);
	CU_ASSERT_EQUAL(pk_store_foreach_sample(st, sid, 0, collect, &c), PK_STORE_OK);
	CU_ASSERT_EQUAL_FATAL(c.n, 300);
	for (i = 0; i < 300; i++)
		CU_ASSERT(samples_equal(&c.v[i], &smp[i]));
	free(c.v);
	CU_ASSERT_EQUAL(pk_store_set_stat(st, sid, "threads", 2), PK_STORE_OK);
	CU_ASSERT_EQUAL(pk_store_get_stat(st, sid, "threads", &val), PK_STORE_OK);
	CU_ASSERT_DOUBLE_EQUAL(val, 2, 1e-12);
	/* a new session after migration continues the ids */
	CU_ASSERT(begin_session(st, "new", "/bin/new") > sid);
	pk_store_close(st);

	/* a schema from the future is refused, not damaged */
	CU_ASSERT_EQUAL_FATAL(sqlite3_open(path, &db), SQLITE_OK);
	CU_ASSERT_EQUAL(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	st = NULL;
	CU_ASSERT_EQUAL(pk_store_open(path, PK_STORE_MODE_READ, &st, err, sizeof(err)), PK_STORE_TOONEW);
	CU_ASSERT_PTR_NULL(st);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "99"));
	CU_ASSERT_EQUAL(pk_store_open(path, PK_STORE_MODE_WRITE, &st, err, sizeof(err)), PK_STORE_TOONEW);
	CU_ASSERT_EQUAL(raw_int(path, "PRAGMA user_version"), 99);
}

/* Writer in a child process, reader here: the reader sees whole batches
 * only and never fails with "database is locked". */
static void test_concurrent_reader(void)
{
	enum { BATCHES = 60, PER_BATCH = 1000 };
	const char *path = new_db_path();
	struct pk_store *st = open_or_fail(path, PK_STORE_MODE_WRITE), *rd;
	struct pk_session s;
	int64_t last = 0, sid = 0;
	uint64_t deadline;
	int observations = 0, partial_views = 0, status;
	pid_t pid;

	pk_store_close(st);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		struct pk_store *w = NULL;
		struct pk_session ws;
		int64_t node, b, k;
		int ev, bad = 0;

		if (pk_store_open(path, PK_STORE_MODE_WRITE, &w, NULL, 0) != PK_STORE_OK)
			_exit(10);
		memset(&ws, 0, sizeof(ws));
		char name[] = "live", command[] = "/bin/live";

		ws.name = name;
		ws.command = command;
		if (pk_store_session_begin(w, &ws) != PK_STORE_OK)
			_exit(11);
		node = pk_store_stack_node(w, ws.id, 0,
					   pk_store_frame(w, ws.id, pk_store_function(w, ws.id, "f",
						pk_store_module(w, ws.id, "/m", NULL)), 1, 0, NULL, 0));
		ev = pk_store_event(w, ws.id, "cpu", "samples");
		for (b = 0; b < BATCHES && !bad; b++) {
			for (k = 0; k < PER_BATCH; k++) {
				struct pk_sample smp = { b * PER_BATCH + k, 1, ev, node, 1, 0 };

				bad |= pk_store_add_sample(w, ws.id, &smp) != PK_STORE_OK;
			}
			bad |= pk_store_flush(w) != PK_STORE_OK;
			usleep(2000);
		}
		bad |= pk_store_session_end(w, ws.id, "complete", 0, 0) != PK_STORE_OK;
		pk_store_close(w);
		_exit(bad ? 12 : 0);
	}
	rd = open_or_fail(path, PK_STORE_MODE_READ);
	deadline = pk_monotonic_ns() + 30ULL * 1000000000ULL;
	while (pk_monotonic_ns() < deadline) {
		int64_t n;
		int rc;

		memset(&s, 0, sizeof(s));
		rc = pk_store_session_find(rd, "live", &s);
		if (rc == PK_STORE_NOTFOUND) {
			usleep(1000);
			continue;
		}
		CU_ASSERT_EQUAL_FATAL(rc, PK_STORE_OK);
		sid = s.id;
		n = count_samples(rd, sid, 0);
		CU_ASSERT_FATAL(n >= 0);
		CU_ASSERT(n % PER_BATCH == 0);
		CU_ASSERT(n >= last);
		if (n > 0 && n < BATCHES * PER_BATCH)
			partial_views++;
		last = n;
		observations++;
		if (!strcmp(s.status, "complete")) {
			pk_session_release(&s);
			break;
		}
		pk_session_release(&s);
		usleep(500);
	}
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CU_ASSERT(observations > 1);
	CU_ASSERT(partial_views > 0);   /* read while the writer was writing */
	CU_ASSERT_EQUAL(count_samples(rd, sid, 0), BATCHES * PER_BATCH);
	pk_store_close(rd);
}

/* A recorder killed without ending its session. */
static void test_aborted(void)
{
	const char *path = new_db_path();
	struct pk_store *st = open_or_fail(path, PK_STORE_MODE_WRITE);
	struct pk_session s;
	int64_t alive;
	int status;
	pid_t pid;

	alive = begin_session(st, "alive", "/bin/alive");  /* our pid: alive */
	pk_store_close(st);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		struct pk_store *w = NULL;
		struct pk_session ws;
		int64_t node;
		int ev, k;

		if (pk_store_open(path, PK_STORE_MODE_WRITE, &w, NULL, 0) != PK_STORE_OK)
			_exit(10);
		memset(&ws, 0, sizeof(ws));
		char name[] = "crashy", command[] = "/bin/crashy";

		ws.name = name;
		ws.command = command;
		if (pk_store_session_begin(w, &ws) != PK_STORE_OK)
			_exit(11);
		node = pk_store_stack_node(w, ws.id, 0,
					   pk_store_frame(w, ws.id, pk_store_function(w, ws.id, "f",
						pk_store_module(w, ws.id, "/m", NULL)), 1, 0, NULL, 0));
		ev = pk_store_event(w, ws.id, "cpu", "samples");
		for (k = 0; k < 5000; k++) {
			struct pk_sample smp = { 1000000LL * k, 7, ev, node, 1, 0 };

			if (pk_store_add_sample(w, ws.id, &smp) != PK_STORE_OK)
				_exit(12);
		}
		if (pk_store_flush(w) != PK_STORE_OK)
			_exit(13);
		for (k = 0; k < 100; k++) {  /* never flushed: lost */
			struct pk_sample smp = { 6000000000LL + k, 7, ev, node, 1, 0 };

			pk_store_add_sample(w, ws.id, &smp);
		}
		_exit(0);  /* no end, no close: like SIGKILL */
	}
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT_FATAL(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM sessions WHERE status = 'recording'"), 2);

	st = open_or_fail(path, PK_STORE_MODE_READ);
	memset(&s, 0, sizeof(s));
	CU_ASSERT_EQUAL_FATAL(pk_store_session_find(st, "crashy", &s), PK_STORE_OK);
	CU_ASSERT_STRING_EQUAL(s.status, "aborted");
	CU_ASSERT_EQUAL(s.recorder_pid, pid);
	CU_ASSERT_EQUAL(s.samples, 5000);
	CU_ASSERT_EQUAL(s.ended_ns, s.started_ns + 4999 * 1000000LL);
	CU_ASSERT_EQUAL(count_samples(st, s.id, 0), 5000);
	pk_session_release(&s);
	CU_ASSERT_EQUAL_FATAL(pk_store_session_find(st, "alive", &s), PK_STORE_OK);
	CU_ASSERT_EQUAL(s.id, alive);
	CU_ASSERT_STRING_EQUAL(s.status, "recording");
	pk_session_release(&s);
	pk_store_close(st);
}

static void expect_notdb(const char *path, enum pk_store_mode mode)
{
	struct pk_store *st = NULL;
	char err[512] = "";

	CU_ASSERT_EQUAL(pk_store_open(path, mode, &st, err, sizeof(err)), PK_STORE_NOTDB);
	CU_ASSERT_PTR_NULL(st);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a perfkit database"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "--db"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, path));
}

static void test_foreign_files(void)
{
	const char *p;
	char text[128], foreign[128], empty[128], missing[160];
	struct pk_store *st = NULL;
	char err[512];
	sqlite3 *db;
	FILE *f;
	int i;

	p = new_db_path();
	snprintf(text, sizeof(text), "%s", p);
	f = fopen(text, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	for (i = 0; i < 200; i++)
		fprintf(f, "this is a plain text file, line %d\n", i);
	fclose(f);
	expect_notdb(text, PK_STORE_MODE_READ);
	expect_notdb(text, PK_STORE_MODE_WRITE);
	CU_ASSERT_EQUAL(raw_int(text, "SELECT count(*) FROM sqlite_master"), -1);  /* untouched: still not SQLite */

	snprintf(foreign, sizeof(foreign), "%s", new_db_path());
	CU_ASSERT_EQUAL_FATAL(sqlite3_open(foreign, &db), SQLITE_OK);
	CU_ASSERT_EQUAL(sqlite3_exec(db, "CREATE TABLE notes (x TEXT); INSERT INTO notes VALUES ('hi')",
				     NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	expect_notdb(foreign, PK_STORE_MODE_READ);
	expect_notdb(foreign, PK_STORE_MODE_WRITE);
	CU_ASSERT_EQUAL(raw_int(foreign, "SELECT count(*) FROM sqlite_master"), 1);

	/* an empty file may become a database (write), not be read as one */
	snprintf(empty, sizeof(empty), "%s", new_db_path());
	close(open(empty, O_CREAT | O_WRONLY, 0644));
	expect_notdb(empty, PK_STORE_MODE_READ);
	st = open_or_fail(empty, PK_STORE_MODE_WRITE);
	pk_store_close(st);
	CU_ASSERT_EQUAL(raw_int(empty, "PRAGMA application_id"), PK_STORE_APPLICATION_ID);
	CU_ASSERT_EQUAL(raw_int(empty, "SELECT journal_mode = 'wal' FROM pragma_journal_mode"), 1);

	snprintf(missing, sizeof(missing), "%s/none/x.db", tmpdir);
	st = NULL;
	CU_ASSERT_EQUAL(pk_store_open(missing, PK_STORE_MODE_WRITE, &st, err, sizeof(err)), PK_STORE_ERROR);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "does not exist"));
	snprintf(missing, sizeof(missing), "%s/absent.db", tmpdir);
	CU_ASSERT_EQUAL(pk_store_open(missing, PK_STORE_MODE_READ, &st, err, sizeof(err)), PK_STORE_NOTFOUND);
	CU_ASSERT_EQUAL(access(missing, F_OK), -1);  /* read mode never creates */
	CU_ASSERT_EQUAL(pk_store_open(tmpdir, PK_STORE_MODE_READ, &st, err, sizeof(err)), PK_STORE_NOTDB);
}

/*
 * A database this process may not write: WRITE mode says READONLY naming
 * the path, READ mode still reads.  Root bypasses file permissions, so the
 * check runs in a child that drops to an unprivileged user.
 */
static void test_readonly(void)
{
	char path[192], dir[160];
	struct pk_store *st;
	int status;
	pid_t pid;

	snprintf(dir, sizeof(dir), "%s/ro", tmpdir);
	CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0755), 0);
	snprintf(path, sizeof(path), "%s/ro.db", dir);
	st = open_or_fail(path, PK_STORE_MODE_WRITE);
	begin_session(st, "readonly", "/bin/ro");
	pk_store_close(st);
	CU_ASSERT_EQUAL(chmod(path, 0444), 0);
	chmod(tmpdir, 0755);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		struct pk_store *s2 = NULL;
		struct pk_session sess;
		char err[512] = "";

		if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
			_exit(20);
		if (pk_store_open(path, PK_STORE_MODE_WRITE, &s2, err, sizeof(err)) != PK_STORE_READONLY)
			_exit(21);
		if (!strstr(err, path) || !strstr(err, "--db"))
			_exit(22);
		if (pk_store_open(path, PK_STORE_MODE_READ, &s2, err, sizeof(err)) != PK_STORE_OK) {
			fprintf(stderr, "read-only open: %s\n", err);
			_exit(23);
		}
		if (pk_store_session_find(s2, "readonly", &sess) != PK_STORE_OK)
			_exit(24);
		if (pk_store_set_stat(s2, sess.id, "x", 1) == PK_STORE_OK)
			_exit(25);
		pk_session_release(&sess);
		pk_store_close(s2);
		_exit(0);
	}
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT(WIFEXITED(status));
	if (WEXITSTATUS(status))
		fprintf(stderr, "read-only child failed at step %d\n", WEXITSTATUS(status));
	CU_ASSERT_EQUAL(WEXITSTATUS(status), 0);
	chmod(tmpdir, 0700);
}

static void test_remove(void)
{
	static const char *const tables[] = {
		"modules", "functions", "frames", "stack_nodes", "events", "sample_blocks", "session_stats",
	};
	const char *path = new_db_path();
	struct pk_store *st = open_or_fail(path, PK_STORE_MODE_WRITE);
	struct small_syms y1, y2;
	struct pk_sample smp[5000];
	struct pk_symtab tab;
	struct pk_session *list;
	size_t n, t;
	int64_t a, b;
	double val;
	int i;

	a = begin_session(st, "keep", "/bin/keep");
	b = begin_session(st, "drop", "/bin/drop");
	make_small_syms(st, a, &y1);
	make_small_syms(st, b, &y2);
	make_samples(&y1, smp, 5000);
	for (i = 0; i < 5000; i++) {
		CU_ASSERT_EQUAL(pk_store_add_sample(st, a, &smp[i]), PK_STORE_OK);
		CU_ASSERT_EQUAL(pk_store_add_sample(st, b, &smp[i]), PK_STORE_OK);
	}
	CU_ASSERT_EQUAL(pk_store_set_stat(st, a, "threads", 3), PK_STORE_OK);
	CU_ASSERT_EQUAL(pk_store_set_stat(st, b, "threads", 4), PK_STORE_OK);
	CU_ASSERT_EQUAL(pk_store_flush(st), PK_STORE_OK);
	for (t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		char *sql = pk_xasprintf("SELECT count(*) FROM %s WHERE session_id = %lld",
					 tables[t], (long long)b);

		CU_ASSERT(raw_int(path, sql) > 0);
		free(sql);
	}
	CU_ASSERT_EQUAL(pk_store_session_remove(st, b), PK_STORE_OK);
	CU_ASSERT_EQUAL(pk_store_session_remove(st, b), PK_STORE_NOTFOUND);
	/* the removed session's writer is gone too */
	CU_ASSERT_EQUAL(pk_store_module(st, b, "/x", NULL), PK_STORE_NOTFOUND);
	for (t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		char *sql = pk_xasprintf("SELECT count(*) FROM %s WHERE session_id = %lld",
					 tables[t], (long long)b);

		CU_ASSERT_EQUAL(raw_int(path, sql), 0);
		free(sql);
	}
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM sessions"), 1);
	CU_ASSERT_EQUAL(count_samples(st, a, 0), 5000);
	CU_ASSERT_EQUAL(pk_store_get_stat(st, a, "threads", &val), PK_STORE_OK);
	CU_ASSERT_DOUBLE_EQUAL(val, 3, 1e-12);
	CU_ASSERT_EQUAL_FATAL(pk_store_load_symtab(st, a, &tab), PK_STORE_OK);
	CU_ASSERT_EQUAL(tab.n_nodes, 4);
	CU_ASSERT_EQUAL(tab.n_functions, 3);
	pk_symtab_release(&tab);
	CU_ASSERT_EQUAL(pk_store_session_list(st, &list, &n), PK_STORE_OK);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_STRING_EQUAL(list[0].name, "keep");
	pk_session_array_free(list, n);
	pk_store_close(st);
}

static void test_names(void)
{
	const char *path = new_db_path();
	struct pk_store *st = open_or_fail(path, PK_STORE_MODE_WRITE);
	struct pk_session s[4], found;
	struct pk_session *list;
	char expect[64], err_name[160], command[] = "/usr/local/bin/myprog --flag value";
	char other[] = "/bin/x";
	int64_t started = 1764151234000000000LL;
	time_t secs = (time_t)(started / 1000000000);
	struct tm tm;
	size_t n;
	int i;

	localtime_r(&secs, &tm);
	strftime(expect, sizeof(expect), "myprog-%Y%m%d-%H%M%S", &tm);
	for (i = 0; i < 3; i++) {
		memset(&s[i], 0, sizeof(s[i]));
		s[i].command = command;
		s[i].started_ns = started;
		CU_ASSERT_EQUAL_FATAL(pk_store_session_begin(st, &s[i]), PK_STORE_OK);
	}
	CU_ASSERT_STRING_EQUAL(s[0].name, expect);
	snprintf(err_name, sizeof(err_name), "%s-2", expect);
	CU_ASSERT_STRING_EQUAL(s[1].name, err_name);
	snprintf(err_name, sizeof(err_name), "%s-3", expect);
	CU_ASSERT_STRING_EQUAL(s[2].name, err_name);
	CU_ASSERT(s[0].id < s[1].id && s[1].id < s[2].id);

	memset(&s[3], 0, sizeof(s[3]));
	s[3].command = NULL;
	s[3].started_ns = started;
	CU_ASSERT_EQUAL(pk_store_session_begin(st, &s[3]), PK_STORE_OK);
	CU_ASSERT_EQUAL(strncmp(s[3].name, "session-", 8), 0);

	/* an explicit duplicate is refused with a message naming it */
	{
		struct pk_session dup;

		memset(&dup, 0, sizeof(dup));
		dup.name = s[1].name;
		dup.command = other;
		CU_ASSERT_EQUAL(pk_store_session_begin(st, &dup), PK_STORE_EXISTS);
		CU_ASSERT_PTR_NOT_NULL(strstr(pk_store_errmsg(st), s[1].name));
	}

	CU_ASSERT_EQUAL(pk_store_session_find(st, s[1].name, &found), PK_STORE_OK);
	CU_ASSERT_EQUAL(found.id, s[1].id);
	pk_session_release(&found);
	snprintf(err_name, sizeof(err_name), "%lld", (long long)s[0].id);
	CU_ASSERT_EQUAL(pk_store_session_find(st, err_name, &found), PK_STORE_OK);
	CU_ASSERT_STRING_EQUAL(found.name, s[0].name);
	pk_session_release(&found);
	CU_ASSERT_EQUAL(pk_store_session_find(st, "last", &found), PK_STORE_OK);
	CU_ASSERT_EQUAL(found.id, s[3].id);
	pk_session_release(&found);
	CU_ASSERT_EQUAL(pk_store_session_find(st, "nope", &found), PK_STORE_NOTFOUND);
	CU_ASSERT_PTR_NOT_NULL(strstr(pk_store_errmsg(st), "nope"));
	CU_ASSERT_EQUAL(pk_store_session_find(st, "999", &found), PK_STORE_NOTFOUND);

	CU_ASSERT_EQUAL(pk_store_session_list(st, &list, &n), PK_STORE_OK);
	CU_ASSERT_EQUAL_FATAL(n, 4);
	for (i = 0; i < 4; i++) {
		CU_ASSERT_STRING_EQUAL(list[i].name, s[i].name);
		CU_ASSERT_STRING_EQUAL(list[i].status, "recording");
		free(s[i].name);
	}
	pk_session_array_free(list, n);
	pk_session_array_free(NULL, 0);
	pk_store_close(st);

	/* "last" on an empty database */
	st = open_or_fail(new_db_path(), PK_STORE_MODE_WRITE);
	CU_ASSERT_EQUAL(pk_store_session_find(st, "last", &found), PK_STORE_NOTFOUND);
	pk_store_close(st);
}

static void test_stats(void)
{
	const char *path = new_db_path();
	struct pk_store *st = open_or_fail(path, PK_STORE_MODE_WRITE);
	int64_t a = begin_session(st, "stats-a", "/bin/a"), b = begin_session(st, "stats-b", "/bin/b");
	struct pk_stat *v;
	size_t n;
	double val = -1;

	CU_ASSERT_EQUAL(pk_store_get_stat(st, a, "threads", &val), PK_STORE_NOTFOUND);
	CU_ASSERT_DOUBLE_EQUAL(val, -1, 0);
	CU_ASSERT_EQUAL(pk_store_set_stat(st, a, "threads", 4), PK_STORE_OK);
	CU_ASSERT_EQUAL(pk_store_set_stat(st, a, "achieved_hz", 98.75), PK_STORE_OK);
	CU_ASSERT_EQUAL(pk_store_set_stat(st, a, "stop_p99_us", 61.5), PK_STORE_OK);
	CU_ASSERT_EQUAL(pk_store_set_stat(st, b, "threads", 9), PK_STORE_OK);
	CU_ASSERT_EQUAL(pk_store_set_stat(st, a, "threads", 5), PK_STORE_OK);  /* replace */
	CU_ASSERT_EQUAL(pk_store_get_stat(st, a, "threads", &val), PK_STORE_OK);
	CU_ASSERT_DOUBLE_EQUAL(val, 5, 0);
	CU_ASSERT_EQUAL(pk_store_get_stat(st, b, "threads", &val), PK_STORE_OK);
	CU_ASSERT_DOUBLE_EQUAL(val, 9, 0);
	pk_store_close(st);

	st = open_or_fail(path, PK_STORE_MODE_READ);
	CU_ASSERT_EQUAL_FATAL(pk_store_stats(st, a, &v, &n), PK_STORE_OK);
	CU_ASSERT_EQUAL_FATAL(n, 3);
	CU_ASSERT_STRING_EQUAL(v[0].key, "achieved_hz");
	CU_ASSERT_DOUBLE_EQUAL(v[0].value, 98.75, 0);
	CU_ASSERT_STRING_EQUAL(v[1].key, "stop_p99_us");
	CU_ASSERT_STRING_EQUAL(v[2].key, "threads");
	CU_ASSERT_DOUBLE_EQUAL(v[2].value, 5, 0);
	pk_stat_array_free(v, n);
	pk_stat_array_free(NULL, 0);
	CU_ASSERT_EQUAL(pk_store_stats(st, b + 50, &v, &n), PK_STORE_OK);
	CU_ASSERT_EQUAL(n, 0);
	pk_stat_array_free(v, n);
	pk_store_close(st);
}

/* Enough samples for several automatic flushes; sessions.samples follows. */
static void test_auto_flush(void)
{
	const char *path = new_db_path();
	struct pk_store *st = open_or_fail(path, PK_STORE_MODE_WRITE);
	int64_t sid = begin_session(st, "auto", "/bin/auto"), node;
	int ev, k, n = PK_STORE_BLOCK_SAMPLES * 3 + 10;
	char q[128];

	node = pk_store_stack_node(st, sid, 0, pk_store_frame(st, sid,
		pk_store_function(st, sid, "f", pk_store_module(st, sid, "/m", NULL)), 1, 0, NULL, 0));
	ev = pk_store_event(st, sid, "cpu", "samples");
	for (k = 0; k < n; k++) {
		struct pk_sample smp = { k, 1, ev, node, 1, 0 };

		CU_ASSERT_EQUAL(pk_store_add_sample(st, sid, &smp), PK_STORE_OK);
	}
	/* three blocks are committed without any explicit flush */
	snprintf(q, sizeof(q), "SELECT samples FROM sessions WHERE id = %lld", (long long)sid);
	CU_ASSERT_EQUAL(raw_int(path, q), PK_STORE_BLOCK_SAMPLES * 3);
	CU_ASSERT_EQUAL(raw_int(path, "SELECT count(*) FROM stack_nodes"), 1);
	CU_ASSERT_EQUAL(pk_store_flush(st), PK_STORE_OK);
	CU_ASSERT_EQUAL(raw_int(path, q), n);
	pk_store_close(st);
}

int main(void)
{
	CU_pSuite suite;
	unsigned failures;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-store-XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	suite = CU_add_suite("store", NULL, NULL);
	if (!suite ||
	    !CU_add_test(suite, "round trip of a session", test_roundtrip) ||
	    !CU_add_test(suite, "interning deduplicates", test_intern_dedup) ||
	    !CU_add_test(suite, "migration from schema 1", test_migration) ||
	    !CU_add_test(suite, "reader while writer writes", test_concurrent_reader) ||
	    !CU_add_test(suite, "killed recorder -> aborted", test_aborted) ||
	    !CU_add_test(suite, "foreign files rejected", test_foreign_files) ||
	    !CU_add_test(suite, "read-only database", test_readonly) ||
	    !CU_add_test(suite, "remove one session", test_remove) ||
	    !CU_add_test(suite, "session names", test_names) ||
	    !CU_add_test(suite, "statistics", test_stats) ||
	    !CU_add_test(suite, "automatic flush", test_auto_flush)) {
		CU_cleanup_registry();
		return 1;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures();
	CU_cleanup_registry();
	if (!failures) {
		char *cmd = pk_xasprintf("rm -rf '%s'", tmpdir);

		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpdir);
		free(cmd);
	}
	return failures != 0;
}
