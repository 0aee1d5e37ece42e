/*
 * test-stats.c - the statistics of "perfkit compare" (src/stats.c) against
 * values published or computed independently of perfkit's code:
 *
 *  - two-proportion z: 140/200 against 255/340, pooled, z = -1.266015
 *    (the worked solution at homeworksource.com/p/1008622); its two-sided
 *    p-value 0.2055078 from the standard normal (Python: math.erfc(1.266015
 *    / sqrt(2))).  Also checked: z^2 equals Pearson's chi-squared of the
 *    same table, computed here from expected counts (another formula).
 *  - Fisher's exact test: Fisher's tea-tasting table [[3, 1], [1, 3]],
 *    two-sided p = 0.4857 (Fisher 1935; R's fisher.test help page), and
 *    Wikipedia's "Fisher's exact test" example [[1, 9], [11, 3]],
 *    two-sided p = 0.002759; more tables checked against Python's exact
 *    integer binomials (math.comb), listed where they are used.
 *  - Benjamini-Hochberg: the 15 p-values of Benjamini & Hochberg (1995),
 *    J. R. Statist. Soc. B 57(1), section 4.1: at q = 0.05 the procedure
 *    rejects the 4 smallest; adjusted values as R's p.adjust(method =
 *    "BH") gives them (recomputed by hand: q(i) = min over j >= i of
 *    p(j) m / j).
 */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdlib.h>

#include "src/stats.h"

#define CLOSE(a, b, tol) CU_ASSERT_DOUBLE_EQUAL((a), (b), (tol))

static void test_z_published(void)
{
	double z, p = pk_stats_two_proportion_z(140, 200, 255, 340, &z);

	CLOSE(z, -1.266015, 1e-6);
	CLOSE(p, 0.2055078, 1e-6);
	/* Symmetric in the two samples, sign flips. */
	p = pk_stats_two_proportion_z(255, 340, 140, 200, &z);
	CLOSE(z, 1.266015, 1e-6);
	CLOSE(p, 0.2055078, 1e-6);
}

/* z^2 of the pooled test is Pearson's chi-squared statistic of the 2x2
 * table (without continuity correction). */
static void test_z_equals_chi_squared(void)
{
	static const unsigned long t[][4] = {
		{ 140, 200, 255, 340 }, { 30, 1000, 60, 1000 }, { 700, 1000, 350, 500 }, { 5, 40, 21, 60 },
	};
	size_t k;

	for (k = 0; k < sizeof(t) / sizeof(t[0]); k++) {
		double obs[4] = { (double)t[k][0], (double)(t[k][1] - t[k][0]), (double)t[k][2],
				  (double)(t[k][3] - t[k][2]) };
		double rows[2] = { (double)t[k][1], (double)t[k][3] };
		double cols[2] = { obs[0] + obs[2], obs[1] + obs[3] };
		double n = rows[0] + rows[1], chi2 = 0, z;
		int i;

		for (i = 0; i < 4; i++) {
			double e = rows[i / 2] * cols[i % 2] / n;

			chi2 += (obs[i] - e) * (obs[i] - e) / e;
		}
		pk_stats_two_proportion_z(t[k][0], t[k][1], t[k][2], t[k][3], &z);
		CLOSE(z * z, chi2, 1e-9 * (1 + chi2));
	}
}

static void test_z_edges(void)
{
	double z;

	/* Equal proportions: z 0, p 1. */
	CLOSE(pk_stats_two_proportion_z(50, 100, 100, 200, &z), 1.0, 1e-12);
	CLOSE(z, 0.0, 1e-12);
	/* Both 0 or both 1: no variance, no evidence. */
	CLOSE(pk_stats_two_proportion_z(0, 100, 0, 50, &z), 1.0, 1e-12);
	CLOSE(pk_stats_two_proportion_z(100, 100, 50, 50, &z), 1.0, 1e-12);
	/* Nothing to test. */
	CU_ASSERT(isnan(pk_stats_two_proportion_z(0, 0, 1, 10, &z)));
	CU_ASSERT(isnan(z));
	CU_ASSERT(isnan(pk_stats_two_proportion_z(11, 10, 1, 10, NULL)));
	/* A large, clear difference: z = 10 gives p = 1.5e-23. */
	CU_ASSERT(pk_stats_two_proportion_z(750, 1000, 250, 1000, &z) < 1e-20);
	CU_ASSERT(z > 20);
}

static void test_fisher_published(void)
{
	CLOSE(pk_stats_fisher_exact(3, 1, 1, 3), 0.4857143, 1e-6);
	CLOSE(pk_stats_fisher_exact(1, 9, 11, 3), 0.002759456, 1e-8);
	/* The test does not depend on which row or column comes first. */
	CLOSE(pk_stats_fisher_exact(11, 3, 1, 9), 0.002759456, 1e-8);
	CLOSE(pk_stats_fisher_exact(9, 1, 3, 11), 0.002759456, 1e-8);
}

