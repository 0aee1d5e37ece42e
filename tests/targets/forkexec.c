/*
 * forkexec.c - a tracee that forks, execs children and then execs itself.
 *
 *   forkexec PROG
 *
 * Stage 1: burns CPU in before_exec(); forks a child that execs PROG (for
 * instance /bin/true) and checks that it exits 0; forks a child that
 * burns CPU in child_work() and exits 5, and checks that status; then
 * execs itself as "forkexec --stage2".  Stage 2 burns CPU in
 * after_exec(), prints "forkexec ok" and exits 0.
 *
 * A profiler that follows exec must attribute samples to both
 * before_exec and after_exec (symbols reloaded after exec), and the
 * children must run to completion whether they are followed or not.
 * Any unexpected status makes it print the reason and exit 1.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NOIPA __attribute__((noipa))

static double thread_cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline __attribute__((always_inline)) uint64_t burn(double seconds, uint64_t k)
{
	double end = thread_cpu_seconds() + seconds;
	uint64_t x = 1;

	do {
		for (long i = 0; i < 60000; i++) {
			x = x * 6364136223846793005ULL + k;
			__asm__ volatile("" : "+r"(x));
		}
	} while (thread_cpu_seconds() < end);
	return x;
}

NOIPA static uint64_t before_exec(void)
{
	return burn(0.4, 11);
}

NOIPA static uint64_t child_work(void)
{
	return burn(0.1, 13);
}

NOIPA static uint64_t after_exec(void)
{
	return burn(0.4, 17);
}

/* Wait for pid; 0 when it exited with status want. */
static int expect_exit(pid_t pid, int want, const char *what)
{
	int status;

	if (waitpid(pid, &status, 0) != pid) {
		perror("waitpid");
		return -1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != want) {
		printf("forkexec: %s: status 0x%x, expected exit %d\n", what, status, want);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	pid_t pid;

	if (argc == 2 && strcmp(argv[1], "--stage2") == 0) {
		after_exec();
		printf("forkexec ok\n");
		return 0;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: forkexec PROG\n");
		return 2;
	}
	before_exec();
	fflush(stdout);

	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		execl(argv[1], argv[1], (char *)NULL);
		_exit(127);
	}
	if (expect_exit(pid, 0, argv[1]) != 0)
		return 1;

	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		child_work();
		_exit(5);
	}
	if (expect_exit(pid, 5, "child_work") != 0)
		return 1;

	execl("/proc/self/exe", argv[0], "--stage2", (char *)NULL);
	perror("exec /proc/self/exe");
	return 1;
}
