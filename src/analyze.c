/*
 * analyze.c - the rule engine (see analyze.h): severities, the findings
 * rules fill, and pk_analyze, which runs every rule, hides generic
 * findings that a more specific one explains, and orders the rest.
 */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "src/analyze.h"
#include "strbuf.h"
#include "util.h"

const char *pk_severity_name(enum pk_severity s)
{
	switch (s) {
	case PK_SEV_LOW: return "low";
	case PK_SEV_MEDIUM: return "medium";
	case PK_SEV_HIGH: return "high";
	case PK_SEV_CRITICAL: return "critical";
	case PK_SEV_NONE: break;
	}
	return "none";
}

enum pk_severity pk_severity_of(double impact, const struct pk_levels *lv)
{
	if (!isfinite(impact))
		return PK_SEV_NONE;
	if (impact >= lv->critical)
		return PK_SEV_CRITICAL;
	if (impact >= lv->high)
		return PK_SEV_HIGH;
	if (impact >= lv->medium)
		return PK_SEV_MEDIUM;
	if (impact >= lv->low)
		return PK_SEV_LOW;
	return PK_SEV_NONE;
}

/* ---- findings ----------------------------------------------------------- */

struct pk_finding *pk_finding_add(struct pk_findings *out, const struct pk_rule *rule,
				  enum pk_severity severity, double impact)
{
	struct pk_finding *f;

	pk_xgrow((void **)&out->v, &out->cap, out->n + 1, sizeof(*out->v));
	f = &out->v[out->n++];
	memset(f, 0, sizeof(*f));
	f->rule = rule;
	f->severity = severity;
	f->impact = impact;
	return f;
}

static char *vformat(const char *fmt, va_list ap)
{
	struct pk_strbuf sb = PK_STRBUF_INIT;

	pk_strbuf_vaddf(&sb, fmt, ap);
	return pk_strbuf_detach(&sb);
}

#define SET_TEXT(field) \
	do { \
		va_list ap; \
		va_start(ap, fmt); \
		free(f->field); \
		f->field = vformat(fmt, ap); \
		va_end(ap); \
	} while (0)

void pk_finding_location(struct pk_finding *f, const char *fmt, ...)
{
	SET_TEXT(location);
}

void pk_finding_describe(struct pk_finding *f, const char *fmt, ...)
{
	SET_TEXT(description);
}

void pk_finding_recommend(struct pk_finding *f, const char *fmt, ...)
{
	SET_TEXT(recommendation);
}

void pk_finding_number(struct pk_finding *f, const char *key, double value)
{
	if (f->n_evidence >= PK_AN_MAX_EVIDENCE)
		return;
	f->evidence[f->n_evidence].key = key;
	f->evidence[f->n_evidence].value = value;
	f->n_evidence++;
}

void pk_finding_cover(struct pk_finding *f, int64_t function_id)
{
	size_t i;

	if (function_id <= 0)
		return;
	for (i = 0; i < f->n_covers; i++)
		if (f->covers[i] == function_id)
			return;
	if (f->n_covers < PK_AN_MAX_COVERS)
		f->covers[f->n_covers++] = function_id;
}

static void finding_release(struct pk_finding *f)
{
	size_t i;

	free(f->location);
	free(f->description);
	free(f->recommendation);
	for (i = 0; i < f->n_paths; i++)
		free(f->paths[i]);
}

void pk_findings_release(struct pk_findings *fs)
{
	size_t i;

	if (!fs)
		return;
	for (i = 0; i < fs->n; i++)
		finding_release(&fs->v[i]);
	free(fs->v);
	memset(fs, 0, sizeof(*fs));
}

char *pk_ev_location(const struct pk_evidence *ev, int64_t function_id)
{
	char *src = pk_ev_source(ev, function_id), *s;

	if (!src)
		return pk_xstrdup(pk_ev_name(ev, function_id));
	s = pk_xasprintf("%s (%s)", pk_ev_name(ev, function_id), pk_basename(src));
	free(src);
	return s;
}

/* ---- call paths --------------------------------------------------------- */

/* Frames of a path shown before the rest is elided ("... > "). */
#define PATH_FRAMES 6
#define PATH_MAX_DEPTH 4096

struct path {
	char *text;          /* function names, root first */
	uint64_t weight;
};

static int cmp_path_text(const void *a, const void *b)
{
	return strcmp(((const struct path *)a)->text, ((const struct path *)b)->text);
}

static int cmp_path_weight(const void *a, const void *b)
{
	const struct path *x = a, *y = b;

	if (x->weight != y->weight)
		return x->weight > y->weight ? -1 : 1;
	return strcmp(x->text, y->text);
}

/* Is function f on the chain above node (excluding node)? */
static int above(const struct pk_profile *p, int64_t node, int64_t f)
{
	int64_t id = p->symtab.nodes[node - 1].parent;

	while (id > 0) {
		if (pk_profile_node_function(p, id) == f)
			return 1;
		if (p->symtab.nodes[id - 1].parent >= id)
			break;
		id = p->symtab.nodes[id - 1].parent;
	}
	return 0;
}

/* Start-up frames every stack shares: left out of the paths shown. */
static int startup_frame(const char *name)
{
	static const char *const names[] = {
		"_start", "__libc_start_main", "__libc_start_call_main", "__libc_start_main_impl",
		"start_thread", "clone", "clone3", "__clone", "__clone3", NULL
	};
	const char *const *n;

	for (n = names; *n; n++)
		if (!strcmp(name, *n))
			return 1;
	return 0;
}

