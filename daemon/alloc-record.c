/*
 * alloc-record.c - what perfkitd --alloc makes of each allocation event:
 * the caller's stack (unwound from the engine's stack copy while the
 * thread is stopped, memoized), samples "alloc_bytes" and "alloc_count",
 * per-stack and session accounting (live, peak, frees of known blocks,
 * unknown frees), the timeline, and at the end the store's allocation
 * tables (see alloc-instrument-int.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/alloc-instrument-int.h"
#include "error.h"
#include "util.h"

uint64_t pk_ai_rel_ns(const struct alloc_inst *ai, uint64_t t)
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

/* regs by libunwind's x86-64 numbers (unwind.c's order), into v[17]. */
static void regs_by_number(const struct user_regs_struct *r, uint64_t *v)
{
	const uint64_t n[17] = { r->rax, r->rdx, r->rcx, r->rbx, r->rsi, r->rdi, r->rbp, r->rsp, r->r8,
				 r->r9, r->r10, r->r11, r->r12, r->r13, r->r14, r->r15, r->rip };

	memcpy(v, n, sizeof(n));
}

static int memo_hit(const struct unwind_memo *m, const struct user_regs_struct *regs,
		    const uint8_t *stack, size_t stack_len)
{
	uint64_t v[17];

	if (!m->valid || m->rip != regs->rip || m->rsp != regs->rsp)
		return 0;
	regs_by_number(regs, v);
	for (unsigned i = 0; i < 17; i++)
		if ((m->regs_mask & (1u << i)) && v[i] != m->regs[i])
			return 0;
	for (unsigned i = 0; i < m->nw; i++) {
		uint64_t w;

		if ((size_t)m->off[i] + 8 > stack_len)
			return 0;
		memcpy(&w, stack + m->off[i], 8);
		if (w != m->val[i])
			return 0;
	}
	return 1;
}

/* Remember an unwind by what it read; 0 when it cannot be (too many
 * words, a word past the copy). */
static int memo_store(struct unwind_memo *m, const struct pk_unwind_log *log,
		      const struct user_regs_struct *regs, const uint8_t *stack, size_t stack_len,
		      uint64_t stack_id)
{
	m->valid = 0;
	if (log->overflow)
		return 0;
	for (unsigned i = 0; i < log->n; i++) {
		if ((size_t)log->off[i] + 8 > stack_len)
			return 0;
		m->off[i] = log->off[i];
		memcpy(&m->val[i], stack + log->off[i], 8);
	}
	m->nw = log->n;
	m->regs_mask = log->regs_read;
	regs_by_number(regs, m->regs);
	m->rip = regs->rip;
	m->rsp = regs->rsp;
	m->stack_id = stack_id;
	m->valid = 1;
	return 1;
}

uint64_t pk_ai_on_stack(void *ctx, pid_t tid, const struct user_regs_struct *regs,
			 const void *stack, size_t stack_len)
{
	struct alloc_inst *ai = ctx;
	struct pk_unwind_input in = { regs, regs->rsp, stack, stack_len };
	uint64_t ips[MAX_FRAMES], remote;
	struct unwind_memo *m;
	struct pk_unwind_log log;
	int n, complete = 0;
	int64_t id;

	(void)tid;
	if (is_free_addr(ai, regs->rip))
		return 0; /* a free's own stack is not recorded */
	m = &ai->memo[((regs->rip * 31) ^ (regs->rsp >> 3)) & (UNWIND_CACHE - 1)];
	if (memo_hit(m, regs, stack, stack_len)) {
		ai->memo_hits++;
		return m->stack_id;
	}
	remote = pk_unwinder_stats(ai->ctx->unwinder)->remote_reads;
	pk_unwinder_log_reads(ai->ctx->unwinder, &log);
	n = pk_unwind(ai->ctx->unwinder, &in, ips, MAX_FRAMES, &complete);
	pk_unwinder_log_reads(ai->ctx->unwinder, NULL);
	ai->unwinds++;
	if (n <= 0)
		return 0;
	id = pk_recorder_stack(ai->ctx->recorder, ips, n);
	if (id <= 0)
		return 0;
	if (ai->backend && ai->backend->learn)
		ai->backend->learn(ai, regs, stack, stack_len, ips, n, complete);
	/* an unwind that read the live stack depends on more than it logged */
	if (pk_unwinder_stats(ai->ctx->unwinder)->remote_reads == remote)
		memo_store(m, &log, regs, stack, stack_len, (uint64_t)id);
	else
		m->valid = 0;
	return (uint64_t)id;
}

