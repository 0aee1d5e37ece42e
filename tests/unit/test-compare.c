/*
 * test-compare.c - the comparison model (src/compare.c), its verdicts and
 * its differential flame graph, on sessions written through the store
 * API with known counts, so every expected number can be worked out by
 * hand:
 *
 *   slow   prog: main -> slow_path 600 samples, main -> fixed_work 300,
 *          main -> fixed_work -> memcpy (libc) 100; 100 Hz, so 10 s
 *   fast   the same program rebuilt elsewhere under another name, with
 *          slow_path 3x cheaper: 200, 300, 100; 6 s
 *   other  different functions: main -> alpha_only 50, main -> memcpy 50
 *   noisy  slow's program again with small, noise-sized differences
 *   empty  no samples at all
 *   norate slow's counts with no sampling rate known
 *   busy   slow's counts at an achieved 200 Hz where 100 Hz were asked
 *   evslow slow's cpu samples, and a sampled event "cache-misses" (unit
 *          events) with a period of 1000: slow_path 600, fixed_work 300
 *   evfast fast's cpu samples, and cache-misses with a period of 2000:
 *          slow_path 100, fixed_work 150 (weights 200000 and 300000)
 *   xslow  slow, plus allocation data, probe rows and counters
 *   xfast  fast (as /build/new/prog-v2), with changed allocations, probes
 *          and counters (see make_exact_sessions)
 *
 * The key property: in "fast", fixed_work's share grows from 40% to 67%
 * although its time did not change; a share test would call that a
 * regression, perfkit's common-time-base test must not.
 */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "src/compare-output.h"
#include "src/compare.h"
#include "store/store.h"
#include "util.h"

static char tmpdir[64];
static char *db_path;
static struct pk_store *store;

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
	int64_t sid;
	int64_t time_ns;
	int64_t prog, libc;   /* module ids */
	const char *prog_path;  /* NULL: by session id, as below */
};

static void begin(struct builder *b, const char *name, const char *command, double hz)
{
	struct pk_session s;

	memset(&s, 0, sizeof(s));
	s.name = (char *)name;
	s.command = (char *)command;
	s.mode = (char *)"cpu";
	s.pid = 100;
	s.frequency = hz;
	s.exit_status = 0;
	BUILD(pk_store_session_begin(store, &s) == PK_STORE_OK);
	b->sid = s.id;
	b->time_ns = 0;
	b->prog = b->libc = 0;
	b->prog_path = NULL;
}

static void set_times(struct builder *b, double achieved_hz, double cpu_s, double wall_s)
{
	if (achieved_hz > 0)
		BUILD(pk_store_set_stat(store, b->sid, "achieved_hz", achieved_hz) == PK_STORE_OK);
	BUILD(pk_store_set_stat(store, b->sid, "user_cpu_s", cpu_s * 0.9) == PK_STORE_OK);
	BUILD(pk_store_set_stat(store, b->sid, "sys_cpu_s", cpu_s * 0.1) == PK_STORE_OK);
	BUILD(pk_store_set_stat(store, b->sid, "duration_s", wall_s) == PK_STORE_OK);
}

/* Add count samples of event (unit, each of weight) on the stack of
 * function names (root first); a name starting with "libc:" is in libc,
 * others in the program.  Returns the stack's leaf node. */
static int64_t add_event(struct builder *b, const char *event, const char *unit, int64_t weight, int count,
			 int depth, const char *const *names)
{
	int64_t node = 0, ev;
	int i;

	if (!b->prog)
		b->prog = pk_store_module(store, b->sid,
					  b->prog_path ? b->prog_path
					  : b->sid == 2 ? "/build/new/prog-v2" : "/build/old/prog", NULL);
	if (!b->libc)
		b->libc = pk_store_module(store, b->sid, "/lib/x86_64-linux-gnu/libc.so.6", NULL);
	BUILD(b->prog > 0 && b->libc > 0);
	for (i = 0; i < depth; i++) {
		int in_libc = !strncmp(names[i], "libc:", 5);
		int64_t mod = in_libc ? b->libc : b->prog;
		int64_t fn = pk_store_function(store, b->sid, names[i] + (in_libc ? 5 : 0), mod);
		int64_t fr;

		BUILD(fn > 0);
		fr = pk_store_frame(store, b->sid, fn, mod, 0x1000 + (uint64_t)i * 16, NULL, 0);
		BUILD(fr > 0);
		node = pk_store_stack_node(store, b->sid, node, fr);
		BUILD(node > 0);
	}
	ev = pk_store_event(store, b->sid, event, unit);
	BUILD(ev > 0);
	for (i = 0; i < count; i++) {
		struct pk_sample s = { b->time_ns, 100, (int32_t)ev, node, weight, 0 };

		BUILD(pk_store_add_sample(store, b->sid, &s) == PK_STORE_OK);
		b->time_ns += 10000000;
	}
	return node;
}

static void add(struct builder *b, int count, int depth, const char *const *names)
{
	add_event(b, "cpu", "samples", 1, count, depth, names);
}

static void end(struct builder *b)
{
	BUILD(pk_store_flush(store) == PK_STORE_OK);
	BUILD(pk_store_session_end(store, b->sid, "complete", 0, (int64_t)pk_realtime_ns()) == PK_STORE_OK);
}

#define ADD(b, count, ...) \
	do { \
		static const char *const names_[] = { __VA_ARGS__ }; \
		add((b), (count), (int)(sizeof(names_) / sizeof(names_[0])), names_); \
	} while (0)

#define ADD_EVENT(b, event, unit, weight, count, ...) \
	do { \
		static const char *const names_[] = { __VA_ARGS__ }; \
		add_event((b), (event), (unit), (weight), (count), (int)(sizeof(names_) / sizeof(names_[0])), \
			  names_); \
	} while (0)

