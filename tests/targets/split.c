/*
 * split.c - a tracee that knows its own CPU profile.
 *
 *   split TRUTH_FILE [CPU_SECONDS]
 *
 * Alternates between heavy_work() (about 75% of its CPU) and light_work()
 * (about 25%) in slices of a few milliseconds.  Slice lengths are jittered
 * at random so that a periodic sampler cannot lock onto the program's
 * phase.  Each slice is measured with CLOCK_THREAD_CPUTIME_ID and summed
 * per function; at exit the totals are written to TRUTH_FILE:
 *
 *   heavy_work <cpu seconds>
 *   light_work <cpu seconds>
 *
 * The spinning is inlined into each function so that a sample taken in a
 * slice lands with that function as its leaf (its self time).  The clock
 * is read every few hundred microseconds only, so time spent inside
 * clock_gettime is well under 1% and shared evenly by both functions.
 *
 * Built several ways by tests/local.mk: plain, stripped, static.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define NOIPA __attribute__((noipa))

static double thread_cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Integer mixing the compiler cannot remove; inlined into the caller. */
static inline __attribute__((always_inline)) uint64_t spin(uint64_t x, long n)
{
	for (long i = 0; i < n; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		__asm__ volatile("" : "+r"(x));
	}
	return x;
}

/*
 * About 200-400 us of work between two clock reads.  Reading the thread's
 * CPU clock is a system call that updates the scheduler's accounting, so
 * on a busy machine the time slice tends to end right at its exit; a
 * ptrace sampler waiting for the thread to run again then stops it there
 * (perfkit counts such stops as "stops at a system call").  Reading the
 * clock less often keeps that effect small without coarsening the truth,
 * which is measured whatever the chunk.
 */
#define CHUNK 240000

/* Spin for slice seconds of CPU; returns the CPU seconds really spent. */
NOIPA static double heavy_work(double slice, uint64_t *state)
{
	double start = thread_cpu_seconds(), now;

	do {
		*state = spin(*state, CHUNK);
		now = thread_cpu_seconds();
	} while (now - start < slice);
	return now - start;
}

NOIPA static double light_work(double slice, uint64_t *state)
{
	double start = thread_cpu_seconds(), now;

	do {
		*state = spin(*state ^ 0x9e3779b97f4a7c15ULL, CHUNK);
		now = thread_cpu_seconds();
	} while (now - start < slice);
	return now - start;
}

/* Uniform in [0.5, 1.5): jitter for slice lengths. */
static double jitter(void)
{
	return 0.5 + (double)(random() % 1000) / 1000.0;
}

int main(int argc, char **argv)
{
	double total = argc > 2 ? atof(argv[2]) : 2.0;
	double heavy = 0, light = 0;
	uint64_t state = 1;
	FILE *f;

	if (argc < 2 || total <= 0) {
		fprintf(stderr, "usage: split TRUTH_FILE [CPU_SECONDS]\n");
		return 2;
	}
	srandom(42);
	while (heavy + light < total) {
		heavy += heavy_work(0.003 * jitter(), &state);
		light += light_work(0.001 * jitter(), &state);
	}
	f = fopen(argv[1], "w");
	if (!f) {
		perror(argv[1]);
		return 1;
	}
	fprintf(f, "heavy_work %.6f\nlight_work %.6f\n", heavy, light);
	if (fclose(f) != 0) {
		perror(argv[1]);
		return 1;
	}
	printf("split done %llu\n", (unsigned long long)(state & 0xffff));
	return 0;
}
