/*
 * fprobe-stats.c - what function probes measure, from the stream of
 * entries, returns and losses of each thread (see fprobe.h).
 *
 * Each thread has a shadow stack of its active probed calls.  A return
 * closes its frame: the call's time (corrected for the probe stops inside
 * it) goes into the function's histogram and self time, and is charged to
 * the caller's frame as probed-callee time.  Inclusive totals count only
 * the outermost active call of a function, so recursion (direct or
 * mutual) is never counted twice.  A loss closes a frame without time.
 *
 * Correction: the interval between an entry and its return contains one
 * whole probe stop (the resume after the entry trap plus the return trap)
 * and one more per probe stop taken inside the call; each is worth the
 * measured stop cost, which is subtracted (never below zero).  A timed
 * return (measured in the target from after the entry stop to the
 * return, which does not stop) contains only the stops inside the call.
 */
#include "daemon/fprobe.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

struct frame {
	int fn;
	uint64_t cookie;
	uint64_t start_ns;
	uint64_t stops_at_entry;
	int64_t child_ns;         /* corrected time of probed callees (signed:
				     a correction may overshoot a short call) */
	uint64_t slot, ret;       /* return-address slot and its original */
};

struct thread {
	pid_t tid;
	struct frame *v;
	size_t n, cap;
	uint64_t stops;           /* probe stops on this thread so far */
	uint64_t next_cookie;
	unsigned *active;         /* active calls per function */
	struct pk_fprobe_result **res; /* per function, NULL until called */
};

struct pk_fprobe_stats {
	size_t n_functions;
	uint64_t correction_ns;
	uint64_t leaf_min_ns;     /* shortest raw call with no stop inside */
	struct thread *threads;
	size_t n_threads, cap_threads;
	size_t last;              /* index of the last thread used */
};

struct pk_fprobe_stats *pk_fprobe_stats_new(size_t n_functions)
{
	struct pk_fprobe_stats *s = pk_xcalloc(1, sizeof(*s));

	s->n_functions = n_functions;
	return s;
}

void pk_fprobe_stats_free(struct pk_fprobe_stats *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_threads; i++) {
		struct thread *t = &s->threads[i];

		for (size_t f = 0; f < s->n_functions; f++)
			free(t->res[f]);
		free(t->res);
		free(t->active);
		free(t->v);
	}
	free(s->threads);
	free(s);
}

void pk_fprobe_stats_set_correction(struct pk_fprobe_stats *s, uint64_t stop_ns)
{
	s->correction_ns = stop_ns;
}

uint64_t pk_fprobe_stats_leaf_min(const struct pk_fprobe_stats *s)
{
	return s->leaf_min_ns;
}

uint64_t pk_fprobe_stats_correction(const struct pk_fprobe_stats *s)
{
	return s->correction_ns;
}

static struct thread *thread_get(struct pk_fprobe_stats *s, pid_t tid)
{
	struct thread *t;

	if (s->last < s->n_threads && s->threads[s->last].tid == tid)
		return &s->threads[s->last];
	for (size_t i = 0; i < s->n_threads; i++)
		if (s->threads[i].tid == tid) {
			s->last = i;
			return &s->threads[i];
		}
	pk_xgrow((void **)&s->threads, &s->cap_threads, s->n_threads + 1, sizeof(*s->threads));
	t = &s->threads[s->n_threads];
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	t->active = pk_xcalloc(s->n_functions ? s->n_functions : 1, sizeof(*t->active));
	t->res = pk_xcalloc(s->n_functions ? s->n_functions : 1, sizeof(*t->res));
	s->last = s->n_threads++;
	return t;
}

static struct pk_fprobe_result *result_of(struct thread *t, int fn)
{
	if (!t->res[fn]) {
		t->res[fn] = pk_xcalloc(1, sizeof(*t->res[fn]));
		pk_histogram_init(&t->res[fn]->hist);
	}
	return t->res[fn];
}

uint64_t pk_fprobe_stats_enter(struct pk_fprobe_stats *s, pid_t tid, int fn, uint64_t t_ns,
			       uint64_t slot, uint64_t ret)
{
	struct thread *t = thread_get(s, tid);
	struct frame *f;

	t->stops++;
	if (fn < 0 || (size_t)fn >= s->n_functions)
		return 0;
	pk_xgrow((void **)&t->v, &t->cap, t->n + 1, sizeof(*t->v));
	f = &t->v[t->n++];
	f->fn = fn;
	f->cookie = ++t->next_cookie;
	f->start_ns = t_ns;
	f->stops_at_entry = t->stops;
	f->child_ns = 0;
	f->slot = slot;
	f->ret = ret;
	t->active[fn]++;
	result_of(t, fn)->calls++;
	return f->cookie;
}

/* Index of the frame with cookie on t, or -1. */
static long find_frame(const struct thread *t, uint64_t cookie)
{
	for (size_t i = t->n; i-- > 0;)
		if (t->v[i].cookie == cookie)
			return (long)i;
	return -1;
}

static void drop_frame(struct thread *t, size_t i)
{
	memmove(&t->v[i], &t->v[i + 1], (t->n - i - 1) * sizeof(*t->v));
	t->n--;
}

