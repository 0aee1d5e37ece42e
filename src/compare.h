/*
 * compare.h - the model behind "perfkit compare BEFORE AFTER": two
 * profiles matched function by function, the change of each function's
 * estimated time, and whether that change is larger than sampling noise.
 *
 * Matching.  A function is identified by its name and its module's file
 * name (not the full path, not the build-id), so two builds of a program
 * compare; the profiled program itself (the module of "main", else the
 * one named like the command) matches the other session's program even
 * when the executables are named differently (./prog-old, ./prog-new).
 *
 * Time.  A sample stands for 1/rate seconds, the rate being the session's
 * achieved sampling rate (else the asked one).  In cpu mode perfkitd sets
 * that rate to samples / target CPU time, so a function's estimated time
 * is its share of the samples times the measured CPU time.
 *
 * Significance.  The question is whether a function's *time* changed, not
 * its share: when one function gets 3x faster every other function's
 * share grows although their time did not change, and calling those
 * regressions would be wrong.  Both sessions are therefore put on a common
 * time base, the longer of their sampled times T = max(T1, T2): session i
 * had rate_i * T sampling opportunities on that base (its own samples,
 * plus, for the shorter session, the opportunities of the time it did not
 * run, which fall outside every function).  A function's time in each
 * session is then a proportion of the same T, and equal time means equal
 * proportions: the two-proportion test of stats.h applies as it is (the
 * z-test, or Fisher's exact test for small counts), and reduces to the
 * plain comparison of shares when both sessions ran equally long.  Tests
 * of every function and metric are adjusted together (Benjamini-Hochberg).
 * A change is significant when
 *
 *     q <= alpha                                (default PK_COMPARE_ALPHA)
 *     |change| >= PK_COMPARE_MIN_RELATIVE %      of the function's time before
 *     |change| >= PK_COMPARE_MIN_POINTS points   of the common time base T
 *
 * so that a real but negligible change (a 0.01% function doubling) is not
 * reported.
 *
 * Other events (--event).  A session recorded with perfkitd run
 * --sample-on EVENT holds samples of that event (unit "events") whose
 * weight is the sample period: a function's value is its summed weight
 * (events), the common base is the larger of the two sessions' total
 * weights, and the test is run on sample COUNTS, never on weights (a
 * weight is a count times the period; testing weights would take one
 * sample for a million independent ones): session i had
 * samples_i * base / weight_i opportunities on that base.  Events that
 * count exactly (the allocation events alloc_count, alloc_bytes: every
 * call is seen) are compared without a test: their changes are exact.
 *
 * Repeated samples.  In cpu mode perfkitd samples threads in state R,
 * which includes runnable threads waiting for a CPU; on a busy machine it
 * then takes more samples per second of CPU than asked, and the extra ones
 * repeat the stack of a thread that did not move.  A session whose
 * achieved rate exceeds its asked rate has its counts scaled down to the
 * asked rate for the test (test_scale), so that repeats do not pass for
 * independent evidence.  Estimated times are not affected.  Without a known rate in either session, times are replaced by
 * shares and the same rules apply.  When either session has no samples,
 * nothing is tested.
 *
 * Entries carry one metric each.  What sessions count exactly rather
 * than sample (allocations, probed calls and their latency, counters)
 * is compared beside the entries, in struct pk_compare_exact
 * (compare-exact.c), without p-values: see there.
 */
#ifndef PK_COMPARE_H
#define PK_COMPARE_H

#include <stddef.h>
#include <stdint.h>

#include "src/profile.h"
#include "src/stats.h"
#include "store/store.h"

/* The minimum effect size and the default false discovery rate: the one
 * place where they are defined (the man page states them). */
#define PK_COMPARE_ALPHA 0.01
#define PK_COMPARE_MIN_RELATIVE 5.0  /* percent of the time before */
#define PK_COMPARE_MIN_POINTS 0.5    /* percentage points of the common base */

enum pk_compare_metric {
	PK_METRIC_SELF_TIME = 0,   /* samples with the function as leaf */
	PK_METRIC_TOTAL_TIME,      /* samples with the function on the stack */
	PK_METRIC_COUNT
};

/* "self_time", "total_time". */
const char *pk_compare_metric_name(enum pk_compare_metric m);

/* What one sample of the compared event stands for, from its unit. */
enum pk_compare_event_kind {
	PK_EVENT_SAMPLES = 0,  /* "samples": one sample each (cpu, wall) */
	PK_EVENT_WEIGHTED,     /* "events": a sample weighs its period (--sample-on) */
	PK_EVENT_EXACT,        /* anything else ("bytes", "allocations"): exact counts */
};

enum pk_compare_presence {
	PK_PRESENT_BOTH = 0,
	PK_PRESENT_ADDED,      /* only in AFTER */
	PK_PRESENT_REMOVED,    /* only in BEFORE */
};

