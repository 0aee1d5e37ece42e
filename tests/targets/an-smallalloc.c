/*
 * an-smallalloc.c - frequent small allocations: churn_batch() makes
 * 100,000 allocations of 16 bytes and frees them all at once, over and
 * over.  "perfkit analyze" must report the allocation work in
 * churn_batch.   an-smallalloc [SECONDS [BATCHES]]
 * With BATCHES (for allocation tracing, where every call stops the
 * program): exactly that many batches, whatever the time.
 */
#include <stdio.h>
#include <stdlib.h>

#include "an-common.h"

#define COUNT 100000

static void *blocks[COUNT];

NOIPA static size_t churn_batch(void)
{
	size_t sum = 0;

	for (int i = 0; i < COUNT; i++) {
		blocks[i] = malloc(16);
		if (!blocks[i])
			abort();
		*(int *)blocks[i] = i;
	}
	for (int i = 0; i < COUNT; i++) {
		sum += (size_t)*(int *)blocks[i];
		free(blocks[i]);
	}
	return sum;
}

int main(int argc, char **argv)
{
	double end = an_cpu_seconds() + an_seconds(argc, argv);
	long batches = argc > 2 ? atol(argv[2]) : 0;
	size_t sum = 0;

	if (batches > 0)
		while (batches-- > 0)
			sum += churn_batch();
	else
		while (an_cpu_seconds() < end)
			sum += churn_batch();
	printf("an-smallalloc done %d\n", sum > 0);
	return 0;
}