static void forget_chains(struct alloc_inst *ai)
{
	for (size_t i = 0; i < CHAIN_CACHE; i++) {
		free(ai->chain_memo[i].ras);
		ai->chain_memo[i].ras = NULL;
	}
}

uint64_t pk_ai_on_chain(void *ctx, uint64_t fn, const uint64_t *ras, size_t n)
{
	struct alloc_inst *ai = ctx;
	uint64_t ips[MAX_FRAMES], h = fn;
	struct chain_memo *m;
	int64_t id;

	if (n > MAX_FRAMES - 1)
		n = MAX_FRAMES - 1;
	for (size_t i = 0; i < n; i++)
		h = (h ^ ras[i]) * 0x100000001b3ull;
	m = &ai->chain_memo[(h >> 20) & (CHAIN_CACHE - 1)];
	ai->chains++;
	if (m->ras && m->fn == fn && m->n == n && memcmp(m->ras, ras, n * 8) == 0)
		return m->stack_id;
	ips[0] = fn;
	memcpy(ips + 1, ras, n * 8);
	id = pk_recorder_stack(ai->ctx->recorder, ips, (int)n + 1);
	if (id <= 0)
		return 0;
	free(m->ras);
	m->ras = pk_xmalloc(n ? n * 8 : 1);
	memcpy(m->ras, ras, n * 8);
	m->fn = fn;
	m->n = n;
	m->stack_id = (uint64_t)id;
	return (uint64_t)id;
}

void pk_ai_forget_image(struct alloc_inst *ai)
{
	for (size_t i = 0; i < UNWIND_CACHE; i++)
		ai->memo[i].valid = 0;
	forget_chains(ai);
	for (size_t i = 0; i < ai->n_aggs; i++)
		ai->aggs[i].live_count = ai->aggs[i].live_bytes = 0;
	ai->live_bytes = ai->live_count = 0;
}

static struct stack_agg *agg_get(struct alloc_inst *ai, int64_t stack_id)
{
	int64_t idx;
	struct stack_agg *g;

	/* the last one asked for: a loop allocates and frees at one stack */
	if (ai->last_agg < ai->n_aggs && ai->aggs[ai->last_agg].stack_id == stack_id)
		return &ai->aggs[ai->last_agg];
	idx = pk_u64map_get(&ai->stack_index, (uint64_t)stack_id + 1);
	if (idx) {
		ai->last_agg = (size_t)idx - 1;
		return &ai->aggs[idx - 1];
	}
	pk_xgrow((void **)&ai->aggs, &ai->cap_aggs, ai->n_aggs + 1, sizeof(*ai->aggs));
	g = &ai->aggs[ai->n_aggs++];
	memset(g, 0, sizeof(*g));
	g->stack_id = stack_id;
	pk_u64map_put(&ai->stack_index, (uint64_t)stack_id + 1, (int64_t)ai->n_aggs);
	return g;
}

/* g's allocations not stored yet, as samples (it stays listed in
 * ai->pending until the next pk_ai_flush_samples). */
static void store_pending(struct alloc_inst *ai, struct stack_agg *g)
{
	if (!g->pend_count)
		return;
	if (pk_recorder_sample(ai->ctx->recorder, ai->ev_bytes, g->pend_tid, g->pend_time, g->stack_id,
			       g->pend_bytes, 0) < 0 ||
	    pk_recorder_sample(ai->ctx->recorder, ai->ev_count, g->pend_tid, g->pend_time, g->stack_id,
			       g->pend_count, 0) < 0)
		ai->store_failed = 1;
	g->pend_count = g->pend_bytes = 0;
}

