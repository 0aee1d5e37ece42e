/*
 * cpubound.c - a single-threaded, CPU-bound benchmark target.
 *
 *   cpubound ITERATIONS
 *
 * Runs a fixed amount of work (ITERATIONS rounds through a few levels of
 * calls, so a profiler has a real stack to unwind) and prints
 *
 *   elapsed_s X cpu_s Y checksum Z
 *
 * where X is the wall time of the work alone (CLOCK_MONOTONIC), not of
 * process start-up, so a profiler's attach and set-up costs are not
 * counted as the target's slowdown; Y is the process CPU time.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define NOIPA __attribute__((noipa))

static double clock_seconds(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

NOIPA static uint64_t leaf(uint64_t x)
{
	for (int i = 0; i < 1000; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		x ^= x >> 29;
	}
	return x;
}

NOIPA static uint64_t middle(uint64_t x)
{
	for (int i = 0; i < 10; i++)
		x = leaf(x + (uint64_t)i);
	return x;
}

NOIPA static uint64_t outer(long iterations)
{
	uint64_t x = 1;

	for (long i = 0; i < iterations; i++)
		x = middle(x);
	return x;
}

int main(int argc, char **argv)
{
	long iterations = argc > 1 ? atol(argv[1]) : 100000;
	double t0, t1;
	uint64_t x;

	if (iterations <= 0) {
		fprintf(stderr, "usage: cpubound ITERATIONS\n");
		return 2;
	}
	t0 = clock_seconds(CLOCK_MONOTONIC);
	x = outer(iterations);
	t1 = clock_seconds(CLOCK_MONOTONIC);
	printf("elapsed_s %.6f cpu_s %.6f checksum %llx\n", t1 - t0,
	       clock_seconds(CLOCK_PROCESS_CPUTIME_ID), (unsigned long long)x);
	return 0;
}
