/*
 * status.h - the live status line on a terminal while recording
 * ("perfkitd: 12.3 s  4,567 samples  4 threads  0 unwind failures").
 * Nothing is printed when stderr is not a terminal or in quiet mode.
 */
#ifndef PK_STATUS_H
#define PK_STATUS_H

#include <stdint.h>

struct pk_status_line {
	int enabled;
	uint64_t last_ns;
	int shown;
};

void pk_status_init(struct pk_status_line *sl, int quiet);
/* Redraw at most 4 times a second (force = now). */
void pk_status_update(struct pk_status_line *sl, double elapsed_s, uint64_t samples,
		      size_t threads, uint64_t unwind_failures, uint64_t lost, int force);
/* Erase the line before other output. */
void pk_status_clear(struct pk_status_line *sl);

#endif
