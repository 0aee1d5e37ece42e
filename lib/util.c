/*
 * util.c - small shared helpers (see util.h).
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "error.h"
#include "util.h"

static void oom(size_t n) __attribute__((noreturn));
static void oom(size_t n)
{
	pk_error("out of memory allocating %zu bytes", n);
	abort();
}

void *pk_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		oom(n);
	return p;
}

void *pk_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		oom(n * size);
	return p;
}

void *pk_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		oom(n);
	return q;
}

void pk_xgrow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t c = *cap;

	if (need <= c)
		return;
	if (c < 16)
		c = 16;
	while (c < need)
		c *= 2;
	*p = pk_xrealloc(*p, c * elem);
	*cap = c;
}

char *pk_xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = pk_xmalloc(n);

	memcpy(d, s, n);
	return d;
}

char *pk_xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		oom(strlen(fmt));
	va_end(ap);
	return s;
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t pk_monotonic_ns(void) { return clock_ns(CLOCK_MONOTONIC); }
uint64_t pk_realtime_ns(void) { return clock_ns(CLOCK_REALTIME); }

int pk_parse_duration(const char *text, double *seconds)
{
	char *end;
	double v, scale = 1.0;

	if (!text || !*text || isspace((unsigned char)*text))
		return -1;
	errno = 0;
	v = strtod(text, &end);
	if (errno || end == text || !isfinite(v) || v <= 0)
		return -1;
	if (!strcmp(end, "") || !strcmp(end, "s"))
		scale = 1.0;
	else if (!strcmp(end, "ms"))
		scale = 1e-3;
	else if (!strcmp(end, "m") || !strcmp(end, "min"))
		scale = 60.0;
	else if (!strcmp(end, "h"))
		scale = 3600.0;
	else
		return -1;
	*seconds = v * scale;
	return 0;
}

int pk_parse_frequency(const char *text, double *hz)
{
	char *end;
	double v;

	if (!text || !*text)
		return -1;
	errno = 0;
	v = strtod(text, &end);
	if (errno || end == text || !isfinite(v) || v <= 0)
		return -1;
	if (!strcmp(end, "k") || !strcmp(end, "K"))
		v *= 1000;
	else if (*end && strcmp(end, "hz") && strcmp(end, "Hz"))
		return -1;
	*hz = v;
	return 0;
}

int pk_parse_long(const char *text, long *out)
{
	char *end;
	long v;

	if (!text || !isdigit((unsigned char)*text))
		return -1;
	errno = 0;
	v = strtol(text, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

double pk_percentile_u64(uint64_t *values, size_t n, double pct)
{
	double rank;
	size_t lo;

	if (!n)
		return 0;
	qsort(values, n, sizeof(*values), cmp_u64);
	rank = pct / 100.0 * (double)(n - 1);
	lo = (size_t)rank;
	if (lo + 1 >= n)
		return (double)values[n - 1];
	return (double)values[lo] + (rank - (double)lo) * ((double)values[lo + 1] - (double)values[lo]);
}

const char *pk_basename(const char *s)
{
	const char *slash = strrchr(s, '/');

	return slash ? slash + 1 : s;
}

void pk_raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}
