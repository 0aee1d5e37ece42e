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
	"       perfkitd top PID [OPTIONS]     (live view: 'perfkitd top --help')\n"
	"\n"
	"Profile a program from outside, with ptrace: every thread is sampled,\n"
	"its stack unwound and symbolized, and the session stored for 'perfkit'.\n"
	"\n"
	"Options:\n"
	"  -F, --freq HZ          sampling frequency per thread (default 99)\n"
	"      --mode cpu|wall    cpu: sample running threads only (default);\n"
	"                         wall: sample every thread and record its state\n"
	"      --sampler auto|perf|ptrace\n"
	"                         cpu mode: perf: the kernel samples each thread\n"
	"                         (cpu-clock perf event, the thread never stops);\n"
	"                         ptrace: interrupt each thread; auto: perf where\n"
	"                         perf_event_open allows it (default)\n"
	"  -d, --duration TIME    stop after TIME (0.5, 10s, 250ms, 2m, 1h)\n"
	"  -n, --name NAME        session name (default PROG-YYYYMMDD-HHMMSS)\n"
	"      --db PATH          session database (default $PERFKIT_DB, else\n"
	"                         $XDG_DATA_HOME/perfkit/perfkit.db, else\n"
	"                         ~/.local/share/perfkit/perfkit.db)\n"
	"      --stack-size BYTES bytes of stack copied per sample (default 16384)\n"
	"      --alloc            trace malloc, free and the rest of the family:\n"
	"                         hotspots, peak and leaks ('perfkit allocs')\n"
	"      --alloc-sample ON/PERIOD\n"
	"                         trace allocations ON seconds out of every PERIOD\n"
	"      --probe PATTERN    count calls and time each call of the functions\n"
	"                         matching PATTERN ([MODULE:]GLOB; repeatable)\n"
	"      --probe-limit N    refuse patterns matching more than N functions\n"
	"                         (default 100)\n"
	"      --probe-backend auto|trap|jump|int3\n"
	"                         how --alloc probes are placed: int3 breakpoints\n"
	"                         (two stops per malloc, one per free); jump\n"
	"                         (detours write each call into a shared ring:\n"
	"                         no stop, drops when the ring is full); trap\n"
	"                         (jump, but a call stops instead of dropping:\n"
	"                         the ring full, or a deep stack); auto\n"
	"                         (default): trap.  trap and jump use int3 for\n"
	"                         what they cannot patch; --probe uses int3\n"
	"      --counters         hardware and software counters (perf_event_open);\n"
	"                         events that cannot be opened are stored as such\n"
	"      --sample-on EVENT[:PERIOD]\n"
	"                         also sample every PERIOD occurrences of EVENT\n"
	"                         (cache-misses, page-faults, cpu-clock...), with skid\n"
	"      --cache-sim        run only, a mode of its own: run PROG under\n"
	"                         valgrind's cachegrind (the host's cache geometry),\n"
	"                         import per function and line; no ptrace sampling\n"
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

enum {
	OPT_MODE = 256, OPT_DB, OPT_BACKGROUND, OPT_STACK, OPT_ALLOC, OPT_ALLOC_SAMPLE, OPT_PROBE,
	OPT_PROBE_LIMIT, OPT_PROBE_BACKEND, OPT_COUNTERS, OPT_SAMPLE_ON, OPT_CACHE_SIM, OPT_SAMPLER
};

