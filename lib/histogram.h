/*
 * histogram.h - a fixed-size latency histogram (HDR-style log-linear
 * buckets) so that percentiles of millions of measurements cost constant
 * memory: a 10-minute session must not grow perfkitd's memory.
 * Relative error of a reported percentile is below 1/32 (about 3%).
 */
#ifndef PK_HISTOGRAM_H
#define PK_HISTOGRAM_H

#include <stdint.h>

#define PK_HIST_SUB 32          /* linear sub-buckets per power of two */
#define PK_HIST_POW 40          /* up to 2^40 units (~18 min in ns) */

struct pk_histogram {
	uint64_t count;
	uint64_t sum;
	uint64_t min, max;
	uint64_t buckets[PK_HIST_POW * PK_HIST_SUB];
};

void pk_histogram_init(struct pk_histogram *h);
void pk_histogram_add(struct pk_histogram *h, uint64_t value);
/* The value at percentile pct (0..100); 0 when empty. */
uint64_t pk_histogram_percentile(const struct pk_histogram *h, double pct);
double pk_histogram_mean(const struct pk_histogram *h);

#endif
