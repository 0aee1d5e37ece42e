/*
 * an-balanced.c - a well-behaved program: eight different stages of
 * equal arithmetic work, called in turn from main, no allocation, no
 * copying, no system calls in the loop.  "perfkit analyze" must find
 * nothing above low.   an-balanced [SECONDS]
 */
#include <stdint.h>
#include <stdio.h>

#include "an-common.h"

#define STAGE(name, mul) \
	NOIPA static uint64_t name(uint64_t x) \
	{ \
		for (long i = 0; i < 200000; i++) { \
			x = x * (mul) + 1442695040888963407ULL; \
			__asm__ volatile("" : "+r"(x)); \
		} \
		return x; \
	}

STAGE(stage_parse, 6364136223846793005ULL)
STAGE(stage_check, 2862933555777941757ULL)
STAGE(stage_index, 3202034522624059733ULL)
STAGE(stage_merge, 3935559000370003845ULL)
STAGE(stage_score, 2685821657736338717ULL)
STAGE(stage_sort, 1181783497276652981ULL)
STAGE(stage_pack, 7664345821815920749ULL)
STAGE(stage_emit, 4292484099903637661ULL)

int main(int argc, char **argv)
{
	double end = an_cpu_seconds() + an_seconds(argc, argv);
	uint64_t x = 1;

	while (an_cpu_seconds() < end) {
		x = stage_parse(x);
		x = stage_check(x);
		x = stage_index(x);
		x = stage_merge(x);
		x = stage_score(x);
		x = stage_sort(x);
		x = stage_pack(x);
		x = stage_emit(x);
	}
	printf("an-balanced done %d\n", (int)(x & 1) | 1);
	return 0;
}
