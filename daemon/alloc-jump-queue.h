/*
 * alloc-jump-queue.h - the jump backend's records between the ring and
 * the tracker: the drain thread fills a stage (records and their stacks),
 * the main loop queues whole stages (no copy) and feeds them in the order
 * of their keys, holding back the newest (daemon/alloc-jump.c).
 */
#ifndef PK_ALLOC_JUMP_QUEUE_H
#define PK_ALLOC_JUMP_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/jprobe.h"

/* A record taken from the ring (its stack, slice or chain, in its stage's
 * arena). */
struct held {
	struct pk_jprobe_event ev;
	uint64_t key;                /* its place in ring order */
	uint64_t order;              /* the order it was staged in, for equal keys */
	size_t stack_off;
	int64_t stack_id;            /* found at a trap already, else -1 */
};

struct stage {
	struct held *v;
	size_t n, cap;
	uint8_t *arena;
	size_t narena, caparena;
	size_t start;                /* v[start..n) not fed yet */
	int unsorted;                /* a key below its predecessor's */
};

struct held_queue {
	struct stage *q;             /* oldest first, together in key order */
	size_t n, cap;
	struct stage *spare;         /* emptied stages, their memory kept */
	size_t nspare, capspare;
};

/* Append a copy of ev (stack included) to st; the new record. */
struct held *pk_hq_put(struct stage *st, const struct pk_jprobe_event *ev, uint64_t key,
		       uint64_t order);
/* An empty stage, with the memory of one fed before when there is one. */
struct stage pk_hq_fresh(struct held_queue *hq);
/* Queue st (taken: sorted here, and merged with the queue when its
 * first key is below the last one queued).  Returns its record count. */
size_t pk_hq_push(struct held_queue *hq, struct stage *st);
/* Bytes of records (and stacks) queued, not fed. */
size_t pk_hq_bytes(const struct held_queue *hq);
int pk_hq_empty(const struct held_queue *hq);
/*
 * Hand the queued records to fn in key order, oldest first.  fn returns
 * nonzero to stop after that record (the rest stays queued).
 */
typedef int (*pk_hq_fn)(void *ctx, const struct held *h, uint8_t *stack);
void pk_hq_feed(struct held_queue *hq, pk_hq_fn fn, void *ctx);
void pk_hq_free(struct held_queue *hq);

#endif
