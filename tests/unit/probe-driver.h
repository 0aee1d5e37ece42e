/*
 * probe-driver.h - a small ptrace driver standing in for perfkitd's tracer
 * in test-probe: starts a tracee (tests/targets/), seizes it, registers
 * and arms allocator probes, runs the event loop (SIGTRAP ->
 * pk_probe_handle_trap, fork -> pk_probes_clean_child, thread exit, exec,
 * detach on request) and records the allocation events.
 */
#ifndef PK_TEST_PROBE_DRIVER_H
#define PK_TEST_PROBE_DRIVER_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include "daemon/alloc.h"
#include "daemon/probe.h"

#define MAX_TIDS 64
#define MAX_EVENTS 200000

struct tracee {
	pid_t pid;
	int in_fd, out_fd;
	char out[65536];
	size_t outlen;
	pid_t tids[MAX_TIDS];
	size_t ntids;
	int status;             /* wait status of the leader */
	int exited;
	int sigtraps_delivered; /* SIGTRAPs that were not ours */
	int forks_cleaned;
	char path[PATH_MAX];
	uint64_t exe_base;
	/* run mode: arm the allocator probes of `alloc` when the probe at the
	 * program's entry point (AT_ENTRY) hits */
	uint64_t arm_at_entry;
	struct pk_alloc *alloc;
	int armed_at_entry;     /* allocator probes armed there */
};

struct recorded {
	struct pk_alloc_event *v;
	size_t n;
	long detach_after;      /* >0: detach at the malloc entry after this
				   many counted entries */
	long entries;
	int detach_now;
	uint64_t malloc_addr;   /* malloc in the tracee's libc */
	int execs;
	int extra_go;
	long disarm_at;         /* >0: disarm at this many entries, re-arm at
				   the next interrupt stop (a sampling window) */
	int window;             /* 1 disarmed, 2 re-armed */
	long entries_at_rearm;
	long stack_ok;
	size_t max_stack_len;
};

struct module {
	char path[512];
	uint64_t base, xstart, xend;
};

extern struct recorded rec;   /* what the hooks saw, and driver requests */
extern char builddir[256];     /* the build tree holding tests/targets/ */

void pd_target_path(char *buf, size_t n, const char *name);
/* [start, end) of function name in the tracee's executable (.symtab). */
int pd_func_range(struct tracee *t, const char *name, uint64_t *start, uint64_t *end);
/* The module of pid whose path contains needle. */
int pd_find_module(pid_t pid, const char *needle, struct module *m);
/* Hooks that record into rec (stack ids count the entries). */
struct pk_alloc_hooks pd_hooks(void);
/* Start tests/targets/NAME ARGS and wait for its "ready" line. */
int pd_start(struct tracee *t, const char *name, const char *arg1, const char *arg2);
/* Start tests/targets/NAME ARG traced from its exec (PTRACE_TRACEME: it
 * stops with SIGTRAP right after execve, before the dynamic loader ran);
 * the go byte is already sent. */
int pd_spawn_traced(struct tracee *t, const char *name, const char *arg1);
/* Seize and stop it (PTRACE_INTERRUPT). */
int pd_seize(struct tracee *t);
/* Register allocators found by the test's own ELF lookup; returns count. */
int pd_add_allocators(struct tracee *t, struct pk_alloc *a);
/* Send the go byte. */
void pd_go(struct tracee *t);
/* Event loop until the leader exits (0) or a requested detach is done (1). */
int pd_run(struct tracee *t, struct pk_probes *p);
void pd_read_output(struct tracee *t, int block);
/* Start, seize, (arm,) go, run to the end; the tracker (caller frees). */
struct pk_alloc *pd_trace(struct tracee *t, const char *name, const char *a1, const char *a2,
			  int arm);
int pd_exited_ok(const struct tracee *t);

#endif
