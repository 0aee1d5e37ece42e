/*
 * an-slow.c - a slow function: slow_function() (reached through
 * main -> run_job) burns about 90% of the CPU time, light_work() the
 * rest.  "perfkit analyze" must name slow_function as a critical slow
 * function.   an-slow [SECONDS]
 */
#include <stdint.h>
#include <stdio.h>

#include "an-common.h"

NOIPA static uint64_t slow_function(uint64_t x)
{
	for (long i = 0; i < 900000; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		__asm__ volatile("" : "+r"(x));
	}
	return x;
}

NOIPA static uint64_t light_work(uint64_t x)
{
	for (long i = 0; i < 100000; i++) {
		x ^= x >> 7;
		x ^= x << 9;
		__asm__ volatile("" : "+r"(x));
	}
	return x;
}

NOIPA static uint64_t run_job(uint64_t x)
{
	return light_work(slow_function(x));
}

int main(int argc, char **argv)
{
	double end = an_cpu_seconds() + an_seconds(argc, argv);
	uint64_t x = 1;

	while (an_cpu_seconds() < end)
		x = run_job(x);
	printf("an-slow done %llu\n", (unsigned long long)(x & 1));
	return 0;
}
