/*
 * an-mutex.c - lock contention: 4 threads (main and 3 others) fight over
 * one mutex.  Each takes the lock in update_shared() and holds it while
 * it works, so at any moment one thread runs and three wait.  In
 * wall mode "perfkit analyze" must report lock contention in
 * update_shared.   an-mutex [SECONDS]   (wall-clock seconds)
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#include "an-common.h"

#define THREADS 4

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t shared_state = 1;
static double end_time;

NOIPA static void update_shared(void)
{
	pthread_mutex_lock(&lock);
	for (int i = 0; i < 20000; i++) {
		shared_state = shared_state * 6364136223846793005ULL + 1;
		__asm__ volatile("" ::: "memory");
	}
	pthread_mutex_unlock(&lock);
}

static void *worker(void *arg)
{
	(void)arg;
	while (an_wall_seconds() < end_time)
		update_shared();
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t[THREADS];

	end_time = an_wall_seconds() + an_seconds(argc, argv);
	for (int i = 1; i < THREADS; i++)
		if (pthread_create(&t[i], NULL, worker, NULL))
			return 1;
	worker(NULL);
	for (int i = 1; i < THREADS; i++)
		pthread_join(t[i], NULL);
	printf("an-mutex done %d\n", shared_state != 0);
	return 0;
}
