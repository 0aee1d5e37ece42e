/*
 * util.h - small helpers shared by both binaries: allocation that cannot
 * fail quietly, clocks, duration parsing, number formatting.
 */
#ifndef PK_UTIL_H
#define PK_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Allocation that aborts with a message on out-of-memory. */
void *pk_xmalloc(size_t n);
void *pk_xcalloc(size_t n, size_t size);
void *pk_xrealloc(void *p, size_t n);
/* Grow *p (an array of *cap elements of size elem) to hold at least need. */
void pk_xgrow(void **p, size_t *cap, size_t need, size_t elem);
char *pk_xstrdup(const char *s);
char *pk_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Nanoseconds on CLOCK_MONOTONIC / CLOCK_REALTIME. */
uint64_t pk_monotonic_ns(void);
uint64_t pk_realtime_ns(void);

/*
 * Parse a duration: "0.5", "10", "10s", "250ms", "2m", "1h".  A bare number
 * is seconds.  Returns 0 and stores seconds, or -1 when the text is not a
 * positive duration.
 */
int pk_parse_duration(const char *text, double *seconds);

/* Parse a positive frequency in Hz ("99", "999", "1k"); -1 when invalid. */
int pk_parse_frequency(const char *text, double *hz);

/* Parse a non-negative decimal integer that fits in a long; -1 if invalid. */
int pk_parse_long(const char *text, long *out);

/* The median and a percentile (0..100) of n values; the array is sorted. */
double pk_percentile_u64(uint64_t *values, size_t n, double pct);

/* Basename without allocation (pointer into s). */
const char *pk_basename(const char *s);

/* Let this process open as many files as its hard limit allows (one or
 * more perf event descriptors per thread of a large target). */
void pk_raise_fd_limit(void);

#endif
