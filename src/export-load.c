/*
 * export-load.c - what "perfkit flamegraph" and "perfkit export" share:
 * the filter options and loading a session's profile with messages that
 * say what went wrong (see export.h).
 */
#include <inttypes.h>
#include <string.h>

#include "error.h"
#include "src/cli.h"
#include "src/export.h"
#include "strbuf.h"
#include "util.h"

int pk_render_filter_option(int c, const char *arg, struct pk_filter *f, const char *usage)
{
	long v;

	switch (c) {
	case PK_RENDER_OPT_THREAD:
		if (pk_parse_long(arg, &v) < 0 || v <= 0 || v > INT32_MAX)
			return pk_cli_usage_error(usage, "--thread wants a thread id, not '%s'", arg);
		f->tid = (int32_t)v;
		return -1;
	case PK_RENDER_OPT_FROM:
	case PK_RENDER_OPT_TO:
		if (pk_cli_parse_seconds(arg, c == PK_RENDER_OPT_FROM ? &f->from_s : &f->to_s) < 0)
			return pk_cli_usage_error(usage, "--%s wants seconds since the start, not '%s'",
						  c == PK_RENDER_OPT_FROM ? "from" : "to", arg);
		*(c == PK_RENDER_OPT_FROM ? &f->has_from : &f->has_to) = 1;
		if (f->has_from && f->has_to && f->to_s <= f->from_s)
			return pk_cli_usage_error(usage, "--to must be later than --from");
		return -1;
	case PK_RENDER_OPT_EVENT:
		f->event = arg;
		return -1;
	default:
		return pk_cli_usage_error(usage, "option not handled here");
	}
}

int pk_render_load(struct pk_cli *cli, const char *spec, const struct pk_filter *filter,
		   struct pk_profile *p)
{
	struct pk_session s;
	int rc;

	memset(p, 0, sizeof(*p));
	if ((rc = pk_cli_open_store(cli, PK_STORE_MODE_READ)) ||
	    (rc = pk_cli_find_session(cli, spec, &s)))
		return rc;
	/* By name: "last" could mean another session by now. */
	rc = pk_profile_load(cli->store, s.name, filter, p);
	if (rc == PK_STORE_NOTFOUND && filter->event) {
		struct pk_strbuf sb = PK_STRBUF_INIT;
		struct pk_symtab t;
		size_t i;

		if (pk_store_load_symtab(cli->store, s.id, &t) == PK_STORE_OK) {
			for (i = 0; i < t.n_events; i++)
				pk_strbuf_addf(&sb, "%s%s", i ? ", " : "", t.events[i].name);
			pk_symtab_release(&t);
		}
		pk_error("session '%s' has no event '%s'; %s%s", s.name, filter->event,
			 sb.len ? "it has: " : "it has no samples at all", pk_strbuf_str(&sb));
		pk_strbuf_release(&sb);
		pk_session_release(&s);
		return PK_EXIT_FAILURE;
	}
	if (rc != PK_STORE_OK) {
		pk_error("cannot read session '%s' from '%s': %s", s.name, cli->db_path,
			 pk_store_errmsg(cli->store));
		pk_session_release(&s);
		return PK_EXIT_FAILURE;
	}
	pk_session_release(&s);
	return PK_EXIT_OK;
}

void pk_render_warn_empty(const struct pk_profile *p, const struct pk_filter *filter,
			  const char *what)
{
	int filtered = filter->tid || filter->has_from || filter->has_to;

	pk_warn("%s '%s' %s; writing %s", filtered ? "no samples of session" : "session",
		p->session.name ? p->session.name : "?",
		filtered ? "match the filter" : "has no samples", what);
}
