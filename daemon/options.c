/*
 * options.c - parsing perfkitd's command line (see options.h).
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemon/options.h"
#include "error.h"
#include "strbuf.h"
#include "util.h"

#define DEFAULT_FREQUENCY 99.0
#define DEFAULT_STACK_BYTES (16 * 1024)
#define MAX_STACK_BYTES (1024 * 1024)

static const char usage_text[] =
	"usage: perfkitd run [OPTIONS] -- PROG [ARGS...]\n"
	"       perfkitd attach PID [OPTIONS]\n"
	"\n"
	"Profile a program from outside, with ptrace: every thread is sampled,\n"
	"its stack unwound and symbolized, and the session stored for 'perfkit'.\n"
	"\n"
	"Options:\n"
	"  -F, --freq HZ          sampling frequency per thread (default 99)\n"
	"      --mode cpu|wall    cpu: sample running threads only (default);\n"
	"                         wall: sample every thread and record its state\n"
	"  -d, --duration TIME    stop after TIME (0.5, 10s, 250ms, 2m, 1h)\n"
	"  -n, --name NAME        session name (default PROG-YYYYMMDD-HHMMSS)\n"
	"      --db PATH          session database (default $PERFKIT_DB, else\n"
	"                         $XDG_DATA_HOME/perfkit/perfkit.db, else\n"
	"                         ~/.local/share/perfkit/perfkit.db)\n"
	"      --stack-size BYTES bytes of stack copied per sample (default 16384)\n"
	"      --background       attach: detach from the terminal once attached,\n"
	"                         print the session name; end with\n"
	"                         'perfkit sessions stop SESSION'\n"
	"  -q, --quiet            no status line or messages, errors only\n"
	"  -h, --help             show this help\n"
	"  -V, --version          show the version\n"
	"\n"
	"run exits with PROG's exit status (128+N when PROG is killed by signal N).\n"
	"attach stops at --duration, Ctrl-C, SIGTERM or when the process exits,\n"
	"and leaves the process running as if untouched.\n";

static void usage(FILE *out)
{
	fputs(usage_text, out);
}

enum { OPT_MODE = 256, OPT_DB, OPT_BACKGROUND, OPT_STACK };

static const struct option long_options[] = {
	{ "freq", required_argument, NULL, 'F' },
	{ "frequency", required_argument, NULL, 'F' },
	{ "mode", required_argument, NULL, OPT_MODE },
	{ "duration", required_argument, NULL, 'd' },
	{ "name", required_argument, NULL, 'n' },
	{ "db", required_argument, NULL, OPT_DB },
	{ "background", no_argument, NULL, OPT_BACKGROUND },
	{ "stack-size", required_argument, NULL, OPT_STACK },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "perfkitd: error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'perfkitd --help'.\n");
	return -1;
}

/* Apply one option; 0, 1 (help/version printed) or -1 (usage error). */
static int apply_option(int c, const char *arg, char **argv, struct pk_options *opt)
{
	long lv;

	switch (c) {
	case 'F':
		if (pk_parse_frequency(arg, &opt->frequency) < 0 || opt->frequency > 10000)
			return usage_error("invalid frequency '%s': give Hz between 1 and 10000", arg);
		return 0;
	case OPT_MODE:
		if (!strcmp(arg, "cpu"))
			opt->mode = PK_MODE_CPU;
		else if (!strcmp(arg, "wall"))
			opt->mode = PK_MODE_WALL;
		else
			return usage_error("invalid mode '%s': use cpu or wall", arg);
		return 0;
	case 'd':
		if (pk_parse_duration(arg, &opt->duration) < 0)
			return usage_error("invalid duration '%s': use e.g. 0.5, 10s, 250ms, 2m", arg);
		return 0;
	case 'n':
		if (!*arg)
			return usage_error("%s", "empty session name");
		opt->name = arg;
		return 0;
	case OPT_DB:
		opt->db = arg;
		return 0;
	case OPT_BACKGROUND:
		opt->background = 1;
		return 0;
	case OPT_STACK:
		if (pk_parse_long(arg, &lv) < 0 || lv < 1024 || lv > MAX_STACK_BYTES)
			return usage_error("invalid stack size '%s': give bytes between 1024 and 1048576", arg);
		opt->stack_bytes = (size_t)lv;
		return 0;
	case 'q':
		opt->quiet = 1;
		return 0;
	case 'h':
		usage(stdout);
		return 1;
	case 'V':
		printf("perfkitd %s\n", PACKAGE_VERSION);
		return 1;
	default:
		if (optopt && optopt < 256)
			fprintf(stderr, "perfkitd: error: invalid or incomplete option '-%c'\n", optopt);
		else
			fprintf(stderr, "perfkitd: error: unknown or incomplete option '%s'\n", argv[optind - 1]);
		fprintf(stderr, "Try 'perfkitd --help'.\n");
		return -1;
	}
}

int pk_options_parse(int argc, char **argv, struct pk_options *opt)
{
	const char *cmd;
	int c, rc;
	long lv;

	memset(opt, 0, sizeof(*opt));
	opt->frequency = DEFAULT_FREQUENCY;
	opt->stack_bytes = DEFAULT_STACK_BYTES;
	opt->mode = PK_MODE_CPU;

	if (argc < 2)
		return usage_error("%s", "missing command: run or attach");
	cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 1;
	}
	if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
		printf("perfkitd %s\n", PACKAGE_VERSION);
		return 1;
	}
	if (!strcmp(cmd, "run"))
		opt->command = PK_CMD_RUN;
	else if (!strcmp(cmd, "attach"))
		opt->command = PK_CMD_ATTACH;
	else
		return usage_error("unknown command '%s': use run or attach", cmd);

	/*
	 * run: "+" stops at the first non-option so PROG's own options stay
	 * its own.  attach: options may come before or after the PID.
	 */
	/* optind = 0 makes glibc start afresh; argv[0] is then the command. */
	argc--;
	argv++;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, opt->command == PK_CMD_RUN ? "+F:d:n:qhV" : "F:d:n:qhV",
				long_options, NULL)) != -1) {
		rc = apply_option(c, optarg, argv, opt);
		if (rc)
			return rc;
	}

	if (opt->command == PK_CMD_ATTACH) {
		if (optind >= argc)
			return usage_error("%s", "attach needs a PID: perfkitd attach PID");
		if (pk_parse_long(argv[optind], &lv) < 0 || lv <= 0 || lv > 0x3fffffff)
			return usage_error("invalid PID '%s': give a process id", argv[optind]);
		opt->pid = (pid_t)lv;
		if (optind + 1 < argc)
			return usage_error("unexpected argument '%s'", argv[optind + 1]);
	} else {
		if (opt->background)
			return usage_error("%s", "--background works with attach only");
		if (optind >= argc)
			return usage_error("%s", "run needs a program: perfkitd run [OPTIONS] -- PROG [ARGS]");
		opt->argv = argv + optind;
	}
	return 0;
}

char *pk_options_command_line(const struct pk_options *opt)
{
	struct pk_strbuf sb = PK_STRBUF_INIT;
	char **a;

	for (a = opt->argv; a && *a; a++) {
		if (a != opt->argv)
			pk_strbuf_addch(&sb, ' ');
		pk_strbuf_addstr(&sb, *a);
	}
	return pk_strbuf_detach(&sb);
}
