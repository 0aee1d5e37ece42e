/*
 * strbuf.h - a growable, always NUL-terminated byte string.
 *
 * struct pk_strbuf sb = PK_STRBUF_INIT; ... pk_strbuf_release(&sb);
 * The buffer owns its memory; pk_strbuf_detach() hands it to the caller.
 */
#ifndef PK_STRBUF_H
#define PK_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct pk_strbuf {
	char *buf;   /* never NULL after the first append; "" when empty */
	size_t len;
	size_t alloc;
};

#define PK_STRBUF_INIT { NULL, 0, 0 }

void pk_strbuf_grow(struct pk_strbuf *sb, size_t extra);
void pk_strbuf_add(struct pk_strbuf *sb, const void *data, size_t len);
void pk_strbuf_addstr(struct pk_strbuf *sb, const char *s);
void pk_strbuf_addch(struct pk_strbuf *sb, int c);
void pk_strbuf_addf(struct pk_strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pk_strbuf_vaddf(struct pk_strbuf *sb, const char *fmt, va_list ap);
/* Append s with XML/HTML special characters escaped; invalid UTF-8 bytes
 * become U+FFFD so the document stays well-formed. */
void pk_strbuf_add_xml(struct pk_strbuf *sb, const char *s);
void pk_strbuf_reset(struct pk_strbuf *sb);
/* Length of the valid UTF-8 sequence starting at s (1 to 4), or 0 when
 * the bytes there are not valid UTF-8 (overlong, surrogate, truncated). */
size_t pk_utf8_len(const unsigned char *s);
/* The string ("" if nothing was added). */
const char *pk_strbuf_str(const struct pk_strbuf *sb);
/* Hand the buffer to the caller (free() it); sb becomes empty. */
char *pk_strbuf_detach(struct pk_strbuf *sb);
void pk_strbuf_release(struct pk_strbuf *sb);

#endif
