/*
 * options.h - perfkitd's command line: what to profile and how.
 */
#ifndef PK_OPTIONS_H
#define PK_OPTIONS_H

#include <sys/types.h>

enum pk_command { PK_CMD_NONE, PK_CMD_RUN, PK_CMD_ATTACH };
enum pk_mode { PK_MODE_CPU, PK_MODE_WALL };
enum pk_sampler_kind { PK_SAMPLER_AUTO, PK_SAMPLER_PERF, PK_SAMPLER_PTRACE };

struct pk_options {
	enum pk_command command;
	enum pk_mode mode;
	enum pk_sampler_kind sampler;  /* --sampler (cpu mode) */
	double frequency;     /* Hz */
	double duration;      /* seconds; 0 = until target exit or signal */
	const char *name;     /* session name, NULL = generated */
	const char *db;       /* --db, NULL = default */
	int quiet;
	int background;       /* attach --background */
	size_t stack_bytes;   /* bytes of stack copied per sample */
	pid_t pid;            /* attach */
	char **argv;          /* run: PROG ARGS (NULL-terminated) */

	/* Instruments (daemon/instruments.c). */
	int alloc;                   /* --alloc: trace the malloc family */
	double alloc_window_s;       /* --alloc-sample ON/PERIOD: armed ON s ... */
	double alloc_period_s;       /* ... out of every PERIOD s; 0 = always */
	const char **probes;         /* --probe PATTERN (repeatable), NULL-terminated */
	size_t n_probes;
	long probe_limit;            /* --probe-limit (default 100) */
	const char *probe_backend;   /* --probe-backend auto|jump|int3 (default auto) */
	int counters;                /* --counters */
	const char *sample_on;       /* --sample-on EVENT */
	int cache_sim;               /* --cache-sim (run mode) */
};

/*
 * Parse argv (after "perfkitd").  Returns 0 on success, 1 when help or
 * version was printed (exit 0), -1 on a usage error (already reported;
 * exit PK_EXIT_USAGE).
 */
int pk_options_parse(int argc, char **argv, struct pk_options *opt);

/* The command line of the target joined by spaces (malloc'd). */
char *pk_options_command_line(const struct pk_options *opt);

#endif
