/*
 * probe-calls.c - tracee for the generic probe engine (function probes):
 * fib(15) (1,973 calls, all returning), escape() left 100 times by longjmp
 * (never returns), plain() called 100 times from a loop.  Writes "ready",
 * waits for a byte on stdin, prints "fib 610" and "done".
 */
#include <setjmp.h>
#include <stdio.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline, noclone))

static jmp_buf env;
static volatile int sink;

NOINLINE static int fib(int n)
{
	sink++;
	return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

NOINLINE static void leave(void)
{
	longjmp(env, 1);
}

NOINLINE static int escape(int x)
{
	sink += x;
	leave();
	return x; /* never reached */
}

NOINLINE static int plain(int x)
{
	sink += x;
	return x + 1;
}

int main(void)
{
	char c;
	int f;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (write(1, "ready\n", 6) != 6 || read(0, &c, 1) != 1)
		return 3;
	f = fib(15);
	for (volatile int i = 0; i < 100; i++) {
		if (setjmp(env) == 0)
			escape(i);
		plain(i);
	}
	printf("fib %d\n", f);
	printf("done\n");
	return 0;
}
