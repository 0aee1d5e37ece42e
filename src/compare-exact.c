/*
 * compare-exact.c - the part of a comparison that is counted, not
 * sampled (see struct pk_compare_exact in compare.h): allocation totals
 * and call sites (perfkitd --alloc), probed functions' calls and mean
 * latency (--probe), and counters (--counters), each matched across the
 * two sessions.  Nothing here is tested for significance: an exact count
 * has no sampling noise, and the latency summaries stored hold no
 * variance to test with.
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "src/allocs.h"
#include "src/compare.h"
#include "util.h"

const struct pk_compare_alloc_total pk_compare_alloc_totals[] = {
	{ "alloc_count", "allocations", "allocations", offsetof(struct pk_alloc_summary, alloc_calls) },
	{ "free_count", "frees", "frees", offsetof(struct pk_alloc_summary, free_calls) },
	{ "alloc_bytes", "bytes allocated", "bytes", offsetof(struct pk_alloc_summary, bytes_allocated) },
	{ "peak_bytes", "peak memory", "bytes", offsetof(struct pk_alloc_summary, peak_bytes) },
	{ "live_bytes", "not freed at the end", "bytes", offsetof(struct pk_alloc_summary, live_bytes) },
	{ "live_count", "blocks not freed", "blocks", offsetof(struct pk_alloc_summary, live_count) },
};
const size_t pk_compare_n_alloc_totals = sizeof(pk_compare_alloc_totals) / sizeof(pk_compare_alloc_totals[0]);

int64_t pk_compare_alloc_total_value(const struct pk_compare_alloc_total *t, const struct pk_alloc_summary *s)
{
	int64_t v;

	memcpy(&v, (const char *)s + t->offset, sizeof(v));
	return v;
}

/* ---- allocation sites ------------------------------------------------------ */

struct site_key {
	const char *name, *key, *module;   /* borrowed from the profile */
	int side;
	int64_t count, bytes, live_bytes;
};

static int cmp_site_key(const void *x, const void *y)
{
	const struct site_key *a = x, *b = y;
	int c = strcmp(a->name, b->name);

	if (c || (c = strcmp(a->key, b->key)))
		return c;
	return a->side - b->side;
}

/*
 * The call site of an allocation stack: the first frame, from the leaf,
 * whose function is not an allocator (as perfkit allocs groups them).
 * Returns its function id, 0 when every frame is an allocator.
 */
static int64_t call_site(const struct pk_profile *p, int64_t node)
{
	size_t guard = 0;

	while (node >= 1 && (size_t)node <= p->symtab.n_nodes && guard++ <= p->symtab.n_nodes) {
		int64_t fid = pk_profile_node_function(p, node);

		if (!pk_allocs_is_allocator(pk_profile_function_name(p, fid)))
			return fid;
		node = p->symtab.nodes[node - 1].parent;
	}
	return 0;
}

/* Append one session's allocation stacks to v as site keys. */
static void site_keys(const struct pk_profile *p, const struct pk_alloc_data *d, int side,
		      struct site_key **v, size_t *n, size_t *cap)
{
	int64_t main_module = pk_compare_main_module(p);
	size_t i;

	for (i = 0; i < d->n_stacks; i++) {
		const struct pk_alloc_stack_row *r = &d->stacks[i];
		int64_t fid = call_site(p, r->stack_id);
		int64_t mod = fid >= 1 && (size_t)fid <= p->symtab.n_functions ? p->symtab.functions[fid - 1].module_id : 0;
		struct site_key *k;

		pk_xgrow((void **)v, cap, *n + 1, sizeof(**v));
		k = &(*v)[(*n)++];
		k->name = pk_profile_function_name(p, fid);
		k->key = fid ? pk_compare_module_key(p, mod, main_module) : "";
		k->module = fid ? pk_basename(pk_profile_module_name(p, mod)) : "";
		k->side = side;
		k->count = r->allocs;
		k->bytes = r->bytes;
		k->live_bytes = r->live_bytes;
	}
}