/* "main > run > f" for the chain ending at node. */
static char *path_text(const struct pk_evidence *ev, int64_t node, int64_t *frames)
{
	const struct pk_profile *p = ev->profile;
	struct pk_strbuf sb = PK_STRBUF_INIT;
	int n = pk_profile_stack_frames(p, node, frames, PATH_MAX_DEPTH), i;

	while (n > 1) {
		const struct pk_frame_row *fr = frames[n - 1] > 0 && (size_t)frames[n - 1] <= p->symtab.n_frames
			? &p->symtab.frames[frames[n - 1] - 1] : NULL;

		if (!fr || !startup_frame(pk_ev_name(ev, fr->function_id)))
			break;
		n--;
	}
	if (n > PATH_FRAMES) {
		pk_strbuf_addstr(&sb, "... > ");
		n = PATH_FRAMES;
	}
	for (i = n - 1; i >= 0; i--) {
		const struct pk_frame_row *fr = frames[i] > 0 && (size_t)frames[i] <= p->symtab.n_frames
			? &p->symtab.frames[frames[i] - 1] : NULL;

		pk_strbuf_addstr(&sb, pk_ev_name(ev, fr ? fr->function_id : 0));
		if (i)
			pk_strbuf_addstr(&sb, " > ");
	}
	return pk_strbuf_detach(&sb);
}

void pk_finding_paths(struct pk_finding *f, const struct pk_evidence *ev, int64_t function_id)
{
	const struct pk_profile *p = ev->profile;
	struct path *v = NULL;
	size_t n = 0, cap = 0, i, k;
	int64_t *frames;

	if (function_id <= 0)
		return;
	frames = pk_xmalloc(PATH_MAX_DEPTH * sizeof(*frames));
	for (i = 0; i < p->symtab.n_nodes; i++) {
		int64_t id = (int64_t)i + 1;

		if (!p->node_total[i] || pk_profile_node_function(p, id) != function_id ||
		    above(p, id, function_id))
			continue;
		pk_xgrow((void **)&v, &cap, n + 1, sizeof(*v));
		v[n].text = path_text(ev, id, frames);
		v[n].weight = p->node_total[i];
		n++;
	}
	free(frames);
	if (!n)
		return;
	/* Frames of one function at different lines are different nodes:
	 * merge the paths that read the same. */
	qsort(v, n, sizeof(*v), cmp_path_text);
	for (i = 1, k = 0; i < n; i++) {
		if (!strcmp(v[i].text, v[k].text)) {
			v[k].weight += v[i].weight;
			free(v[i].text);
		} else {
			v[++k] = v[i];
		}
	}
	n = k + 1;
	qsort(v, n, sizeof(*v), cmp_path_weight);
	for (i = 0; i < n; i++) {
		if (f->n_paths < PK_AN_MAX_PATHS)
			f->paths[f->n_paths++] = pk_xasprintf("%s (%.1f%%)", v[i].text,
							      100.0 * pk_ev_share(ev, v[i].weight));
		free(v[i].text);
	}
	free(v);
}

/* ---- the engine --------------------------------------------------------- */

/* Is f's subject explained by a more specific finding? */
static int hidden(const struct pk_findings *fs, size_t k)
{
	const struct pk_finding *f = &fs->v[k];
	size_t i, j;

	if (!f->n_covers)
		return 0;
	for (i = 0; i < fs->n; i++) {
		const struct pk_finding *g = &fs->v[i];

		if (i == k || g->rule->kind <= f->rule->kind)
			continue;
		for (j = 0; j < g->n_covers; j++)
			if (g->covers[j] == f->covers[0])
				return 1;
	}
	return 0;
}

static int cmp_finding(const void *a, const void *b)
{
	const struct pk_finding *x = a, *y = b;
	int c;

	if (x->severity != y->severity)
		return x->severity > y->severity ? -1 : 1;
	if (x->impact != y->impact)
		return x->impact > y->impact ? -1 : 1;
	if ((c = strcmp(x->rule->name, y->rule->name)))
		return c;
	return strcmp(x->location ? x->location : "", y->location ? y->location : "");
}

void pk_analyze(const struct pk_evidence *ev, struct pk_findings *out)
{
	struct pk_findings all = { 0 };
	size_t i;

	for (i = 0; i < pk_n_rules; i++)
		if (!pk_rules[i]->sample_based || ev->profile->n_samples >= PK_AN_MIN_RULE_SAMPLES)
			pk_rules[i]->run(pk_rules[i], ev, &all);
	for (i = 0; i < all.n; i++) {
		if (all.v[i].severity == PK_SEV_NONE || hidden(&all, i)) {
			finding_release(&all.v[i]);
			continue;
		}
		pk_xgrow((void **)&out->v, &out->cap, out->n + 1, sizeof(*out->v));
		out->v[out->n++] = all.v[i];
	}
	free(all.v);
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), cmp_finding);
}

const struct pk_rule *pk_rule_find(const char *name)
{
	size_t i;

	for (i = 0; i < pk_n_rules; i++)
		if (!strcmp(pk_rules[i]->name, name))
			return pk_rules[i];
	return NULL;
}