/* The leaf node of a stack of names, root first, NULL-terminated
 * (created when new), for allocation rows. */
static int64_t stack_of(struct builder *b, ...)
{
	const char *names[16];
	va_list ap;
	int n = 0;

	va_start(ap, b);
	while (n < 16 && (names[n] = va_arg(ap, const char *)))
		n++;
	va_end(ap);
	return add_event(b, "cpu", "samples", 1, 0, n, names);
}
#define STACK(b, ...) stack_of((b), __VA_ARGS__, (const char *)NULL)

/* A program with slow_path, fixed_work and memcpy below fixed_work. */
static void program(struct builder *b, int slow, int fixed, int copy)
{
	ADD(b, slow, "main", "slow_path");
	ADD(b, fixed, "main", "fixed_work");
	ADD(b, copy, "main", "fixed_work", "libc:memcpy");
}

static void probe_row(int64_t sid, const char *function, const char *module, int64_t calls, int64_t sum_ns)
{
	struct pk_probe_row r;

	memset(&r, 0, sizeof(r));
	r.function = (char *)function;
	r.module = (char *)module;
	r.calls = r.returned = calls;
	r.total_ns = r.self_ns = r.sum_ns = sum_ns;
	r.min_ns = r.max_ns = r.p50_ns = r.p90_ns = r.p99_ns = calls ? sum_ns / calls : 0;
	BUILD(pk_store_add_probe_row(store, sid, &r) == PK_STORE_OK);
}

static void counter_row(int64_t sid, const char *name, const char *status, double value)
{
	struct pk_counter_row r;

	memset(&r, 0, sizeof(r));
	r.name = (char *)name;
	r.status = (char *)status;
	r.value = value;
	r.raw = (uint64_t)value;
	r.enabled_ns = r.running_ns = 1000000000;
	BUILD(pk_store_add_counters(store, sid, &r, 1) == PK_STORE_OK);
}

/*
 * xslow and xfast: the slow and fast programs with allocations, probes and
 * counters.  Call sites (the first frame outside malloc/calloc):
 *
 *                 xslow                      xfast
 *   build_list    3000 x 64 B via malloc     1000 x 64 B, plus 500 x 16 B
 *                 (2 stacks: main and           via calloc (one site)
 *                 fixed_work call it)
 *   keep          10 x 100 B, 4 live          10 x 100 B, 4 live (unchanged)
 *   old_only      7 x 8 B                     -
 *
 * Probes: slow_path 600 calls of 10 ms (prog) -> 600 calls of 3.33 ms
 * (prog-v2: matched as the same program); fixed_work 100 -> 120 calls;
 * helper probed only in xslow.  Counters: page-faults 1000 -> 800 in
 * both, cycles counted only in xfast, context-switches unsupported in both.
 */
static void make_exact_sessions(void)
{
	struct builder b;
	struct pk_alloc_data d;
	struct pk_alloc_stack_row rows[4];
	int64_t n1, n2, n3, n4;

	begin(&b, "xslow", "/build/old/prog --size 10", 100);
	program(&b, 600, 300, 100);
	set_times(&b, 100, 10.0, 10.5);
	n1 = STACK(&b, "main", "build_list", "libc:malloc");
	n2 = STACK(&b, "main", "fixed_work", "build_list", "libc:malloc");
	n3 = STACK(&b, "main", "keep", "libc:malloc");
	n4 = STACK(&b, "main", "old_only", "libc:malloc");
	memset(&d, 0, sizeof(d));
	memset(rows, 0, sizeof(rows));
	snprintf(d.summary.mode, sizeof(d.summary.mode), "full");
	d.summary.alloc_calls = 3017;
	d.summary.free_calls = 3013;
	d.summary.bytes_allocated = 3000 * 64 + 1000 + 56;
	d.summary.peak_bytes = 5000;
	d.summary.live_bytes = 400;
	d.summary.live_count = 4;
	rows[0] = (struct pk_alloc_stack_row){ n1, 2000, 2000 * 64, 2000, 2000 * 64, 0, 0, 0 };
	rows[1] = (struct pk_alloc_stack_row){ n2, 1000, 1000 * 64, 1000, 1000 * 64, 0, 0, 0 };
	rows[2] = (struct pk_alloc_stack_row){ n3, 10, 1000, 6, 600, 4, 400, 0 };
	rows[3] = (struct pk_alloc_stack_row){ n4, 7, 56, 7, 56, 0, 0, 0 };
	d.stacks = rows;
	d.n_stacks = 4;
	BUILD(pk_store_alloc_write(store, b.sid, &d) == PK_STORE_OK);
	probe_row(b.sid, "slow_path", "prog", 600, 6000000000);
	probe_row(b.sid, "fixed_work", "prog", 100, 4000000000);
	probe_row(b.sid, "helper", "prog", 5, 5000);
	counter_row(b.sid, "page-faults", "counted", 1000);
	counter_row(b.sid, "cycles", "unsupported", 0);
	counter_row(b.sid, "context-switches", "unsupported", 0);
	end(&b);

	begin(&b, "xfast", "/build/new/prog-v2 --size 10", 100);
	b.prog_path = "/build/new/prog-v2";
	program(&b, 200, 300, 100);
	set_times(&b, 100, 6.0, 6.4);
	n1 = STACK(&b, "main", "build_list", "libc:malloc");
	n2 = STACK(&b, "main", "build_list", "libc:calloc");
	n3 = STACK(&b, "main", "keep", "libc:malloc");
	memset(&d, 0, sizeof(d));
	snprintf(d.summary.mode, sizeof(d.summary.mode), "full");
	d.summary.alloc_calls = 1510;
	d.summary.free_calls = 1506;
	d.summary.bytes_allocated = 1000 * 64 + 500 * 16 + 1000;
	d.summary.peak_bytes = 3000;
	d.summary.live_bytes = 400;
	d.summary.live_count = 4;
	rows[0] = (struct pk_alloc_stack_row){ n1, 1000, 1000 * 64, 1000, 1000 * 64, 0, 0, 0 };
	rows[1] = (struct pk_alloc_stack_row){ n2, 500, 500 * 16, 500, 500 * 16, 0, 0, 0 };
	rows[2] = (struct pk_alloc_stack_row){ n3, 10, 1000, 6, 600, 4, 400, 0 };
	d.stacks = rows;
	d.n_stacks = 3;
	BUILD(pk_store_alloc_write(store, b.sid, &d) == PK_STORE_OK);
	probe_row(b.sid, "slow_path", "prog-v2", 600, 2000000000);
	probe_row(b.sid, "fixed_work", "prog-v2", 120, 4800000000);
	counter_row(b.sid, "page-faults", "counted", 800);
	counter_row(b.sid, "cycles", "counted", 123456);
	counter_row(b.sid, "context-switches", "unsupported", 0);
	end(&b);
}

