/*
 * crash.c - a tracee that ends in a chosen way, for exit-status tests.
 *
 *   crash exit N | kill | segv | abort
 *
 * Burns about 0.2 s of CPU in work() first (so a profiler has samples),
 * then exits with status N, sends itself SIGKILL, writes through a null
 * pointer (a real SIGSEGV that a tracer sees as a signal-delivery-stop and
 * must deliver), or calls abort().  `perfkitd run` must exit with N, 137,
 * 139 and 134 respectively.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NOIPA __attribute__((noipa))

static double thread_cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

NOIPA static uint64_t work(void)
{
	double end = thread_cpu_seconds() + 0.2;
	uint64_t x = 5;

	do {
		for (long i = 0; i < 60000; i++) {
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			__asm__ volatile("" : "+r"(x));
		}
	} while (thread_cpu_seconds() < end);
	return x;
}

NOIPA static void write_through(int *p)
{
	*(volatile int *)p = 1;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: crash exit N | kill | segv | abort\n");
		return 2;
	}
	work();
	fflush(stdout);
	if (strcmp(argv[1], "exit") == 0 && argc > 2)
		return atoi(argv[2]);
	if (strcmp(argv[1], "kill") == 0)
		raise(SIGKILL);
	else if (strcmp(argv[1], "segv") == 0)
		write_through(NULL);
	else if (strcmp(argv[1], "abort") == 0)
		abort();
	fprintf(stderr, "crash: unknown way to end: %s\n", argv[1]);
	return 2;
}
