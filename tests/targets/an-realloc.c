/*
 * an-realloc.c - realloc growth by small steps: append_bytes() builds a
 * 64 KiB buffer one byte at a time, calling realloc for every byte, then
 * frees it, over and over.  "perfkit analyze" must report excessive
 * allocation (realloc growth) in append_bytes.   an-realloc [SECONDS]
 */
#include <stdio.h>
#include <stdlib.h>

#include "an-common.h"

NOIPA static size_t append_bytes(size_t n)
{
	char *buf = NULL;
	size_t len = 0, sum = 0;

	for (size_t i = 0; i < n; i++) {
		char *grown = realloc(buf, len + 1);

		if (!grown)
			abort();
		buf = grown;
		buf[len++] = (char)i;
	}
	for (size_t i = 0; i < len; i += 4096)
		sum += (unsigned char)buf[i];
	free(buf);
	return sum;
}

int main(int argc, char **argv)
{
	double end = an_cpu_seconds() + an_seconds(argc, argv);
	size_t sum = 0;

	while (an_cpu_seconds() < end)
		sum += append_bytes(65536);
	printf("an-realloc done %zu\n", sum > 0 ? (size_t)1 : (size_t)0);
	return 0;
}
