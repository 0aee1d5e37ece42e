/*
 * export-speedscope.c - speedscope's JSON file format
 * (https://www.speedscope.app/file-format-schema.json): one "sampled"
 * profile per thread, samples in time order, so speedscope's time-order
 * view shows what each thread did when, and its left-heavy and sandwich
 * views aggregate.
 *
 * Frames are functions (speedscope merges by frame), with the source file
 * when the session knows it.  Consecutive samples of one thread with the
 * same stack are written once with their weights added: the views are the
 * same and the file much smaller.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "json.h"
#include "src/export.h"
#include "util.h"

struct run {
	int64_t stack_id;
	uint64_t weight;
};

struct thread_runs {
	int32_t tid;
	struct run *runs;
	size_t n, cap;
	uint64_t total;
};

struct collect {
	const struct pk_filter *filter;
	int event;
	int64_t from_ns, to_ns;
	struct thread_runs *threads;
	size_t n_threads, cap_threads;
	size_t last; /* index of the thread of the previous sample */
};

static struct thread_runs *thread_of(struct collect *c, int32_t tid)
{
	size_t i;

	if (c->last < c->n_threads && c->threads[c->last].tid == tid)
		return &c->threads[c->last];
	for (i = 0; i < c->n_threads; i++)
		if (c->threads[i].tid == tid)
			break;
	if (i == c->n_threads) {
		pk_xgrow((void **)&c->threads, &c->cap_threads, c->n_threads + 1, sizeof(*c->threads));
		memset(&c->threads[i], 0, sizeof(c->threads[i]));
		c->threads[i].tid = tid;
		c->n_threads++;
	}
	c->last = i;
	return &c->threads[i];
}

static int collect_sample(void *ctx, const struct pk_sample *s)
{
	struct collect *c = ctx;
	const struct pk_filter *f = c->filter;
	struct thread_runs *t;

	/* The same selection as pk_profile_load, so the totals agree. */
	if (s->event != c->event)
		return 0;
	if (f->tid && s->tid != f->tid)
		return 0;
	if ((f->has_from && s->time_ns < c->from_ns) || (f->has_to && s->time_ns >= c->to_ns))
		return 0;
	if (s->weight <= 0)
		return 0;
	t = thread_of(c, s->tid);
	if (t->n && t->runs[t->n - 1].stack_id == s->stack_id) {
		t->runs[t->n - 1].weight += (uint64_t)s->weight;
	} else {
		pk_xgrow((void **)&t->runs, &t->cap, t->n + 1, sizeof(*t->runs));
		t->runs[t->n].stack_id = s->stack_id;
		t->runs[t->n].weight = (uint64_t)s->weight;
		t->n++;
	}
	t->total += (uint64_t)s->weight;
	return 0;
}

static int cmp_tid(const void *a, const void *b)
{
	const struct thread_runs *x = a, *y = b;

	return (x->tid > y->tid) - (x->tid < y->tid);
}

/* Frame indexes of a stack node, root first, into frames (depth returned). */
static size_t stack_functions(const struct pk_profile *p, int64_t node, int64_t **buf, size_t *cap)
{
	const struct pk_symtab *st = &p->symtab;
	size_t n = 0, i;

	while (node >= 1 && (size_t)node <= st->n_nodes && n <= st->n_nodes) {
		pk_xgrow((void **)buf, cap, n + 1, sizeof(**buf));
		(*buf)[n++] = pk_profile_node_function(p, node);
		node = st->nodes[node - 1].parent;
	}
	for (i = 0; i < n / 2; i++) {
		int64_t tmp = (*buf)[i];

		(*buf)[i] = (*buf)[n - 1 - i];
		(*buf)[n - 1 - i] = tmp;
	}
	return n;
}

/* The source file of each function: that of its first frame with one. */
static const char **function_files(const struct pk_symtab *st)
{
	const char **files = pk_xcalloc(st->n_functions + 1, sizeof(*files));
	size_t i;

	for (i = 0; i < st->n_frames; i++) {
		int64_t f = st->frames[i].function_id;

		if (f >= 1 && (size_t)f <= st->n_functions && !files[f - 1] && st->frames[i].file &&
		    *st->frames[i].file)
			files[f - 1] = st->frames[i].file;
	}
	return files;
}

