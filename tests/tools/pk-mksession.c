/*
 * pk-mksession.c - write a synthetic session through the store API.
 *
 * For benchmarks (bytes per sample, read speed) and for other areas' tests
 * that need a session with known content without running perfkitd.  The
 * output is a function of the options only: the same --seed gives the same
 * session (names, stacks, times, tids, weights), apart from the wall-clock
 * start time and the auto-generated name.
 *
 *   pk-mksession --db PATH [--name NAME] [--samples N] [--stacks K]
 *                [--depth D] [--threads T] [--seed S] [--frequency HZ]
 *                [--mode cpu|wall] [--alloc] [--hostile-names]
 *                [--status complete|aborted|recording] [--measure]
 *
 * Prints the session name on stdout.  --measure then prints, on stderr, the
 * database file size per sample and the time pk_store_foreach_sample and
 * pk_store_load_symtab take to read the session back.
 *
 * Shape: function 1 is "main"; stack k is main -> level 1 -> ... -> leaf,
 * level i drawn from the first 4 << i functions (so prefixes are shared as
 * in real programs), the leaf from all.  Sample j is on thread
 * 1000 + j % T, at times spaced 1/(frequency) / T apart with +-10% jitter,
 * on stack floor(u^2 * K) for a uniform u (a few hot stacks, a long tail).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "error.h"
#include "store/store.h"
#include "util.h"

struct options {
	const char *db, *name, *mode, *status;
	long samples, stacks, depth, threads, seed;
	double frequency;
	int alloc, hostile, measure;
};

/* splitmix64: small, fast, and the same everywhere. */
static uint64_t rng_state;

static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double rng_unit(void)
{
	return (double)(rng_next() >> 11) / 9007199254740992.0;
}

/* Function names that break naive exporters: separators, markup, quotes,
 * non-ASCII and bytes that are not UTF-8. */
static char *function_name(long i, int hostile)
{
	static const char *const patterns[][2] = {
		{ "ns::tmpl<int, std::pair<A&, B*> >::op_", "()" },
		{ "semi;colon;frame_", "" },
		{ "with spaces ", " (in name)" },
		{ "quote\"double'single_", "" },
		{ "amp&lt;", "&gt;<b>&amp;" },
		{ "caf\xc3\xa9_na\xc3\xafve_", "" },
		{ "\xe5\x87\xbd\xe6\x95\xb0_", "" },
		{ "bad\xff\xfeutf8\xc3_", "" },
		{ "back\\slash,comma_", "" },
	};
	size_t n = sizeof(patterns) / sizeof(patterns[0]);

	if (i == 0)
		return pk_xstrdup("main");
	if (!hostile)
		return pk_xasprintf("compute_%04ld", i);
	return pk_xasprintf("%s%ld%s", patterns[(size_t)i % n][0], i, patterns[(size_t)i % n][1]);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: pk-mksession --db PATH [--name NAME] [--samples N] [--stacks K]\n"
		"                    [--depth D] [--threads T] [--seed S] [--frequency HZ]\n"
		"                    [--mode cpu|wall] [--alloc] [--hostile-names]\n"
		"                    [--status complete|aborted|recording] [--measure]\n");
}

