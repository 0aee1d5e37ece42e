/*
 * alloc-jump.c - the jump backend of perfkitd --alloc (--probe-backend
 * jump, or auto): the allocators are patched with jumps to detours
 * (daemon/jprobe.h) that write each call into a ring shared with
 * perfkitd, and the int3 engine of alloc-instrument.c keeps only what the
 * jump engine refuses, function by function, stated in the session
 * ("alloc_jump_fallbacks") and on stderr.
 *
 * Every call the ring hands out is fed to the same tracker as an int3
 * entry and return (pk_alloc_feed_call), so sessions, reports and JSON are
 * those of the int3 backend.  What differs, and how it is handled:
 *
 *   nesting   only the outermost allocator call of a thread counts.  The
 *             jump engine marks a call nested when its return address lies
 *             in a probed function or in a detour (realloc -> malloc inside
 *             libc, a tail jump out of realloc into malloc, a C++
 *             delete wrapper that calls free); the detours count such calls in the ring's header
 *             instead of recording them (count_nested: the tracker would
 *             only count them).  A signal handler's call returns into the
 *             handler and counts.  No per-thread state in the target.  operator new may throw: its detour records
 *             its entry only and leaves no frame behind
 *             (PK_JPROBE_ENTRY_ONLY, not a nesting function); its inner
 *             malloc, a later record of the same thread, is matched to
 *             new's entry by the tracker's per-thread marker.  The ring
 *             is drained before every int3 event.
 *   order     an allocation is recorded after its return, a free at its
 *             entry, before the call (PK_JPROBE_RECORD_ENTRY): each
 *             before its block can reach another thread, so the ring's
 *             order is the order in which blocks change hands (recorded
 *             at the free's return, a block could be taken by another
 *             thread's malloc first).  Batches are fed in ring order;
 *             a trapped call goes after the records reserved before
 *             perfkitd took it (its thread stopped meanwhile).
 *   threads   a fork child inherits the patches and the ring: it is
 *             cleaned like the int3 child, and records of threads that are
 *             not the target's (a child before it is cleaned) are counted
 *             and dropped ("alloc_jump_foreign_events").
 *   stacks    each record carries the callee-saved registers and either
 *             the return addresses its detour walked through the site
 *             table (jump_learn fills it from the stacks unwound here,
 *             daemon/unwind-rule.c gives the rules), taken as the stack
 *             (pk_ai_on_chain), or, when the walk met a frame the table
 *             lacks, a slice of the stack at entry, which the session's
 *             unwinder unwinds as it does the int3 engine's stack copy
 *             (frames beyond the slice are read from the live stack, as
 *             for int3 beyond its copy).
 *   drops     jump: a full ring drops events in the target (counted
 *             there, never blocking); shown as "alloc_ring_drops" and on
 *             stderr.  trap (the default): a call whose record cannot be
 *             whole (the ring full, or a stack deeper than the slice)
 *             stops at its detour's int3 instead (PK_JPROBE_TRAP_SLOW),
 *             a full ring after FULL_WAIT_US of waiting for room (with
 *             perfkitd on another CPU); jump_trap takes it from the
 *             stopped thread into the records, and with the ring full
 *             feeds what was taken before the thread goes on: the
 *             producers wait for perfkitd.
 *   draining  a thread of perfkitd empties the ring into memory while the
 *             target runs (up to STAGE_LIMIT bytes of records; not in
 *             trap mode on fewer than 3 CPUs: drain_thread_pays); the
 *             main loop's tick, an int3 event, a thread's exit, exec,
 *             detach and the end feed what it took to the tracker, in
 *             order (daemon/alloc-jump-queue.c).  Feeding (accounting,
 *             storing) runs at about eight million events a second here
 *             (work4 in trap mode, 2 CPUs): a program allocating faster
 *             than that for long fills the ring, and drops (jump) or
 *             waits (trap).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <time.h>

#include "daemon/alloc-jump.h"
#include "daemon/alloc-jump-queue.h"
#include "daemon/alloc-instrument-int.h"
#include "daemon/demangle.h"
#include "daemon/jprobe.h"
#include "error.h"
#include "util.h"

#define JUMP_STACK_BYTES 512u    /* stack slice per record: the engine's default */
#define JUMP_RING_SLOTS 65536u
#define EXACT_RING_SLOTS 4096u   /* trap (exact) mode: the drain thread empties it; 5.5 MiB
				   resident in the target, up to 33 MiB more as
				   slices come (2048: 10-20% slower) */
#define EXACT_STACK_BYTES 8192u  /* its slice: a deeper stack takes the trap */
#define STOP_TIMEOUT_NS 3000000000ull
#define DRAIN_CHUNK 4096
#define SITE_ENTRIES 65536u      /* the site table: 1 MiB */
#define STAGE_LIMIT (64u << 20)   /* bytes of records (and slices) taken and not
				     fed at most: memory, and the time one feed
				     holds the main loop */
#define DRAIN_PAUSE_NS 200000     /* the drain thread's nap when the ring is empty */
#define FULL_WAIT_US 100u         /* trap mode: a full ring is waited for so long
				     (perfkitd frees a batch in about 20 us) */
#define FEED_BUDGET_NS 20000000ull /* feeding per tick, then the main loop goes on */
#define ACTIVE_NS 20000000ull     /* records came this fast this lately: more will */
#define BUSY_RECORDS 16u          /* ... this fast: so many a nap (160,000 a second;
				     slower, the ring lasts several timer periods) */

struct jfn {
	int fn;                      /* enum pk_alloc_fn, -1 unused */
	uint64_t mod_start, mod_end;
	int noted;                   /* a free's address told to the tracker */
};

/* An executable mapping of the target (for canonical stack slices). */
struct code_range {
	uint64_t start, end;
};

/*
 * The canonical slice last made at one rip and sp, and where its kept
 * words are: a new slice whose words at those places are the same unwinds
 * the same way (the return addresses and frame pointers there decide which
 * slots the unwinder reads), so it gets the same canonical slice without
 * looking at every word.
 */
#define SLICE_MEMO 64
struct slice_memo {
	uint64_t rip, rsp, rbp;
	size_t len;
	uint16_t *pos;               /* word indexes kept */
	size_t npos;
	uint8_t *canon;
};

/* A call taken at a trap, waiting until the ring's records reserved
 * before it (its thread's own earlier calls among them) are taken. */
struct parked {
	struct pk_jprobe_event ev;
	int64_t stack_id;
	uint64_t time_ns;
	uint64_t after;              /* the ring's head at the trap */
};

struct alloc_jump {
	struct pk_jprobes *j;        /* NULL: not started, or unusable */
	int unusable;                /* this image: int3 for everything */
	struct jfn *fns;             /* by jprobe id */
	size_t nfns;
	int armed;
	int retry;                   /* a probe was skipped for this arm only */
	struct pk_u64map gone;       /* tids of exited threads (+1) */

