/*
 * cli.h - what every perfkit command shares: the global options, opening
 * the session database read-only with errors that say what to do,
 * resolving a SESSION argument, option-parsing errors and help, and the
 * JSON description of a session.
 *
 * Commands return an exit status (PK_EXIT_OK, PK_EXIT_FAILURE,
 * PK_EXIT_USAGE from error.h); the helpers below print their own message
 * and return the status the command should return, so a command reads:
 *
 *     if ((rc = pk_cli_open_store(cli, PK_STORE_MODE_READ)))
 *             return rc;
 */
#ifndef PK_CLI_H
#define PK_CLI_H

#include <getopt.h>
#include <stdio.h>

#include "json.h"
#include "store/store.h"

struct pk_cli {
	const char *db_option;    /* --db PATH (global or per command), NULL = default */
	char *db_path;            /* the database in use, once resolved (owned) */
	struct pk_store *store;   /* open after pk_cli_open_store (owned) */
};

/* Options every command accepts; add PK_CLI_COMMON_OPTIONS to a
 * getopt_long table and hand unknown results to pk_cli_common_option. */
enum { PK_OPT_DB = 0x100, PK_OPT_FIRST_COMMAND_OPTION = 0x200 };
#define PK_CLI_COMMON_OPTIONS \
	{ "db", required_argument, NULL, PK_OPT_DB }, \
	{ "help", no_argument, NULL, 'h' }

/* Reset getopt for a fresh parse of argv (argv[0] is the command name);
 * errors are reported by pk_cli_option_error, not by getopt. */
void pk_cli_getopt_reset(void);

/*
 * Handle an option result c from getopt_long (optstring must start with
 * ':' and contain "h"): --db, --help (prints help to stdout), and the
 * errors '?' and ':' (message plus usage on stderr).  Returns -1 when
 * the option was handled and parsing goes on, or the exit status to
 * return: PK_EXIT_OK after --help, PK_EXIT_USAGE after an error.
 */
int pk_cli_common_option(struct pk_cli *cli, int c, char **argv, const char *usage,
			 const char *help);

/* "perfkit: error: MESSAGE", then the usage line and a pointer to
 * --help, on stderr.  Returns PK_EXIT_USAGE. */
int pk_cli_usage_error(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Open the database (cli->db_option, else $PERFKIT_DB, else the default
 * path; see lib/dbpath.h).  A database that does not exist is an error
 * in both modes ("no sessions recorded yet" and how to record one): the
 * reader never creates one.  Returns PK_EXIT_OK, or PK_EXIT_FAILURE after
 * printing why.  Opening twice is a no-op.
 */
int pk_cli_open_store(struct pk_cli *cli, enum pk_store_mode mode);

/*
 * Find SESSION (a name, an id or "last") in the open store.  Returns
 * PK_EXIT_OK with *out filled (release it), or PK_EXIT_FAILURE after
 * printing "no session 'x' in 'db'; see 'perfkit sessions list'".
 */
int pk_cli_find_session(struct pk_cli *cli, const char *spec, struct pk_session *out);

/* Close the store and free what the cli owns. */
void pk_cli_release(struct pk_cli *cli);

/* Parse --format; on bad text print a usage error and return
 * PK_EXIT_USAGE, else 0. */
int pk_cli_parse_format(const char *text, const char *usage, int *format /* enum pk_format */);

/* Seconds since session start for --from/--to: "0", "1.5", "250ms", "2m".
 * Returns 0, or -1 when the text is not a non-negative duration. */
int pk_cli_parse_seconds(const char *text, double *seconds);

/*
 * The duration of a session in seconds: its duration_s stat when
 * recorded, else ended - started, else (still recording) now - started;
 * NAN when unknown.
 */
double pk_cli_session_duration(struct pk_store *st, const struct pk_session *s);

/*
 * Write the keys every JSON description of a session has (id, name,
 * command, pid, status, started_at, duration_s, samples) into the object
 * the caller has opened.
 */
void pk_cli_json_session(struct pk_json *j, struct pk_store *st, const struct pk_session *s);

#endif