static int make_sessions(void)
{
	struct builder b;
	char err[256];

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/pk-test-compare.XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	db_path = pk_xasprintf("%s/t.db", tmpdir);
	BUILD(pk_store_open(db_path, PK_STORE_MODE_WRITE, &store, err, sizeof(err)) == PK_STORE_OK);

	begin(&b, "slow", "/build/old/prog --size 10", 100); /* id 1 */
	program(&b, 600, 300, 100);
	set_times(&b, 100, 10.0, 10.5);
	end(&b);

	begin(&b, "fast", "/build/new/prog-v2 --size 10", 100); /* id 2 */
	program(&b, 200, 300, 100);
	set_times(&b, 100, 6.0, 6.4);
	end(&b);

	begin(&b, "other", "/build/old/prog", 100);
	ADD(&b, 50, "main", "alpha_only");
	ADD(&b, 50, "main", "libc:memcpy");
	set_times(&b, 100, 1.0, 1.0);
	end(&b);

	begin(&b, "noisy", "/build/old/prog --size 10", 100);
	program(&b, 590, 310, 96);
	ADD(&b, 2, "main", "rare");
	set_times(&b, 99.8, 9.98, 10.4);
	end(&b);

	begin(&b, "empty", "/build/old/prog", 100);
	set_times(&b, 0, 0.001, 0.002);
	end(&b);

	begin(&b, "norate", "/build/old/prog --size 10", 0);
	program(&b, 600, 300, 100);
	end(&b);

	begin(&b, "busy", "/build/old/prog --size 10", 100);
	program(&b, 600, 300, 100);
	set_times(&b, 200, 5.0, 9.0);
	end(&b);

	/* Sampled on another event, with a different period each. */
	begin(&b, "evslow", "/build/old/prog --size 10", 100);
	program(&b, 600, 300, 100);
	ADD_EVENT(&b, "cache-misses", "events", 1000, 600, "main", "slow_path");
	ADD_EVENT(&b, "cache-misses", "events", 1000, 300, "main", "fixed_work");
	set_times(&b, 100, 10.0, 10.5);
	end(&b);
	begin(&b, "evfast", "/build/new/prog-v2 --size 10", 100);
	b.prog_path = "/build/new/prog-v2";
	program(&b, 200, 300, 100);
	ADD_EVENT(&b, "cache-misses", "events", 2000, 100, "main", "slow_path");
	ADD_EVENT(&b, "cache-misses", "events", 2000, 150, "main", "fixed_work");
	/* An exactly counted event: compared without a test. */
	ADD_EVENT(&b, "alloc_bytes", "bytes", 64, 10, "main", "fixed_work");
	set_times(&b, 100, 6.0, 6.4);
	end(&b);

	make_exact_sessions();
	return 0;
}