	struct held_queue hq;        /* taken from the ring, not fed */
	uint64_t order;
	uint64_t pos_base;           /* ring positions of the engines before this one */
	/* the drain thread: it empties the ring into `in` while the target
	 * runs (the main loop's tick may come only every 250 ms); mu guards
	 * the ring's consumer side, `in`, and order */
	pthread_t thread;
	int thread_on;
	uint64_t busy_events, busy_ns, active_ns; /* jump_busy's last look, and when
						     records last came fast */
	int stop;
	pthread_mutex_t mu;
	struct stage in;             /* the drain thread's */
	struct parked *parked;       /* trapped calls waiting for the ring */
	size_t nparked, capparked;
	size_t backlog;              /* bytes of records taken, not yet fed */
	struct code_range *code;     /* sorted, from the session's maps */
	size_t ncode;
	const struct pk_mapping *code_of;  /* maps array they came from */
	size_t code_of_n;
	struct slice_memo memo[SLICE_MEMO];
	/* the image's memory map, for the records still in the ring when the
	 * process execs (the session's maps are the new image's by then) */
	struct pk_maps image_maps;
	unsigned image_gen;          /* of the session's maps it follows */

	/* trap mode (--probe-backend trap, auto): a call the ring cannot
	 * take whole stops its thread instead of being dropped */
	int trap;
	uint8_t *trap_stack;         /* the stopped thread's stack copy */
	size_t trap_stack_len;
	uint64_t trap_stops, trap_ns;

	/* walked stacks: the detours walk through a site table that this
	 * learns from the stacks it unwinds (PERFKIT_ALLOC_WALK=off: slices) */
	int walk;
	uint64_t learned, unlearnable, chains, voids, sites, known, memo_hits;

	pid_t own_tid;               /* a thread of the tracer's, last seen */
	struct user_regs_struct regs; /* feed_event's: only its fields set */

	/* over every image */
	uint64_t events, foreign, drops, patched, fallbacks;
	int ring_left;               /* the ring is still mapped in the target */
};

static struct alloc_jump *aj_of(struct alloc_inst *ai)
{
	return ai->backend_self;
}

/* ---- placing ----------------------------------------------------------- */

static void start_drain_thread(struct alloc_jump *aj);

static int place(void *ctx, const char *name, int fn, uint64_t addr, uint64_t size,
		 uint64_t mod_start, uint64_t mod_end)
{
	struct alloc_jump *aj = ctx;
	unsigned flags = 0;
	int id;

	if (fn == PK_ALLOC_NEW)
		/* it may throw: recorded at its entry, with its stack, by a
		 * detour that leaves no frame behind; the malloc it makes is
		 * recorded too and takes the attribution (alloc.c's marker) */
		flags |= PK_JPROBE_MAY_THROW | PK_JPROBE_ENTRY_ONLY;
	if (fn == PK_ALLOC_POSIX_MEMALIGN)
		flags |= PK_JPROBE_OUT_ARG0 | PK_JPROBE_ARG2;
	if (fn == PK_ALLOC_REALLOCARRAY)
		flags |= PK_JPROBE_ARG2;
	if (fn == PK_ALLOC_FREE || fn == PK_ALLOC_DELETE)
		/* recorded before the block can go to another thread: the
		 * ring's order is the order in which blocks change hands; its
		 * stack is not unwound */
		flags |= PK_JPROBE_RECORD_ENTRY | PK_JPROBE_NO_STACK;
	if (aj->trap) /* no drop: a call stops when its record cannot be whole */
		flags |= PK_JPROBE_TRAP_SLOW;
	/* a record's time from the clock perfkitd publishes at every turn
	 * of its loops (jump_busy, the drain thread's, every drain), not an
	 * rdtsc per call */
	flags |= PK_JPROBE_COARSE_TIME;
	id = pk_jprobe_add(aj->j, addr, size, name, flags);
	if (id < 0)
		return 0; /* out of memory: int3 takes it */
	if ((size_t)id >= aj->nfns) {
		size_t n = (size_t)id + 1;

		aj->fns = pk_xrealloc(aj->fns, n * sizeof(*aj->fns));
		for (size_t i = aj->nfns; i < n; i++)
			aj->fns[i].fn = -1;
		aj->nfns = n;
	}
	if (aj->fns[id].fn < 0)
		aj->fns[id] = (struct jfn){ fn, mod_start, mod_end };
	return 1; /* an alias of a taken address is taken too */
}

/* Every thread of the tracer, first (tid first, fit for injection). */
static pid_t *thread_list(struct alloc_inst *ai, pid_t first, size_t *n)
{
	struct pk_tracer *t = ai->ctx->tracer;
	pid_t *v = pk_xcalloc(t->n_threads + 1, sizeof(*v));
	size_t k = 0;

	if (first > 0)
		v[k++] = first;
	for (size_t i = 0; i < t->n_threads; i++)
		if (t->threads[i].tid != first && t->threads[i].stopped && !t->threads[i].foreign)
			v[k++] = t->threads[i].tid;
	*n = k;
	return v;
}

static void note_refusals(struct alloc_inst *ai, struct alloc_jump *aj)
{
	struct pk_jprobe_stats st;

	pk_jprobes_stats(aj->j, &st);
	if (st.patched > aj->patched)
		aj->patched = st.patched;
	aj->retry = 0;
	for (int id = 0; id < pk_jprobe_count(aj->j); id++) {
		const char *why = pk_jprobe_refusal(aj->j, id);

		if (!why)
			continue;
		if (strstr(why, "stopped inside")) {
			aj->retry = 1; /* tried again at the next tick */
			continue;
		}
		if ((size_t)id >= aj->nfns || aj->fns[id].fn < 0)
			continue;
		/* per function: the int3 engine takes it */
		if (pk_alloc_add_function(ai->alloc, pk_jprobe_name(aj->j, id), pk_jprobe_address(aj->j, id),
					  aj->fns[id].mod_start, aj->fns[id].mod_end) > 0) {
			char *readable = pk_demangle(pk_jprobe_name(aj->j, id));

			aj->fallbacks++;
			pk_info("alloc: %s: int3 (%s)", readable ? readable : pk_jprobe_name(aj->j, id), why);
			free(readable);
		}
		aj->fns[id].fn = -1; /* no jump events from it */
	}
}

/* The engine cannot be used in this image: int3 for every function. */
static void give_all_to_int3(struct alloc_inst *ai, struct alloc_jump *aj, const pid_t *tids,
			     size_t n, int err)
{
	pk_info("alloc: the jump backend cannot be used in PID %d (%s): int3 probes for every allocator",
		(int)ai->pid, err == -EAGAIN ? "no thread pointer yet: a static program" : strerror(-err));
	if (n)
		pk_jprobes_detach(aj->j, tids, n, 0); /* restores whatever was patched */
	for (int id = 0; id < pk_jprobe_count(aj->j); id++)
		if ((size_t)id < aj->nfns && aj->fns[id].fn >= 0 &&
		    pk_alloc_add_function(ai->alloc, pk_jprobe_name(aj->j, id), pk_jprobe_address(aj->j, id),
					  aj->fns[id].mod_start, aj->fns[id].mod_end) > 0)
			aj->fallbacks++;
	pk_jprobes_free(aj->j); /* the detour pages, if any, stay unused */
	aj->j = NULL;
	aj->nfns = 0;
	aj->unusable = 1;
}

