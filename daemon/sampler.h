/*
 * sampler.h - one sampling round: for each thread to sample, the short
 * stop window (PTRACE_INTERRUPT, wait, PTRACE_GETREGS, one
 * process_vm_readv of the top of the stack, PTRACE_CONT), then unwinding
 * from the copy while the thread runs again, and recording the stack.
 */
#ifndef PK_SAMPLER_H
#define PK_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/maps.h"
#include "daemon/recorder.h"
#include "daemon/tracer.h"
#include "daemon/unwind.h"
#include "histogram.h"

#define PK_MAX_FRAMES 1024

struct pk_sampler_stats {
	uint64_t samples;        /* samples recorded */
	uint64_t complete;       /* ... whose stack reached the outermost frame */
	uint64_t lost;           /* a running thread that could not be stopped in time */
	uint64_t rounds;         /* sampling rounds (timer ticks) */
	struct pk_histogram stop_ns; /* target stop time per sample */
};

struct pk_sampler {
	struct pk_tracer *tracer;
	struct pk_maps *maps;
	struct pk_unwinder *unwinder;
	struct pk_recorder *recorder;
	int wall;                /* sample every thread, with its state */
	int event;               /* store event id of the samples */
	size_t stack_bytes;
	uint64_t start_ns;       /* CLOCK_MONOTONIC at session start */
	unsigned char *stack;    /* copy buffer, stack_bytes */
	uint64_t ips[PK_MAX_FRAMES];
	struct pk_sampler_stats stats;
};

/* Set up; the caller owns tracer, maps, unwinder and recorder. */
void pk_sampler_init(struct pk_sampler *s, struct pk_tracer *tracer, struct pk_maps *maps,
		     struct pk_unwinder *unwinder, struct pk_recorder *recorder,
		     int wall, int event, size_t stack_bytes, uint64_t start_ns);
void pk_sampler_release(struct pk_sampler *s);

/* Sample every eligible thread once.  Returns 0 or a negative store
 * error (the caller ends the session as aborted). */
int pk_sampler_round(struct pk_sampler *s);

#endif
