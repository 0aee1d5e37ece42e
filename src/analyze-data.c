/*
 * analyze-data.c - the optional evidence of "perfkit analyze":
 * allocation sites, function-probe counts and cache data, read from the
 * store when the session recorded them (perfkitd --alloc, --probe,
 * --counters / --cache-sim).  A session without them leaves the fields
 * NULL and the rules that need them stay silent.
 *
 * Each loader turns the store's own rows into the small structs of
 * analyze.h, so the rules never depend on how a section is stored.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "src/allocs.h"
#include "src/analyze.h"
#include "util.h"

int pk_evidence_load_optional(struct pk_store *st, struct pk_evidence *ev);
void pk_evidence_release_optional(struct pk_evidence *ev);

/* The function id of the call site of an allocation stack: the first
 * frame from the leaf that is not an allocator function; 0 = none. */
static int64_t site_of(const struct pk_profile *p, int64_t node)
{
	while (node > 0 && (size_t)node <= p->symtab.n_nodes) {
		int64_t f = pk_profile_node_function(p, node), parent = p->symtab.nodes[node - 1].parent;

		if (f > 0 && !pk_allocs_is_allocator(pk_profile_function_name(p, f)))
			return f;
		if (parent >= node)
			break;
		node = parent;
	}
	return 0;
}

/* Live bytes at the end of each of n equal time steps of the timeline. */
static void resample_timeline(const struct pk_alloc_data *d, struct pk_alloc_ev *a)
{
	const size_t steps = 16;
	int64_t t0, t1;
	size_t i, k = 0;

	if (d->n_timeline < 2)
		return;
	t0 = d->timeline[0].time_ns;
	t1 = d->timeline[d->n_timeline - 1].time_ns;
	if (t1 <= t0)
		return;
	a->timeline = pk_xcalloc(steps, sizeof(*a->timeline));
	a->n_timeline = steps;
	for (i = 0; i < steps; i++) {
		int64_t end = t0 + (int64_t)((double)(t1 - t0) * (double)(i + 1) / (double)steps);

		while (k + 1 < d->n_timeline && d->timeline[k + 1].time_ns <= end)
			k++;
		a->timeline[i] = d->timeline[k].live_bytes > 0 ? (uint64_t)d->timeline[k].live_bytes : 0;
	}
}

static uint64_t u64(int64_t v)
{
	return v > 0 ? (uint64_t)v : 0;
}

/*
 * Allocation data (perfkitd --alloc; store schema v3), grouped by call
 * site as "perfkit allocs" groups it (allocs.h).  The store keeps
 * aggregates per stack, so a site's largest block is known only among
 * its blocks live at the end, and realloc steps not at all (the
 * excessive-allocation rule reads those from CPU samples).
 */
static int load_alloc(struct pk_store *st, struct pk_evidence *ev)
{
	const struct pk_profile *p = ev->profile;
	struct pk_alloc_data d;
	struct pk_alloc_ev *a;
	size_t nf = p->symtab.n_functions, i, cap = 0;
	int64_t *index;
	int rc;

	memset(&d, 0, sizeof(d));
	rc = pk_store_alloc_read(st, p->session.id, &d);
	if (rc == PK_STORE_NOTFOUND)
		return PK_STORE_OK;
	if (rc != PK_STORE_OK)
		return rc;
	a = pk_xcalloc(1, sizeof(*a));
	a->alloc_calls = u64(d.summary.alloc_calls);
	a->free_calls = u64(d.summary.free_calls);
	a->bytes_allocated = u64(d.summary.bytes_allocated);
	a->bytes_freed = u64(d.summary.bytes_freed);
	a->peak_bytes = u64(d.summary.peak_bytes);
	a->live_bytes = u64(d.summary.live_bytes);
	a->live_count = u64(d.summary.live_count);
	a->target_exited = d.summary.target_exited;
	/* index[f] = 1 + the site's position in a->sites. */
	index = pk_xcalloc(nf + 1, sizeof(*index));
	for (i = 0; i < d.n_stacks; i++) {
		const struct pk_alloc_stack_row *r = &d.stacks[i];
		int64_t f = site_of(p, r->stack_id);
		struct pk_alloc_site_ev *s;

		if (f < 0 || (size_t)f > nf)
			f = 0;
		if (!index[f]) {
			pk_xgrow((void **)&a->sites, &cap, a->n_sites + 1, sizeof(*a->sites));
			s = &a->sites[a->n_sites++];
			memset(s, 0, sizeof(*s));
			s->function_id = f;
			s->function = pk_xstrdup(pk_profile_function_name(p, f));
			index[f] = (int64_t)a->n_sites;
		}
		s = &a->sites[index[f] - 1];
		s->count += u64(r->allocs);
		s->bytes += u64(r->bytes);
		s->frees += u64(r->frees);
		s->bytes_freed += u64(r->bytes_freed);
		s->live_count += u64(r->live_count);
		s->live_bytes += u64(r->live_bytes);
		if (u64(r->peak_bytes) > s->peak_bytes)
			s->peak_bytes = u64(r->peak_bytes);
	}
	for (i = 0; i < d.n_live; i++) {
		int64_t f = site_of(p, d.live[i].stack_id);

		if (f < 0 || (size_t)f > nf || !index[f])
			continue;
		if (u64(d.live[i].size) > a->sites[index[f] - 1].max_size)
			a->sites[index[f] - 1].max_size = u64(d.live[i].size);
	}
	resample_timeline(&d, a);
	free(index);
	pk_alloc_data_release(&d);
	ev->alloc = a;
	return PK_STORE_OK;
}

