/*
 * jprobe-driver.h - a small ptrace driver standing in for perfkitd around
 * the jump-probe engine (daemon/jprobe.h), for test-jprobe and the
 * jprobe benchmark: start a tracee and wait for its "ready" line, seize
 * it, register libc's allocators, arm with every thread stopped, run the
 * event loop while draining the ring, stop everything and detach on
 * request.  No CUnit in here: callers assert on what it returns.
 */
#ifndef PK_TEST_JPROBE_DRIVER_H
#define PK_TEST_JPROBE_DRIVER_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include "daemon/jprobe.h"
#include "daemon/probe.h"

#define JD_MAX_TIDS 64
#define JD_DEADLINE_S 120           /* jd_run kills a tracee running longer */

struct jd_target {
	pid_t pid;
	int in_fd, out_fd;
	char out[65536];
	size_t outlen;
	pid_t tids[JD_MAX_TIDS];
	size_t ntids;
	int status;                 /* wait status of the leader */
	int exited;
	int forks;                  /* fork children seen (detached) */
	char path[PATH_MAX];
	uint64_t exe_base;
};

/* Probe ids of the allocators (-1 when absent). */
enum jd_fn { JD_MALLOC, JD_FREE, JD_CALLOC, JD_REALLOC, JD_POSIX_MEMALIGN, JD_MEMALIGN,
	     JD_VALLOC, JD_PVALLOC, JD_REALLOCARRAY, JD_NFN };
extern const char *const jd_fn_names[JD_NFN];

struct jd_run_opts {
	long detach_after;          /* > 0: stop all, detach after this many
				       drained events */
	uint8_t before[JD_NFN][32]; /* detach: the bytes at each allocator */
	uint8_t after[JD_NFN][32];  /* before arm and after detach */
	int drain_at_end;           /* drain only once the leader exited */
	struct pk_probes *int3;     /* the int3 engine holding the functions
				       the jump backend refused, or NULL:
				       its SIGTRAPs go to pk_probe_handle_trap */
	int (*trap)(pid_t tid);     /* trap mode: a SIGTRAP stop first goes
				       here; 1 when it was a detour's */
	int detach_err;
	int detached;
};

/* Start path with up to two arguments; wait for "ready".  0 / -1. */
int jd_start(struct jd_target *t, const char *path, const char *a1, const char *a2);
/* Seize (clone/fork/vfork/exit events) and stop the leader.  0 / -1. */
int jd_seize(struct jd_target *t);
/* Register libc's allocators; ids[fn] = probe id.  Returns the number
 * registered (aliases count once) or -1. */
int jd_add_allocators(struct jd_target *t, struct pk_jprobes *j, int ids[JD_NFN]);
/* [start, end) of a function of the tracee's executable. */
int jd_func_range(struct jd_target *t, const char *name, uint64_t *start, uint64_t *end);
/* Send the go byte. */
void jd_go(struct jd_target *t);
/* Event loop, draining into cb, until the leader exits (0) or a requested
 * detach is done (1); -1 on error.  A tracee still running after
 * JD_DEADLINE_S seconds is killed (its exit status then says so). */
int jd_run(struct jd_target *t, struct pk_jprobes *j, pk_jprobe_callback cb, void *ctx,
	   struct jd_run_opts *o);
/* Read what the tracee wrote (block: until EOF). */
void jd_read_output(struct jd_target *t, int block);
/* Read n bytes of the tracee's memory. */
int jd_peek(pid_t pid, uint64_t addr, void *buf, size_t n);

#endif
