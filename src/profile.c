/*
 * profile.c - load a session's samples onto its stack tree and aggregate
 * them per function (see profile.h).
 *
 * Loading is one pass over the samples adding each weight to its leaf
 * node, then one backward pass over the nodes (parents come before
 * children, so a reverse walk sees every child before its parent) to get
 * subtree totals.  Per-function totals walk each leaf that has samples up
 * to the root once, stamping each function with the leaf's generation so
 * a function that recurses is counted once per stack: the cost is the sum
 * of the depths of the distinct hot leaves, not of the samples.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "src/profile.h"
#include "util.h"

#define NO_TID INT32_MIN

/* Distinct thread ids: an open-addressing set (a process has thousands of
 * threads at most, a session a million samples: lookups must be cheap). */
struct tid_set {
	int32_t *slots;
	size_t cap, n;      /* cap is a power of two */
	int32_t last;       /* most samples repeat the previous thread */
};

static void tid_set_add(struct tid_set *s, int32_t tid);

static void tid_set_grow(struct tid_set *s)
{
	int32_t *old = s->slots;
	size_t i, old_cap = s->cap;

	s->cap = old_cap ? old_cap * 2 : 64;
	s->slots = pk_xmalloc(s->cap * sizeof(*s->slots));
	for (i = 0; i < s->cap; i++)
		s->slots[i] = NO_TID;
	s->n = 0;
	for (i = 0; i < old_cap; i++)
		if (old[i] != NO_TID)
			tid_set_add(s, old[i]);
	free(old);
}

static void tid_set_add(struct tid_set *s, int32_t tid)
{
	size_t i;

	if (tid == s->last && s->n)
		return;
	s->last = tid;
	if ((s->n + 1) * 2 > s->cap)
		tid_set_grow(s);
	for (i = ((uint32_t)tid * 2654435761u) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
		if (s->slots[i] == tid)
			return;
		if (s->slots[i] == NO_TID) {
			s->slots[i] = tid;
			s->n++;
			return;
		}
	}
}

static int cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

	return x < y ? -1 : x > y;
}

/* Move the set's members into p->tids, sorted. */
static void tid_set_export(struct tid_set *s, struct pk_profile *p)
{
	size_t i, n = 0;

	p->tids = pk_xmalloc((s->n ? s->n : 1) * sizeof(*p->tids));
	for (i = 0; i < s->cap; i++)
		if (s->slots[i] != NO_TID)
			p->tids[n++] = s->slots[i];
	p->n_tids = n;
	qsort(p->tids, n, sizeof(*p->tids), cmp_i32);
	free(s->slots);
	memset(s, 0, sizeof(*s));
}

struct count_ctx {
	struct pk_profile *p;
	int32_t tid;
	int has_from, has_to;
	int64_t from_ns, to_ns;
	struct tid_set tids;
};

static int count_sample(void *opaque, const struct pk_sample *s)
{
	struct count_ctx *c = opaque;
	struct pk_profile *p = c->p;
	uint64_t w = s->weight > 0 ? (uint64_t)s->weight : 0;

	if (s->event != p->event)
		return 0;
	if (c->tid && s->tid != c->tid)
		return 0;
	if ((c->has_from && s->time_ns < c->from_ns) || (c->has_to && s->time_ns >= c->to_ns))
		return 0;
	/* A node newer than the symbol table (session still being recorded)
	 * cannot be named: count the sample without a stack. */
	if (s->stack_id > 0 && (uint64_t)s->stack_id <= p->symtab.n_nodes)
		p->node_self[s->stack_id - 1] += w;
	else
		p->root_self += w;
	p->total += w;
	p->n_samples++;
	tid_set_add(&c->tids, s->tid);
	return 0;
}

/* Which event to count: the one asked for, else the mode's own, else the
 * first one recorded (a session of one event needs no --event).  Returns
 * the id, 0 when the session has no events, or PK_STORE_NOTFOUND. */
static int choose_event(struct pk_store *st, const struct pk_profile *p, const char *asked)
{
	const char *own = p->session.mode && !strcmp(p->session.mode, "wall") ? "wall" : "cpu";
	int id;

	if (asked) {
		id = pk_store_find_event(st, p->session.id, asked);
		return id > 0 && (size_t)id <= p->symtab.n_events ? id : PK_STORE_NOTFOUND;
	}
	id = pk_store_find_event(st, p->session.id, own);
	if (id > 0 && (size_t)id <= p->symtab.n_events)
		return id;
	return p->symtab.n_events ? 1 : 0;
}