/* Function probes (perfkitd --probe; schema v4): all-threads rows. */
static int load_probes(struct pk_store *st, struct pk_evidence *ev)
{
	const struct pk_profile *p = ev->profile;
	struct pk_probe_row *rows = NULL;
	size_t n = 0, i, f;
	int rc;

	if ((rc = pk_store_probe_rows(st, p->session.id, 1, &rows, &n)) != PK_STORE_OK)
		return rc == PK_STORE_NOTFOUND ? PK_STORE_OK : rc;
	if (!n) {
		pk_probe_row_array_free(rows, n);
		return PK_STORE_OK;
	}
	ev->probes = pk_xcalloc(n, sizeof(*ev->probes));
	for (i = 0; i < n; i++) {
		struct pk_probe_ev *pr = &ev->probes[ev->n_probes++];

		pr->function = pk_xstrdup(rows[i].function ? rows[i].function : "[unknown]");
		for (f = 1; f <= p->symtab.n_functions; f++)
			if (!strcmp(pk_profile_function_name(p, (int64_t)f), pr->function)) {
				pr->function_id = (int64_t)f;
				break;
			}
		pr->calls = u64(rows[i].calls);
		pr->total_ns = (double)rows[i].total_ns;
		pr->avg_ns = rows[i].returned > 0 ? (double)rows[i].sum_ns / (double)rows[i].returned : NAN;
	}
	pk_probe_row_array_free(rows, n);
	return PK_STORE_OK;
}

/* Cache data: a cachegrind simulation (perfkitd run --cache-sim; schema
 * v5), per function.  Hardware cache-miss samples (--sample-on) are a
 * sample event that the CPU rules do not read. */
static int load_cache(struct pk_store *st, struct pk_evidence *ev)
{
	const struct pk_profile *p = ev->profile;
	struct pk_cachesim_info info;
	struct pk_cachesim_row *rows = NULL;
	size_t n = 0, i, f;
	double all_refs = 0;
	char *source;
	int rc;

	memset(&info, 0, sizeof(info));
	rc = pk_store_get_cachesim(st, p->session.id, &info);
	if (rc == PK_STORE_NOTFOUND)
		return PK_STORE_OK;
	if (rc != PK_STORE_OK)
		return rc;
	if ((rc = pk_store_cachesim_rows(st, p->session.id, 0, &rows, &n)) != PK_STORE_OK) {
		pk_cachesim_info_release(&info);
		return rc;
	}
	source = pk_xasprintf("simulated (%s, D1=%s, LL=%s)", info.tool ? info.tool : "cachegrind",
			      info.d1 ? info.d1 : "?", info.ll ? info.ll : "?");
	for (i = 0; i < n; i++)
		all_refs += (double)(rows[i].dr + rows[i].dw);
	ev->cache = pk_xcalloc(n ? n : 1, sizeof(*ev->cache));
	for (i = 0; i < n; i++) {
		const struct pk_cachesim_row *r = &rows[i];
		struct pk_cache_ev *c = &ev->cache[ev->n_cache++];
		double refs = (double)(r->dr + r->dw);

		c->function = pk_xstrdup(r->function ? r->function : "[unknown]");
		c->source = pk_xstrdup(source);
		for (f = 1; f <= p->symtab.n_functions; f++)
			if (!strcmp(pk_profile_function_name(p, (int64_t)f), c->function)) {
				c->function_id = (int64_t)f;
				break;
			}
		c->refs_share = all_refs > 0 ? refs / all_refs : 0;
		c->d1_miss_ratio = refs > 0 ? (double)(r->d1mr + r->d1mw) / refs : NAN;
		c->ll_miss_ratio = refs > 0 ? (double)(r->dlmr + r->dlmw) / refs : NAN;
		c->d1_mpki = r->ir ? 1000.0 * (double)(r->d1mr + r->d1mw) / (double)r->ir : NAN;
	}
	free(source);
	pk_cachesim_row_array_free(rows, n);
	pk_cachesim_info_release(&info);
	return PK_STORE_OK;
}

int pk_evidence_load_optional(struct pk_store *st, struct pk_evidence *ev)
{
	int rc;

	if ((rc = load_alloc(st, ev)) != PK_STORE_OK)
		return rc;
	if ((rc = load_probes(st, ev)) != PK_STORE_OK)
		return rc;
	return load_cache(st, ev);
}

void pk_evidence_release_optional(struct pk_evidence *ev)
{
	size_t i;

	if (ev->alloc) {
		for (i = 0; i < ev->alloc->n_sites; i++)
			free((char *)ev->alloc->sites[i].function);
		free(ev->alloc->sites);
		free(ev->alloc->timeline);
		free(ev->alloc);
		ev->alloc = NULL;
	}
	for (i = 0; i < ev->n_probes; i++)
		free((char *)ev->probes[i].function);
	free(ev->probes);
	ev->probes = NULL;
	ev->n_probes = 0;
	for (i = 0; i < ev->n_cache; i++) {
		free((char *)ev->cache[i].function);
		free((char *)ev->cache[i].source);
	}
	free(ev->cache);
	ev->cache = NULL;
	ev->n_cache = 0;
}
