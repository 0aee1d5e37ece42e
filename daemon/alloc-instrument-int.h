/*
 * alloc-instrument-int.h - internals of perfkitd --alloc shared by
 * alloc-instrument.c (the tracer protocol: arming, traps, forks, exec,
 * windows, detach) and alloc-record.c (what each event adds: stacks,
 * per-stack and session accounting, timeline, and the results written at
 * the end).
 */
#ifndef PK_ALLOC_INSTRUMENT_INT_H
#define PK_ALLOC_INSTRUMENT_INT_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

#include "daemon/alloc-instrument.h"
#include "daemon/alloc.h"
#include "daemon/probe.h"
#include "u64map.h"

#define POINT_INTERVAL_NS 10000000ull   /* timeline resolution: 10 ms */
#define MAX_FRAMES 128
#define MAX_FREE_ADDRS 64
#define UNWIND_CACHE 64      /* entries, a power of two */

struct stack_agg {
	int64_t stack_id;
	int64_t allocs, bytes, frees, bytes_freed, live_count, live_bytes, peak_bytes;
	/* allocations not yet stored as samples: made by one thread within
	 * SAMPLE_MERGE_NS of the first (pk_ai_flush_samples) */
	int64_t pend_count, pend_bytes, pend_time;
	int32_t pend_tid;
	int listed;                   /* in alloc_inst's pending */
};

/* Allocations of one stack by one thread within this time of each other
 * become one "alloc_bytes" and one "alloc_count" sample (weights summed,
 * time the first's): the counts stay exact, a time filter can be off by
 * this much, and a loop allocating millions of times stores a few
 * thousand samples instead of two per allocation. */
#define SAMPLE_MERGE_NS 100000

/*
 * A stack already unwound, remembered with exactly what it read
 * (pk_unwind_log): the registers it read (values in regs, by libunwind's
 * numbering) and the stack-copy words (offset, value).  Unwinding reads
 * only those (when it made no remote read), so an entry with the same rip
 * and rsp whose registers and words are all the same unwinds the same
 * way: a loop allocating at one call site pays for one unwind.
 */
struct unwind_memo {
	uint64_t rip, rsp;
	int valid;
	uint32_t regs_mask;
	uint64_t regs[17];
	unsigned nw;
	uint32_t off[PK_UNWIND_LOG_MAX];
	uint64_t val[PK_UNWIND_LOG_MAX];
	uint64_t stack_id;
};

/* A chain (fn and return addresses) already made a stack id. */
#define CHAIN_CACHE 64       /* entries, a power of two */
struct chain_memo {
	uint64_t fn;
	uint64_t *ras;
	size_t n;
	uint64_t stack_id;
};

struct alloc_inst;

/*
 * A second probe backend beside the int3 engine (the jump backend,
 * daemon/alloc-jump.c): it takes the functions it can patch and leaves the
 * rest to int3, and feeds its calls to the same tracker (pk_alloc_feed_call)
 * so that the accounting below is shared.  Called by alloc-instrument.c at
 * the matching points of the tracer protocol.
 */
struct pk_ai_backend {
	/* Find the allocators and place them (every thread stopped, tid fit
	 * for an injected syscall); instead of pk_alloc_add_process, same
	 * result.  The int3 engine is armed afterwards for what is left. */
	int (*find)(struct alloc_inst *ai, pid_t tid);
	/* Hand out every event recorded so far (before an int3 event). */
	void (*drain)(struct alloc_inst *ai);
	/* Thread tid stopped with SIGTRAP: the backend's own trap?  1 when
	 * handled (resume with signal 0), else 0.  NULL: none. */
	int (*trap)(struct alloc_inst *ai, pid_t tid);
	/* Did tid execute the backend's int3 with its SIGTRAP still pending? */
	int (*trap_pending)(struct alloc_inst *ai, pid_t tid);
	void (*fork_child)(struct alloc_inst *ai, pid_t child);
	void (*exec)(struct alloc_inst *ai);           /* the image is gone */
	void (*thread_exit)(struct alloc_inst *ai, pid_t tid);
	int (*tick)(struct alloc_inst *ai, uint64_t now);
	int (*busy)(struct alloc_inst *ai);             /* records wait to be fed */
	int (*window)(struct alloc_inst *ai, int arm);  /* --alloc-sample */
	/* The time (monotonic) up to which every event has been fed: now,
	 * or earlier when records wait in a ring.  NULL: now. */
	uint64_t (*synced)(struct alloc_inst *ai, uint64_t now);
	/* every thread stopped (final detach); unmap: tids[0] is fit for an
	 * injected syscall (whether the process catches signals or not) */
	void (*detach)(struct alloc_inst *ai, const pid_t *tids, size_t n, int unmap);
	/* A stack unwound from regs and the copy (len bytes) gave ips[0..n)
	 * (complete: to the outermost frame).  NULL: nothing. */
	void (*learn)(struct alloc_inst *ai, const struct user_regs_struct *regs, const void *stack,
		      size_t len, const uint64_t *ips, int n, int complete);
	void (*finish)(struct alloc_inst *ai);          /* its statistics */
	void (*free)(struct alloc_inst *ai);
};