static int64_t abs64(int64_t v)
{
	return v < 0 ? -v : v;
}

static int cmp_site_change(const void *x, const void *y)
{
	const struct pk_compare_alloc_site *a = x, *b = y;
	int64_t ba = abs64(a->bytes[1] - a->bytes[0]), bb = abs64(b->bytes[1] - b->bytes[0]);
	int64_t ca = abs64(a->count[1] - a->count[0]), cb = abs64(b->count[1] - b->count[0]);
	int c;

	if (ba != bb)
		return ba > bb ? -1 : 1;
	if (ca != cb)
		return ca > cb ? -1 : 1;
	if ((c = strcmp(a->function, b->function)))
		return c;
	return strcmp(a->module, b->module);
}

/* Sites of both sessions, merged by (name, key); only changed ones kept. */
static void match_sites(struct pk_compare *c, const struct pk_alloc_data *db, const struct pk_alloc_data *da)
{
	struct pk_compare_exact *x = &c->exact;
	struct site_key *v = NULL;
	size_t n = 0, cap = 0, i = 0, cap_sites = 0;

	site_keys(&c->before_profile, db, 0, &v, &n, &cap);
	site_keys(&c->after_profile, da, 1, &v, &n, &cap);
	if (n)
		qsort(v, n, sizeof(*v), cmp_site_key);
	while (i < n) {
		struct pk_compare_alloc_site s;
		const char *module = v[i].module;
		size_t j = i;

		memset(&s, 0, sizeof(s));
		for (; j < n && !strcmp(v[j].name, v[i].name) && !strcmp(v[j].key, v[i].key); j++) {
			s.count[v[j].side] += v[j].count;
			s.bytes[v[j].side] += v[j].bytes;
			s.live_bytes[v[j].side] += v[j].live_bytes;
			if (v[j].side == 1)
				module = v[j].module;
		}
		if (s.count[0] == s.count[1] && s.bytes[0] == s.bytes[1] && s.live_bytes[0] == s.live_bytes[1]) {
			x->n_sites_unchanged++;
		} else {
			s.function = pk_xstrdup(v[i].name);
			s.module = pk_xstrdup(module);
			s.presence = !s.count[0] ? PK_PRESENT_ADDED : !s.count[1] ? PK_PRESENT_REMOVED : PK_PRESENT_BOTH;
			pk_xgrow((void **)&x->sites, &cap_sites, x->n_sites + 1, sizeof(*x->sites));
			x->sites[x->n_sites++] = s;
		}
		i = j;
	}
	free(v);
	if (x->n_sites)
		qsort(x->sites, x->n_sites, sizeof(*x->sites), cmp_site_change);
}

static int load_allocs(struct pk_store *st, struct pk_compare *c)
{
	struct pk_compare_exact *x = &c->exact;
	struct pk_alloc_data d[2];
	const struct pk_profile *p[2] = { &c->before_profile, &c->after_profile };
	int i, rc = PK_STORE_OK;

	memset(d, 0, sizeof(d));
	for (i = 0; i < 2 && rc == PK_STORE_OK; i++) {
		rc = pk_store_alloc_read(st, p[i]->session.id, &d[i]);
		if (rc == PK_STORE_OK) {
			x->have_allocs[i] = 1;
			x->allocs[i] = d[i].summary;
		} else if (rc == PK_STORE_NOTFOUND) {
			rc = PK_STORE_OK;
		}
	}
	if (rc == PK_STORE_OK && x->have_allocs[0] && x->have_allocs[1])
		match_sites(c, &d[0], &d[1]);
	pk_alloc_data_release(&d[0]);
	pk_alloc_data_release(&d[1]);
	return rc;
}

/* ---- probes ---------------------------------------------------------------- */

struct probe_key {
	const struct pk_probe_row *row;
	const char *key;
	int side;
};

