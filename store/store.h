/*
 * store.h - the session store: the only code in perfkit that speaks SQL.
 *
 * One SQLite file holds every session.  perfkitd writes through the
 * "write" half of this API while perfkit reads through the "read" half, at
 * the same time (WAL mode).  The schema is versioned with PRAGMA
 * user_version and migrated forward on open.
 *
 * Identifiers of modules, functions, frames and stack nodes are dense and
 * local to a session: 1, 2, 3, ... so readers can index arrays with id - 1.
 * Stacks are a prefix tree: a node is (parent node, frame); id 0 is the
 * root (no frame).  A sample points at its leaf node.
 *
 * Samples are stored packed in blocks (a few bytes each) rather than one
 * row per sample: a session of a million samples must stay under 24 bytes
 * per sample and aggregate in well under a second.  The encoding is private
 * to store/; readers see struct pk_sample through pk_store_foreach_sample.
 *
 * Conventions: functions return PK_STORE_OK (0) or a negative
 * PK_STORE_E* code; the text of the last error is pk_store_errmsg().
 * Strings returned inside structs are owned by the struct and freed by the
 * matching _release function.  Destructors accept NULL.
 */
#ifndef PK_STORE_H
#define PK_STORE_H

#include <stddef.h>
#include <stdint.h>

enum {
	PK_STORE_OK = 0,
	PK_STORE_ERROR = -1,     /* SQLite or I/O failure; see pk_store_errmsg */
	PK_STORE_NOTFOUND = -2,  /* no such session */
	PK_STORE_NOTDB = -3,     /* file exists but is not a perfkit database */
	PK_STORE_READONLY = -4,  /* cannot write: permission or read-only fs */
	PK_STORE_TOONEW = -5,    /* schema newer than this perfkit understands */
	PK_STORE_EXISTS = -6,    /* a session with this name exists */
};

enum pk_store_mode {
	PK_STORE_MODE_READ = 0,  /* must exist; never creates */
	PK_STORE_MODE_WRITE = 1, /* created when missing (directories must exist) */
};

struct pk_store;

/*
 * Open (and for WRITE create and migrate) the database at path.  On success
 * *out owns the connection.  On failure *out is NULL and err (if not NULL)
 * holds a message naming the cause and the way out.
 *
 * Both modes mark as "aborted" any session left "recording" whose recorder
 * process (recorder_pid on this host) no longer exists.  A read-mode open of
 * a file that cannot be written still succeeds (the fix-up is skipped).
 * READ mode on a missing file returns PK_STORE_NOTFOUND; a READ-mode store
 * refuses interning and samples (PK_STORE_READONLY).
 */
int pk_store_open(const char *path, enum pk_store_mode mode, struct pk_store **out,
		  char *err, size_t errlen);
void pk_store_close(struct pk_store *st);
const char *pk_store_errmsg(const struct pk_store *st);
/* The schema version this build writes. */
int pk_store_schema_version(void);

/* ---- sessions ---------------------------------------------------------- */

struct pk_session {
	int64_t id;
	char *name;        /* unique, e.g. "myprog-20261126-101500" */
	char *command;     /* command line of the target */
	char *mode;        /* "cpu" or "wall" */
	char *status;      /* "recording", "complete" or "aborted" */
	char *host;        /* uname nodename */
	char *kernel;      /* uname release */
	int pid;           /* target pid */
	int recorder_pid;  /* perfkitd pid (meaningful while recording) */
	double frequency;  /* asked sampling rate, Hz */
	int64_t started_ns;/* CLOCK_REALTIME at start */
	int64_t ended_ns;  /* CLOCK_REALTIME at end, 0 while recording */
	int exit_status;   /* run mode: target's status (128+N for signal N); -1 unknown */
	int64_t samples;   /* number of samples stored (all events) */
};

void pk_session_release(struct pk_session *s);

/*
 * Start a session.  s->name may be NULL: a name "<basename of command's
 * first word>-YYYYMMDD-HHMMSS" is made (with "-2", "-3"... when taken).
 * Fills s->id and s->name; status is "recording".
 */
int pk_store_session_begin(struct pk_store *st, struct pk_session *s);

/* Record the end: status "complete" or "aborted", exit status, end time.
 * Flushes pending samples first. */
int pk_store_session_end(struct pk_store *st, int64_t sid, const char *status,
			 int exit_status, int64_t ended_ns);

/* Update the recorded target pid (run mode learns it after fork). */
int pk_store_session_set_pid(struct pk_store *st, int64_t sid, int pid);

