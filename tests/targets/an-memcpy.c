/*
 * an-memcpy.c - memory copying: copy_blocks() copies 1 MiB buffers back
 * and forth with memcpy and does nothing else.  "perfkit analyze" must
 * report memory copying in copy_blocks.   an-memcpy [SECONDS]
 */
#include <stdio.h>
#include <string.h>

#include "an-common.h"

#define BLOCK (1 << 20)

static char a[BLOCK], b[BLOCK];

NOIPA static void copy_blocks(size_t n)
{
	for (int i = 0; i < 16; i++) {
		memcpy(b, a, n);
		memcpy(a, b, n);
	}
}

int main(int argc, char **argv)
{
	double end = an_cpu_seconds() + an_seconds(argc, argv);
	volatile size_t n = BLOCK;

	memset(a, 1, sizeof(a));
	while (an_cpu_seconds() < end)
		copy_blocks(n);
	printf("an-memcpy done %d\n", a[7] + b[9]);
	return 0;
}
