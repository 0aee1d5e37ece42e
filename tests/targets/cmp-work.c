/*
 * cmp-work.c - a tracee built twice for "perfkit compare": cmp-work-slow,
 * and cmp-work-fast (-DFAST) in which slow_path() does a third of the
 * work.  Nothing else differs: fixed_work() does the same work in both.
 *
 *   cmp-work-{slow,fast} TRUTH_FILE [ROUNDS]
 *
 * Each round calls slow_path() (3 units of work, 1 with -DFAST) and
 * fixed_work() (2 units), both running the same inlined loop, so their
 * CPU times are in the ratio of their iterations.  Unit sizes vary from
 * round to round with a seeded generator, the same sequence in both
 * builds, so a periodic sampler cannot lock onto the program's phase and
 * both builds do exactly the same fixed work.  At exit it writes
 *
 *   cpu_s <CLOCK_PROCESS_CPUTIME_ID at the end of main>
 *   slow_path_iterations <N>
 *   fixed_work_iterations <N>
 *
 * The clock is read once, at the end, on purpose: a ptrace sampler's
 * interrupts are delivered when the target returns from the kernel, so
 * per-call clock_gettime(CLOCK_THREAD_CPUTIME_ID) syscalls would attract
 * samples (a third of them, measured) and blur the profile being tested.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define NOIPA __attribute__((noipa))

#ifdef FAST
#define SLOW_PATH_UNITS 1
#else
#define SLOW_PATH_UNITS 3
#endif
#define FIXED_WORK_UNITS 2
/* About 0.2 ms of work on this kind of machine. */
#define UNIT 250000L

static double process_cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Integer mixing the compiler cannot remove; inlined into the caller so
 * that samples land in the calling function itself (its self time). */
static inline __attribute__((always_inline)) uint64_t spin(uint64_t x, long n)
{
	for (long i = 0; i < n; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		__asm__ volatile("" : "+r"(x));
	}
	return x;
}

NOIPA static uint64_t slow_path(uint64_t x, long units)
{
	return spin(x, SLOW_PATH_UNITS * units);
}

NOIPA static uint64_t fixed_work(uint64_t x, long units)
{
	return spin(x ^ 0x9e3779b97f4a7c15ULL, FIXED_WORK_UNITS * units);
}

int main(int argc, char **argv)
{
	long rounds = argc > 2 ? atol(argv[2]) : 1000, r;
	long long slow_iterations = 0, fixed_iterations = 0;
	uint64_t state = 1, rng = 42;
	FILE *f;

	if (argc < 2 || rounds <= 0) {
		fprintf(stderr, "usage: cmp-work-{slow,fast} TRUTH_FILE [ROUNDS]\n");
		return 2;
	}
	for (r = 0; r < rounds; r++) {
		/* Units of 0.5 to 1.5 UNIT, from a fixed LCG sequence. */
		long units;

		rng = rng * 6364136223846793005ULL + 1;
		units = UNIT / 2 + (long)((rng >> 33) % (uint64_t)UNIT);
		state = slow_path(state, units);
		slow_iterations += SLOW_PATH_UNITS * units;
		state = fixed_work(state, units);
		fixed_iterations += FIXED_WORK_UNITS * units;
	}
	f = fopen(argv[1], "w");
	if (!f) {
		perror(argv[1]);
		return 1;
	}
	fprintf(f, "cpu_s %.6f\nslow_path_iterations %lld\nfixed_work_iterations %lld\n",
		process_cpu_seconds(), slow_iterations, fixed_iterations);
	if (fclose(f) != 0) {
		perror(argv[1]);
		return 1;
	}
	printf("cmp-work done %llu\n", (unsigned long long)(state & 0xffff));
	return 0;
}