static double session_seconds(struct pk_store *st, const struct pk_session *s)
{
	double v;

	if (pk_store_get_stat(st, s->id, "duration_s", &v) == PK_STORE_OK && isfinite(v) && v >= 0)
		return v;
	if (s->ended_ns > s->started_ns)
		return (double)(s->ended_ns - s->started_ns) / 1e9;
	return 0;
}

int pk_profile_load(struct pk_store *st, const char *spec, const struct pk_filter *filter,
		    struct pk_profile *p)
{
	static const struct pk_filter all;
	struct count_ctx c;
	double hz;
	size_t nn;
	int rc;

	memset(p, 0, sizeof(*p));
	if (!filter)
		filter = &all;
	if ((rc = pk_store_session_find(st, spec, &p->session)) != PK_STORE_OK)
		goto fail;
	if ((rc = pk_store_load_symtab(st, p->session.id, &p->symtab)) != PK_STORE_OK)
		goto fail;
	if ((rc = choose_event(st, p, filter->event)) < 0)
		goto fail;
	p->event = rc;
	if (p->event > 0) {
		p->event_name = p->symtab.events[p->event - 1].name;
		p->event_unit = p->symtab.events[p->event - 1].unit;
	} else {
		p->event_name = filter->event ? filter->event
			: p->session.mode && !strcmp(p->session.mode, "wall") ? "wall" : "cpu";
		p->event_unit = "samples";
	}
	nn = p->symtab.n_nodes;
	p->node_self = pk_xcalloc(nn ? nn : 1, sizeof(*p->node_self));
	p->node_total = pk_xcalloc(nn ? nn : 1, sizeof(*p->node_total));

	memset(&c, 0, sizeof(c));
	c.p = p;
	c.tid = filter->tid;
	c.has_from = filter->has_from;
	c.has_to = filter->has_to;
	/* Rounded: 0.95 s must mean 950000000 ns, not one less. */
	c.from_ns = llround(filter->from_s * 1e9);
	c.to_ns = llround(filter->to_s * 1e9);
	/* With no events there is nothing to count, and event 0 would mean
	 * "every event" to the store. */
	if (p->event > 0 && (rc = pk_store_foreach_sample(st, p->session.id, p->event,
							  count_sample, &c)) != PK_STORE_OK) {
		free(c.tids.slots);
		goto fail;
	}
	tid_set_export(&c.tids, p);

	memcpy(p->node_total, p->node_self, nn * sizeof(*p->node_total));
	while (nn-- > 0) {
		int64_t parent = p->symtab.nodes[nn].parent;

		if (parent > 0 && (size_t)parent <= nn)
			p->node_total[parent - 1] += p->node_total[nn];
	}

	p->duration_s = session_seconds(st, &p->session);
	if (pk_store_get_stat(st, p->session.id, "achieved_hz", &hz) == PK_STORE_OK && isfinite(hz) && hz > 0)
		p->sample_hz = hz;
	else if (p->session.frequency > 0)
		p->sample_hz = p->session.frequency;
	return PK_STORE_OK;
fail:
	pk_profile_release(p);
	return rc;
}

void pk_profile_release(struct pk_profile *p)
{
	if (!p)
		return;
	pk_session_release(&p->session);
	pk_symtab_release(&p->symtab);
	free(p->node_self);
	free(p->node_total);
	free(p->tids);
	memset(p, 0, sizeof(*p));
}

const char *pk_profile_function_name(const struct pk_profile *p, int64_t function_id)
{
	const char *name;

	if (function_id < 1 || (uint64_t)function_id > p->symtab.n_functions)
		return "[unknown]";
	name = p->symtab.functions[function_id - 1].name;
	return name && *name ? name : "[unknown]";
}

const char *pk_profile_module_name(const struct pk_profile *p, int64_t module_id)
{
	const char *path;

	if (module_id < 1 || (uint64_t)module_id > p->symtab.n_modules)
		return "[unknown]";
	path = p->symtab.modules[module_id - 1].path;
	return path && *path ? path : "[unknown]";
}

/* The frame row of a frame id, or NULL. */
static const struct pk_frame_row *frame_row(const struct pk_profile *p, int64_t frame_id)
{
	if (frame_id < 1 || (uint64_t)frame_id > p->symtab.n_frames)
		return NULL;
	return &p->symtab.frames[frame_id - 1];
}

