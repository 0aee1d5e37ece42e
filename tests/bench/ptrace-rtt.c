/*
 * ptrace-rtt.c - the bare ptrace round trip, as a baseline for perfkitd.
 *
 *   ptrace-rtt [RATE_HZ] [COUNT] [int3]
 *
 * Forks a child that spins, seizes it, and COUNT times (default 3000), at
 * RATE_HZ (default 999), measures one stop the way a sampler must:
 * PTRACE_INTERRUPT, waitpid for the stop, PTRACE_GETREGS, PTRACE_CONT.
 * The time from before the interrupt to after the continue is the
 * target's stop window with nothing else in it.  Two ways of waiting are
 * measured: a plain blocking waitpid, and a brief WNOHANG spin before
 * blocking (what DESIGN.md recommends on VMs).  Prints
 *
 *   blocking median_us X p99_us Y
 *   spinning median_us X p99_us Y
 *
 * With "int3" it also measures the stop a breakpoint probe is built on: a
 * child executes int3 back to back (COUNT times); the tracer waits for the
 * SIGTRAP stop, reads the registers (PTRACE_GETREGS) and resumes it
 * (PTRACE_CONT), blocking in waitpid or polling with WNOHANG; the round
 * trip is the time from one stop seen to the next.  RATE_HZ does not
 * apply (the child traps as fast as it can, as a probed function called
 * in a loop does).  Where tracer and child run is the scheduler's choice
 * there, and on a VM it decides the cost (a wake-up on the other CPU
 * costs more than the rest of the round trip), so the int3 round trip is
 * also measured with both pinned to one CPU (blocking wait) and pinned to
 * two (spinning wait: the tracer never sleeps, the child's CPU does):
 * the two cases between which perfkitd's probe stops fall.  Extra lines
 * (the pinned ones only where two CPUs are allowed):
 *
 *   int3-blocking median_us X p99_us Y
 *   int3-spinning median_us X p99_us Y
 *   int3-samecpu-blocking median_us X p99_us Y
 *   int3-crosscpu-spinning median_us X p99_us Y
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Wait for the interrupt stop of pid; spin WNOHANG first when spin. */
static int wait_stop(pid_t pid, int spin)
{
	int status;
	pid_t w = 0;

	if (spin) {
		uint64_t until = now_ns() + 50000;

		while ((w = waitpid(pid, &status, __WALL | WNOHANG)) == 0 && now_ns() < until)
			;
	}
	if (w == 0)
		w = waitpid(pid, &status, __WALL);
	if (w != pid || !WIFSTOPPED(status)) {
		fprintf(stderr, "ptrace-rtt: unexpected wait result\n");
		return -1;
	}
	return 0;
}

