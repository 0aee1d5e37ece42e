/*
 * profile.h - a session loaded for analysis: the stack tree with sample
 * counts, and the aggregations every command shares (per function self
 * and total, per stack).  Commands never aggregate on their own: report,
 * flamegraph, export, compare and html all start from a struct pk_profile.
 */
#ifndef PK_PROFILE_H
#define PK_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* Which samples to count.  Zero-initialised = every sample of the default
 * event (cpu, or wall in wall mode). */
struct pk_filter {
	const char *event; /* event name, NULL = the session's default */
	int32_t tid;       /* 0 = all threads */
	int has_from, has_to;
	double from_s, to_s; /* seconds since session start */
};

struct pk_profile {
	struct pk_session session;
	struct pk_symtab symtab;
	int event;            /* event id counted */
	const char *event_name;
	const char *event_unit;
	/* node_self[i]: summed weight of samples whose leaf is node id i+1. */
	uint64_t *node_self;
	/* node_total[i]: node_self of i plus all its descendants. */
	uint64_t *node_total;
	uint64_t root_self;   /* samples without a stack (stack_id 0) */
	uint64_t total;       /* all counted weight, root_self included */
	uint64_t n_samples;   /* counted samples (not weight) */
	int32_t *tids;        /* distinct threads seen, sorted */
	size_t n_tids;
	double duration_s;    /* session duration (ended - started) */
	double sample_hz;     /* achieved_hz stat when recorded, else the asked
			       * frequency; 0 when neither is known */
};

/*
 * Load session spec ("last", a name or an id) from st and count its
 * samples through filter (NULL = all).  Returns PK_STORE_OK, or the
 * store's error code (PK_STORE_NOTFOUND for an unknown session or event);
 * on error *p is left empty and safe to release.
 */
int pk_profile_load(struct pk_store *st, const char *spec, const struct pk_filter *filter,
		    struct pk_profile *p);
void pk_profile_release(struct pk_profile *p);

/* Names for a node / frame, never NULL ("module+0x1234" when unknown). */
const char *pk_profile_function_name(const struct pk_profile *p, int64_t function_id);
const char *pk_profile_module_name(const struct pk_profile *p, int64_t module_id);
int64_t pk_profile_node_function(const struct pk_profile *p, int64_t node_id);

/* Per function: self = weight where it is the leaf; total = weight of
 * samples whose stack contains it at least once (recursion counted once). */
struct pk_func_stat {
	int64_t function_id;
	uint64_t self;
	uint64_t total;
	/* The function's frame with the most weight among those that have a
	 * source file (its file:line names the hot spot); 0 = none known. */
	int64_t source_frame_id;
};

/* Function statistics, sorted by self descending (then total, then name).
 * *out is malloc'd; only functions with total > 0 are listed. */
int pk_profile_function_stats(const struct pk_profile *p, struct pk_func_stat **out, size_t *n);

/* Walk a leaf node to the root: writes frame ids leaf first, returns the
 * depth (at most max). */
int pk_profile_stack_frames(const struct pk_profile *p, int64_t node_id, int64_t *frames, int max);

/* Estimated time for a weight: weight / sample_hz (achieved, or asked,
 * frequency); NAN when no frequency is known. */
double pk_profile_seconds(const struct pk_profile *p, uint64_t weight);

#endif
