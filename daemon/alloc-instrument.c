/*
 * alloc-instrument.c - perfkitd --alloc (see alloc-instrument.h): drives
 * the allocation tracker through the tracer protocol of probe.h.
 *
 *   start    attach: stop every thread, find the allocators, arm through
 *            one stopped thread, resume.  run: the program is stopped at
 *            its exec with only ld.so mapped: a probe at the program's
 *            entry point (AT_ENTRY); when it hits, libc is mapped: find
 *            and arm the allocators from that stop.
 *   on_trap  pk_probe_handle_trap (never deliver a SIGTRAP of ours).
 *   fork     clean the child (breakpoints, hijacked return slots).
 *   exec     a new tracker for the new image, armed at its entry point.
 *   tick     windows (--alloc-sample) and the memory-usage timeline.
 *   detach   step 5 of the protocol: collect pending traps, restore.
 *
 * Stacks are unwound at each allocation's entry while the thread is
 * stopped (from the engine's stack copy) and interned by the recorder.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>

#include "daemon/alloc-instrument.h"
#include "daemon/alloc.h"
#include "daemon/probe.h"
#include "error.h"
#include "u64map.h"
#include "util.h"

#define STOP_TIMEOUT_NS 3000000000ull
#define POINT_INTERVAL_NS 10000000ull   /* timeline resolution: 10 ms */
#define MAX_FRAMES 128
#define MAX_FREE_ADDRS 64
#define UNWIND_CACHE 64      /* entries, a power of two */

struct stack_agg {
	int64_t stack_id;
	int64_t allocs, bytes, frees, bytes_freed, live_count, live_bytes, peak_bytes;
};

/*
 * A stack already unwound.  Unwinding reads only the registers and the
 * stack copy (when it made no remote read), so the same rip, rsp and rbp
 * with a byte-identical copy unwind to the same stack: a loop allocating
 * at one call site pays for one unwind.
 */
struct unwind_memo {
	uint64_t rip, rsp, rbp;
	void *copy;
	size_t len, cap;
	uint64_t stack_id;
};

struct alloc_inst {
	const struct pk_options *opt;
	struct pk_instrument_ctx *ctx;
	struct pk_alloc *alloc;
	pid_t pid;
	int ev_bytes, ev_count;
	int store_failed;
	struct unwind_memo memo[UNWIND_CACHE];
	uint64_t memo_hits, unwinds;
	unsigned probes_placed;

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
	struct pk_u64map ptr_stack;   /* live ptr -> stack id + 1 (0: not live) */
	struct pk_u64map ptr_size;
	struct pk_u64map stack_index; /* stack id + 1 -> aggs index + 1 */
	struct stack_agg *aggs;
	size_t n_aggs, cap_aggs;
	int64_t alloc_calls, free_calls, bytes_allocated, bytes_freed;
	int64_t live_bytes, live_count, peak_bytes, peak_ns, unknown_frees;
	struct pk_alloc_stats earlier;  /* failed/nested/lost of earlier images */
	struct pk_probe_stats probe_earlier;

	struct pk_alloc_point *points;
	size_t n_points, cap_points;
	uint64_t last_point_ns;
};

static uint64_t rel_ns(const struct alloc_inst *ai, uint64_t t)
{
	return t > ai->ctx->start_ns ? t - ai->ctx->start_ns : 0;
}

/* ---- hooks of the tracker -------------------------------------------- */

static int is_free_addr(const struct alloc_inst *ai, uint64_t addr)
{
	for (size_t i = 0; i < ai->n_free_addrs; i++)
		if (ai->free_addrs[i] == addr)
			return 1;
	return 0;
}

