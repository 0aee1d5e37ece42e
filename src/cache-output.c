/*
 * cache-output.c - "perfkit cache" for scripts: JSON with stable keys and
 * one CSV table (see cache.h).  Unknown values are null (JSON) or empty
 * (CSV), never 0.
 */
#include <math.h>
#include <string.h>

#include "counter-status.h"
#include "json.h"
#include "output.h"
#include "src/cache.h"
#include "src/cli.h"

static void json_number(struct pk_json *j, const char *key, double v)
{
	pk_json_key(j, key);
	if (isnan(v))
		pk_json_null(j);
	else
		pk_json_double(j, v);
}

static void json_counter(struct pk_json *j, const struct pk_cache_view *v, const struct pk_counter_row *c)
{
	int counted = !strcmp(c->status, "counted");
	char buf[256];

	pk_json_begin_object(j);
	pk_json_key(j, "name");
	pk_json_string(j, c->name);
	pk_json_key(j, "status");
	pk_json_string(j, c->status);
	pk_json_key(j, "errno");
	pk_json_int(j, c->err);
	pk_json_key(j, "errno_name");
	pk_json_string(j, c->err ? strerrorname_np(c->err) : NULL);
	pk_json_key(j, "message");
	pk_json_string(j, pk_cache_status_message(v, c, buf, sizeof(buf)));
	json_number(j, "value", counted ? c->value : NAN);
	pk_json_key(j, "raw");
	if (counted)
		pk_json_uint(j, c->raw);
	else
		pk_json_null(j);
	pk_json_key(j, "scaled");
	pk_json_bool(j, counted && c->running_ns < c->enabled_ns);
	json_number(j, "running_share", counted ? pk_cache_running_share(c) : NAN);
	pk_json_key(j, "scope");
	pk_json_string(j, c->scope);
	pk_json_end_object(j);
}

static void json_sim_fields(struct pk_json *j, const struct pk_cachesim_row *r)
{
	pk_json_key(j, "instructions");
	pk_json_uint(j, r->ir);
	pk_json_key(j, "data_refs");
	pk_json_uint(j, r->dr + r->dw);
	pk_json_key(j, "d1_misses");
	pk_json_uint(j, r->d1mr + r->d1mw);
	pk_json_key(j, "ll_misses");
	pk_json_uint(j, r->dlmr + r->dlmw);
	json_number(j, "d1_miss_ratio", pk_cachesim_d1_ratio(r));
	json_number(j, "ll_miss_ratio", pk_cachesim_ll_ratio(r));
	json_number(j, "d1_mpki", pk_cachesim_d1_mpki(r));
}

void pk_cache_print_json(FILE *out, struct pk_store *st, const struct pk_session *s,
			 const struct pk_cache_view *v, int lines, size_t limit)
{
	struct pk_json j;
	size_t i, shown;
	char label[256];

	pk_json_init(&j, out, 1);
	pk_json_begin_object(&j);
	pk_json_key(&j, "session");
	pk_json_begin_object(&j);
	pk_cli_json_session(&j, st, s);
	pk_json_end_object(&j);
	pk_json_key(&j, "pmu_present");
	if (v->pmu_present < 0)
		pk_json_null(&j);
	else
		pk_json_bool(&j, v->pmu_present);
	pk_json_key(&j, "threads_missing_counters");
	pk_json_uint(&j, v->threads_short);
	pk_json_key(&j, "counters");
	pk_json_begin_array(&j);
	for (i = 0; i < v->n_process; i++)
		json_counter(&j, v, &v->counters[i]);
	pk_json_end_array(&j);
	pk_json_key(&j, "derived");
	pk_json_begin_object(&j);
	for (i = 0; i < v->n_derived; i++)
		json_number(&j, v->derived[i].key, v->derived[i].value);
	pk_json_end_object(&j);
	pk_json_key(&j, "threads");
	pk_json_begin_array(&j);
	for (i = v->n_process; i < v->n_counters; i++) {
		const struct pk_counter_row *c = &v->counters[i];

		pk_json_begin_object(&j);
		pk_json_key(&j, "tid");
		pk_json_int(&j, c->tid);
		pk_json_key(&j, "name");
		pk_json_string(&j, c->name);
		json_number(&j, "value", c->value);
		pk_json_key(&j, "scaled");
		pk_json_bool(&j, c->running_ns < c->enabled_ns);
		pk_json_end_object(&j);
	}
	pk_json_end_array(&j);

	pk_json_key(&j, "simulation");
	if (!v->have_sim) {
		pk_json_null(&j);
	} else {
		pk_cache_sim_label(v, label, sizeof(label));
		pk_json_begin_object(&j);
		pk_json_key(&j, "label");
		pk_json_string(&j, label);
		pk_json_key(&j, "tool");
		pk_json_string(&j, v->sim.tool);
		pk_json_key(&j, "d1");
		pk_json_string(&j, v->sim.d1);
		pk_json_key(&j, "ll");
		pk_json_string(&j, v->sim.ll);
		pk_json_key(&j, "i1");
		pk_json_string(&j, v->sim.i1);
		pk_json_key(&j, "geometry_from");
		pk_json_string(&j, v->sim.geometry_from);
		json_sim_fields(&j, &v->sim_total);
		pk_json_end_object(&j);
	}

	pk_json_key(&j, lines ? "lines" : "functions");
	pk_json_begin_array(&j);
	shown = limit && limit < v->n_sim_rows ? limit : v->n_sim_rows;
	for (i = 0; i < shown; i++) {
		const struct pk_cachesim_row *r = &v->sim_rows[i];

		pk_json_begin_object(&j);
		pk_json_key(&j, "function");
		pk_json_string(&j, r->function);
		pk_json_key(&j, "source");
		pk_json_string(&j, "simulated");
		pk_json_key(&j, "file");
		pk_json_string(&j, r->file);
		if (r->line) {
			pk_json_key(&j, "line");
			pk_json_int(&j, r->line);
		}
		json_sim_fields(&j, r);
		json_number(&j, "ipc", NAN);
		pk_json_end_object(&j);
	}
	shown = limit && limit < v->n_sampled ? limit : v->n_sampled;
	for (i = 0; !lines && i < shown; i++) {
		pk_json_begin_object(&j);
		pk_json_key(&j, "function");
		pk_json_string(&j, v->sampled[i].function);
		pk_json_key(&j, "source");
		pk_json_string(&j, pk_counter_kind_of(v->sampled_event) == PK_COUNTER_SOFTWARE ? "software" : "hardware");
		pk_json_key(&j, "module");
		pk_json_string(&j, v->sampled[i].module);
		pk_json_key(&j, "event");
		pk_json_string(&j, v->sampled_event);
		pk_json_key(&j, "label");
		pk_json_string(&j, "sampled, with skid");
		pk_json_key(&j, "events");
		pk_json_uint(&j, v->sampled[i].events);
		json_number(&j, "share", v->sampled_total ? (double)v->sampled[i].events / (double)v->sampled_total : NAN);
		json_number(&j, "d1_miss_ratio", NAN);
		json_number(&j, "ll_miss_ratio", NAN);
		json_number(&j, "d1_mpki", NAN);
		json_number(&j, "ipc", NAN);
		pk_json_end_object(&j);
	}
	pk_json_end_array(&j);
	pk_json_end_object(&j);
	pk_json_finish(&j);
}