int64_t pk_profile_node_function(const struct pk_profile *p, int64_t node_id)
{
	const struct pk_frame_row *fr;

	if (node_id < 1 || (uint64_t)node_id > p->symtab.n_nodes)
		return 0;
	fr = frame_row(p, p->symtab.nodes[node_id - 1].frame_id);
	return fr ? fr->function_id : 0;
}

int pk_profile_stack_frames(const struct pk_profile *p, int64_t node_id, int64_t *frames, int max)
{
	int depth = 0;

	/* parent < child always; the check also stops a corrupt cycle. */
	while (node_id > 0 && (uint64_t)node_id <= p->symtab.n_nodes && depth < max) {
		int64_t parent = p->symtab.nodes[node_id - 1].parent;

		frames[depth++] = p->symtab.nodes[node_id - 1].frame_id;
		if (parent >= node_id)
			break;
		node_id = parent;
	}
	return depth;
}

double pk_profile_seconds(const struct pk_profile *p, uint64_t weight)
{
	return p->sample_hz > 0 ? (double)weight / p->sample_hz : NAN;
}

/* Order: self descending, then total descending, then name. */
static int cmp_func_stat(const void *a, const void *b, void *ctx)
{
	const struct pk_func_stat *x = a, *y = b;

	if (x->self != y->self)
		return x->self > y->self ? -1 : 1;
	if (x->total != y->total)
		return x->total > y->total ? -1 : 1;
	return strcmp(pk_profile_function_name(ctx, x->function_id),
		      pk_profile_function_name(ctx, y->function_id));
}

int pk_profile_function_stats(const struct pk_profile *p, struct pk_func_stat **out, size_t *n)
{
	size_t nf = p->symtab.n_functions, nfr = p->symtab.n_frames, i, count = 0;
	uint64_t *self = pk_xcalloc(nf + 1, sizeof(*self));
	uint64_t *total = pk_xcalloc(nf + 1, sizeof(*total));
	uint32_t *fstamp = pk_xcalloc(nf + 1, sizeof(*fstamp));
	uint64_t *frame_w = pk_xcalloc(nfr + 1, sizeof(*frame_w));
	uint32_t *frstamp = pk_xcalloc(nfr + 1, sizeof(*frstamp));
	uint64_t *best_w = pk_xcalloc(nf + 1, sizeof(*best_w));
	int64_t *best_frame = pk_xcalloc(nf + 1, sizeof(*best_frame));
	struct pk_func_stat *v;
	uint32_t gen = 0;

	for (i = 0; i < p->symtab.n_nodes; i++) {
		uint64_t w = p->node_self[i];
		int64_t id = (int64_t)i + 1, f = pk_profile_node_function(p, id);

		if (!w)
			continue;
		gen++;
		self[f] += w;
		while (id > 0) {
			int64_t fr = p->symtab.nodes[id - 1].frame_id, parent = p->symtab.nodes[id - 1].parent;
			const struct pk_frame_row *row = frame_row(p, fr);

			if (row) {
				if (frstamp[fr] != gen) {
					frstamp[fr] = gen;
					frame_w[fr] += w;
				}
				f = row->function_id;
				if (f > 0 && (size_t)f <= nf && fstamp[f] != gen) {
					fstamp[f] = gen;
					total[f] += w;
				}
			}
			if (parent >= id)
				break;
			id = parent;
		}
	}
	/* The hot spot of each function: its heaviest frame with a file. */
	for (i = 1; i <= nfr; i++) {
		const struct pk_frame_row *row = &p->symtab.frames[i - 1];
		int64_t f = row->function_id;

		if (!frame_w[i] || !row->file || !*row->file || f < 1 || (size_t)f > nf)
			continue;
		if (frame_w[i] > best_w[f]) {
			best_w[f] = frame_w[i];
			best_frame[f] = (int64_t)i;
		}
	}
	for (i = 1; i <= nf; i++)
		count += total[i] > 0;
	v = pk_xmalloc((count ? count : 1) * sizeof(*v));
	count = 0;
	for (i = 1; i <= nf; i++) {
		if (!total[i])
			continue;
		v[count].function_id = (int64_t)i;
		v[count].self = self[i];
		v[count].total = total[i];
		v[count].source_frame_id = best_frame[i];
		count++;
	}
	qsort_r(v, count, sizeof(*v), cmp_func_stat, (void *)p);
	free(self);
	free(total);
	free(fstamp);
	free(frame_w);
	free(frstamp);
	free(best_w);
	free(best_frame);
	*out = v;
	*n = count;
	return PK_STORE_OK;
}
