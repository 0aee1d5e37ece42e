/*
 * fprobe-calls.c - tracee for the function probe tests: calls with known
 * counts and known durations.  Every mode prints its own truth.
 *
 *   counts      f() 12,345 times (a little arithmetic), g() 1,000 times
 *               (each spins 1 ms of wall time); prints the mean time of
 *               a g() call as its caller saw it
 *   fib N [MS]  fib(N) recursively; fib(20) makes 21,891 calls (the time
 *               it took goes to stderr, for tests/bench/fprobe.sh); MS:
 *               milliseconds to sleep before it
 *   mutual      is_even/is_odd mutual recursion for n = 0..99
 *   longjmp     jumper() 500 times, each left by longjmp from deeper()
 *   threads     4 threads call work() 2,500 times each
 *   slow N      N calls of slow() (300 ms each), after printing "ready"
 *   tail        tail_hop() 1,000 times, which jumps to tail_end() (a tail
 *               call: tail_end returns to tail_hop's caller)
 *
 * Built without inlining and sibling calls so that each source call is
 * a real call.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile unsigned long sink;
static volatile long fib_calls, even_calls, odd_calls;

static unsigned long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long)ts.tv_sec * 1000000000ul + (unsigned long)ts.tv_nsec;
}

unsigned long f(unsigned long x);
unsigned long f(unsigned long x)
{
	for (int i = 0; i < 20; i++)
		x = x * 6364136223846793005ul + 1442695040888963407ul;
	sink += x;
	return x;
}

void g(void);
void g(void)
{
	unsigned long end = now_ns() + 1000000ul;

	while (now_ns() < end)
		sink++;
}

long fib(long n);
long fib(long n)
{
	fib_calls++;
	return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

int is_odd(unsigned n);
int is_even(unsigned n);
int is_even(unsigned n)
{
	even_calls++;
	return n == 0 ? 1 : is_odd(n - 1);
}

int is_odd(unsigned n)
{
	odd_calls++;
	return n == 0 ? 0 : is_even(n - 1);
}

/* tail_hop(x) = tail_end(x + 1) by a jump, in assembly (sibling calls
 * are off for the C functions) */
static volatile long tail_calls;
unsigned long tail_end(unsigned long x);
unsigned long tail_end(unsigned long x)
{
	tail_calls++;
	return x * 3;
}

unsigned long tail_hop(unsigned long x);
__asm__(".text\n"
	".globl tail_hop\n"
	".type tail_hop, @function\n"
	"tail_hop:\n"
	"\taddq $1, %rdi\n"
	"\tjmp tail_end\n"
	".size tail_hop, .-tail_hop\n");

static jmp_buf jb;

void deeper(int i);
void deeper(int i)
{
	sink += (unsigned long)i;
	longjmp(jb, 1);
}

void jumper(int i);
void jumper(int i)
{
	deeper(i);
	sink++;
}

unsigned long work(unsigned long x);
unsigned long work(unsigned long x)
{
	return f(x) ^ x;
}

static void *thread_main(void *arg)
{
	unsigned long acc = 0, seed = (unsigned long)arg;

	for (int i = 0; i < 2500; i++)
		acc += work(seed + (unsigned long)i) & 0xff;
	return (void *)acc;
}

void slow(void);
void slow(void)
{
	struct timespec ts = { 0, 300000000 };

	nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "counts";

	if (!strcmp(mode, "counts")) {
		for (int i = 0; i < 12345; i++)
			f((unsigned long)i);
		unsigned long t0 = now_ns();

		for (int i = 0; i < 1000; i++)
			g();
		/* as the caller saw it, probe stops and all */
		printf("f=12345 g=1000\ng_caller_mean_ns=%lu\n", (now_ns() - t0) / 1000);
	} else if (!strcmp(mode, "fib")) {
		unsigned long t0;
		long n = argc > 2 ? atol(argv[2]) : 20, r;

		if (argc > 3) /* a pause first, for tests/bench/probe-cost.sh */
			usleep((useconds_t)atol(argv[3]) * 1000);
		t0 = now_ns();
		r = fib(n);

		printf("fib(%ld)=%ld calls=%ld\n", n, r, fib_calls);
		fprintf(stderr, "elapsed_ns=%lu\n", now_ns() - t0);
	} else if (!strcmp(mode, "mutual")) {
		int evens = 0;

		for (unsigned k = 0; k < 100; k++)
			evens += is_even(k);
		printf("evens=%d is_even=%ld is_odd=%ld\n", evens, even_calls, odd_calls);
	} else if (!strcmp(mode, "longjmp")) {
		volatile int jumps = 0;

		for (volatile int i = 0; i < 500; i++)
			if (setjmp(jb) == 0)
				jumper(i);
			else
				jumps++;
		printf("jumps=%d\n", jumps);
	} else if (!strcmp(mode, "threads")) {
		pthread_t t[4];
		unsigned long total = 0, expect = 0;

		for (long i = 0; i < 4; i++)
			pthread_create(&t[i], NULL, thread_main, (void *)(i * 100000));
		for (int i = 0; i < 4; i++) {
			void *r;

			pthread_join(t[i], &r);
			total += (unsigned long)r;
		}
		/* the same sum computed without threads */
		for (long i = 0; i < 4; i++)
			for (int k = 0; k < 2500; k++) {
				unsigned long x = (unsigned long)(i * 100000 + k), y = x;

				for (int s = 0; s < 20; s++)
					y = y * 6364136223846793005ul + 1442695040888963407ul;
				expect += (y ^ x) & 0xff;
			}
		printf("sum=%lu %s\n", total, total == expect ? "ok" : "WRONG");
	} else if (!strcmp(mode, "tail")) {
		unsigned long sum = 0, expect = 0;

		for (unsigned long i = 0; i < 1000; i++) {
			sum += tail_hop(i);
			expect += (i + 1) * 3;
		}
		printf("tail_end=%ld sum=%s\n", tail_calls, sum == expect ? "ok" : "WRONG");
	} else if (!strcmp(mode, "slow")) {
		int n = argc > 2 ? atoi(argv[2]) : 10;

		printf("ready\n");
		fflush(stdout);
		for (int i = 0; i < n; i++)
			slow();
		printf("slow returned %d times\n", n);
	} else {
		fprintf(stderr, "unknown mode '%s'\n", mode);
		return 2;
	}
	return 0;
}
