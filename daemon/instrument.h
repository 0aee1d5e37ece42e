/*
 * instrument.h - what perfkitd runs beside the sampler: allocation
 * tracking, function probes, hardware counters.  Each is one backend
 * behind struct pk_instrument_ops, created by daemon/instruments.c from
 * the command line, and driven by daemon/session.c through the session's
 * life.  Adding one is: a file with its ops, a line in instruments.c.
 *
 * Order of calls (every hook may be NULL):
 *   start      once the session exists and every thread is seized; in run
 *              mode the new program is stopped at its exec (only ld.so is
 *              mapped yet).  May stop all threads (pk_tracer_stop_all) to
 *              patch code, then must resume them (pk_tracer_resume_all).
 *   on_trap    a SIGTRAP signal-delivery-stop: 1 = ours, handled (resume
 *              with no signal), 0 = not ours.
 *   on_fork    a fork child, stopped, sharing nothing: clean it before the
 *              tracer detaches it.  (Needs follow_forks.)
 *   on_exec    the process exec'd; the new program is stopped at exec.
 *   on_thread_new   a thread appeared (seized; may still be running).
 *   on_thread_exiting  a thread is stopped at its exit: the process's
 *              memory and files are still there (the last chance to read
 *              them when it is the last thread).
 *   on_thread_exit  a thread is gone.
 *   tick       every loop iteration (about every tick of the sampling
 *              timer, at least 4 times a second), for windows and flushes.
 *   detach     every thread is stopped (tids); undo everything in the
 *              target.  Called on every exit path before the tracer
 *              detaches, unless the process already exited.
 *   finish     write results and statistics into the session: 0, -1
 *              when the store failed (the session says so), or
 *              PK_FINISH_REPORTED after reporting an error of the user's
 *              (the results are stored all the same); either failure
 *              makes perfkitd exit 1.
 *   free       release (accepts a partially started instrument).
 *   status     for the live status line: a count so far and what it
 *              counts ("alloc events", "probed calls").
 *   busy       PK_BUSY_NOW when records wait that the next tick would
 *              take: the main loop then ticks again without waiting;
 *              PK_BUSY_SOON when records have been coming and more will:
 *              it ticks again after PK_BUSY_NAP_NS; 0 (or NULL): after
 *              its timer.
 */
#ifndef PK_INSTRUMENT_H
#define PK_INSTRUMENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "daemon/maps.h"
#include "daemon/options.h"
#include "daemon/recorder.h"
#include "daemon/tracer.h"
#include "daemon/unwind.h"
#include "store/store.h"

/* What an instrument may use; owned by the session. */
struct pk_instrument_ctx {
	const struct pk_options *opt;
	struct pk_tracer *tracer;
	struct pk_store *st;
	int64_t sid;
	struct pk_maps *maps;
	struct pk_unwinder *unwinder;
	struct pk_recorder *recorder;
	uint64_t start_ns;     /* CLOCK_MONOTONIC at session start */
	int run_mode;          /* the target was started by perfkitd */
};

#define PK_FINISH_REPORTED (-2)

struct pk_instrument_ops {
	const char *name;
	int (*start)(void *self, struct pk_instrument_ctx *ctx);
	int (*on_trap)(void *self, pid_t tid);
	void (*on_fork)(void *self, pid_t child, pid_t parent_tid);
	void (*on_exec)(void *self, pid_t pid);
	void (*on_thread_new)(void *self, pid_t tid);
	void (*on_thread_exiting)(void *self, pid_t tid);
	void (*on_thread_exit)(void *self, pid_t tid);
	int (*tick)(void *self, uint64_t now_ns);
	void (*detach)(void *self, const pid_t *tids, size_t n);
	int (*finish)(void *self);
	void (*free)(void *self);
	uint64_t (*status)(void *self, const char **what);
	int (*busy)(void *self);
};

#define PK_BUSY_SOON 1
#define PK_BUSY_NOW 2
#define PK_BUSY_NAP_NS 100000

struct pk_instrument {
	const struct pk_instrument_ops *ops;
	void *self;
	int follow_forks;      /* the tracer must stop fork children for on_fork */
};

/*
 * Create the instruments the options ask for (daemon/instruments.c).
 * Returns the number created (0..max), or -1 after reporting an error
 * (e.g. a probe pattern that matches nothing).
 */
int pk_instruments_create(const struct pk_options *opt, struct pk_instrument *out, size_t max);

#endif
