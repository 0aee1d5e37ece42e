/*
 * target.h - what /proc says about a process, and the checks made before
 * perfkitd touches it, so that every refusal names its cause and the way
 * out and leaves the process untouched.
 */
#ifndef PK_TARGET_H
#define PK_TARGET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct pk_proc_stat {
	char state;            /* R, S, D, T, t, Z, X, ... */
	unsigned long flags;   /* PF_* */
	uint64_t utime_ticks;  /* user CPU, clock ticks */
	uint64_t stime_ticks;  /* system CPU, clock ticks */
	int processor;         /* CPU it last ran on, -1 when unknown */
	char comm[64];
};

/* Read /proc/PID/stat (or /proc/PID/task/TID/stat when tid > 0).
 * 0 or -errno. */
int pk_proc_read_stat(pid_t pid, pid_t tid, struct pk_proc_stat *out);

/* Parse the text of a stat file (exposed for fast re-reads through an
 * open descriptor).  0 or -1. */
int pk_proc_parse_stat(const char *text, struct pk_proc_stat *out);

/* TracerPid from /proc/PID/status: 0 when untraced, -errno on error. */
pid_t pk_proc_tracer(pid_t pid);

/* The process's comm name into buf ("?" when unknown). */
void pk_proc_comm(pid_t pid, char *buf, size_t len);

/*
 * Check that pid can be attached to.  Returns 0, or -1 with a message in
 * msg naming the cause and what to do (no such process, zombie, kernel
 * thread, already traced, perfkitd itself).
 */
int pk_target_check(pid_t pid, char *msg, size_t len);

/*
 * Explain a failed PTRACE_SEIZE (errno err) of pid in msg: permission
 * (Yama ptrace_scope, root, CAP_SYS_PTRACE in containers), gone, traced.
 */
void pk_target_explain_seize(pid_t pid, int err, char *msg, size_t len);

/* Clock ticks per second (sysconf(_SC_CLK_TCK)). */
long pk_clock_ticks(void);

#endif
