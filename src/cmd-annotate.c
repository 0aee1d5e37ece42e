/*
 * cmd-annotate.c - "perfkit annotate SESSION FUNCTION": the function's
 * source lines with the self samples that landed on each, the hottest
 * marked; per address when the session has no line information for it
 * (or with --addresses).  The numbers come from annotate.h; this file
 * reads the source files and prints.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"
#include "error.h"
#include "json.h"
#include "output.h"
#include "src/annotate.h"
#include "src/export.h"
#include "strbuf.h"
#include "util.h"

#define DEFAULT_CONTEXT 3

static const char annotate_usage[] =
	"perfkit annotate [--addresses] [--context N] [--thread TID] [--event NAME]\n"
	"                        [--from T] [--to T] [--format table|json|csv] SESSION FUNCTION";

static const char annotate_help[] =
	"usage: perfkit annotate [options] SESSION FUNCTION\n"
	"\n"
	"Where inside FUNCTION the samples landed: its source lines with the self\n"
	"samples of each (the line that was executing), the hottest lines marked\n"
	"with '*'.  The source is read from the file recorded in the session when\n"
	"it still exists; otherwise the line numbers are shown alone.  When the\n"
	"program has no line information, samples are listed per address\n"
	"(module-relative, as 'objdump -d' numbers them).\n"
	"\n"
	"FUNCTION is the name as 'perfkit report' shows it (every module's\n"
	"function of that name is counted).\n"
	"\n"
	"Options:\n"
	"  --addresses           list samples per address as well as per line\n"
	"  --context N           unsampled lines shown around sampled ones (default 3)\n"
	"  --thread TID          count only the samples of thread TID\n"
	"  --event NAME          count this event (default: the session's)\n"
	"  --from T, --to T      count only samples between T and T seconds after start\n"
	"  --format FMT          table (default), json or csv\n"
	"  --db PATH             the session database\n"
	"  -h, --help            show this help\n";

struct annotate_options {
	int format;
	int addresses;
	long context;
	struct pk_filter filter;
};

static double percent(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

/* One source file, read once per file while printing. */
struct source {
	const char *path;
	char **lines;
	size_t n;
	int ok;
};

static void source_load(struct source *s, const char *path)
{
	if (s->path && !strcmp(s->path, path))
		return;
	pk_source_lines_free(s->lines, s->n);
	s->path = path;
	s->ok = pk_source_read(path, &s->lines, &s->n) == 0;
}

static const char *source_text(const struct source *s, int line)
{
	return s->ok && line >= 1 && (size_t)line <= s->n ? s->lines[line - 1] : NULL;
}

static void print_line(const struct pk_annotate *a, const struct pk_annotate_line *l, int line,
		       const char *text)
{
	if (l)
		printf("%c %8" PRIu64 " %6.1f%% %6d  %s\n", l->hot ? '*' : ' ', l->self,
		       percent(l->self, a->self), line, text ? text : "");
	else
		printf("  %8s %7s %6d  %s\n", "", "", line, text ? text : "");
}

/* The lines of one file: [first, last) of a->lines. */
static void print_file(const struct pk_annotate *a, size_t first, size_t last, struct source *src,
		       long context)
{
	uint64_t w = 0;
	size_t i;
	int next = 0; /* first line not printed yet */

	for (i = first; i < last; i++)
		w += a->lines[i].self;
	source_load(src, a->lines[first].file);
	printf("\n%s  (%" PRIu64 " samples, %.1f%%)%s\n", a->lines[first].file, w, percent(w, a->self),
	       src->ok ? "" : "  [source not found: line numbers only]");
	printf("  %8s %7s %6s  %s\n", "SAMPLES", "PERCENT", "LINE", "SOURCE");
	for (i = first; i < last; i++) {
		int line = a->lines[i].line, from = line - (int)context, l;

		if (!src->ok) {
			print_line(a, &a->lines[i], line, NULL);
			continue;
		}
		if (from < next)
			from = next;
		if (from < 1)
			from = 1;
		if (next && from > next)
			printf("  %8s %7s %6s\n", "", "", "...");
		for (l = from; l < line; l++)
			print_line(a, NULL, l, source_text(src, l));
		print_line(a, &a->lines[i], line, source_text(src, line));
		next = line + 1;
		/* Trailing context, unless the next sampled line is near. */
		for (l = next; l <= line + context && (size_t)l <= src->n; l++) {
			if (i + 1 < last && a->lines[i + 1].line <= l)
				break;
			print_line(a, NULL, l, source_text(src, l));
			next = l + 1;
		}
	}
}

static void print_addresses(const struct pk_annotate *a)
{
	size_t i;

	printf("\n  %8s %7s %18s  %-24s %s\n", "SAMPLES", "PERCENT", "ADDRESS", "MODULE", "LINE");
	for (i = 0; i < a->n_addrs; i++) {
		const struct pk_annotate_addr *ad = &a->addrs[i];
		char where[64] = "-";

		if (ad->file && ad->line > 0)
			snprintf(where, sizeof(where), "%s:%d", pk_basename(ad->file), ad->line);
		printf("%c %8" PRIu64 " %6.1f%% %#18" PRIx64 "  %-24s %s\n", ad->hot ? '*' : ' ', ad->self,
		       percent(ad->self, a->self), ad->offset, pk_basename(ad->module), where);
	}
}

