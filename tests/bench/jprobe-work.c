/*
 * jprobe-work.c - an allocation-heavy workload for tests/bench/jprobe.sh:
 * a table of 4096 live blocks where each step frees one block and
 * allocates a new one of 16..271 bytes, fills it and folds it into a
 * checksum (about one allocation and one free per 0.1 us of work here).
 * Writes "ready", waits for a byte on stdin (so a tracer can arm first),
 * runs N steps and prints "work NS_PER_STEP CHECKSUM cpu CPU_NS_PER_STEP".  A second argument
 * folds each block that many times (more work per allocation); a third
 * runs the loop that many calls deep (a server's stack).  Compiled
 * as C++ (tests/bench/new-work.cc) the blocks come from new[] and go to
 * delete[].
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LIVE 4096

#ifdef __cplusplus
#define BLOCK_NEW(n) (new unsigned char[n])
#define BLOCK_DELETE(p) (delete[] (p))
#else
#define BLOCK_NEW(n) ((unsigned char *)malloc(n))
#define BLOCK_DELETE(p) free(p)
#endif

static unsigned char *table[LIVE];

static int work(long n, long passes)
{
	unsigned long x = 88172645463325252ul, sum = 0;
	struct timespec a, b, ca, cb;
	char c;

	if (write(1, "ready\n", 6) != 6 || read(0, &c, 1) != 1)
		return 3;
	clock_gettime(CLOCK_MONOTONIC, &a);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ca);
	for (long i = 0; i < n; i++) {
		size_t k, len;
		unsigned char *p;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		k = x % LIVE;
		len = 16 + (x >> 32) % 256;
		BLOCK_DELETE(table[k]);
		p = BLOCK_NEW(len);
		memset(p, (int)(i & 255), len);
		for (long r = 0; r < passes; r++)
			for (size_t q = 0; q < len; q += 8)
				sum = sum * 31 + p[q] + (unsigned long)r;
		table[k] = p;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cb);
	for (size_t k = 0; k < LIVE; k++)
		BLOCK_DELETE(table[k]);
	printf("work %.1f %lu cpu %.1f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / (double)n,
	       sum, ((cb.tv_sec - ca.tv_sec) * 1e9 + (cb.tv_nsec - ca.tv_nsec)) / (double)n);
	return 0;
}

/* depth calls, then the work: each frame its own (not a tail call) */
__attribute__((noinline)) static int descend(long depth, long n, long passes)
{
	volatile long keep = depth;
	int rc = depth > 0 ? descend(depth - 1, n, passes) : work(n, passes);

	return rc + (int)(keep - depth);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	return descend(argc > 3 ? atol(argv[3]) : 0, argc > 1 ? atol(argv[1]) : 1000000,
		       argc > 2 ? atol(argv[2]) : 1);
}
