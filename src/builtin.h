/*
 * builtin.h - the commands of the perfkit binary.
 *
 * Every command lives in its own src/cmd-NAME.c and has this shape:
 *
 *     int cmd_NAME(int argc, char **argv, struct pk_cli *cli);
 *
 * argv[0] is the command's name and argv[argc] is NULL, so the command
 * parses its options with getopt_long after pk_cli_getopt_reset().  The
 * global options (--db) are already in cli; the command opens the store
 * when it needs it (pk_cli_open_store) and perfkit.c releases the cli
 * afterwards.  The return value is the process exit status
 * (PK_EXIT_OK / PK_EXIT_FAILURE / PK_EXIT_USAGE from error.h).  Every
 * command answers --help on stdout with status 0.
 *
 * Adding a command: write src/cmd-NAME.c, declare cmd_NAME here, add a
 * row to the table in src/perfkit.c, a section to man/perfkit.1 and a
 * --help check to tests/integration/reader-cli.sh.
 */
#ifndef PK_BUILTIN_H
#define PK_BUILTIN_H

#include "src/cli.h"

typedef int (*pk_command_fn)(int argc, char **argv, struct pk_cli *cli);

struct pk_command {
	const char *name;
	pk_command_fn run;
	const char *summary;   /* one line for 'perfkit --help' */
};

/* src/cmd-sessions.c: list | show | rm | stop */
int cmd_sessions(int argc, char **argv, struct pk_cli *cli);
/* src/cmd-report.c: per-function statistics */
int cmd_report(int argc, char **argv, struct pk_cli *cli);

/* Further commands (flamegraph, export, allocs, analyze, compare, ...)
 * are declared below by their authors. */

/* src/cmd-allocs.c: allocation hotspots, leaks, timeline (perfkitd --alloc) */
int cmd_allocs(int argc, char **argv, struct pk_cli *cli);
/* src/cmd-flamegraph.c: interactive SVG flame graph */
int cmd_flamegraph(int argc, char **argv, struct pk_cli *cli);
/* src/cmd-export.c: folded stacks, pprof, speedscope */
int cmd_export(int argc, char **argv, struct pk_cli *cli);
/* src/cmd-compare.c: two sessions, what changed and whether it is real */
int cmd_compare(int argc, char **argv, struct pk_cli *cli);
/* src/cmd-annotate.c: a function's source lines with their samples */
int cmd_annotate(int argc, char **argv, struct pk_cli *cli);
/* src/cmd-html.c: one self-contained HTML report */
int cmd_html(int argc, char **argv, struct pk_cli *cli);
/* src/cmd-cache.c: counters, sampled cache events and cache simulation */
int cmd_cache(int argc, char **argv, struct pk_cli *cli);

/* src/cmd-analyze.c: bottlenecks and recommendations (rule engine) */
int cmd_analyze(int argc, char **argv, struct pk_cli *cli);

/* src/cmd-probes.c: calls and latency of probed functions (perfkitd --probe) */
int cmd_probes(int argc, char **argv, struct pk_cli *cli);

#endif
