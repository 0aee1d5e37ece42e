/*
 * analyze.h - the rule engine behind "perfkit analyze": evidence read
 * from a session, rules that turn evidence into findings, and the engine
 * that runs every rule and orders what they found.
 *
 * Evidence.  struct pk_evidence holds what a session measured: the
 * profile of its default event (CPU samples, or wall samples with the
 * thread state of each), per-function self/total, per-node off-CPU
 * weight in wall mode, the recorder's statistics, and, when the session
 * has them, allocation sites, function-probe counts and cache data.  A
 * rule reads only evidence; it never opens the store.  Optional parts
 * are NULL when the session has none: a rule that needs them stays
 * silent (and its --explain says how to record them).
 *
 * Rules.  A rule is one struct pk_rule in its own file (in src/rules/)
 * and one line in the registry (src/analyze-rules.c).  Its run function
 * adds findings with pk_finding_add and fills them with the helpers
 * below.  Thresholds come from src/analyze-thresholds.h only.
 *
 * Findings.  Each has a severity computed from a measured impact (a
 * share, 0..1) through the rule's levels, a location, a description in
 * plain words with the numbers, a recommendation, numeric evidence and
 * up to PK_AN_MAX_PATHS call paths.  pk_analyze orders them by severity,
 * then impact; a finding of a more specific rule that explains the same
 * function (memory-copying for __memmove_avx_unaligned_erms) hides a
 * more generic one (slow-function for the same function).
 */
#ifndef PK_ANALYZE_H
#define PK_ANALYZE_H

#include <stddef.h>
#include <stdint.h>

#include "src/analyze-thresholds.h"
#include "src/profile.h"
#include "store/store.h"

enum pk_severity {
	PK_SEV_NONE = 0,
	PK_SEV_LOW,
	PK_SEV_MEDIUM,
	PK_SEV_HIGH,
	PK_SEV_CRITICAL,
};

/* "low", "medium", "high", "critical" ("none" for PK_SEV_NONE). */
const char *pk_severity_name(enum pk_severity s);

/* The impact needed for each severity (see analyze-thresholds.h). */
struct pk_levels {
	double low, medium, high, critical;
};

/* The severity an impact reaches; PK_SEV_NONE below levels->low or when
 * impact is not a number. */
enum pk_severity pk_severity_of(double impact, const struct pk_levels *levels);

/* ---- evidence ----------------------------------------------------------- */

/* Allocation data per call site (the function that called the
 * allocator).  Counts that the session did not record are 0. */
struct pk_alloc_site_ev {
	const char *function;      /* site name (owned by the evidence) */
	int64_t function_id;       /* in the profile's symtab; 0 = unknown */
	uint64_t count;            /* allocations */
	uint64_t bytes;            /* bytes allocated */
	uint64_t frees, bytes_freed;
	uint64_t live_count, live_bytes;   /* still allocated at the end */
	uint64_t max_size;         /* largest single allocation known (with
				      perfkitd's data: among the blocks live
				      at the end) */
	uint64_t peak_bytes;       /* most bytes live at once from one of its
				      stacks, when known */
	uint64_t small_count;      /* allocations <= PK_AN_SMALL_ALLOC_BYTES */
	uint64_t realloc_count;    /* reallocs that grew a block */
	uint64_t realloc_growth;   /* bytes those reallocs added in all */
};

struct pk_alloc_ev {
	uint64_t alloc_calls, free_calls, bytes_allocated, bytes_freed;
	uint64_t peak_bytes, live_bytes, live_count;
	int target_exited;         /* live at the end = never freed */
	struct pk_alloc_site_ev *sites; size_t n_sites;
	uint64_t *timeline;        /* live bytes at equal time steps */
	size_t n_timeline;
};

/* Function probes: exact calls and time per probed function. */
struct pk_probe_ev {
	const char *function;
	int64_t function_id;
	uint64_t calls;
	double total_ns, avg_ns;
};