static void print_table(const struct pk_profile *p, const struct pk_annotate *a, const struct annotate_options *o)
{
	struct source src = { NULL, NULL, 0, 0 };
	size_t i, first;

	printf("Function '%s' in session '%s' (id %" PRId64 "), event %s: %" PRIu64 " self samples "
	       "(%.1f%% of %" PRIu64 "), %" PRIu64 " total (%.1f%%)\n",
	       a->function, p->session.name, p->session.id, p->event_name, a->self,
	       percent(a->self, p->total), p->total, a->total, percent(a->total, p->total));
	if (!a->self) {
		printf("no self samples in '%s': it was on the stack but never the running function%s\n",
		       a->function, a->total ? "" : " (nor on the stack)");
		return;
	}
	for (first = 0; first < a->n_lines; first = i) {
		for (i = first; i < a->n_lines && !strcmp(a->lines[i].file, a->lines[first].file); i++)
			;
		print_file(a, first, i, &src, o->context);
	}
	pk_source_lines_free(src.lines, src.n);
	if (!a->n_lines)
		printf("\nno line information for '%s' (built without -g?): samples per address\n",
		       a->function);
	else if (a->no_line)
		printf("\n%" PRIu64 " samples (%.1f%%) at addresses without line information%s\n",
		       a->no_line, percent(a->no_line, a->self),
		       o->addresses ? "" : "; --addresses lists them");
	if (!a->n_lines || o->addresses)
		print_addresses(a);
	printf("\n'*': the hottest %s (at least %.0f%% of the function's self samples)\n",
	       a->n_lines ? "lines" : "addresses", 100.0 * PK_ANNOTATE_HOT_SHARE);
}

static void print_json(struct pk_store *st, const struct pk_profile *p, const struct pk_annotate *a)
{
	struct source src = { NULL, NULL, 0, 0 };
	struct pk_json j;
	size_t i;

	pk_json_init(&j, stdout, 1);
	pk_json_begin_object(&j);
	pk_json_key(&j, "session");
	pk_json_begin_object(&j);
	pk_cli_json_session(&j, st, &p->session);
	pk_json_end_object(&j);
	pk_json_key(&j, "event");
	pk_json_string(&j, p->event_name);
	pk_json_key(&j, "function");
	pk_json_string(&j, a->function);
	pk_json_key(&j, "functions_matched");
	pk_json_uint(&j, a->n_functions);
	pk_json_key(&j, "total_weight");
	pk_json_uint(&j, p->total);
	pk_json_key(&j, "self_samples");
	pk_json_uint(&j, a->self);
	pk_json_key(&j, "total_samples");
	pk_json_uint(&j, a->total);
	pk_json_key(&j, "no_line_samples");
	pk_json_uint(&j, a->no_line);
	pk_json_key(&j, "lines");
	pk_json_begin_array(&j);
	for (i = 0; i < a->n_lines; i++) {
		const struct pk_annotate_line *l = &a->lines[i];

		source_load(&src, l->file);
		pk_json_begin_object(&j);
		pk_json_key(&j, "file");
		pk_json_string(&j, l->file);
		pk_json_key(&j, "line");
		pk_json_int(&j, l->line);
		pk_json_key(&j, "samples");
		pk_json_uint(&j, l->self);
		pk_json_key(&j, "percent");
		pk_json_double(&j, percent(l->self, a->self));
		pk_json_key(&j, "hot");
		pk_json_bool(&j, l->hot);
		pk_json_key(&j, "source");
		pk_json_string(&j, source_text(&src, l->line));
		pk_json_end_object(&j);
	}
	pk_json_end_array(&j);
	pk_source_lines_free(src.lines, src.n);
	pk_json_key(&j, "addresses");
	pk_json_begin_array(&j);
	for (i = 0; i < a->n_addrs; i++) {
		const struct pk_annotate_addr *ad = &a->addrs[i];

		pk_json_begin_object(&j);
		pk_json_key(&j, "module");
		pk_json_string(&j, ad->module);
		pk_json_key(&j, "offset");
		pk_json_uint(&j, ad->offset);
		pk_json_key(&j, "samples");
		pk_json_uint(&j, ad->self);
		pk_json_key(&j, "percent");
		pk_json_double(&j, percent(ad->self, a->self));
		pk_json_key(&j, "hot");
		pk_json_bool(&j, ad->hot);
		pk_json_key(&j, "file");
		pk_json_string(&j, ad->file);
		pk_json_key(&j, "line");
		pk_json_int(&j, ad->line);
		pk_json_end_object(&j);
	}
	pk_json_end_array(&j);
	pk_json_end_object(&j);
	pk_json_finish(&j);
}

