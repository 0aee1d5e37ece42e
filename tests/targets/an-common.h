/*
 * an-common.h - shared by the tests/targets/an-*.c tracees of the
 * "perfkit analyze" integration tests: a CPU-time clock so each tracee
 * runs for a known amount of its own CPU time (first argument, seconds,
 * default 1), whatever the machine's speed or the profiler's overhead.
 */
#ifndef AN_COMMON_H
#define AN_COMMON_H

#include <stdlib.h>
#include <time.h>

#define NOIPA __attribute__((noipa))

static inline double an_cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline double an_wall_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The run time asked on the command line (argv[1]), default 1 s. */
static inline double an_seconds(int argc, char **argv)
{
	double s = argc > 1 ? atof(argv[1]) : 1.0;

	return s > 0 ? s : 1.0;
}

#endif