/* Cache data per function; source says where it comes from. */
struct pk_cache_ev {
	const char *function;
	int64_t function_id;
	const char *source;        /* "hardware" or "simulated (cachegrind, D1=..., LL=...)" */
	double refs_share;         /* share of all data references (or of samples) */
	double d1_miss_ratio;      /* NAN when unknown */
	double ll_miss_ratio;      /* NAN when unknown */
	double d1_mpki;            /* NAN when unknown */
};

struct pk_evidence {
	const struct pk_profile *profile;  /* the session's default event */
	struct pk_func_stat *funcs;        /* by self descending */
	size_t n_funcs;
	uint64_t total;                    /* counted weight (= profile->total) */
	int wall;                          /* wall mode: states recorded */
	/* wall mode: per node (id - 1), weight of samples at that leaf taken
	 * while the thread was off-CPU (state S or D); NULL otherwise. */
	uint64_t *node_offcpu;
	uint64_t offcpu_total;
	/* wall mode: per function id, the off-CPU part of its self weight;
	 * NULL otherwise (see pk_ev_oncpu_self). */
	uint64_t *func_offcpu_self;
	/* Recorder statistics; NAN when the session did not record one. */
	double stat_samples, stat_complete_stacks, stat_unwind_failures;
	double stat_lost_samples, stat_syscall_stops, stat_achieved_hz;
	/* Optional data; NULL / 0 when the session has none.  Owned by the
	 * evidence (names included) and freed by pk_evidence_release. */
	struct pk_alloc_ev *alloc;
	struct pk_probe_ev *probes; size_t n_probes;
	struct pk_cache_ev *cache; size_t n_cache;
};

/*
 * Build the evidence of an already loaded profile p from store st: the
 * function statistics, wall-mode states, stats and optional data.
 * Returns PK_STORE_OK or a store error code (ev is then released).  ev
 * borrows p and must be released before it.
 */
int pk_evidence_load(struct pk_store *st, const struct pk_profile *p, struct pk_evidence *ev);
void pk_evidence_release(struct pk_evidence *ev);

/* A function's self weight while running on a CPU (wall mode: minus the
 * samples taken while its thread slept; CPU mode: all of it). */
uint64_t pk_ev_oncpu_self(const struct pk_evidence *ev, const struct pk_func_stat *fs);

/* Is the function perfkit's own instrumentation rather than the
 * program's code?  In a session recorded with --alloc or --probe,
 * samples stopped in the probes' out-of-line code land in an anonymous
 * mapping ("[anon]+0x60"); they are the tracer's cost, not a hot spot. */
int pk_ev_instrumentation(const struct pk_evidence *ev, int64_t function_id);

/* Share of the counted weight (0 when nothing was counted). */
double pk_ev_share(const struct pk_evidence *ev, uint64_t weight);

/* The function's display name ("[unknown]" when none). */
const char *pk_ev_name(const struct pk_evidence *ev, int64_t function_id);

/* "file:line" of the function's hottest source line, or NULL; malloc'd. */
char *pk_ev_source(const struct pk_evidence *ev, int64_t function_id);

/*
 * Is name one of the functions in list (NULL-terminated)?  Names are
 * compared after dropping glibc's decorations: leading underscores,
 * "GI_" and "libc_" ("__GI___libc_write" is "write", "__libc_malloc" is
 * "malloc").  A list entry ending in '*' also matches variants: the
 * entry's text followed by '_', '.', '(', '[' or the end
 * ("memmove*" matches "__memmove_avx_unaligned_erms", "operator new*"
 * matches "operator new[](unsigned long)").
 */
int pk_ev_name_in(const char *name, const char *const *list);

/*
 * Samples whose stack holds a function of list, grouped by caller.
 * leaf_only: the leaf must match, and the matching run is the frames
 * matching from the leaf upward; otherwise the run ends at the outermost
 * matching frame anywhere in the stack (time inside malloc, whatever it
 * calls).  The caller is the first frame above the run.
 */