/* Keep image_maps the process's map of now (when the session's changed). */
static void follow_image_maps(struct alloc_inst *ai, struct alloc_jump *aj)
{
	if (aj->image_maps.v && aj->image_gen == ai->ctx->maps->generation)
		return;
	if (pk_maps_load(&aj->image_maps, ai->pid) == 0)
		aj->image_gen = ai->ctx->maps->generation;
}


/* pk_unwind_resolver for the session's unwinder: a pc in a detour. */
static int resolve_detour(void *ctx, uint64_t pc, uint64_t sp, uint64_t *ret_slot, uint64_t *leaf_fn)
{
	const struct alloc_jump *aj = ctx;
	uint64_t best = 0;
	int id = -1;

	if (!aj->j || !pk_jprobes_in_detour(aj->j, pc))
		return 0;
	if (!pk_jprobes_detour_frame(aj->j, pc, sp, ret_slot))
		*ret_slot = 0; /* in a relocated copy: whose frame is unknown */
	for (int i = 0; i < pk_jprobe_count(aj->j); i++) {
		uint64_t d = pk_jprobe_detour(aj->j, i);

		if (d && d <= pc && d >= best)
			best = d, id = i;
	}
	*leaf_fn = id >= 0 ? pk_jprobe_address(aj->j, id) : pc;
	return 1;
}

/* The CPUs perfkitd may run on (0: unknown). */
static int cpus_to_run(void)
{
	cpu_set_t cpus;

	return sched_getaffinity(0, sizeof(cpus), &cpus) == 0 ? CPU_COUNT(&cpus) : 0;
}

static int jump_find(struct alloc_inst *ai, pid_t tid)
{
	struct alloc_jump *aj = aj_of(ai);
	struct pk_jprobe_config cfg = { JUMP_RING_SLOTS, JUMP_STACK_BYTES };
	pid_t *tids;
	size_t nt;
	int n, rc;

	if (ai->opt->stack_bytes && ai->opt->stack_bytes < cfg.stack_bytes)
		cfg.stack_bytes = (unsigned)ai->opt->stack_bytes;
	if (aj->trap) {
		/* a stack deeper than the slice stops its thread (the tracer
		 * copies trap_stack_len bytes and unwinds the live stack), so
		 * the slice covers the common depth; the drain thread keeps
		 * the ring short, and a full one stops its producers */
		cfg.ring_slots = EXACT_RING_SLOTS;
		cfg.stack_bytes = EXACT_STACK_BYTES;
		/* a producer may spin for room while perfkitd runs on another CPU */
		cfg.full_wait_us = cpus_to_run() >= 2 ? FULL_WAIT_US : 0;
		if (aj->trap_stack_len < cfg.stack_bytes)
			cfg.stack_bytes = (unsigned)aj->trap_stack_len;
	}
	if (aj->walk) {
		/* records carry the return addresses the detour walks through
		 * the site table, once it knows every frame of the stack; a
		 * chain as deep as the unwinder goes is truncated as it would be */
		cfg.sites = SITE_ENTRIES;
		cfg.walk_max = cfg.stack_bytes / 8 < MAX_FRAMES - 1 ? cfg.stack_bytes / 8 : MAX_FRAMES - 1;
		cfg.walk_trunc = cfg.walk_max == MAX_FRAMES - 1;
	}
	cfg.count_nested = 1; /* the tracker would only count them */
	if (!aj->j && !aj->unusable) {
		aj->j = pk_jprobes_new(ai->pid, &cfg);
		if (!aj->j)
			aj->unusable = 1;
		else /* samples taken in a detour unwind through it */
			pk_unwinder_set_resolver(ai->ctx->unwinder, resolve_detour, aj);
	}
	if (!aj->j)
		return pk_alloc_add_process(ai->alloc, ai->pid);
	pk_alloc_set_placer(ai->alloc, place, aj);
	n = pk_alloc_add_process(ai->alloc, ai->pid);
	pk_alloc_set_placer(ai->alloc, NULL, NULL);
	if (n <= 0)
		return n;
	tids = thread_list(ai, tid, &nt);
	rc = pk_jprobes_arm(aj->j, tids, nt);
	if (rc < 0) {
		give_all_to_int3(ai, aj, tids, nt, rc);
	} else {
		aj->armed = 1;
		note_refusals(ai, aj);
		follow_image_maps(ai, aj);
		start_drain_thread(aj);
	}
	free(tids);
	return n;
}

/* Stop every thread, arm or disarm, resume.  0 or -1 (reported). */
static int rearm(struct alloc_inst *ai, struct alloc_jump *aj, int arm)
{
	struct pk_tracer *t = ai->ctx->tracer;
	pid_t *tids;
	size_t nt;
	int rc;

	if (pk_tracer_stop_all(t, STOP_TIMEOUT_NS) < 0) {
		pk_tracer_resume_all(t);
		pk_error("cannot stop every thread of PID %d to %s the allocation probes", (int)ai->pid,
			 arm ? "arm" : "disarm");
		return -1;
	}
	if (t->exited) {
		pk_tracer_resume_all(t);
		return 0;
	}
	tids = thread_list(ai, 0, &nt);
	rc = nt ? (arm ? pk_jprobes_arm(aj->j, tids, nt) : pk_jprobes_detach(aj->j, tids, nt, 0)) : 0;
	if (rc >= 0 && arm)
		note_refusals(ai, aj);
	if (rc >= 0)
		aj->armed = arm;
	free(tids);
	pk_tracer_resume_all(t);
	if (rc < 0) {
		pk_error("cannot %s the allocation probes of PID %d: %s", arm ? "arm" : "disarm",
			 (int)ai->pid, strerror(-rc));
		return -1;
	}
	return 0;
}

/* ---- events ------------------------------------------------------------ */

/* (mu held) ev into aj->in at key: 2 * its ring position + 1 for a
 * record, 2 * the ring's head when it was parked for a trapped call
 * (before the first record reserved after that) */
static void stage_at(struct alloc_jump *aj, const struct pk_jprobe_event *ev, uint64_t key)
{
	pk_hq_put(&aj->in, ev, key, aj->order++);
}

/* The drain callback (mu held): one record into aj->in, keyed by its
 * place in the ring: a free (recorded at its entry) and an allocation
 * (at its return) in the order in which the block changed hands */
static void stage_put(void *ctx, const struct pk_jprobe_event *ev)
{
	struct alloc_jump *aj = ctx;

	stage_at(aj, ev, 2 * (aj->pos_base + ev->pos) + 1);
}

/*
 * (mu held) Stage the trapped calls whose ring predecessors are all
 * taken (all: every one, the ring is no more), after them: a call
 * staged ahead of a record of its own thread still in the ring (held up
 * behind a slot another thread has not finished writing) could be fed
 * before it.
 */
