/*
 * alloc-suite.c - tracee for the probe engine and allocation tracking
 * tests (tests/unit/test-probe.c).  Each mode does one thing with a known
 * truth and prints it.  The program first writes "ready" and waits for a
 * byte on stdin, so that the test can attach and arm probes before the
 * interesting part starts.
 *
 *   basic   10,000 x malloc(100) in hot(), 2 x malloc(50) in cold(), all
 *           freed but 4 + 1 (printed as "leak PTR SIZE"); a realloc chain,
 *           calloc, posix_memalign (leaked), aligned_alloc, memalign,
 *           valloc, pvalloc, reallocarray; 3 blocks allocated before the
 *           go byte and freed after it (unknown frees).
 *   threads 4 threads x 5000 malloc/free pairs, one leak each.
 *   signal  a timer signal handler that allocates while main allocates.
 *   fork    forks while probed; the child allocates and exits 0.
 *   loop    2 threads x N malloc/memset/free, prints a checksum (for
 *           detach in the middle of a run).
 *   exec    allocates, then execs itself in bench mode (which waits for
 *           a second go byte).
 *   bench N N malloc(64)+free pairs, prints nanoseconds per pair.
 *   deep    40 nested calls of descend() (a 256-byte frame each, over
 *           10 KiB of stack: more than the jump backend's slices, less
 *           than perfkitd's stack copy), then 100 x malloc(24) in
 *           deep_leaf(), leaked, and 100 x malloc(8)+free there.
 *   twins   2,000 x malloc(40) in twin(), leaked, called in turn through
 *           via_a() and via_b(): the same call, at the same stack depth,
 *           the same return address, 1,000 times from each caller (a
 *           stack known by its depth alone would be the wrong one); a
 *           tenth of a second's pause after the first quarter (perfkitd
 *           learns the frames) and after the second (it has taken both
 *           stacks), then the second half.
 */
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline, noclone))

static void *hot_blocks[10000];
static void *cold_blocks[2];
static void *pre_blocks[3];
static volatile unsigned long sink;

NOINLINE static void hot(void)
{
	for (int i = 0; i < 10000; i++) {
		hot_blocks[i] = malloc(100);
		sink += (unsigned long)hot_blocks[i];
	}
}

NOINLINE static void cold(void)
{
	for (int i = 0; i < 2; i++) {
		cold_blocks[i] = malloc(50);
		sink += (unsigned long)cold_blocks[i];
	}
}

NOINLINE static void release(void)
{
	for (int i = 0; i < 10000; i++) {
		if (i == 0 || i == 17 || i == 4242 || i == 9999)
			printf("leak %p 100\n", hot_blocks[i]);
		else
			free(hot_blocks[i]);
	}
	free(cold_blocks[0]);
	printf("leak %p 50\n", cold_blocks[1]);
}

NOINLINE static void chain(void)
{
	char *p = realloc(NULL, 10);

	for (int i = 1; i <= 20; i++) {
		p = realloc(p, 10 + 10 * (size_t)i);
		p[0] = (char)i;
	}
	sink += (unsigned long)realloc(p, 0);
}

NOINLINE static void aligned(void)
{
	void *pm = NULL, *v[6];

	if (posix_memalign(&pm, 64, 1000) != 0)
		abort();
	printf("leak %p 1000\n", pm);
	v[0] = aligned_alloc(64, 128);
	v[1] = memalign(32, 100);
	v[2] = valloc(5000);
	v[3] = pvalloc(100);
	v[4] = reallocarray(NULL, 10, 20);
	v[5] = calloc(10, 30);
	printf("aligned %p %p %p %p %p %p\n", v[0], v[1], v[2], v[3], v[4], v[5]);
	for (int i = 0; i < 6; i++)
		free(v[i]);
}

static void wait_go(void)
{
	char c;

	if (write(1, "ready\n", 6) != 6 || read(0, &c, 1) != 1)
		exit(3);
}

NOINLINE static int mode_basic(void)
{
	for (int i = 0; i < 3; i++)
		pre_blocks[i] = malloc(1000);
	wait_go();
	hot();
	cold();
	release();
	chain();
	aligned();
	for (int i = 0; i < 3; i++)
		free(pre_blocks[i]);
	printf("done\n");
	return 0;
}

NOINLINE static void *worker(void *arg)
{
	size_t extra = (size_t)(long)arg;
	void *keep;

	for (int i = 0; i < 5000; i++) {
		void *p = malloc(32 + extra);

		sink += (unsigned long)p;
		free(p);
	}
	keep = malloc(1000 + extra);
	sink += (unsigned long)keep; /* no tail call: the caller stays worker */
	return keep;
}