static int cmp_probe_key(const void *x, const void *y)
{
	const struct probe_key *a = x, *b = y;
	int c = strcmp(a->row->function, b->row->function);

	if (c || (c = strcmp(a->key, b->key)))
		return c;
	return a->side - b->side;
}

/* The module key of a probe row: "" for the profiled program (the row
 * names its module by file name). */
static const char *probe_module_key(const struct pk_profile *p, const char *module)
{
	int64_t m = pk_compare_main_module(p);

	if (m && module && !strcmp(pk_basename(pk_profile_module_name(p, m)), module))
		return "";
	return module ? module : "";
}

static double probe_total_change(const struct pk_compare_probe *p)
{
	double b = isnan(p->avg_ns[0]) ? 0 : p->avg_ns[0] * (double)p->returned[0];
	double a = isnan(p->avg_ns[1]) ? 0 : p->avg_ns[1] * (double)p->returned[1];

	return fabs(a - b);
}

static int cmp_probe_change(const void *x, const void *y)
{
	const struct pk_compare_probe *a = x, *b = y;
	double ia = probe_total_change(a), ib = probe_total_change(b);
	int c;

	if ((a->presence == PK_PRESENT_BOTH) != (b->presence == PK_PRESENT_BOTH))
		return a->presence == PK_PRESENT_BOTH ? -1 : 1;
	if (ia != ib)
		return ia > ib ? -1 : 1;
	if ((c = strcmp(a->function, b->function)))
		return c;
	return strcmp(a->module, b->module);
}

static void probe_side(struct pk_compare_probe *p, int side, const struct pk_probe_row *r)
{
	p->calls[side] = r->calls;
	p->returned[side] = r->returned;
	p->lost[side] = r->lost;
	p->avg_ns[side] = r->returned > 0 ? (double)r->sum_ns / (double)r->returned : NAN;
	p->p50_ns[side] = r->p50_ns;
	p->p99_ns[side] = r->p99_ns;
}

/* Give the sampled entries of a function probed in both its calls and
 * latency. */
static void mark_entries(struct pk_compare *c, const struct pk_compare_probe *p, const char *key)
{
	size_t i;

	for (i = 0; i < c->n_entries; i++) {
		struct pk_compare_entry *e = &c->entries[i];

		if (strcmp(e->function, p->function) || strcmp(e->key, key))
			continue;
		e->probed = 1;
		e->calls[0] = p->calls[0];
		e->calls[1] = p->calls[1];
		e->avg_ns[0] = p->avg_ns[0];
		e->avg_ns[1] = p->avg_ns[1];
	}
}

static int load_probes(struct pk_store *st, struct pk_compare *c)
{
	struct pk_compare_exact *x = &c->exact;
	const struct pk_profile *prof[2] = { &c->before_profile, &c->after_profile };
	struct pk_probe_row *rows[2] = { NULL, NULL };
	size_t nrows[2] = { 0, 0 }, n = 0, i, k;
	struct probe_key *v;
	int rc = PK_STORE_OK;

	for (k = 0; k < 2 && rc == PK_STORE_OK; k++) {
		rc = pk_store_probe_rows(st, prof[k]->session.id, 1, &rows[k], &nrows[k]);
		x->have_probes[k] = rc == PK_STORE_OK && nrows[k] > 0;
	}
	if (rc != PK_STORE_OK) {
		for (k = 0; k < 2; k++)
			pk_probe_row_array_free(rows[k], nrows[k]);
		return rc;
	}
	v = pk_xmalloc((nrows[0] + nrows[1] + 1) * sizeof(*v));
	for (k = 0; k < 2; k++)
		for (i = 0; i < nrows[k]; i++)
			v[n++] = (struct probe_key){ &rows[k][i], probe_module_key(prof[k], rows[k][i].module), (int)k };
	if (n)
		qsort(v, n, sizeof(*v), cmp_probe_key);
	x->probes = pk_xcalloc(n + 1, sizeof(*x->probes));
	for (i = 0; i < n;) {
		struct pk_compare_probe *p = &x->probes[x->n_probes++];
		size_t j = i;
		int seen[2] = { 0, 0 };

		p->avg_ns[0] = p->avg_ns[1] = NAN;
		p->module = pk_xstrdup(v[i].row->module);
		for (; j < n && !strcmp(v[j].row->function, v[i].row->function) && !strcmp(v[j].key, v[i].key);
		     j++) {
			/* tid 0 rows are unique per function and module. */
			probe_side(p, v[j].side, v[j].row);
			seen[v[j].side] = 1;
			if (v[j].side == 1) {
				free(p->module);
				p->module = pk_xstrdup(v[j].row->module);
			}
		}
		p->function = pk_xstrdup(v[i].row->function);
		p->presence = seen[0] && seen[1] ? PK_PRESENT_BOTH : seen[1] ? PK_PRESENT_ADDED : PK_PRESENT_REMOVED;
		if (p->presence == PK_PRESENT_BOTH) {
			x->n_probes_both++;
			mark_entries(c, p, v[i].key);
		}
		i = j;
	}
	free(v);
	for (k = 0; k < 2; k++)
		pk_probe_row_array_free(rows[k], nrows[k]);
	if (x->n_probes)
		qsort(x->probes, x->n_probes, sizeof(*x->probes), cmp_probe_change);
	return PK_STORE_OK;
}

