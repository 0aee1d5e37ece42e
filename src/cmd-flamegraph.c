/*
 * cmd-flamegraph.c - "perfkit flamegraph SESSION": an interactive SVG flame
 * graph of a session, one self-contained file that any browser opens.
 *
 * The work is in flamegraph-*.c: this file parses options, loads the
 * profile, and writes the SVG to stdout or, through a temporary file and
 * a rename, to -o FILE.
 */
#include <stdlib.h>
#include <string.h>

#include "builtin.h"
#include "error.h"
#include "src/export.h"
#include "src/flamegraph.h"
#include "strbuf.h"
#include "util.h"

static const char flamegraph_usage[] =
	"perfkit flamegraph [-o FILE] [--title TEXT] [--width PX] [--minwidth PX]\n"
	"                          [--icicle] [--reverse] [--colors PALETTE] [--thread TID]\n"
	"                          [--from T] [--to T] [--event NAME] [--alloc bytes|count|live] SESSION";

static const char flamegraph_help[] =
	"usage: perfkit flamegraph [options] SESSION\n"
	"\n"
	"Write an interactive flame graph of a session as one SVG file: frame width\n"
	"is proportional to samples, callers below callees.  Open it in a browser:\n"
	"hover a frame for its name, module, samples and shares; click to zoom\n"
	"(ancestors stay, dimmed; \"Reset Zoom\" goes back); search by regular\n"
	"expression with the box or Ctrl-F (matches turn magenta, the matched share\n"
	"counts nested matches once).  The file needs no network and no other file.\n"
	"\n"
	"SESSION is a session name, a numeric id, or 'last'.\n"
	"\n"
	"Options:\n"
	"  -o, --output FILE     write to FILE (default: standard output); the file\n"
	"                        appears complete or not at all\n"
	"  --title TEXT          the title (default \"Flame Graph\")\n"
	"  --width PX            image width in pixels (default 1200)\n"
	"  --minwidth PX         frames narrower than PX pixels are merged into one\n"
	"                        group per parent, or hidden when even the group is\n"
	"                        narrower; the subtitle says how many (default 0.1)\n"
	"  --icicle              root at the top, callees below\n"
	"  --reverse             merge stacks at the leaves: the bottom row shows\n"
	"                        where time is spent, callers above\n"
	"  --colors PALETTE      hot (default), cold, mem or mono; colours stay\n"
	"                        stable per function name, with one family for the\n"
	"                        program, one for shared libraries, grey for\n"
	"                        kernel and unknown code\n"
	"  --thread TID          only the samples of thread TID\n"
	"  --from T, --to T      only samples taken between T and T seconds after the\n"
	"                        start (\"1.5\", \"250ms\", \"2m\")\n"
	"  --event NAME          count this event (default: cpu, or wall in wall mode)\n"
	"  --alloc KIND          a session recorded with perfkitd --alloc: frame width is\n"
	"                        bytes allocated (bytes), allocations (count) or bytes\n"
	"                        still live at the end (live)\n"
	"  --db PATH             the session database\n"
	"  -h, --help            show this help\n";

struct flamegraph_options {
	struct pk_fg_options fg;
	struct pk_filter filter;
	const char *output;
};

