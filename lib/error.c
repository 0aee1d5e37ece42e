/*
 * error.c - message reporting for both binaries (see error.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

static const char *program_name = "perfkit";
static int quiet;
static FILE *stream;

void pk_set_program_name(const char *name) { program_name = name; }
const char *pk_program_name(void) { return program_name; }
void pk_set_quiet(int q) { quiet = q; }
int pk_is_quiet(void) { return quiet; }
void pk_set_error_stream(void *file) { stream = file; }

static void emit(const char *kind, const char *fmt, va_list ap, const char *suffix)
{
	FILE *out = stream ? stream : stderr;
	int saved = errno;

	fputs(program_name, out);
	fputs(": ", out);
	if (kind)
		fprintf(out, "%s: ", kind);
	vfprintf(out, fmt, ap);
	if (suffix)
		fprintf(out, ": %s", suffix);
	fputc('\n', out);
	fflush(out);
	errno = saved;
}

void pk_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit("error", fmt, ap, NULL);
	va_end(ap);
}

void pk_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit("warning", fmt, ap, NULL);
	va_end(ap);
}

void pk_info(const char *fmt, ...)
{
	va_list ap;

	if (quiet)
		return;
	va_start(ap, fmt);
	emit(NULL, fmt, ap, NULL);
	va_end(ap);
}

void pk_perror(const char *fmt, ...)
{
	va_list ap;
	const char *msg = strerror(errno);

	va_start(ap, fmt);
	emit("error", fmt, ap, msg);
	va_end(ap);
}

void pk_die(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit("error", fmt, ap, NULL);
	va_end(ap);
	exit(status);
}