static void unpark(struct alloc_jump *aj, int all)
{
	uint64_t tail = pk_jprobes_ring_tail(aj->j);
	size_t k = 0;

	for (size_t i = 0; i < aj->nparked; i++) {
		struct parked *p = &aj->parked[i];

		if (!all && tail < p->after) {
			aj->parked[k++] = *p;
			continue;
		}
		/* after every record reserved before it was parked, its own
		 * thread's among them; a record reserved meanwhile cannot hold
		 * its block (the thread was stopped) */
		stage_at(aj, &p->ev, 2 * (aj->pos_base + p->after));
		aj->in.v[aj->in.n - 1].stack_id = p->stack_id;
		aj->in.v[aj->in.n - 1].ev.time_ns = p->time_ns;
	}
	aj->nparked = k;
}

/* (mu held) Bytes taken from the ring and not fed yet. */
static size_t staged_bytes(struct alloc_jump *aj)
{
	return aj->in.narena + aj->in.n * sizeof(struct held) +
	       __atomic_load_n(&aj->backlog, __ATOMIC_RELAXED);
}

static void *drain_thread(void *arg)
{
	struct alloc_jump *aj = arg;
	sigset_t all;

	/* signals are the main loop's (signalfd) */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);

	while (!__atomic_load_n(&aj->stop, __ATOMIC_ACQUIRE)) {
		struct timespec nap = { 0, DRAIN_PAUSE_NS };
		long got = 0;

		pthread_mutex_lock(&aj->mu);
		pk_jprobes_publish_clock(aj->j);
		/* the main loop feeds the ring where it lies when it can: copy
		 * only a ring half full (it is busy elsewhere), and not beyond
		 * STAGE_LIMIT (the ring then fills, and drops (jump) or stops
		 * (trap)) */
		if (staged_bytes(aj) < STAGE_LIMIT &&
		    pk_jprobes_ring_head(aj->j) - pk_jprobes_ring_tail(aj->j) >=
			    pk_jprobes_ring_slots(aj->j) / 2)
			got = pk_jprobes_drain(aj->j, stage_put, aj, DRAIN_CHUNK);
		if (aj->nparked)
			unpark(aj, 0);
		pthread_mutex_unlock(&aj->mu);
		if (got <= 0)
			nanosleep(&nap, NULL);
	}
	return NULL;
}

/*
 * Does a drain thread pay?  It keeps the ring moving while the main loop
 * is busy elsewhere.  In trap mode the producers wait for perfkitd
 * anyway, and with fewer than 3 CPUs to run on (one is the target's) the
 * thread's copying takes its time from the main loop, which feeds fewer
 * records: work4 ran 24% faster without it on 2 CPUs (10 runs of each,
 * interleaved).  In jump mode it saves records from being dropped.
 */
static int drain_thread_pays(const struct alloc_jump *aj)
{
	int n = cpus_to_run();

	return !aj->trap || n == 0 || n >= 3;
}

static void start_drain_thread(struct alloc_jump *aj)
{
	if (aj->thread_on || !aj->j || !drain_thread_pays(aj))
		return;
	aj->stop = 0;
	if (pthread_create(&aj->thread, NULL, drain_thread, aj) == 0)
		aj->thread_on = 1; /* else the ticks drain alone */
}

/* Before the engine goes: the thread must not touch its ring any more. */
static void stop_drain_thread(struct alloc_jump *aj)
{
	if (!aj->thread_on)
		return;
	__atomic_store_n(&aj->stop, 1, __ATOMIC_RELEASE);
	pthread_join(aj->thread, NULL);
	aj->thread_on = 0;
}

/*
 * Queue what the drain thread staged and what is in the ring now.
 * Returns the number of records added.
 */
static size_t take_staged(struct alloc_jump *aj, int hold_back)
{
	struct stage t;

	pthread_mutex_lock(&aj->mu);
	/* a tick leaves the ring to the direct feed (drain), which reads
	 * each record where it lies (a copy into a stage cost trap mode on
	 * 2 CPUs, without a drain thread, a tenth of its time), unless a
	 * trapped call waits for the records before it: then they are
	 * staged now.  Else at most one ring's worth: producers as fast
	 * as this would keep an unbounded drain going for ever (every
	 * record written before now, e.g. before an int3 stop, is among
	 * them) */
	if (!hold_back || aj->nparked)
		pk_jprobes_drain(aj->j, stage_put, aj, JUMP_RING_SLOTS);
	if (aj->nparked) /* all of them when nothing drains the ring any more */
		unpark(aj, !aj->thread_on && !hold_back);
	t = aj->in;
	aj->in = pk_hq_fresh(&aj->hq);
	pthread_mutex_unlock(&aj->mu);
	return pk_hq_push(&aj->hq, &t);
}


static int own_thread(struct alloc_inst *ai, struct alloc_jump *aj, pid_t tid)
{
	if (tid <= 0)
		return 1; /* tid unknown (no TCB offset): cannot tell */
	if (tid == aj->own_tid) /* the last one found: most records are its */
		return 1;
	if (pk_tracer_find(ai->ctx->tracer, tid) != NULL) {
		aj->own_tid = tid;
		return 1;
	}
	return pk_u64map_get(&aj->gone, (uint64_t)tid) != 0;
}

static void note_free_addr(struct alloc_inst *ai, uint64_t addr)
{
	for (size_t i = 0; i < ai->n_free_addrs; i++)
		if (ai->free_addrs[i] == addr)
			return;
	if (ai->n_free_addrs < MAX_FREE_ADDRS)
		ai->free_addrs[ai->n_free_addrs++] = addr;
}

static void forget_slices(struct alloc_jump *aj)
{
	for (size_t i = 0; i < SLICE_MEMO; i++) {
		free(aj->memo[i].canon);
		free(aj->memo[i].pos);
		memset(&aj->memo[i], 0, sizeof(aj->memo[i]));
	}
}

/* The executable mappings, again when the session's maps changed. */
static void load_code_ranges(struct alloc_inst *ai, struct alloc_jump *aj)
{
	const struct pk_maps *m = ai->ctx->maps;

	if (aj->code_of == m->v && aj->code_of_n == m->n)
		return;
	aj->ncode = 0;
	aj->code = pk_xrealloc(aj->code, (m->n + 1) * sizeof(*aj->code));
	for (size_t i = 0; i < m->n; i++)
		if (m->v[i].prot & PROT_EXEC)
			aj->code[aj->ncode++] = (struct code_range){ m->v[i].start, m->v[i].end };
	aj->code_of = m->v;
	aj->code_of_n = m->n;
	forget_slices(aj); /* what is code may have changed */
}

static int is_code(const struct alloc_jump *aj, uint64_t v)
{
	size_t lo = 0, hi = aj->ncode;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (v < aj->code[mid].start)
			hi = mid;
		else if (v >= aj->code[mid].end)
			lo = mid + 1;
		else
			return 1;
	}
	return 0;
}

#define STACKISH (16ull << 20)  /* a value this close above sp: a stack address */

