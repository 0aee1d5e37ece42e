/*
 * test-report.c - the reader against hand-built sessions whose answers
 * are known: profile aggregation (self, total, recursion counted once,
 * filters), output helpers (truncation, CSV quoting, ISO times), and the
 * report and sessions commands run end to end on a temporary database.
 *
 * Sessions are written through the store API exactly as perfkitd writes
 * them, so these tests also pin down the contract between the two sides.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "src/builtin.h"
#include "error.h"
#include "src/output.h"
#include "src/profile.h"
#include "store/store.h"
#include "util.h"

static char tmpdir[64];
static char *db_path;

/* ---- building sessions -------------------------------------------------- */

/* Setup runs outside any test: a failure there ends the program. */
#define BUILD(cond) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "%s:%d: building the test sessions: %s failed\n", \
				__FILE__, __LINE__, #cond); \
			exit(1); \
		} \
	} while (0)

struct builder {
	struct pk_store *st;
	int64_t sid;
	int64_t time_ns;   /* next sample time; advances 10 ms per sample */
};

static void begin(struct builder *b, struct pk_store *st, const char *name, const char *mode,
		  double hz)
{
	struct pk_session s;

	memset(&s, 0, sizeof(s));
	s.name = (char *)name;
	s.command = (char *)"./prog --fast, \"quoted\"";
	s.mode = (char *)mode;
	s.pid = 4242;
	s.frequency = hz;
	s.exit_status = -1;
	BUILD(pk_store_session_begin(st, &s) == PK_STORE_OK);
	b->st = st;
	b->sid = s.id;
	b->time_ns = 0;
	/* begin fills s->name only when we passed NULL; ours is static. */
	if (s.name != name)
		free(s.name);
}

static int64_t function(struct builder *b, const char *name, int64_t module)
{
	int64_t id = pk_store_function(b->st, b->sid, name, module);

	BUILD(id > 0);
	return id;
}

static int64_t frame(struct builder *b, int64_t fn, int64_t module, uint64_t off, const char *file,
		     int line)
{
	int64_t id = pk_store_frame(b->st, b->sid, fn, module, off, file, line);

	BUILD(id > 0);
	return id;
}

/* A stack from root to leaf; returns the leaf node. */
static int64_t stack(struct builder *b, int n, const int64_t *frames_root_first)
{
	int64_t node = 0;
	int i;

	for (i = 0; i < n; i++) {
		node = pk_store_stack_node(b->st, b->sid, node, frames_root_first[i]);
		BUILD(node > 0);
	}
	return node;
}

static void samples(struct builder *b, int event, int64_t leaf, int32_t tid, int64_t weight, int count)
{
	int i;

	for (i = 0; i < count; i++) {
		struct pk_sample s = { b->time_ns, tid, event, leaf, weight, 0 };

		BUILD(pk_store_add_sample(b->st, b->sid, &s) == PK_STORE_OK);
		b->time_ns += 10000000;
	}
}

static void end(struct builder *b)
{
	BUILD(pk_store_flush(b->st) == PK_STORE_OK);
	BUILD(pk_store_session_end(b->st, b->sid, "complete", 0,
					     (int64_t)pk_realtime_ns()) == PK_STORE_OK);
}

/*
 * "recursion": main -> a -> b -> a -> b, one sample at the leaf b.
 *
 * "mixed" (cpu, 100 Hz asked, 50 Hz achieved), samples in this order,
 * 10 ms apart:
 *   50 x main -> compute            tid 100   t = 0 .. 490 ms
 *   30 x main -> compute -> helper  tid 101   t = 500 .. 790 ms
 *   15 x main -> compute -> memcpy  tid 100   t = 800 .. 940 ms
 *    5 x main                       tid 101   t = 950 .. 990 ms
 *    2 x no stack                   tid 100   t = 1000, 1010 ms
 *    3 x alloc event, 1000 bytes each on the memcpy stack
 * compute's leaf frame is prog.c:10, its caller frame prog.c:12.
 *
 * "empty": no samples.  "long": one sample in a function with a very long
 * name.  "live": still recording (by this process).
 */
#define LONG_NAME "std::vector<std::basic_string<char>, std::allocator<std::basic_string<char> > >::_M_realloc_insert_with_a_long_tail"