static void lose(struct thread *t, size_t i)
{
	int fn = t->v[i].fn;

	result_of(t, fn)->lost++;
	t->active[fn]--;
	drop_frame(t, i);
}

/* Close frame i of t (frames above it were left without a return): raw
 * is its measured time, corr what probe stops inside it cost. */
static void close_frame(struct thread *t, size_t i, uint64_t raw, uint64_t corr)
{
	struct pk_fprobe_result *r;
	uint64_t dur;
	int64_t signed_dur;
	struct frame f;

	while (t->n > i + 1)
		lose(t, t->n - 1);
	f = t->v[i];
	t->n--;
	/* A corrected duration cannot be negative.  Callers are charged the
	 * same clamped value their callee reports, and self times are summed
	 * signed (clamped only when stored): a leaf's self then equals its
	 * total, and a recursion's selves add up to its total exactly. */
	signed_dur = (int64_t)raw - (int64_t)corr;
	dur = signed_dur > 0 ? (uint64_t)signed_dur : 0;

	if (t->n)
		t->v[t->n - 1].child_ns += (int64_t)dur;
	r = result_of(t, f.fn);
	t->active[f.fn]--;
	if (!t->active[f.fn])
		r->total_ns += dur;
	r->self_ns += (int64_t)dur - f.child_ns;
	pk_histogram_add(&r->hist, dur);
}

void pk_fprobe_stats_return(struct pk_fprobe_stats *s, pid_t tid, uint64_t cookie, uint64_t t_ns)
{
	struct thread *t = thread_get(s, tid);
	uint64_t raw, inside;
	long i;

	t->stops++;
	i = find_frame(t, cookie);
	if (i < 0)
		return;
	raw = t_ns > t->v[i].start_ns ? t_ns - t->v[i].start_ns : 0;
	inside = t->stops - t->v[i].stops_at_entry;
	if (inside == 1 && (!s->leaf_min_ns || raw < s->leaf_min_ns))
		s->leaf_min_ns = raw;
	close_frame(t, (size_t)i, raw, s->correction_ns * inside);
}

void pk_fprobe_stats_return_timed(struct pk_fprobe_stats *s, pid_t tid, uint64_t cookie,
				  uint64_t raw_ns)
{
	struct thread *t = thread_get(s, tid);
	long i = find_frame(t, cookie);
	uint64_t inside;

	if (i < 0)
		return;
	/* the call's own stop lies outside raw_ns; each one taken inside it
	 * (its probed callees' entries, their stopped returns) is in it, so
	 * raw_ns / inside bounds the cost of a stop from above too */
	inside = t->stops - t->v[i].stops_at_entry;
	if (inside && (!s->leaf_min_ns || raw_ns / inside < s->leaf_min_ns))
		s->leaf_min_ns = raw_ns / inside;
	close_frame(t, (size_t)i, raw_ns, s->correction_ns * inside);
}

void pk_fprobe_stats_lost(struct pk_fprobe_stats *s, pid_t tid, uint64_t cookie)
{
	struct thread *t = thread_get(s, tid);
	long i = find_frame(t, cookie);

	if (i >= 0)
		lose(t, (size_t)i);
}

void pk_fprobe_stats_stop(struct pk_fprobe_stats *s, pid_t tid)
{
	thread_get(s, tid)->stops++;
}

void pk_fprobe_stats_active(const struct pk_fprobe_stats *s, pid_t tid,
			    void (*cb)(void *ctx, uint64_t slot, uint64_t ret), void *ctx)
{
	for (size_t i = 0; i < s->n_threads; i++) {
		const struct thread *t = &s->threads[i];

		if (t->tid != tid)
			continue;
		for (size_t k = t->n; k-- > 0;)
			cb(ctx, t->v[k].slot, t->v[k].ret);
	}
}

static void merge(struct pk_fprobe_result *into, const struct pk_fprobe_result *r)
{
	into->calls += r->calls;
	into->lost += r->lost;
	into->total_ns += r->total_ns;
	into->self_ns += r->self_ns;
	into->hist.count += r->hist.count;
	into->hist.sum += r->hist.sum;
	if (r->hist.min < into->hist.min)
		into->hist.min = r->hist.min;
	if (r->hist.max > into->hist.max)
		into->hist.max = r->hist.max;
	for (size_t b = 0; b < PK_HIST_POW * PK_HIST_SUB; b++)
		into->hist.buckets[b] += r->hist.buckets[b];
}

void pk_fprobe_stats_foreach(const struct pk_fprobe_stats *s,
			     void (*cb)(void *ctx, int fn, pid_t tid, const struct pk_fprobe_result *r),
			     void *ctx)
{
	struct pk_fprobe_result *all = pk_xmalloc(sizeof(*all));

	for (size_t f = 0; f < s->n_functions; f++) {
		memset(all, 0, sizeof(*all));
		pk_histogram_init(&all->hist);
		for (size_t i = 0; i < s->n_threads; i++) {
			const struct pk_fprobe_result *r = s->threads[i].res[f];

			if (!r)
				continue;
			cb(ctx, (int)f, s->threads[i].tid, r);
			merge(all, r);
		}
		cb(ctx, (int)f, 0, all);
	}
	free(all);
}
