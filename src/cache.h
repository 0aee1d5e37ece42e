/*
 * cache.h - the model behind "perfkit cache": a session's measured
 * counters (with the status of each event and the derived ratios), its
 * sampled events per function (--sample-on), and its cache simulation
 * (cachegrind) per function or per source line.
 *
 * Values that cannot be known are NAN, never 0: a ratio whose inputs did
 * not open, a counter that was not counted.
 */
#ifndef PK_CACHE_H
#define PK_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "store/store.h"

/* A ratio and its inputs by name, e.g. IPC = instructions / cycles. */
struct pk_cache_derived {
	const char *key;      /* JSON key: "ipc", "cache_miss_ratio", ... */
	const char *label;    /* for people: "IPC", "cache miss ratio" */
	const char *num, *den;/* event names */
	double scale;         /* 1, 100 (percent) or 1000 (per kilo) */
	int is_miss_ratio;    /* coloured by perf's 5/10/20% bands */
	double value;         /* NAN unless both inputs were counted */
};

/* Per-function counts of one sampled event (--sample-on). */
struct pk_cache_sampled_fn {
	char *function;
	char *module;
	uint64_t events;      /* summed sample periods whose leaf is the function */
};

struct pk_cache_view {
	struct pk_counter_row *counters;   /* tid 0 first, then threads */
	size_t n_counters, n_process;      /* rows with tid 0: [0, n_process) */
	int pmu_present;                   /* -1 unknown */
	uint64_t threads_short;            /* threads missing some counters (EMFILE...) */
	struct pk_cache_derived derived[6];
	size_t n_derived;

	char *sampled_event;               /* NULL when none was sampled */
	uint64_t sampled_total, sampled_period, sampled_lost;
	struct pk_cache_sampled_fn *sampled;
	size_t n_sampled;

	int have_sim;
	struct pk_cachesim_info sim;
	struct pk_cachesim_row *sim_rows;  /* functions or lines, most D1 misses first */
	size_t n_sim_rows;
	struct pk_cachesim_row sim_total;  /* summed over functions */
};

/*
 * Load the view of session s.  lines = 1 loads the simulation per source
 * line instead of per function.  Returns PK_STORE_OK or a store error
 * (message in pk_store_errmsg).  Release with pk_cache_view_release.
 */
int pk_cache_view_load(struct pk_store *st, const struct pk_session *s, int lines, struct pk_cache_view *v);
void pk_cache_view_release(struct pk_cache_view *v);

/* The process row of an event, or NULL when it was not tried. */
const struct pk_counter_row *pk_cache_counter(const struct pk_cache_view *v, const char *name);

/* The process value of a counted event, else NAN. */
double pk_cache_value(const struct pk_cache_view *v, const char *name);

/* Simulated ratios of a row: (D1 misses) / (data refs), (LL data misses)
 * / (data refs), D1 misses per 1000 instructions; NAN on a 0 denominator. */
double pk_cachesim_d1_ratio(const struct pk_cachesim_row *r);
double pk_cachesim_ll_ratio(const struct pk_cachesim_row *r);
double pk_cachesim_d1_mpki(const struct pk_cachesim_row *r);

/* The message for an event's status ("counted", "unavailable: no
 * hardware PMU (ENOENT)", ...), written into buf; returns buf. */
char *pk_cache_status_message(const struct pk_cache_view *v, const struct pk_counter_row *c, char *buf, size_t len);
/* running / enabled time of a counter (1 = never multiplexed), NAN unknown. */
double pk_cache_running_share(const struct pk_counter_row *c);
/* "simulated (cachegrind, D1=32768,8,64, LL=...)". */
void pk_cache_sim_label(const struct pk_cache_view *v, char *buf, size_t len);

/* JSON (keys in man perfkit, "perfkit cache") and CSV of a view loaded
 * with the same lines flag; limit bounds the function rows (0 = all). */
void pk_cache_print_json(FILE *out, struct pk_store *st, const struct pk_session *s,
			 const struct pk_cache_view *v, int lines, size_t limit);
void pk_cache_print_csv(FILE *out, const struct pk_cache_view *v, int lines, size_t limit);

/* perf's colour for a miss ratio (in percent): "" below 5%, yellow above
 * 5%, magenta above 10%, red above 20% (ANSI codes). */
const char *pk_cache_ratio_color(double percent);

#endif
