/*
 * pprof.c - export a profile as pprof's profile.proto, gzip-compressed:
 * the file that `go tool pprof`, Grafana/Pyroscope and Parca read.
 *
 * The protobuf encoding is written by hand.  profile.proto needs only
 * varints and length-delimited fields, about 60 lines here, whereas
 * protobuf-c would add a build dependency, a code generator and a runtime
 * library for the same bytes.  Compression is zlib's (gzip framing).
 *
 * Mapping of perfkit's model onto profile.proto:
 *   module   -> Mapping (path, build-id; symbolized: has_functions etc.).
 *               The session stores module-relative addresses only, so
 *               each module gets its own synthetic address range.
 *   frame    -> Location (address, one Line: function and line)
 *   function -> Function (name, file of its first frame with one)
 *   stack    -> Sample (location ids leaf first), one per distinct stack;
 *               values (samples/count, EVENT/nanoseconds) for sampled
 *               events, (EVENT/UNIT) otherwise.
 * Field numbers follow github.com/google/pprof/proto/profile.proto.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "src/export.h"
#include "strbuf.h"
#include "util.h"

/* ---- protobuf encoding ---------------------------------------------------- */

enum { WIRE_VARINT = 0, WIRE_BYTES = 2 };

static void pb_varint(struct pk_strbuf *b, uint64_t v)
{
	unsigned char tmp[10];
	size_t n = 0;

	do {
		tmp[n] = (unsigned char)(v & 0x7f);
		v >>= 7;
		if (v)
			tmp[n] |= 0x80;
		n++;
	} while (v);
	pk_strbuf_add(b, tmp, n);
}

static void pb_key(struct pk_strbuf *b, unsigned field, unsigned wire)
{
	pb_varint(b, ((uint64_t)field << 3) | wire);
}

/* An integer field; zero is the default and is left out. */
static void pb_int(struct pk_strbuf *b, unsigned field, uint64_t v)
{
	if (!v)
		return;
	pb_key(b, field, WIRE_VARINT);
	pb_varint(b, v);
}

static void pb_bytes(struct pk_strbuf *b, unsigned field, const void *data, size_t len)
{
	pb_key(b, field, WIRE_BYTES);
	pb_varint(b, len);
	pk_strbuf_add(b, data, len);
}

/* An embedded message (or packed array) built in sub; sub is reset. */
static void pb_sub(struct pk_strbuf *b, unsigned field, struct pk_strbuf *sub)
{
	pb_bytes(b, field, sub->buf ? sub->buf : "", sub->len);
	pk_strbuf_reset(sub);
}

/* ---- string table ----------------------------------------------------------- */

struct strtab {
	char **s;
	size_t n, cap;
	uint32_t *slots;
	size_t mask;
};

static uint32_t str_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static int64_t strtab_index(struct strtab *t, const char *s)
{
	size_t h, i;

	if (!s)
		s = "";
	for (h = str_hash(s) & t->mask; t->slots[h] != UINT32_MAX; h = (h + 1) & t->mask)
		if (!strcmp(t->s[t->slots[h]], s))
			return t->slots[h];
	pk_xgrow((void **)&t->s, &t->cap, t->n + 1, sizeof(*t->s));
	t->s[t->n] = pk_xstrdup(s);
	t->slots[h] = (uint32_t)t->n++;
	if (t->n * 2 > t->mask) {
		size_t mask = t->mask * 2 + 1;

		free(t->slots);
		t->slots = pk_xmalloc((mask + 1) * sizeof(*t->slots));
		memset(t->slots, 0xff, (mask + 1) * sizeof(*t->slots));
		t->mask = mask;
		for (i = 0; i < t->n; i++) {
			for (h = str_hash(t->s[i]) & mask; t->slots[h] != UINT32_MAX; h = (h + 1) & mask)
				;
			t->slots[h] = (uint32_t)i;
		}
	}
	return (int64_t)t->n - 1;
}

static void strtab_init(struct strtab *t)
{
	memset(t, 0, sizeof(*t));
	t->mask = 1023;
	t->slots = pk_xmalloc((t->mask + 1) * sizeof(*t->slots));
	memset(t->slots, 0xff, (t->mask + 1) * sizeof(*t->slots));
	strtab_index(t, ""); /* index 0 must be "" */
}

static void strtab_release(struct strtab *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		free(t->s[i]);
	free(t->s);
	free(t->slots);
}

/* ---- profile.proto ------------------------------------------------------------ */

