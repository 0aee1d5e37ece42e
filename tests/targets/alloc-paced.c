/*
 * alloc-paced.c - a tracee for perfkitd attach --alloc cycles: THREADS
 * threads each do BURST malloc/free pairs (thread i allocates 40 + i
 * bytes), then sleep 1 ms, again and again, until a byte arrives on stdin
 * after the go byte.  The rate (about BURST pairs per ms per thread)
 * stays within what perfkitd records without dropping, so a window of it
 * can be checked exactly: every allocation seen is freed within the
 * window except at most one per thread at its end, and every free seen
 * is of a block seen, except at most one per thread at its start.
 * Prints "ready", then at the end "pairs N" (all threads) and "done".
 * Usage: alloc-paced [THREADS [BURST]]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline, noclone))
#define MAX_THREADS 16

static volatile int stop_now;
static long burst = 100;
static long pairs[MAX_THREADS];

NOINLINE static void *paced_worker(void *arg)
{
	long idx = (long)arg;
	struct timespec ms = { 0, 1000000 };

	while (!stop_now) {
		for (long i = 0; i < burst; i++) {
			unsigned char *p = malloc((size_t)(40 + idx));

			if (!p)
				abort();
			memset(p, (int)i, (size_t)(40 + idx));
			__asm__ volatile("" : : "r"(p) : "memory");
			free(p);
		}
		pairs[idx] += burst;
		nanosleep(&ms, NULL);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	long threads = argc > 1 ? atol(argv[1]) : 2;
	pthread_t t[MAX_THREADS];
	long total = 0;
	char c;

	if (argc > 2)
		burst = atol(argv[2]);
	if (threads < 1 || threads > MAX_THREADS || burst < 1)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	if (read(0, &c, 1) != 1)
		return 3;
	for (long i = 0; i < threads; i++)
		if (pthread_create(&t[i], NULL, paced_worker, (void *)i) != 0)
			return 4;
	/* the stop byte, or end of input (the go byte's newline is not one) */
	while (read(0, &c, 1) == 1 && c == '\n')
		;
	stop_now = 1;
	for (long i = 0; i < threads; i++) {
		pthread_join(t[i], NULL);
		total += pairs[i];
	}
	printf("pairs %ld\n", total);
	printf("done\n");
	return 0;
}