/*
 * Keep in a record's stack slice only what an unwinder can need: words
 * that point into code (return addresses) or into the stack above sp
 * (saved frame pointers, a realigned frame's CFA); everything else
 * (locals, heap pointers, counters) becomes 0.  The unwind is the same,
 * and a loop allocating at one call site gives byte-identical slices:
 * the memo of alloc-record.c unwinds it once.  The same for the
 * callee-saved registers.  Returns the canonical slice: stack, made so,
 * or the memo's (valid until the next call).
 */
static const uint8_t *canonical_stack(struct alloc_jump *aj, uint64_t sp, uint8_t *stack, size_t len,
				      struct user_regs_struct *regs)
{
	unsigned long long *reg[] = { &regs->rbx, &regs->rbp, &regs->r12, &regs->r13, &regs->r14,
				      &regs->r15 };
	struct slice_memo *m = &aj->memo[((regs->rip * 31) ^ (sp >> 3)) & (SLICE_MEMO - 1)];
	size_t i;

	for (i = 0; i < sizeof(reg) / sizeof(reg[0]); i++)
		if (!(*reg[i] - sp < STACKISH) && !is_code(aj, *reg[i]))
			*reg[i] = 0;
	if (m->canon && m->rip == regs->rip && m->rsp == sp && m->rbp == regs->rbp && m->len == len) {
		for (i = 0; i < m->npos; i++)
			if (memcmp(stack + m->pos[i] * 8u, m->canon + m->pos[i] * 8u, 8) != 0)
				break;
		if (i == m->npos)
			return m->canon;
	}
	for (i = 0; i + 8 <= len; i += 8) {
		uint64_t w;

		memcpy(&w, stack + i, 8);
		if (!(w - sp < STACKISH) && !is_code(aj, w))
			memset(stack + i, 0, 8);
	}
	memset(stack + i, 0, len - i);
	if (len > 65535u * 8u)
		return stack;
	free(m->canon);
	free(m->pos);
	m->canon = pk_xmalloc(len ? len : 1);
	memcpy(m->canon, stack, len);
	m->pos = pk_xcalloc(len / 8 + 1, sizeof(*m->pos));
	m->npos = 0;
	for (i = 0; i + 8 <= len; i += 8) {
		uint64_t w;

		memcpy(&w, stack + i, 8);
		if (w)
			m->pos[m->npos++] = (uint16_t)(i / 8);
	}
	m->rip = regs->rip;
	m->rsp = sp;
	m->rbp = regs->rbp;
	m->len = len;
	return stack;
}


/* The registers an unwind of ev starts from (rip = the function); the
 * others are as regs had them (zero: event_regs sets the same ones). */
static void event_regs(const struct alloc_jump *aj, const struct pk_jprobe_event *ev,
		       struct user_regs_struct *regs)
{
	regs->rip = pk_jprobe_address(aj->j, ev->probe);
	regs->rsp = ev->sp;
	regs->rbx = ev->rbx;
	regs->rbp = ev->rbp;
	regs->r12 = ev->r12;
	regs->r13 = ev->r13;
	regs->r14 = ev->r14;
	regs->r15 = ev->r15;
	regs->rdi = ev->args[0];
	regs->rsi = ev->args[1];
	regs->rdx = ev->args[2];
}

static int slice_word(const uint8_t *stack, size_t len, uint64_t sp, uint64_t addr, uint64_t *v)
{
	if (addr < sp || addr - sp > len || addr - sp + 8 > len)
		return -1;
	memcpy(v, stack + (addr - sp), 8);
	return 0;
}

/*
 * The backend's learn hook: an unwind of regs (rip = a probed function's
 * entry, rsp = the entry's) over the copy gave ips.  Walk the copy as a
 * detour would, with each return address's rule from the CFI, and put in
 * the site table the rules of the frames where that walk and the unwind
 * agree (the unwinder may have done what a walk cannot: read beyond the
 * copy, map a replaced return address, fall back to frame pointers).  Once
 * a stack's every frame is known, its calls carry walked chains.
 */
static void jump_learn(struct alloc_inst *ai, const struct user_regs_struct *regs, const void *stack,
		       size_t len, const uint64_t *ips, int n, int complete)
{
	struct alloc_jump *aj = aj_of(ai);
	uint64_t sp = regs->rsp + 8, bp = regs->rbp, ra, cfa, lo = regs->rsp;
	struct pk_unwind_rule js;

	if (!aj->walk || !aj->j || slice_word(stack, len, lo, regs->rsp, &ra) < 0)
		return;
	for (int i = 1; i < n; i++) {
		if (ra != ips[i])
			return;
		if (!pk_jprobes_site_get(aj->j, ra, &js) &&
		    pk_unwind_rule_at(ai->ctx->unwinder, ra, &js) < 0) {
			aj->unlearnable++;
			return;
		}
		if (js.end) { /* the outermost frame: only where the unwind ended */
			if (complete && i == n - 1 && pk_jprobes_site_put(aj->j, ra, &js) > 0)
				aj->learned++;
			return;
		}
		cfa = (js.base_rbp ? bp : sp) + (uint64_t)(int64_t)js.cfa_off;
		if (cfa <= lo || (js.rbp_off && slice_word(stack, len, lo, cfa + (uint64_t)(int64_t)js.rbp_off,
							   &bp) < 0) ||
		    slice_word(stack, len, lo, cfa - 8, &ra) < 0)
			return;
		/* the next frame as the unwinder found it, or the end */
		if (i + 1 < n ? ra != ips[i + 1] : !(complete && ra == 0) && n < MAX_FRAMES)
			return;
		if (pk_jprobes_site_put(aj->j, ips[i], &js) > 0)
			aj->learned++;
		sp = cfa;
	}
}

/* One call to the tracker; stack: ev->stack_len bytes from ev->sp (made
 * canonical in place for an allocation).  stack_id >= 0: the stack's id,
 * found already (trap mode, while the thread was stopped). */