static uint64_t on_stack(void *ctx, pid_t tid, const struct user_regs_struct *regs,
			 const void *stack, size_t stack_len)
{
	struct alloc_inst *ai = ctx;
	struct pk_unwind_input in = { regs, regs->rsp, stack, stack_len };
	uint64_t ips[MAX_FRAMES], remote;
	struct unwind_memo *m;
	int n, complete = 0;
	int64_t id;

	(void)tid;
	if (is_free_addr(ai, regs->rip))
		return 0; /* a free's own stack is not recorded */
	m = &ai->memo[((regs->rip * 31) ^ (regs->rsp >> 3)) & (UNWIND_CACHE - 1)];
	if (m->copy && m->rip == regs->rip && m->rsp == regs->rsp && m->rbp == regs->rbp &&
	    m->len == stack_len && memcmp(m->copy, stack, stack_len) == 0) {
		ai->memo_hits++;
		return m->stack_id;
	}
	remote = pk_unwinder_stats(ai->ctx->unwinder)->remote_reads;
	n = pk_unwind(ai->ctx->unwinder, &in, ips, MAX_FRAMES, &complete);
	ai->unwinds++;
	if (n <= 0)
		return 0;
	id = pk_recorder_stack(ai->ctx->recorder, ips, n);
	if (id <= 0)
		return 0;
	if (pk_unwinder_stats(ai->ctx->unwinder)->remote_reads == remote) {
		if (m->cap < stack_len) {
			free(m->copy);
			m->copy = pk_xmalloc(stack_len);
			m->cap = stack_len;
		}
		memcpy(m->copy, stack, stack_len);
		m->len = stack_len;
		m->rip = regs->rip;
		m->rsp = regs->rsp;
		m->rbp = regs->rbp;
		m->stack_id = (uint64_t)id;
	}
	return (uint64_t)id;
}

/* Forget every memoized unwind (the code changed: exec). */
static void memo_clear(struct alloc_inst *ai)
{
	for (size_t i = 0; i < UNWIND_CACHE; i++)
		ai->memo[i].rip = ai->memo[i].rsp = 0, ai->memo[i].len = 0;
}

static struct stack_agg *agg_get(struct alloc_inst *ai, int64_t stack_id)
{
	int64_t idx = pk_u64map_get(&ai->stack_index, (uint64_t)stack_id + 1);
	struct stack_agg *g;

	if (idx)
		return &ai->aggs[idx - 1];
	pk_xgrow((void **)&ai->aggs, &ai->cap_aggs, ai->n_aggs + 1, sizeof(*ai->aggs));
	g = &ai->aggs[ai->n_aggs++];
	memset(g, 0, sizeof(*g));
	g->stack_id = stack_id;
	pk_u64map_put(&ai->stack_index, (uint64_t)stack_id + 1, (int64_t)ai->n_aggs);
	return g;
}

/* A block leaves the live set (freed, or replaced by an unseen free). */
static void block_gone(struct alloc_inst *ai, uint64_t ptr, int counted_free)
{
	int64_t st = pk_u64map_get(&ai->ptr_stack, ptr);
	int64_t size = pk_u64map_get(&ai->ptr_size, ptr) - 1;
	struct stack_agg *g;

	if (!st || size < 0)
		return;
	g = agg_get(ai, st - 1);
	if (counted_free) {
		g->frees++;
		g->bytes_freed += size;
	}
	g->live_count--;
	g->live_bytes -= size;
	ai->live_count--;
	ai->live_bytes -= size;
	pk_u64map_put(&ai->ptr_stack, ptr, 0);
	pk_u64map_put(&ai->ptr_size, ptr, 0);
}

static void on_event(void *ctx, const struct pk_alloc_event *ev)
{
	struct alloc_inst *ai = ctx;
	int64_t t = (int64_t)rel_ns(ai, ev->time_ns), size = (int64_t)ev->size;
	int64_t stack_id = (int64_t)ev->stack_id;
	struct stack_agg *g;

	if (ev->is_free) {
		ai->free_calls++;
		if (ev->known && pk_u64map_get(&ai->ptr_stack, ev->ptr)) {
			ai->bytes_freed += size;
			block_gone(ai, ev->ptr, 1);
		} else {
			ai->unknown_frees++;
		}
		return;
	}
	if (pk_u64map_get(&ai->ptr_stack, ev->ptr))
		block_gone(ai, ev->ptr, 0); /* freed while we did not watch */
	ai->alloc_calls++;
	ai->bytes_allocated += size;
	ai->live_bytes += size;
	ai->live_count++;
	if (ai->live_bytes > ai->peak_bytes) {
		ai->peak_bytes = ai->live_bytes;
		ai->peak_ns = t;
	}
	g = agg_get(ai, stack_id);
	g->allocs++;
	g->bytes += size;
	g->live_count++;
	g->live_bytes += size;
	if (g->live_bytes > g->peak_bytes)
		g->peak_bytes = g->live_bytes;
	pk_u64map_put(&ai->ptr_stack, ev->ptr, stack_id + 1);
	pk_u64map_put(&ai->ptr_size, ev->ptr, size + 1);
	if (pk_recorder_sample(ai->ctx->recorder, ai->ev_bytes, ev->tid, t, stack_id, size, 0) < 0 ||
	    pk_recorder_sample(ai->ctx->recorder, ai->ev_count, ev->tid, t, stack_id, 1, 0) < 0)
		ai->store_failed = 1;
}

