/*
 * status.h - the live status line on a terminal while recording
 * ("perfkitd: 12.3 s  4567 samples  4 threads  0 unwind failures  12034
 * alloc events"): the instruments' counts follow the sampler's.
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

/* One more count on the line: n, then what it counts. */
struct pk_status_count {
	const char *what;
	uint64_t n;
};

void pk_status_init(struct pk_status_line *sl, int quiet);
/* Redraw at most 4 times a second (force = now); extra (n_extra of them,
 * may be NULL when 0) are shown after the sampler's counts. */
void pk_status_update(struct pk_status_line *sl, double elapsed_s, uint64_t samples,
		      size_t threads, uint64_t unwind_failures, uint64_t lost,
		      const struct pk_status_count *extra, size_t n_extra, int force);
/* Erase the line before other output. */
void pk_status_clear(struct pk_status_line *sl);

#endif