static void feed_event(struct alloc_inst *ai, struct alloc_jump *aj, const struct pk_jprobe_event *ev,
		       uint8_t *stack, int64_t stack_id)
{
	struct jfn *f;
	struct user_regs_struct *regs = &aj->regs;
	struct pk_probe_event pe;
	const uint8_t *canon = stack;

	if (ev->probe < 0 || (size_t)ev->probe >= aj->nfns || aj->fns[ev->probe].fn < 0)
		return;
	f = &aj->fns[ev->probe];
	if (!own_thread(ai, aj, ev->tid)) {
		aj->foreign++;
		return;
	}
	if ((f->fn == PK_ALLOC_FREE || f->fn == PK_ALLOC_DELETE) && !f->noted) {
		note_free_addr(ai, pk_jprobe_address(aj->j, ev->probe)); /* no stack unwound */
		f->noted = 1;
	}
	/* the commonest calls, straight to the tracker: a free or delete,
	 * or an allocation whose stack the detour walked (or a trap took) */
	if (!ev->nested && !pk_alloc_new_in_flight(ai->alloc) &&
	    (f->fn == PK_ALLOC_FREE || f->fn == PK_ALLOC_DELETE ||
	     ((f->fn == PK_ALLOC_MALLOC || f->fn == PK_ALLOC_VALLOC || f->fn == PK_ALLOC_CALLOC) &&
	      (stack_id >= 0 || ev->chain)))) {
		uint64_t sid = stack_id >= 0 ? (uint64_t)stack_id : 0;

		if (stack_id < 0 && ev->chain)
			sid = pk_ai_on_chain(ai, pk_jprobe_address(aj->j, ev->probe), (const uint64_t *)stack,
					     ev->stack_len / 8);
		if (pk_alloc_feed_plain(ai->alloc, f->fn, ev->tid ? ev->tid : ai->pid, ev->time_ns,
					ev->ret_addr, ev->args[0], ev->args[1], ev->retval, sid)) {
			aj->events++;
			return;
		}
	}
	event_regs(aj, ev, regs);
	/* a free's stack is not unwound; a trap's is the live stack's copy,
	 * taken as it is (the int3 engine's memo), since words that point into
	 * code mapped after the session last read the maps would be lost */
	if (f->fn != PK_ALLOC_FREE && f->fn != PK_ALLOC_DELETE && stack_id < 0 && !ev->chain)
		canon = canonical_stack(aj, ev->sp, stack, ev->stack_len, regs);
	/* every field, one by one: a compound literal of this size is a
	 * rep stosq, and this runs for every record (a field added to the
	 * struct fails the assertion: set it here) */
	_Static_assert(sizeof(pe) == 152, "every field of struct pk_probe_event is set below");
	pe.kind = 0;
	pe.probe = -1;
	pe.tid = ev->tid ? ev->tid : ai->pid;
	pe.time_ns = ev->time_ns;
	pe.args[0] = ev->args[0];
	pe.args[1] = ev->args[1];
	pe.args[2] = ev->args[2];
	pe.ret_addr = ev->ret_addr;
	pe.ret_unread = 0;
	pe.entry_sp = ev->sp;
	pe.retval = ev->retval;
	pe.timed = 0;
	pe.duration_ns = 0;
	pe.cookie = stack_id >= 0 ? (uint64_t)stack_id : 0;
	pe.depth = 0;
	pe.outer_probe = -1;
	pe.tail_call = ev->nested;
	pe.stack_known = stack_id >= 0;
	pe.regs = regs;
	pe.stack = canon;
	pe.stack_len = ev->stack_len;
	pe.chain = ev->chain;
	aj->events++;
	pk_alloc_feed_call(ai->alloc, f->fn, f->mod_start, f->mod_end, &pe, ev->out0);
}

struct feeding {
	struct alloc_inst *ai;
	struct alloc_jump *aj;
	int hold_back;
	uint64_t t0;
	size_t n;
	int stop;                    /* the budget is spent */
};

/* One record to the tracker; 1 when a tick's feeding should stop (after
 * FEED_BUDGET_NS: the rest at the next tick, windows and signals first). */
static int feed_one(struct feeding *f, const struct pk_jprobe_event *ev, uint8_t *stack,
		    int64_t stack_id)
{
	feed_event(f->ai, f->aj, ev, stack, stack_id);
	return f->hold_back && (++f->n & 1023) == 0 && pk_monotonic_ns() - f->t0 > FEED_BUDGET_NS;
}

static int feed(void *ctx, const struct held *h, uint8_t *stack)
{
	return feed_one(ctx, &h->ev, stack, h->stack_id);
}

/* ---- trap mode ------------------------------------------------------- */

static void drain(struct alloc_inst *ai, struct alloc_jump *aj, int hold_back);

/*
 * Thread tid stopped with SIGTRAP at a detour's trap (trap mode: its call
 * wrote no record, the ring being full or its stack deeper than the
 * slice)?  Then the call joins the records taken from the ring (parked
 * until those reserved before it are taken), its stack copied and its id
 * found while the thread is stopped, and 1 is returned: resume it with
 * signal 0.  When perfkitd is behind (its backlog at STAGE_LIMIT), what
 * was taken is fed before the thread goes on: the producers wait for
 * perfkitd instead of losing calls.
 */
static int jump_trap(struct alloc_inst *ai, pid_t tid)
{
	struct alloc_jump *aj = aj_of(ai);
	struct user_regs_struct regs;
	struct pk_jprobe_event ev;
	uint64_t t0 = pk_monotonic_ns();
	const struct jfn *f;
	int64_t stack_id = -1;
	int behind;

	if (!aj->j || !aj->trap || ptrace(PTRACE_GETREGS, tid, NULL, &regs) < 0)
		return 0;
	if (pk_jprobes_trap_event(aj->j, tid, &regs, &ev) < 0)
		return 0;
	f = (size_t)ev.probe < aj->nfns ? &aj->fns[ev.probe] : NULL;
	if (f && f->fn >= 0 && f->fn != PK_ALLOC_FREE && f->fn != PK_ALLOC_DELETE && !ev.nested) {
		ssize_t got = pk_probes_copy_stack(pk_alloc_probes(ai->alloc), tid, ev.sp, aj->trap_stack,
						   aj->trap_stack_len);

		if (got > 0) {
			/* the stack's id while its frames are still there (an
			 * unwind may read beyond the copy) */
			struct user_regs_struct r;

			memset(&r, 0, sizeof(r));
			event_regs(aj, &ev, &r);
			stack_id = (int64_t)pk_ai_on_stack(ai, tid, &r, aj->trap_stack, (size_t)got);
		}
	}
	pthread_mutex_lock(&aj->mu);
	/* the ring first, whatever is staged already (it was full: room),
	 * then the call, staged once every record reserved before it is
	 * taken: its thread's earlier calls are among them */
	pk_jprobes_drain(aj->j, stage_put, aj, pk_jprobes_ring_slots(aj->j));
	pk_xgrow((void **)&aj->parked, &aj->capparked, aj->nparked + 1, sizeof(*aj->parked));
	aj->parked[aj->nparked++] = (struct parked){ ev, stack_id, t0, pk_jprobes_ring_head(aj->j) };
	unpark(aj, 0); /* now, unless a record before it is held up */
	behind = staged_bytes(aj) >= STAGE_LIMIT;
	pthread_mutex_unlock(&aj->mu);
	/* perfkitd is behind (the drain thread stopped taking): feed while
	 * the thread waits, as a tick feeds */
	if (behind)
		drain(ai, aj, 1);
	pk_tracer_resume_trapped(ai->ctx->tracer, tid);
	aj->trap_ns += pk_monotonic_ns() - t0;
	aj->trap_stops++;
	return 1;
}

/* A thread that executed a detour's int3 but reported another stop first
 * (its SIGTRAP still pending)? */
static int jump_trap_pending(struct alloc_inst *ai, pid_t tid)
{
	struct alloc_jump *aj = aj_of(ai);
	struct user_regs_struct regs;
	struct pk_jprobe_event ev;

	if (!aj->j || !aj->trap || ptrace(PTRACE_GETREGS, tid, NULL, &regs) < 0)
		return 0;
	return pk_jprobes_trap_event(aj->j, tid, &regs, &ev) >= 0 && pk_sigtrap_pending(ai->pid, tid);
}