static int cleanup(void)
{
	char *cmd;

	pk_store_close(store);
	cmd = pk_xasprintf("rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	free(cmd);
	free(db_path);
	return 0;
}

/* Assert that a pointer is set and leave the test when it is not (the
 * compiler sees the return, unlike CUnit's _FATAL longjmp). */
#define NEED(ptr) \
	do { \
		CU_ASSERT_PTR_NOT_NULL(ptr); \
		if (!(ptr)) \
			return; \
	} while (0)

static const struct pk_compare_entry *find(const struct pk_compare *c, const char *function,
					   enum pk_compare_metric m)
{
	size_t i;

	for (i = 0; i < c->n_entries; i++)
		if (!strcmp(c->entries[i].function, function) && c->entries[i].metric == m)
			return &c->entries[i];
	return NULL;
}

static size_t count_significant(const struct pk_compare *c)
{
	size_t i, n = 0;

	for (i = 0; i < c->n_entries; i++)
		n += c->entries[i].significant;
	return n;
}

static void load(const char *before, const char *after, struct pk_compare *c)
{
	int which = -1;

	CU_ASSERT_EQUAL_FATAL(pk_compare_load(store, before, after, NULL, c, &which), PK_STORE_OK);
}

static void test_speedup_found(void)
{
	struct pk_compare c;
	const struct pk_compare_entry *e;

	load("slow", "fast", &c);
	CU_ASSERT(c.tested);
	CU_ASSERT(c.times_known);
	CU_ASSERT_FALSE(c.same_session);
	CU_ASSERT_DOUBLE_EQUAL(c.before.sampled_s, 10.0, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(c.after.sampled_s, 6.0, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(c.before.cpu_s, 10.0, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(pk_compare_speedup(c.before.cpu_s, c.after.cpu_s), 10.0 / 6.0, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(pk_compare_speedup(c.before.wall_s, c.after.wall_s), 10.5 / 6.4, 1e-9);
	/* On the 10 s base the fast session had 1000 opportunities. */
	CU_ASSERT_EQUAL(c.before.opportunities, 1000);
	CU_ASSERT_EQUAL(c.after.opportunities, 1000);

	/* slow_path: 6 s -> 2 s, 60% -> 33.3% of the samples. */
	e = find(&c, "slow_path", PK_METRIC_SELF_TIME);
	NEED(e);
	CU_ASSERT_EQUAL(e->presence, PK_PRESENT_BOTH);
	CU_ASSERT_EQUAL(e->before_samples, 600);
	CU_ASSERT_EQUAL(e->after_samples, 200);
	CU_ASSERT_DOUBLE_EQUAL(e->before_s, 6.0, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(e->after_s, 2.0, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(e->percent_change, -200.0 / 3.0, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(e->delta_points, 100.0 * (200.0 / 600 - 0.6), 1e-9);
	CU_ASSERT_EQUAL(e->method, PK_TEST_Z);
	CU_ASSERT(e->p_value < 1e-50);
	CU_ASSERT(e->significant);
	CU_ASSERT(pk_compare_is_improvement(e));
	/* The program matched across builds: "prog" and "prog-v2". */
	CU_ASSERT_STRING_EQUAL(e->module, "prog-v2");

	/* fixed_work: same 3 s (share 30% -> 50%): no change, no verdict. */
	e = find(&c, "fixed_work", PK_METRIC_SELF_TIME);
	NEED(e);
	CU_ASSERT_DOUBLE_EQUAL(e->percent_change, 0.0, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(e->delta_points, 20.0, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(e->p_value, 1.0, 1e-12);
	CU_ASSERT_FALSE(e->significant);
	CU_ASSERT_FALSE(pk_compare_is_regression(e));
	e = find(&c, "fixed_work", PK_METRIC_TOTAL_TIME);
	NEED(e);
	CU_ASSERT_DOUBLE_EQUAL(e->before_s, 4.0, 1e-9);
	CU_ASSERT_FALSE(e->significant);
	e = find(&c, "memcpy", PK_METRIC_SELF_TIME);
	NEED(e);
	CU_ASSERT_STRING_EQUAL(e->module, "libc.so.6");
	CU_ASSERT_FALSE(e->significant);

	/* main's total time is the whole program: 10 s -> 6 s, real, and
	 * flagged as such. */
	e = find(&c, "main", PK_METRIC_TOTAL_TIME);
	NEED(e);
	CU_ASSERT_DOUBLE_EQUAL(e->percent_change, -40.0, 1e-9);
	CU_ASSERT(e->significant);
	CU_ASSERT(e->on_every_stack);
	CU_ASSERT_FALSE(e->same_as_self);
	CU_ASSERT_FALSE(pk_compare_is_informative(e));
	CU_ASSERT_PTR_NULL(find(&c, "main", PK_METRIC_SELF_TIME));

	/* slow_path's total is its self time (it calls nothing). */
	e = find(&c, "slow_path", PK_METRIC_TOTAL_TIME);
	NEED(e);
	CU_ASSERT(e->significant);
	CU_ASSERT(e->same_as_self);
	CU_ASSERT_FALSE(e->on_every_stack);
	/* fixed_work calls memcpy: its total says something of its own. */
	e = find(&c, "fixed_work", PK_METRIC_TOTAL_TIME);
	NEED(e);
	CU_ASSERT(pk_compare_is_informative(e));

	/* Exactly those three verdicts; self entries sort first, by impact. */
	CU_ASSERT_EQUAL(count_significant(&c), 3);
	CU_ASSERT_STRING_EQUAL(c.entries[0].function, "slow_path");
	CU_ASSERT_EQUAL(c.entries[0].metric, PK_METRIC_SELF_TIME);
	CU_ASSERT_FALSE(pk_compare_worst_regression(&c, 0, NULL));
	pk_compare_release(&c);
}

static void test_regression_gate(void)
{
	struct pk_compare c;
	const struct pk_compare_entry *worst;

	load("fast", "slow", &c);
	CU_ASSERT(pk_compare_worst_regression(&c, 5, &worst));
	NEED(worst);
	CU_ASSERT_STRING_EQUAL(worst->function, "slow_path");
	CU_ASSERT_DOUBLE_EQUAL(worst->percent_change, 200.0, 1e-9);
	/* main total +66.7% is also significant, but under 100%... */
	CU_ASSERT(pk_compare_worst_regression(&c, 100, &worst));
	CU_ASSERT_STRING_EQUAL(worst->function, "slow_path");
	/* ...and nothing is above 200%. */
	CU_ASSERT_FALSE(pk_compare_worst_regression(&c, 200, &worst));
	CU_ASSERT_PTR_NULL(worst);
	pk_compare_release(&c);
}

static void test_noise_is_not_significant(void)
{
	struct pk_compare c;
	const struct pk_compare_entry *e;

	load("slow", "noisy", &c);
	CU_ASSERT(c.tested);
	CU_ASSERT_EQUAL(count_significant(&c), 0);
	/* A function seen twice, only after: Fisher's test, not significant. */
	e = find(&c, "rare", PK_METRIC_SELF_TIME);
	NEED(e);
	CU_ASSERT_EQUAL(e->presence, PK_PRESENT_ADDED);
	CU_ASSERT_EQUAL(e->method, PK_TEST_FISHER);
	CU_ASSERT(isinf(e->percent_change) && e->percent_change > 0);
	CU_ASSERT(e->p_value > 0.2);
	CU_ASSERT_FALSE(e->significant);
	CU_ASSERT_FALSE(pk_compare_worst_regression(&c, 0, NULL));
	pk_compare_release(&c);
}

static void test_same_session_twice(void)
{
	struct pk_compare c;
	size_t i;

	load("slow", "1", &c);
	CU_ASSERT(c.same_session);
	CU_ASSERT(c.tested);
	CU_ASSERT(c.n_entries > 0);
	for (i = 0; i < c.n_entries; i++) {
		CU_ASSERT_DOUBLE_EQUAL(c.entries[i].percent_change, 0.0, 0);
		CU_ASSERT_DOUBLE_EQUAL(c.entries[i].p_value, 1.0, 1e-12);
		CU_ASSERT_FALSE(pk_compare_is_improvement(&c.entries[i]));
		CU_ASSERT_FALSE(pk_compare_is_regression(&c.entries[i]));
	}
	CU_ASSERT_EQUAL(count_significant(&c), 0);
	CU_ASSERT_DOUBLE_EQUAL(pk_compare_speedup(c.before.cpu_s, c.after.cpu_s), 1.0, 0);
	pk_compare_release(&c);
}

static void test_different_functions(void)
{
	struct pk_compare c;
	const struct pk_compare_entry *e;

	load("slow", "other", &c);
	CU_ASSERT(c.tested);
	e = find(&c, "slow_path", PK_METRIC_SELF_TIME);
	NEED(e);
	CU_ASSERT_EQUAL(e->presence, PK_PRESENT_REMOVED);
	CU_ASSERT_DOUBLE_EQUAL(e->percent_change, -100.0, 1e-9);
	CU_ASSERT(e->significant);
	e = find(&c, "alpha_only", PK_METRIC_SELF_TIME);
	NEED(e);
	CU_ASSERT_EQUAL(e->presence, PK_PRESENT_ADDED);
	CU_ASSERT_EQUAL(e->before_samples, 0);
	CU_ASSERT_EQUAL(e->after_samples, 50);
	CU_ASSERT(isinf(e->percent_change));
	/* 0 of 1000 against 50 of 1000: real. */
	CU_ASSERT(e->significant);
	CU_ASSERT(pk_compare_worst_regression(&c, 1000, NULL));
	/* memcpy is in both: 1 s -> 0.5 s. */
	e = find(&c, "memcpy", PK_METRIC_SELF_TIME);
	NEED(e);
	CU_ASSERT_EQUAL(e->presence, PK_PRESENT_BOTH);
	CU_ASSERT_DOUBLE_EQUAL(e->percent_change, -50.0, 1e-9);
	pk_compare_release(&c);
}

static void test_empty_session(void)
{
	struct pk_compare c;
	const struct pk_compare_entry *e;
	char *summary;
	size_t i;

	load("empty", "slow", &c);
	CU_ASSERT_FALSE(c.tested);
	CU_ASSERT_PTR_NOT_NULL(c.untested_reason);
	CU_ASSERT_EQUAL(c.before.samples, 0);
	CU_ASSERT_EQUAL(c.n_tests, 0);
	e = find(&c, "slow_path", PK_METRIC_SELF_TIME);
	NEED(e);
	CU_ASSERT_EQUAL(e->presence, PK_PRESENT_ADDED);
	for (i = 0; i < c.n_entries; i++) {
		CU_ASSERT(isnan(c.entries[i].p_value));
		CU_ASSERT(isnan(c.entries[i].q_value));
		CU_ASSERT_FALSE(c.entries[i].significant);
		CU_ASSERT_DOUBLE_EQUAL(c.entries[i].before_share, 0.0, 0);
	}
	CU_ASSERT_FALSE(pk_compare_worst_regression(&c, 0, NULL));
	summary = pk_compare_summary(&c);
	CU_ASSERT_PTR_NOT_NULL(strstr(summary, "BEFORE has no samples"));
	free(summary);
	pk_compare_release(&c);

	/* Both empty: nothing at all, and still no division by zero. */
	load("empty", "empty", &c);
	CU_ASSERT_EQUAL(c.n_entries, 0);
	CU_ASSERT_FALSE(c.tested);
	pk_compare_release(&c);
	load("slow", "empty", &c);
	CU_ASSERT_FALSE(c.tested);
	e = find(&c, "slow_path", PK_METRIC_SELF_TIME);
	NEED(e);
	CU_ASSERT_EQUAL(e->presence, PK_PRESENT_REMOVED);
	CU_ASSERT_DOUBLE_EQUAL(e->percent_change, -100.0, 1e-9);
	pk_compare_release(&c);
}

static void test_no_rate_uses_shares(void)
{
	struct pk_compare c;
	const struct pk_compare_entry *e;

	load("norate", "fast", &c);
	CU_ASSERT_FALSE(c.times_known);
	CU_ASSERT(c.tested);
	CU_ASSERT(isnan(c.before.sampled_s));
	/* Shares: slow_path 60% -> 33.3%, fixed_work 30% -> 50%. */
	e = find(&c, "slow_path", PK_METRIC_SELF_TIME);
	NEED(e);
	CU_ASSERT_DOUBLE_EQUAL(e->before_s, 0.6, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(e->percent_change, 100.0 * (1.0 / 3 - 0.6) / 0.6, 1e-9);
	CU_ASSERT(e->significant);
	e = find(&c, "fixed_work", PK_METRIC_SELF_TIME);
	NEED(e);
	CU_ASSERT(e->significant);  /* its share did grow, and shares is all we have */
	CU_ASSERT(pk_compare_is_regression(e));
	pk_compare_release(&c);
}

/* Twice the asked rate: every sample counts half in the tests. */
static void test_repeated_samples(void)
{
	struct pk_compare c;
	const struct pk_compare_entry *e;
	enum pk_test_method m;

	load("slow", "busy", &c);
	CU_ASSERT_DOUBLE_EQUAL(c.before.test_scale, 1.0, 0);
	CU_ASSERT_DOUBLE_EQUAL(c.after.test_scale, 0.5, 1e-12);
	/* Times from the achieved rate: slow_path 6 s -> 3 s. */
	e = find(&c, "slow_path", PK_METRIC_SELF_TIME);
	NEED(e);
	CU_ASSERT_DOUBLE_EQUAL(e->after_s, 3.0, 1e-9);
	/* busy: 1000 samples, 5 s: on the 10 s base 2000 opportunities,
	 * halved to 1000, and slow_path's 600 samples to 300. */
	CU_ASSERT_EQUAL(c.after.opportunities, 2000);
	CU_ASSERT_DOUBLE_EQUAL(e->p_value, pk_stats_proportion_test(600, 1000, 300, 1000, &m), 1e-15);
	CU_ASSERT_EQUAL(e->method, m);
	CU_ASSERT(e->significant);
	pk_compare_release(&c);
}

static void test_unknown_session(void)
{
	struct pk_compare c;
	int which = -1;

	CU_ASSERT_EQUAL(pk_compare_load(store, "slow", "nope", NULL, &c, &which), PK_STORE_NOTFOUND);
	CU_ASSERT_EQUAL(which, 1);
	pk_compare_release(&c);
	CU_ASSERT_EQUAL(pk_compare_load(store, "nope", "slow", NULL, &c, &which), PK_STORE_NOTFOUND);
	CU_ASSERT_EQUAL(which, 0);
	pk_compare_release(&c);
	pk_compare_release(NULL);
}

/* Everything one format prints, in memory. */
static char *render(const struct pk_compare *c, int format)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	CU_ASSERT_PTR_NOT_NULL(f);
	if (!f)
		return pk_xstrdup("");
	if (format == 0)
		pk_compare_print_table(c, 0, f);
	else if (format == 1)
		pk_compare_print_json(c, store, 0, f);
	else if (format == 2)
		pk_compare_print_csv(c, 0, f);
	else
		CU_ASSERT_EQUAL(pk_compare_write_flamegraph(c, f), 0);
	fclose(f);
	return buf;
}

static void test_outputs(void)
{
	struct pk_compare c;
	char *s;

	load("slow", "fast", &c);
	s = pk_compare_summary(&c);
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "AFTER is 1.67x faster in CPU time (10.0s -> 6.0s)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "1 significant improvement (slow_path -67%)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "no significant regression"));
	/* main's and slow_path's totals repeat what is said already. */
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "Including callees: no other significant change."));
	free(s);

	s = render(&c, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "Improvements: less time than before (1):"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "slow_path"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "(2 total-time rows left out"));
	free(s);
	s = render(&c, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "\"speedup\": {"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "\"metric\": \"self_time\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "\"regressions\": []"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "\"on_every_stack\": true"));
	free(s);
	s = render(&c, 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "improvement,slow_path,prog-v2,self_time,s,6,2,"));
	free(s);

	/* Differential flame graph: slow_path blue at two thirds of full
	 * strength (-66.7%: 235 - 195 * 2/3 = 105 = 0x69, 235 + 20 * 2/3 ->
	 * 248 = 0xf8) with both values on hover; fixed_work (same time) pale
	 * grey. */
	s = render(&c, 3);
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "data-n=\"before 6.00s (60.00%), after 2.00s (33.33%), -66.7% (significant"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "fill=\"#6969f8\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "data-n=\"before 4.00s (40.00%), after 4.00s (66.67%), +0.0% (within noise"));
	CU_ASSERT_PTR_NULL(strstr(s, "fill=\"#ff"));  /* nothing red */
	free(s);
	pk_compare_release(&c);

	/* A call path new in AFTER is said to be so, in full red. */
	load("slow", "other", &c);
	s = render(&c, 3);
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "data-n=\"before absent, after 500.0ms (50.00%), new (significant"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "fill=\"#ff2828\""));
	free(s);
	pk_compare_release(&c);

	/* Empty and same-session outputs say so, and the SVG is still made. */
	load("empty", "empty", &c);
	s = render(&c, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "BEFORE and AFTER are the same session"));
	free(s);
	s = render(&c, 3);
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "</svg>"));
	free(s);
	pk_compare_release(&c);
}