/*
 * Find a session by name, by numeric id, or "last" (highest id).
 * PK_STORE_NOTFOUND when there is none.  *out is filled; release it.
 */
int pk_store_session_find(struct pk_store *st, const char *spec, struct pk_session *out);

/*
 * PK_STORE_OK when no session is named NAME yet; PK_STORE_EXISTS (with the
 * message) when one is, so that a recorder refuses before it starts.
 */
int pk_store_session_name_free(struct pk_store *st, const char *name);

/* All sessions, oldest first.  *out is an array of *n; free with
 * pk_session_array_free. */
int pk_store_session_list(struct pk_store *st, struct pk_session **out, size_t *n);
void pk_session_array_free(struct pk_session *v, size_t n);

/* Delete a session and everything it owns. */
int pk_store_session_remove(struct pk_store *st, int64_t sid);

/* ---- per-session statistics (key/value) ------------------------------- */

/*
 * Numeric facts about a session, by key.  Keys used today:
 *   threads, duration_s, user_cpu_s, sys_cpu_s, achieved_hz,
 *   unwind_failures, complete_stacks, stop_median_us, stop_p99_us,
 *   recorder_cpu_s, recorder_cpu_per_sample_us, lost_samples
 * Setting an existing key replaces it.
 */
int pk_store_set_stat(struct pk_store *st, int64_t sid, const char *key, double value);
/* PK_STORE_NOTFOUND when the key was never set. */
int pk_store_get_stat(struct pk_store *st, int64_t sid, const char *key, double *value);

struct pk_stat {
	char *key;
	double value;
};
/* All stats of a session sorted by key; free with pk_stat_array_free. */
int pk_store_stats(struct pk_store *st, int64_t sid, struct pk_stat **out, size_t *n);
void pk_stat_array_free(struct pk_stat *v, size_t n);

/* ---- symbols and stacks (write side, interned) ------------------------ */

/*
 * Interning: each call returns the id of an existing equal row or makes a
 * new one; results are cached in memory so repeated calls are cheap.
 * Returns the id (> 0), or a negative PK_STORE_E* code.
 */
int64_t pk_store_module(struct pk_store *st, int64_t sid, const char *path,
			const char *build_id /* hex, may be NULL */);
int64_t pk_store_function(struct pk_store *st, int64_t sid, const char *name, int64_t module_id);
/* A frame: a function at an address.  offset is the module-relative
 * address (ELF virtual address); file may be NULL, line 0. */
int64_t pk_store_frame(struct pk_store *st, int64_t sid, int64_t function_id, int64_t module_id,
		       uint64_t offset, const char *file, int line);
/* A stack node: frame_id called from parent (0 = root). */
int64_t pk_store_stack_node(struct pk_store *st, int64_t sid, int64_t parent, int64_t frame_id);

/* ---- samples ----------------------------------------------------------- */

/*
 * An event names what a sample's weight counts, pprof-style:
 * ("cpu", "samples"), ("wall", "samples"), ("alloc", "bytes"), ...
 * Interned per session; returns a small id (> 0) or a negative code.
 */
int pk_store_event(struct pk_store *st, int64_t sid, const char *name, const char *unit);

struct pk_sample {
	int64_t time_ns;   /* since session start (CLOCK_MONOTONIC based) */
	int32_t tid;
	int32_t event;     /* id from pk_store_event */
	int64_t stack_id;  /* leaf node id; 0 = no stack could be taken */
	int64_t weight;    /* 1 for a plain sample */
	char state;        /* thread state in wall mode ('R', 'S', 'D', ...); 0 */
};

/* Buffer a sample; written in the next batch (pk_store_flush, or
 * automatically every few thousand samples). */
int pk_store_add_sample(struct pk_store *st, int64_t sid, const struct pk_sample *s);

/* Commit everything buffered (samples and interned rows) in one
 * transaction.  A crash loses at most what was not flushed. */
int pk_store_flush(struct pk_store *st);

/* ---- read side --------------------------------------------------------- */

struct pk_module_row {
	char *path;
	char *build_id;    /* NULL when unknown */
};
struct pk_function_row {
	char *name;
	int64_t module_id;
};
struct pk_frame_row {
	int64_t function_id;
	int64_t module_id;
	uint64_t offset;
	char *file;        /* NULL when unknown */
	int line;
};
struct pk_node_row {
	int64_t parent;    /* 0 = root */
	int64_t frame_id;
	int depth;         /* 1 for a child of the root */
};
struct pk_event_row {
	char *name;
	char *unit;
};

/*
 * Everything needed to name a stack.  Arrays are indexed by id - 1
 * (modules[0] is module id 1).  Nodes are ordered so that a parent always
 * comes before its children.
 */