struct pk_caller_ev {
	int64_t function_id;       /* 0 = no frame above (the run reached the root) */
	uint64_t weight, offcpu;
};
struct pk_match {
	uint64_t weight;           /* samples (weight) that match */
	uint64_t offcpu;           /* of which off-CPU (wall mode) */
	int64_t top_function;      /* the outermost matched function with most weight */
	uint64_t top_function_weight;
	int64_t matched[8];        /* matched functions (outermost or leaf), heaviest first */
	size_t n_matched;
	struct pk_caller_ev *callers;   /* weight descending */
	size_t n_callers;
};
void pk_ev_match(const struct pk_evidence *ev, const char *const *list, int leaf_only,
		 struct pk_match *out);
void pk_match_release(struct pk_match *m);

/* ---- findings ----------------------------------------------------------- */

#define PK_AN_MAX_EVIDENCE 12
#define PK_AN_MAX_COVERS 8

struct pk_rule;

struct pk_finding {
	const struct pk_rule *rule;
	enum pk_severity severity;
	double impact;              /* the measured share the severity came from */
	char *location;             /* where: a function (and source line) */
	char *description;          /* what was measured, in words, with numbers */
	char *recommendation;       /* what to do */
	struct { const char *key; double value; } evidence[PK_AN_MAX_EVIDENCE];
	size_t n_evidence;
	char *paths[PK_AN_MAX_PATHS];   /* "main > run > f (62%)" */
	size_t n_paths;
	int64_t covers[PK_AN_MAX_COVERS];  /* functions this finding explains */
	size_t n_covers;
};

struct pk_findings {
	struct pk_finding *v;
	size_t n, cap;
};

/* A new empty finding of rule at severity/impact, owned by out.  The
 * pointer is valid until the next pk_finding_add on out: fill one
 * finding before adding the next.  Texts are copied; the setters below
 * replace what was set before. */
struct pk_finding *pk_finding_add(struct pk_findings *out, const struct pk_rule *rule,
				  enum pk_severity severity, double impact);
void pk_finding_location(struct pk_finding *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pk_finding_describe(struct pk_finding *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pk_finding_recommend(struct pk_finding *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* key must be a string literal (not copied); extra values are dropped. */
void pk_finding_number(struct pk_finding *f, const char *key, double value);
void pk_finding_cover(struct pk_finding *f, int64_t function_id);
/* The heaviest call paths from the root to function_id (outermost
 * occurrence), up to PK_AN_MAX_PATHS, with their shares. */
void pk_finding_paths(struct pk_finding *f, const struct pk_evidence *ev, int64_t function_id);
/* "function (file:line)" or "function"; malloc'd. */
char *pk_ev_location(const struct pk_evidence *ev, int64_t function_id);

void pk_findings_release(struct pk_findings *fs);

/* ---- rules and the engine ---------------------------------------------- */

enum pk_rule_kind {
	PK_RULE_GENERIC = 0,   /* slow-function: any hot code */
	PK_RULE_PATTERN = 1,   /* hot-callee: a shape of the call graph */
	PK_RULE_SPECIFIC = 2,  /* a known cause: copying, locks, allocation... */
	PK_RULE_REFINED = 3,   /* narrows a specific one (realloc growth within
				* allocator time) */
};

struct pk_rule {
	const char *name;        /* "memory-copying" */
	const char *category;    /* "cpu", "memory", "locking", "io", "stack", "cache", "profile" */
	const char *summary;     /* one line */
	const char *explain;     /* what it reads, why it matters, when it fires */
	const char *needs;       /* evidence needed: "CPU or wall samples", "--alloc" ... */
	enum pk_rule_kind kind;
	/* Reads shares of samples: not run on a profile of fewer than
	 * PK_AN_MIN_RULE_SAMPLES samples (profile-quality says why). */
	int sample_based;
	struct pk_levels levels;
	void (*run)(const struct pk_rule *rule, const struct pk_evidence *ev, struct pk_findings *out);
};

/* The registry (src/analyze-rules.c), in --explain order. */
extern const struct pk_rule *const pk_rules[];
extern const size_t pk_n_rules;

/* The rule named name, or NULL. */
const struct pk_rule *pk_rule_find(const char *name);

/* Run every rule over ev; out receives the findings, deduplicated and
 * sorted (severity, then impact, descending).  out must be zeroed. */
void pk_analyze(const struct pk_evidence *ev, struct pk_findings *out);

#endif
