/*
 * zombie.c - leaves a zombie child behind, for the "attach to a zombie"
 * error test.
 *
 *   zombie READY_FILE
 *
 * Forks a child that exits at once and never reaps it; writes the child's
 * pid to READY_FILE, then sleeps until killed (at most 60 s).  The child
 * stays a zombie (state Z) for as long as this process lives.
 */
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	pid_t child;
	FILE *f;

	if (argc != 2) {
		fprintf(stderr, "usage: zombie READY_FILE\n");
		return 2;
	}
	child = fork();
	if (child < 0) {
		perror("fork");
		return 1;
	}
	if (child == 0)
		_exit(0);
	f = fopen(argv[1], "w");
	if (!f || fprintf(f, "%d\n", (int)child) < 0 || fclose(f) != 0) {
		perror(argv[1]);
		return 1;
	}
	sleep(60);
	return 0;
}