struct pk_symtab {
	struct pk_module_row *modules;     size_t n_modules;
	struct pk_function_row *functions; size_t n_functions;
	struct pk_frame_row *frames;       size_t n_frames;
	struct pk_node_row *nodes;         size_t n_nodes;
	struct pk_event_row *events;       size_t n_events;
};

int pk_store_load_symtab(struct pk_store *st, int64_t sid, struct pk_symtab *out);
void pk_symtab_release(struct pk_symtab *t);

/* The id of an event by name in a session, or PK_STORE_NOTFOUND. */
int pk_store_find_event(struct pk_store *st, int64_t sid, const char *name);

/*
 * Call cb for each sample of the session, in the order they were added
 * (time order, as perfkitd adds them).  event 0 = all events.  cb returns 0 to continue, non-zero to
 * stop (that value is returned).  The sample is valid during the call only.
 */
typedef int (*pk_sample_cb)(void *ctx, const struct pk_sample *s);
int pk_store_foreach_sample(struct pk_store *st, int64_t sid, int event, pk_sample_cb cb, void *ctx);

/* ---- allocation tracking (perfkitd --alloc; schema v3) ---------------- */

/*
 * What perfkitd --alloc saw, written once at the end of the session by
 * pk_store_alloc_write (one transaction) and read back by perfkit allocs.
 * Stack ids are stack_nodes ids of the session (0 = no stack).  Frees are
 * counted at the stack that made the block.  A session without allocation
 * data reads as PK_STORE_NOTFOUND from pk_store_alloc_summary.
 */
struct pk_alloc_summary {
	char mode[16];            /* "full" or "windowed" */
	int64_t window_ns, period_ns;  /* windowed: armed window_ns of every period_ns */
	int64_t armed_ns;         /* time the probes were armed */
	int64_t traced_ns;        /* time from the first arming to the end */
	int64_t alloc_calls, free_calls, bytes_allocated, bytes_freed;
	int64_t peak_bytes, peak_ns;   /* peak live bytes and when (since session start) */
	int64_t live_bytes, live_count;
	int64_t unknown_frees;    /* frees of blocks allocated before we watched */
	int64_t failed_allocs, nested_calls, lost_returns;
	int target_exited;        /* live allocations at the end are leaks */
};
struct pk_alloc_stack_row {
	int64_t stack_id;
	int64_t allocs, bytes, frees, bytes_freed, live_count, live_bytes, peak_bytes;
};
struct pk_alloc_live_row {   /* live at the end, by stack and size */
	int64_t stack_id, size, count;
};
struct pk_alloc_point {      /* memory in use at one moment */
	int64_t time_ns;          /* since session start */
	int64_t live_bytes, live_count, alloc_calls, free_calls;
	int armed;                /* probes armed at that moment */
};
struct pk_alloc_window {     /* [start_ns, end_ns) with probes armed */
	int64_t start_ns, end_ns;
};
struct pk_alloc_data {
	struct pk_alloc_summary summary;
	struct pk_alloc_stack_row *stacks; size_t n_stacks;
	struct pk_alloc_live_row *live;    size_t n_live;
	struct pk_alloc_point *timeline;   size_t n_timeline;   /* time order */
	struct pk_alloc_window *windows;   size_t n_windows;    /* time order */
};

/* Write (replace) the allocation data of session sid; arrays are borrowed. */
int pk_store_alloc_write(struct pk_store *st, int64_t sid, const struct pk_alloc_data *d);
/* Read it into *out (release with pk_alloc_data_release); PK_STORE_NOTFOUND
 * when the session was not recorded with --alloc. */
int pk_store_alloc_read(struct pk_store *st, int64_t sid, struct pk_alloc_data *out);
void pk_alloc_data_release(struct pk_alloc_data *d);

/* ---- counters and cache simulation (schema v5) -------------------------- */

/*
 * perf_event counters of a session, written once by perfkitd at the end of
 * recording.  Every event perfkitd tried is stored with its status, so a
 * reader never mistakes "did not open" for zero:
 *   "counted"      value holds the count, scaled for multiplexing
 *   "unsupported"  no such event here (ENOENT, EOPNOTSUPP, ENODEV; EINVAL
 *                  on a cache event): no hardware PMU, or not on this CPU
 *   "denied"       EACCES/EPERM: perf_event_paranoid or capabilities
 *   "gone"         ESRCH: the thread ended before the event opened
 * tid 0 is the whole process (the sum over its threads); other rows, when
 * present, are single threads.
 */