/* ---- arming ------------------------------------------------------------ */

static int new_tracker(struct alloc_inst *ai)
{
	struct pk_alloc_hooks hooks = { on_stack, on_event, ai };
	size_t copy = ai->opt->stack_bytes ? ai->opt->stack_bytes : 16384;

	ai->alloc = pk_alloc_new(ai->pid, &hooks);
	if (!ai->alloc) {
		pk_error("out of memory");
		return -1;
	}
	if (pk_probes_set_stack_copy(pk_alloc_probes(ai->alloc), copy) < 0) {
		pk_error("out of memory");
		return -1;
	}
	ai->n_free_addrs = 0;
	ai->entry = 0;
	ai->tracing = ai->armed = 0;
	return 0;
}

/* Remember which probes are free-like (their entries need no stack). */
static void note_free_probes(struct alloc_inst *ai)
{
	struct pk_probes *p = pk_alloc_probes(ai->alloc);

	ai->n_free_addrs = 0;
	for (int id = 0; pk_probe_name(p, id); id++) {
		int fn = pk_alloc_fn_of(pk_probe_name(p, id));

		if ((fn == PK_ALLOC_FREE || fn == PK_ALLOC_DELETE) && ai->n_free_addrs < MAX_FREE_ADDRS)
			ai->free_addrs[ai->n_free_addrs++] = pk_probe_address(p, id);
	}
}

static void armed_now(struct alloc_inst *ai)
{
	uint64_t now = pk_monotonic_ns();

	ai->armed = 1;
	ai->armed_at = now;
	if (!ai->first_armed_ns)
		ai->first_armed_ns = now;
}

static void disarmed_now(struct alloc_inst *ai, uint64_t now)
{
	struct pk_alloc_window *w;

	if (!ai->armed)
		return;
	ai->armed = 0;
	ai->armed_total_ns += now - ai->armed_at;
	pk_xgrow((void **)&ai->windows, &ai->cap_windows, ai->n_windows + 1, sizeof(*ai->windows));
	w = &ai->windows[ai->n_windows++];
	w->start_ns = (int64_t)rel_ns(ai, ai->armed_at);
	w->end_ns = (int64_t)rel_ns(ai, now);
}

/*
 * Find the allocators now mapped and arm them through tid (stopped, fit
 * for an injected syscall).  Returns 0 or -1 (reported).
 */
static int find_and_arm(struct alloc_inst *ai, pid_t tid)
{
	struct pk_probes *p = pk_alloc_probes(ai->alloc);
	int n = pk_alloc_add_process(ai->alloc, ai->pid), armed;

	if (n < 0) {
		pk_error("cannot read the memory map of PID %d: %s", (int)ai->pid, strerror(-n));
		return -1;
	}
	if (n == 0) {
		pk_warn("PID %d has no malloc family to probe (no libc mapped?); no allocations recorded",
			(int)ai->pid);
		return 0;
	}
	note_free_probes(ai);
	armed = pk_probes_arm(p, tid);
	if (armed < 0) {
		pk_error("cannot place allocation probes in PID %d: %s", (int)ai->pid, strerror(-armed));
		return -1;
	}
	ai->tracing = 1;
	ai->probes_placed = (unsigned)armed;
	armed_now(ai);
	if (ai->period_ns)
		ai->next_arm_ns = ai->armed_at + ai->period_ns;
	return 0;
}