static void test_fisher_python(void)
{
	/* Exact values from Python, math.comb, summing every table with
	 * P <= P(observed) (1 + 1e-7). */
	CLOSE(pk_stats_fisher_exact(10, 1000, 25, 1000), 0.01586468181687419, 1e-9);
	CLOSE(pk_stats_fisher_exact(0, 500, 4, 496), 0.1242496257541393, 1e-9);
	CLOSE(pk_stats_fisher_exact(2, 7, 8, 2), 0.023014137565221155, 1e-9);
	/* Degenerate tables: nothing can differ. */
	CLOSE(pk_stats_fisher_exact(0, 0, 0, 0), 1.0, 1e-12);
	CLOSE(pk_stats_fisher_exact(5, 0, 7, 0), 1.0, 1e-12);
	CLOSE(pk_stats_fisher_exact(0, 100, 0, 100), 1.0, 1e-12);
	/* Large margins stay finite and in range (log-gamma). */
	{
		double p = pk_stats_fisher_exact(3, 2000000, 40, 2000000);

		CU_ASSERT(p > 0 && p < 1e-6);
	}
}

static void test_proportion_test_dispatch(void)
{
	enum pk_test_method m;
	double p;

	/* Smallest expected cell: 1000 * 35 / 2010 = 17.4, so the z-test. */
	p = pk_stats_proportion_test(10, 1010, 25, 1000, &m);
	CU_ASSERT_EQUAL(m, PK_TEST_Z);
	CU_ASSERT(p > 0 && p < 0.05);
	/* 0 + 4 in about 1000: expected 2 per row, Fisher. */
	p = pk_stats_proportion_test(0, 500, 4, 500, &m);
	CU_ASSERT_EQUAL(m, PK_TEST_FISHER);
	CLOSE(p, 0.1242496257541393, 1e-9);
	/* Small "not in F" column also counts. */
	pk_stats_proportion_test(498, 500, 500, 500, &m);
	CU_ASSERT_EQUAL(m, PK_TEST_FISHER);
	/* No samples on one side: not tested. */
	CU_ASSERT(isnan(pk_stats_proportion_test(0, 0, 4, 500, &m)));
	CU_ASSERT_EQUAL(m, PK_TEST_NONE);
	CU_ASSERT_STRING_EQUAL(pk_test_method_name(PK_TEST_FISHER), "fisher");
	CU_ASSERT_STRING_EQUAL(pk_test_method_name(PK_TEST_Z), "z");
	CU_ASSERT_STRING_EQUAL(pk_test_method_name(PK_TEST_NONE), "none");
}

static void test_bh_published(void)
{
	/* Benjamini & Hochberg (1995), section 4.1, in a shuffled order to
	 * check that q-values go back to their own entries. */
	static const double sorted_p[15] = {
		0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344,
		0.0459, 0.3240, 0.4262, 0.5719, 0.6528, 0.7590, 1.000,
	};
	static const double sorted_q[15] = {
		0.0015, 0.003, 0.0095, 0.035625, 0.0603, 0.063857142857, 0.063857142857, 0.0645,
		0.0765, 0.486, 0.581181818182, 0.714875, 0.753230769231, 0.813214285714, 1.0,
	};
	static const int order[15] = { 7, 14, 0, 3, 11, 5, 9, 1, 13, 4, 8, 2, 12, 10, 6 };
	double p[15], q[15];
	int i, rejected = 0;

	for (i = 0; i < 15; i++)
		p[i] = sorted_p[order[i]];
	pk_stats_bh_qvalues(p, 15, q);
	for (i = 0; i < 15; i++) {
		CLOSE(q[i], sorted_q[order[i]], 1e-9);
		rejected += q[i] <= 0.05;
	}
	CU_ASSERT_EQUAL(rejected, 4);
	/* In place. */
	pk_stats_bh_qvalues(p, 15, p);
	for (i = 0; i < 15; i++)
		CLOSE(p[i], sorted_q[order[i]], 1e-9);
}

static void test_bh_edges(void)
{
	double p[4] = { 0.01, NAN, 0.04, 0.03 }, q[4];

	/* NAN entries are untested: left out of m and NAN themselves. */
	pk_stats_bh_qvalues(p, 4, q);
	CU_ASSERT(isnan(q[1]));
	CLOSE(q[0], 0.03, 1e-12);   /* 0.01 * 3 / 1 */
	CLOSE(q[3], 0.04, 1e-12);   /* min(0.03 * 3 / 2, 0.04 * 3 / 3) */
	CLOSE(q[2], 0.04, 1e-12);
	/* Ties and a single value. */
	p[0] = p[1] = p[2] = p[3] = 0.02;
	pk_stats_bh_qvalues(p, 4, q);
	CLOSE(q[0], 0.02, 1e-12);
	CLOSE(q[3], 0.02, 1e-12);
	pk_stats_bh_qvalues(p, 1, q);
	CLOSE(q[0], 0.02, 1e-12);
	pk_stats_bh_qvalues(p, 0, q); /* nothing, no crash */
}

int main(void)
{
	CU_pSuite s;
	unsigned failures;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("stats", NULL, NULL);
	CU_add_test(s, "two-proportion z, published example", test_z_published);
	CU_add_test(s, "z squared is Pearson's chi-squared", test_z_equals_chi_squared);
	CU_add_test(s, "two-proportion z, edge cases", test_z_edges);
	CU_add_test(s, "Fisher exact, published tables", test_fisher_published);
	CU_add_test(s, "Fisher exact, exact integer values", test_fisher_python);
	CU_add_test(s, "z or Fisher by expected counts", test_proportion_test_dispatch);
	CU_add_test(s, "Benjamini-Hochberg, published example", test_bh_published);
	CU_add_test(s, "Benjamini-Hochberg, NAN, ties, sizes", test_bh_edges);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures();
	CU_cleanup_registry();
	return failures != 0;
}
