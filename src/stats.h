/*
 * stats.h - the significance tests behind "perfkit compare": is a
 * difference between two sample counts larger than sampling noise?
 *
 * A sampled profile is a set of independent-enough Bernoulli trials: each
 * sampling opportunity lands in a function F or not.  Comparing F between
 * two sessions is then comparing two binomial proportions, x1 of n1 and
 * x2 of n2, i.e. the 2x2 table
 *
 *                 in F      not in F
 *     before       x1       n1 - x1
 *     after        x2       n2 - x2
 *
 * Large counts: the two-proportion z-test with pooled variance.  Small
 * counts (any expected cell count below 5, where the normal approximation
 * is poor): Fisher's exact test.  Both two-sided.  Across many functions
 * the p-values are turned into Benjamini-Hochberg q-values, so that a
 * "significant" verdict controls the false discovery rate.
 *
 * Pure functions of their arguments (the q-values use a scratch array).
 */
#ifndef PK_STATS_H
#define PK_STATS_H

#include <stddef.h>
#include <stdint.h>

/* Expected cell counts below this switch a test to Fisher's exact test
 * (the usual rule of thumb for the chi-squared / normal approximation). */
#define PK_STATS_MIN_EXPECTED 5.0

enum pk_test_method {
	PK_TEST_NONE = 0,   /* not tested (a side had no samples) */
	PK_TEST_Z,          /* two-proportion z-test, pooled variance */
	PK_TEST_FISHER,     /* Fisher's exact test */
};

/* "z", "fisher" or "none". */
const char *pk_test_method_name(enum pk_test_method m);

/*
 * Two-proportion z-test of x1/n1 against x2/n2 with the pooled estimate
 * p = (x1 + x2) / (n1 + n2):
 *
 *     z = (x1/n1 - x2/n2) / sqrt(p (1 - p) (1/n1 + 1/n2))
 *
 * Stores z in *z (when z is not NULL; positive when the first proportion
 * is larger) and returns the two-sided p-value erfc(|z| / sqrt 2).  When
 * p is 0 or 1 (both proportions equal and extreme) z is 0 and the p-value
 * 1.  Returns NAN (z NAN) when n1 or n2 is 0 or a count exceeds its n.
 */
double pk_stats_two_proportion_z(uint64_t x1, uint64_t n1, uint64_t x2, uint64_t n2, double *z);

/*
 * Fisher's exact test of the 2x2 table [[a, b], [c, d]], two-sided: the
 * sum of the hypergeometric probabilities (margins fixed) of every table
 * no more probable than the observed one (with a relative tolerance of
 * 1e-7 for ties, as R's fisher.test).  Probabilities come from log-gamma,
 * so large margins neither overflow nor lose precision.  Returns a value
 * in [0, 1]; 1 for an empty table.
 */
double pk_stats_fisher_exact(uint64_t a, uint64_t b, uint64_t c, uint64_t d);

/*
 * The test perfkit uses for x1 of n1 against x2 of n2: Fisher's exact test
 * when any expected cell count of the table is below
 * PK_STATS_MIN_EXPECTED, else the z-test.  Returns the two-sided p-value
 * and stores the method in *method (may be NULL); NAN and PK_TEST_NONE
 * when n1 or n2 is 0 or a count exceeds its n.
 */
double pk_stats_proportion_test(uint64_t x1, uint64_t n1, uint64_t x2, uint64_t n2,
				enum pk_test_method *method);

/*
 * Benjamini-Hochberg adjusted p-values (q-values) of p[0..n): with the m
 * finite p-values sorted ascending as p(1) <= ... <= p(m),
 *
 *     q(i) = min over j >= i of  min(1, p(j) * m / j)
 *
 * written to q[] in the original order.  Rejecting every hypothesis with
 * q <= alpha is the BH step-up procedure at false discovery rate alpha.
 * NAN entries of p (untested) are left out of m and get NAN.  p and q may
 * be the same array.
 */
void pk_stats_bh_qvalues(const double *p, size_t n, double *q);

#endif
