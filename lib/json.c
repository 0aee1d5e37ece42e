/*
 * json.c - streaming JSON writer (see json.h).
 */
#include <math.h>
#include <inttypes.h>
#include <string.h>

#include "json.h"

void pk_json_init(struct pk_json *j, FILE *out, int pretty)
{
	memset(j, 0, sizeof(*j));
	j->out = out;
	j->pretty = pretty;
}

static void indent(struct pk_json *j)
{
	int i;

	if (!j->pretty)
		return;
	fputc('\n', j->out);
	for (i = 0; i < j->depth; i++)
		fputs("  ", j->out);
}

/* Called before any value or key: comma and indentation. */
static void before_value(struct pk_json *j)
{
	if (j->after_key) {
		j->after_key = 0;
		return;
	}
	if (j->depth > 0) {
		if (j->count[j->depth] > 0)
			fputc(',', j->out);
		indent(j);
	}
	j->count[j->depth]++;
}

static void open_scope(struct pk_json *j, int c)
{
	before_value(j);
	fputc(c, j->out);
	if (j->depth + 1 < PK_JSON_MAX_DEPTH)
		j->depth++;
	j->count[j->depth] = 0;
}

static void close_scope(struct pk_json *j, int c)
{
	int had = j->count[j->depth];

	if (j->depth > 0)
		j->depth--;
	if (had)
		indent(j);
	fputc(c, j->out);
}

void pk_json_begin_object(struct pk_json *j) { open_scope(j, '{'); }
void pk_json_end_object(struct pk_json *j) { close_scope(j, '}'); }
void pk_json_begin_array(struct pk_json *j) { open_scope(j, '['); }
void pk_json_end_array(struct pk_json *j) { close_scope(j, ']'); }

void pk_json_write_string(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', out);
	while (*p) {
		unsigned c = *p;

		if (c == '"' || c == '\\') {
			fputc('\\', out);
			fputc((int)c, out);
			p++;
		} else if (c < 0x20) {
			switch (c) {
			case '\n': fputs("\\n", out); break;
			case '\t': fputs("\\t", out); break;
			case '\r': fputs("\\r", out); break;
			default: fprintf(out, "\\u%04x", c); break;
			}
			p++;
		} else if (c < 0x80) {
			fputc((int)c, out);
			p++;
		} else {
			/* Validate one UTF-8 sequence; replace if broken. */
			int n = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
			int i, ok = n > 0 && !(n == 2 && c < 0xc2);

			for (i = 1; ok && i < n; i++)
				ok = (p[i] & 0xc0) == 0x80;
			if (ok) {
				fwrite(p, 1, (size_t)n, out);
				p += n;
			} else {
				fputs("\\ufffd", out);
				p++;
			}
		}
	}
	fputc('"', out);
}

void pk_json_key(struct pk_json *j, const char *key)
{
	before_value(j);
	pk_json_write_string(j->out, key);
	fputs(j->pretty ? ": " : ":", j->out);
	j->after_key = 1;
}

void pk_json_string(struct pk_json *j, const char *s)
{
	if (!s) {
		pk_json_null(j);
		return;
	}
	before_value(j);
	pk_json_write_string(j->out, s);
}

void pk_json_int(struct pk_json *j, int64_t v)
{
	before_value(j);
	fprintf(j->out, "%" PRId64, v);
}

void pk_json_uint(struct pk_json *j, uint64_t v)
{
	before_value(j);
	fprintf(j->out, "%" PRIu64, v);
}

void pk_json_double(struct pk_json *j, double v)
{
	if (!isfinite(v)) {
		pk_json_null(j);
		return;
	}
	before_value(j);
	if (v == (double)(int64_t)v && fabs(v) < 1e15)
		fprintf(j->out, "%" PRId64, (int64_t)v);
	else
		fprintf(j->out, "%.10g", v);
}

void pk_json_bool(struct pk_json *j, int v)
{
	before_value(j);
	fputs(v ? "true" : "false", j->out);
}

void pk_json_null(struct pk_json *j)
{
	before_value(j);
	fputs("null", j->out);
}

void pk_json_finish(struct pk_json *j)
{
	fputc('\n', j->out);
	fflush(j->out);
}
