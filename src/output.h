/*
 * output.h - how perfkit prints answers: aligned tables for people, CSV
 * for spreadsheets, and the formatting of times, durations and sizes that
 * every command shares.  JSON goes through lib/json.h directly.
 *
 * A table is filled row by row with cells of text and printed once, so
 * columns can be sized to their content.  Long cells are truncated to the
 * column's max_width with "..." at the end (names) or at the start (file
 * paths, where the end is what matters).  Widths count UTF-8 characters,
 * not bytes.
 */
#ifndef PK_OUTPUT_H
#define PK_OUTPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum pk_format {
	PK_FORMAT_TABLE = 0,
	PK_FORMAT_JSON,
	PK_FORMAT_CSV,
};

/* "table", "json" or "csv" -> *out.  Returns 0, or -1 for any other text. */
int pk_format_parse(const char *text, enum pk_format *out);

enum pk_align { PK_ALIGN_LEFT = 0, PK_ALIGN_RIGHT };
enum pk_trunc { PK_TRUNC_END = 0, PK_TRUNC_START };

struct pk_column {
	const char *header;
	enum pk_align align;
	int max_width;        /* 0 = never truncate */
	enum pk_trunc trunc;
};

struct pk_table;

/* A table with ncols columns described by cols (copied).  Never NULL. */
struct pk_table *pk_table_new(const struct pk_column *cols, size_t ncols);
void pk_table_free(struct pk_table *t);

/* Start a new row; the following cells fill it left to right.  Cells
 * beyond the last column are ignored; missing ones print empty. */
void pk_table_row(struct pk_table *t);
/* Add a cell (text copied; NULL prints as empty). */
void pk_table_cell(struct pk_table *t, const char *text);
void pk_table_cellf(struct pk_table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
size_t pk_table_rows(const struct pk_table *t);

/* Print header and rows, columns separated by two spaces, no trailing
 * blanks.  The last column is not padded. */
void pk_table_print(const struct pk_table *t, FILE *out);

/* Display width of a UTF-8 string (characters; continuation bytes skipped). */
size_t pk_text_width(const char *s);

/* A copy of s in which every byte that is not part of valid UTF-8 is
 * replaced by U+FFFD, so tables and CSV stay readable text (JSON does the
 * same).  Returns a malloc'd string. */
char *pk_utf8_sanitize(const char *s);

/*
 * Fit s into width characters: copy of s when it fits, else "..." plus
 * its tail (PK_TRUNC_START) or its head plus "..." (PK_TRUNC_END), cut at
 * a character boundary.  Returns a malloc'd string.
 */
char *pk_text_truncate(const char *s, size_t width, enum pk_trunc how);

/*
 * CSV (RFC 4180): fields separated by commas, quoted when they hold a
 * comma, quote, CR or LF (quotes doubled), rows ended by "\n".  Text is
 * written as valid UTF-8 (see pk_utf8_sanitize).
 */
struct pk_csv {
	FILE *out;
	int fields;   /* fields written on the current row */
};

void pk_csv_init(struct pk_csv *c, FILE *out);
void pk_csv_field(struct pk_csv *c, const char *s);  /* NULL -> empty */
void pk_csv_int(struct pk_csv *c, int64_t v);
/* Shortest text that reads back to v ("%.10g"); non-finite -> empty. */
void pk_csv_double(struct pk_csv *c, double v);
void pk_csv_end_row(struct pk_csv *c);

/* ---- shared value formats --------------------------------------------- */

/* ISO 8601 local time with offset, "2026-11-26T10:15:00+01:00", from ns
 * since the epoch.  buf should hold 32 bytes. */
void pk_format_iso_time(int64_t epoch_ns, char *buf, size_t len);
/* "2026-11-26 10:15:00" local time, for tables. */
void pk_format_local_time(int64_t epoch_ns, char *buf, size_t len);
/* A duration for people: "850ms", "12.3s", "4m05s", "2h03m"; "-" when
 * negative or not finite. */
void pk_format_duration(double seconds, char *buf, size_t len);

#endif