static int build_sessions(void)
{
	struct pk_store *st;
	struct builder b;
	char err[256];
	int64_t prog, libc, fmain, fa, fb, fcompute, fhelper, fmemcpy;
	int64_t main_f, a_f, b_f, compute_leaf, compute_call, helper_f, memcpy_f, leaf;
	int cpu, alloc;

	if (pk_store_open(db_path, PK_STORE_MODE_WRITE, &st, err, sizeof(err)) != PK_STORE_OK) {
		fprintf(stderr, "cannot open %s: %s\n", db_path, err);
		return -1;
	}

	begin(&b, st, "recursion", "cpu", 100);
	prog = pk_store_module(st, b.sid, "/usr/bin/prog", "abcd");
	fmain = function(&b, "main", prog);
	fa = function(&b, "a", prog);
	fb = function(&b, "b", prog);
	main_f = frame(&b, fmain, prog, 0x10, "prog.c", 3);
	a_f = frame(&b, fa, prog, 0x20, "prog.c", 7);
	b_f = frame(&b, fb, prog, 0x30, "prog.c", 9);
	cpu = pk_store_event(st, b.sid, "cpu", "samples");
	{
		int64_t path[] = { main_f, a_f, b_f, a_f, b_f };

		samples(&b, cpu, stack(&b, 5, path), 1, 1, 1);
	}
	end(&b);

	begin(&b, st, "mixed", "cpu", 100);
	prog = pk_store_module(st, b.sid, "/usr/bin/prog", NULL);
	libc = pk_store_module(st, b.sid, "/lib/x86_64-linux-gnu/libc.so.6", NULL);
	fmain = function(&b, "main", prog);
	fcompute = function(&b, "compute", prog);
	fhelper = function(&b, "helper", prog);
	fmemcpy = function(&b, "memcpy", libc);
	main_f = frame(&b, fmain, prog, 0x10, "prog.c", 3);
	compute_leaf = frame(&b, fcompute, prog, 0x100, "prog.c", 10);
	compute_call = frame(&b, fcompute, prog, 0x120, "prog.c", 12);
	helper_f = frame(&b, fhelper, prog, 0x200, "/src/very/long/path/to/helper.c", 0);
	memcpy_f = frame(&b, fmemcpy, libc, 0x9999, NULL, 0);
	cpu = pk_store_event(st, b.sid, "cpu", "samples");
	alloc = pk_store_event(st, b.sid, "alloc", "bytes");
	{
		int64_t p1[] = { main_f, compute_leaf };
		int64_t p2[] = { main_f, compute_call, helper_f };
		int64_t p3[] = { main_f, compute_call, memcpy_f };

		samples(&b, cpu, stack(&b, 2, p1), 100, 1, 50);
		samples(&b, cpu, stack(&b, 3, p2), 101, 1, 30);
		leaf = stack(&b, 3, p3);
		samples(&b, cpu, leaf, 100, 1, 15);
		samples(&b, cpu, stack(&b, 1, p1), 101, 1, 5);
		samples(&b, cpu, 0, 100, 1, 2);
		samples(&b, alloc, leaf, 100, 1000, 3);
	}
	BUILD(pk_store_set_stat(st, b.sid, "achieved_hz", 50) == PK_STORE_OK);
	BUILD(pk_store_set_stat(st, b.sid, "duration_s", 1.02) == PK_STORE_OK);
	BUILD(pk_store_set_stat(st, b.sid, "threads", 2) == PK_STORE_OK);
	BUILD(pk_store_set_stat(st, b.sid, "stop_median_us", 21.5) == PK_STORE_OK);
	BUILD(pk_store_set_stat(st, b.sid, "complete_stacks", 51) == PK_STORE_OK);
	BUILD(pk_store_set_stat(st, b.sid, "zz_future_key", 7.25) == PK_STORE_OK);
	end(&b);

	begin(&b, st, "empty", "wall", 99);
	end(&b);

	begin(&b, st, "long", "cpu", 99);
	prog = pk_store_module(st, b.sid, "/usr/lib/a/very/deep/directory/libsomething-with-long-name.so.1", NULL);
	fa = function(&b, LONG_NAME, prog);
	a_f = frame(&b, fa, prog, 0x10, NULL, 0);
	cpu = pk_store_event(st, b.sid, "cpu", "samples");
	samples(&b, cpu, stack(&b, 1, &a_f), 7, 1, 1);
	end(&b);

	begin(&b, st, "live", "cpu", 99);
	BUILD(pk_store_flush(st) == PK_STORE_OK);

	pk_store_close(st);
	return 0;
}

