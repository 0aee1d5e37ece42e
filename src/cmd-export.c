/*
 * cmd-export.c - "perfkit export SESSION --format FMT": a session in a
 * format other tools open (folded stacks, pprof, speedscope).  The formats
 * are backends in src/export.h's table; this file parses options, loads
 * the profile and hands it to the backend, writing to stdout or, through
 * a temporary file and a rename, to -o FILE.
 */
#include <string.h>
#include <unistd.h>

#include "builtin.h"
#include "error.h"
#include "src/export.h"

static const char export_usage[] =
	"perfkit export --format folded|pprof|speedscope [-o FILE] [--thread TID]\n"
	"                      [--from T] [--to T] [--event NAME] SESSION";

static const char export_help[] =
	"usage: perfkit export --format FORMAT [options] SESSION\n"
	"\n"
	"Write a session in a format that other tools open:\n"
	"  folded       one line per distinct stack, frames root to leaf joined by\n"
	"               ';', a space and the count: flamegraph.pl, inferno,\n"
	"               Pyroscope ingest (a ';' inside a name becomes ':')\n"
	"  pprof        gzip-compressed profile.proto: go tool pprof, Grafana,\n"
	"               Pyroscope, Parca (sample types samples/count and\n"
	"               cpu/nanoseconds; mappings with build-ids, functions with\n"
	"               file and line, the session's start time and duration)\n"
	"  speedscope   speedscope's JSON format, one sampled profile per thread\n"
	"               in time order\n"
	"\n"
	"An empty session gives a valid file with no samples (and a warning).\n"
	"SESSION is a session name, a numeric id, or 'last'.\n"
	"\n"
	"Options:\n"
	"  -f, --format FORMAT   folded, pprof or speedscope (required)\n"
	"  -o, --output FILE     write to FILE (default: standard output); the file\n"
	"                        appears complete or not at all\n"
	"  --thread TID          only the samples of thread TID\n"
	"  --from T, --to T      only samples taken between T and T seconds after the\n"
	"                        start (\"1.5\", \"250ms\", \"2m\")\n"
	"  --event NAME          export this event (default: cpu, or wall in wall mode)\n"
	"  --db PATH             the session database\n"
	"  -h, --help            show this help\n";

int cmd_export(int argc, char **argv, struct pk_cli *cli)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		PK_RENDER_FILTER_OPTIONS,
		PK_CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	const struct pk_exporter *exp = NULL;
	struct pk_filter filter;
	struct pk_profile p;
	struct pk_outfile out;
	struct pk_export_ctx ctx;
	const char *output = NULL;
	char err[512] = "";
	int c, rc;

	memset(&filter, 0, sizeof(filter));
	pk_cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":hf:o:", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (!(exp = pk_exporter_find(optarg)))
				return pk_cli_usage_error(export_usage,
							  "unknown format '%s'; use folded, pprof or speedscope",
							  optarg);
			break;
		case 'o':
			output = optarg;
			break;
		case PK_RENDER_OPT_THREAD:
		case PK_RENDER_OPT_FROM:
		case PK_RENDER_OPT_TO:
		case PK_RENDER_OPT_EVENT:
			if ((rc = pk_render_filter_option(c, optarg, &filter, export_usage)) >= 0)
				return rc;
			break;
		default:
			if ((rc = pk_cli_common_option(cli, c, argv, export_usage, export_help)) >= 0)
				return rc;
		}
	}
	if (optind + 1 != argc)
		return pk_cli_usage_error(export_usage, optind >= argc ? "which session? give a SESSION"
					  : "one SESSION at a time");
	if (!exp)
		return pk_cli_usage_error(export_usage, "which format? give --format folded, pprof or speedscope");
	if (exp->binary && (!output || !strcmp(output, "-")) && isatty(STDOUT_FILENO)) {
		pk_error("refusing to write %s data to a terminal; use -o FILE or a redirection", exp->name);
		return PK_EXIT_USAGE;
	}

	if ((rc = pk_render_load(cli, argv[optind], &filter, &p)))
		return rc;
	if (pk_outfile_open(&out, output) < 0) {
		pk_profile_release(&p);
		return PK_EXIT_FAILURE;
	}
	if (p.total == 0)
		pk_render_warn_empty(&p, &filter, "a file with no samples");
	ctx.store = cli->store;
	ctx.profile = &p;
	ctx.filter = &filter;
	if (exp->write(out.fp, &ctx, err, sizeof(err)) < 0) {
		if (err[0])
			pk_error("cannot export session '%s': %s", p.session.name, err);
		else
			pk_perror("cannot write '%s'", output ? output : "standard output");
		pk_outfile_abort(&out);
		rc = PK_EXIT_FAILURE;
	} else if (pk_outfile_commit(&out) < 0) {
		rc = PK_EXIT_FAILURE;
	}
	pk_profile_release(&p);
	return rc;
}
