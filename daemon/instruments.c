/*
 * instruments.c - which instruments a session runs, from the options.
 * One line per instrument; see instrument.h.
 */
#include "daemon/instrument.h"
#include "error.h"

int pk_instruments_create(const struct pk_options *opt, struct pk_instrument *out, size_t max)
{
	size_t n = 0;

	(void)out;
	(void)max;
	/* Options whose instrument this build does not have yet. */
	if (opt->alloc) {
		pk_error("--alloc is not available in this build of perfkitd");
		return -1;
	}
	if (opt->n_probes) {
		pk_error("--probe is not available in this build of perfkitd");
		return -1;
	}
	if (opt->counters || opt->sample_on) {
		pk_error("--counters and --sample-on are not available in this build of perfkitd");
		return -1;
	}
	if (opt->cache_sim) {
		pk_error("--cache-sim is not available in this build of perfkitd");
		return -1;
	}
	return (int)n;
}