static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "name", required_argument, NULL, 'n' },
		{ "samples", required_argument, NULL, 's' },
		{ "stacks", required_argument, NULL, 'k' },
		{ "depth", required_argument, NULL, 'D' },
		{ "threads", required_argument, NULL, 't' },
		{ "seed", required_argument, NULL, 'S' },
		{ "frequency", required_argument, NULL, 'F' },
		{ "mode", required_argument, NULL, 'm' },
		{ "status", required_argument, NULL, 'x' },
		{ "alloc", no_argument, NULL, 'a' },
		{ "hostile-names", no_argument, NULL, 'H' },
		{ "measure", no_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, index = 0;

	memset(o, 0, sizeof(*o));
	o->samples = 10000;
	o->stacks = 100;
	o->depth = 16;
	o->threads = 4;
	o->seed = 1;
	o->frequency = 997;
	o->mode = "cpu";
	o->status = "complete";
	while ((c = getopt_long(argc, argv, "", longopts, &index)) != -1) {
		long *target = NULL;

		switch (c) {
		case 'd': o->db = optarg; break;
		case 'n': o->name = optarg; break;
		case 's': target = &o->samples; break;
		case 'k': target = &o->stacks; break;
		case 'D': target = &o->depth; break;
		case 't': target = &o->threads; break;
		case 'S': target = &o->seed; break;
		case 'F':
			if (pk_parse_frequency(optarg, &o->frequency) < 0) {
				pk_error("invalid --frequency '%s'", optarg);
				return -1;
			}
			break;
		case 'm': o->mode = optarg; break;
		case 'x': o->status = optarg; break;
		case 'a': o->alloc = 1; break;
		case 'H': o->hostile = 1; break;
		case 'M': o->measure = 1; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
		if (target && pk_parse_long(optarg, target) < 0) {
			pk_error("invalid number '%s' for --%s", optarg, longopts[index].name);
			return -1;
		}
	}
	if (!o->db || optind != argc) {
		usage(stderr);
		return -1;
	}
	if (o->stacks < 1 || o->depth < 1 || o->threads < 1) {
		pk_error("--stacks, --depth and --threads must be at least 1");
		return -1;
	}
	return 0;
}

/* Intern the symbols and K stacks; leaves[k] = leaf node of stack k. */
static int make_stacks(struct pk_store *st, int64_t sid, const struct options *o, int64_t *leaves)
{
	long n_functions = o->stacks / 4 + 16, i, k;
	int64_t mod[3], *frames = pk_xcalloc((size_t)n_functions, sizeof(*frames));

	mod[0] = pk_store_module(st, sid, "/usr/bin/synthetic", "5f0c2ab1d3e4f5a6b7c8d9e0f1a2b3c4d5e6f708");
	mod[1] = pk_store_module(st, sid, "/lib/x86_64-linux-gnu/libc.so.6", NULL);
	mod[2] = pk_store_module(st, sid, o->hostile ? "/opt/we ird;dir/lib<x>&.so" : "/usr/lib/libwork.so",
				 "00112233");
	for (i = 0; i < n_functions; i++) {
		int64_t m = mod[i % 3];
		char *name = function_name(i, o->hostile);
		char *file = i % 5 == 4 ? NULL : pk_xasprintf("src/unit%ld.c", i % 37);
		int64_t f = pk_store_function(st, sid, name, m);

		frames[i] = f < 0 ? f : pk_store_frame(st, sid, f, m, 0x1000 + 16 * (uint64_t)i, file,
						       file ? (int)(i % 500) + 1 : 0);
		free(name);
		free(file);
		if (frames[i] < 0) {
			free(frames);
			return -1;
		}
	}
	for (k = 0; k < o->stacks; k++) {
		long depth = 1 + (long)(rng_next() % (uint64_t)o->depth), level;
		int64_t node = pk_store_stack_node(st, sid, 0, frames[0]);

		for (level = 1; level < depth && node > 0; level++) {
			uint64_t pool = level < 20 ? (uint64_t)4 << level : (uint64_t)n_functions;
			long f;

			if (level == depth - 1 || pool > (uint64_t)n_functions)
				pool = (uint64_t)n_functions;
			f = (long)(rng_next() % pool);
			node = pk_store_stack_node(st, sid, node, frames[f]);
		}
		if (node < 0) {
			free(frames);
			return -1;
		}
		leaves[k] = node;
	}
	free(frames);
	return 0;
}

static int write_samples(struct pk_store *st, int64_t sid, const struct options *o,
			 const int64_t *leaves)
{
	static const char states[] = "RRRSSD";
	int cpu = pk_store_event(st, sid, strcmp(o->mode, "wall") ? "cpu" : "wall", "samples");
	int alloc = o->alloc ? pk_store_event(st, sid, "alloc", "bytes") : 0;
	double step = 1e9 / o->frequency / (double)o->threads;
	double t = 0;
	long j;

	if (cpu < 0 || alloc < 0)
		return -1;
	for (j = 0; j < o->samples; j++) {
		struct pk_sample s;
		double u = rng_unit();

		t += step * (0.9 + 0.2 * rng_unit());
		memset(&s, 0, sizeof(s));
		s.time_ns = (int64_t)t;
		s.tid = 1000 + (int32_t)(j % o->threads);
		s.event = cpu;
		s.stack_id = leaves[(long)(u * u * (double)o->stacks)];
		s.weight = 1;
		if (!strcmp(o->mode, "wall"))
			s.state = states[rng_next() % 6];
		if (pk_store_add_sample(st, sid, &s) != PK_STORE_OK)
			return -1;
		if (alloc && j % 4 == 0) {
			s.event = alloc;
			s.state = 0;
			s.weight = (int64_t)16 << (rng_next() % 12);
			if (pk_store_add_sample(st, sid, &s) != PK_STORE_OK)
				return -1;
		}
	}
	return 0;
}

struct count {
	int64_t samples, weight;
};

static int count_sample(void *ctx, const struct pk_sample *s)
{
	struct count *c = ctx;

	c->samples++;
	c->weight += s->weight;
	return 0;
}

/* Size of the database and the time to read the session back. */
static int measure(const char *db, const char *name)
{
	struct pk_store *st;
	struct pk_session s;
	struct pk_symtab tab;
	struct count c = { 0, 0 };
	struct stat sb;
	char err[512];
	uint64_t t0, t1, t2;
	int rc;

	if (pk_store_open(db, PK_STORE_MODE_READ, &st, err, sizeof(err)) != PK_STORE_OK) {
		pk_error("%s", err);
		return -1;
	}
	if (pk_store_session_find(st, name, &s) != PK_STORE_OK) {
		pk_error("%s", pk_store_errmsg(st));
		pk_store_close(st);
		return -1;
	}
	t0 = pk_monotonic_ns();
	rc = pk_store_foreach_sample(st, s.id, 0, count_sample, &c);
	t1 = pk_monotonic_ns();
	if (rc == PK_STORE_OK)
		rc = pk_store_load_symtab(st, s.id, &tab);
	t2 = pk_monotonic_ns();
	if (rc != PK_STORE_OK) {
		pk_error("%s", pk_store_errmsg(st));
	} else {
		off_t size = stat(db, &sb) == 0 ? sb.st_size : 0;

		fprintf(stderr, "samples=%lld nodes=%zu functions=%zu file_bytes=%lld"
			" bytes_per_sample=%.2f foreach_s=%.3f symtab_s=%.3f\n",
			(long long)c.samples, tab.n_nodes, tab.n_functions, (long long)size,
			c.samples ? (double)size / (double)c.samples : 0.0,
			(double)(t1 - t0) / 1e9, (double)(t2 - t1) / 1e9);
		pk_symtab_release(&tab);
	}
	pk_session_release(&s);
	pk_store_close(st);
	return rc == PK_STORE_OK ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct options o;
	struct pk_store *st;
	struct pk_session s;
	char err[512], *command;
	int64_t *leaves;
	int rc;

	pk_set_program_name("pk-mksession");
	if (parse_args(argc, argv, &o) < 0)
		return PK_EXIT_USAGE;
	rng_state = (uint64_t)o.seed;
	if (pk_store_open(o.db, PK_STORE_MODE_WRITE, &st, err, sizeof(err)) != PK_STORE_OK)
		pk_die(PK_EXIT_FAILURE, "%s", err);
	command = pk_xasprintf("/usr/bin/synthetic --seed %ld", o.seed);
	memset(&s, 0, sizeof(s));
	s.name = o.name ? pk_xstrdup(o.name) : NULL;
	s.command = command;
	s.mode = pk_xstrdup(o.mode);
	s.pid = 4242;
	s.frequency = o.frequency;
	s.exit_status = -1;
	if (pk_store_session_begin(st, &s) != PK_STORE_OK)
		pk_die(PK_EXIT_FAILURE, "%s", pk_store_errmsg(st));
	leaves = pk_xcalloc((size_t)o.stacks, sizeof(*leaves));
	rc = make_stacks(st, s.id, &o, leaves);
	if (rc == 0)
		rc = write_samples(st, s.id, &o, leaves);
	if (rc == 0 && strcmp(o.status, "recording") != 0)
		rc = pk_store_session_end(st, s.id, o.status, 0,
					  s.started_ns + (int64_t)((double)o.samples / o.frequency * 1e9 /
								   (double)o.threads));
	else if (rc == 0)
		rc = pk_store_flush(st);
	if (rc != 0)
		pk_die(PK_EXIT_FAILURE, "%s", pk_store_errmsg(st));
	printf("%s\n", s.name);
	fflush(stdout);
	pk_store_close(st);
	if (o.measure && measure(o.db, s.name) < 0)
		rc = -1;
	free(leaves);
	pk_session_release(&s);
	return rc ? PK_EXIT_FAILURE : PK_EXIT_OK;
}
