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
#include "daemon/perf-ring.h"
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
	uint64_t kernel_lost;    /* perf backend: samples the kernel dropped
	                            (a ring was full) */
	uint64_t unopened;       /* perf backend: threads whose event did not
	                            open (not sampled) */
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
	/* CPU mode through perf_event (sampler-perf.c): one ring per thread,
	 * and no interrupts. */
	int perf;
	struct pk_perf_ring *rings;
	size_t n_rings, cap_rings;
	struct pk_perf_scratch scratch;
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

/*
 * CPU mode through perf_event instead of interrupts: a cpu-clock event on
 * every thread samples it once per period of its CPU time, in the kernel,
 * with the user registers and a copy of the stack; the thread never
 * stops.  pk_sampler_round() then drains the rings.  Returns 0, or -errno
 * when this machine does not allow it (nothing changed then: the
 * interrupt sampler goes on).
 */
int pk_sampler_perf_start(struct pk_sampler *s);
/* Take the samples the rings hold (perf backend); 0 or a store error. */
int pk_sampler_perf_drain(struct pk_sampler *s);
/* Close the rings without reading them (pk_sampler_release). */
void pk_sampler_perf_close(struct pk_sampler *s);
/* A new thread of the process (perf backend: open its event). */
void pk_sampler_thread_new(struct pk_sampler *s, pid_t tid);
/* A thread is gone (perf backend: take its last samples, close). */
void pk_sampler_thread_gone(struct pk_sampler *s, pid_t tid);
/* Sampling is over: the perf backend takes what its rings hold and closes
 * them (before the process is let go).  Returns 0 or a store error. */
int pk_sampler_end(struct pk_sampler *s);
/* Record one stack taken by either backend (unwind, store). */
int pk_sampler_record(struct pk_sampler *s, pid_t tid, uint64_t time_ns, const struct user_regs_struct *regs,
		      const unsigned char *stack, size_t len, char state);

/* Unwind and record captures taken by late stops (call after
 * pk_tracer_drain).  Returns 0 or a negative store error. */
int pk_sampler_process(struct pk_sampler *s);

#endif
