/*
 * perfkit.c - the reader's entry point: global options, then one table
 * that maps a command name to the function in src/cmd-NAME.c that runs
 * it (see builtin.h).  Nothing else happens here.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "builtin.h"
#include "error.h"

static const struct pk_command commands[] = {
	{ "sessions", cmd_sessions, "list, show, remove or stop recorded sessions" },
	{ "report", cmd_report, "per-function statistics: self and total samples and time" },
	{ "allocs", cmd_allocs, "allocation hotspots by call site, peak, leaks and memory over time (--alloc)" },
	{ "flamegraph", cmd_flamegraph, "interactive SVG flame graph of a session" },
	{ "export", cmd_export, "write a session as folded stacks, pprof or speedscope" },
	{ "compare", cmd_compare, "compare two sessions: speedup, changed functions, significance" },
	{ "analyze", cmd_analyze, "bottlenecks and recommendations, most severe first" },
	{ "cache", cmd_cache, "cache behaviour: counters, miss ratios, MPKI, IPC; simulated caches" },
	{ "annotate", cmd_annotate, "source lines of a function with their samples, hottest marked" },
	{ "probes", cmd_probes, "calls, total/self time and latency of probed functions (--probe)" },
	{ "html", cmd_html, "one self-contained HTML report: tables, flame graph, comparison" },
	/* One row per command, in the order 'perfkit --help' lists them. */
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char main_usage[] = "perfkit [--db PATH] COMMAND [ARGS]";

static void print_help(FILE *out)
{
	size_t i;

	fprintf(out,
		"usage: %s\n"
		"       perfkit help COMMAND | perfkit COMMAND --help\n"
		"       perfkit --version\n"
		"\n"
		"Read the sessions that perfkitd recorded.\n"
		"\n"
		"Commands:\n", main_usage);
	for (i = 0; i < N_COMMANDS; i++)
		fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
	fprintf(out,
		"\n"
		"Options:\n"
		"  --db PATH       the session database (default: $PERFKIT_DB, else\n"
		"                  $XDG_DATA_HOME/perfkit/perfkit.db, else\n"
		"                  ~/.local/share/perfkit/perfkit.db)\n"
		"  -h, --help      show this help\n"
		"  -V, --version   show the version\n"
		"\n"
		"SESSION is a session name, a numeric id, or 'last'.  Record one with\n"
		"'perfkitd run -- PROGRAM [ARGS]' or 'perfkitd attach PID'.\n"
		"See perfkit(1) for details.\n");
}

static const struct pk_command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < N_COMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static int unknown_command(const char *name)
{
	if (!strcmp(name, "run") || !strcmp(name, "attach") || !strcmp(name, "record"))
		pk_error("'%s' is a perfkitd command: record with 'perfkitd run -- PROGRAM' "
			 "or 'perfkitd attach PID'", name);
	else
		pk_error("'%s' is not a perfkit command; see 'perfkit --help'", name);
	return PK_EXIT_USAGE;
}

/* "perfkit help [COMMAND]" */
static int help_command(int argc, char **argv, struct pk_cli *cli)
{
	const struct pk_command *cmd;
	char help_flag[] = "--help";
	char *args[3];

	if (argc < 2) {
		print_help(stdout);
		return PK_EXIT_OK;
	}
	if (!(cmd = find_command(argv[1])))
		return unknown_command(argv[1]);
	args[0] = argv[1];
	args[1] = help_flag;
	args[2] = NULL;
	return cmd->run(2, args, cli);
}

int main(int argc, char **argv)
{
	struct pk_cli cli = { NULL, NULL, NULL };
	const struct pk_command *cmd;
	int i, rc;

	pk_set_program_name("perfkit");
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--")) {
			i++;
			break;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			print_help(stdout);
			return PK_EXIT_OK;
		} else if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
			printf("perfkit %s\n", PACKAGE_VERSION);
			return PK_EXIT_OK;
		} else if (!strcmp(a, "--db")) {
			if (i + 1 >= argc)
				return pk_cli_usage_error(main_usage, "option '--db' needs a value");
			cli.db_option = argv[++i];
		} else if (!strncmp(a, "--db=", 5)) {
			cli.db_option = a + 5;
		} else {
			return pk_cli_usage_error(main_usage, "unknown option '%s'", a);
		}
	}
	if (i >= argc) {
		print_help(stderr);
		return PK_EXIT_USAGE;
	}
	if (!strcmp(argv[i], "help"))
		rc = help_command(argc - i, argv + i, &cli);
	else if ((cmd = find_command(argv[i])))
		rc = cmd->run(argc - i, argv + i, &cli);
	else
		rc = unknown_command(argv[i]);
	pk_cli_release(&cli);
	/* A full disk or a closed pipe must not look like success. */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (errno != EPIPE)
			pk_perror("cannot write the output");
		if (rc == PK_EXIT_OK)
			rc = PK_EXIT_FAILURE;
	}
	return rc;
}