struct pk_counter_row {
	int32_t tid;
	char *name;           /* as perf spells it: "cycles", "page-faults", ... */
	char *status;
	int err;              /* errno of the failed open; 0 when counted */
	char *scope;          /* "user", "user+kernel" (NULL when unknown) */
	uint64_t raw;         /* count as read; 0 unless counted */
	uint64_t enabled_ns;  /* time the event was enabled ... */
	uint64_t running_ns;  /* ... and actually counting (multiplexing) */
	double value;         /* raw * enabled / running; only when counted */
};

/* Store n counter rows in one transaction (rows with the same tid and
 * name replace earlier ones). */
int pk_store_add_counters(struct pk_store *st, int64_t sid, const struct pk_counter_row *rows, size_t n);
/* The counter rows of a session, process rows (tid 0) first, each tid in
 * the order stored.  An old database or a session without counters gives
 * *n = 0.  Free with pk_counter_array_free. */
int pk_store_counters(struct pk_store *st, int64_t sid, struct pk_counter_row **out, size_t *n);
void pk_counter_array_free(struct pk_counter_row *v, size_t n);

/*
 * A cache simulation (perfkitd run --cache-sim: valgrind's cachegrind):
 * the geometry simulated, then counts per function (line 0) and per source
 * line.  Everything here is simulated, never measured.
 */
struct pk_cachesim_info {
	char *tool;           /* "cachegrind (valgrind-3.19.0)" */
	char *d1, *ll, *i1;   /* "32768,8,64" (size, associativity, line bytes) */
	char *geometry_from;  /* where the geometry came from, in words */
};
struct pk_cachesim_row {
	char *function;
	char *file;           /* NULL when unknown */
	int line;             /* 0 = the function's totals */
	uint64_t ir;          /* instructions executed */
	uint64_t dr, dw;      /* data reads, writes */
	uint64_t d1mr, d1mw;  /* D1 read / write misses */
	uint64_t dlmr, dlmw;  /* last-level data read / write misses */
	uint64_t i1mr, ilmr;  /* instruction fetch misses (I1, LL) */
};

int pk_store_set_cachesim(struct pk_store *st, int64_t sid, const struct pk_cachesim_info *info);
/* PK_STORE_NOTFOUND when the session has no simulation. */
int pk_store_get_cachesim(struct pk_store *st, int64_t sid, struct pk_cachesim_info *out);
void pk_cachesim_info_release(struct pk_cachesim_info *info);
/* Store n rows in one transaction. */
int pk_store_add_cachesim_rows(struct pk_store *st, int64_t sid, const struct pk_cachesim_row *rows, size_t n);
/* Function rows (lines = 0) or line rows (lines = 1), most D1 misses
 * (read + write) first.  Free with pk_cachesim_row_array_free. */
int pk_store_cachesim_rows(struct pk_store *st, int64_t sid, int lines, struct pk_cachesim_row **out, size_t *n);
void pk_cachesim_row_array_free(struct pk_cachesim_row *v, size_t n);

/* ---- function probes (perfkitd --probe; schema v4, store/probes.c) ----- */

/*
 * Results of one probed function on one thread (tid 0: all threads
 * together).  Times are wall-clock nanoseconds per call, already
 * corrected for the probe cost (session stat probe_correction_us).
 */
struct pk_probe_row {
	char *function;    /* demangled name */
	char *module;      /* basename of the file that defines it */
	int tid;           /* 0 = every thread */
	int64_t calls;     /* entries seen (exact) */
	int64_t lost;      /* calls that never returned (longjmp, exception,
	                      thread or target exit, still running at detach) */
	int64_t returned;  /* calls timed */
	int64_t total_ns;  /* inclusive time, recursion counted once */
	int64_t self_ns;   /* minus the time of probed callees */
	int64_t sum_ns;    /* sum of every returned call's time (avg = sum/returned) */
	int64_t min_ns, max_ns, p50_ns, p90_ns, p99_ns;
};

/* Store one row (written at once, not batched). */
int pk_store_add_probe_row(struct pk_store *st, int64_t sid, const struct pk_probe_row *row);
/* The rows of a session, all-threads rows (tid 0) only when
 * all_threads_only, else every row; ordered by total time (descending),
 * then function, then tid.  A session without probes, or a database
 * without the table, gives 0 rows.  Free with pk_probe_row_array_free. */
int pk_store_probe_rows(struct pk_store *st, int64_t sid, int all_threads_only,
			struct pk_probe_row **out, size_t *n);
void pk_probe_row_array_free(struct pk_probe_row *v, size_t n);

#endif