static int suite_init(void)
{
	strcpy(tmpdir, "/tmp/pk-test-report-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	db_path = pk_xasprintf("%s/perfkit.db", tmpdir);
	setenv("TZ", "UTC", 1);
	return build_sessions();
}

static int suite_clean(void)
{
	char *cmd = pk_xasprintf("rm -rf '%s'", tmpdir);
	int rc = system(cmd);

	free(cmd);
	free(db_path);
	return rc == 0 ? 0 : -1;
}

/* ---- profile ----------------------------------------------------------- */

static struct pk_store *open_read(void)
{
	struct pk_store *st = NULL;
	char err[256];

	CU_ASSERT_FATAL(pk_store_open(db_path, PK_STORE_MODE_READ, &st, err, sizeof(err)) == PK_STORE_OK);
	return st;
}

/* The stat of the function called name, or NULL. */
static const struct pk_func_stat *stat_of(const struct pk_profile *p, const struct pk_func_stat *v,
					  size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(pk_profile_function_name(p, v[i].function_id), name))
			return &v[i];
	return NULL;
}

/* Like stat_of, but a missing function is a failure (and reads as zeros). */
static const struct pk_func_stat *must_stat(const struct pk_profile *p, const struct pk_func_stat *v,
					    size_t n, const char *name)
{
	static const struct pk_func_stat missing = { -1, 0, 0, 0 };
	const struct pk_func_stat *s = stat_of(p, v, n, name);

	if (!s) {
		fprintf(stderr, "\nno function '%s' in the profile\n", name);
		CU_FAIL("function missing from the profile");
		return &missing;
	}
	return s;
}

static void test_recursion_counted_once(void)
{
	struct pk_store *st = open_read();
	struct pk_profile p;
	struct pk_func_stat *v;
	const struct pk_func_stat *a, *b, *m;
	int64_t frames[16];
	size_t n;

	CU_ASSERT_FATAL(pk_profile_load(st, "recursion", NULL, &p) == PK_STORE_OK);
	CU_ASSERT_EQUAL(p.total, 1);
	CU_ASSERT_EQUAL(p.n_samples, 1);
	CU_ASSERT_EQUAL(pk_profile_function_stats(&p, &v, &n), PK_STORE_OK);
	CU_ASSERT_EQUAL_FATAL(n, 3);
	a = must_stat(&p, v, n, "a");
	b = must_stat(&p, v, n, "b");
	m = must_stat(&p, v, n, "main");
	CU_ASSERT_EQUAL(a->total, 1);
	CU_ASSERT_EQUAL(b->total, 1);
	CU_ASSERT_EQUAL(m->total, 1);
	CU_ASSERT_EQUAL(b->self, 1);
	CU_ASSERT_EQUAL(a->self, 0);
	CU_ASSERT_EQUAL(m->self, 0);
	CU_ASSERT_STRING_EQUAL(pk_profile_function_name(&p, v[0].function_id), "b");
	/* The node tree itself counts every level: 5 nodes, each total 1. */
	CU_ASSERT_EQUAL(p.symtab.n_nodes, 5);
	CU_ASSERT_EQUAL(p.node_total[0], 1);
	CU_ASSERT_EQUAL(pk_profile_stack_frames(&p, 5, frames, 16), 5);
	CU_ASSERT_EQUAL(pk_profile_stack_frames(&p, 5, frames, 2), 2);
	CU_ASSERT_EQUAL(pk_profile_node_function(&p, 5), b->function_id);
	free(v);
	pk_profile_release(&p);
	pk_store_close(st);
}

