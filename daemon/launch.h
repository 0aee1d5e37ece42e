/*
 * launch.h - starting PROG for "perfkitd run": found like execvp does,
 * checked before anything starts, and started stopped so that it is
 * seized before it runs a single instruction of its own.
 */
#ifndef PK_LAUNCH_H
#define PK_LAUNCH_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * Find argv0 as execvp would.  Returns 0 with the full path in buf, or
 * -1 with a message in msg: not found (127) or not executable (126); the
 * exit status to use is stored in *status.
 */
int pk_launch_resolve(const char *argv0, char *buf, size_t len, char *msg, size_t msglen, int *status);

/*
 * Fork and exec path with argv, with stdin/stdout/stderr inherited and
 * the signal mask set to mask (perfkitd's mask before it blocked signals).  The child stops itself (SIGSTOP)
 * before exec; the parent waits for that stop.  Returns the child's pid
 * (stopped, not yet traced), or -errno.  *exec_fd receives the read end of
 * a close-on-exec pipe: EOF means exec succeeded, an int means exec
 * failed with that errno.
 */
pid_t pk_launch_stopped(const char *path, char **argv, const sigset_t *mask, int *exec_fd);

#endif