static int parse_options(int argc, char **argv, struct pk_cli *cli, struct flamegraph_options *o,
			 const char **spec)
{
	enum { OPT_TITLE = PK_OPT_FIRST_COMMAND_OPTION, OPT_WIDTH, OPT_MINWIDTH, OPT_ICICLE,
	       OPT_REVERSE, OPT_COLORS, OPT_ALLOC };
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "title", required_argument, NULL, OPT_TITLE },
		{ "width", required_argument, NULL, OPT_WIDTH },
		{ "minwidth", required_argument, NULL, OPT_MINWIDTH },
		{ "icicle", no_argument, NULL, OPT_ICICLE },
		{ "reverse", no_argument, NULL, OPT_REVERSE },
		{ "colors", required_argument, NULL, OPT_COLORS },
		{ "colours", required_argument, NULL, OPT_COLORS },
		{ "alloc", required_argument, NULL, OPT_ALLOC },
		PK_RENDER_FILTER_OPTIONS,
		PK_CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	long v;
	char *end;
	int c, rc;

	memset(o, 0, sizeof(*o));
	o->fg.minwidth = -1;
	pk_cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":ho:", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			o->output = optarg;
			break;
		case OPT_TITLE:
			o->fg.title = optarg;
			break;
		case OPT_WIDTH:
			if (pk_parse_long(optarg, &v) < 0 || v < 100 || v > 100000)
				return pk_cli_usage_error(flamegraph_usage,
							  "--width wants pixels between 100 and 100000, not '%s'",
							  optarg);
			o->fg.width = (int)v;
			break;
		case OPT_MINWIDTH:
			o->fg.minwidth = strtod(optarg, &end);
			if (end == optarg || *end || !(o->fg.minwidth >= 0) || o->fg.minwidth > 1000)
				return pk_cli_usage_error(flamegraph_usage,
							  "--minwidth wants pixels (0 to 1000), not '%s'", optarg);
			break;
		case OPT_ICICLE:
			o->fg.icicle = 1;
			break;
		case OPT_REVERSE:
			o->fg.reverse = 1;
			break;
		case OPT_COLORS:
			if (pk_fg_palette_valid(optarg) < 0)
				return pk_cli_usage_error(flamegraph_usage,
							  "unknown palette '%s'; use hot, cold, mem or mono",
							  optarg);
			o->fg.palette = optarg;
			break;
		case OPT_ALLOC: /* the events perfkitd --alloc records */
			if (!strcmp(optarg, "bytes") || !strcmp(optarg, "count") || !strcmp(optarg, "live"))
				o->filter.event = !strcmp(optarg, "bytes") ? "alloc_bytes"
						  : !strcmp(optarg, "count") ? "alloc_count" : "alloc_live";
			else
				return pk_cli_usage_error(flamegraph_usage,
							  "--alloc wants bytes, count or live, not '%s'", optarg);
			if (!o->fg.palette)
				o->fg.palette = "mem";
			break;
		case PK_RENDER_OPT_THREAD:
		case PK_RENDER_OPT_FROM:
		case PK_RENDER_OPT_TO:
		case PK_RENDER_OPT_EVENT:
			if ((rc = pk_render_filter_option(c, optarg, &o->filter, flamegraph_usage)) >= 0)
				return rc;
			break;
		default:
			if ((rc = pk_cli_common_option(cli, c, argv, flamegraph_usage, flamegraph_help)) >= 0)
				return rc;
		}
	}
	if (optind + 1 != argc)
		return pk_cli_usage_error(flamegraph_usage, optind >= argc ? "which session? give a SESSION"
					  : "one SESSION at a time");
	*spec = argv[optind];
	return -1;
}

/* "session NAME, 1,234 cpu samples, thread 12, 1.5s-3s, reversed" */
static char *describe(const struct pk_profile *p, const struct flamegraph_options *o)
{
	struct pk_strbuf sb = PK_STRBUF_INIT;

	pk_strbuf_addf(&sb, "session %s: %llu %s %s", p->session.name,
		       (unsigned long long)p->total, p->event_name ? p->event_name : "",
		       p->event_unit ? p->event_unit : "samples");
	if (o->filter.tid)
		pk_strbuf_addf(&sb, ", thread %d", (int)o->filter.tid);
	if (o->filter.has_from)
		pk_strbuf_addf(&sb, ", from %gs", o->filter.from_s);
	if (o->filter.has_to)
		pk_strbuf_addf(&sb, ", to %gs", o->filter.to_s);
	if (o->fg.reverse)
		pk_strbuf_addstr(&sb, ", reversed (merged at the leaves)");
	return pk_strbuf_detach(&sb);
}

int cmd_flamegraph(int argc, char **argv, struct pk_cli *cli)
{
	struct flamegraph_options o;
	struct pk_profile p;
	struct pk_fg_tree tree;
	struct pk_outfile out;
	const char *spec = NULL;
	char *subtitle;
	int rc;

	if ((rc = parse_options(argc, argv, cli, &o, &spec)) >= 0)
		return rc;
	if ((rc = pk_render_load(cli, spec, &o.filter, &p)))
		return rc;
	if (pk_outfile_open(&out, o.output) < 0) {
		pk_profile_release(&p);
		return PK_EXIT_FAILURE;
	}
	if (p.total == 0)
		pk_render_warn_empty(&p, &o.filter, "an empty flame graph");

	pk_fg_tree_init(&tree);
	pk_fg_tree_from_profile(&tree, &p, o.fg.reverse ? PK_FG_REVERSE : 0);
	subtitle = describe(&p, &o);
	o.fg.subtitle = subtitle;
	o.fg.unit = p.event_unit ? p.event_unit : "samples";
	if (pk_fg_write_svg(out.fp, &tree, &o.fg) < 0) {
		pk_perror("cannot write '%s'", o.output ? o.output : "standard output");
		pk_outfile_abort(&out);
		rc = PK_EXIT_FAILURE;
	} else if (pk_outfile_commit(&out) < 0) {
		rc = PK_EXIT_FAILURE;
	}
	free(subtitle);
	pk_fg_tree_release(&tree);
	pk_profile_release(&p);
	return rc;
}