static void load_event(const char *before, const char *after, const char *event, struct pk_compare *c)
{
	struct pk_compare_params params = { 0, event };
	int which = -1;

	CU_ASSERT_EQUAL_FATAL(pk_compare_load(store, before, after, &params, c, &which), PK_STORE_OK);
}

/* cache-misses: values are weights, the test is on sample counts. */
static void test_event_weighted(void)
{
	struct pk_compare c;
	const struct pk_compare_entry *e;
	enum pk_test_method m;
	char *s;

	load_event("evslow", "evfast", "cache-misses", &c);
	CU_ASSERT_EQUAL(c.kind, PK_EVENT_WEIGHTED);
	CU_ASSERT_STRING_EQUAL(c.event, "cache-misses");
	CU_ASSERT_STRING_EQUAL(pk_compare_value_unit(&c), "events");
	CU_ASSERT(c.tested);
	CU_ASSERT_FALSE(c.times_known);
	CU_ASSERT_EQUAL(c.before.samples, 900);
	CU_ASSERT_EQUAL(c.before.weight, 900000);
	CU_ASSERT_EQUAL(c.after.samples, 250);
	CU_ASSERT_EQUAL(c.after.weight, 500000);
	/* Common base 900000 events: AFTER had 250 * 900000 / 500000. */
	CU_ASSERT_DOUBLE_EQUAL(c.base_s, 900000, 0);
	CU_ASSERT_EQUAL(c.before.opportunities, 900);
	CU_ASSERT_EQUAL(c.after.opportunities, 450);
	CU_ASSERT_EQUAL(pk_compare_weight_samples(&c.after, 200000), 100);
	CU_ASSERT_EQUAL(pk_compare_weight_samples(&c.before, 200000), 200);

	e = find(&c, "slow_path", PK_METRIC_SELF_TIME);
	NEED(e);
	CU_ASSERT_EQUAL(e->before_samples, 600);
	CU_ASSERT_EQUAL(e->after_samples, 100);
	CU_ASSERT_DOUBLE_EQUAL(e->before_s, 600000, 0);
	CU_ASSERT_DOUBLE_EQUAL(e->after_s, 200000, 0);
	CU_ASSERT_DOUBLE_EQUAL(e->percent_change, -200.0 / 3.0, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(e->p_value, pk_stats_proportion_test(600, 900, 100, 450, &m), 1e-300);
	CU_ASSERT_EQUAL(e->method, m);
	CU_ASSERT(e->significant);
	/* fixed_work: 300000 events in both (300 samples of 1000, 150 of
	 * 2000): a third of the base on both sides, no change. */
	e = find(&c, "fixed_work", PK_METRIC_SELF_TIME);
	NEED(e);
	CU_ASSERT_DOUBLE_EQUAL(e->percent_change, 0.0, 1e-12);
	CU_ASSERT_DOUBLE_EQUAL(e->p_value, 1.0, 1e-12);
	CU_ASSERT_FALSE(e->significant);
	/* The cpu samples are not counted. */
	CU_ASSERT_PTR_NULL(find(&c, "memcpy", PK_METRIC_SELF_TIME));

	s = render(&c, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "\"unit\": \"events\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "on sample counts (not weights)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "\"counted_weight\": 900000"));
	free(s);
	s = render(&c, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "Improvements: less cache-misses than before (1):"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "on sample counts (not their weights)"));
	free(s);
	s = render(&c, 3);
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "before 600.0K events (66.67%), after 200.0K events (40.00%), -66.7% (significant"));
	free(s);
	pk_compare_release(&c);

	/* Without --event: cpu, as always. */
	load("evslow", "evfast", &c);
	CU_ASSERT_EQUAL(c.kind, PK_EVENT_SAMPLES);
	CU_ASSERT_STRING_EQUAL(c.event, "cpu");
	CU_ASSERT(c.times_known);
	CU_ASSERT_EQUAL(c.before.samples, 1000);
	pk_compare_release(&c);
}

