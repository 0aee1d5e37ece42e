/*
 * wall.c - one busy thread and one sleeping thread, for wall-clock mode.
 *
 *   wall TRUTH_FILE [SECONDS]
 *
 * For SECONDS of wall time (default 2), busy_thread spins in busy_loop()
 * (state R) while sleepy_thread sleeps 5 ms at a time in sleepy_wait()
 * (state S); the main thread waits in pthread_join (state S).  A
 * wall-clock profiler samples all three alike, so busy_loop and
 * sleepy_wait each hold about a third of the samples, whereas a CPU
 * profiler sees almost only busy_loop.  TRUTH_FILE gets
 * "busy_loop TID" and "sleepy_wait TID".
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define NOIPA __attribute__((noipa))

static double run_seconds = 2.0;
static double end_time;
static int busy_tid, sleepy_tid;

static double monotonic_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

NOIPA static uint64_t busy_loop(void)
{
	uint64_t x = 9;

	do {
		for (long i = 0; i < 60000; i++) {
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			__asm__ volatile("" : "+r"(x));
		}
	} while (monotonic_seconds() < end_time);
	return x;
}

NOIPA static void sleepy_wait(void)
{
	struct timespec nap = { 0, 5000000 };

	while (monotonic_seconds() < end_time)
		nanosleep(&nap, NULL);
}

static void *busy_thread(void *arg)
{
	(void)arg;
	busy_tid = (int)syscall(SYS_gettid);
	return (void *)(uintptr_t)(busy_loop() & 1);
}

static void *sleepy_thread(void *arg)
{
	(void)arg;
	sleepy_tid = (int)syscall(SYS_gettid);
	sleepy_wait();
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t a, b;
	FILE *f;

	if (argc < 2) {
		fprintf(stderr, "usage: wall TRUTH_FILE [SECONDS]\n");
		return 2;
	}
	if (argc > 2)
		run_seconds = atof(argv[2]);
	end_time = monotonic_seconds() + run_seconds;
	if (pthread_create(&a, NULL, busy_thread, NULL) != 0 ||
	    pthread_create(&b, NULL, sleepy_thread, NULL) != 0) {
		fprintf(stderr, "wall: pthread_create failed\n");
		return 1;
	}
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	f = fopen(argv[1], "w");
	if (!f || fprintf(f, "busy_loop %d\nsleepy_wait %d\n", busy_tid, sleepy_tid) < 0 ||
	    fclose(f) != 0) {
		perror(argv[1]);
		return 1;
	}
	printf("wall done\n");
	return 0;
}
