/*
 * alloc-instrument.h - perfkitd --alloc: allocation tracking as an
 * instrument (instrument.h) on the allocation library (alloc.h) and the
 * probe engine (probe.h).
 *
 * Every allocation becomes two samples at the caller's stack, "alloc_bytes"
 * (weight = size) and "alloc_count" (weight 1), so report, flamegraph and
 * compare work on them; live blocks at the end become "alloc_live"
 * samples (weight = bytes).  The allocation tables of the store (per-stack
 * aggregates, live blocks by stack and size, timeline, windows, totals and
 * mode) are written at finish.
 */
#ifndef PK_ALLOC_INSTRUMENT_H
#define PK_ALLOC_INSTRUMENT_H

#include "daemon/instrument.h"

/*
 * Fill *out with the allocation instrument for opt (opt->alloc set;
 * opt->alloc_period_s > 0 selects windows).  Returns 0, or -1 after
 * reporting an error.
 */
int pk_alloc_instrument_create(const struct pk_options *opt, struct pk_instrument *out);

#endif