/* The direct drain's callback: a record fed where it lies in the ring. */
static void feed_in_ring(void *ctx, const struct pk_jprobe_event *ev)
{
	struct feeding *f = ctx;

	f->stop |= feed_one(f, ev, (uint8_t *)ev->stack, -1);
}

/*
 * Feed the records taken from the ring to the tracker, in ring order,
 * then (with nothing else waiting) the ring's records where they lie: no
 * copy, and the drain thread waits on mu meanwhile instead of taking the
 * CPU.  hold_back (a tick's drain): feeding stops after FEED_BUDGET_NS
 * (the rest waits); else everything taken and at most a ring's worth
 * more is fed (before an int3 event, at a thread's exit, exec, detach
 * and the end).
 */
static void drain(struct alloc_inst *ai, struct alloc_jump *aj, int hold_back)
{
	struct feeding f = { ai, aj, hold_back, pk_monotonic_ns(), 0, 0 };
	size_t left;

	if (!aj->j || !ai->alloc)
		return;
	left = pk_jprobes_ring_slots(aj->j);
	load_code_ranges(ai, aj);
	take_staged(aj, hold_back);
	pk_hq_feed(&aj->hq, feed, &f);
	if (!pk_hq_empty(&aj->hq) || f.stop)
		goto out;
	pthread_mutex_lock(&aj->mu);
	/* what the drain thread staged meanwhile, and a trapped call,
	 * come before what is still in the ring */
	while (!f.stop && !aj->nparked && !aj->in.n && left) {
		long got = pk_jprobes_drain(aj->j, feed_in_ring, &f, left < 1024 ? left : 1024);

		if (got <= 0)
			break;
		if (!hold_back)
			left -= (size_t)got;
	}
	pthread_mutex_unlock(&aj->mu);
out:
	__atomic_store_n(&aj->backlog, pk_hq_bytes(&aj->hq), __ATOMIC_RELAXED);
}

/*
 * The process exec'd: the records of the old image still in the ring are
 * unwound and symbolized against the old image's map (its files are
 * still on disk), lent to the session's maps for as long as it takes;
 * the unwinder and the recorder forget what they cached either way.
 */
static void drain_old_image(struct alloc_inst *ai, struct alloc_jump *aj)
{
	struct pk_maps *m = ai->ctx->maps, now = *m;

	if (!aj->image_maps.v) {
		drain(ai, aj, 0);
		return;
	}
	*m = aj->image_maps;
	m->generation = now.generation + 1;
	pk_unwinder_flush(ai->ctx->unwinder);
	pk_recorder_flush_caches(ai->ctx->recorder);
	drain(ai, aj, 0);
	aj->image_maps = *m; /* the unwinder may have reloaded it */
	*m = now;
	m->generation = now.generation + 2;
	pk_unwinder_flush(ai->ctx->unwinder);
	pk_recorder_flush_caches(ai->ctx->recorder);
	pk_maps_release(&aj->image_maps);
	memset(&aj->image_maps, 0, sizeof(aj->image_maps));
}

/* ---- the backend hooks ------------------------------------------------- */

static void jump_drain(struct alloc_inst *ai)
{
	drain(ai, aj_of(ai), 0);
}

static void jump_fork_child(struct alloc_inst *ai, pid_t child)
{
	struct alloc_jump *aj = aj_of(ai);
	int rc;

	if (!aj->j || !aj->armed)
		return;
	rc = pk_jprobes_clean_child(aj->j, child);
	if (rc == 0 && aj->trap)
		rc = pk_jprobes_disable_traps(aj->j, child);
	if (rc < 0)
		pk_warn("cannot remove the allocation jumps from fork child %d: %s", (int)child,
			strerror(-rc));
}

static void keep_stats(struct alloc_inst *ai, struct alloc_jump *aj)
{
	struct pk_jprobe_stats s;

	if (!aj->j)
		return;
	pk_jprobes_stats(aj->j, &s);
	aj->drops += s.drops; /* trap mode: none, a call stops instead */
	aj->chains += s.chains;
	aj->known += s.known_chains;
	aj->memo_hits += s.memo_hits;
	/* calls nested in a probed function, counted by the detours (the
	 * tracker counts those it is handed) */
	ai->earlier.nested_calls += s.nested;
	aj->voids += s.voids;
	aj->sites += s.sites;
}

static void jump_exec(struct alloc_inst *ai)
{
	struct alloc_jump *aj = aj_of(ai);

	/* the image and its ring are gone; what was recorded before is not */
	stop_drain_thread(aj);
	drain_old_image(ai, aj);
	keep_stats(ai, aj);
	/* the next engine's records after this one's */
	aj->pos_base += pk_jprobes_ring_head(aj->j) + 1;
	pk_jprobes_free(aj->j);
	aj->j = NULL;
	aj->nfns = 0;
	aj->armed = aj->unusable = aj->retry = 0;
}

static void jump_thread_exit(struct alloc_inst *ai, pid_t tid)
{
	struct alloc_jump *aj = aj_of(ai);

	if (tid > 0)
		pk_u64map_put(&aj->gone, (uint64_t)tid, 1);
}

/*
 * Records in the ring or taken from it, not fed: the main loop feeds them
 * at once (in the ring when nothing else waits) instead of after its
 * timer, leaving the drain thread little to copy.  None, but some were
 * coming fast lately (BUSY_RECORDS a nap): it looks again
 * after a nap (PK_BUSY_NAP_NS), long enough for a batch to gather, short
 * enough to take them well before the ring is full, where a trap-mode
 * producer stops (2-5 stops per million work4 steps instead of 17-18).
 * A program allocating slowly does not wake perfkitd ten thousand times
 * a second.
 */
static int jump_busy(struct alloc_inst *ai)
{
	struct alloc_jump *aj = aj_of(ai);
	uint64_t now;
	int ready;

	if (!aj->j)
		return 0;
	pk_jprobes_publish_clock(aj->j); /* the records' time: a loop's turn old */
	pthread_mutex_lock(&aj->mu);
	/* a record published at the ring's tail: not a slot whose producer
	 * is stopped before publishing it (that would spin the loop) */
	ready = !pk_hq_empty(&aj->hq) || aj->in.n || pk_jprobes_ready(aj->j);
	pthread_mutex_unlock(&aj->mu);
	if (ready)
		return PK_BUSY_NOW;
	now = pk_monotonic_ns();
	/* BUSY_RECORDS a nap or faster since the last look */
	if ((aj->events - aj->busy_events) * PK_BUSY_NAP_NS >= BUSY_RECORDS * (now - aj->busy_ns))
		aj->active_ns = now;
	aj->busy_events = aj->events;
	aj->busy_ns = now;
	return aj->active_ns && now - aj->active_ns < ACTIVE_NS ? PK_BUSY_SOON : 0;
}

static int jump_tick(struct alloc_inst *ai, uint64_t now)
{
	struct alloc_jump *aj = aj_of(ai);

	(void)now;
	if (aj->j && !ai->ctx->tracer->exited)
		follow_image_maps(ai, aj);
	drain(ai, aj, 1);
	if (aj->j && aj->armed && aj->retry && !ai->ctx->tracer->exited)
		return rearm(ai, aj, 1);
	return 0;
}

