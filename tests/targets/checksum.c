/*
 * checksum.c - a tracee that checks its own results, for attach tests.
 *
 *   checksum READY_FILE [SECONDS]
 *
 * Writes its pid to READY_FILE once it runs, then repeats rounds of work
 * for SECONDS of wall time (default 3), or until SIGUSR2 asks it to
 * finish early.  A round mixes integer state (mix_integers), floating
 * point sums (mix_floats, using the SSE registers) and a pipe round trip
 * plus a short nanosleep (syscalls that a tracer interrupts).  After the
 * loop it recomputes the same number of rounds in one plain function,
 * with no syscalls in between, and compares.  Anything a profiler
 * disturbs (registers, memory, a syscall failing with EINTR, a lost
 * restart) shows as a mismatch or an error.  On success it prints
 *
 *   checksum ok rounds N value HEX
 *
 * and exits 0; otherwise it prints what went wrong and exits 1.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NOIPA __attribute__((noipa))

struct state {
	uint64_t ints;
	double floats;
};

static volatile sig_atomic_t finish_now;

static void on_usr2(int sig)
{
	(void)sig;
	finish_now = 1;
}

static double monotonic_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

NOIPA static void mix_integers(struct state *s, long round)
{
	uint64_t x = s->ints;

	for (long i = 0; i < 20000; i++) {
		x ^= (uint64_t)(round + i);
		x = x * 0xff51afd7ed558ccdULL;
		x ^= x >> 33;
	}
	s->ints = x;
}

NOIPA static void mix_floats(struct state *s, long round)
{
	double acc = s->floats;

	for (long i = 1; i <= 5000; i++)
		acc += 1.0 / (double)(round * 5000 + i);
	s->floats = acc;
}

/* One write and one read through a pipe: the data must come back. */
NOIPA static int pipe_round_trip(int fds[2], long round)
{
	long in = round, out = -1;
	ssize_t n;

	n = write(fds[1], &in, sizeof in);
	if (n != (ssize_t)sizeof in) {
		fprintf(stderr, "checksum: write: %s\n", n < 0 ? strerror(errno) : "short");
		return -1;
	}
	n = read(fds[0], &out, sizeof out);
	if (n != (ssize_t)sizeof out || out != in) {
		fprintf(stderr, "checksum: read: %s\n", n < 0 ? strerror(errno) : "bad data");
		return -1;
	}
	return 0;
}

/* The reference: the same rounds in one function, nothing else. */
NOIPA static void recompute(struct state *s, long rounds)
{
	s->ints = 1;
	s->floats = 0;
	for (long r = 0; r < rounds; r++) {
		uint64_t x = s->ints;
		double acc = s->floats;

		for (long i = 0; i < 20000; i++) {
			x ^= (uint64_t)(r + i);
			x = x * 0xff51afd7ed558ccdULL;
			x ^= x >> 33;
		}
		for (long i = 1; i <= 5000; i++)
			acc += 1.0 / (double)(r * 5000 + i);
		s->ints = x;
		s->floats = acc;
	}
}

int main(int argc, char **argv)
{
	double seconds = argc > 2 ? atof(argv[2]) : 3.0;
	struct state live = { 1, 0 }, ref;
	struct timespec nap = { 0, 100000 };
	struct sigaction sa;
	int fds[2];
	long rounds = 0;
	double end;
	FILE *f;

	if (argc < 2 || seconds <= 0) {
		fprintf(stderr, "usage: checksum READY_FILE [SECONDS]\n");
		return 2;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr2;
	sigaction(SIGUSR2, &sa, NULL);
	if (pipe(fds) != 0) {
		perror("pipe");
		return 1;
	}
	f = fopen(argv[1], "w");
	if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f) != 0) {
		perror(argv[1]);
		return 1;
	}
	end = monotonic_seconds() + seconds;
	while (!finish_now && monotonic_seconds() < end) {
		mix_integers(&live, rounds);
		mix_floats(&live, rounds);
		if (pipe_round_trip(fds, rounds) != 0)
			return 1;
		if (nanosleep(&nap, NULL) != 0 && errno != EINTR) {
			perror("nanosleep");
			return 1;
		}
		rounds++;
	}
	recompute(&ref, rounds);
	if (ref.ints != live.ints || memcmp(&ref.floats, &live.floats, sizeof ref.floats) != 0) {
		printf("checksum MISMATCH rounds %ld live %016llx %a ref %016llx %a\n", rounds,
		       (unsigned long long)live.ints, live.floats,
		       (unsigned long long)ref.ints, ref.floats);
		return 1;
	}
	printf("checksum ok rounds %ld value %016llx\n", rounds, (unsigned long long)live.ints);
	return 0;
}