static void test_event_exact_and_missing(void)
{
	struct pk_compare_params params = { 0, "alloc_bytes" };
	struct pk_compare c;
	const struct pk_compare_entry *e;
	int which = -1;

	/* Exact counts: compared, not tested. */
	load_event("evfast", "evfast", "alloc_bytes", &c);
	CU_ASSERT_EQUAL(c.kind, PK_EVENT_EXACT);
	CU_ASSERT_FALSE(c.tested);
	CU_ASSERT_PTR_NOT_NULL(strstr(c.untested_reason, "exactly"));
	e = find(&c, "fixed_work", PK_METRIC_SELF_TIME);
	NEED(e);
	CU_ASSERT_EQUAL(e->before_samples, 10);
	CU_ASSERT_DOUBLE_EQUAL(e->before_s, 640, 0);
	CU_ASSERT(isnan(e->p_value));
	pk_compare_release(&c);

	/* A session without the event: PK_STORE_NOTFOUND, naming the side. */
	CU_ASSERT_EQUAL(pk_compare_load(store, "evslow", "evfast", &params, &c, &which), PK_STORE_NOTFOUND);
	CU_ASSERT_EQUAL(which, 0);
	pk_compare_release(&c);
	params.event = "cache-misses";
	CU_ASSERT_EQUAL(pk_compare_load(store, "evslow", "fast", &params, &c, &which), PK_STORE_NOTFOUND);
	CU_ASSERT_EQUAL(which, 1);
	pk_compare_release(&c);
}