/* A block of the stack stack_id leaves the live set (freed, or replaced
 * by an unseen free). */
static void block_gone(struct alloc_inst *ai, int64_t stack_id, int64_t size, int counted_free)
{
	struct stack_agg *g = agg_get(ai, stack_id);

	if (counted_free) {
		g->frees++;
		g->bytes_freed += size;
	}
	g->live_count--;
	g->live_bytes -= size;
	ai->live_count--;
	ai->live_bytes -= size;
}

/* The counts now, as a point of the timeline at time_ns (session time). */
static void point_now(const struct alloc_inst *ai, struct pk_alloc_point *p, int64_t time_ns)
{
	p->time_ns = time_ns;
	p->live_bytes = ai->live_bytes;
	p->live_count = ai->live_count;
	p->alloc_calls = ai->alloc_calls;
	p->free_calls = ai->free_calls;
	p->armed = ai->armed;
}

void pk_ai_on_event(void *ctx, const struct pk_alloc_event *ev)
{
	struct alloc_inst *ai = ctx;
	int64_t t = (int64_t)pk_ai_rel_ns(ai, ev->time_ns), size = (int64_t)ev->size;
	int64_t stack_id = (int64_t)ev->stack_id;
	struct stack_agg *g;

	if (ev->time_ns > ai->last_event_ns)
		ai->last_event_ns = ev->time_ns;
	if (ev->is_free) {
		ai->free_calls++;
		if (ev->known) {
			block_gone(ai, (int64_t)ev->block_stack_id, size, 1);
			ai->bytes_freed += size;
		} else {
			ai->unknown_frees++;
		}
		return;
	}
	if (ev->replaced) /* was live: freed while we did not watch */
		block_gone(ai, (int64_t)ev->block_stack_id, (int64_t)ev->block_size, 0);
	ai->alloc_calls++;
	ai->bytes_allocated += size;
	ai->live_bytes += size;
	ai->live_count++;
	if (ai->live_bytes > ai->peak_bytes) {
		int64_t at = t;

		/* a record that reached perfkitd after a point later than its
		 * time (the ring's backends) is counted after that point: the
		 * peak is not placed before it, so that counts never go down
		 * in time order */
		if (ai->n_points && at < ai->points[ai->n_points - 1].time_ns)
			at = ai->points[ai->n_points - 1].time_ns;
		ai->peak_bytes = ai->live_bytes;
		point_now(ai, &ai->peak_point, at);
		ai->peak_point.armed = 1;
	}
	g = agg_get(ai, stack_id);
	g->allocs++;
	g->bytes += size;
	g->live_count++;
	g->live_bytes += size;
	if (g->live_bytes > g->peak_bytes)
		g->peak_bytes = g->live_bytes;
	if (g->pend_count && (g->pend_tid != ev->tid || t - g->pend_time >= SAMPLE_MERGE_NS))
		store_pending(ai, g);
	if (!g->listed) {
		pk_xgrow((void **)&ai->pending, &ai->cap_pending, ai->n_pending + 1, sizeof(*ai->pending));
		ai->pending[ai->n_pending++] = (size_t)(g - ai->aggs);
		g->listed = 1;
	}
	if (!g->pend_count) {
		g->pend_tid = ev->tid;
		g->pend_time = t;
	}
	g->pend_count++;
	g->pend_bytes += size;
}

void pk_ai_flush_samples(struct alloc_inst *ai)
{
	for (size_t i = 0; i < ai->n_pending; i++) {
		store_pending(ai, &ai->aggs[ai->pending[i]]);
		ai->aggs[ai->pending[i]].listed = 0;
	}
	ai->n_pending = 0;
}

