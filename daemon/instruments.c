/*
 * instruments.c - which instruments a session runs, from the options.
 * One line per instrument; see instrument.h.
 */
#include "daemon/instrument.h"
#include "error.h"

int pk_instruments_create(const struct pk_options *opt, struct pk_instrument *out, size_t max)
{
	size_t n = 0;

	(void)opt;
	(void)out;
	(void)max;
	return (int)n;
}
