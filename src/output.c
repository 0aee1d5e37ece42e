/*
 * output.c - tables, CSV and value formats shared by perfkit's commands
 * (see output.h).
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "output.h"
#include "util.h"

int pk_format_parse(const char *text, enum pk_format *out)
{
	if (!text)
		return -1;
	if (!strcmp(text, "table"))
		*out = PK_FORMAT_TABLE;
	else if (!strcmp(text, "json"))
		*out = PK_FORMAT_JSON;
	else if (!strcmp(text, "csv"))
		*out = PK_FORMAT_CSV;
	else
		return -1;
	return 0;
}

/* ---- text width and truncation ---------------------------------------- */

static int is_continuation(unsigned char c)
{
	return (c & 0xc0) == 0x80;
}

size_t pk_text_width(const char *s)
{
	size_t w = 0;

	for (; s && *s; s++)
		if (!is_continuation((unsigned char)*s))
			w++;
	return w;
}

/* Byte offset where character number chars begins (or the end). */
static size_t char_offset(const char *s, size_t chars)
{
	size_t i = 0, seen = 0;

	for (; s[i]; i++) {
		if (is_continuation((unsigned char)s[i]))
			continue;
		if (seen == chars)
			return i;
		seen++;
	}
	return i;
}

char *pk_text_truncate(const char *s, size_t width, enum pk_trunc how)
{
	static const char dots[] = "...";
	size_t w = pk_text_width(s), keep;

	if (w <= width)
		return pk_xstrdup(s);
	if (width <= 3)
		return pk_xstrdup(dots + (3 - width));
	keep = width - 3;
	if (how == PK_TRUNC_START)
		return pk_xasprintf("%s%s", dots, s + char_offset(s, w - keep));
	return pk_xasprintf("%.*s%s", (int)char_offset(s, keep), s, dots);
}

