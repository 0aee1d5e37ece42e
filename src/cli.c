/*
 * cli.c - option handling, database opening and session lookup shared by
 * perfkit's commands (see cli.h).
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "dbpath.h"
#include "error.h"
#include "output.h"
#include "util.h"

void pk_cli_getopt_reset(void)
{
	/* 0 (not 1) makes glibc re-initialise its state, permutation included. */
	optind = 0;
	opterr = 0;
}

int pk_cli_usage_error(const char *usage, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	pk_error("%s", msg ? msg : "bad command line");
	fprintf(stderr, "usage: %s\n", usage);
	free(msg);
	return PK_EXIT_USAGE;
}

int pk_cli_common_option(struct pk_cli *cli, int c, char **argv, const char *usage,
			 const char *help)
{
	/* After an error getopt has moved past the offending word. */
	const char *word = optind > 0 ? argv[optind - 1] : "?";

	switch (c) {
	case PK_OPT_DB:
		cli->db_option = optarg;
		return -1;
	case 'h':
		fputs(help, stdout);
		return PK_EXIT_OK;
	case ':':
		if (optopt && optopt < 0x100)
			return pk_cli_usage_error(usage, "option '-%c' needs a value", optopt);
		return pk_cli_usage_error(usage, "option '%s' needs a value", word);
	case '?':
		if (optopt && optopt < 0x100)
			return pk_cli_usage_error(usage, "unknown option '-%c'", optopt);
		return pk_cli_usage_error(usage, "unknown option '%s'", word);
	default:
		return pk_cli_usage_error(usage, "option '%s' is not handled here", word);
	}
}

int pk_cli_open_store(struct pk_cli *cli, enum pk_store_mode mode)
{
	struct pk_dbpath db;
	struct stat sb;
	char err[512] = "";
	int rc;

	if (cli->store)
		return PK_EXIT_OK;
	if (pk_dbpath_resolve(cli->db_option, &db, err, sizeof(err)) < 0) {
		pk_error("%s", err);
		return PK_EXIT_FAILURE;
	}
	free(cli->db_path);
	cli->db_path = db.path;
	db.path = NULL;
	pk_dbpath_release(&db);

	/* Check first: the store creates missing files in write mode. */
	if (stat(cli->db_path, &sb) < 0) {
		if (errno == ENOENT) {
			pk_error("no sessions recorded yet: '%s' does not exist; record one with "
				 "'perfkitd run -- PROGRAM [ARGS]' or 'perfkitd attach PID'",
				 cli->db_path);
		} else {
			pk_perror("cannot open '%s'", cli->db_path);
		}
		return PK_EXIT_FAILURE;
	}
	if (S_ISDIR(sb.st_mode)) {
		pk_error("'%s' is a directory, not a perfkit database; pass the database file with --db",
			 cli->db_path);
		return PK_EXIT_FAILURE;
	}
	rc = pk_store_open(cli->db_path, mode, &cli->store, err, sizeof(err));
	if (rc == PK_STORE_OK)
		return PK_EXIT_OK;
	cli->store = NULL;
	if (err[0])
		pk_error("%s", err);
	else if (rc == PK_STORE_NOTDB)
		pk_error("'%s' is not a perfkit database; pass another file with --db or PERFKIT_DB",
			 cli->db_path);
	else
		pk_error("cannot open '%s' (store error %d)", cli->db_path, rc);
	return PK_EXIT_FAILURE;
}

int pk_cli_find_session(struct pk_cli *cli, const char *spec, struct pk_session *out)
{
	int rc = pk_store_session_find(cli->store, spec, out);

	if (rc == PK_STORE_OK)
		return PK_EXIT_OK;
	if (rc == PK_STORE_NOTFOUND)
		pk_error("no session '%s' in '%s'; see 'perfkit sessions list'", spec, cli->db_path);
	else
		pk_error("cannot read session '%s' from '%s': %s", spec, cli->db_path,
			 pk_store_errmsg(cli->store));
	return PK_EXIT_FAILURE;
}

void pk_cli_release(struct pk_cli *cli)
{
	if (!cli)
		return;
	pk_store_close(cli->store);
	cli->store = NULL;
	free(cli->db_path);
	cli->db_path = NULL;
}

int pk_cli_parse_format(const char *text, const char *usage, int *format)
{
	enum pk_format f;

	if (pk_format_parse(text, &f) < 0)
		return pk_cli_usage_error(usage, "unknown format '%s'; use table, json or csv", text);
	*format = (int)f;
	return 0;
}

int pk_cli_parse_seconds(const char *text, double *seconds)
{
	char *end;
	double v;

	if (!text || !isdigit((unsigned char)*text))
		return -1;
	/* pk_parse_duration wants a positive value; "0" is a valid start. */
	v = strtod(text, &end);
	if (end != text && v == 0 && (!*end || !strcmp(end, "s") || !strcmp(end, "ms"))) {
		*seconds = 0;
		return 0;
	}
	return pk_parse_duration(text, seconds);
}

double pk_cli_session_duration(struct pk_store *st, const struct pk_session *s)
{
	double v;

	if (pk_store_get_stat(st, s->id, "duration_s", &v) == PK_STORE_OK && isfinite(v))
		return v;
	if (s->ended_ns > s->started_ns && s->started_ns > 0)
		return (double)(s->ended_ns - s->started_ns) / 1e9;
	if (s->status && !strcmp(s->status, "recording") && s->started_ns > 0)
		return (double)((int64_t)pk_realtime_ns() - s->started_ns) / 1e9;
	return NAN;
}

void pk_cli_json_session(struct pk_json *j, struct pk_store *st, const struct pk_session *s)
{
	char when[40];

	pk_format_iso_time(s->started_ns, when, sizeof(when));
	pk_json_key(j, "id");
	pk_json_int(j, s->id);
	pk_json_key(j, "name");
	pk_json_string(j, s->name);
	pk_json_key(j, "command");
	pk_json_string(j, s->command);
	pk_json_key(j, "pid");
	pk_json_int(j, s->pid);
	pk_json_key(j, "status");
	pk_json_string(j, s->status);
	pk_json_key(j, "started_at");
	pk_json_string(j, when);
	pk_json_key(j, "duration_s");
	pk_json_double(j, pk_cli_session_duration(st, s));
	pk_json_key(j, "samples");
	pk_json_int(j, s->samples);
}
