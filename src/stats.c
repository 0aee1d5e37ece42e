/*
 * stats.c - two-proportion z-test, Fisher's exact test and
 * Benjamini-Hochberg q-values for "perfkit compare" (see stats.h).
 *
 * Written here rather than taken from a library: the three procedures are
 * a few dozen lines on top of libm's erfc and lgamma, and Debian's
 * numerical libraries (GSL, Rmath) would be a large dependency for them.
 * They are checked in tests/unit/test-stats.c against values published or
 * computed independently.
 */
#include <math.h>
#include <stdlib.h>

#include "src/stats.h"
#include "util.h"

const char *pk_test_method_name(enum pk_test_method m)
{
	switch (m) {
	case PK_TEST_Z:
		return "z";
	case PK_TEST_FISHER:
		return "fisher";
	case PK_TEST_NONE:
		break;
	}
	return "none";
}

double pk_stats_two_proportion_z(uint64_t x1, uint64_t n1, uint64_t x2, uint64_t n2, double *z)
{
	double p1, p2, pooled, se, zz;

	if (z)
		*z = NAN;
	if (!n1 || !n2 || x1 > n1 || x2 > n2)
		return NAN;
	p1 = (double)x1 / (double)n1;
	p2 = (double)x2 / (double)n2;
	pooled = ((double)x1 + (double)x2) / ((double)n1 + (double)n2);
	se = sqrt(pooled * (1.0 - pooled) * (1.0 / (double)n1 + 1.0 / (double)n2));
	/* pooled is 0 or 1 only when both proportions are 0 or both 1. */
	zz = se > 0 ? (p1 - p2) / se : 0.0;
	if (z)
		*z = zz;
	return erfc(fabs(zz) / M_SQRT2);
}

/* log of n choose k, through log-gamma. */
static double log_choose(double n, double k)
{
	return lgamma(n + 1.0) - lgamma(k + 1.0) - lgamma(n - k + 1.0);
}

double pk_stats_fisher_exact(uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
	/* Margins: row 1 = a + b, row 2 = c + d, column 1 = a + c. */
	double r1 = (double)a + (double)b, r2 = (double)c + (double)d;
	double c1 = (double)a + (double)c, total = r1 + r2;
	double lo = c1 - r2 > 0 ? c1 - r2 : 0, hi = r1 < c1 ? r1 : c1;
	double log_denominator, log_observed, log_max = -INFINITY, sum = 0, sum_all = 0, x;

	if (total == 0)
		return 1.0;
	log_denominator = log_choose(total, c1);
	/* P(x) = C(r1, x) C(r2, c1 - x) / C(total, c1) for the top-left cell
	 * x; the observed table has x = a.  Sum relative to the most
	 * probable table so that nothing underflows. */
	for (x = lo; x <= hi; x++) {
		double lp = log_choose(r1, x) + log_choose(r2, c1 - x) - log_denominator;

		if (lp > log_max)
			log_max = lp;
	}
	log_observed = log_choose(r1, (double)a) + log_choose(r2, c1 - (double)a) - log_denominator;
	for (x = lo; x <= hi; x++) {
		double lp = log_choose(r1, x) + log_choose(r2, c1 - x) - log_denominator;
		double rel = exp(lp - log_max);

		sum_all += rel;
		/* "No more probable than observed", with R's tolerance for
		 * tables whose probabilities differ only by rounding. */
		if (lp <= log_observed + 1e-7)
			sum += rel;
	}
	x = sum / sum_all;
	return x > 1.0 ? 1.0 : x;
}

double pk_stats_proportion_test(uint64_t x1, uint64_t n1, uint64_t x2, uint64_t n2,
				enum pk_test_method *method)
{
	double total, in_f, not_f, smallest_row, smallest_col;

	if (method)
		*method = PK_TEST_NONE;
	if (!n1 || !n2 || x1 > n1 || x2 > n2)
		return NAN;
	total = (double)n1 + (double)n2;
	in_f = (double)x1 + (double)x2;
	not_f = total - in_f;
	/* The smallest expected cell is the smallest row total times the
	 * smallest column total over the grand total. */
	smallest_row = n1 < n2 ? (double)n1 : (double)n2;
	smallest_col = in_f < not_f ? in_f : not_f;
	if (smallest_row * smallest_col / total < PK_STATS_MIN_EXPECTED) {
		if (method)
			*method = PK_TEST_FISHER;
		return pk_stats_fisher_exact(x1, n1 - x1, x2, n2 - x2);
	}
	if (method)
		*method = PK_TEST_Z;
	return pk_stats_two_proportion_z(x1, n1, x2, n2, NULL);
}

struct indexed_p {
	double p;
	size_t index;
};

static int cmp_indexed_p(const void *a, const void *b)
{
	const struct indexed_p *x = a, *y = b;

	if (x->p != y->p)
		return x->p < y->p ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

void pk_stats_bh_qvalues(const double *p, size_t n, double *q)
{
	struct indexed_p *v = pk_xmalloc((n ? n : 1) * sizeof(*v));
	size_t m = 0, i;
	double running = 1.0;

	for (i = 0; i < n; i++)
		if (!isnan(p[i]))
			v[m++] = (struct indexed_p){ p[i] < 0 ? 0 : p[i] > 1 ? 1 : p[i], i };
	qsort(v, m, sizeof(*v), cmp_indexed_p);
	/* Untested entries first (q may alias p, whose NANs stay NAN). */
	for (i = 0; i < n; i++)
		if (isnan(p[i]))
			q[i] = NAN;
	/* Step up from the largest p-value, keeping the running minimum so
	 * that q-values are monotone in p. */
	for (i = m; i-- > 0;) {
		double adjusted = v[i].p * (double)m / (double)(i + 1);

		if (adjusted < running)
			running = adjusted;
		v[i].p = running;
	}
	for (i = 0; i < m; i++)
		q[v[i].index] = v[i].p;
	free(v);
}
