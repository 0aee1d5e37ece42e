/*
 * new-work.cc - tests/bench/jprobe-work.c in C++: each step deletes one
 * of 4096 live blocks and makes a new one of 16..271 bytes with new[],
 * fills it and folds it into a checksum PASSES times.  Writes "ready",
 * waits for a byte on stdin, runs N steps and prints
 * "work NS_PER_STEP CHECKSUM" (the allocation density of C++ code that
 * builds and drops small objects; operator new calls malloc, delete[]
 * free).
 *
 *   new-work [N] [PASSES]
 */
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <unistd.h>

#define LIVE 4096

static unsigned char *table[LIVE];

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	long passes = argc > 2 ? atol(argv[2]) : 1;
	unsigned long x = 88172645463325252ul, sum = 0;
	struct timespec a, b;
	char c;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (write(1, "ready\n", 6) != 6 || read(0, &c, 1) != 1)
		return 3;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++) {
		size_t k, len;
		unsigned char *p;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		k = x % LIVE;
		len = 16 + (x >> 32) % 256;
		delete[] table[k];
		p = new unsigned char[len];
		memset(p, (int)(i & 255), len);
		for (long r = 0; r < passes; r++)
			for (size_t q = 0; q < len; q += 8)
				sum = sum * 31 + p[q] + (unsigned long)r;
		table[k] = p;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	for (size_t k = 0; k < LIVE; k++)
		delete[] table[k];
	printf("work %.1f %lu\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / (double)n,
	       sum);
	return 0;
}