/* Length of the valid UTF-8 sequence at p, or 0 when it is broken. */
static size_t utf8_sequence(const unsigned char *p)
{
	size_t n, i;

	if (*p < 0x80)
		return 1;
	n = (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 : (*p & 0xf8) == 0xf0 ? 4 : 0;
	if (n == 2 && *p < 0xc2)
		return 0;
	for (i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

char *pk_utf8_sanitize(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	char *out = pk_xmalloc(strlen(s) * 3 + 1), *o = out;

	while (*p) {
		size_t n = utf8_sequence(p);

		if (n) {
			memcpy(o, p, n);
			o += n;
			p += n;
		} else {
			memcpy(o, "\xef\xbf\xbd", 3);   /* U+FFFD */
			o += 3;
			p++;
		}
	}
	*o = '\0';
	return out;
}

/* ---- tables ------------------------------------------------------------ */

struct pk_table {
	struct pk_column *cols;
	size_t ncols;
	char **cells;          /* rows * ncols, row-major; NULL = empty */
	size_t rows, cap;      /* cap in cells */
	size_t filled;         /* cells filled in the current row */
};

struct pk_table *pk_table_new(const struct pk_column *cols, size_t ncols)
{
	struct pk_table *t = pk_xcalloc(1, sizeof(*t));

	t->cols = pk_xmalloc(ncols * sizeof(*cols));
	memcpy(t->cols, cols, ncols * sizeof(*cols));
	t->ncols = ncols;
	return t;
}

void pk_table_free(struct pk_table *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->rows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->cols);
	free(t);
}

void pk_table_row(struct pk_table *t)
{
	size_t need = (t->rows + 1) * t->ncols;

	pk_xgrow((void **)&t->cells, &t->cap, need, sizeof(*t->cells));
	memset(t->cells + t->rows * t->ncols, 0, t->ncols * sizeof(*t->cells));
	t->rows++;
	t->filled = 0;
}

void pk_table_cell(struct pk_table *t, const char *text)
{
	char **slot, *clean;

	if (!t->rows || t->filled >= t->ncols)
		return;
	slot = &t->cells[(t->rows - 1) * t->ncols + t->filled++];
	if (!text)
		return;
	clean = pk_utf8_sanitize(text);
	if (t->cols[t->filled - 1].max_width > 0) {
		*slot = pk_text_truncate(clean, (size_t)t->cols[t->filled - 1].max_width,
					 t->cols[t->filled - 1].trunc);
		free(clean);
	} else {
		*slot = clean;
	}
}

void pk_table_cellf(struct pk_table *t, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	pk_table_cell(t, s ? s : "");
	free(s);
}

size_t pk_table_rows(const struct pk_table *t)
{
	return t->rows;
}

static void print_cell(FILE *out, const char *text, size_t width, enum pk_align align, int last)
{
	size_t w = pk_text_width(text), pad = width > w ? width - w : 0;

	if (align == PK_ALIGN_RIGHT)
		fprintf(out, "%*s", (int)pad, "");
	fputs(text, out);
	if (align == PK_ALIGN_LEFT && !last)
		fprintf(out, "%*s", (int)pad, "");
}

void pk_table_print(const struct pk_table *t, FILE *out)
{
	size_t *width = pk_xcalloc(t->ncols ? t->ncols : 1, sizeof(*width));
	size_t r, c, last = t->ncols ? t->ncols - 1 : 0;

	for (c = 0; c < t->ncols; c++) {
		width[c] = pk_text_width(t->cols[c].header);
		for (r = 0; r < t->rows; r++) {
			const char *s = t->cells[r * t->ncols + c];
			size_t w = s ? pk_text_width(s) : 0;

			if (w > width[c])
				width[c] = w;
		}
	}
	for (r = 0; r <= t->rows; r++) {
		for (c = 0; c < t->ncols; c++) {
			const char *s = r == 0 ? t->cols[c].header : t->cells[(r - 1) * t->ncols + c];

			if (c)
				fputs("  ", out);
			print_cell(out, s ? s : "", width[c], t->cols[c].align, c == last);
		}
		fputc('\n', out);
	}
	free(width);
}

/* ---- CSV --------------------------------------------------------------- */

void pk_csv_init(struct pk_csv *c, FILE *out)
{
	c->out = out;
	c->fields = 0;
}

static void csv_separator(struct pk_csv *c)
{
	if (c->fields++)
		fputc(',', c->out);
}

void pk_csv_field(struct pk_csv *c, const char *text)
{
	char *clean, *s;

	csv_separator(c);
	if (!text)
		return;
	clean = pk_utf8_sanitize(text);
	if (!strpbrk(clean, ",\"\r\n")) {
		fputs(clean, c->out);
		free(clean);
		return;
	}
	fputc('"', c->out);
	for (s = clean; *s; s++) {
		if (*s == '"')
			fputc('"', c->out);
		fputc(*s, c->out);
	}
	fputc('"', c->out);
	free(clean);
}

void pk_csv_int(struct pk_csv *c, int64_t v)
{
	csv_separator(c);
	fprintf(c->out, "%" PRId64, v);
}

void pk_csv_double(struct pk_csv *c, double v)
{
	csv_separator(c);
	if (isfinite(v))
		fprintf(c->out, "%.10g", v);
}

void pk_csv_end_row(struct pk_csv *c)
{
	fputc('\n', c->out);
	c->fields = 0;
}

/* ---- value formats ----------------------------------------------------- */

static int split_time(int64_t epoch_ns, struct tm *tm)
{
	time_t t = (time_t)(epoch_ns / 1000000000);

	return localtime_r(&t, tm) ? 0 : -1;
}

void pk_format_iso_time(int64_t epoch_ns, char *buf, size_t len)
{
	struct tm tm;
	char zone[8];
	size_t n;

	if (split_time(epoch_ns, &tm) < 0 || !(n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm))) {
		snprintf(buf, len, "-");
		return;
	}
	/* strftime's %z is "+0100"; ISO 8601 extended format wants "+01:00". */
	if (strftime(zone, sizeof(zone), "%z", &tm) == 5)
		snprintf(buf + n, len - n, "%.3s:%.2s", zone, zone + 3);
}

void pk_format_local_time(int64_t epoch_ns, char *buf, size_t len)
{
	struct tm tm;

	if (split_time(epoch_ns, &tm) < 0 || !strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, len, "-");
}

void pk_format_duration(double s, char *buf, size_t len)
{
	if (!isfinite(s) || s < 0)
		snprintf(buf, len, "-");
	else if (s < 1.0)
		snprintf(buf, len, "%.0fms", s * 1000.0);
	else if (s < 60.0)
		snprintf(buf, len, "%.1fs", s);
	else if (s < 3600.0)
		snprintf(buf, len, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60.0));
	else
		snprintf(buf, len, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60.0, 60.0));
}