static int measure(pid_t pid, int spin, double rate, int count, const char *label)
{
	uint64_t *stop = calloc((size_t)count, sizeof *stop);
	uint64_t period = (uint64_t)(1e9 / rate);
	struct timespec next;
	struct user_regs_struct regs;

	if (!stop)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (int i = 0; i < count; i++) {
		uint64_t t0, t1;

		next.tv_nsec += (long)period;
		while (next.tv_nsec >= 1000000000L) {
			next.tv_nsec -= 1000000000L;
			next.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
		t0 = now_ns();
		if (ptrace(PTRACE_INTERRUPT, pid, 0, 0) != 0 || wait_stop(pid, spin) != 0 ||
		    ptrace(PTRACE_GETREGS, pid, 0, &regs) != 0 || ptrace(PTRACE_CONT, pid, 0, 0) != 0) {
			fprintf(stderr, "ptrace-rtt: %s\n", strerror(errno));
			free(stop);
			return -1;
		}
		t1 = now_ns();
		stop[i] = t1 - t0;
	}
	qsort(stop, (size_t)count, sizeof *stop, compare_u64);
	printf("%s median_us %.1f p99_us %.1f\n", label, stop[count / 2] / 1e3,
	       stop[(size_t)((double)count * 0.99)] / 1e3);
	free(stop);
	return 0;
}

/* Pin the caller to one CPU (cpu >= 0) or give it back set (cpu < 0). */
static int pin(int cpu, const cpu_set_t *set)
{
	cpu_set_t one;

	if (cpu < 0)
		return sched_setaffinity(0, sizeof(*set), set);
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	return sched_setaffinity(0, sizeof(one), &one);
}

/* The int3 round trip on a child of ours that traps back to back; with
 * cpus (two CPU numbers, or NULL) the tracer runs on cpus[0] and the child
 * on cpus[1]. */
static int measure_int3(int spin, const int *cpus, int count, const char *label)
{
	cpu_set_t all;
	uint64_t *rtt = calloc((size_t)count, sizeof *rtt);
	uint64_t last = 0;
	struct user_regs_struct regs;
	int status, n = 0, rc = 0;
	pid_t child;

	if (!rtt || sched_getaffinity(0, sizeof(all), &all) != 0) {
		free(rtt);
		return -1;
	}
	if (cpus && pin(cpus[0], &all) != 0) {
		free(rtt);
		return 1;
	}
	child = fork();
	if (child < 0) {
		free(rtt);
		return -1;
	}
	if (child == 0) {
		if ((cpus && pin(cpus[1], &all) != 0) || ptrace(PTRACE_TRACEME, 0, 0, 0) != 0)
			_exit(1);
		raise(SIGSTOP);
		for (int i = 0; i <= count; i++)
			__asm__ volatile("int3");
		_exit(0);
	}
	if (waitpid(child, &status, 0) != child || !WIFSTOPPED(status))
		rc = -1;
	while (rc == 0 && n < count) {
		uint64_t now;

		if (ptrace(PTRACE_CONT, child, 0, 0) != 0 || wait_stop(child, spin) != 0 ||
		    ptrace(PTRACE_GETREGS, child, 0, &regs) != 0) {
			fprintf(stderr, "ptrace-rtt: int3: %s\n", strerror(errno));
			rc = -1;
			break;
		}
		now = now_ns();
		if (last)
			rtt[n++] = now - last;
		last = now;
	}
	kill(child, SIGKILL);
	waitpid(child, NULL, __WALL);
	if (cpus)
		pin(-1, &all);
	if (rc == 0) {
		qsort(rtt, (size_t)n, sizeof *rtt, compare_u64);
		printf("%s median_us %.1f p99_us %.1f\n", label, rtt[n / 2] / 1e3,
		       rtt[(size_t)((double)n * 0.99)] / 1e3);
	}
	free(rtt);
	return rc;
}

int main(int argc, char **argv)
{
	double rate = argc > 1 ? atof(argv[1]) : 999;
	int count = argc > 2 ? atoi(argv[2]) : 3000;
	pid_t pid;
	int rc;

	if (rate <= 0 || count < 100) {
		fprintf(stderr, "usage: ptrace-rtt [RATE_HZ] [COUNT>=100]\n");
		return 2;
	}
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		volatile uint64_t x = 0;

		for (;;)
			x = x + 1;
	}
	if (ptrace(PTRACE_SEIZE, pid, 0, 0) != 0) {
		fprintf(stderr, "ptrace-rtt: seize: %s\n", strerror(errno));
		kill(pid, SIGKILL);
		return 77;
	}
	rc = measure(pid, 0, rate, count, "blocking");
	if (rc == 0)
		rc = measure(pid, 1, rate, count, "spinning");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, __WALL);
	if (rc == 0 && argc > 3 && strcmp(argv[3], "int3") == 0) {
		cpu_set_t all;
		int cpus[2], n = 0;

		rc = measure_int3(0, NULL, count, "int3-blocking");
		if (rc == 0)
			rc = measure_int3(1, NULL, count, "int3-spinning");
		if (sched_getaffinity(0, sizeof(all), &all) == 0)
			for (int c = 0; c < CPU_SETSIZE && n < 2; c++)
				if (CPU_ISSET(c, &all))
					cpus[n++] = c;
		if (rc == 0 && n == 2) {
			int same[2] = { cpus[0], cpus[0] };

			rc = measure_int3(0, same, count, "int3-samecpu-blocking");
			if (rc == 0)
				rc = measure_int3(1, cpus, count, "int3-crosscpu-spinning");
		}
	}
	return rc == 0 ? 0 : 1;
}
