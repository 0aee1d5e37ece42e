/*
 * cachesim.h - "perfkitd run --cache-sim": the program runs under
 * valgrind's cachegrind with a stated cache geometry, and cachegrind's
 * counts per function and per source line are imported into a session.
 *
 * This is its own mode, not an instrument beside the sampler: a program
 * running under valgrind executes valgrind's translation of its code, so
 * ptrace samples of it would describe valgrind, not the program.  The
 * results are a simulation and are stored and shown as such, with the
 * geometry that was simulated.
 */
#ifndef PK_CACHESIM_H
#define PK_CACHESIM_H

#include <stddef.h>
#include <stdio.h>

#include "daemon/options.h"
#include "store/store.h"

/* One simulated cache: size in bytes, associativity, line size. */
struct pk_cache_geometry {
	long size, assoc, line;
};

struct pk_cachesim_geometry {
	struct pk_cache_geometry i1, d1, ll;
	char from[256];  /* where it came from, in words */
};

/*
 * The host's geometry from sysfs_dir (normally
 * /sys/devices/system/cpu/cpu0/cache): L1 data, L1 instruction, and the
 * highest unified level as LL.  Missing levels take perfkit's defaults
 * (D1/I1 32 KiB 8-way, LL 8 MiB 16-way, 64-byte lines); a cache whose set
 * count is not a power of two (cachegrind needs one) is rounded down.
 * Every such choice is written in g->from.  Never fails.
 */
void pk_cachesim_host_geometry(const char *sysfs_dir, struct pk_cachesim_geometry *g);

/* "32768,8,64", the form of cachegrind's --D1/--LL/--I1. */
void pk_cache_geometry_format(const struct pk_cache_geometry *c, char *buf, size_t len);

/*
 * Parse a cachegrind output file: per function (line 0) and per source
 * line rows.  Returns 0 with *rows (n rows, free with
 * pk_cachesim_row_array_free), or -1 with a message in err.
 */
int pk_cachegrind_parse(FILE *in, struct pk_cachesim_row **rows, size_t *n, char *err, size_t errlen);

/* "perfkitd run --cache-sim -- PROG": returns PROG's exit status (128+N
 * for signal N), or 1 (or 127 when valgrind is missing) after an error. */
int pk_cachesim_run(const struct pk_options *opt);

#endif