/* One CSV: a row per line ("line") then per address ("address"). */
static void print_csv(const struct pk_annotate *a)
{
	static const char *const header[] = {
		"kind", "file", "line", "module", "offset", "samples", "percent", "hot",
	};
	struct pk_csv c;
	size_t i;

	pk_csv_init(&c, stdout);
	for (i = 0; i < sizeof(header) / sizeof(header[0]); i++)
		pk_csv_field(&c, header[i]);
	pk_csv_end_row(&c);
	for (i = 0; i < a->n_lines; i++) {
		pk_csv_field(&c, "line");
		pk_csv_field(&c, a->lines[i].file);
		pk_csv_int(&c, a->lines[i].line);
		pk_csv_field(&c, NULL);
		pk_csv_field(&c, NULL);
		pk_csv_int(&c, (int64_t)a->lines[i].self);
		pk_csv_double(&c, percent(a->lines[i].self, a->self));
		pk_csv_int(&c, a->lines[i].hot);
		pk_csv_end_row(&c);
	}
	for (i = 0; i < a->n_addrs; i++) {
		char off[32];

		snprintf(off, sizeof(off), "%#" PRIx64, a->addrs[i].offset);
		pk_csv_field(&c, "address");
		pk_csv_field(&c, a->addrs[i].file);
		if (a->addrs[i].line > 0)
			pk_csv_int(&c, a->addrs[i].line);
		else
			pk_csv_field(&c, NULL);
		pk_csv_field(&c, a->addrs[i].module);
		pk_csv_field(&c, off);
		pk_csv_int(&c, (int64_t)a->addrs[i].self);
		pk_csv_double(&c, percent(a->addrs[i].self, a->self));
		pk_csv_int(&c, a->addrs[i].hot);
		pk_csv_end_row(&c);
	}
	fflush(stdout);
}

static int parse_options(int argc, char **argv, struct pk_cli *cli, struct annotate_options *o,
			 const char **spec, const char **function)
{
	enum { OPT_FORMAT = PK_OPT_FIRST_COMMAND_OPTION, OPT_ADDRESSES, OPT_CONTEXT };
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "addresses", no_argument, NULL, OPT_ADDRESSES },
		{ "context", required_argument, NULL, OPT_CONTEXT },
		PK_RENDER_FILTER_OPTIONS,
		PK_CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	int c, rc;

	memset(o, 0, sizeof(*o));
	o->context = DEFAULT_CONTEXT;
	pk_cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_FORMAT:
			if ((rc = pk_cli_parse_format(optarg, annotate_usage, &o->format)))
				return rc;
			break;
		case OPT_ADDRESSES:
			o->addresses = 1;
			break;
		case OPT_CONTEXT:
			if (pk_parse_long(optarg, &o->context) < 0 || o->context < 0 || o->context > 1000)
				return pk_cli_usage_error(annotate_usage,
							  "--context wants a number of lines (0-1000), not '%s'", optarg);
			break;
		case PK_RENDER_OPT_THREAD:
		case PK_RENDER_OPT_FROM:
		case PK_RENDER_OPT_TO:
		case PK_RENDER_OPT_EVENT:
			if ((rc = pk_render_filter_option(c, optarg, &o->filter, annotate_usage)) >= 0)
				return rc;
			break;
		default:
			if ((rc = pk_cli_common_option(cli, c, argv, annotate_usage, annotate_help)) >= 0)
				return rc;
		}
	}
	if (argc - optind != 2)
		return pk_cli_usage_error(annotate_usage, argc - optind < 2
					  ? "give a SESSION and a FUNCTION" : "one SESSION and one FUNCTION at a time");
	*spec = argv[optind];
	*function = argv[optind + 1];
	return -1;
}

static void no_such_function(const struct pk_profile *p, const char *name)
{
	const char *like[5];
	size_t n = pk_annotate_suggest(p, name, like, 5), i;
	struct pk_strbuf sb = PK_STRBUF_INIT;

	for (i = 0; i < n; i++)
		pk_strbuf_addf(&sb, "%s'%s'", i ? ", " : "", like[i]);
	pk_error("no function '%s' in session '%s'; %s%s", name, p->session.name,
		 n ? "did you mean " : "see 'perfkit report' for the names", pk_strbuf_str(&sb));
	pk_strbuf_release(&sb);
}

int cmd_annotate(int argc, char **argv, struct pk_cli *cli)
{
	struct annotate_options o;
	struct pk_profile p;
	struct pk_annotate a;
	const char *spec = NULL, *function = NULL;
	int rc;

	if ((rc = parse_options(argc, argv, cli, &o, &spec, &function)) >= 0)
		return rc;
	if ((rc = pk_render_load(cli, spec, &o.filter, &p)))
		return rc;
	if (pk_annotate_build(&p, function, &a) < 0) {
		no_such_function(&p, function);
		pk_annotate_release(&a);
		pk_profile_release(&p);
		return PK_EXIT_FAILURE;
	}
	if (o.format == PK_FORMAT_JSON)
		print_json(cli->store, &p, &a);
	else if (o.format == PK_FORMAT_CSV)
		print_csv(&a);
	else
		print_table(&p, &a, &o);
	pk_annotate_release(&a);
	pk_profile_release(&p);
	return PK_EXIT_OK;
}
