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

#include "src/compare.h"

/* The one-paragraph verdict that opens every output.  malloc'd. */
char *pk_compare_summary(const struct pk_compare *c);

void pk_compare_print_table(const struct pk_compare *c, size_t limit, FILE *out);
/* st: the store the sessions came from (for their descriptions). */
void pk_compare_print_json(const struct pk_compare *c, struct pk_store *st, size_t limit, FILE *out);
void pk_compare_print_csv(const struct pk_compare *c, size_t limit, FILE *out);

/* The differential flame graph as SVG (compare-flamegraph.c).  Returns 0,
 * or -1 on a write error (errno set). */
int pk_compare_write_flamegraph(const struct pk_compare *c, FILE *out);

#endif
