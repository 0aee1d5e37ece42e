/*
 * error.h - the one place perfkit and perfkitd report errors.
 *
 * Messages are lowercase, name the thing in quotes, say what failed and
 * then what to do: "cannot open 'x.db': permission denied; ...".  Library
 * code returns error codes and leaves reporting to its caller; only main()
 * decides to exit.  Each helper preserves errno for its caller.
 */
#ifndef PK_ERROR_H
#define PK_ERROR_H

#include <stdarg.h>

#define PK_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define PK_NORETURN __attribute__((noreturn))

/* Set the name printed before every message ("perfkit", "perfkitd"). */
void pk_set_program_name(const char *name);
const char *pk_program_name(void);

/* "NAME: error: MESSAGE\n" on stderr. */
void pk_error(const char *fmt, ...) PK_PRINTF(1, 2);
/* "NAME: warning: MESSAGE\n" on stderr. */
void pk_warn(const char *fmt, ...) PK_PRINTF(1, 2);
/* "NAME: MESSAGE\n" on stderr, unless quiet mode is on. */
void pk_info(const char *fmt, ...) PK_PRINTF(1, 2);
/* pk_error() with ": strerror(errno)" appended. */
void pk_perror(const char *fmt, ...) PK_PRINTF(1, 2);
/* pk_error() then exit(status). Use from main() paths only. */
void pk_die(int status, const char *fmt, ...) PK_PRINTF(2, 3) PK_NORETURN;

/* Silence pk_info(); errors and warnings still print. */
void pk_set_quiet(int quiet);
int pk_is_quiet(void);

/* Redirect all messages (e.g. to a log file when running in background). */
void pk_set_error_stream(void *file /* FILE * */);

/* Exit statuses shared by both binaries. */
enum {
	PK_EXIT_OK = 0,
	PK_EXIT_FAILURE = 1,   /* runtime failure */
	PK_EXIT_USAGE = 2,     /* bad command line */
	PK_EXIT_REGRESSION = 3 /* compare --fail-on-regression tripped */
};

#endif