static void test_totals_add_up(void)
{
	struct pk_store *st = open_read();
	struct pk_profile p;
	struct pk_func_stat *v;
	uint64_t sum = 0;
	size_t n, i;
	const struct pk_func_stat *m, *c, *h, *mc;

	CU_ASSERT_FATAL(pk_profile_load(st, "mixed", NULL, &p) == PK_STORE_OK);
	CU_ASSERT_STRING_EQUAL(p.event_name, "cpu");
	CU_ASSERT_EQUAL(p.total, 102);
	CU_ASSERT_EQUAL(p.n_samples, 102);
	CU_ASSERT_EQUAL(p.root_self, 2);
	CU_ASSERT_EQUAL_FATAL(p.n_tids, 2);
	CU_ASSERT_EQUAL(p.tids[0], 100);
	CU_ASSERT_EQUAL(p.tids[1], 101);
	CU_ASSERT_DOUBLE_EQUAL(p.sample_hz, 50.0, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(p.duration_s, 1.02, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(pk_profile_seconds(&p, 50), 1.0, 1e-9);
	/* The root node (main) holds everything that has a stack. */
	CU_ASSERT_EQUAL(p.node_total[0], 100);

	CU_ASSERT_EQUAL(pk_profile_function_stats(&p, &v, &n), PK_STORE_OK);
	CU_ASSERT_EQUAL_FATAL(n, 4);
	for (i = 0; i < n; i++) {
		sum += v[i].self;
		CU_ASSERT(v[i].total >= v[i].self);
		if (i)
			CU_ASSERT(v[i - 1].self >= v[i].self);
	}
	CU_ASSERT_EQUAL(sum, p.total - p.root_self);
	m = must_stat(&p, v, n, "main");
	c = must_stat(&p, v, n, "compute");
	h = must_stat(&p, v, n, "helper");
	mc = must_stat(&p, v, n, "memcpy");
	CU_ASSERT_EQUAL(m->self, 5);
	CU_ASSERT_EQUAL(m->total, 100);
	CU_ASSERT_EQUAL(c->self, 50);
	CU_ASSERT_EQUAL(c->total, 95);
	CU_ASSERT_EQUAL(h->self, 30);
	CU_ASSERT_EQUAL(h->total, 30);
	CU_ASSERT_EQUAL(mc->self, 15);
	CU_ASSERT_EQUAL(mc->total, 15);
	/* Sorted by self: compute, helper, memcpy, main. */
	CU_ASSERT_PTR_EQUAL(&v[0], c);
	CU_ASSERT_PTR_EQUAL(&v[1], h);
	CU_ASSERT_PTR_EQUAL(&v[2], mc);
	CU_ASSERT_PTR_EQUAL(&v[3], m);
	/* compute's hottest frame is its leaf line (50 samples vs 45). */
	CU_ASSERT_FATAL(c->source_frame_id > 0 && (size_t)c->source_frame_id <= p.symtab.n_frames);
	CU_ASSERT_EQUAL(p.symtab.frames[c->source_frame_id - 1].line, 10);
	CU_ASSERT_EQUAL(mc->source_frame_id, 0);
	CU_ASSERT_FATAL(mc->function_id > 0);
	CU_ASSERT_STRING_EQUAL(pk_profile_module_name(&p, p.symtab.functions[mc->function_id - 1].module_id),
			       "/lib/x86_64-linux-gnu/libc.so.6");
	free(v);
	pk_profile_release(&p);
	pk_store_close(st);
}

static void test_filters(void)
{
	struct pk_store *st = open_read();
	struct pk_filter f;
	struct pk_profile p;
	struct pk_func_stat *v;
	const struct pk_func_stat *s;
	size_t n;

	/* Thread 101: 30 in helper, 5 in main. */
	memset(&f, 0, sizeof(f));
	f.tid = 101;
	CU_ASSERT_FATAL(pk_profile_load(st, "mixed", &f, &p) == PK_STORE_OK);
	CU_ASSERT_EQUAL(p.total, 35);
	CU_ASSERT_EQUAL(p.n_tids, 1);
	pk_profile_function_stats(&p, &v, &n);
	CU_ASSERT_EQUAL(n, 3);
	s = must_stat(&p, v, n, "main");
	CU_ASSERT(s->total == 35 && s->self == 5);
	s = must_stat(&p, v, n, "compute");
	CU_ASSERT(s->total == 30 && s->self == 0);
	CU_ASSERT_PTR_NULL(stat_of(&p, v, n, "memcpy"));
	free(v);
	pk_profile_release(&p);

	/* The first half second is the 50 samples in compute's leaf. */
	memset(&f, 0, sizeof(f));
	f.has_to = 1;
	f.to_s = 0.5;
	CU_ASSERT_FATAL(pk_profile_load(st, "mixed", &f, &p) == PK_STORE_OK);
	CU_ASSERT_EQUAL(p.total, 50);
	pk_profile_function_stats(&p, &v, &n);
	CU_ASSERT_EQUAL(n, 2);
	s = must_stat(&p, v, n, "compute");
	CU_ASSERT(s->self == 50 && s->total == 50);
	free(v);
	pk_profile_release(&p);

	/* From 0.8 s to 0.95 s: the 15 memcpy samples. */
	f.has_from = 1;
	f.from_s = 0.8;
	f.to_s = 0.95;
	CU_ASSERT_FATAL(pk_profile_load(st, "mixed", &f, &p) == PK_STORE_OK);
	CU_ASSERT_EQUAL(p.total, 15);
	pk_profile_release(&p);

	/* Another event: weights are bytes. */
	memset(&f, 0, sizeof(f));
	f.event = "alloc";
	CU_ASSERT_FATAL(pk_profile_load(st, "mixed", &f, &p) == PK_STORE_OK);
	CU_ASSERT_EQUAL(p.total, 3000);
	CU_ASSERT_EQUAL(p.n_samples, 3);
	CU_ASSERT_STRING_EQUAL(p.event_unit, "bytes");
	pk_profile_release(&p);

	f.event = "no-such-event";
	CU_ASSERT_EQUAL(pk_profile_load(st, "mixed", &f, &p), PK_STORE_NOTFOUND);
	pk_profile_release(&p);
	CU_ASSERT_EQUAL(pk_profile_load(st, "no-such-session", NULL, &p), PK_STORE_NOTFOUND);
	pk_profile_release(&p);

	/* An empty wall session: nothing counted, no error. */
	CU_ASSERT_FATAL(pk_profile_load(st, "empty", NULL, &p) == PK_STORE_OK);
	CU_ASSERT_EQUAL(p.total, 0);
	CU_ASSERT_STRING_EQUAL(p.event_name, "wall");
	pk_profile_function_stats(&p, &v, &n);
	CU_ASSERT_EQUAL(n, 0);
	free(v);
	pk_profile_release(&p);
	pk_store_close(st);
}

/* ---- output helpers ---------------------------------------------------- */

static void test_output_helpers(void)
{
	char *s, buf[64];
	FILE *f;
	size_t len;
	struct pk_csv c;
	enum pk_format fmt;

	s = pk_text_truncate("abcdefghij", 6, PK_TRUNC_END);
	CU_ASSERT_STRING_EQUAL(s, "abc...");
	free(s);
	s = pk_text_truncate("/a/b/c/file.c:12", 10, PK_TRUNC_START);
	CU_ASSERT_STRING_EQUAL(s, "...le.c:12");
	free(s);
	s = pk_text_truncate("short", 10, PK_TRUNC_END);
	CU_ASSERT_STRING_EQUAL(s, "short");
	free(s);
	/* "µs" is two characters, three bytes: never cut inside a character. */
	CU_ASSERT_EQUAL(pk_text_width("5 \xc2\xb5s"), 4);
	s = pk_text_truncate("\xc2\xb5\xc2\xb5\xc2\xb5\xc2\xb5\xc2\xb5", 4, PK_TRUNC_END);
	CU_ASSERT_STRING_EQUAL(s, "\xc2\xb5...");
	free(s);

	s = pk_utf8_sanitize("caf\xc3\xa9 \xff\xfe|\xc3_");
	CU_ASSERT_STRING_EQUAL(s, "caf\xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd_");
	free(s);

	CU_ASSERT_EQUAL(pk_format_parse("json", &fmt), 0);
	CU_ASSERT_EQUAL(fmt, PK_FORMAT_JSON);
	CU_ASSERT_EQUAL(pk_format_parse("xml", &fmt), -1);

	f = open_memstream(&s, &len);
	pk_csv_init(&c, f);
	pk_csv_field(&c, "plain");
	pk_csv_field(&c, "a,b");
	pk_csv_field(&c, "say \"hi\"");
	pk_csv_field(&c, NULL);
	pk_csv_int(&c, -3);
	pk_csv_double(&c, 0.5);
	pk_csv_double(&c, NAN);
	pk_csv_end_row(&c);
	fclose(f);
	CU_ASSERT_STRING_EQUAL(s, "plain,\"a,b\",\"say \"\"hi\"\"\",,-3,0.5,\n");
	free(s);

	/* TZ=UTC (suite_init): 2026-11-26 10:15:00 UTC. */
	pk_format_iso_time(INT64_C(1795688100) * 1000000000, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "2026-11-26T10:15:00+00:00");
	pk_format_duration(0.25, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "250ms");
	pk_format_duration(12.34, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "12.3s");
	pk_format_duration(245, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "4m05s");
	pk_format_duration(NAN, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "-");
}

static void test_table_alignment(void)
{
	static const struct pk_column cols[] = {
		{ "N", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "NAME", PK_ALIGN_LEFT, 8, PK_TRUNC_END },
		{ "LAST", PK_ALIGN_LEFT, 0, PK_TRUNC_END },
	};
	struct pk_table *t = pk_table_new(cols, 3);
	FILE *f;
	char *s;
	size_t len;

	pk_table_row(t);
	pk_table_cell(t, "7");
	pk_table_cell(t, "short");
	pk_table_cell(t, "x");
	pk_table_row(t);
	pk_table_cellf(t, "%d", 1234);
	pk_table_cell(t, "a-very-long-name");
	CU_ASSERT_EQUAL(pk_table_rows(t), 2);
	f = open_memstream(&s, &len);
	pk_table_print(t, f);
	fclose(f);
	CU_ASSERT_STRING_EQUAL(s,
			       "   N  NAME      LAST\n"
			       "   7  short     x\n"
			       "1234  a-ver...  \n");
	free(s);
	pk_table_free(t);
	pk_table_free(NULL);
}

/* ---- commands, end to end --------------------------------------------- */

struct run_result {
	int rc;
	char *out;
	char *err;
};

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s = NULL;
	size_t len = 0;
	long n;

	if (!f)
		return pk_xstrdup("");
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	s = pk_xmalloc((size_t)n + 1);
	len = fread(s, 1, (size_t)n, f);
	s[len] = '\0';
	fclose(f);
	return s;
}

/* Run a command with stdout and stderr captured.  db NULL = the test db. */
static struct run_result run(pk_command_fn fn, const char *db, int argc, const char **args)
{
	struct pk_cli cli = { NULL, NULL, NULL };
	struct run_result r;
	char *out_path = pk_xasprintf("%s/out", tmpdir), *err_path = pk_xasprintf("%s/err", tmpdir);
	char **argv = pk_xcalloc((size_t)argc + 1, sizeof(*argv));
	int saved_out, saved_err, fd_out, fd_err, i;

	for (i = 0; i < argc; i++)
		argv[i] = pk_xstrdup(args[i]);
	cli.db_option = db ? db : db_path;
	fflush(stdout);
	fflush(stderr);
	saved_out = dup(1);
	saved_err = dup(2);
	fd_out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	fd_err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd_out, 1);
	dup2(fd_err, 2);
	r.rc = fn(argc, argv, &cli);
	pk_cli_release(&cli);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(saved_out);
	close(saved_err);
	close(fd_out);
	close(fd_err);
	r.out = slurp(out_path);
	r.err = slurp(err_path);
	for (i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
	free(out_path);
	free(err_path);
	return r;
}

static void run_release(struct run_result *r)
{
	free(r->out);
	free(r->err);
}

#define RUN(fn, db, ...) \
	run(fn, db, (int)(sizeof((const char *[]){ __VA_ARGS__ }) / sizeof(const char *)), \
	    (const char *[]){ __VA_ARGS__ })

/* Lines of text that start with prefix, counted. */
static int count_lines_starting(const char *text, const char *prefix)
{
	int n = 0;
	const char *p = text;

	while (p && *p) {
		if (!strncmp(p, prefix, strlen(prefix)))
			n++;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return n;
}

static void test_report_table(void)
{
	struct run_result r = RUN(cmd_report, NULL, "report", "mixed");
	const char *line;

	CU_ASSERT_EQUAL(r.rc, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "Session 'mixed'"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "event cpu: 102 samples"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "2 threads"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "(2 samples had no stack"));
	/* compute: 50 self (49.0% of 102), 95 total, 1.0s at 50 Hz, prog.c:10 */
	line = strstr(r.out, "\n  50");
	CU_ASSERT_PTR_NOT_NULL_FATAL(line);
	CU_ASSERT_PTR_NOT_NULL(strstr(line, "49.0%"));
	CU_ASSERT_PTR_NOT_NULL(strstr(line, "1.0s"));
	CU_ASSERT_PTR_NOT_NULL(strstr(line, "compute"));
	CU_ASSERT_PTR_NOT_NULL(strstr(line, "prog.c:10"));
	/* Modules by basename in the table. */
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "libc.so.6"));
	CU_ASSERT_PTR_NULL(strstr(r.out, "/lib/x86_64-linux-gnu"));
	/* Order by self: compute before helper before memcpy before main. */
	CU_ASSERT(strstr(r.out, "compute") < strstr(r.out, "helper"));
	CU_ASSERT(strstr(r.out, "helper") < strstr(r.out, "memcpy"));
	CU_ASSERT(strstr(r.out, "memcpy") < strstr(r.out, "main "));
	run_release(&r);

	r = RUN(cmd_report, NULL, "report", "--sort", "total", "--limit", "2", "mixed");
	CU_ASSERT_EQUAL(r.rc, 0);
	CU_ASSERT(strstr(r.out, "main ") && strstr(r.out, "compute") && strstr(r.out, "main ") < strstr(r.out, "compute"));
	CU_ASSERT_PTR_NULL(strstr(r.out, "helper"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "(2 more functions"));
	run_release(&r);

	/* Long names are cut in the table, whole in JSON. */
	r = RUN(cmd_report, NULL, "report", "long");
	CU_ASSERT_EQUAL(r.rc, 0);
	CU_ASSERT_PTR_NULL(strstr(r.out, LONG_NAME));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "std::vector<std::basic_string<char>, std::allocator<std::..."));
	run_release(&r);
	r = RUN(cmd_report, NULL, "report", "--format", "json", "long");
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, LONG_NAME));
	run_release(&r);

	/* --thread, --from/--to reach the profile. */
	r = RUN(cmd_report, NULL, "report", "--thread", "101", "--format", "csv", "mixed");
	CU_ASSERT_EQUAL(r.rc, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\nhelper,/usr/bin/prog,30,30,"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\nmain,/usr/bin/prog,5,35,"));
	CU_ASSERT_EQUAL(count_lines_starting(r.out, "memcpy"), 0);
	run_release(&r);
	r = RUN(cmd_report, NULL, "report", "--from", "0.8", "--to", "950ms", "--format", "csv", "mixed");
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\nmemcpy,/lib/x86_64-linux-gnu/libc.so.6,15,15,100,100,0.3,0.3,\n"));
	run_release(&r);
}

