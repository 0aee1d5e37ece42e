/*
 * json.h - a streaming JSON writer with stable key order.
 *
 * The writer tracks nesting and commas; callers emit keys and values in
 * order.  Strings are escaped per RFC 8259; bytes that are not valid UTF-8
 * become U+FFFD so the output always parses.  Non-finite numbers become null.
 *
 *   struct pk_json j; pk_json_init(&j, stdout, 1);
 *   pk_json_begin_object(&j);
 *   pk_json_key(&j, "samples"); pk_json_int(&j, 42);
 *   pk_json_end_object(&j); pk_json_finish(&j);
 */
#ifndef PK_JSON_H
#define PK_JSON_H

#include <stdint.h>
#include <stdio.h>

#define PK_JSON_MAX_DEPTH 64

struct pk_json {
	FILE *out;
	int pretty;
	int depth;
	int count[PK_JSON_MAX_DEPTH]; /* values emitted at each depth */
	int after_key;
};

void pk_json_init(struct pk_json *j, FILE *out, int pretty);
void pk_json_begin_object(struct pk_json *j);
void pk_json_end_object(struct pk_json *j);
void pk_json_begin_array(struct pk_json *j);
void pk_json_end_array(struct pk_json *j);
void pk_json_key(struct pk_json *j, const char *key);
void pk_json_string(struct pk_json *j, const char *s); /* NULL -> null */
void pk_json_int(struct pk_json *j, int64_t v);
void pk_json_uint(struct pk_json *j, uint64_t v);
void pk_json_double(struct pk_json *j, double v);
void pk_json_bool(struct pk_json *j, int v);
void pk_json_null(struct pk_json *j);
/* Write a newline after the top-level value. */
void pk_json_finish(struct pk_json *j);

/* Write s as a JSON string literal (with quotes) to out. */
void pk_json_write_string(FILE *out, const char *s);

#endif