void pk_ai_add_point(struct alloc_inst *ai, uint64_t now)
{
	if (now < ai->last_point_ns)
		now = ai->last_point_ns; /* points in the order they were made */
	pk_xgrow((void **)&ai->points, &ai->cap_points, ai->n_points + 1, sizeof(*ai->points));
	point_now(ai, &ai->points[ai->n_points++], (int64_t)pk_ai_rel_ns(ai, now));
	ai->last_point_ns = now;
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

/* Which of two points came first by their counts (calls only grow). */
static int cmp_counts(const struct pk_alloc_point *x, const struct pk_alloc_point *y)
{
	if (x->alloc_calls != y->alloc_calls)
		return (x->alloc_calls > y->alloc_calls) - (x->alloc_calls < y->alloc_calls);
	return (x->free_calls > y->free_calls) - (x->free_calls < y->free_calls);
}

/*
 * The peak itself, between two ticks' points: placed by its counts, which
 * only grow, and its time kept between its neighbours', apart from both
 * (a point's time is its key in the store).  (Its time is its record's,
 * the clock perfkitd last published to the detours, or the time stamp
 * counter; the points' are the main loop's clock: the two can disagree
 * by microseconds, enough to put a peak before the point it follows.)
 */
static void insert_peak(struct alloc_inst *ai)
{
	struct pk_alloc_point pk = ai->peak_point;
	size_t i = 0;

	while (i < ai->n_points && cmp_counts(&ai->points[i], &pk) <= 0)
		i++;
	if (i > 0 && pk.time_ns <= ai->points[i - 1].time_ns)
		pk.time_ns = ai->points[i - 1].time_ns + 1;
	if (i < ai->n_points && pk.time_ns >= ai->points[i].time_ns)
		pk.time_ns = ai->points[i].time_ns - 1;
	pk_xgrow((void **)&ai->points, &ai->cap_points, ai->n_points + 1, sizeof(*ai->points));
	memmove(&ai->points[i + 1], &ai->points[i], (ai->n_points - i) * sizeof(*ai->points));
	ai->points[i] = pk;
	ai->n_points++;
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
	s->peak_ns = ai->peak_point.time_ns;
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
	pk_store_set_stat(st, sid, "alloc_modules_read_ahead", (double)ai->modules_read_ahead);
	pk_store_set_stat(st, sid, "alloc_unwinds", (double)ai->unwinds);
	pk_store_set_stat(st, sid, "alloc_unwind_memo_hits", (double)ai->memo_hits);
	pk_store_set_stat(st, sid, "alloc_probes_refused", (double)ps.refused);
	pk_store_set_stat(st, sid, "alloc_armed_fraction",
			  s->traced_ns > 0 ? (double)s->armed_ns / (double)s->traced_ns : 0);
}

int pk_ai_finish(struct alloc_inst *ai, uint64_t end)
{
	struct pk_alloc_data d;
	struct live_collect live;
	struct pk_alloc_stack_row *rows;
	int ev_live, rc;

	pk_ai_flush_samples(ai);
	if (ai->first_armed_ns) {
		pk_ai_add_point(ai, end);
		if (ai->peak_bytes)
			insert_peak(ai);
	}
	group_live(ai, &live);
	/* live blocks as samples, so that flame graphs can show them */
	ev_live = pk_recorder_event(ai->ctx->recorder, "alloc_live", "bytes");
	for (size_t i = 0; ev_live > 0 && i < live.n; i++)
		pk_recorder_sample(ai->ctx->recorder, ev_live, (int32_t)ai->pid, (int64_t)pk_ai_rel_ns(ai, end),
				   live.v[i].stack_id, live.v[i].size * live.v[i].count, 0);
	rc = pk_store_flush(ai->ctx->st);
	if (ai->store_failed) /* since the last tick: the tables still go in */
		pk_error("cannot store allocation samples: %s", pk_store_errmsg(ai->ctx->st));

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
	return rc == PK_STORE_OK && !ai->store_failed ? 0 : -1;
}

void pk_ai_release_records(struct alloc_inst *ai)
{
	pk_u64map_release(&ai->stack_index);
	free(ai->aggs);
	free(ai->pending);
	free(ai->points);
	free(ai->windows);
	forget_chains(ai);
}