static void test_report_json(void)
{
	struct run_result r = RUN(cmd_report, NULL, "report", "--format", "json", "mixed");
	static const char *const keys[] = {
		"\"session\"", "\"id\"", "\"name\": \"mixed\"", "\"command\"", "\"pid\": 4242",
		"\"status\": \"complete\"", "\"started_at\"", "\"duration_s\": 1.02", "\"samples\"",
		"\"functions\"", "\"function\": \"compute\"", "\"module\": \"/usr/bin/prog\"",
		"\"self_samples\": 50", "\"total_samples\": 95", "\"self_percent\"", "\"total_percent\"",
		"\"self_time_s\": 1,", "\"total_time_s\": 1.9,", "\"source\": \"prog.c:10\"",
		"\"source\": null",
	};
	size_t i;

	CU_ASSERT_EQUAL(r.rc, 0);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (!strstr(r.out, keys[i]))
			fprintf(stderr, "\nmissing %s in:\n%s\n", keys[i], r.out);
		CU_ASSERT_PTR_NOT_NULL(strstr(r.out, keys[i]));
	}
	/* All four functions (no default limit in JSON), in self order. */
	CU_ASSERT(strstr(r.out, "\"compute\"") < strstr(r.out, "\"helper\""));
	CU_ASSERT(strstr(r.out, "\"memcpy\"") < strstr(r.out, "\"function\": \"main\""));
	run_release(&r);

	r = RUN(cmd_report, NULL, "report", "--format", "json", "empty");
	CU_ASSERT_EQUAL(r.rc, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\"functions\": []"));
	run_release(&r);
	r = RUN(cmd_report, NULL, "report", "empty");
	CU_ASSERT_EQUAL(r.rc, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "no wall samples in this session"));
	run_release(&r);
}