/* Wait for tid's next stop (deadline); 0 with the status, or -1. */
static int wait_stop(pid_t tid, int *status)
{
	uint64_t start = pk_monotonic_ns();

	for (;;) {
		pid_t r = waitpid(tid, status, __WALL | WNOHANG);
		struct timespec ts = { 0, 100000 };

		if (r == tid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
		if (pk_monotonic_ns() - start > STOP_TIMEOUT_NS)
			return -1;
		nanosleep(&ts, NULL);
	}
}

/*
 * The leader is in its PTRACE_EVENT_EXEC stop.  A syscall injected from
 * there would be spoiled: the execve's own syscall-exit still follows and
 * overwrites rax.  Move it to that syscall-exit-stop first (a plain stop
 * from which resuming with signal 0 is right).  Returns 0 or -errno.
 */
static int leave_exec_stop(struct alloc_inst *ai)
{
	struct pk_thread *th = pk_tracer_find(ai->ctx->tracer, ai->pid);
	int status;

	for (int tries = 0; tries < 8; tries++) {
		if (ptrace(PTRACE_SYSCALL, ai->pid, NULL, NULL) < 0)
			return -errno;
		if (wait_stop(ai->pid, &status) < 0)
			return -ETIMEDOUT;
		if (!WIFSTOPPED(status))
			return -ESRCH;
		if ((status >> 16) == 0 && (WSTOPSIG(status) & 0x7f) == SIGTRAP)
			return 0;
		if ((status >> 16) == 0 && th)
			th->pending_signal = WSTOPSIG(status); /* delivered at resume */
	}
	return -EAGAIN;
}

/* The program is stopped at its exec (pid): probe its entry point. */
static int arm_at_entry(struct alloc_inst *ai)
{
	uint64_t entry = 0;
	int rc = pk_probes_auxv_entry(ai->pid, &entry), id;

	if (rc == 0)
		rc = leave_exec_stop(ai);
	if (rc == 0) {
		id = pk_probe_add(pk_alloc_probes(ai->alloc), entry, "program entry point");
		rc = id < 0 ? id : pk_probes_arm(pk_alloc_probes(ai->alloc), ai->pid);
	}
	if (rc < 0) {
		pk_error("cannot probe the entry point of PID %d: %s", (int)ai->pid, strerror(-rc));
		return -1;
	}
	ai->entry = entry;
	return 0;
}

/* A stopped thread of t fit for an injected syscall, or NULL. */
static struct pk_thread *injectable_thread(struct pk_tracer *t)
{
	struct pk_thread *leader = pk_tracer_find(t, t->pid);

	if (leader && leader->stopped && !leader->group_stop && !leader->pending_signal &&
	    !leader->exiting && !leader->foreign)
		return leader;
	for (size_t i = 0; i < t->n_threads; i++) {
		struct pk_thread *th = &t->threads[i];

		if (th->stopped && !th->group_stop && !th->pending_signal && !th->exiting && !th->foreign)
			return th;
	}
	return NULL;
}

/* ---- the instrument ---------------------------------------------------- */

static int alloc_start(void *self, struct pk_instrument_ctx *ctx)
{
	struct alloc_inst *ai = self;
	struct pk_thread *th;
	int rc;

	ai->ctx = ctx;
	ai->pid = ctx->tracer->pid;
	ai->ev_bytes = pk_recorder_event(ctx->recorder, "alloc_bytes", "bytes");
	ai->ev_count = pk_recorder_event(ctx->recorder, "alloc_count", "allocations");
	if (ai->ev_bytes < 0 || ai->ev_count < 0) {
		pk_error("cannot record allocation events: %s", pk_store_errmsg(ctx->st));
		return -1;
	}
	if (new_tracker(ai) < 0)
		return -1;
	if (ctx->run_mode)
		return arm_at_entry(ai); /* stopped at exec by the session */
	if (pk_tracer_stop_all(ctx->tracer, STOP_TIMEOUT_NS) < 0) {
		pk_tracer_resume_all(ctx->tracer);
		pk_error("cannot stop every thread of PID %d to place allocation probes", (int)ai->pid);
		return -1;
	}
	if (ctx->tracer->exited) {
		pk_tracer_resume_all(ctx->tracer);
		return 0;
	}
	th = injectable_thread(ctx->tracer);
	if (!th) {
		pk_tracer_resume_all(ctx->tracer);
		pk_error("no thread of PID %d can take the allocation probes (all are stopped by signals)",
			 (int)ai->pid);
		return -1;
	}
	rc = find_and_arm(ai, th->tid);
	pk_tracer_resume_all(ctx->tracer);
	return rc;
}

static int alloc_on_trap(void *self, pid_t tid)
{
	struct alloc_inst *ai = self;
	struct user_regs_struct regs;
	int at_entry = 0, r;

	if (!ai->alloc)
		return 0;
	if (ai->entry && ptrace(PTRACE_GETREGS, tid, NULL, &regs) == 0)
		at_entry = regs.rip - 1 == ai->entry;
	r = pk_probe_handle_trap(pk_alloc_probes(ai->alloc), tid);
	if (r == 1 && at_entry) {
		/* every DT_NEEDED library is mapped now */
		ai->entry = 0;
		if (find_and_arm(ai, tid) < 0)
			pk_warn("allocations of PID %d are not recorded", (int)ai->pid);
	}
	/* An error means the thread cannot be read: it is gone; never deliver
	 * a SIGTRAP that may be ours. */
	return r != 0;
}

static void alloc_on_fork(void *self, pid_t child, pid_t parent)
{
	struct alloc_inst *ai = self;
	int rc;

	if (!ai->alloc)
		return;
	rc = pk_probes_clean_child(pk_alloc_probes(ai->alloc), child, parent);
	if (rc < 0)
		pk_warn("cannot remove the allocation probes from fork child %d: %s", (int)child,
			strerror(-rc));
}

static void keep_counters(struct alloc_inst *ai)
{
	const struct pk_alloc_stats *s = pk_alloc_stats(ai->alloc);
	struct pk_probe_stats ps;

	ai->earlier.failed_allocs += s->failed_allocs;
	ai->earlier.nested_calls += s->nested_calls;
	ai->earlier.lost_returns += s->lost_returns;
	pk_probes_stats(pk_alloc_probes(ai->alloc), &ps);
	ai->probe_earlier.traps += ps.traps;
	ai->probe_earlier.handle_ns += ps.handle_ns;
}

static void alloc_on_exec(void *self, pid_t pid)
{
	struct alloc_inst *ai = self;

	if (!ai->alloc)
		return;
	/* The old image is gone: its blocks are neither freed nor leaked. */
	pk_probes_forget(pk_alloc_probes(ai->alloc));
	disarmed_now(ai, pk_monotonic_ns());
	keep_counters(ai);
	pk_alloc_free(ai->alloc);
	ai->alloc = NULL;
	for (size_t i = 0; i < ai->n_aggs; i++)
		ai->aggs[i].live_count = ai->aggs[i].live_bytes = 0;
	pk_u64map_clear(&ai->ptr_stack);
	pk_u64map_clear(&ai->ptr_size);
	ai->live_bytes = ai->live_count = 0;
	memo_clear(ai);
	ai->pid = pid;
	if (new_tracker(ai) < 0 || arm_at_entry(ai) < 0)
		pk_warn("allocations after the exec of PID %d are not recorded", (int)pid);
}

static void alloc_on_thread_exit(void *self, pid_t tid)
{
	struct alloc_inst *ai = self;

	if (ai->alloc)
		pk_alloc_thread_exit(ai->alloc, tid);
}

static void add_point(struct alloc_inst *ai, uint64_t now)
{
	struct pk_alloc_point *p;

	pk_xgrow((void **)&ai->points, &ai->cap_points, ai->n_points + 1, sizeof(*ai->points));
	p = &ai->points[ai->n_points++];
	p->time_ns = (int64_t)rel_ns(ai, now);
	p->live_bytes = ai->live_bytes;
	p->live_count = ai->live_count;
	p->alloc_calls = ai->alloc_calls;
	p->free_calls = ai->free_calls;
	p->armed = ai->armed;
	ai->last_point_ns = now;
}

static int alloc_tick(void *self, uint64_t now)
{
	struct alloc_inst *ai = self;

	if (ai->store_failed) {
		pk_error("cannot store allocation samples: %s", pk_store_errmsg(ai->ctx->st));
		return -1;
	}
	if (!ai->alloc)
		return 0;
	if (ai->period_ns && ai->tracing && !ai->entry) {
		struct pk_probes *p = pk_alloc_probes(ai->alloc);

		if (ai->armed && now - ai->armed_at >= ai->window_ns) {
			int rc = pk_probes_disarm(p);

			if (rc < 0) {
				pk_error("cannot disarm the allocation probes of PID %d: %s", (int)ai->pid,
					 strerror(-rc));
				return -1;
			}
			disarmed_now(ai, now);
		} else if (!ai->armed && now >= ai->next_arm_ns) {
			/* placed already: no injection, no thread stopped */
			int rc = pk_probes_arm(p, ai->pid);

			if (rc < 0) {
				pk_error("cannot re-arm the allocation probes of PID %d: %s", (int)ai->pid,
					 strerror(-rc));
				return -1;
			}
			armed_now(ai);
			ai->next_arm_ns += ai->period_ns;
			if (ai->next_arm_ns <= now)
				ai->next_arm_ns = now + ai->period_ns;
		}
	}
	if (ai->tracing && now - ai->last_point_ns >= POINT_INTERVAL_NS)
		add_point(ai, now);
	return 0;
}

/* Caught signals of the process: when none, no signal frame can point
 * into the scratch pages and they may be unmapped. */
static int catches_signals(pid_t pid)
{
	char path[64], line[256];
	unsigned long long mask = 1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "SigCgt: %llx", &mask) == 1)
			break;
	fclose(f);
	return mask != 0;
}

