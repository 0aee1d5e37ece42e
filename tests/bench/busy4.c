/*
 * busy4.c - four busy threads for a given wall time (benchmark target).
 *
 *   busy4 SECONDS
 *
 * Four threads spin (two levels of calls each) for SECONDS of wall time;
 * then it prints "cpu_s X" (the process CPU time) and exits 0.  Used to
 * check that perfkitd keeps up at 999 Hz and that its memory stays flat.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define NOIPA __attribute__((noipa))

static double end_time;

static double clock_seconds(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

NOIPA static uint64_t spin_leaf(uint64_t x)
{
	for (int i = 0; i < 50000; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		__asm__ volatile("" : "+r"(x));
	}
	return x;
}

NOIPA static void *spin_thread(void *arg)
{
	uint64_t x = (uint64_t)(uintptr_t)arg;

	while (clock_seconds(CLOCK_MONOTONIC) < end_time)
		x = spin_leaf(x);
	return (void *)(uintptr_t)(x & 1);
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 5.0;
	pthread_t th[4];

	if (seconds <= 0) {
		fprintf(stderr, "usage: busy4 SECONDS\n");
		return 2;
	}
	end_time = clock_seconds(CLOCK_MONOTONIC) + seconds;
	for (int i = 0; i < 4; i++)
		if (pthread_create(&th[i], NULL, spin_thread, (void *)(uintptr_t)(i + 1)) != 0) {
			fprintf(stderr, "busy4: pthread_create failed\n");
			return 1;
		}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	printf("cpu_s %.6f\n", clock_seconds(CLOCK_PROCESS_CPUTIME_ID));
	return 0;
}
