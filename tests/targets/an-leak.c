/*
 * an-leak.c - a leak: remember_request() allocates 4,096 bytes per call
 * and keeps none of the pointers, 500 times (2,048,000 bytes never
 * freed); other allocations of the program are freed.  With --alloc,
 * "perfkit analyze" must report a leak suspect in remember_request.
 *   an-leak
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "an-common.h"

NOIPA static void *remember_request(int i)
{
	char *p = malloc(4096);

	if (p)
		memset(p, i, 4096);
	return p;
}

NOIPA static void scratch_work(int i)
{
	char *p = malloc(256);

	if (p) {
		memset(p, i, 256);
		free(p);
	}
}

int main(void)
{
	long kept = 0;

	for (int i = 0; i < 500; i++) {
		kept += remember_request(i) != NULL;
		scratch_work(i);
	}
	printf("an-leak done %ld\n", kept);
	return 0;
}