static void alloc_detach(void *self, const pid_t *tids, size_t n)
{
	struct alloc_inst *ai = self;
	struct pk_probes *p;
	struct pk_tracer *t = ai->ctx ? ai->ctx->tracer : NULL;
	struct pk_thread *inject;
	pid_t *order;
	int rc, flags = 0;

	if (!ai->alloc || !t)
		return;
	p = pk_alloc_probes(ai->alloc);
	disarmed_now(ai, pk_monotonic_ns());
	/* A thread that executed our int3 but reported another stop first
	 * would get the SIGTRAP after detach: collect it now. */
	for (size_t i = 0; i < n; i++) {
		int status;

		for (int tries = 0; tries < 4 && pk_probe_trap_pending(p, tids[i]); tries++) {
			if (ptrace(PTRACE_CONT, tids[i], NULL, NULL) < 0 || wait_stop(tids[i], &status) < 0)
				break;
			if (!WIFSTOPPED(status)) {
				pk_tracer_handle(t, tids[i], status);
				break;
			}
			if ((status >> 16) == 0 && WSTOPSIG(status) == SIGTRAP)
				pk_probe_handle_trap(p, tids[i]);
			else if ((status >> 16) == 0) {
				struct pk_thread *th = pk_tracer_find(t, tids[i]);

				if (th)
					th->pending_signal = WSTOPSIG(status);
			}
		}
	}
	order = pk_xcalloc(n ? n : 1, sizeof(*order));
	memcpy(order, tids, n * sizeof(*order));
	inject = injectable_thread(t);
	if (inject && !catches_signals(ai->pid)) {
		for (size_t i = 0; i < n; i++)
			if (order[i] == inject->tid) {
				order[i] = order[0];
				order[0] = inject->tid;
				flags = PK_PROBE_DETACH_UNMAP;
				break;
			}
	}
	rc = pk_probes_detach(p, order, n, flags);
	free(order);
	if (rc < 0)
		pk_warn("restoring the code of PID %d reported an error: %s", (int)ai->pid, strerror(-rc));
}

