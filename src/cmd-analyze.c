/*
 * cmd-analyze.c - "perfkit analyze SESSION": bottlenecks and what to do
 * about them.  Loads the session's profile and evidence, runs the rule
 * engine (analyze.h) and prints the findings as a report for people or
 * as JSON; "--explain RULE" prints what a rule reads and its thresholds.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"
#include "error.h"
#include "json.h"
#include "output.h"
#include "src/analyze.h"
#include "src/profile.h"
#include "strbuf.h"
#include "util.h"

static const char analyze_usage[] =
	"perfkit analyze [--format table|json] SESSION\n"
	"       perfkit analyze --explain RULE|all";

static const char analyze_help[] =
	"usage: perfkit analyze [options] SESSION\n"
	"       perfkit analyze --explain RULE|all\n"
	"\n"
	"Find the bottlenecks of a recorded session and say what to fix first:\n"
	"each finding has a severity (critical, high, medium, low) computed from\n"
	"the measured share of samples, calls or bytes it explains, the evidence,\n"
	"and a recommendation.  Findings are sorted by severity, then impact.\n"
	"\n"
	"Rules: slow-function, hot-callee, excessive-allocation, large-allocation,\n"
	"leak-suspect, allocator-overhead, deep-stack, memory-copying,\n"
	"string-scanning, lock-contention, syscall-heavy, cache-unfriendly,\n"
	"profile-quality.  Allocation rules need 'perfkitd --alloc' data, lock\n"
	"waiting shows best in '--mode wall', cache rules need counters or\n"
	"--cache-sim; without them the rules read CPU samples only.\n"
	"\n"
	"SESSION is a session name, a numeric id, or 'last'.\n"
	"\n"
	"Options:\n"
	"  --format FMT          table (default) or json\n"
	"  --explain RULE        what RULE reads, why, and its thresholds ('all':\n"
	"                        every rule)\n"
	"  --db PATH             the session database (default: $PERFKIT_DB, else\n"
	"                        ~/.local/share/perfkit/perfkit.db)\n"
	"  -h, --help            show this help\n";

enum { OPT_FORMAT = PK_OPT_FIRST_COMMAND_OPTION, OPT_EXPLAIN };

static void explain_rule(const struct pk_rule *r)
{
	printf("%s (%s): %s\n\n%s\n\n", r->name, r->category, r->summary, r->explain);
	printf("Evidence: %s.\n", r->needs);
	printf("Severity from the measured impact: low >= %g, medium >= %g, high >= %g, critical >= %g%s.\n",
	       r->levels.low, r->levels.medium, r->levels.high, r->levels.critical,
	       r->levels.critical > 1 ? " (never: capped at high)" : "");
}

static int explain(const char *name)
{
	const struct pk_rule *r;
	size_t i;

	if (!strcmp(name, "all")) {
		for (i = 0; i < pk_n_rules; i++) {
			if (i)
				printf("\n");
			explain_rule(pk_rules[i]);
		}
		return PK_EXIT_OK;
	}
	if (!(r = pk_rule_find(name))) {
		struct pk_strbuf names = PK_STRBUF_INIT;

		for (i = 0; i < pk_n_rules; i++)
			pk_strbuf_addf(&names, "%s%s", i ? ", " : "", pk_rules[i]->name);
		pk_error("no rule '%s'; the rules are: %s (or 'all')", name, pk_strbuf_str(&names));
		pk_strbuf_release(&names);
		return PK_EXIT_USAGE;
	}
	explain_rule(r);
	return PK_EXIT_OK;
}

/* "1,234" */
static void group_digits(uint64_t v, char *buf, size_t len)
{
	char tmp[32];
	size_t n, i, o = 0;

	snprintf(tmp, sizeof(tmp), "%" PRIu64, v);
	n = strlen(tmp);
	for (i = 0; i < n && o + 2 < len; i++) {
		if (i && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = tmp[i];
	}
	buf[o] = 0;
}

static const char *optional_data(const struct pk_evidence *ev, char *buf, size_t len)
{
	snprintf(buf, len, "allocations: %s; function probes: %s; cache data: %s",
		 ev->alloc ? "yes" : "none (record with --alloc)",
		 ev->n_probes ? "yes" : "none (--probe)",
		 ev->n_cache ? "yes" : "none (--counters, --cache-sim)");
	return buf;
}

static void print_summary(const struct pk_profile *p, const struct pk_evidence *ev)
{
	char dur[32], n[32], extra[160];

	pk_format_duration(p->duration_s, dur, sizeof(dur));
	group_digits(p->n_samples, n, sizeof(n));
	printf("Performance Analysis\n");
	printf("  Session:  '%s' (id %" PRId64 ", %s)\n", p->session.name, p->session.id,
	       p->session.status ? p->session.status : "?");
	printf("  Command:  %s\n", p->session.command ? p->session.command : "?");
	printf("  Profile:  %s mode, %s %s samples over %s", p->session.mode ? p->session.mode : "cpu",
	       n, p->event_name, dur);
	if (p->sample_hz > 0)
		printf(" at %.0f Hz", p->sample_hz);
	printf(", %zu thread%s", p->n_tids, p->n_tids == 1 ? "" : "s");
	if (isfinite(ev->stat_complete_stacks) && ev->stat_samples > 0)
		printf(", %.1f%% complete stacks", 100.0 * ev->stat_complete_stacks / ev->stat_samples);
	printf("\n");
	if (ev->wall && ev->total)
		printf("  Threads off-CPU (state S/D) in %.1f%% of the samples\n",
		       100.0 * (double)ev->offcpu_total / (double)ev->total);
	printf("  Evidence: %s samples; %s\n", p->event_name, optional_data(ev, extra, sizeof(extra)));
}

static void print_table(const struct pk_profile *p, const struct pk_evidence *ev,
			const struct pk_findings *fs)
{
	size_t i, k;

	print_summary(p, ev);
	printf("\n");
	if (!fs->n) {
		printf("No issues found\n");
		printf("  No rule found a problem worth reporting in this profile (see\n"
		       "  'perfkit analyze --explain all' for what was checked).\n");
		return;
	}
	printf("Issues Found (%zu)\n", fs->n);
	for (i = 0; i < fs->n; i++) {
		const struct pk_finding *f = &fs->v[i];
		char *sev = pk_xstrdup(pk_severity_name(f->severity));

		for (k = 0; sev[k]; k++)
			sev[k] = (char)(sev[k] >= 'a' && sev[k] <= 'z' ? sev[k] - 'a' + 'A' : sev[k]);
		printf("\n%zu. [%s] %s: %s\n", i + 1, sev, f->rule->name, f->location ? f->location : "-");
		free(sev);
		printf("   %s\n", f->description ? f->description : "");
		if (f->n_evidence) {
			printf("   Evidence:");
			for (k = 0; k < f->n_evidence; k++)
				printf("%s %s=%.4g", k ? "," : "", f->evidence[k].key, f->evidence[k].value);
			printf("\n");
		}
		for (k = 0; k < f->n_paths; k++)
			printf("   %s %s\n", k ? "          " : "Call path:", f->paths[k]);
		printf("   Recommendation: %s\n", f->recommendation ? f->recommendation : "");
	}
}

static void print_json(struct pk_store *st, const struct pk_profile *p, const struct pk_evidence *ev,
		       const struct pk_findings *fs)
{
	struct pk_json j;
	size_t i, k;

	pk_json_init(&j, stdout, 1);
	pk_json_begin_object(&j);
	pk_json_key(&j, "session");
	pk_json_begin_object(&j);
	pk_cli_json_session(&j, st, &p->session);
	pk_json_end_object(&j);
	pk_json_key(&j, "summary");
	pk_json_begin_object(&j);
	pk_json_key(&j, "mode");
	pk_json_string(&j, p->session.mode);
	pk_json_key(&j, "event");
	pk_json_string(&j, p->event_name);
	pk_json_key(&j, "samples");
	pk_json_uint(&j, p->n_samples);
	pk_json_key(&j, "threads");
	pk_json_uint(&j, p->n_tids);
	pk_json_key(&j, "sample_hz");
	pk_json_double(&j, p->sample_hz > 0 ? p->sample_hz : NAN);
	pk_json_key(&j, "complete_stacks_share");
	pk_json_double(&j, ev->stat_samples > 0 ? ev->stat_complete_stacks / ev->stat_samples : NAN);
	pk_json_key(&j, "offcpu_share");
	pk_json_double(&j, ev->wall && ev->total ? (double)ev->offcpu_total / (double)ev->total : NAN);
	pk_json_key(&j, "has_allocations");
	pk_json_bool(&j, ev->alloc != NULL);
	pk_json_key(&j, "has_probes");
	pk_json_bool(&j, ev->n_probes > 0);
	pk_json_key(&j, "has_cache");
	pk_json_bool(&j, ev->n_cache > 0);
	pk_json_end_object(&j);
	pk_json_key(&j, "issues");
	pk_json_begin_array(&j);
	for (i = 0; i < fs->n; i++) {
		const struct pk_finding *f = &fs->v[i];

		pk_json_begin_object(&j);
		pk_json_key(&j, "rule");
		pk_json_string(&j, f->rule->name);
		pk_json_key(&j, "severity");
		pk_json_string(&j, pk_severity_name(f->severity));
		pk_json_key(&j, "category");
		pk_json_string(&j, f->rule->category);
		pk_json_key(&j, "impact");
		pk_json_double(&j, f->impact);
		pk_json_key(&j, "location");
		pk_json_string(&j, f->location);
		pk_json_key(&j, "description");
		pk_json_string(&j, f->description);
		pk_json_key(&j, "recommendation");
		pk_json_string(&j, f->recommendation);
		pk_json_key(&j, "evidence");
		pk_json_begin_object(&j);
		for (k = 0; k < f->n_evidence; k++) {
			pk_json_key(&j, f->evidence[k].key);
			pk_json_double(&j, f->evidence[k].value);
		}
		pk_json_end_object(&j);
		pk_json_key(&j, "call_paths");
		pk_json_begin_array(&j);
		for (k = 0; k < f->n_paths; k++)
			pk_json_string(&j, f->paths[k]);
		pk_json_end_array(&j);
		pk_json_end_object(&j);
	}
	pk_json_end_array(&j);
	pk_json_end_object(&j);
	pk_json_finish(&j);
}

int cmd_analyze(int argc, char **argv, struct pk_cli *cli)
{
	static const struct option options[] = {
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "explain", required_argument, NULL, OPT_EXPLAIN },
		PK_CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct pk_profile p;
	struct pk_evidence ev;
	struct pk_findings fs = { 0 };
	const char *explain_name = NULL;
	int format = PK_FORMAT_TABLE, c, rc;

	pk_cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		switch (c) {
		case OPT_FORMAT:
			if ((rc = pk_cli_parse_format(optarg, analyze_usage, &format)))
				return rc;
			if (format == PK_FORMAT_CSV)
				return pk_cli_usage_error(analyze_usage, "analyze writes table or json, not csv");
			break;
		case OPT_EXPLAIN:
			explain_name = optarg;
			break;
		default:
			if ((rc = pk_cli_common_option(cli, c, argv, analyze_usage, analyze_help)) >= 0)
				return rc;
		}
	}
	if (explain_name) {
		if (optind < argc)
			return pk_cli_usage_error(analyze_usage, "--explain takes no SESSION");
		return explain(explain_name);
	}
	if (optind + 1 != argc)
		return pk_cli_usage_error(analyze_usage, optind < argc ? "one SESSION only" : "SESSION missing");
	if ((rc = pk_cli_open_store(cli, PK_STORE_MODE_READ)))
		return rc;
	{
		struct pk_session s;

		if ((rc = pk_cli_find_session(cli, argv[optind], &s)))
			return rc;
		pk_session_release(&s);
	}
	if ((rc = pk_profile_load(cli->store, argv[optind], NULL, &p)) != PK_STORE_OK) {
		pk_error("cannot read session '%s': %s", argv[optind], pk_store_errmsg(cli->store));
		return PK_EXIT_FAILURE;
	}
	if ((rc = pk_evidence_load(cli->store, &p, &ev)) != PK_STORE_OK) {
		pk_error("cannot read session '%s': %s", argv[optind], pk_store_errmsg(cli->store));
		pk_profile_release(&p);
		return PK_EXIT_FAILURE;
	}
	pk_analyze(&ev, &fs);
	if (format == PK_FORMAT_JSON)
		print_json(cli->store, &p, &ev, &fs);
	else
		print_table(&p, &ev, &fs);
	pk_findings_release(&fs);
	pk_evidence_release(&ev);
	pk_profile_release(&p);
	return PK_EXIT_OK;
}
