/*
 * cmp-alloc.c - a tracee built twice for "perfkit compare" of allocation
 * data: cmp-alloc-many, and cmp-alloc-few (-DFEW) in which churn() makes a
 * third of the allocations and leak() leaks one block instead of four.
 * steady() is the same in both.
 *
 *   churn()   CHURN x malloc(64) + free    3000, or 1000 with -DFEW
 *   steady()  500 x malloc(32), all freed at the end
 *   leak()    LEAKS x malloc(100), never freed    4, or 1 with -DFEW
 *
 * So between the two builds, exactly: allocations differ by 2003, bytes
 * allocated by 2000 x 64 + 3 x 100 = 128300, bytes not freed at the end
 * by 300; churn's site by 2000 calls and 128000 bytes, leak's by 3 calls
 * and 300 live bytes; steady's site is unchanged.  It prints its truth.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline, noclone))

#ifdef FEW
#define CHURN 1000
#define LEAKS 1
#else
#define CHURN 3000
#define LEAKS 4
#endif
#define STEADY 500

static volatile uintptr_t sink;
static void *steady_blocks[STEADY];

NOINLINE static void churn(void)
{
	for (int i = 0; i < CHURN; i++) {
		char *p = malloc(64);

		if (!p)
			abort();
		memset(p, i, 64);
		/* Keep the block observable, so the pair is not elided. */
		__asm__ volatile("" : : "r"(p) : "memory");
		sink += (uintptr_t)p[i % 64];
		free(p);
	}
}

NOINLINE static void steady(void)
{
	for (int i = 0; i < STEADY; i++) {
		steady_blocks[i] = malloc(32);
		if (!steady_blocks[i])
			abort();
		sink += (uintptr_t)steady_blocks[i];
	}
}

NOINLINE static void release(void)
{
	for (int i = 0; i < STEADY; i++)
		free(steady_blocks[i]);
}

NOINLINE static void leak(void)
{
	for (int i = 0; i < LEAKS; i++)
		sink += (uintptr_t)malloc(100);
}

int main(void)
{
	/* stdout's buffer is allocated here, the same in both builds. */
	printf("churn %d\nsteady %d\nleaks %d\n", CHURN, STEADY, LEAKS);
	churn();
	steady();
	leak();
	release();
	printf("done\n");
	return 0;
}
