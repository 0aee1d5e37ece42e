/*
 * sampler.h - CPU/wall sampling of a seized process.
 *
 * At each tick every eligible thread gets a PTRACE_INTERRUPT.  Each
 * thread's stop is handled the moment it is reported: PTRACE_GETREGS, one
 * process_vm_readv of the top of the stack, PTRACE_CONT - the only time
 * the thread is stopped.  Threads are never held stopped together, and a
 * runnable thread waiting for a CPU does not hold up the others: its stop
 * is taken whenever it comes.  Unwinding and recording happen afterwards,
 * from the copies, while every thread runs.
 */
#ifndef PK_SAMPLER_H
#define PK_SAMPLER_H

#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/user.h>

#include "daemon/maps.h"
#include "daemon/recorder.h"
#include "daemon/tracer.h"
#include "daemon/unwind.h"
#include "histogram.h"

#define PK_MAX_FRAMES 1024

struct pk_sampler_stats {
	uint64_t samples;        /* samples recorded */
	uint64_t complete;       /* ... whose stack reached the outermost frame */
	uint64_t lost;           /* due, but the previous interrupt of that
	                            thread was still pending */
	uint64_t rounds;         /* sampling rounds (timer ticks) */
	uint64_t syscall_stops;  /* stops taken at a system call boundary */
	uint64_t off_cpu;        /* CPU mode: stops of threads that were
	                            waiting for a CPU when asked, not kept */
	struct pk_histogram stop_ns; /* interrupt sent -> thread resumed */
};

/* Registers and stack copied in a stop window, waiting to be unwound. */
struct pk_capture {
	pid_t tid;
	char state;
	uint64_t time_ns;        /* when the interrupt was sent */
	struct user_regs_struct regs;
	size_t len;
	unsigned char *stack;    /* stack_bytes, owned by the sampler */
};

struct pk_sampler {
	struct pk_tracer *tracer;
	struct pk_unwinder *unwinder;
	struct pk_recorder *recorder;
	int wall;                /* sample every thread, with its state */
	int event;               /* store event id of the samples */
	size_t stack_bytes;
	uint64_t start_ns;       /* CLOCK_MONOTONIC at session start */
	uint64_t period_ns;      /* 1 / frequency */
	struct pk_capture *captures;
	size_t n_captures, cap_captures;
	uint64_t ips[PK_MAX_FRAMES];
	int error;               /* first store error, 0 if none */
	int affinity_known;
	cpu_set_t own_cpus;      /* perfkitd's affinity when it started */
	cpu_set_t cur_cpus;      /* what it is now (avoid_target_cpus) */
	struct pk_sampler_stats stats;
};

/* Set up and install the tracer's on_interrupt hook; the caller owns
 * tracer, unwinder and recorder. */
void pk_sampler_init(struct pk_sampler *s, struct pk_tracer *tracer,
		     struct pk_unwinder *unwinder, struct pk_recorder *recorder,
		     int wall, int event, size_t stack_bytes, uint64_t start_ns, uint64_t period_ns);
void pk_sampler_release(struct pk_sampler *s);

/* One tick: interrupt every eligible thread, take the stops that come
 * within a short spin, then unwind and record.  Returns 0 or a negative
 * store error (the caller ends the session as aborted). */
int pk_sampler_round(struct pk_sampler *s);

/* Unwind and record captures taken by late stops (call after
 * pk_tracer_drain).  Returns 0 or a negative store error. */
int pk_sampler_process(struct pk_sampler *s);

#endif