enum {
	PROFILE_SAMPLE_TYPE = 1, PROFILE_SAMPLE = 2, PROFILE_MAPPING = 3, PROFILE_LOCATION = 4,
	PROFILE_FUNCTION = 5, PROFILE_STRING_TABLE = 6, PROFILE_TIME_NANOS = 9,
	PROFILE_DURATION_NANOS = 10, PROFILE_PERIOD_TYPE = 11, PROFILE_PERIOD = 12,
	PROFILE_COMMENT = 13,
	VALUE_TYPE_TYPE = 1, VALUE_TYPE_UNIT = 2,
	SAMPLE_LOCATION_ID = 1, SAMPLE_VALUE = 2,
	MAPPING_ID = 1, MAPPING_START = 2, MAPPING_LIMIT = 3, MAPPING_FILENAME = 5,
	MAPPING_BUILD_ID = 6, MAPPING_HAS_FUNCTIONS = 7, MAPPING_HAS_FILENAMES = 8,
	MAPPING_HAS_LINE_NUMBERS = 9,
	LOCATION_ID = 1, LOCATION_MAPPING_ID = 2, LOCATION_ADDRESS = 3, LOCATION_LINE = 4,
	LINE_FUNCTION_ID = 1, LINE_LINE = 2,
	FUNCTION_ID = 1, FUNCTION_NAME = 2, FUNCTION_SYSTEM_NAME = 3, FUNCTION_FILENAME = 4,
};

/* Each module's synthetic address range: module id << 40, 1 TiB wide. */
#define MAPPING_SHIFT 40

static void value_type(struct pk_strbuf *b, unsigned field, struct strtab *st, const char *type,
		       const char *unit, struct pk_strbuf *tmp)
{
	pb_int(tmp, VALUE_TYPE_TYPE, (uint64_t)strtab_index(st, type));
	pb_int(tmp, VALUE_TYPE_UNIT, (uint64_t)strtab_index(st, unit));
	pb_sub(b, field, tmp);
}

/* Encode the whole (uncompressed) profile into b. */
static void encode_profile(struct pk_strbuf *b, const struct pk_profile *p)
{
	const struct pk_symtab *sym = &p->symtab;
	struct pk_strbuf msg = PK_STRBUF_INIT, sub = PK_STRBUF_INIT, packed = PK_STRBUF_INIT;
	struct strtab st;
	const char *event = p->event_name ? p->event_name : "samples";
	const char *unit = p->event_unit ? p->event_unit : "samples";
	int sampled = !strcmp(unit, "samples");
	int64_t period = sampled && p->sample_hz > 0 ? llround(1e9 / p->sample_hz) : 0;
	int64_t *file_of;
	size_t i;

	strtab_init(&st);
	if (sampled) {
		value_type(b, PROFILE_SAMPLE_TYPE, &st, "samples", "count", &sub);
		if (period)
			value_type(b, PROFILE_SAMPLE_TYPE, &st, event, "nanoseconds", &sub);
	} else {
		value_type(b, PROFILE_SAMPLE_TYPE, &st, event, unit, &sub);
	}

	/* Samples: one per stack node that has weight, locations leaf first. */
	for (i = 0; i <= sym->n_nodes; i++) {
		uint64_t w = i < sym->n_nodes ? p->node_self[i] : p->root_self;
		int64_t node = i < sym->n_nodes ? (int64_t)i + 1 : 0;
		size_t guard = 0;

		if (!w)
			continue;
		while (node >= 1 && (size_t)node <= sym->n_nodes && guard++ <= sym->n_nodes) {
			pb_varint(&packed, (uint64_t)sym->nodes[node - 1].frame_id);
			node = sym->nodes[node - 1].parent;
		}
		if (packed.len)
			pb_sub(&msg, SAMPLE_LOCATION_ID, &packed);
		pb_varint(&packed, w);
		if (sampled && period)
			pb_varint(&packed, w * (uint64_t)period);
		pb_sub(&msg, SAMPLE_VALUE, &packed);
		pb_sub(b, PROFILE_SAMPLE, &msg);
	}

	for (i = 0; i < sym->n_modules; i++) {
		uint64_t start = (uint64_t)(i + 1) << MAPPING_SHIFT;

		pb_int(&msg, MAPPING_ID, i + 1);
		pb_int(&msg, MAPPING_START, start);
		pb_int(&msg, MAPPING_LIMIT, start + ((uint64_t)1 << MAPPING_SHIFT));
		pb_int(&msg, MAPPING_FILENAME, (uint64_t)strtab_index(&st, sym->modules[i].path));
		pb_int(&msg, MAPPING_BUILD_ID, (uint64_t)strtab_index(&st, sym->modules[i].build_id));
		/* Symbolized already: consumers must not look the binaries up. */
		pb_int(&msg, MAPPING_HAS_FUNCTIONS, 1);
		pb_int(&msg, MAPPING_HAS_FILENAMES, 1);
		pb_int(&msg, MAPPING_HAS_LINE_NUMBERS, 1);
		pb_sub(b, PROFILE_MAPPING, &msg);
	}

	file_of = pk_xcalloc(sym->n_functions + 1, sizeof(*file_of));
	for (i = 0; i < sym->n_frames; i++) {
		const struct pk_frame_row *fr = &sym->frames[i];
		int64_t mod = fr->module_id;

		pb_int(&msg, LOCATION_ID, i + 1);
		if (mod >= 1 && (size_t)mod <= sym->n_modules) {
			pb_int(&msg, LOCATION_MAPPING_ID, (uint64_t)mod);
			pb_int(&msg, LOCATION_ADDRESS,
			       ((uint64_t)mod << MAPPING_SHIFT) +
				       (fr->offset & (((uint64_t)1 << MAPPING_SHIFT) - 1)));
		} else {
			pb_int(&msg, LOCATION_ADDRESS, fr->offset);
		}
		if (fr->function_id >= 1 && (size_t)fr->function_id <= sym->n_functions) {
			pb_int(&sub, LINE_FUNCTION_ID, (uint64_t)fr->function_id);
			pb_int(&sub, LINE_LINE, fr->line > 0 ? (uint64_t)fr->line : 0);
			pb_sub(&msg, LOCATION_LINE, &sub);
			if (!file_of[fr->function_id - 1] && fr->file && *fr->file)
				file_of[fr->function_id - 1] = strtab_index(&st, fr->file);
		}
		pb_sub(b, PROFILE_LOCATION, &msg);
	}

	for (i = 0; i < sym->n_functions; i++) {
		int64_t name = strtab_index(&st, pk_profile_function_name(p, (int64_t)i + 1));

		pb_int(&msg, FUNCTION_ID, i + 1);
		pb_int(&msg, FUNCTION_NAME, (uint64_t)name);
		pb_int(&msg, FUNCTION_SYSTEM_NAME, (uint64_t)name);
		pb_int(&msg, FUNCTION_FILENAME, (uint64_t)file_of[i]);
		pb_sub(b, PROFILE_FUNCTION, &msg);
	}
	free(file_of);

	pb_int(b, PROFILE_TIME_NANOS, p->session.started_ns > 0 ? (uint64_t)p->session.started_ns : 0);
	if (p->duration_s > 0 && isfinite(p->duration_s))
		pb_int(b, PROFILE_DURATION_NANOS, (uint64_t)llround(p->duration_s * 1e9));
	if (period) {
		value_type(b, PROFILE_PERIOD_TYPE, &st, event, "nanoseconds", &sub);
		pb_int(b, PROFILE_PERIOD, (uint64_t)period);
	}
	if (p->session.name) {
		char *c = pk_xasprintf("perfkit session %s", p->session.name);

		pb_int(b, PROFILE_COMMENT, (uint64_t)strtab_index(&st, c));
		free(c);
	}
	/* The string table last: every index above is final by now. */
	for (i = 0; i < st.n; i++)
		pb_bytes(b, PROFILE_STRING_TABLE, st.s[i], strlen(st.s[i]));

	strtab_release(&st);
	pk_strbuf_release(&msg);
	pk_strbuf_release(&sub);
	pk_strbuf_release(&packed);
}

