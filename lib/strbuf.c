/*
 * strbuf.c - growable strings (see strbuf.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"
#include "util.h"

void pk_strbuf_grow(struct pk_strbuf *sb, size_t extra)
{
	size_t need = sb->len + extra + 1;

	if (need <= sb->alloc)
		return;
	if (sb->alloc < 64)
		sb->alloc = 64;
	while (sb->alloc < need)
		sb->alloc *= 2;
	sb->buf = pk_xrealloc(sb->buf, sb->alloc);
}

void pk_strbuf_add(struct pk_strbuf *sb, const void *data, size_t len)
{
	pk_strbuf_grow(sb, len);
	memcpy(sb->buf + sb->len, data, len);
	sb->len += len;
	sb->buf[sb->len] = '\0';
}

void pk_strbuf_addstr(struct pk_strbuf *sb, const char *s)
{
	pk_strbuf_add(sb, s, strlen(s));
}

void pk_strbuf_addch(struct pk_strbuf *sb, int c)
{
	pk_strbuf_grow(sb, 1);
	sb->buf[sb->len++] = (char)c;
	sb->buf[sb->len] = '\0';
}

void pk_strbuf_vaddf(struct pk_strbuf *sb, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	pk_strbuf_grow(sb, 64);
	va_copy(cp, ap);
	n = vsnprintf(sb->buf + sb->len, sb->alloc - sb->len, fmt, cp);
	va_end(cp);
	if (n < 0)
		return;
	if ((size_t)n >= sb->alloc - sb->len) {
		pk_strbuf_grow(sb, (size_t)n);
		vsnprintf(sb->buf + sb->len, sb->alloc - sb->len, fmt, ap);
	}
	sb->len += (size_t)n;
}

void pk_strbuf_addf(struct pk_strbuf *sb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pk_strbuf_vaddf(sb, fmt, ap);
	va_end(ap);
}

size_t pk_utf8_len(const unsigned char *s)
{
	size_t n, i;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		n = 2, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

void pk_strbuf_add_xml(struct pk_strbuf *sb, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t n;

		switch (*p) {
		case '&': pk_strbuf_addstr(sb, "&amp;"); p++; continue;
		case '<': pk_strbuf_addstr(sb, "&lt;"); p++; continue;
		case '>': pk_strbuf_addstr(sb, "&gt;"); p++; continue;
		case '"': pk_strbuf_addstr(sb, "&quot;"); p++; continue;
		case '\'': pk_strbuf_addstr(sb, "&#39;"); p++; continue;
		default: break;
		}
		if (*p < 0x20 && *p != '\t' && *p != '\n') {
			pk_strbuf_addstr(sb, "\xef\xbf\xbd");
			p++;
			continue;
		}
		n = pk_utf8_len(p);
		if (!n) {
			pk_strbuf_addstr(sb, "\xef\xbf\xbd");
			p++;
			continue;
		}
		pk_strbuf_add(sb, p, n);
		p += n;
	}
}

void pk_strbuf_reset(struct pk_strbuf *sb)
{
	sb->len = 0;
	if (sb->buf)
		sb->buf[0] = '\0';
}

const char *pk_strbuf_str(const struct pk_strbuf *sb)
{
	return sb->buf ? sb->buf : "";
}

char *pk_strbuf_detach(struct pk_strbuf *sb)
{
	char *s = sb->buf ? sb->buf : pk_xstrdup("");

	sb->buf = NULL;
	sb->len = sb->alloc = 0;
	return s;
}

void pk_strbuf_release(struct pk_strbuf *sb)
{
	free(sb->buf);
	sb->buf = NULL;
	sb->len = sb->alloc = 0;
}
