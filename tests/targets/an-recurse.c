/*
 * an-recurse.c - deep recursion: descend() calls itself 5,000 levels
 * deep, then spin() burns CPU at the bottom.  "perfkit analyze" must
 * report deep recursion in descend.   an-recurse [SECONDS]
 */
#include <stdio.h>

#include "an-common.h"

static double end_time;

NOIPA static unsigned long spin(void)
{
	unsigned long x = 7;

	while (an_cpu_seconds() < end_time)
		for (int i = 0; i < 100000; i++) {
			x = x * 2862933555777941757UL + 3037000493UL;
			__asm__ volatile("" : "+r"(x));
		}
	return x;
}

NOIPA static unsigned long descend(int depth)
{
	unsigned long r;

	if (depth == 0)
		return spin();
	r = descend(depth - 1);
	__asm__ volatile("" : "+r"(r)); /* no tail call */
	return r + 1;
}

int main(int argc, char **argv)
{
	end_time = an_cpu_seconds() + an_seconds(argc, argv);
	printf("an-recurse done %d\n", descend(5000) > 5000);
	return 0;
}
