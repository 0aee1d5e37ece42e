/*
 * threads4.c - four threads, each burning CPU in its own function.
 *
 *   threads4 TRUTH_FILE [CPU_SECONDS_PER_THREAD]
 *
 * worker_0 ... worker_3 run in four threads that start together (a
 * barrier) and each spin until their own CLOCK_THREAD_CPUTIME_ID reaches
 * CPU_SECONDS.  The main thread only waits in pthread_join.  TRUTH_FILE
 * gets one line per worker: "worker_N TID CPU_SECONDS", so a test can
 * check that every thread was sampled and that the shares are even.
 *
 * The workers are distinct functions (noipa: no inlining, cloning or
 * identical-code folding), so each thread has a name of its own.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define NOIPA __attribute__((noipa))
#define NTHREADS 4

struct worker {
	int tid;
	double cpu;
};

static pthread_barrier_t start_line;
static double cpu_budget = 1.0;
static struct worker workers[NTHREADS];

static double thread_cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline __attribute__((always_inline)) uint64_t spin(uint64_t x, uint64_t k, long n)
{
	for (long i = 0; i < n; i++) {
		x = x * 6364136223846793005ULL + k;
		__asm__ volatile("" : "+r"(x));
	}
	return x;
}

#define CHUNK 60000

/* Each worker differs in its constant, so no two bodies are identical. */
#define DEFINE_WORKER(N, K)                                        \
	NOIPA static uint64_t worker_##N(void)                     \
	{                                                          \
		uint64_t x = N;                                    \
		do                                                 \
			x = spin(x, K, CHUNK);                     \
		while (thread_cpu_seconds() < cpu_budget);         \
		return x;                                          \
	}
DEFINE_WORKER(0, 1442695040888963407ULL)
DEFINE_WORKER(1, 1442695040888963409ULL)
DEFINE_WORKER(2, 1442695040888963411ULL)
DEFINE_WORKER(3, 1442695040888963413ULL)

static uint64_t (*const worker_fn[NTHREADS])(void) = {
	worker_0, worker_1, worker_2, worker_3,
};

static void *thread_main(void *arg)
{
	int n = (int)(intptr_t)arg;
	uint64_t x;

	workers[n].tid = (int)syscall(SYS_gettid);
	pthread_barrier_wait(&start_line);
	x = worker_fn[n]();
	workers[n].cpu = thread_cpu_seconds();
	return (void *)(uintptr_t)(x & 1);
}

int main(int argc, char **argv)
{
	pthread_t th[NTHREADS];
	FILE *f;

	if (argc < 2) {
		fprintf(stderr, "usage: threads4 TRUTH_FILE [CPU_SECONDS_PER_THREAD]\n");
		return 2;
	}
	if (argc > 2)
		cpu_budget = atof(argv[2]);
	pthread_barrier_init(&start_line, NULL, NTHREADS);
	for (int i = 0; i < NTHREADS; i++)
		if (pthread_create(&th[i], NULL, thread_main, (void *)(intptr_t)i) != 0) {
			fprintf(stderr, "threads4: pthread_create failed\n");
			return 1;
		}
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	f = fopen(argv[1], "w");
	if (!f) {
		perror(argv[1]);
		return 1;
	}
	for (int i = 0; i < NTHREADS; i++)
		fprintf(f, "worker_%d %d %.6f\n", i, workers[i].tid, workers[i].cpu);
	if (fclose(f) != 0) {
		perror(argv[1]);
		return 1;
	}
	printf("threads4 done\n");
	return 0;
}