/* One session's side of the comparison. */
struct pk_compare_side {
	const struct pk_profile *profile; /* owned by struct pk_compare */
	uint64_t samples;       /* counted samples (not their weight) */
	uint64_t weight;        /* their summed weight (= samples for cpu, wall) */
	/* Samples per stack node (index id - 1) where a sample's weight is
	 * not 1; NULL when the profile's node_self counts samples. */
	uint64_t *node_count;
	double rate_hz;         /* achieved (else asked) sampling rate; 0 unknown */
	double sampled_s;       /* samples / rate_hz; NAN when the rate is unknown */
	double wall_s;          /* duration; NAN unknown */
	double cpu_s;           /* target user + system CPU time; NAN unknown */
	uint64_t opportunities; /* sampling opportunities on the common time base */
	double test_scale;      /* weight of one sample in the tests (<= 1) */
};

struct pk_compare_entry {
	char *function;
	char *module;          /* file name of the module (AFTER's when both) */
	char *key;             /* the module key it is matched by ("" = the program) */
	enum pk_compare_metric metric;
	enum pk_compare_presence presence;
	uint64_t before_samples, after_samples;   /* sample counts, not weights */
	double before_share, after_share; /* fraction of each session's weight */
	/* Estimated seconds; for an event other than cpu or wall its summed
	 * weight (events, bytes); when no rate is known, the shares. */
	double before_s, after_s;
	/* 100 (after - before) / before: -50 = half the time.  +INFINITY when
	 * the function is new, 0 when both are 0. */
	double percent_change;
	/* after_share - before_share, in percentage points. */
	double delta_points;
	/* The change as percentage points of the common time base (the
	 * effect size the minimum applies to). */
	double delta_base_points;
	double p_value, q_value; /* NAN when not tested */
	enum pk_test_method method;
	int significant;
	/* total_time only, in both sessions: equal to the self time (the
	 * function calls nothing that was sampled), or on every stack (its
	 * total is the whole run).  Such rows repeat what the self rows and
	 * the overall numbers say; tables and the summary leave them out. */
	int same_as_self;
	int on_every_stack;
	/* The function was probed (perfkitd --probe) in both sessions: its
	 * exact calls and mean latency per call in each, [0] BEFORE. */
	int probed;
	int64_t calls[2];
	double avg_ns[2];       /* NAN when no call returned */
};

/* ---- what sessions count exactly (compare-exact.c) ----------------------- */

/* An allocation call site (the first frame outside the allocator),
 * matched across sessions by function name and module key. */
struct pk_compare_alloc_site {
	char *function, *module;
	enum pk_compare_presence presence;
	int64_t count[2], bytes[2], live_bytes[2];   /* [0] BEFORE, [1] AFTER */
};

/* A probed function, matched like the sampled ones. */
struct pk_compare_probe {
	char *function, *module;
	enum pk_compare_presence presence;  /* probed in both, or one only */
	int64_t calls[2], returned[2], lost[2];
	double avg_ns[2];       /* sum / returned; NAN without a returned call */
	int64_t p50_ns[2], p99_ns[2];
};

/* A counter (perfkitd --counters) counted in both sessions. */
struct pk_compare_counter {
	char *name;
	double value[2];
	int scaled[2];          /* multiplexed: scaled from part of the time */
};

/*
 * Allocations, probed calls and counters are counts of every event, not
 * samples: a change is exactly what happened in the two runs and there
 * is no sampling noise to test against, so they carry no p-value.  Mean
 * latencies of probed calls do vary, but perfkitd stores per function
 * only the count, sum and a few percentiles of the call times, not their
 * variance: their change is reported without a test.
 */
struct pk_compare_exact {
	int have_allocs[2];                   /* recorded with --alloc */
	struct pk_alloc_summary allocs[2];
	struct pk_compare_alloc_site *sites;  /* sites whose count, bytes or live
					       * bytes changed, largest change of
					       * bytes first */
	size_t n_sites;
	size_t n_sites_unchanged;
	int have_probes[2];                   /* any probe rows */
	struct pk_compare_probe *probes;      /* both first, then by impact */
	size_t n_probes;
	size_t n_probes_both;
	struct pk_compare_counter *counters;  /* counted in both sessions */
	size_t n_counters;
};

struct pk_compare_params {
	double alpha;          /* <= 0: PK_COMPARE_ALPHA */
	const char *event;     /* NULL: cpu, or wall for wall sessions */
};

struct pk_compare {
	struct pk_profile before_profile, after_profile;
	struct pk_compare_side before, after;
	int same_session;      /* BEFORE and AFTER name the same session */
	const char *event;     /* the event compared (AFTER's name) */
	const char *unit;      /* its unit ("samples", "events", "bytes") */
	enum pk_compare_event_kind kind;
	int tested;            /* 0: no test ran (see untested_reason) */
	const char *untested_reason;  /* static text, NULL when tested */
	int times_known;       /* both rates known: before_s/after_s are seconds */
	/* The common base: the longer sampled time, or for other events the
	 * larger total weight, or 1 (shares). */
	double base_s;
	double alpha;
	size_t n_tests;
	/* Every function present in either session, each metric, sorted by
	 * metric (self first), significant changes first, then by impact
	 * (|after_s - before_s|) descending, then by name. */
	struct pk_compare_entry *entries;
	size_t n_entries;
	struct pk_compare_exact exact;
};