static void test_exact_quantities(void)
{
	struct pk_compare c;
	const struct pk_compare_exact *x;
	const struct pk_compare_alloc_site *site;
	const struct pk_compare_probe *p;
	const struct pk_compare_entry *e;
	size_t i;

	CU_ASSERT_DOUBLE_EQUAL(pk_compare_percent(4, 2), -50.0, 0);
	CU_ASSERT_DOUBLE_EQUAL(pk_compare_percent(0, 0), 0.0, 0);
	CU_ASSERT(isinf(pk_compare_percent(0, 3)));

	load("xslow", "xfast", &c);
	x = &c.exact;
	CU_ASSERT(x->have_allocs[0] && x->have_allocs[1]);
	for (i = 0; i < pk_compare_n_alloc_totals; i++)
		if (!strcmp(pk_compare_alloc_totals[i].metric, "alloc_count")) {
			CU_ASSERT_EQUAL(pk_compare_alloc_total_value(&pk_compare_alloc_totals[i], &x->allocs[0]), 3017);
			CU_ASSERT_EQUAL(pk_compare_alloc_total_value(&pk_compare_alloc_totals[i], &x->allocs[1]), 1510);
		}
	/* build_list (two stacks before, malloc and calloc after: one site
	 * each side) and old_only changed; keep did not. */
	CU_ASSERT_EQUAL(x->n_sites, 2);
	CU_ASSERT_EQUAL(x->n_sites_unchanged, 1);
	CU_ASSERT_FATAL(x->n_sites == 2);
	site = &x->sites[0];
	CU_ASSERT_STRING_EQUAL(site->function, "build_list");
	CU_ASSERT_STRING_EQUAL(site->module, "prog-v2");
	CU_ASSERT_EQUAL(site->presence, PK_PRESENT_BOTH);
	CU_ASSERT(site->count[0] == 3000 && site->count[1] == 1500);
	CU_ASSERT(site->bytes[0] == 192000 && site->bytes[1] == 72000);
	CU_ASSERT(site->live_bytes[0] == 0 && site->live_bytes[1] == 0);
	site = &x->sites[1];
	CU_ASSERT_STRING_EQUAL(site->function, "old_only");
	CU_ASSERT_EQUAL(site->presence, PK_PRESENT_REMOVED);
	CU_ASSERT(site->count[0] == 7 && site->count[1] == 0);

	/* Probes: slow_path and fixed_work in both (prog and prog-v2 are the
	 * same program), largest change of total time first; helper in one. */
	CU_ASSERT_EQUAL(x->n_probes, 3);
	CU_ASSERT_EQUAL(x->n_probes_both, 2);
	CU_ASSERT_FATAL(x->n_probes == 3);
	p = &x->probes[0];
	CU_ASSERT_STRING_EQUAL(p->function, "slow_path");
	CU_ASSERT_STRING_EQUAL(p->module, "prog-v2");
	CU_ASSERT(p->calls[0] == 600 && p->calls[1] == 600);
	CU_ASSERT_DOUBLE_EQUAL(p->avg_ns[0], 1e7, 1e-6);
	CU_ASSERT_DOUBLE_EQUAL(p->avg_ns[1], 2e9 / 600, 1e-6);
	CU_ASSERT_STRING_EQUAL(x->probes[1].function, "fixed_work");
	CU_ASSERT(x->probes[1].calls[0] == 100 && x->probes[1].calls[1] == 120);
	CU_ASSERT_STRING_EQUAL(x->probes[2].function, "helper");
	CU_ASSERT_EQUAL(x->probes[2].presence, PK_PRESENT_REMOVED);
	/* The sampled rows of probed functions carry their calls. */
	e = find(&c, "slow_path", PK_METRIC_SELF_TIME);
	NEED(e);
	CU_ASSERT(e->probed);
	CU_ASSERT(e->calls[0] == 600 && e->calls[1] == 600);
	CU_ASSERT_DOUBLE_EQUAL(e->avg_ns[1], 2e9 / 600, 1e-6);
	e = find(&c, "memcpy", PK_METRIC_SELF_TIME);
	NEED(e);
	CU_ASSERT_FALSE(e->probed);

	/* Counters: only what both counted. */
	CU_ASSERT_EQUAL(x->n_counters, 1);
	CU_ASSERT_FATAL(x->n_counters == 1);
	CU_ASSERT_STRING_EQUAL(x->counters[0].name, "page-faults");
	CU_ASSERT(x->counters[0].value[0] == 1000 && x->counters[0].value[1] == 800);
	/* The sampled comparison is the same as without them. */
	CU_ASSERT_EQUAL(count_significant(&c), 3);
	pk_compare_release(&c);

	/* A plain session has none of it. */
	load("slow", "fast", &c);
	CU_ASSERT(!c.exact.have_allocs[0] && !c.exact.have_allocs[1]);
	CU_ASSERT(!c.exact.have_probes[0] && !c.exact.n_probes && !c.exact.n_counters && !c.exact.n_sites);
	pk_compare_release(&c);
}

