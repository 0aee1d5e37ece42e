/*
 * cache.c - loading what "perfkit cache" shows (see cache.h): counters
 * and their ratios, sampled events per function, the cache simulation.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "counter-status.h"
#include "src/cache.h"
#include "src/profile.h"
#include "util.h"

static const struct pk_cache_derived derived_template[] = {
	{ "ipc", "IPC (instructions per cycle)", "instructions", "cycles", 1, 0, NAN },
	{ "cache_miss_ratio", "cache miss ratio", "cache-misses", "cache-references", 100, 1, NAN },
	{ "l1d_miss_ratio", "L1D load miss ratio", "L1-dcache-load-misses", "L1-dcache-loads", 100, 1, NAN },
	{ "l1d_mpki", "L1D load misses per 1000 instructions", "L1-dcache-load-misses", "instructions", 1000, 0, NAN },
	{ "branch_miss_ratio", "branch miss ratio", "branch-misses", "branches", 100, 1, NAN },
	{ "dtlb_mpki", "dTLB load misses per 1000 instructions", "dTLB-load-misses", "instructions", 1000, 0, NAN },
};

const struct pk_counter_row *pk_cache_counter(const struct pk_cache_view *v, const char *name)
{
	size_t i;

	for (i = 0; i < v->n_process; i++)
		if (!strcmp(v->counters[i].name, name))
			return &v->counters[i];
	return NULL;
}

double pk_cache_value(const struct pk_cache_view *v, const char *name)
{
	const struct pk_counter_row *c = pk_cache_counter(v, name);

	return c && !strcmp(c->status, "counted") ? c->value : NAN;
}

static double ratio(uint64_t num, uint64_t den, double scale)
{
	return den ? (double)num / (double)den * scale : NAN;
}

double pk_cachesim_d1_ratio(const struct pk_cachesim_row *r)
{
	return ratio(r->d1mr + r->d1mw, r->dr + r->dw, 1);
}

double pk_cachesim_ll_ratio(const struct pk_cachesim_row *r)
{
	return ratio(r->dlmr + r->dlmw, r->dr + r->dw, 1);
}

double pk_cachesim_d1_mpki(const struct pk_cachesim_row *r)
{
	return ratio(r->d1mr + r->d1mw, r->ir, 1000);
}

char *pk_cache_status_message(const struct pk_cache_view *v, const struct pk_counter_row *c, char *buf, size_t len)
{
	return pk_counter_explain(c->status, c->err, pk_counter_kind_of(c->name), v->pmu_present, buf, len);
}

double pk_cache_running_share(const struct pk_counter_row *c)
{
	return c->enabled_ns ? (double)c->running_ns / (double)c->enabled_ns : NAN;
}

void pk_cache_sim_label(const struct pk_cache_view *v, char *buf, size_t len)
{
	snprintf(buf, len, "simulated (cachegrind, D1=%s, LL=%s)", v->sim.d1 ? v->sim.d1 : "?",
		 v->sim.ll ? v->sim.ll : "?");
}

const char *pk_cache_ratio_color(double percent)
{
	if (isnan(percent) || percent <= 5.0)
		return "";
	if (percent > 20.0)
		return "\033[31m";
	if (percent > 10.0)
		return "\033[35m";
	return "\033[33m";
}

/* The event sampled with --sample-on: unit "events", not cpu or wall. */
static const char *sampled_event_name(const struct pk_symtab *t)
{
	size_t i;

	for (i = 0; i < t->n_events; i++)
		if (!strcmp(t->events[i].unit, "events"))
			return t->events[i].name;
	return NULL;
}