/*
 * Load sessions before and after ("last", a name or an id) from st and
 * compare them.  Returns PK_STORE_OK, or the store's error code
 * (PK_STORE_NOTFOUND when a session does not exist, or has no event
 * params->event, *which set to 0 for BEFORE and 1 for AFTER when which
 * is not NULL); on error *c is left empty and safe to release.
 */
int pk_compare_load(struct pk_store *st, const char *before, const char *after,
		    const struct pk_compare_params *params, struct pk_compare *c, int *which);
void pk_compare_release(struct pk_compare *c);

/* An entry is an improvement when its time went down, a regression when
 * it went up; neither when unchanged. */
static inline int pk_compare_is_improvement(const struct pk_compare_entry *e)
{
	return e->after_s < e->before_s;
}
static inline int pk_compare_is_regression(const struct pk_compare_entry *e)
{
	return e->after_s > e->before_s;
}
/* Does an entry say something the self rows and the overall numbers
 * do not? */
static inline int pk_compare_is_informative(const struct pk_compare_entry *e)
{
	return !e->same_as_self && !e->on_every_stack;
}

/* Which list an entry belongs to: improvements (1) or regressions (0). */
static inline int pk_compare_in_list(const struct pk_compare_entry *e, int improvements)
{
	return improvements ? pk_compare_is_improvement(e) : pk_compare_is_regression(e);
}

/* "both", "added" (only in AFTER) or "removed" (only in BEFORE). */
const char *pk_compare_presence_name(enum pk_compare_presence p);

/*
 * Allocation totals compared: metric name (JSON), label (tables), and
 * the field of struct pk_alloc_summary.
 */
struct pk_compare_alloc_total {
	const char *metric;    /* "alloc_count", "alloc_bytes", "peak_bytes", ... */
	const char *label;     /* "allocations", "bytes allocated", ... */
	const char *unit;      /* "allocations", "bytes", "frees", "blocks" */
	size_t offset;         /* of an int64_t in struct pk_alloc_summary */
};
extern const struct pk_compare_alloc_total pk_compare_alloc_totals[];
extern const size_t pk_compare_n_alloc_totals;
/* A total's value in a summary. */
int64_t pk_compare_alloc_total_value(const struct pk_compare_alloc_total *t,
				     const struct pk_alloc_summary *s);

/*
 * Load the exact quantities of both sessions into c->exact and mark the
 * probed entries (compare-exact.c; called by pk_compare_load once the
 * entries exist).  Returns PK_STORE_OK or a store error code.
 */
int pk_compare_load_exact(struct pk_store *st, struct pk_compare *c);
void pk_compare_exact_release(struct pk_compare_exact *x);

/* The unit of the entries' before/after values: "s", "share", or the
 * event's unit. */
const char *pk_compare_value_unit(const struct pk_compare *c);

/* 100 (after - before) / before; +INFINITY when only after is positive,
 * 0 when both are 0. */
double pk_compare_percent(double before, double after);

/*
 * The two-sided p-value of a change from x_before samples to x_after
 * samples (of one function or call path) under compare.h's model: common
 * time base, test_scale, z-test or Fisher.  x_before and x_after are
 * sample counts (pk_compare_weight_samples turns a weight into one).  NAN
 * when c is not tested.
 */
double pk_compare_test(const struct pk_compare *c, uint64_t x_before, uint64_t x_after,
		       enum pk_test_method *method);

/* The number of samples a weight of side s stands for: the weight
 * itself for cpu and wall samples, else weight / (the side's weight per
 * sample), rounded (exact when the period was fixed, as perfkitd's is). */
uint64_t pk_compare_weight_samples(const struct pk_compare_side *s, uint64_t weight);

/*
 * Is there a significant regression of more than threshold_percent (a new
 * function counts as an infinite one)?  Returns 1 and points *worst (when
 * not NULL) at the largest, else 0.
 */
int pk_compare_worst_regression(const struct pk_compare *c, double threshold_percent,
				const struct pk_compare_entry **worst);

/* Speedup before / after (> 1: AFTER is faster); NAN when either is not
 * a positive finite number. */
double pk_compare_speedup(double before, double after);

/* The key a function is matched by: its module's file name, or "" for
 * the profiled program (main_module).  Exposed for the differential
 * flame graph, which matches frames the same way. */
const char *pk_compare_module_key(const struct pk_profile *p, int64_t module_id, int64_t main_module);
/* The module id of the profiled program, 0 when unknown. */
int64_t pk_compare_main_module(const struct pk_profile *p);

#endif
