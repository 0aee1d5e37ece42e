/*
 * background.c - running the recorder as a daemon (see background.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/background.h"
#include "error.h"

static int ready_fd = -1;

int pk_background_fork(void)
{
	char buf[512];
	size_t len = 0;
	int fds[2];
	pid_t pid;
	ssize_t n;

	if (pipe2(fds, O_CLOEXEC) < 0) {
		pk_perror("cannot create a pipe for --background");
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		pk_perror("cannot fork for --background");
		return 1;
	}
	if (pid == 0) {
		close(fds[0]);
		ready_fd = fds[1];
		return -1;
	}
	close(fds[1]);
	while (len < sizeof(buf) - 1 && (n = read(fds[0], buf + len, sizeof(buf) - 1 - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		len += (size_t)n;
	}
	close(fds[0]);
	buf[len] = '\0';
	if (!len) {
		int status;

		/* The child failed and said why on stderr; reap it. */
		waitpid(pid, &status, 0);
		return 1;
	}
	fputs(buf, stdout);
	fflush(stdout);
	return 0;
}

void pk_background_ready(const char *session_name, const char *log_path)
{
	int fd;

	if (ready_fd < 0)
		return;
	setsid();
	fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd >= 0) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		close(fd);
	}
	/* Tell the parent last: once it exits, the terminal may close. */
	dprintf(ready_fd, "%s\n", session_name);
	close(ready_fd);
	ready_fd = -1;
	pk_info("recording session '%s' in the background (pid %d)", session_name, (int)getpid());
}
