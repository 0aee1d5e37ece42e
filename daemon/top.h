/*
 * top.h - "perfkitd top PID": a live, refreshing view of where a running
 * process spends its time.
 *
 * top is an attach session (daemon/session.c) with a view: the samples go
 * to a session as always (a temporary database that is removed at the
 * end, or the user's database with --record NAME), and once per interval
 * the view reads them back through the reader's model (src/profile.h:
 * pk_profile_load and pk_profile_function_stats, the numbers of "perfkit
 * report"), for the last interval and since the start.
 *
 * It lives in perfkitd because only daemon/ may touch a live process;
 * "perfkit top" is not provided (see perfkitd(1)).
 */
#ifndef PK_TOP_H
#define PK_TOP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "src/profile.h"

/* Entry point for "perfkitd top ARGS" (argv[0] is "top").  Returns the
 * exit status for main. */
int pk_top_main(int argc, char **argv);

/* ---- the view (top-view.c) -------------------------------------------- */

enum pk_top_sort { PK_TOP_SORT_SELF = 0, PK_TOP_SORT_TOTAL };

/* One function's shares, in percent of the samples counted. */
struct pk_top_row {
	const char *name;          /* owned by the cumulative profile */
	double self_int, total_int;/* last interval */
	double self_all, total_all;/* since the start */
};

struct pk_top_frame {
	struct pk_top_row *rows;
	size_t n_rows;
	uint64_t samples_int, samples_all;
	double interval_s, elapsed_s;
	size_t threads;
};

/*
 * Build a frame from the cumulative profile all and the last interval's
 * profile last (same session, so function ids agree), sorted by the
 * interval's self (or total) share, then the cumulative one.  Returns 0;
 * release with pk_top_frame_release.
 */
int pk_top_frame_build(const struct pk_profile *all, const struct pk_profile *last,
		       enum pk_top_sort sort, struct pk_top_frame *f);
void pk_top_frame_release(struct pk_top_frame *f);

struct pk_top_screen {
	int pid;
	const char *comm;
	int width, height;        /* terminal size; height 0 = no limit (batch) */
	int limit;                /* rows at most (0 = what fits) */
	enum pk_top_sort sort;
	int paused;
	const char *record_name;  /* session kept under this name, NULL = none */
};

/*
 * Print a frame: a header (process, threads, sample rate, interval),
 * then the table FUNCTION, SELF% and TOTAL% for the interval and since
 * the start, each line cut to the width.  At most height lines in all
 * when height > 0.
 */
void pk_top_render(FILE *out, const struct pk_top_screen *scr, const struct pk_top_frame *f);

#endif