/* ---- results --------------------------------------------------------- */

struct live_collect {
	struct pk_alloc_live_row *v;
	size_t n, cap;
};

static void collect_live(void *ctx, const struct pk_alloc_live *l)
{
	struct live_collect *c = ctx;

	pk_xgrow((void **)&c->v, &c->cap, c->n + 1, sizeof(*c->v));
	c->v[c->n].stack_id = (int64_t)l->stack_id;
	c->v[c->n].size = (int64_t)l->size;
	c->v[c->n].count = 1;
	c->n++;
}

static int cmp_live(const void *a, const void *b)
{
	const struct pk_alloc_live_row *x = a, *y = b;

	if (x->stack_id != y->stack_id)
		return x->stack_id < y->stack_id ? -1 : 1;
	return (x->size > y->size) - (x->size < y->size);
}

static int cmp_point(const void *a, const void *b)
{
	const struct pk_alloc_point *x = a, *y = b;

	return (x->time_ns > y->time_ns) - (x->time_ns < y->time_ns);
}

/* Live blocks grouped by stack and size. */
static void group_live(struct alloc_inst *ai, struct live_collect *c)
{
	size_t w = 0;

	memset(c, 0, sizeof(*c));
	if (!ai->alloc)
		return;
	pk_alloc_live_foreach(ai->alloc, collect_live, c);
	if (!c->n)
		return;
	qsort(c->v, c->n, sizeof(*c->v), cmp_live);
	for (size_t i = 1; i < c->n; i++) {
		if (c->v[i].stack_id == c->v[w].stack_id && c->v[i].size == c->v[w].size)
			c->v[w].count++;
		else
			c->v[++w] = c->v[i];
	}
	c->n = w + 1;
}