static void test_report_errors(void)
{
	char *missing = pk_xasprintf("%s/nothing-here.db", tmpdir);
	char *notdb = pk_xasprintf("%s/notes.txt", tmpdir);
	char *expect = pk_xasprintf("perfkit: error: no session 'nope' in '%s'; see 'perfkit sessions list'\n",
				    db_path);
	struct run_result r;
	FILE *f;

	r = RUN(cmd_report, NULL, "report", "nope");
	CU_ASSERT_EQUAL(r.rc, PK_EXIT_FAILURE);
	CU_ASSERT_STRING_EQUAL(r.err, expect);
	run_release(&r);

	r = RUN(cmd_report, missing, "report", "last");
	CU_ASSERT_EQUAL(r.rc, PK_EXIT_FAILURE);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "no sessions recorded yet"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "perfkitd run"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "perfkitd attach"));
	CU_ASSERT_EQUAL(access(missing, F_OK), -1);   /* and it was not created */
	run_release(&r);

	f = fopen(notdb, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("this is not a database, it is a text file that is long enough to look like one\n", f);
	fclose(f);
	r = RUN(cmd_report, notdb, "report", "last");
	CU_ASSERT_EQUAL(r.rc, PK_EXIT_FAILURE);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "perfkit: error:"));
	run_release(&r);

	r = RUN(cmd_report, NULL, "report", "--bogus", "mixed");
	CU_ASSERT_EQUAL(r.rc, PK_EXIT_USAGE);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "unknown option '--bogus'"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "usage: perfkit report"));
	run_release(&r);
	r = RUN(cmd_report, NULL, "report", "--sort", "name", "mixed");
	CU_ASSERT_EQUAL(r.rc, PK_EXIT_USAGE);
	run_release(&r);
	r = RUN(cmd_report, NULL, "report", "--limit");
	CU_ASSERT_EQUAL(r.rc, PK_EXIT_USAGE);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "needs a value"));
	run_release(&r);
	r = RUN(cmd_report, NULL, "report");
	CU_ASSERT_EQUAL(r.rc, PK_EXIT_USAGE);
	run_release(&r);
	r = RUN(cmd_report, NULL, "report", "--event", "cache-misses", "mixed");
	CU_ASSERT_EQUAL(r.rc, PK_EXIT_FAILURE);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "no event 'cache-misses'; it has: cpu, alloc"));
	run_release(&r);
	r = RUN(cmd_report, NULL, "report", "--help");
	CU_ASSERT_EQUAL(r.rc, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "usage: perfkit report"));
	run_release(&r);
	free(missing);
	free(notdb);
	free(expect);
}

