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
 *
 * The key property: in "fast", fixed_work's share grows from 40% to 67%
 * although its time did not change; a share test would call that a
 * regression, perfkit's common-time-base test must not.
 */
#include <CUnit/Basic.h>
#include <math.h>
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
}

static void set_times(struct builder *b, double achieved_hz, double cpu_s, double wall_s)
{
	if (achieved_hz > 0)
		BUILD(pk_store_set_stat(store, b->sid, "achieved_hz", achieved_hz) == PK_STORE_OK);
	BUILD(pk_store_set_stat(store, b->sid, "user_cpu_s", cpu_s * 0.9) == PK_STORE_OK);
	BUILD(pk_store_set_stat(store, b->sid, "sys_cpu_s", cpu_s * 0.1) == PK_STORE_OK);
	BUILD(pk_store_set_stat(store, b->sid, "duration_s", wall_s) == PK_STORE_OK);
}

/* Add count samples on the stack of function names (root first); a name
 * starting with "libc:" is in libc, others in the program. */
static void add(struct builder *b, int count, int depth, const char *const *names)
{
	int64_t node = 0, ev;
	int i;

	if (!b->prog)
		b->prog = pk_store_module(store, b->sid, b->sid == 2 ? "/build/new/prog-v2" : "/build/old/prog",
					  NULL);
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
	ev = pk_store_event(store, b->sid, "cpu", "samples");
	BUILD(ev > 0);
	for (i = 0; i < count; i++) {
		struct pk_sample s = { b->time_ns, 100, (int32_t)ev, node, 1, 0 };

		BUILD(pk_store_add_sample(store, b->sid, &s) == PK_STORE_OK);
		b->time_ns += 10000000;
	}
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

/* A program with slow_path, fixed_work and memcpy below fixed_work. */
static void program(struct builder *b, int slow, int fixed, int copy)
{
	ADD(b, slow, "main", "slow_path");
	ADD(b, fixed, "main", "fixed_work");
	ADD(b, copy, "main", "fixed_work", "libc:memcpy");
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
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures();
	CU_cleanup_registry();
	cleanup();
	return failures != 0;
}
