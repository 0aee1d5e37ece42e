/*
 * probe-calls.c - tracee for the generic probe engine (function probes):
 * fib(15) (1,973 calls, all returning), escape() left 100 times by longjmp
 * (never returns), plain() called 100 times from a loop, callfirst()
 * (whose first instruction is a call) 100 times.  Writes "ready", waits
 * for a byte on stdin, prints "fib 610", "callfirst ok" and "done".
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

/* callfirst(x) = bump(x) + 2 = x + 3, its first instruction a call (an
 * instruction the probe engine emulates), in assembly to be sure of it */
int callfirst(int x);
__asm__(".text\n"
	".globl callfirst\n"
	".type callfirst, @function\n"
	"callfirst:\n"
	"\tcall bump\n"
	"\tadd $2, %eax\n"
	"\tret\n"
	".size callfirst, .-callfirst\n"
	".type bump, @function\n"
	"bump:\n"
	"\tlea 1(%rdi), %eax\n"
	"\tret\n"
	".size bump, .-bump\n");

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
	f = 0;
	for (int i = 0; i < 100; i++)
		f += callfirst(i) - i;
	printf("callfirst %s\n", f == 300 ? "ok" : "WRONG");
	printf("done\n");
	return 0;
}