static void test_sessions_commands(void)
{
	struct run_result r;

	r = RUN(cmd_sessions, NULL, "sessions", "list");
	CU_ASSERT_EQUAL(r.rc, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "ID  NAME"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "mixed"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "recording"));
	CU_ASSERT_EQUAL(count_lines_starting(r.out, " "), 5);   /* ids 1-5, right-aligned under "ID" */
	run_release(&r);

	r = RUN(cmd_sessions, NULL, "sessions", "--format", "json");
	CU_ASSERT_EQUAL(r.rc, 0);
	CU_ASSERT_EQUAL(r.out[0], '[');
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\"command\": \"./prog --fast, \\\"quoted\\\"\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\"started_at\": \""));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "+00:00\""));
	run_release(&r);

	r = RUN(cmd_sessions, NULL, "sessions", "list", "--format", "csv");
	CU_ASSERT_EQUAL(r.rc, 0);
	CU_ASSERT_EQUAL(count_lines_starting(r.out, "id,name,status,started_at,duration_s,samples"), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, ",\"./prog --fast, \"\"quoted\"\"\"\n"));
	run_release(&r);

	r = RUN(cmd_sessions, NULL, "sessions", "show", "mixed");
	CU_ASSERT_EQUAL(r.rc, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "100 Hz asked, 50.0 Hz achieved"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "21.5 µs median"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "105 (cpu 102, alloc 3)"));
	/* Shares are of the 102 cpu samples, not of all 105. */
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "complete stacks           50.0% (51 samples)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "threads"));
	/* A key this version has no label for is still shown. */
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "zz_future_key"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "7.25"));
	run_release(&r);

	r = RUN(cmd_sessions, NULL, "sessions", "show", "--format", "json", "mixed");
	CU_ASSERT_EQUAL(r.rc, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\"achieved_hz\": 50"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\"zz_future_key\": 7.25"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\"samples\": 105"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\"event_samples\": {\n    \"cpu\": 102,\n    \"alloc\": 3\n  }"));
	run_release(&r);

	/* stop: only a recording session, only a real perfkitd. */
	r = RUN(cmd_sessions, NULL, "sessions", "stop", "mixed");
	CU_ASSERT_EQUAL(r.rc, PK_EXIT_FAILURE);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "not being recorded"));
	run_release(&r);
	r = RUN(cmd_sessions, NULL, "sessions", "stop", "live");
	CU_ASSERT_EQUAL(r.rc, PK_EXIT_FAILURE);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "not a running perfkitd"));
	run_release(&r);

	/* rm: all or nothing; never a session being recorded. */
	r = RUN(cmd_sessions, NULL, "sessions", "rm", "empty", "nope");
	CU_ASSERT_EQUAL(r.rc, PK_EXIT_FAILURE);
	run_release(&r);
	r = RUN(cmd_sessions, NULL, "sessions", "rm", "live");
	CU_ASSERT_EQUAL(r.rc, PK_EXIT_FAILURE);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "is being recorded"));
	run_release(&r);
	r = RUN(cmd_sessions, NULL, "sessions", "rm", "empty", "empty");
	CU_ASSERT_EQUAL(r.rc, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "removed session 'empty'"));
	run_release(&r);
	r = RUN(cmd_sessions, NULL, "sessions", "show", "empty");
	CU_ASSERT_EQUAL(r.rc, PK_EXIT_FAILURE);
	run_release(&r);

	r = RUN(cmd_sessions, NULL, "sessions", "frobnicate");
	CU_ASSERT_EQUAL(r.rc, PK_EXIT_USAGE);
	run_release(&r);
	r = RUN(cmd_sessions, NULL, "sessions", "show", "--help");
	CU_ASSERT_EQUAL(r.rc, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "perfkit sessions stop SESSION"));
	run_release(&r);
}

int main(void)
{
	CU_pSuite s;
	unsigned failures;

	pk_set_program_name("perfkit");
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("reader", suite_init, suite_clean);
	if (!s)
		return 1;
	CU_add_test(s, "recursion counted once", test_recursion_counted_once);
	CU_add_test(s, "totals add up", test_totals_add_up);
	CU_add_test(s, "thread, time and event filters", test_filters);
	CU_add_test(s, "output helpers", test_output_helpers);
	CU_add_test(s, "table alignment and truncation", test_table_alignment);
	CU_add_test(s, "report table", test_report_table);
	CU_add_test(s, "report json", test_report_json);
	CU_add_test(s, "report errors", test_report_errors);
	CU_add_test(s, "sessions commands", test_sessions_commands);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	return failures != 0;
}