struct alloc_inst {
	const struct pk_options *opt;
	const struct pk_ai_backend *backend;  /* NULL: int3 only */
	void *backend_self;
	struct pk_instrument_ctx *ctx;
	struct pk_alloc *alloc;
	pid_t pid;
	int ev_bytes, ev_count;
	int store_failed;
	struct unwind_memo memo[UNWIND_CACHE];
	uint64_t memo_hits, unwinds;
	struct chain_memo chain_memo[CHAIN_CACHE];
	uint64_t chains;
	unsigned probes_placed;
	unsigned modules_read_ahead; /* pk_recorder_warm's count */

	uint64_t entry;           /* waiting for the program entry point */
	int tracing;              /* allocator probes placed */
	int armed;                /* and armed now */
	uint64_t free_addrs[MAX_FREE_ADDRS];  /* free/delete probes: no stack */
	size_t n_free_addrs;

	/* windows */
	uint64_t window_ns, period_ns;
	uint64_t armed_at, next_arm_ns, armed_total_ns, first_armed_ns;
	struct pk_alloc_window *windows;
	size_t n_windows, cap_windows;

	/* accounting over every image of the process */
	struct pk_u64map stack_index; /* stack id + 1 -> aggs index + 1 */
	struct stack_agg *aggs;
	size_t n_aggs, cap_aggs;
	size_t last_agg;              /* agg_get's last answer */
	size_t *pending;              /* aggs indices listed (pend_count > 0 or was) */
	size_t n_pending, cap_pending;
	int64_t alloc_calls, free_calls, bytes_allocated, bytes_freed;
	int64_t live_bytes, live_count, peak_bytes, unknown_frees;
	struct pk_alloc_point peak_point; /* the counts when live_bytes peaked */
	struct pk_alloc_stats earlier;  /* failed/nested/lost of earlier images */
	struct pk_probe_stats probe_earlier;

	struct pk_alloc_point *points;
	size_t n_points, cap_points;
	uint64_t last_point_ns;
	uint64_t last_event_ns;         /* monotonic time of the newest event fed */
};

/* ns since the session start of a CLOCK_MONOTONIC time. */
uint64_t pk_ai_rel_ns(const struct alloc_inst *ai, uint64_t t);
/* The tracker's hooks (struct pk_alloc_hooks), ctx = ai. */
uint64_t pk_ai_on_stack(void *ctx, pid_t tid, const struct user_regs_struct *regs,
			const void *stack, size_t stack_len);
uint64_t pk_ai_on_chain(void *ctx, uint64_t fn, const uint64_t *ras, size_t n);
void pk_ai_on_event(void *ctx, const struct pk_alloc_event *ev);
/* The process exec'd: forget memoized unwinds and the old image's blocks
 * (neither freed nor leaked). */
void pk_ai_forget_image(struct alloc_inst *ai);
/* Append a timeline point for now. */
void pk_ai_add_point(struct alloc_inst *ai, uint64_t now);
/* Store the allocations merged and not stored yet as samples (each tick,
 * and at the end). */
void pk_ai_flush_samples(struct alloc_inst *ai);
/* Write the results into the session (instrument "finish"); 0 or -1. */
int pk_ai_finish(struct alloc_inst *ai, uint64_t end);
/* Free what alloc-record.c owns in ai. */
void pk_ai_release_records(struct alloc_inst *ai);

#endif