static void fill_summary(struct alloc_inst *ai, struct pk_alloc_summary *s, uint64_t end)
{
	const struct pk_alloc_stats *as = ai->alloc ? pk_alloc_stats(ai->alloc) : NULL;

	memset(s, 0, sizeof(*s));
	snprintf(s->mode, sizeof(s->mode), "%s", ai->period_ns ? "windowed" : "full");
	s->window_ns = (int64_t)ai->window_ns;
	s->period_ns = (int64_t)ai->period_ns;
	s->armed_ns = (int64_t)ai->armed_total_ns;
	s->traced_ns = ai->first_armed_ns ? (int64_t)(end - ai->first_armed_ns) : 0;
	s->alloc_calls = ai->alloc_calls;
	s->free_calls = ai->free_calls;
	s->bytes_allocated = ai->bytes_allocated;
	s->bytes_freed = ai->bytes_freed;
	s->peak_bytes = ai->peak_bytes;
	s->peak_ns = ai->peak_ns;
	s->live_bytes = ai->live_bytes;
	s->live_count = ai->live_count;
	s->unknown_frees = ai->unknown_frees;
	s->failed_allocs = (int64_t)(ai->earlier.failed_allocs + (as ? as->failed_allocs : 0));
	s->nested_calls = (int64_t)(ai->earlier.nested_calls + (as ? as->nested_calls : 0));
	s->lost_returns = (int64_t)(ai->earlier.lost_returns + (as ? as->lost_returns : 0));
	s->target_exited = ai->ctx->tracer->exited;
}

static void store_stats(struct alloc_inst *ai, const struct pk_alloc_summary *s)
{
	struct pk_store *st = ai->ctx->st;
	int64_t sid = ai->ctx->sid;
	struct pk_probe_stats ps = { 0 };
	uint64_t traps, handle_ns;

	if (ai->alloc)
		pk_probes_stats(pk_alloc_probes(ai->alloc), &ps);
	traps = ai->probe_earlier.traps + ps.traps;
	handle_ns = ai->probe_earlier.handle_ns + ps.handle_ns;
	pk_store_set_stat(st, sid, "alloc_calls", (double)s->alloc_calls);
	pk_store_set_stat(st, sid, "alloc_free_calls", (double)s->free_calls);
	pk_store_set_stat(st, sid, "alloc_bytes", (double)s->bytes_allocated);
	pk_store_set_stat(st, sid, "alloc_peak_bytes", (double)s->peak_bytes);
	pk_store_set_stat(st, sid, "alloc_live_bytes", (double)s->live_bytes);
	pk_store_set_stat(st, sid, "alloc_unknown_frees", (double)s->unknown_frees);
	pk_store_set_stat(st, sid, "alloc_lost_returns", (double)s->lost_returns);
	pk_store_set_stat(st, sid, "alloc_probe_stops", (double)traps);
	pk_store_set_stat(st, sid, "alloc_probe_handle_us", traps ? (double)handle_ns / 1e3 / (double)traps : 0);
	pk_store_set_stat(st, sid, "alloc_probes_armed", (double)ai->probes_placed);
	pk_store_set_stat(st, sid, "alloc_unwinds", (double)ai->unwinds);
	pk_store_set_stat(st, sid, "alloc_unwind_memo_hits", (double)ai->memo_hits);
	pk_store_set_stat(st, sid, "alloc_probes_refused", (double)ps.refused);
	pk_store_set_stat(st, sid, "alloc_armed_fraction",
			  s->traced_ns > 0 ? (double)s->armed_ns / (double)s->traced_ns : 0);
}