static int load_sampled(struct pk_store *st, const struct pk_session *s, struct pk_cache_view *v)
{
	struct pk_symtab t;
	struct pk_filter f;
	struct pk_profile p;
	struct pk_func_stat *fs = NULL;
	const char *name;
	double d;
	size_t n = 0, i;
	int rc;

	memset(&t, 0, sizeof(t));
	if ((rc = pk_store_load_symtab(st, s->id, &t)) != PK_STORE_OK)
		return rc;
	name = sampled_event_name(&t);
	if (!name) {
		pk_symtab_release(&t);
		return PK_STORE_OK;
	}
	v->sampled_event = pk_xstrdup(name);
	pk_symtab_release(&t);
	memset(&f, 0, sizeof(f));
	f.event = v->sampled_event;
	if ((rc = pk_profile_load(st, s->name, &f, &p)) != PK_STORE_OK)
		return rc;
	pk_profile_function_stats(&p, &fs, &n);
	v->sampled_total = p.total;
	v->sampled = pk_xcalloc(n ? n : 1, sizeof(*v->sampled));
	for (i = 0; i < n; i++) {
		const struct pk_function_row *fr;

		if (!fs[i].self)
			continue;
		fr = &p.symtab.functions[fs[i].function_id - 1];
		v->sampled[v->n_sampled].function = pk_xstrdup(pk_profile_function_name(&p, fs[i].function_id));
		v->sampled[v->n_sampled].module = pk_xstrdup(pk_profile_module_name(&p, fr->module_id));
		v->sampled[v->n_sampled].events = fs[i].self;
		v->n_sampled++;
	}
	free(fs);
	pk_profile_release(&p);
	if (pk_store_get_stat(st, s->id, "sample_on_period", &d) == PK_STORE_OK)
		v->sampled_period = (uint64_t)d;
	if (pk_store_get_stat(st, s->id, "sample_on_lost", &d) == PK_STORE_OK)
		v->sampled_lost = (uint64_t)d;
	return PK_STORE_OK;
}

int pk_cache_view_load(struct pk_store *st, const struct pk_session *s, int lines, struct pk_cache_view *v)
{
	struct pk_cachesim_row *fn = NULL;
	size_t n_fn = 0, i;
	double d;
	int rc;

	memset(v, 0, sizeof(*v));
	v->pmu_present = -1;
	if ((rc = pk_store_counters(st, s->id, &v->counters, &v->n_counters)) != PK_STORE_OK)
		return rc;
	while (v->n_process < v->n_counters && v->counters[v->n_process].tid == 0)
		v->n_process++;
	if (pk_store_get_stat(st, s->id, "pmu_present", &d) == PK_STORE_OK)
		v->pmu_present = d > 0;
	if (pk_store_get_stat(st, s->id, "counters_threads_short", &d) == PK_STORE_OK)
		v->threads_short = (uint64_t)d;
	v->n_derived = sizeof(derived_template) / sizeof(derived_template[0]);
	memcpy(v->derived, derived_template, sizeof(derived_template));
	for (i = 0; i < v->n_derived; i++) {
		double num = pk_cache_value(v, v->derived[i].num), den = pk_cache_value(v, v->derived[i].den);

		v->derived[i].value = !isnan(num) && !isnan(den) && den > 0 ? num / den * v->derived[i].scale : NAN;
	}
	if ((rc = load_sampled(st, s, v)) != PK_STORE_OK)
		return rc;

	rc = pk_store_get_cachesim(st, s->id, &v->sim);
	if (rc == PK_STORE_NOTFOUND)
		return PK_STORE_OK;
	if (rc != PK_STORE_OK)
		return rc;
	v->have_sim = 1;
	if ((rc = pk_store_cachesim_rows(st, s->id, 0, &fn, &n_fn)) != PK_STORE_OK)
		return rc;
	for (i = 0; i < n_fn; i++) {
		struct pk_cachesim_row *t = &v->sim_total, *r = &fn[i];

		t->ir += r->ir;
		t->dr += r->dr;
		t->dw += r->dw;
		t->d1mr += r->d1mr;
		t->d1mw += r->d1mw;
		t->dlmr += r->dlmr;
		t->dlmw += r->dlmw;
		t->i1mr += r->i1mr;
		t->ilmr += r->ilmr;
	}
	if (!lines) {
		v->sim_rows = fn;
		v->n_sim_rows = n_fn;
		return PK_STORE_OK;
	}
	pk_cachesim_row_array_free(fn, n_fn);
	return pk_store_cachesim_rows(st, s->id, 1, &v->sim_rows, &v->n_sim_rows);
}

void pk_cache_view_release(struct pk_cache_view *v)
{
	size_t i;

	if (!v)
		return;
	pk_counter_array_free(v->counters, v->n_counters);
	for (i = 0; i < v->n_sampled; i++) {
		free(v->sampled[i].function);
		free(v->sampled[i].module);
	}
	free(v->sampled);
	free(v->sampled_event);
	pk_cachesim_info_release(&v->sim);
	pk_cachesim_row_array_free(v->sim_rows, v->n_sim_rows);
	memset(v, 0, sizeof(*v));
}
