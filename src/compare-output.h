/*
 * compare-output.h - printing a comparison: summary and table
 * (compare-output.c), JSON and CSV (compare-json.c), differential flame
 * graph (compare-flamegraph.c).  All write to out and report no errors
 * (the caller checks the stream).  limit caps each of the improvement and
 * regression lists; 0 = no cap.
 */
#ifndef PK_COMPARE_OUTPUT_H
#define PK_COMPARE_OUTPUT_H

#include <stddef.h>
#include <stdio.h>

#include "json.h"
#include "src/compare.h"
#include "src/output.h"
#include "strbuf.h"

/* The one-paragraph verdict that opens every output.  malloc'd. */
char *pk_compare_summary(const struct pk_compare *c);

void pk_compare_print_table(const struct pk_compare *c, size_t limit, FILE *out);
/* st: the store the sessions came from (for their descriptions). */
void pk_compare_print_json(const struct pk_compare *c, struct pk_store *st, size_t limit, FILE *out);
void pk_compare_print_csv(const struct pk_compare *c, size_t limit, FILE *out);

/*
 * The exact part of a comparison (compare-output-exact.c): the sentences
 * the summary ends with (allocations), the tables of allocation sites and
 * probed functions, and their JSON keys ("allocations", "probes",
 * "counters") and CSV rows.
 */
void pk_compare_summary_exact(struct pk_strbuf *sb, const struct pk_compare *c);
void pk_compare_print_exact_table(const struct pk_compare *c, size_t limit, FILE *out);
void pk_compare_json_exact(struct pk_json *j, const struct pk_compare *c, size_t limit);
/* CSV rows with the columns of pk_compare_print_csv. */
void pk_compare_csv_exact(struct pk_csv *csv, const struct pk_compare *c, size_t limit);

/* A count for tables: exact below 100000, else 123.4K / M / G. */
void pk_compare_format_count(double v, char *buf, size_t len);

/* The differential flame graph as SVG (compare-flamegraph.c).  Returns 0,
 * or -1 on a write error (errno set). */
int pk_compare_write_flamegraph(const struct pk_compare *c, FILE *out);

#endif
