/*
 * annot-loop.c - a tracee whose hot function spends nearly all of its
 * time on one known source line, for "perfkit annotate".
 *
 *   annot-loop [CPU_SECONDS]
 *
 * hot_lines() runs a loop whose body is a long chain of dependent
 * multiplications written on ONE line (the line marked HOT below: about
 * 24 multiplications, each 3+ cycles) followed by a cheap line (marked
 * COLD: one addition).  Samples of hot_lines() should therefore fall on
 * the HOT line for the most part; the loop's own increment and branch
 * (attributed to the "for" line) cost about a cycle per iteration.
 * tests/integration/annotate-lines.sh finds the lines by their markers.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define NOIPA __attribute__((noipa))
/* One step of the chain; the empty asm keeps the compiler from folding
 * the steps into one multiplication. */
#define STEP(x) (x) = (x) * 6364136223846793005ULL + 1442695040888963407ULL; __asm__("" : "+r"(x));

static double cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

NOIPA static uint64_t hot_lines(uint64_t x, long n)
{
	uint64_t acc = 0;

	for (long i = 0; i < n; i++) {
		STEP(x) STEP(x) STEP(x) STEP(x) STEP(x) STEP(x) STEP(x) STEP(x) STEP(x) STEP(x) STEP(x) STEP(x) STEP(x) STEP(x) STEP(x) STEP(x) STEP(x) STEP(x) STEP(x) STEP(x) STEP(x) STEP(x) STEP(x) STEP(x) /* HOT */
		acc += x >> 7; /* COLD */
	}
	return acc ^ x;
}

int main(int argc, char **argv)
{
	double limit = argc > 1 ? atof(argv[1]) : 1.0, start = cpu_seconds();
	uint64_t x = 1;

	while (cpu_seconds() - start < limit)
		x += hot_lines(x, 200000);
	printf("%llu\n", (unsigned long long)(x & 1));
	return 0;
}
