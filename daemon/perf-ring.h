/*
 * perf-ring.h - one thread's perf_event sampling ring: the event's
 * attributes for samples that carry the user registers and a copy of the
 * top of the user stack, the mapping, and the drain that hands each sample
 * to a callback.  Used by the CPU sampler (sampler-perf.c) and by
 * --sample-on (counters-sample.c).
 *
 * The kernel writes a sample at the moment of the event, while the thread
 * runs, without stopping it; perfkitd reads the ring whenever it likes.
 */
#ifndef PK_PERF_RING_H
#define PK_PERF_RING_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

struct perf_event_attr;

struct pk_perf_ring {
	pid_t tid;
	int fd;
	void *ring;           /* header page + data pages */
	size_t ring_len;      /* bytes mapped */
	size_t data_len;      /* data area, a power of two */
};

/* One PERF_RECORD_SAMPLE, pointing into the ring (valid in the callback). */
struct pk_perf_sample {
	uint64_t ip;
	uint64_t time_ns;     /* CLOCK_MONOTONIC */
	pid_t tid;
	int have_regs;        /* user registers present (not a kernel thread) */
	struct user_regs_struct regs;
	const unsigned char *stack;  /* copy of the stack from regs.rsp */
	size_t stack_len;
};

/* Room for the user-stack copy in one sample: at most 65528 bytes (the
 * kernel's limit), a multiple of 8. */
size_t pk_perf_stack_bytes(size_t want);

/* Attributes of a sampling event every PERIOD (events, or nanoseconds for
 * the clocks), with IP, TID, TIME (CLOCK_MONOTONIC), user registers and
 * stack_bytes of user stack.  type/config are left to the caller. */
void pk_perf_sample_attr(struct perf_event_attr *attr, uint64_t period, size_t stack_bytes);

/* Map the ring of event fd, opened on tid: room for about 512 samples of
 * stack_bytes, smaller when locked memory is short.  On failure fd is
 * closed.  Returns 0 or -errno. */
int pk_perf_ring_map(struct pk_perf_ring *r, int fd, pid_t tid, size_t stack_bytes);
void pk_perf_ring_close(struct pk_perf_ring *r);

/* Scratch space for a record that wraps around the ring's end. */
struct pk_perf_scratch {
	unsigned char *buf;
	size_t cap;
};

/* Hand every sample in the ring to fn, add records the kernel lost to
 * *lost, free the space.  Stops at fn's first negative return and returns
 * it; else 0. */
int pk_perf_ring_drain(struct pk_perf_ring *r, struct pk_perf_scratch *scratch,
		       int (*fn)(void *ctx, const struct pk_perf_sample *smp), void *ctx, uint64_t *lost);

#endif
