/*
 * target.c - /proc inspection and pre-attach checks (see target.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/target.h"

#define PF_KTHREAD 0x00200000

long pk_clock_ticks(void)
{
	static long ticks;

	if (!ticks) {
		ticks = sysconf(_SC_CLK_TCK);
		if (ticks <= 0)
			ticks = 100;
	}
	return ticks;
}

int pk_proc_parse_stat(const char *text, struct pk_proc_stat *out)
{
	const char *open = strchr(text, '(');
	const char *close = strrchr(text, ')');
	unsigned long long utime, stime;
	unsigned long flags;
	char state;
	size_t n;

	if (!open || !close || close < open)
		return -1;
	n = (size_t)(close - open - 1);
	if (n >= sizeof(out->comm))
		n = sizeof(out->comm) - 1;
	memcpy(out->comm, open + 1, n);
	out->comm[n] = '\0';
	/* Fields after ")": state(3) ppid pgrp session tty_nr tpgid flags(9)
	 * minflt cminflt majflt cmajflt utime(14) stime(15). */
	if (sscanf(close + 1, " %c %*d %*d %*d %*d %*d %lu %*u %*u %*u %*u %llu %llu",
		   &state, &flags, &utime, &stime) != 4)
		return -1;
	out->state = state;
	out->flags = flags;
	out->utime_ticks = utime;
	out->stime_ticks = stime;
	out->processor = -1;
	/* Field 39 (processor): the 37th after the closing parenthesis. */
	{
		const char *p = close + 1;
		int field = 2, cpu;

		while (*p && field < 39) {
			if (*p == ' ')
				field++;
			p++;
		}
		if (field == 39 && sscanf(p, "%d", &cpu) == 1)
			out->processor = cpu;
	}
	return 0;
}

int pk_proc_read_stat(pid_t pid, pid_t tid, struct pk_proc_stat *out)
{
	char path[64], buf[1024];
	ssize_t n;
	int fd;

	if (tid > 0)
		snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	else
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -ESRCH;
	buf[n] = '\0';
	return pk_proc_parse_stat(buf, out) < 0 ? -EINVAL : 0;
}

pid_t pk_proc_tracer(pid_t pid)
{
	char path[64], line[256];
	FILE *f;
	long tracer = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "TracerPid: %ld", &tracer) == 1)
			break;
	fclose(f);
	return tracer < 0 ? -EINVAL : (pid_t)tracer;
}

void pk_proc_comm(pid_t pid, char *buf, size_t len)
{
	struct pk_proc_stat st;

	if (pk_proc_read_stat(pid, 0, &st) == 0)
		snprintf(buf, len, "%s", st.comm);
	else
		snprintf(buf, len, "?");
}

static int read_ptrace_scope(void)
{
	FILE *f = fopen("/proc/sys/kernel/yama/ptrace_scope", "re");
	int v = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%d", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

int pk_target_check(pid_t pid, char *msg, size_t len)
{
	struct pk_proc_stat st;
	pid_t tracer;
	int rc;

	if (pid == getpid()) {
		snprintf(msg, len, "PID %d is perfkitd itself", (int)pid);
		return -1;
	}
	rc = pk_proc_read_stat(pid, 0, &st);
	if (rc == -ENOENT || rc == -ESRCH) {
		snprintf(msg, len, "no process with PID %d; check the PID with 'ps' or 'pgrep'", (int)pid);
		return -1;
	}
	if (rc < 0) {
		snprintf(msg, len, "cannot read /proc/%d/stat: %s", (int)pid, strerror(-rc));
		return -1;
	}
	if (st.flags & PF_KTHREAD) {
		snprintf(msg, len, "PID %d ('%s') is a kernel thread; perfkitd profiles user-space "
			 "processes (use 'perf record -a' for the kernel)", (int)pid, st.comm);
		return -1;
	}
	if (st.state == 'Z' || st.state == 'X') {
		snprintf(msg, len, "PID %d ('%s') is a zombie: it has exited and waits for its parent "
			 "to reap it; there is nothing left to profile", (int)pid, st.comm);
		return -1;
	}
	tracer = pk_proc_tracer(pid);
	if (tracer > 0) {
		char comm[64];

		pk_proc_comm(tracer, comm, sizeof(comm));
		snprintf(msg, len, "PID %d ('%s') is already traced by PID %d ('%s'); a process can "
			 "have one tracer only: detach or stop that one first",
			 (int)pid, st.comm, (int)tracer, comm);
		return -1;
	}
	return 0;
}

void pk_target_explain_seize(pid_t pid, int err, char *msg, size_t len)
{
	int scope = read_ptrace_scope();
	pid_t tracer;

	if (err == ESRCH) {
		snprintf(msg, len, "cannot trace PID %d: the process exited", (int)pid);
		return;
	}
	if (err != EPERM && err != EACCES) {
		snprintf(msg, len, "cannot trace PID %d: %s", (int)pid, strerror(err));
		return;
	}
	tracer = pk_proc_tracer(pid);
	if (tracer > 0) {
		snprintf(msg, len, "cannot trace PID %d: already traced by PID %d; detach that tracer "
			 "first", (int)pid, (int)tracer);
		return;
	}
	if (geteuid() == 0) {
		snprintf(msg, len, "cannot trace PID %d: operation not permitted even as root%s; in a "
			 "container, start it with --cap-add=SYS_PTRACE", (int)pid,
			 scope == 3 ? " (kernel.yama.ptrace_scope=3 forbids all tracing until reboot)" : "");
		return;
	}
	switch (scope) {
	case 1:
		snprintf(msg, len, "cannot trace PID %d: operation not permitted; "
			 "kernel.yama.ptrace_scope=1 lets you trace only your own children: run as root "
			 "(sudo perfkitd attach %d), or set kernel.yama.ptrace_scope=0, or use 'perfkitd run'",
			 (int)pid, (int)pid);
		break;
	case 2:
		snprintf(msg, len, "cannot trace PID %d: operation not permitted; "
			 "kernel.yama.ptrace_scope=2 allows tracing by root only: run as root", (int)pid);
		break;
	case 3:
		snprintf(msg, len, "cannot trace PID %d: kernel.yama.ptrace_scope=3 forbids tracing "
			 "until reboot", (int)pid);
		break;
	default:
		snprintf(msg, len, "cannot trace PID %d: operation not permitted; the process belongs "
			 "to another user or is privileged: run as root (sudo), or set "
			 "kernel.yama.ptrace_scope=0 where Yama is in use", (int)pid);
		break;
	}
}
