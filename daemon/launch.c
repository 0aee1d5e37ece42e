/*
 * launch.c - starting the program for run mode (see launch.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/launch.h"

static int check_file(const char *path, int *err)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		/* An unsearchable PATH directory hides the file: not found. */
		*err = errno == EACCES || errno == ENOTDIR ? ENOENT : errno;
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		*err = EISDIR;
		return -1;
	}
	if (access(path, X_OK) < 0) {
		*err = errno;
		return -1;
	}
	return 0;
}

int pk_launch_resolve(const char *argv0, char *buf, size_t len, char *msg, size_t msglen, int *status)
{
	const char *path = getenv("PATH");
	int err = ENOENT, found_noexec = 0;

	if (strchr(argv0, '/')) {
		snprintf(buf, len, "%s", argv0);
		if (check_file(buf, &err) == 0)
			return 0;
	} else {
		const char *p = path && *path ? path : "/usr/local/bin:/usr/bin:/bin";

		while (*p) {
			const char *colon = strchr(p, ':');
			size_t n = colon ? (size_t)(colon - p) : strlen(p);
			int e;

			snprintf(buf, len, "%.*s%s%s", (int)n, p, n ? "/" : "", argv0);
			if (check_file(buf, &e) == 0)
				return 0;
			if (e == EACCES || e == EISDIR) {
				found_noexec = 1;
				err = e;
			}
			p += n + (colon ? 1 : 0);
			if (!colon)
				break;
		}
		if (!found_noexec) {
			snprintf(msg, msglen, "cannot run '%s': command not found in PATH; give a path "
				 "(./%s) or check the name", argv0, argv0);
			*status = 127;
			return -1;
		}
	}
	if (err == ENOENT) {
		snprintf(msg, msglen, "cannot run '%s': no such file", argv0);
		*status = 127;
	} else if (err == EACCES || err == EISDIR) {
		snprintf(msg, msglen, "cannot run '%s': %s; make it executable (chmod +x) or run it "
			 "through its interpreter", argv0, err == EISDIR ? "it is a directory" : "permission denied (not executable)");
		*status = 126;
	} else {
		snprintf(msg, msglen, "cannot run '%s': %s", argv0, strerror(err));
		*status = 126;
	}
	return -1;
}

pid_t pk_launch_stopped(const char *path, char **argv, const sigset_t *mask, int *exec_fd)
{
	int fds[2], status;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(fds[0]);
		close(fds[1]);
		return -e;
	}
	if (pid == 0) {
		int e;

		/* perfkitd changes no disposition; only its mask is restored. */
		close(fds[0]);
		sigprocmask(SIG_SETMASK, mask, NULL);
		raise(SIGSTOP);
		execv(path, argv);
		e = errno;
		if (write(fds[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(fds[1]);
	while (waitpid(pid, &status, WUNTRACED) < 0) {
		if (errno != EINTR) {
			int e = errno;

			close(fds[0]);
			return -e;
		}
	}
	if (!WIFSTOPPED(status)) {
		close(fds[0]);
		return -ECHILD;
	}
	*exec_fd = fds[0];
	return pid;
}