NOINLINE static int mode_threads(void)
{
	pthread_t t[4];

	wait_go();
	for (long i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	for (int i = 0; i < 4; i++) {
		void *keep;

		pthread_join(t[i], &keep);
		printf("leak %p %d\n", keep, 1000 + i);
	}
	printf("done\n");
	return 0;
}

static void *sig_blocks[4096];
static volatile int sig_count;

NOINLINE static void on_alarm(int sig)
{
	(void)sig;
	if (sig_count < 4096) {
		sig_blocks[sig_count] = malloc(77);
		sig_count++;
	}
}

NOINLINE static int mode_signal(void)
{
	struct itimerval it = { { 0, 500 }, { 0, 500 } };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	wait_go();
	setitimer(ITIMER_REAL, &it, NULL);
	for (int i = 0; i < 20000 || sig_count < 20; i++) {
		void *p = malloc(100);

		sink += (unsigned long)p;
		free(p);
	}
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	for (int i = 0; i < sig_count; i++)
		free(sig_blocks[i]);
	printf("handler %d\n", sig_count);
	printf("done\n");
	return 0;
}

NOINLINE static int mode_fork(void)
{
	int status = 0;
	pid_t child;
	void *p;

	wait_go();
	p = malloc(200);
	child = fork();
	if (child == 0) {
		for (int i = 0; i < 100; i++) {
			void *q = malloc(300);

			sink += (unsigned long)q;
			free(q);
		}
		free(p);
		_exit(0);
	}
	waitpid(child, &status, 0);
	free(p);
	printf("child %s %d\n", WIFEXITED(status) ? "exited" : "killed",
	       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	printf("done\n");
	return 0;
}

NOINLINE static int mode_exec(const char *self)
{
	void *p;

	wait_go();
	p = malloc(123);
	sink += (unsigned long)p;
	free(p);
	execl(self, self, "bench", "10", (char *)NULL);
	return 4;
}

static long loop_n = 3000;

static void *loop_worker(void *arg)
{
	unsigned long sum = 0;

	(void)arg;
	for (long i = 0; i < loop_n; i++) {
		unsigned char *p = malloc(64);

		memset(p, (int)(i & 255), 64);
		sum += p[i % 64];
		free(p);
	}
	return (void *)sum;
}

NOINLINE static int mode_loop(void)
{
	pthread_t t;
	void *r1, *r2;

	wait_go();
	pthread_create(&t, NULL, loop_worker, NULL);
	r1 = loop_worker(NULL);
	pthread_join(t, &r2);
	printf("sum %lu\n", (unsigned long)r1 + (unsigned long)r2);
	printf("done\n");
	return 0;
}

#define DEEP_LEVELS 40
static void *deep_blocks[100];

NOINLINE static void deep_leaf(void)
{
	for (int i = 0; i < 100; i++) {
		char *p = malloc(8);

		deep_blocks[i] = malloc(24);
		sink += (unsigned long)deep_blocks[i] + (unsigned long)p;
		free(p);
	}
}

/* not a tail call: pad is used after the call returns */
NOINLINE static void descend(int n)
{
	volatile char pad[256];

	pad[0] = (char)n;
	if (n > 1)
		descend(n - 1);
	else
		deep_leaf();
	sink += (unsigned long)pad[0];
}

NOINLINE static int mode_deep(void)
{
	wait_go();
	descend(DEEP_LEVELS);
	printf("done\n");
	return 0;
}

#define TWINS 2000
static void *twin_blocks[TWINS];

NOINLINE static void twin(int i)
{
	twin_blocks[i] = malloc(40);
	sink += (unsigned long)twin_blocks[i];
}

/* the same frame, a different return address (not a tail call, not one
 * function folded into the other) */
NOINLINE static void via_a(int i)
{
	twin(i);
	sink += 1;
}

NOINLINE static void via_b(int i)
{
	twin(i);
	sink += 2;
}

NOINLINE static int mode_twins(void)
{
	wait_go();
	for (int i = 0; i < TWINS; i++) {
		if (i == TWINS / 4 || i == TWINS / 2)
			usleep(100000);
		(i & 1 ? via_b : via_a)(i);
	}
	printf("done\n");
	return 0;
}

NOINLINE static int mode_bench(long n)
{
	struct timespec a, b;

	wait_go();
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++) {
		char *p = malloc(64);

		p[0] = 1;
		sink += (unsigned long)p;
		free(p);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("bench %.1f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / (double)n);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		return 2;
	if (strcmp(argv[1], "basic") == 0)
		return mode_basic();
	if (strcmp(argv[1], "threads") == 0)
		return mode_threads();
	if (strcmp(argv[1], "signal") == 0)
		return mode_signal();
	if (strcmp(argv[1], "fork") == 0)
		return mode_fork();
	if (strcmp(argv[1], "loop") == 0) {
		if (argc > 2)
			loop_n = atol(argv[2]);
		return mode_loop();
	}
	if (strcmp(argv[1], "exec") == 0)
		return mode_exec(argv[0]);
	if (strcmp(argv[1], "deep") == 0)
		return mode_deep();
	if (strcmp(argv[1], "twins") == 0)
		return mode_twins();
	if (strcmp(argv[1], "bench") == 0)
		return mode_bench(argc > 2 ? atol(argv[2]) : 2000);
	return 2;
}