static int jump_window(struct alloc_inst *ai, int arm)
{
	struct alloc_jump *aj = aj_of(ai);

	if (!aj->j)
		return 0;
	if (rearm(ai, aj, arm) < 0)
		return -1;
	if (!arm)
		drain(ai, aj, 0); /* the window's records, all: the timeline catches up */
	return 0;
}

static uint64_t jump_synced(struct alloc_inst *ai, uint64_t now)
{
	struct alloc_jump *aj = aj_of(ai);
	size_t parked;

	if (!aj->j)
		return now;
	pthread_mutex_lock(&aj->mu); /* the drain thread unparks */
	parked = aj->nparked;
	pthread_mutex_unlock(&aj->mu);
	/* disarmed with nothing held: every record was fed (jump_window) */
	if (!aj->armed && pk_hq_empty(&aj->hq) && !parked)
		return now;
	return ai->last_event_ns;
}

static void jump_detach(struct alloc_inst *ai, const pid_t *tids, size_t n, int unmap)
{
	struct alloc_jump *aj = aj_of(ai);
	int rc;

	struct pk_jprobe_stats s;

	if (!aj->j)
		return;
	rc = pk_jprobes_detach(aj->j, tids, n, unmap ? PK_JPROBE_DETACH_UNMAP : 0);
	if (aj->trap) {
		/* calls in flight return through their detours untouched */
		int err = pk_jprobes_disable_traps(aj->j, 0);

		if (err < 0 && rc == 0)
			rc = err;
	}
	if (rc < 0)
		pk_warn("restoring the allocator entries of PID %d reported an error: %s", (int)ai->pid,
			strerror(-rc));
	pk_jprobes_stats(aj->j, &s);
	aj->ring_left = s.ring_in_target;
	aj->armed = 0;
	drain(ai, aj, 0); /* the calls that returned before the detach */
}

static void jump_finish(struct alloc_inst *ai)
{
	struct alloc_jump *aj = aj_of(ai);
	struct pk_store *st = ai->ctx->st;
	int64_t sid = ai->ctx->sid;

	stop_drain_thread(aj);
	drain(ai, aj, 0);
	keep_stats(ai, aj);
	ai->probes_placed += (unsigned)aj->patched; /* "allocator probes N armed": both kinds */
	if (aj->j) {
		/* counted into the totals once: the engine stays for free() */
		pk_jprobes_free(aj->j);
		aj->j = NULL;
	}
	pk_store_set_stat(st, sid, "alloc_jump_probes", (double)aj->patched);
	pk_store_set_stat(st, sid, "alloc_jump_events", (double)aj->events);
	pk_store_set_stat(st, sid, "alloc_jump_fallbacks", (double)aj->fallbacks);
	pk_store_set_stat(st, sid, "alloc_jump_foreign_events", (double)aj->foreign);
	pk_store_set_stat(st, sid, "alloc_ring_drops", (double)aj->drops);
	if (aj->trap) {
		pk_store_set_stat(st, sid, "alloc_jump_trap_stops", (double)aj->trap_stops);
		pk_store_set_stat(st, sid, "alloc_jump_trap_handle_us",
				  aj->trap_stops ? (double)aj->trap_ns / 1e3 / (double)aj->trap_stops : 0);
	}
	pk_store_set_stat(st, sid, "alloc_ring_left_in_target", (double)aj->ring_left);
	if (aj->walk) {
		pk_store_set_stat(st, sid, "alloc_walked_stacks", (double)aj->chains);
		pk_store_set_stat(st, sid, "alloc_walk_known", (double)aj->known);
		pk_store_set_stat(st, sid, "alloc_walk_memo", (double)aj->memo_hits);
		pk_store_set_stat(st, sid, "alloc_walk_sites", (double)aj->sites);
		pk_store_set_stat(st, sid, "alloc_walk_unlearnable", (double)aj->unlearnable);
	}
	if (aj->drops)
		pk_warn("allocations: the target dropped %llu events (the ring was full); the counts are "
			"short by as many",
			(unsigned long long)aj->drops);
}

static void jump_free(struct alloc_inst *ai)
{
	struct alloc_jump *aj = aj_of(ai);

	if (!aj)
		return;
	if (ai->ctx && ai->ctx->unwinder)
		pk_unwinder_set_resolver(ai->ctx->unwinder, NULL, NULL);
	stop_drain_thread(aj);
	pk_jprobes_free(aj->j);
	pthread_mutex_destroy(&aj->mu);
	free(aj->parked);
	free(aj->in.v);
	free(aj->in.arena);
	pk_hq_free(&aj->hq);
	free(aj->fns);
	free(aj->code);
	free(aj->trap_stack);
	forget_slices(aj);
	pk_maps_release(&aj->image_maps);
	pk_u64map_release(&aj->gone);
	free(aj);
	ai->backend_self = NULL;
}

static const struct pk_ai_backend jump_backend = {
	.find = jump_find,
	.drain = jump_drain,
	.trap = jump_trap,
	.trap_pending = jump_trap_pending,
	.fork_child = jump_fork_child,
	.exec = jump_exec,
	.thread_exit = jump_thread_exit,
	.tick = jump_tick,
	.busy = jump_busy,
	.window = jump_window,
	.synced = jump_synced,
	.detach = jump_detach,
	.learn = jump_learn,
	.finish = jump_finish,
	.free = jump_free,
};

/*
 * Which backend --alloc uses.  auto is trap: every event is recorded
 * (nothing dropped, unlike jump, whose ring a burst faster than perfkitd's
 * drain fills: 100,000 malloc(16) in a tight loop,
 * tests/integration/analyze-alloc-trace.sh, kept 65,536), and a call
 * stops only when perfkitd is behind or its stack is deep, against two
 * stops per allocation for int3.
 */
int pk_alloc_jump_wanted(const struct pk_options *opt)
{
	const char *b = opt->probe_backend ? opt->probe_backend : "auto";

	return !strcmp(b, "jump") || !strcmp(b, "trap") || !strcmp(b, "auto");
}

int pk_alloc_jump_create(const struct pk_options *opt, struct pk_instrument *out)
{
	struct alloc_inst *ai;
	struct alloc_jump *aj;

	if (pk_alloc_instrument_create(opt, out) < 0)
		return -1;
	ai = out->self;
	aj = pk_xcalloc(1, sizeof(*aj));
	aj->trap = !opt->probe_backend || strcmp(opt->probe_backend, "jump") != 0;
	aj->walk = !getenv("PERFKIT_ALLOC_WALK") || strcmp(getenv("PERFKIT_ALLOC_WALK"), "off") != 0;
	aj->trap_stack_len = opt->stack_bytes ? opt->stack_bytes : 16384;
	aj->trap_stack = pk_xmalloc(aj->trap_stack_len);
	pk_u64map_init(&aj->gone);
	pthread_mutex_init(&aj->mu, NULL);
	ai->backend = &jump_backend;
	ai->backend_self = aj;
	return 0;
}
