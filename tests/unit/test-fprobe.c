/*
 * test-fprobe.c - unit tests of the function probe accounting
 * (fprobe-stats.c) and pattern matching (fprobe-match.c), without a
 * traced process: calls are fed as entry/return/lost events with known
 * times, and the results compared with what they must be.
 */
#include <CUnit/Basic.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/fprobe.h"

struct collected {
	struct pk_fprobe_result r[4]; /* all-threads results per function */
	int threads_seen[4];
};

static void collect(void *ctx, int fn, pid_t tid, const struct pk_fprobe_result *r)
{
	struct collected *c = ctx;

	if (fn >= 4)
		return;
	if (tid == 0)
		c->r[fn] = *r;
	else
		c->threads_seen[fn]++;
}

/* A calls B calls C; times in ns; no correction. */
static void test_nested_self(void)
{
	struct pk_fprobe_stats *s = pk_fprobe_stats_new(3);
	static struct collected c;
	uint64_t a, b, k;

	a = pk_fprobe_stats_enter(s, 7, 0, 1000, 0, 0);
	b = pk_fprobe_stats_enter(s, 7, 1, 1100, 0, 0);
	k = pk_fprobe_stats_enter(s, 7, 2, 1200, 0, 0);
	pk_fprobe_stats_return(s, 7, k, 1300);  /* C: 100 */
	pk_fprobe_stats_return(s, 7, b, 1500);  /* B: 400, self 300 */
	pk_fprobe_stats_return(s, 7, a, 2000);  /* A: 1000, self 600 */
	memset(&c, 0, sizeof(c));
	pk_fprobe_stats_foreach(s, collect, &c);
	CU_ASSERT_EQUAL(c.r[0].calls, 1);
	CU_ASSERT_EQUAL(c.r[0].total_ns, 1000);
	CU_ASSERT_EQUAL(c.r[0].self_ns, 600);
	CU_ASSERT_EQUAL(c.r[1].total_ns, 400);
	CU_ASSERT_EQUAL(c.r[1].self_ns, 300);
	CU_ASSERT_EQUAL(c.r[2].self_ns, 100);
	CU_ASSERT_EQUAL(c.r[2].hist.min, 100);
	pk_fprobe_stats_free(s);
}

/* Recursion f -> f -> f: 3 calls, inclusive total = outermost only,
 * self times add up to the outermost's time. */
static void test_recursion(void)
{
	struct pk_fprobe_stats *s = pk_fprobe_stats_new(1);
	static struct collected c;
	uint64_t x, y, z;

	x = pk_fprobe_stats_enter(s, 1, 0, 0, 0, 0);
	y = pk_fprobe_stats_enter(s, 1, 0, 100, 0, 0);
	z = pk_fprobe_stats_enter(s, 1, 0, 200, 0, 0);
	pk_fprobe_stats_return(s, 1, z, 300);
	pk_fprobe_stats_return(s, 1, y, 400);
	pk_fprobe_stats_return(s, 1, x, 1000);
	memset(&c, 0, sizeof(c));
	pk_fprobe_stats_foreach(s, collect, &c);
	CU_ASSERT_EQUAL(c.r[0].calls, 3);
	CU_ASSERT_EQUAL(c.r[0].total_ns, 1000);
	CU_ASSERT_EQUAL(c.r[0].self_ns, 1000);
	CU_ASSERT_EQUAL(c.r[0].hist.count, 3);
	CU_ASSERT_EQUAL(c.r[0].hist.max, 1000);
	CU_ASSERT_EQUAL(c.r[0].hist.min, 100);
	pk_fprobe_stats_free(s);
}

/* A call lost (longjmp) then its caller returns; two threads. */
static void test_lost_and_threads(void)
{
	struct pk_fprobe_stats *s = pk_fprobe_stats_new(2);
	static struct collected c;
	uint64_t a, b, a2;

	a = pk_fprobe_stats_enter(s, 10, 0, 0, 0, 0);
	b = pk_fprobe_stats_enter(s, 10, 1, 10, 0, 0);
	a2 = pk_fprobe_stats_enter(s, 11, 0, 5, 0, 0);
	pk_fprobe_stats_lost(s, 10, b);
	pk_fprobe_stats_return(s, 10, a, 100);
	pk_fprobe_stats_return(s, 11, a2, 55);
	memset(&c, 0, sizeof(c));
	pk_fprobe_stats_foreach(s, collect, &c);
	CU_ASSERT_EQUAL(c.r[1].calls, 1);
	CU_ASSERT_EQUAL(c.r[1].lost, 1);
	CU_ASSERT_EQUAL(c.r[1].hist.count, 0);
	CU_ASSERT_EQUAL(c.r[0].calls, 2);
	CU_ASSERT_EQUAL(c.r[0].self_ns, 150);  /* 100 + 50: the lost call is not a callee */
	CU_ASSERT_EQUAL(c.r[0].total_ns, 150);
	CU_ASSERT_EQUAL(c.threads_seen[0], 2);
	/* a return whose callee frame was never reported: the callee is lost */
	b = pk_fprobe_stats_enter(s, 12, 1, 0, 0, 0);
	a = pk_fprobe_stats_enter(s, 12, 0, 10, 0, 0);
	pk_fprobe_stats_return(s, 12, b, 50);
	memset(&c, 0, sizeof(c));
	pk_fprobe_stats_foreach(s, collect, &c);
	CU_ASSERT_EQUAL(c.r[0].lost, 1);
	CU_ASSERT_EQUAL(c.r[1].calls, 2);
	pk_fprobe_stats_free(s);
}

