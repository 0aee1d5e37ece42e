/*
 * deep.c - a 200-deep recursion that burns CPU at the bottom.
 *
 *   deep [CPU_SECONDS] [DEPTH]
 *
 * main -> descend(200) -> descend(199) -> ... -> descend(1) -> bottom(),
 * and bottom() spins until the thread has used CPU_SECONDS.  Every sample
 * therefore has a stack of DEPTH + 2 frames of this program (plus libc's
 * start-up frames above main): a profiler with complete stacks shows
 * main in 100% of the samples and descend() in 100% (counted once, even
 * though it is on the stack 200 times).
 *
 * descend() keeps a volatile local that it reads after the call returns,
 * so the compiler can turn the recursion neither into a loop nor into
 * tail calls; each level is a real frame on the stack.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define NOIPA __attribute__((noipa))

static double cpu_budget = 1.0;

static double thread_cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

NOIPA static uint64_t bottom(void)
{
	uint64_t x = 7;

	do {
		for (long i = 0; i < 60000; i++) {
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			__asm__ volatile("" : "+r"(x));
		}
	} while (thread_cpu_seconds() < cpu_budget);
	return x;
}

NOIPA static uint64_t descend(int n)
{
	volatile int level = n;
	uint64_t r;

	r = n > 1 ? descend(n - 1) : bottom();
	return r + (uint64_t)level;
}

int main(int argc, char **argv)
{
	int depth = 200;
	uint64_t r;

	if (argc > 1)
		cpu_budget = atof(argv[1]);
	if (argc > 2)
		depth = atoi(argv[2]);
	if (cpu_budget <= 0 || depth < 1) {
		fprintf(stderr, "usage: deep [CPU_SECONDS] [DEPTH]\n");
		return 2;
	}
	r = descend(depth);
	printf("deep done depth %d %llu\n", depth, (unsigned long long)(r & 0xff));
	return 0;
}