static int write_speedscope(FILE *out, const struct pk_export_ctx *ctx, char *err, size_t errlen)
{
	const struct pk_profile *p = ctx->profile;
	const struct pk_symtab *st = &p->symtab;
	struct collect c;
	struct pk_json j;
	const char **files;
	const char *unit;
	int64_t *stack = NULL;
	size_t cap = 0, i, k, d;
	int rc;

	memset(&c, 0, sizeof(c));
	c.filter = ctx->filter;
	c.event = p->event;
	c.from_ns = llround(ctx->filter->from_s * 1e9);
	c.to_ns = llround(ctx->filter->to_s * 1e9);
	if (p->total) {
		rc = pk_store_foreach_sample(ctx->store, p->session.id, p->event, collect_sample, &c);
		if (rc != PK_STORE_OK) {
			snprintf(err, errlen, "cannot read the samples: %s", pk_store_errmsg(ctx->store));
			for (i = 0; i < c.n_threads; i++)
				free(c.threads[i].runs);
			free(c.threads);
			return -1;
		}
	}
	qsort(c.threads, c.n_threads, sizeof(*c.threads), cmp_tid);
	unit = p->event_unit && !strcmp(p->event_unit, "bytes") ? "bytes" : "none";
	files = function_files(st);

	pk_json_init(&j, out, 0);
	pk_json_begin_object(&j);
	pk_json_key(&j, "$schema");
	pk_json_string(&j, "https://www.speedscope.app/file-format-schema.json");
	pk_json_key(&j, "exporter");
	pk_json_string(&j, "perfkit " PACKAGE_VERSION);
	pk_json_key(&j, "name");
	pk_json_string(&j, p->session.name ? p->session.name : "perfkit");
	pk_json_key(&j, "activeProfileIndex");
	pk_json_int(&j, 0);
	/* Frame i is function i + 1; function 0 (unknown) is the last one. */
	pk_json_key(&j, "shared");
	pk_json_begin_object(&j);
	pk_json_key(&j, "frames");
	pk_json_begin_array(&j);
	for (i = 0; i <= st->n_functions; i++) {
		pk_json_begin_object(&j);
		pk_json_key(&j, "name");
		pk_json_string(&j, pk_profile_function_name(p, i < st->n_functions ? (int64_t)i + 1 : 0));
		if (i < st->n_functions && files[i]) {
			pk_json_key(&j, "file");
			pk_json_string(&j, files[i]);
		}
		pk_json_end_object(&j);
	}
	pk_json_end_array(&j);
	pk_json_end_object(&j);
	pk_json_key(&j, "profiles");
	pk_json_begin_array(&j);
	for (i = 0; i < c.n_threads; i++) {
		struct thread_runs *t = &c.threads[i];
		char name[64];

		snprintf(name, sizeof(name), "thread %" PRId32, t->tid);
		pk_json_begin_object(&j);
		pk_json_key(&j, "type");
		pk_json_string(&j, "sampled");
		pk_json_key(&j, "name");
		pk_json_string(&j, name);
		pk_json_key(&j, "unit");
		pk_json_string(&j, unit);
		pk_json_key(&j, "startValue");
		pk_json_int(&j, 0);
		pk_json_key(&j, "endValue");
		pk_json_uint(&j, t->total);
		pk_json_key(&j, "samples");
		pk_json_begin_array(&j);
		for (k = 0; k < t->n; k++) {
			size_t n = stack_functions(p, t->runs[k].stack_id, &stack, &cap);

			pk_json_begin_array(&j);
			for (d = 0; d < n; d++) {
				int64_t f = stack[d];

				pk_json_int(&j, f >= 1 && (size_t)f <= st->n_functions ? f - 1
										    : (int64_t)st->n_functions);
			}
			pk_json_end_array(&j);
		}
		pk_json_end_array(&j);
		pk_json_key(&j, "weights");
		pk_json_begin_array(&j);
		for (k = 0; k < t->n; k++)
			pk_json_uint(&j, t->runs[k].weight);
		pk_json_end_array(&j);
		pk_json_end_object(&j);
		free(t->runs);
	}
	pk_json_end_array(&j);
	pk_json_end_object(&j);
	pk_json_finish(&j);
	free(c.threads);
	free(stack);
	free(files);
	return ferror(out) ? -1 : 0;
}

const struct pk_exporter pk_export_speedscope = {
	"speedscope", "speedscope JSON, one sampled profile per thread", 0, write_speedscope,
};