/* gzip data to out with zlib. */
static int write_gzip(FILE *out, const void *data, size_t len, char *err, size_t errlen)
{
	unsigned char buf[1 << 16];
	z_stream z;
	int rc;

	memset(&z, 0, sizeof(z));
	/* windowBits 15 + 16: a gzip header and trailer, not raw zlib. */
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		snprintf(err, errlen, "cannot start gzip compression: %s", z.msg ? z.msg : "zlib error");
		return -1;
	}
	z.next_in = (Bytef *)(uintptr_t)data;
	z.avail_in = (uInt)len;
	do {
		z.next_out = buf;
		z.avail_out = sizeof(buf);
		rc = deflate(&z, Z_FINISH);
		if (rc == Z_STREAM_ERROR) {
			snprintf(err, errlen, "gzip compression failed");
			deflateEnd(&z);
			return -1;
		}
		if (fwrite(buf, 1, sizeof(buf) - z.avail_out, out) != sizeof(buf) - z.avail_out) {
			deflateEnd(&z);
			return -1;
		}
	} while (rc != Z_STREAM_END);
	deflateEnd(&z);
	return 0;
}

static int write_pprof(FILE *out, const struct pk_export_ctx *ctx, char *err, size_t errlen)
{
	struct pk_strbuf b = PK_STRBUF_INIT;
	int rc;

	encode_profile(&b, ctx->profile);
	if (b.len > UINT32_MAX) {
		snprintf(err, errlen, "profile too large for one gzip pass");
		pk_strbuf_release(&b);
		return -1;
	}
	rc = write_gzip(out, b.buf ? b.buf : "", b.len, err, errlen);
	pk_strbuf_release(&b);
	return rc;
}

const struct pk_exporter pk_export_pprof = {
	"pprof", "gzip-compressed profile.proto for go tool pprof, Pyroscope, Parca", 1, write_pprof,
};
