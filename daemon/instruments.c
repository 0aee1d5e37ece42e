/*
 * instruments.c - which instruments a session runs, from the options.
 * One line per instrument; see instrument.h.
 */
#include "daemon/alloc-instrument.h"
#include "daemon/alloc-jump.h"
#include "daemon/counters.h"
#include "daemon/fprobe.h"
#include "daemon/instrument.h"
#include "error.h"

int pk_instruments_create(const struct pk_options *opt, struct pk_instrument *out, size_t max)
{
	size_t n = 0;

	(void)out;
	(void)max;
	/* Options whose instrument this build does not have yet. */
	if (opt->alloc && n < max) {
		if ((pk_alloc_jump_wanted(opt) ? pk_alloc_jump_create(opt, &out[n])
					       : pk_alloc_instrument_create(opt, &out[n])) < 0)
			return -1;
		n++;
	}
	if (opt->n_probes && n < max) {
		if (pk_fprobe_create(opt, &out[n]) < 0)
			return -1;
		n++;
	}
	if (opt->counters && n < max) {
		if (pk_counters_instrument(opt, &out[n]) < 0)
			return -1;
		n++;
	}
	if (opt->sample_on && n < max) {
		if (pk_sample_on_instrument(opt, &out[n]) < 0)
			return -1;
		n++;
	}
	if (opt->cache_sim) {
		/* perfkitd.c runs --cache-sim as its own mode (daemon/cachesim.h). */
		pk_error("--cache-sim runs the program under valgrind and cannot be combined with "
			 "other instruments");
		return -1;
	}
	return (int)n;
}
