/*
 * signals.c - counts the signals it is sent, for signal-delivery tests.
 *
 *   signals READY_FILE
 *
 * Counts SIGUSR1 deliveries in a handler while spinning in busy_loop().
 * Writes its pid to READY_FILE once the handlers are installed.  SIGUSR2
 * asks it to finish: it prints
 *
 *   usr1 N
 *
 * and exits 0.  A test sends N signals one at a time (waiting until the
 * previous one is no longer pending, since standard signals do not queue)
 * and expects exactly N: a tracer that swallows a signal-delivery-stop
 * instead of re-injecting the signal makes the count fall short.  It
 * also stops the process with SIGSTOP and checks that its CPU time does
 * not advance until SIGCONT.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define NOIPA __attribute__((noipa))

static volatile sig_atomic_t usr1_count;
static volatile sig_atomic_t finish;

static void on_usr1(int sig)
{
	(void)sig;
	usr1_count++;
}

static void on_usr2(int sig)
{
	(void)sig;
	finish = 1;
}

NOIPA static uint64_t busy_loop(void)
{
	uint64_t x = 3;

	while (!finish) {
		for (long i = 0; i < 20000; i++) {
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			__asm__ volatile("" : "+r"(x));
		}
	}
	return x;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	FILE *f;
	uint64_t x;

	if (argc < 2) {
		fprintf(stderr, "usage: signals READY_FILE\n");
		return 2;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_usr2;
	sigaction(SIGUSR2, &sa, NULL);
	f = fopen(argv[1], "w");
	if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f) != 0) {
		perror(argv[1]);
		return 1;
	}
	x = busy_loop();
	printf("usr1 %d\n", (int)usr1_count);
	return (int)(x & 0);
}