static int alloc_finish(void *self)
{
	struct alloc_inst *ai = self;
	struct pk_alloc_data d;
	struct live_collect live;
	struct pk_alloc_stack_row *rows;
	uint64_t end = pk_monotonic_ns();
	int ev_live, rc;

	if (!ai->ctx)
		return 0;
	disarmed_now(ai, end);
	if (ai->first_armed_ns) {
		add_point(ai, end);
		if (ai->peak_bytes) {
			/* the peak itself, between two ticks */
			pk_xgrow((void **)&ai->points, &ai->cap_points, ai->n_points + 1, sizeof(*ai->points));
			ai->points[ai->n_points] = ai->points[ai->n_points - 1];
			ai->points[ai->n_points].time_ns = ai->peak_ns;
			ai->points[ai->n_points].live_bytes = ai->peak_bytes;
			ai->points[ai->n_points].armed = 1;
			ai->n_points++;
			qsort(ai->points, ai->n_points, sizeof(*ai->points), cmp_point);
		}
	}
	group_live(ai, &live);
	/* live blocks as samples, so that flame graphs can show them */
	ev_live = pk_recorder_event(ai->ctx->recorder, "alloc_live", "bytes");
	for (size_t i = 0; ev_live > 0 && i < live.n; i++)
		pk_recorder_sample(ai->ctx->recorder, ev_live, (int32_t)ai->pid, (int64_t)rel_ns(ai, end),
				   live.v[i].stack_id, live.v[i].size * live.v[i].count, 0);
	rc = pk_store_flush(ai->ctx->st);

	rows = pk_xcalloc(ai->n_aggs ? ai->n_aggs : 1, sizeof(*rows));
	for (size_t i = 0; i < ai->n_aggs; i++) {
		const struct stack_agg *g = &ai->aggs[i];

		rows[i] = (struct pk_alloc_stack_row){ g->stack_id, g->allocs, g->bytes, g->frees,
						       g->bytes_freed, g->live_count, g->live_bytes,
						       g->peak_bytes };
	}
	memset(&d, 0, sizeof(d));
	fill_summary(ai, &d.summary, end);
	d.stacks = rows;
	d.n_stacks = ai->n_aggs;
	d.live = live.v;
	d.n_live = live.n;
	d.timeline = ai->points;
	d.n_timeline = ai->n_points;
	d.windows = ai->windows;
	d.n_windows = ai->n_windows;
	if (rc == PK_STORE_OK)
		rc = pk_store_alloc_write(ai->ctx->st, ai->ctx->sid, &d);
	store_stats(ai, &d.summary);
	if (rc == PK_STORE_OK)
		pk_info("allocations: %lld calls, %lld bytes, peak %lld bytes, %lld bytes in %lld blocks live at the end%s (perfkit allocs)",
			(long long)d.summary.alloc_calls, (long long)d.summary.bytes_allocated,
			(long long)d.summary.peak_bytes, (long long)d.summary.live_bytes,
			(long long)d.summary.live_count, ai->period_ns ? " [windowed]" : "");
	free(rows);
	free(live.v);
	return rc == PK_STORE_OK ? 0 : -1;
}

static void alloc_free_self(void *self)
{
	struct alloc_inst *ai = self;

	if (!ai)
		return;
	pk_alloc_free(ai->alloc);
	for (size_t i = 0; i < UNWIND_CACHE; i++)
		free(ai->memo[i].copy);
	pk_u64map_release(&ai->ptr_stack);
	pk_u64map_release(&ai->ptr_size);
	pk_u64map_release(&ai->stack_index);
	free(ai->aggs);
	free(ai->points);
	free(ai->windows);
	free(ai);
}

static const struct pk_instrument_ops alloc_ops = {
	.name = "allocation",
	.start = alloc_start,
	.on_trap = alloc_on_trap,
	.on_fork = alloc_on_fork,
	.on_exec = alloc_on_exec,
	.on_thread_exit = alloc_on_thread_exit,
	.tick = alloc_tick,
	.detach = alloc_detach,
	.finish = alloc_finish,
	.free = alloc_free_self,
};

int pk_alloc_instrument_create(const struct pk_options *opt, struct pk_instrument *out)
{
	struct alloc_inst *ai = pk_xcalloc(1, sizeof(*ai));

	ai->opt = opt;
	if (opt->alloc_period_s > 0) {
		ai->window_ns = (uint64_t)(opt->alloc_window_s * 1e9);
		ai->period_ns = (uint64_t)(opt->alloc_period_s * 1e9);
		if (!ai->window_ns || ai->window_ns >= ai->period_ns)
			ai->period_ns = ai->window_ns = 0; /* always armed: full mode */
	}
	pk_u64map_init(&ai->ptr_stack);
	pk_u64map_init(&ai->ptr_size);
	pk_u64map_init(&ai->stack_index);
	out->ops = &alloc_ops;
	out->self = ai;
	out->follow_forks = 1;
	return 0;
}
