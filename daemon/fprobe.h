/*
 * fprobe.h - function probes (perfkitd --probe PATTERN): exact call counts
 * and per-call wall time of the functions whose names match, on top of the
 * int3 probe engine (probe.h).
 *
 * Three parts:
 *   fprobe-match.c  which functions a set of patterns names in a live
 *                   process (ELF symbols of every mapped file, glob, near
 *                   names for a pattern that matches nothing);
 *   fprobe-stats.c  per thread and function accounting of entries and
 *                   returns (counts, inclusive/self time, recursion, lost
 *                   calls), independent of ptrace so that it can be
 *                   unit-tested;
 *   fprobe.c        the instrument (instrument.h): the engine, arming in
 *                   run and attach mode, exec, fork, detach, the probe
 *                   cost correction, and the results in the store.
 */
#ifndef PK_FPROBE_H
#define PK_FPROBE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "daemon/instrument.h"
#include "daemon/maps.h"
#include "histogram.h"

/* ---- fprobe-match.c ------------------------------------------------- */

/* One function found for the probes. */
struct pk_fprobe_match {
	char *name;       /* demangled when C++ */
	char *module;     /* basename of the mapped file */
	uint64_t addr;    /* run-time address of its entry */
	int pattern;      /* index of the first pattern that named it */
};

struct pk_fprobe_matcher {
	const char **patterns;
	size_t n_patterns;
	size_t *hits;                 /* functions matched per pattern so far */
	char **done;                  /* paths of the files already searched */
	size_t n_done, cap_done;
	struct pk_fprobe_match *v;    /* matches, deduplicated by address */
	size_t n, cap;
	char **names;                 /* every function name seen (suggestions) */
	size_t n_names, cap_names;
};

void pk_fprobe_matcher_init(struct pk_fprobe_matcher *m, const char **patterns, size_t n);
void pk_fprobe_matcher_release(struct pk_fprobe_matcher *m);

/*
 * Search the files mapped in pid (maps freshly loaded by the caller) that
 * were not searched before: only the main executable when main_only.
 * New matches are appended to m->v (from index m->n on entry).  Returns
 * the number of new matches, or -errno.
 */
int pk_fprobe_match_process(struct pk_fprobe_matcher *m, pid_t pid, const struct pk_maps *maps,
			    int main_only);

/*
 * Check the patterns after the last search: each must have matched, and
 * no more than limit functions in all.  Returns 0, or -1 after reporting
 * the error (a pattern without match with the nearest names, or the
 * count over the limit).
 */
int pk_fprobe_match_check(const struct pk_fprobe_matcher *m, long limit);

/* How many patterns have matched nothing so far. */
size_t pk_fprobe_match_missing(const struct pk_fprobe_matcher *m);

/* Does name match pattern (glob; MODULE:GLOB also tests module)?  1 / 0. */
int pk_fprobe_pattern_match(const char *pattern, const char *name, const char *module);

/* Levenshtein distance between a and b (for suggestions). */
size_t pk_fprobe_edit_distance(const char *a, const char *b);

/* ---- fprobe-stats.c ------------------------------------------------- */

/* Results of one function on one thread (tid 0: every thread). */
struct pk_fprobe_result {
	uint64_t calls;       /* entries seen */
	uint64_t lost;        /* entries whose return never came */
	uint64_t total_ns;    /* inclusive, outermost active call only */
	int64_t self_ns;      /* minus the time of probed callees; summed
	                         signed so that a recursion's selves add up
	                         to its total exactly (clamped when stored) */
	struct pk_histogram hist; /* per returned call (count, min, max) */
};

struct pk_fprobe_stats;

/* Accounting for n_functions functions.  NULL never (aborts on ENOMEM). */
struct pk_fprobe_stats *pk_fprobe_stats_new(size_t n_functions);
void pk_fprobe_stats_free(struct pk_fprobe_stats *s);

/* The cost of one probe stop, subtracted from every measured interval
 * once per stop inside it (entry resume + return trap counts as one). */
void pk_fprobe_stats_set_correction(struct pk_fprobe_stats *s, uint64_t stop_ns);
uint64_t pk_fprobe_stats_correction(const struct pk_fprobe_stats *s);
/* An upper bound of the cost of a stop, from the calls measured: the
 * shortest (uncorrected) stopped call with no probe stop inside (one
 * stop plus its body), or the smallest time per stop inside a timed call
 * (its stops plus its body, over their number).  0 before the first. */
uint64_t pk_fprobe_stats_leaf_min(const struct pk_fprobe_stats *s);

/* A thread entered function fn at time t; its return address ret is in
 * the stack slot at slot.  Returns a cookie (> 0) to hand back with the
 * return or loss of this call. */
uint64_t pk_fprobe_stats_enter(struct pk_fprobe_stats *s, pid_t tid, int fn, uint64_t t,
			       uint64_t slot, uint64_t ret);
/* The call with this cookie returned at time t / will never return. */
void pk_fprobe_stats_return(struct pk_fprobe_stats *s, pid_t tid, uint64_t cookie, uint64_t t);
void pk_fprobe_stats_lost(struct pk_fprobe_stats *s, pid_t tid, uint64_t cookie);
/* The call with this cookie returned after raw_ns measured in the target
 * (a timed return: its own stop is not in it, no stop at its return). */
void pk_fprobe_stats_return_timed(struct pk_fprobe_stats *s, pid_t tid, uint64_t cookie,
				  uint64_t raw_ns);
/* Each probe stop on tid that is neither an enter nor a return counted
 * above (a hidden probe) also costs time inside the active calls. */
void pk_fprobe_stats_stop(struct pk_fprobe_stats *s, pid_t tid);
/* Calls still active on tid, innermost first through the callback:
 * (ctx, slot, original return address).  For restoring return addresses. */
void pk_fprobe_stats_active(const struct pk_fprobe_stats *s, pid_t tid,
			    void (*cb)(void *ctx, uint64_t slot, uint64_t ret), void *ctx);

/*
 * Results: for each function fn and each thread that called it, cb gets
 * (fn, tid, result); then one call with tid 0 for all threads together.
 */
void pk_fprobe_stats_foreach(const struct pk_fprobe_stats *s,
			     void (*cb)(void *ctx, int fn, pid_t tid, const struct pk_fprobe_result *r),
			     void *ctx);

/* ---- fprobe.c --------------------------------------------------------- */

/* The --probe instrument for opt (n_probes > 0).  0, or -1 after an error. */
int pk_fprobe_create(const struct pk_options *opt, struct pk_instrument *out);

#endif