static const struct option long_options[] = {
	{ "freq", required_argument, NULL, 'F' },
	{ "frequency", required_argument, NULL, 'F' },
	{ "mode", required_argument, NULL, OPT_MODE },
	{ "sampler", required_argument, NULL, OPT_SAMPLER },
	{ "duration", required_argument, NULL, 'd' },
	{ "name", required_argument, NULL, 'n' },
	{ "db", required_argument, NULL, OPT_DB },
	{ "background", no_argument, NULL, OPT_BACKGROUND },
	{ "stack-size", required_argument, NULL, OPT_STACK },
	{ "alloc", no_argument, NULL, OPT_ALLOC },
	{ "alloc-sample", required_argument, NULL, OPT_ALLOC_SAMPLE },
	{ "probe", required_argument, NULL, OPT_PROBE },
	{ "probe-limit", required_argument, NULL, OPT_PROBE_LIMIT },
	{ "probe-backend", required_argument, NULL, OPT_PROBE_BACKEND },
	{ "counters", no_argument, NULL, OPT_COUNTERS },
	{ "sample-on", required_argument, NULL, OPT_SAMPLE_ON },
	{ "cache-sim", no_argument, NULL, OPT_CACHE_SIM },
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
	case OPT_SAMPLER:
		if (!strcmp(arg, "auto"))
			opt->sampler = PK_SAMPLER_AUTO;
		else if (!strcmp(arg, "perf"))
			opt->sampler = PK_SAMPLER_PERF;
		else if (!strcmp(arg, "ptrace"))
			opt->sampler = PK_SAMPLER_PTRACE;
		else
			return usage_error("invalid sampler '%s': use auto, perf or ptrace", arg);
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
	case OPT_ALLOC:
		opt->alloc = 1;
		return 0;
	case OPT_ALLOC_SAMPLE: {
		const char *slash = strchr(arg, '/');
		char *on;
		int bad;

		if (!slash)
			return usage_error("invalid --alloc-sample '%s': give ON/PERIOD, e.g. 1s/10s", arg);
		on = pk_xasprintf("%.*s", (int)(slash - arg), arg);
		bad = pk_parse_duration(on, &opt->alloc_window_s) < 0 ||
		      pk_parse_duration(slash + 1, &opt->alloc_period_s) < 0 ||
		      opt->alloc_window_s > opt->alloc_period_s;
		free(on);
		if (bad)
			return usage_error("invalid --alloc-sample '%s': give ON/PERIOD with ON <= PERIOD, "
					   "e.g. 1s/10s", arg);
		opt->alloc = 1;
		return 0;
	}
	case OPT_PROBE:
		if (!*arg)
			return usage_error("%s", "empty --probe pattern");
		opt->probes = pk_xrealloc(opt->probes, (opt->n_probes + 2) * sizeof(*opt->probes));
		opt->probes[opt->n_probes++] = arg;
		opt->probes[opt->n_probes] = NULL;
		return 0;
	case OPT_PROBE_LIMIT:
		if (pk_parse_long(arg, &lv) < 0 || lv < 1)
			return usage_error("invalid --probe-limit '%s': give a positive number", arg);
		opt->probe_limit = lv;
		return 0;
	case OPT_PROBE_BACKEND:
		if (strcmp(arg, "auto") && strcmp(arg, "int3") && strcmp(arg, "jump") && strcmp(arg, "trap"))
			return usage_error("invalid --probe-backend '%s': use auto, trap, jump or int3", arg);
		opt->probe_backend = arg;
		return 0;
	case OPT_COUNTERS:
		opt->counters = 1;
		return 0;
	case OPT_SAMPLE_ON:
		if (!*arg)
			return usage_error("%s", "empty --sample-on event");
		opt->sample_on = arg;
		return 0;
	case OPT_CACHE_SIM:
		opt->cache_sim = 1;
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
	opt->probe_limit = 100;
	opt->probe_backend = "auto";

	if (argc < 2)
		return usage_error("%s", "missing command: run, attach or top");
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
		return usage_error("unknown command '%s': use run, attach or top", cmd);

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
		if (opt->cache_sim)
			return usage_error("%s", "--cache-sim works with run only: the program must start "
					   "under the simulator");
	} else {
		if (opt->background)
			return usage_error("%s", "--background works with attach only");
		if (optind >= argc)
			return usage_error("%s", "run needs a program: perfkitd run [OPTIONS] -- PROG [ARGS]");
		opt->argv = argv + optind;
	}
	if (opt->mode == PK_MODE_WALL && opt->sampler == PK_SAMPLER_PERF)
		return usage_error("%s", "--sampler perf samples running threads only: wall mode must "
				   "interrupt sleeping ones too (use --sampler auto or ptrace)");
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