static void test_exact_outputs(void)
{
	struct pk_compare c;
	char *s;

	load("xslow", "xfast", &c);
	s = pk_compare_summary(&c);
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "Allocations (exact counts, no test): 3017 -> 1510 (-50.0%)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "2 call sites changed"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "Probed in both: 2 functions, calls changed in 1"));
	free(s);
	s = render(&c, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "\nallocations              3017    1510  -50.0%"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "page-faults (counter)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "no p-value"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "Allocation sites that changed (2; 1 unchanged):"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "\nbuild_list  prog-v2  3000 -> 1500   -50.0%  192000 -> 72000   -62.5%      0 -> 0"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "Probed functions (2 in both sessions)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "600 -> 600"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "10.00ms -> 3.33ms"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "100 -> 120"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "helper (prog) was probed in BEFORE only"));
	free(s);
	s = render(&c, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "\"allocations\": {"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "\"metric\": \"alloc_count\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "\"calls_before\": 600"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "\"metric\": \"page-faults\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "\"p_value\": null"));
	free(s);
	s = render(&c, 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "\nallocation_site,build_list,prog-v2,alloc_count,allocations,3000,1500,-50,both,"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "\nprobe,slow_path,prog-v2,calls,calls,600,600,0,both,"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "\ncounter,,,page-faults,events,1000,800,-20,"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "\nimprovement,slow_path,prog-v2,self_time,s,6,2,"));
	free(s);
	pk_compare_release(&c);

	/* One side only: one line each, no numbers. */
	load("slow", "xfast", &c);
	s = render(&c, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "Allocations: only AFTER ('xfast') was recorded with --alloc; nothing to compare."));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "Probes: only AFTER ('xfast') was recorded with --probe; nothing to compare."));
	CU_ASSERT_PTR_NULL(strstr(s, "allocations   "));
	CU_ASSERT_PTR_NULL(strstr(s, "(counter)"));
	free(s);
	pk_compare_release(&c);
}

int main(void)
{
	CU_pSuite s;
	unsigned failures;

	if (make_sessions() < 0) {
		perror("mkdtemp");
		return 1;
	}
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("compare", NULL, NULL);
	CU_add_test(s, "3x cheaper function found, unchanged ones not", test_speedup_found);
	CU_add_test(s, "--fail-on-regression threshold", test_regression_gate);
	CU_add_test(s, "noise-sized differences are not significant", test_noise_is_not_significant);
	CU_add_test(s, "the same session twice", test_same_session_twice);
	CU_add_test(s, "different functions on each side", test_different_functions);
	CU_add_test(s, "empty sessions", test_empty_session);
	CU_add_test(s, "no sampling rate: shares", test_no_rate_uses_shares);
	CU_add_test(s, "repeated samples count less", test_repeated_samples);
	CU_add_test(s, "unknown session", test_unknown_session);
	CU_add_test(s, "summary, table, JSON, CSV, flame graph", test_outputs);
	CU_add_test(s, "--event: weights for values, counts for the test", test_event_weighted);
	CU_add_test(s, "--event: exact events untested, missing events", test_event_exact_and_missing);
	CU_add_test(s, "allocations, probes, counters matched", test_exact_quantities);
	CU_add_test(s, "allocations, probes, counters printed", test_exact_outputs);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures();
	CU_cleanup_registry();
	cleanup();
	return failures != 0;
}