/* The correction: one stop per call plus one per stop inside it. */
static void test_correction(void)
{
	struct pk_fprobe_stats *s = pk_fprobe_stats_new(2);
	static struct collected c;
	uint64_t a, b;

	pk_fprobe_stats_set_correction(s, 10);
	a = pk_fprobe_stats_enter(s, 1, 0, 0, 0, 0);
	b = pk_fprobe_stats_enter(s, 1, 1, 100, 0, 0);
	pk_fprobe_stats_return(s, 1, b, 150);   /* 50 - 10 = 40 */
	pk_fprobe_stats_stop(s, 1);             /* a hidden probe's stop */
	pk_fprobe_stats_return(s, 1, a, 1000);  /* 1000 - 10 * (1 + 3) = 960 */
	CU_ASSERT_EQUAL(pk_fprobe_stats_leaf_min(s), 50);
	memset(&c, 0, sizeof(c));
	pk_fprobe_stats_foreach(s, collect, &c);
	CU_ASSERT_EQUAL(c.r[1].total_ns, 40);
	CU_ASSERT_EQUAL(c.r[0].total_ns, 960);
	CU_ASSERT_EQUAL(c.r[0].self_ns, 920);
	/* never below zero */
	a = pk_fprobe_stats_enter(s, 1, 1, 2000, 0, 0);
	pk_fprobe_stats_return(s, 1, a, 2005);
	memset(&c, 0, sizeof(c));
	pk_fprobe_stats_foreach(s, collect, &c);
	CU_ASSERT_EQUAL(c.r[1].hist.min, 0);
	pk_fprobe_stats_free(s);
}

/* Timed returns: the call's own stop is outside its measured time, each
 * stop inside it (a callee's entry, a stopped return) is in it. */
static void test_timed(void)
{
	struct pk_fprobe_stats *s = pk_fprobe_stats_new(3);
	static struct collected c;
	uint64_t a, b, d;

	pk_fprobe_stats_set_correction(s, 10);
	a = pk_fprobe_stats_enter(s, 1, 0, 0, 0, 0);
	b = pk_fprobe_stats_enter(s, 1, 1, 100, 0, 0);
	pk_fprobe_stats_return_timed(s, 1, b, 50);     /* no stop inside: 50 */
	d = pk_fprobe_stats_enter(s, 1, 2, 300, 0, 0);
	pk_fprobe_stats_return(s, 1, d, 340);          /* stopped: 40 - 10 = 30 */
	pk_fprobe_stats_return_timed(s, 1, a, 1000);   /* 3 stops inside: 970 */
	CU_ASSERT_EQUAL(pk_fprobe_stats_leaf_min(s), 40); /* a's 1000 / 3 stops is more */
	memset(&c, 0, sizeof(c));
	pk_fprobe_stats_foreach(s, collect, &c);
	CU_ASSERT_EQUAL(c.r[1].total_ns, 50);
	CU_ASSERT_EQUAL(c.r[2].total_ns, 30);
	CU_ASSERT_EQUAL(c.r[0].total_ns, 970);
	CU_ASSERT_EQUAL(c.r[0].self_ns, 890);
	CU_ASSERT_EQUAL(c.r[0].calls, 1);
	CU_ASSERT_EQUAL(c.r[0].lost, 0);
	/* a timed call of 90 over 3 stops inside bounds a stop at 30 */
	a = pk_fprobe_stats_enter(s, 1, 0, 0, 0, 0);
	for (int k = 0; k < 3; k++)
		pk_fprobe_stats_return_timed(s, 1, pk_fprobe_stats_enter(s, 1, 1, 0, 0, 0), 1);
	pk_fprobe_stats_return_timed(s, 1, a, 90);
	CU_ASSERT_EQUAL(pk_fprobe_stats_leaf_min(s), 30);
	pk_fprobe_stats_free(s);
}

static void test_patterns(void)
{
	CU_ASSERT_EQUAL(pk_fprobe_pattern_match("parse_*", "parse_int", "prog"), 1);
	CU_ASSERT_EQUAL(pk_fprobe_pattern_match("parse_*", "unparse", "prog"), 0);
	CU_ASSERT_EQUAL(pk_fprobe_pattern_match("libc.so*:mem*", "memcpy", "libc.so.6"), 1);
	CU_ASSERT_EQUAL(pk_fprobe_pattern_match("libc.so*:mem*", "memcpy", "prog"), 0);
	/* a C++ scope is not a module separator */
	CU_ASSERT_EQUAL(pk_fprobe_pattern_match("ns::f*", "ns::foo(int)", "prog"), 1);
	CU_ASSERT_EQUAL(pk_fprobe_pattern_match("prog:ns::f*", "ns::foo(int)", "prog"), 1);
	CU_ASSERT_EQUAL(pk_fprobe_edit_distance("fibb", "fib"), 1);
	CU_ASSERT_EQUAL(pk_fprobe_edit_distance("kitten", "sitting"), 3);
	CU_ASSERT_EQUAL(pk_fprobe_edit_distance("", "abc"), 3);
}

int main(void)
{
	CU_pSuite s;
	int failures;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("fprobe", NULL, NULL);
	CU_add_test(s, "nested calls: self time", test_nested_self);
	CU_add_test(s, "recursion counted once", test_recursion);
	CU_add_test(s, "lost calls and threads", test_lost_and_threads);
	CU_add_test(s, "probe cost correction", test_correction);
	CU_add_test(s, "timed returns", test_timed);
	CU_add_test(s, "patterns and edit distance", test_patterns);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = (int)CU_get_number_of_failures();
	CU_cleanup_registry();
	return failures != 0;
}