static void csv_number(struct pk_csv *c, double v)
{
	if (isnan(v))
		pk_csv_field(c, "");
	else
		pk_csv_double(c, v);
}

void pk_cache_print_csv(FILE *out, const struct pk_cache_view *v, int lines, size_t limit)
{
	struct pk_csv c;
	size_t i, shown;
	char buf[256];
	static const char *const header[] = {
		"kind", "name", "status", "errno", "value", "running_share", "source", "file", "line",
		"instructions", "data_refs", "d1_misses", "ll_misses", "d1_miss_ratio", "ll_miss_ratio",
		"d1_mpki", "message",
	};

	pk_csv_init(&c, out);
	for (i = 0; i < sizeof(header) / sizeof(header[0]); i++)
		pk_csv_field(&c, header[i]);
	pk_csv_end_row(&c);
	for (i = 0; i < v->n_process; i++) {
		const struct pk_counter_row *r = &v->counters[i];
		int counted = !strcmp(r->status, "counted");

		pk_csv_field(&c, "counter");
		pk_csv_field(&c, r->name);
		pk_csv_field(&c, r->status);
		pk_csv_int(&c, r->err);
		csv_number(&c, counted ? r->value : NAN);
		csv_number(&c, counted ? pk_cache_running_share(r) : NAN);
		pk_csv_field(&c, "measured");
		for (int k = 0; k < 9; k++)
			pk_csv_field(&c, NULL);
		pk_csv_field(&c, pk_cache_status_message(v, r, buf, sizeof(buf)));
		pk_csv_end_row(&c);
	}
	for (i = 0; i < v->n_derived; i++) {
		pk_csv_field(&c, "derived");
		pk_csv_field(&c, v->derived[i].key);
		pk_csv_field(&c, NULL);
		pk_csv_field(&c, NULL);
		csv_number(&c, v->derived[i].value);
		for (int k = 0; k < 12; k++)
			pk_csv_field(&c, NULL);
		pk_csv_end_row(&c);
	}
	shown = limit && limit < v->n_sim_rows ? limit : v->n_sim_rows;
	for (i = 0; i < shown; i++) {
		const struct pk_cachesim_row *r = &v->sim_rows[i];

		pk_csv_field(&c, r->line ? "line" : "function");
		pk_csv_field(&c, r->function);
		pk_csv_field(&c, NULL);
		pk_csv_field(&c, NULL);
		pk_csv_field(&c, NULL);
		pk_csv_field(&c, NULL);
		pk_csv_field(&c, "simulated");
		pk_csv_field(&c, r->file);
		if (r->line)
			pk_csv_int(&c, r->line);
		else
			pk_csv_field(&c, NULL);
		pk_csv_int(&c, (int64_t)r->ir);
		pk_csv_int(&c, (int64_t)(r->dr + r->dw));
		pk_csv_int(&c, (int64_t)(r->d1mr + r->d1mw));
		pk_csv_int(&c, (int64_t)(r->dlmr + r->dlmw));
		csv_number(&c, pk_cachesim_d1_ratio(r));
		csv_number(&c, pk_cachesim_ll_ratio(r));
		csv_number(&c, pk_cachesim_d1_mpki(r));
		pk_csv_field(&c, NULL);
		pk_csv_end_row(&c);
	}
	shown = limit && limit < v->n_sampled ? limit : v->n_sampled;
	for (i = 0; !lines && i < shown; i++) {
		pk_csv_field(&c, "sampled");
		pk_csv_field(&c, v->sampled[i].function);
		pk_csv_field(&c, NULL);
		pk_csv_field(&c, NULL);
		pk_csv_int(&c, (int64_t)v->sampled[i].events);
		pk_csv_field(&c, NULL);
		pk_csv_field(&c, pk_counter_kind_of(v->sampled_event) == PK_COUNTER_SOFTWARE ? "software" : "hardware");
		for (int k = 0; k < 9; k++)
			pk_csv_field(&c, NULL);
		pk_csv_field(&c, "sampled, with skid");
		pk_csv_end_row(&c);
	}
}
