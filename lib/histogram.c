/*
 * histogram.c - log-linear latency histogram (see histogram.h).
 *
 * Values below PK_HIST_SUB go to exact buckets; above, each power of two
 * is split in PK_HIST_SUB linear sub-buckets.
 */
#include <string.h>

#include "histogram.h"

void pk_histogram_init(struct pk_histogram *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

static unsigned bucket_of(uint64_t v)
{
	unsigned msb, shift;

	if (v < PK_HIST_SUB)
		return (unsigned)v;
	msb = 63u - (unsigned)__builtin_clzll(v);          /* >= 5 */
	shift = msb - 5;                                    /* log2(PK_HIST_SUB) = 5 */
	if (msb - 4 >= PK_HIST_POW)
		return PK_HIST_POW * PK_HIST_SUB - 1;
	return (msb - 4) * PK_HIST_SUB + (unsigned)((v >> shift) & (PK_HIST_SUB - 1));
}

/* Midpoint of a bucket's value range. */
static uint64_t bucket_value(unsigned b)
{
	unsigned group = b / PK_HIST_SUB, sub = b % PK_HIST_SUB, shift;
	uint64_t lo;

	if (group == 0)
		return sub;
	shift = group - 1;
	lo = ((uint64_t)(PK_HIST_SUB + sub)) << shift;
	return lo + ((1ull << shift) >> 1);
}

void pk_histogram_add(struct pk_histogram *h, uint64_t value)
{
	h->buckets[bucket_of(value)]++;
	h->count++;
	h->sum += value;
	if (value < h->min)
		h->min = value;
	if (value > h->max)
		h->max = value;
}

uint64_t pk_histogram_percentile(const struct pk_histogram *h, double pct)
{
	uint64_t rank, seen = 0;
	unsigned b;

	if (!h->count)
		return 0;
	if (pct <= 0)
		return h->min;
	if (pct >= 100)
		return h->max;
	rank = (uint64_t)(pct / 100.0 * (double)h->count);
	if (rank >= h->count)
		rank = h->count - 1;
	for (b = 0; b < PK_HIST_POW * PK_HIST_SUB; b++) {
		seen += h->buckets[b];
		if (seen > rank) {
			uint64_t v = bucket_value(b);

			return v < h->min ? h->min : v > h->max ? h->max : v;
		}
	}
	return h->max;
}

double pk_histogram_mean(const struct pk_histogram *h)
{
	return h->count ? (double)h->sum / (double)h->count : 0;
}
