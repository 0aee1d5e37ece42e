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
 * Entries carry one metric each; allocation and probe metrics (calls,
 * latency, bytes) join enum pk_compare_metric when sessions record them.
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

enum pk_compare_presence {
	PK_PRESENT_BOTH = 0,
	PK_PRESENT_ADDED,      /* only in AFTER */
	PK_PRESENT_REMOVED,    /* only in BEFORE */
};

/* One session's side of the comparison. */
struct pk_compare_side {
	const struct pk_profile *profile; /* owned by struct pk_compare */
	uint64_t samples;       /* counted weight (samples) */
	double rate_hz;         /* achieved (else asked) sampling rate; 0 unknown */
	double sampled_s;       /* samples / rate_hz; NAN when the rate is unknown */
	double wall_s;          /* duration; NAN unknown */
	double cpu_s;           /* target user + system CPU time; NAN unknown */
	uint64_t opportunities; /* sampling opportunities on the common time base */
	double test_scale;      /* weight of one sample in the tests (<= 1) */
	/* Statistics by key (from the session's stats), NAN when absent;
	 * see pk_compare_quantities. */
	double *quantities;
};

struct pk_compare_entry {
	char *function;
	char *module;          /* file name of the module (AFTER's when both) */
	enum pk_compare_metric metric;
	enum pk_compare_presence presence;
	uint64_t before_samples, after_samples;
	double before_share, after_share; /* fraction of each session's samples */
	/* Estimated seconds; when no rate is known, the shares instead. */
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
};

struct pk_compare_params {
	double alpha;          /* <= 0: PK_COMPARE_ALPHA */
};

struct pk_compare {
	struct pk_profile before_profile, after_profile;
	struct pk_compare_side before, after;
	int same_session;      /* BEFORE and AFTER name the same session */
	int tested;            /* 0: no test ran (see untested_reason) */
	const char *untested_reason;  /* static text, NULL when tested */
	int times_known;       /* both rates known: before_s/after_s are seconds */
	double base_s;         /* the common time base (max sampled time) */
	double alpha;
	size_t n_tests;
	/* Every function present in either session, each metric, sorted by
	 * metric (self first), significant changes first, then by impact
	 * (|after_s - before_s|) descending, then by name. */
	struct pk_compare_entry *entries;
	size_t n_entries;
};

/*
 * Load sessions before and after ("last", a name or an id) from st and
 * compare them.  Returns PK_STORE_OK, or the store's error code
 * (PK_STORE_NOTFOUND when a session does not exist, *which set to 0 for
 * BEFORE and 1 for AFTER when which is not NULL); on error *c is left
 * empty and safe to release.
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
 * Whole-session quantities beyond wall time, CPU time and samples, shown
 * only when both sessions have them (session stats by key).  Allocation
 * totals and counters join this list as the recorders store them.
 */
struct pk_compare_quantity {
	const char *key;       /* session stat key */
	const char *label;     /* for tables */
	const char *unit;      /* "bytes", "count" */
	int lower_is_better;
};
extern const struct pk_compare_quantity pk_compare_quantities[];
extern const size_t pk_compare_n_quantities;

/*
 * The two-sided p-value of a change from x_before samples to x_after
 * samples (of one function or call path) under compare.h's model: common
 * time base, test_scale, z-test or Fisher.  NAN when c is not tested.
 */
double pk_compare_test(const struct pk_compare *c, uint64_t x_before, uint64_t x_after,
		       enum pk_test_method *method);

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
