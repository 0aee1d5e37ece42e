/*
 * tracer.c - a minimal ptrace tracer standing in for gdb or strace.
 *
 *   tracer PID READY_FILE   seize PID, write "ok" to READY_FILE, then wait
 *                           (passing the tracee's stops and signals on)
 *                           until SIGTERM; exiting detaches.
 *   tracer --check PID      seize and exit at once: exit 0 when this user
 *                           may trace PID, else print why and exit 1.
 *
 * Tests use the first form to make a process "already traced" and the
 * second to learn whether attaching is allowed here (root, Yama
 * ptrace_scope, container capabilities) before asserting anything.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	pid_t pid;
	FILE *f;

	if (argc == 3 && strcmp(argv[1], "--check") == 0) {
		pid = (pid_t)atoi(argv[2]);
		if (ptrace(PTRACE_SEIZE, pid, 0, 0) != 0) {
			printf("cannot trace %d: %s\n", (int)pid, strerror(errno));
			return 1;
		}
		return 0;
	}
	if (argc != 3) {
		fprintf(stderr, "usage: tracer PID READY_FILE | tracer --check PID\n");
		return 2;
	}
	pid = (pid_t)atoi(argv[1]);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (ptrace(PTRACE_SEIZE, pid, 0, 0) != 0) {
		fprintf(stderr, "tracer: seize %d: %s\n", (int)pid, strerror(errno));
		return 1;
	}
	f = fopen(argv[2], "w");
	if (!f || fputs("ok\n", f) < 0 || fclose(f) != 0) {
		perror(argv[2]);
		return 1;
	}
	/* Pass on what the tracee reports: signals go back in, group-stops
	 * are listened through, so it behaves as if untraced. */
	while (!stop) {
		int status;
		pid_t w = waitpid(pid, &status, __WALL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status))
			break;
		if (WIFSTOPPED(status)) {
			int sig = WSTOPSIG(status);

			if (status >> 16 == PTRACE_EVENT_STOP)
				ptrace(PTRACE_LISTEN, pid, 0, 0);
			else
				ptrace(PTRACE_CONT, pid, 0, (void *)(long)sig);
		}
	}
	return 0;
}