/* ---- counters -------------------------------------------------------------- */

static int load_counters(struct pk_store *st, struct pk_compare *c)
{
	struct pk_compare_exact *x = &c->exact;
	struct pk_counter_row *rb = NULL, *ra = NULL;
	size_t nb = 0, na = 0, i, j;
	int rc;

	if ((rc = pk_store_counters(st, c->before_profile.session.id, &rb, &nb)) != PK_STORE_OK)
		return rc;
	if ((rc = pk_store_counters(st, c->after_profile.session.id, &ra, &na)) != PK_STORE_OK) {
		pk_counter_array_free(rb, nb);
		return rc;
	}
	x->counters = pk_xcalloc(nb + 1, sizeof(*x->counters));
	/* Process rows (tid 0) that were counted in both, in BEFORE's order;
	 * a counter that did not open on one side is not compared. */
	for (i = 0; i < nb; i++) {
		if (rb[i].tid != 0 || strcmp(rb[i].status, "counted"))
			continue;
		for (j = 0; j < na; j++) {
			struct pk_compare_counter *k;

			if (ra[j].tid != 0 || strcmp(ra[j].name, rb[i].name) || strcmp(ra[j].status, "counted"))
				continue;
			k = &x->counters[x->n_counters++];
			k->name = pk_xstrdup(rb[i].name);
			k->value[0] = rb[i].value;
			k->value[1] = ra[j].value;
			k->scaled[0] = rb[i].running_ns < rb[i].enabled_ns;
			k->scaled[1] = ra[j].running_ns < ra[j].enabled_ns;
			break;
		}
	}
	pk_counter_array_free(rb, nb);
	pk_counter_array_free(ra, na);
	return PK_STORE_OK;
}

int pk_compare_load_exact(struct pk_store *st, struct pk_compare *c)
{
	int rc;

	if ((rc = load_allocs(st, c)) != PK_STORE_OK || (rc = load_probes(st, c)) != PK_STORE_OK ||
	    (rc = load_counters(st, c)) != PK_STORE_OK)
		return rc;
	return PK_STORE_OK;
}

void pk_compare_exact_release(struct pk_compare_exact *x)
{
	size_t i;

	if (!x)
		return;
	for (i = 0; i < x->n_sites; i++) {
		free(x->sites[i].function);
		free(x->sites[i].module);
	}
	free(x->sites);
	for (i = 0; i < x->n_probes; i++) {
		free(x->probes[i].function);
		free(x->probes[i].module);
	}
	free(x->probes);
	for (i = 0; i < x->n_counters; i++)
		free(x->counters[i].name);
	free(x->counters);
	memset(x, 0, sizeof(*x));
}
