/*
 * test-analyze.c - the rules of "perfkit analyze" on hand-built sessions
 * whose answers are known: each rule just below and at its thresholds
 * (src/analyze-thresholds.h), its location and severity, the hiding of a
 * generic finding by a specific one, the order of findings, glibc name
 * matching, the rules that read allocation and cache data (given as
 * evidence), and the command's JSON, table and --explain output.
 *
 * Sessions are written through the store API into a temporary database,
 * as perfkitd writes them.
 */
#include <CUnit/Basic.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "src/analyze.h"
#include "src/builtin.h"
#include "store/store.h"
#include "util.h"

static char tmpdir[64];
static char *db_path;
static struct pk_store *store;

#define BUILD(cond) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "%s:%d: building a test session: %s failed\n", __FILE__, \
				__LINE__, #cond); \
			exit(1); \
		} \
	} while (0)

/* "main;work;memcpy" (root first) x count samples, thread state. */
struct stack_spec {
	const char *path;
	int count;
	char state;
};

/* Write session name: the stacks, in order, 10 ms apart.  complete < 0:
 * no complete_stacks statistic. */
static int64_t build(const char *name, const char *mode, const struct stack_spec *v, size_t n,
		     double complete)
{
	struct pk_session s;
	int64_t module, t = 0;
	double total = 0;
	int event;
	size_t i;

	memset(&s, 0, sizeof(s));
	s.name = (char *)name;
	s.command = (char *)"./prog";
	s.mode = (char *)mode;
	s.pid = 42;
	s.frequency = 100;
	s.exit_status = -1;
	BUILD(pk_store_session_begin(store, &s) == PK_STORE_OK);
	module = pk_store_module(store, s.id, "/usr/bin/prog", NULL);
	BUILD(module > 0);
	event = pk_store_event(store, s.id, !strcmp(mode, "wall") ? "wall" : "cpu", "samples");
	BUILD(event > 0);
	for (i = 0; i < n; i++) {
		char *copy = pk_xstrdup(v[i].path), *save = NULL, *tok;
		int64_t node = 0;
		int k;

		for (tok = strtok_r(copy, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
			int64_t fn = pk_store_function(store, s.id, tok, module), fr;

			BUILD(fn > 0);
			fr = pk_store_frame(store, s.id, fn, module, 0x1000 + (uint64_t)fn * 16, "prog.c",
					    (int)fn);
			BUILD(fr > 0);
			node = pk_store_stack_node(store, s.id, node, fr);
			BUILD(node > 0);
		}
		free(copy);
		for (k = 0; k < v[i].count; k++) {
			struct pk_sample smp = { t, 100, event, node, 1, v[i].state };

			BUILD(pk_store_add_sample(store, s.id, &smp) == PK_STORE_OK);
			t += 10000000;
		}
		total += v[i].count;
	}
	BUILD(pk_store_flush(store) == PK_STORE_OK);
	BUILD(pk_store_set_stat(store, s.id, "samples", total) == PK_STORE_OK);
	BUILD(pk_store_set_stat(store, s.id, "achieved_hz", 100) == PK_STORE_OK);
	if (complete >= 0)
		BUILD(pk_store_set_stat(store, s.id, "complete_stacks", complete) == PK_STORE_OK);
	BUILD(pk_store_session_end(store, s.id, "complete", 0, (int64_t)pk_realtime_ns()) == PK_STORE_OK);
	return s.id;
}

/* The leaf node of path (root first) in session sid (interned: the node
 * build() made for the same path). */
static int64_t node_of(int64_t sid, const char *path)
{
	char *copy = pk_xstrdup(path), *save = NULL, *tok;
	int64_t module = pk_store_module(store, sid, "/usr/bin/prog", NULL), node = 0;

	for (tok = strtok_r(copy, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
		int64_t fn = pk_store_function(store, sid, tok, module);
		int64_t fr = pk_store_frame(store, sid, fn, module, 0x1000 + (uint64_t)fn * 16, "prog.c",
					    (int)fn);

		node = pk_store_stack_node(store, sid, node, fr);
	}
	free(copy);
	BUILD(node > 0);
	return node;
}

/* A recursion of depth levels of f under main, ending in leaf. */
static char *recursion_path(const char *f, int levels, const char *leaf)
{
	size_t len = strlen("main;") + (size_t)levels * (strlen(f) + 1) + strlen(leaf) + 1;
	char *s = pk_xmalloc(len);
	int i;

	strcpy(s, "main;");
	for (i = 0; i < levels; i++) {
		strcat(s, f);
		strcat(s, ";");
	}
	strcat(s, leaf);
	return s;
}

struct result {
	struct pk_profile p;
	struct pk_evidence ev;
	struct pk_findings fs;
};

static void load(struct result *r, const char *name)
{
	memset(r, 0, sizeof(*r));
	BUILD(pk_profile_load(store, name, NULL, &r->p) == PK_STORE_OK);
	BUILD(pk_evidence_load(store, &r->p, &r->ev) == PK_STORE_OK);
}

static void analyze(struct result *r)
{
	pk_findings_release(&r->fs);
	pk_analyze(&r->ev, &r->fs);
}

static void done(struct result *r)
{
	pk_findings_release(&r->fs);
	pk_evidence_release(&r->ev);
	pk_profile_release(&r->p);
}

/* Build, load and analyze in one go. */
static void run_spec(struct result *r, const char *name, const char *mode,
		     const struct stack_spec *v, size_t n, double complete)
{
	build(name, mode, v, n, complete);
	load(r, name);
	analyze(r);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* The finding of rule whose location starts with loc (NULL: any). */
static const struct pk_finding *find(const struct result *r, const char *rule, const char *loc)
{
	size_t i;

	for (i = 0; i < r->fs.n; i++)
		if (!strcmp(r->fs.v[i].rule->name, rule) &&
		    (!loc || (r->fs.v[i].location && !strncmp(r->fs.v[i].location, loc, strlen(loc)))))
			return &r->fs.v[i];
	return NULL;
}

/* A finding that must exist: fail and end the test (releasing r) if not. */
#define REQUIRE(f, r) \
	do { \
		if (!(f)) { \
			CU_FAIL("expected finding missing: " #f); \
			done(r); \
			return; \
		} \
	} while (0)

static double number(const struct pk_finding *f, const char *key)
{
	size_t i;

	for (i = 0; f && i < f->n_evidence; i++)
		if (!strcmp(f->evidence[i].key, key))
			return f->evidence[i].value;
	return NAN;
}

/* Filler work spread over 20 functions, none reaching any threshold. */
#define FILLER(n) \
	{ "main;f01", (n) / 20, 'R' }, { "main;f02", (n) / 20, 'R' }, { "main;f03", (n) / 20, 'R' }, \
	{ "main;f04", (n) / 20, 'R' }, { "main;f05", (n) / 20, 'R' }, { "main;f06", (n) / 20, 'R' }, \
	{ "main;f07", (n) / 20, 'R' }, { "main;f08", (n) / 20, 'R' }, { "main;f09", (n) / 20, 'R' }, \
	{ "main;f10", (n) / 20, 'R' }, { "main;f11", (n) / 20, 'R' }, { "main;f12", (n) / 20, 'R' }, \
	{ "main;f13", (n) / 20, 'R' }, { "main;f14", (n) / 20, 'R' }, { "main;f15", (n) / 20, 'R' }, \
	{ "main;f16", (n) / 20, 'R' }, { "main;f17", (n) / 20, 'R' }, { "main;f18", (n) / 20, 'R' }, \
	{ "main;f19", (n) / 20, 'R' }, { "main;f20", (n) / 20, 'R' }

/* The same filler built at run time: n samples over the 20 functions, the
 * remainder of n / 20 on the first.  v must have room for 20 entries. */
static void fill(struct stack_spec *v, int n)
{
	static const char *const paths[20] = {
		"main;f01", "main;f02", "main;f03", "main;f04", "main;f05", "main;f06", "main;f07",
		"main;f08", "main;f09", "main;f10", "main;f11", "main;f12", "main;f13", "main;f14",
		"main;f15", "main;f16", "main;f17", "main;f18", "main;f19", "main;f20",
	};
	int i;

	for (i = 0; i < 20; i++) {
		v[i].path = paths[i];
		v[i].count = n / 20 + (i == 0 ? n % 20 : 0);
		v[i].state = 'R';
	}
}

/* ---- tests -------------------------------------------------------------- */

static void test_severity_levels(void)
{
	struct pk_levels lv = { 0.1, 0.2, 0.35, 0.6 };

	CU_ASSERT_EQUAL(pk_severity_of(0.0999, &lv), PK_SEV_NONE);
	CU_ASSERT_EQUAL(pk_severity_of(0.1, &lv), PK_SEV_LOW);
	CU_ASSERT_EQUAL(pk_severity_of(0.2, &lv), PK_SEV_MEDIUM);
	CU_ASSERT_EQUAL(pk_severity_of(0.35, &lv), PK_SEV_HIGH);
	CU_ASSERT_EQUAL(pk_severity_of(0.6, &lv), PK_SEV_CRITICAL);
	CU_ASSERT_EQUAL(pk_severity_of(NAN, &lv), PK_SEV_NONE);
	CU_ASSERT_STRING_EQUAL(pk_severity_name(PK_SEV_CRITICAL), "critical");
	CU_ASSERT_STRING_EQUAL(pk_severity_name(PK_SEV_LOW), "low");
}

static void test_name_matching(void)
{
	static const char *const copy[] = { "memcpy*", "memmove*", "memset*", NULL };
	static const char *const alloc[] = { "malloc", "free", "int_free*", "operator new*", NULL };
	static const char *const io[] = { "write", NULL };

	CU_ASSERT(pk_ev_name_in("__memmove_avx_unaligned_erms", copy));
	CU_ASSERT(pk_ev_name_in("__memcpy_avx512_unaligned_erms", copy));
	CU_ASSERT(pk_ev_name_in("memset", copy));
	CU_ASSERT(pk_ev_name_in("__memset_evex_unaligned_erms", copy));
	CU_ASSERT(!pk_ev_name_in("memsetter", copy));
	CU_ASSERT(!pk_ev_name_in("my_memcpy", copy));
	CU_ASSERT(pk_ev_name_in("__libc_malloc", alloc));
	CU_ASSERT(pk_ev_name_in("_int_free", alloc));
	CU_ASSERT(pk_ev_name_in("_int_free_merge_chunk", alloc));
	CU_ASSERT(!pk_ev_name_in("freeze", alloc));
	CU_ASSERT(pk_ev_name_in("operator new(unsigned long)", alloc));
	CU_ASSERT(pk_ev_name_in("operator new[](unsigned long)", alloc));
	CU_ASSERT(!pk_ev_name_in("operator newer", alloc));
	CU_ASSERT(pk_ev_name_in("__GI___libc_write", io));
	CU_ASSERT(pk_ev_name_in("write", io));
	CU_ASSERT(!pk_ev_name_in("writev", io));
	CU_ASSERT(!pk_ev_name_in(NULL, io));
}

static void test_slow_function(void)
{
	/* 1000 samples: hot at 10.0% is low, 9.9% nothing; 20/35/60% are
	 * medium/high/critical. */
	static const struct { int hot; enum pk_severity sev; } cases[] = {
		{ 99, PK_SEV_NONE }, { 100, PK_SEV_LOW }, { 200, PK_SEV_MEDIUM },
		{ 350, PK_SEV_HIGH }, { 600, PK_SEV_CRITICAL },
	};
	size_t i;

	for (i = 0; i < N(cases); i++) {
		struct stack_spec v[21] = { { "main;run;hot", cases[i].hot, 'R' } };
		char name[32];
		struct result r;
		const struct pk_finding *f;

		fill(v + 1, 1000 - cases[i].hot);
		snprintf(name, sizeof(name), "slow-%d", cases[i].hot);
		run_spec(&r, name, "cpu", v, N(v), 1000);
		f = find(&r, "slow-function", "hot");
		if (cases[i].sev == PK_SEV_NONE) {
			CU_ASSERT_PTR_NULL(f);
		} else {
			REQUIRE(f, &r);
			CU_ASSERT_EQUAL(f->severity, cases[i].sev);
			CU_ASSERT_DOUBLE_EQUAL(number(f, "self_share"), cases[i].hot / 1000.0, 1e-9);
			CU_ASSERT_STRING_EQUAL(f->location, "hot (prog.c:3)");
			CU_ASSERT(f->n_paths >= 1);
			if (f->n_paths)
				CU_ASSERT_STRING_EQUAL(f->paths[0], cases[i].hot == 100
						       ? "main > run > hot (10.0%)" : f->paths[0]);
		}
		done(&r);
	}
}

static void test_memory_copying(void)
{
	/* 5.0% under copy_blocks is low; 4.9% nothing; 50% critical, and the
	 * slow-function finding for the memmove variant is hidden. */
	static const struct { int copy; enum pk_severity sev; } cases[] = {
		{ 49, PK_SEV_NONE }, { 50, PK_SEV_LOW }, { 100, PK_SEV_MEDIUM },
		{ 250, PK_SEV_HIGH }, { 500, PK_SEV_CRITICAL },
	};
	size_t i;

	for (i = 0; i < N(cases); i++) {
		struct stack_spec v[22] = {
			{ "main;copy_blocks;__memmove_avx_unaligned_erms", cases[i].copy, 'R' },
			{ "main;copy_blocks", 10, 'R' },
		};
		char name[32];
		struct result r;
		const struct pk_finding *f;

		fill(v + 2, 1000 - 10 - cases[i].copy);
		snprintf(name, sizeof(name), "copy-%d", cases[i].copy);
		run_spec(&r, name, "cpu", v, N(v), -1);
		f = find(&r, "memory-copying", NULL);
		if (cases[i].sev == PK_SEV_NONE) {
			CU_ASSERT_PTR_NULL(f);
		} else {
			REQUIRE(f, &r);
			CU_ASSERT_EQUAL(f->severity, cases[i].sev);
			CU_ASSERT_STRING_EQUAL(f->location, "copy_blocks (prog.c:2)");
			CU_ASSERT_DOUBLE_EQUAL(number(f, "copy_samples"), cases[i].copy, 1e-9);
			CU_ASSERT_PTR_NULL(find(&r, "slow-function", "__memmove"));
		}
		done(&r);
	}
}

static void test_string_scanning(void)
{
	/* strlen hot under upcase (10%: medium) is reported there; 3% under
	 * each of two callers is not "hot under one caller". */
	struct stack_spec one[] = {
		{ "main;upcase;__strlen_avx2", 100, 'R' },
		{ "main;upcase", 20, 'R' },
		FILLER(880),
	};
	struct stack_spec two[] = {
		{ "main;left;strlen", 30, 'R' },
		{ "main;right;__strcmp_evex", 30, 'R' },
		FILLER(940),
	};
	struct result r;
	const struct pk_finding *f;

	run_spec(&r, "scan-one", "cpu", one, N(one), -1);
	f = find(&r, "string-scanning", NULL);
	REQUIRE(f, &r);
	CU_ASSERT_EQUAL(f->severity, PK_SEV_MEDIUM);
	CU_ASSERT_STRING_EQUAL(f->location, "upcase (prog.c:2)");
	/* hot-callee would also see strlen under upcase's loop: the
	 * specific rule hides it. */
	CU_ASSERT_PTR_NULL(find(&r, "hot-callee", NULL));
	done(&r);

	run_spec(&r, "scan-two", "cpu", two, N(two), -1);
	CU_ASSERT_PTR_NULL(find(&r, "string-scanning", NULL));
	done(&r);
}

static void test_allocation_from_samples(void)
{
	/* malloc + free under build: 30% inclusive = high, at build. */
	struct stack_spec churn[] = {
		{ "main;build;malloc;_int_malloc", 150, 'R' },
		{ "main;build;free;_int_free", 100, 'R' },
		{ "main;build;free", 50, 'R' },
		{ "main;other;malloc", 10, 'R' },
		FILLER(690),
	};
	/* realloc under grow: 30% = high excessive-allocation at grow, which
	 * hides allocator-overhead (same functions, more specific). */
	struct stack_spec grow[] = {
		{ "main;grow;realloc;_int_realloc", 200, 'R' },
		{ "main;grow;realloc", 100, 'R' },
		FILLER(700),
	};
	struct result r;
	const struct pk_finding *f;

	run_spec(&r, "churn", "cpu", churn, N(churn), -1);
	f = find(&r, "allocator-overhead", NULL);
	REQUIRE(f, &r);
	CU_ASSERT_EQUAL(f->severity, PK_SEV_HIGH);
	CU_ASSERT_STRING_EQUAL(f->location, "build (prog.c:2)");
	CU_ASSERT_DOUBLE_EQUAL(number(f, "allocator_samples"), 310, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(number(f, "top_caller_samples"), 300, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(number(f, "callers"), 2, 1e-9);
	CU_ASSERT_PTR_NULL(find(&r, "excessive-allocation", NULL));
	/* _int_malloc's 15% self would be a slow function: allocator time
	 * explains it. */
	CU_ASSERT_PTR_NULL(find(&r, "slow-function", "_int_malloc"));
	done(&r);

	run_spec(&r, "grow", "cpu", grow, N(grow), -1);
	f = find(&r, "excessive-allocation", NULL);
	REQUIRE(f, &r);
	CU_ASSERT_EQUAL(f->severity, PK_SEV_HIGH);
	CU_ASSERT_STRING_EQUAL(f->location, "grow (prog.c:2)");
	CU_ASSERT_PTR_NULL(find(&r, "allocator-overhead", NULL));
	done(&r);
}

static void test_lock_contention(void)
{
	/* Wall mode: 3 of 5 threads' samples wait in the lock (60%,
	 * critical), off-CPU; the main thread's pthread_join futex wait is
	 * not contention. */
	struct stack_spec wall[] = {
		{ "worker;update;pthread_mutex_lock;__lll_lock_wait", 600, 'S' },
		{ "worker;update", 200, 'R' },
		{ "main;pthread_join;__futex_abstimed_wait_common", 200, 'S' },
	};
	/* CPU mode: 5% in the lock is low. */
	struct stack_spec cpu[] = {
		{ "main;update;pthread_mutex_lock", 50, 'R' },
		FILLER(950),
	};
	struct result r;
	const struct pk_finding *f;

	run_spec(&r, "lock-wall", "wall", wall, N(wall), -1);
	f = find(&r, "lock-contention", NULL);
	REQUIRE(f, &r);
	CU_ASSERT_EQUAL(f->severity, PK_SEV_CRITICAL);
	CU_ASSERT_STRING_EQUAL(f->location, "update (prog.c:2)");
	CU_ASSERT_DOUBLE_EQUAL(number(f, "lock_samples"), 600, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(number(f, "offcpu_samples"), 600, 1e-9);
	CU_ASSERT_EQUAL(r.ev.offcpu_total, 800);
	/* Sleeping is not running: no slow-function for the futex wait. */
	CU_ASSERT_PTR_NULL(find(&r, "slow-function", "__futex"));
	/* update's own 20% running is. */
	f = find(&r, "slow-function", "update");
	CU_ASSERT_PTR_NOT_NULL(f);
	if (f)
		CU_ASSERT_EQUAL(f->severity, PK_SEV_MEDIUM);
	done(&r);

	run_spec(&r, "lock-cpu", "cpu", cpu, N(cpu), -1);
	f = find(&r, "lock-contention", NULL);
	REQUIRE(f, &r);
	CU_ASSERT_EQUAL(f->severity, PK_SEV_LOW);
	done(&r);
}

static void test_syscall_heavy(void)
{
	struct stack_spec v[] = {
		{ "main;write_records;__GI___libc_write", 350, 'R' },
		{ "main;write_records", 20, 'R' },
		FILLER(630),
	};
	struct stack_spec below[] = {
		{ "main;write_records;write", 99, 'R' },
		FILLER(901),
	};
	struct result r;
	const struct pk_finding *f;

	run_spec(&r, "io", "cpu", v, N(v), -1);
	f = find(&r, "syscall-heavy", NULL);
	REQUIRE(f, &r);
	CU_ASSERT_EQUAL(f->severity, PK_SEV_HIGH);
	CU_ASSERT_STRING_EQUAL(f->location, "write_records (prog.c:2)");
	done(&r);

	run_spec(&r, "io-below", "cpu", below, N(below), -1);
	CU_ASSERT_PTR_NULL(find(&r, "syscall-heavy", NULL));
	done(&r);
}

static void test_deep_stack(void)
{
	char *deep = recursion_path("descend", 150, "bottom");
	char *shallow = recursion_path("descend", 99, "bottom");
	struct stack_spec v[] = {
		{ deep, 100, 'R' },
		{ shallow, 100, 'R' },
		FILLER(800),
	};
	struct stack_spec all[] = {
		{ deep, 1000, 'R' },
	};
	struct result r;
	const struct pk_finding *f;

	/* 10% of the samples 150 levels deep: medium; 99 levels is not deep. */
	run_spec(&r, "deep", "cpu", v, N(v), -1);
	f = find(&r, "deep-stack", NULL);
	REQUIRE(f, &r);
	CU_ASSERT_EQUAL(f->severity, PK_SEV_MEDIUM);
	CU_ASSERT_STRING_EQUAL(f->location, "descend (prog.c:2)");
	CU_ASSERT_DOUBLE_EQUAL(number(f, "max_recursion"), 150, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(number(f, "deep_samples"), 100, 1e-9);
	done(&r);

	/* Every sample deep: capped at high. */
	run_spec(&r, "deep-all", "cpu", all, N(all), 1000);
	f = find(&r, "deep-stack", NULL);
	REQUIRE(f, &r);
	CU_ASSERT_EQUAL(f->severity, PK_SEV_HIGH);
	done(&r);
	free(deep);
	free(shallow);
}

static void test_hot_callee(void)
{
	/* helper takes 40% under loop, which runs 2% itself: high hot-callee
	 * at "loop -> helper", hiding slow-function for helper. */
	struct stack_spec looped[] = {
		{ "main;loop;helper", 400, 'R' },
		{ "main;loop", 20, 'R' },
		FILLER(580),
	};
	/* Called once from run (no own samples): a slow function instead. */
	struct stack_spec once[] = {
		{ "main;run;helper", 400, 'R' },
		FILLER(600),
	};
	struct result r;
	const struct pk_finding *f;

	run_spec(&r, "callee", "cpu", looped, N(looped), -1);
	f = find(&r, "hot-callee", NULL);
	REQUIRE(f, &r);
	CU_ASSERT_EQUAL(f->severity, PK_SEV_HIGH);
	CU_ASSERT_STRING_EQUAL(f->location, "loop (prog.c:2) -> helper");
	CU_ASSERT_PTR_NULL(find(&r, "slow-function", "helper"));
	done(&r);

	run_spec(&r, "callee-once", "cpu", once, N(once), -1);
	CU_ASSERT_PTR_NULL(find(&r, "hot-callee", NULL));
	f = find(&r, "slow-function", "helper");
	REQUIRE(f, &r);
	CU_ASSERT_EQUAL(f->severity, PK_SEV_HIGH);
	done(&r);
}

static void test_profile_quality(void)
{
	static const struct { int n; enum pk_severity sev; } cases[] = {
		{ 9, PK_SEV_CRITICAL }, { 10, PK_SEV_HIGH }, { 19, PK_SEV_HIGH }, { 20, PK_SEV_HIGH },
		{ 49, PK_SEV_HIGH }, { 50, PK_SEV_MEDIUM },
		{ 199, PK_SEV_MEDIUM }, { 200, PK_SEV_LOW }, { 499, PK_SEV_LOW }, { 500, PK_SEV_NONE },
	};
	struct stack_spec broken[] = {
		{ "main;work", 900, 'R' },
		{ "prog+0x1234", 100, 'R' },
	};
	struct result r;
	size_t i;

	for (i = 0; i < N(cases); i++) {
		struct stack_spec v[] = { { "main;work", cases[i].n, 'R' } };
		const struct pk_finding *f;
		char name[32];

		snprintf(name, sizeof(name), "few-%d", cases[i].n);
		run_spec(&r, name, "cpu", v, N(v), cases[i].n);
		f = find(&r, "profile-quality", NULL);
		if (cases[i].sev == PK_SEV_NONE) {
			CU_ASSERT_PTR_NULL(f);
		} else {
			REQUIRE(f, &r);
			CU_ASSERT_EQUAL(f->severity, cases[i].sev);
			CU_ASSERT_DOUBLE_EQUAL(number(f, "samples"), cases[i].n, 1e-9);
		}
		/* Rules that read shares of samples need PK_AN_MIN_RULE_SAMPLES. */
		if (cases[i].n < PK_AN_MIN_RULE_SAMPLES) {
			CU_ASSERT_PTR_NULL(find(&r, "slow-function", NULL));
		} else {
			CU_ASSERT_PTR_NOT_NULL(find(&r, "slow-function", "work"));
		}
		done(&r);
	}

	/* 900 of 1000 stacks complete (10%: medium), 10% of the samples in an
	 * unnamed function (medium). */
	run_spec(&r, "broken", "cpu", broken, N(broken), 900);
	CU_ASSERT_EQUAL(r.fs.n >= 2, 1);
	{
		int incomplete = 0, unnamed = 0;

		for (i = 0; i < r.fs.n; i++) {
			const struct pk_finding *f = &r.fs.v[i];

			if (strcmp(f->rule->name, "profile-quality"))
				continue;
			if (!isnan(number(f, "incomplete_share"))) {
				incomplete++;
				CU_ASSERT_EQUAL(f->severity, PK_SEV_MEDIUM);
				CU_ASSERT_DOUBLE_EQUAL(number(f, "incomplete_share"), 0.1, 1e-9);
			}
			if (!isnan(number(f, "unnamed_share"))) {
				unnamed++;
				CU_ASSERT_EQUAL(f->severity, PK_SEV_MEDIUM);
			}
		}
		CU_ASSERT_EQUAL(incomplete, 1);
		CU_ASSERT_EQUAL(unnamed, 1);
	}
	done(&r);
}

static void test_order_and_clean(void)
{
	struct stack_spec mixed[] = {
		{ "main;copy;memcpy", 300, 'R' },          /* memory-copying high (30%) */
		{ "main;upcase;strlen", 60, 'R' },         /* string-scanning low (6%) */
		{ "main;solve", 640, 'R' },                /* slow-function critical (64%) */
	};
	struct stack_spec clean[] = { FILLER(1000) };
	struct result r;
	size_t i;

	run_spec(&r, "mixed", "cpu", mixed, N(mixed), 1000);
	CU_ASSERT_EQUAL(r.fs.n, 3);
	if (r.fs.n != 3) {
		done(&r);
		return;
	}
	CU_ASSERT_STRING_EQUAL(r.fs.v[0].rule->name, "slow-function");
	CU_ASSERT_EQUAL(r.fs.v[0].severity, PK_SEV_CRITICAL);
	CU_ASSERT_STRING_EQUAL(r.fs.v[1].rule->name, "memory-copying");
	CU_ASSERT_STRING_EQUAL(r.fs.v[2].rule->name, "string-scanning");
	for (i = 1; i < r.fs.n; i++)
		CU_ASSERT(r.fs.v[i - 1].severity > r.fs.v[i].severity ||
			  (r.fs.v[i - 1].severity == r.fs.v[i].severity &&
			   r.fs.v[i - 1].impact >= r.fs.v[i].impact));
	done(&r);

	/* 20 functions of 5% each, 1000 samples, complete stacks: nothing. */
	run_spec(&r, "clean", "cpu", clean, N(clean), 1000);
	CU_ASSERT_EQUAL(r.fs.n, 0);
	done(&r);
}

/* ---- rules on allocation and cache data --------------------------------- */

static struct pk_alloc_site_ev site(const char *function, uint64_t count, uint64_t bytes,
				    uint64_t frees, uint64_t live_count, uint64_t live_bytes,
				    uint64_t max_size)
{
	struct pk_alloc_site_ev s;

	memset(&s, 0, sizeof(s));
	s.function = pk_xstrdup(function);
	s.count = count;
	s.bytes = bytes;
	s.frees = frees;
	s.live_count = live_count;
	s.live_bytes = live_bytes;
	s.max_size = max_size;
	return s;
}

static void test_allocation_data(void)
{
	struct stack_spec v[] = { FILLER(1000) };
	struct pk_alloc_ev *a = pk_xcalloc(1, sizeof(*a));
	struct result r;
	const struct pk_finding *f;
	size_t i;

	run_spec(&r, "alloc-data", "cpu", v, N(v), 1000);
	CU_ASSERT_EQUAL(r.fs.n, 0);
	/* 100,000 allocations of 16 bytes (frequent), a realloc chain of
	 * 10,000 one-byte steps, a 100 MiB block, a 2,048,000-byte leak; the
	 * timeline rises steadily. */
	a->sites = pk_xcalloc(5, sizeof(*a->sites));
	a->sites[a->n_sites++] = site("churn_batch", 100000, 1600000, 100000, 0, 0, 16);
	a->sites[a->n_sites] = site("append_bytes", 10000, 10000, 9999, 1, 10000, 10000);
	a->sites[a->n_sites].realloc_count = 10000;
	a->sites[a->n_sites++].realloc_growth = 10000;
	a->sites[a->n_sites++] = site("load_all", 1, 100u << 20, 1, 0, 0, 100u << 20);
	a->sites[a->n_sites++] = site("remember_request", 500, 2048000, 0, 500, 2048000, 4096);
	a->sites[a->n_sites++] = site("small_leak", 2, 4000, 0, 2, 4000, 2000);
	a->alloc_calls = 110503;
	a->peak_bytes = (100u << 20) + 2048000;
	a->target_exited = 1;
	a->n_timeline = 16;
	a->timeline = pk_xcalloc(a->n_timeline, sizeof(*a->timeline));
	for (i = 0; i < a->n_timeline; i++)
		a->timeline[i] = (i + 1) * 128000;
	r.ev.alloc = a;
	analyze(&r);

	f = find(&r, "excessive-allocation", "churn_batch");
	REQUIRE(f, &r);
	/* 100,000 of 110,503 calls: 90% = critical. */
	CU_ASSERT_EQUAL(f->severity, PK_SEV_CRITICAL);
	CU_ASSERT_DOUBLE_EQUAL(number(f, "avg_size"), 16, 1e-9);
	f = find(&r, "excessive-allocation", "append_bytes");
	REQUIRE(f, &r);
	CU_ASSERT_EQUAL(f->severity, PK_SEV_LOW);   /* 9.0% of the calls */
	CU_ASSERT_DOUBLE_EQUAL(number(f, "avg_growth"), 1, 1e-9);
	CU_ASSERT_PTR_NULL(find(&r, "excessive-allocation", "load_all"));

	f = find(&r, "large-allocation", "load_all");
	REQUIRE(f, &r);
	CU_ASSERT_EQUAL(f->severity, PK_SEV_CRITICAL);   /* 98% of the peak */

	f = find(&r, "leak-suspect", "remember_request");
	REQUIRE(f, &r);
	CU_ASSERT_EQUAL(f->severity, PK_SEV_LOW);        /* 1.9% of the peak */
	CU_ASSERT_DOUBLE_EQUAL(number(f, "live_bytes"), 2048000, 1e-9);
	CU_ASSERT_PTR_NULL(find(&r, "leak-suspect", "small_leak"));   /* < 4096 bytes */
	f = find(&r, "leak-suspect", "whole program");
	CU_ASSERT_PTR_NOT_NULL(f);

	/* Without the huge block the leak is nearly all of the peak. */
	a->sites[2].max_size = 0;
	a->sites[2].bytes = 0;
	a->peak_bytes = 2048256;
	analyze(&r);
	f = find(&r, "leak-suspect", "remember_request");
	REQUIRE(f, &r);
	CU_ASSERT_EQUAL(f->severity, PK_SEV_CRITICAL);
	done(&r);
}

static void test_cache_data(void)
{
	struct stack_spec v[] = { FILLER(1000) };
	struct result r;
	const struct pk_finding *f;

	run_spec(&r, "cache-data", "cpu", v, N(v), 1000);
	r.ev.cache = pk_xcalloc(3, sizeof(*r.ev.cache));
	r.ev.n_cache = 3;
	r.ev.cache[0] = (struct pk_cache_ev){ pk_xstrdup("walk_columns"), 0,
					      pk_xstrdup("simulated (cachegrind, D1=32768,8,64)"),
					      0.5, 0.95, 0.2, 120.0 };
	r.ev.cache[1] = (struct pk_cache_ev){ pk_xstrdup("walk_rows"), 0, pk_xstrdup("hardware"),
					      0.5, 0.049, NAN, NAN };
	/* A sequential walk: one miss per 64-byte line of doubles (12.5%). */
	r.ev.cache[2] = (struct pk_cache_ev){ pk_xstrdup("walk_lines"), 0, pk_xstrdup("hardware"),
					      0.5, 0.125, NAN, NAN };
	analyze(&r);
	CU_ASSERT_PTR_NULL(find(&r, "cache-unfriendly", "walk_lines"));
	r.ev.cache[2].d1_miss_ratio = 0.15;
	analyze(&r);
	f = find(&r, "cache-unfriendly", "walk_lines");
	REQUIRE(f, &r);
	CU_ASSERT_EQUAL(f->severity, PK_SEV_LOW);
	CU_ASSERT_PTR_NOT_NULL(strstr(f->description, "(source: hardware)"));
	f = find(&r, "cache-unfriendly", "walk_columns");
	REQUIRE(f, &r);
	CU_ASSERT_EQUAL(f->severity, PK_SEV_CRITICAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(f->description, "simulated (cachegrind"));
	CU_ASSERT_PTR_NULL(find(&r, "cache-unfriendly", "walk_rows"));   /* 4.9% */
	done(&r);
}

/* Allocation, probe and cache data written through the store API, as
 * perfkitd --alloc, --probe and --cache-sim write them, reach the rules. */
static void test_optional_data_from_store(void)
{
	struct stack_spec v[] = {
		{ "main;remember_request;malloc", 0, 'R' },
		{ "main;scratch;malloc", 0, 'R' },
		{ "main;loop;tiny", 300, 'R' },
		{ "main;loop", 5, 'R' },
		{ "main;walk_columns", 300, 'R' },
		{ "main;other", 395, 'R' },
	};
	struct pk_alloc_stack_row stacks[2];
	struct pk_alloc_live_row live[1];
	struct pk_alloc_point points[20];
	struct pk_alloc_data d;
	struct pk_probe_row probe;
	struct pk_cachesim_info info = { (char *)"cachegrind (valgrind-3.19.0)", (char *)"32768,8,64",
					 (char *)"8388608,16,64", (char *)"32768,8,64", (char *)"host" };
	struct pk_cachesim_row rows[2];
	struct result r;
	const struct pk_finding *f;
	int64_t sid = build("stored", "cpu", v, N(v), 1000);
	int i;

	memset(&d, 0, sizeof(d));
	strcpy(d.summary.mode, "full");
	d.summary.alloc_calls = 1000;
	d.summary.free_calls = 500;
	d.summary.bytes_allocated = 500 * 4096 + 500 * 256;
	d.summary.bytes_freed = 500 * 256;
	d.summary.peak_bytes = 500 * 4096 + 256;
	d.summary.live_bytes = 500 * 4096;
	d.summary.live_count = 500;
	d.summary.target_exited = 1;
	memset(stacks, 0, sizeof(stacks));
	stacks[0] = (struct pk_alloc_stack_row){ node_of(sid, "main;remember_request;malloc"), 500,
						 500 * 4096, 0, 0, 500, 500 * 4096, 500 * 4096 };
	stacks[1] = (struct pk_alloc_stack_row){ node_of(sid, "main;scratch;malloc"), 500, 500 * 256,
						 500, 500 * 256, 0, 0, 256 };
	live[0] = (struct pk_alloc_live_row){ stacks[0].stack_id, 4096, 500 };
	for (i = 0; i < 20; i++)
		points[i] = (struct pk_alloc_point){ (int64_t)i * 10000000, (int64_t)(i + 1) * 25 * 4096,
						     (i + 1) * 25, (i + 1) * 50, (i + 1) * 25, 1 };
	d.stacks = stacks;
	d.n_stacks = 2;
	d.live = live;
	d.n_live = 1;
	d.timeline = points;
	d.n_timeline = 20;
	BUILD(pk_store_alloc_write(store, sid, &d) == PK_STORE_OK);

	memset(&probe, 0, sizeof(probe));
	probe.function = (char *)"tiny";
	probe.module = (char *)"prog";
	probe.calls = 1000000;
	probe.returned = 1000000;
	probe.total_ns = 3000000000;
	probe.self_ns = 3000000000;
	probe.sum_ns = 3000000000;
	BUILD(pk_store_add_probe_row(store, sid, &probe) == PK_STORE_OK);

	memset(rows, 0, sizeof(rows));
	rows[0] = (struct pk_cachesim_row){ (char *)"walk_columns", NULL, 0, 1000000, 400000, 0,
					    380000, 0, 200000, 0, 0, 0 };
	rows[1] = (struct pk_cachesim_row){ (char *)"other", NULL, 0, 1000000, 400000, 0, 4000, 0, 0,
					    0, 0, 0 };
	BUILD(pk_store_set_cachesim(store, sid, &info) == PK_STORE_OK);
	BUILD(pk_store_add_cachesim_rows(store, sid, rows, 2) == PK_STORE_OK);

	load(&r, "stored");
	analyze(&r);
	CU_ASSERT_PTR_NOT_NULL(r.ev.alloc);
	if (r.ev.alloc) {
		CU_ASSERT_EQUAL(r.ev.alloc->n_sites, 2);
		CU_ASSERT_EQUAL(r.ev.alloc->peak_bytes, 500 * 4096 + 256);
		CU_ASSERT_EQUAL(r.ev.alloc->n_timeline, 16);
	}
	/* 2,048,000 bytes never freed at remember_request: 99.99% of the
	 * peak, critical; the malloc frame is skipped to find the site. */
	f = find(&r, "leak-suspect", "remember_request");
	REQUIRE(f, &r);
	CU_ASSERT_EQUAL(f->severity, PK_SEV_CRITICAL);
	CU_ASSERT_DOUBLE_EQUAL(number(f, "live_bytes"), 2048000, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(number(f, "live_count"), 500, 1e-9);
	CU_ASSERT_PTR_NULL(find(&r, "leak-suspect", "scratch"));
	/* The live bytes rose all along. */
	CU_ASSERT_PTR_NOT_NULL(find(&r, "leak-suspect", "whole program"));
	/* The site held the peak because it leaked: the leak explains it, so
	 * no separate large-allocation finding. */
	CU_ASSERT_PTR_NULL(find(&r, "large-allocation", "remember_request"));

	/* Probes (written through the store above): tiny called 1,000,000
	 * times, 3 us each, 30% of the samples under loop, whose own 0.5%
	 * would be too little to call it a loop from samples alone. */
	CU_ASSERT_EQUAL(r.ev.n_probes, 1);
	f = find(&r, "hot-callee", "loop");
	REQUIRE(f, &r);
	CU_ASSERT_EQUAL(f->severity, PK_SEV_MEDIUM);
	CU_ASSERT_DOUBLE_EQUAL(number(f, "calls"), 1000000, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(number(f, "avg_ns"), 3000, 1e-9);

	/* Cache simulation: walk_columns misses D1 on 95% of its accesses. */
	f = find(&r, "cache-unfriendly", "walk_columns");
	REQUIRE(f, &r);
	CU_ASSERT_EQUAL(f->severity, PK_SEV_CRITICAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(f->description, "simulated (cachegrind (valgrind-3.19.0), D1=32768,8,64"));
	CU_ASSERT_PTR_NULL(find(&r, "cache-unfriendly", "other"));
	done(&r);
}

/* ---- the command --------------------------------------------------------- */

struct run_result {
	int rc;
	char *out, *err;
};

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s;
	size_t len;
	long n;

	if (!f)
		return pk_xstrdup("");
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	s = pk_xmalloc((size_t)n + 1);
	len = fread(s, 1, (size_t)n, f);
	s[len] = '\0';
	fclose(f);
	return s;
}

static struct run_result run_cmd(int argc, const char **args)
{
	struct pk_cli cli = { NULL, NULL, NULL };
	struct run_result r;
	char *out_path = pk_xasprintf("%s/out", tmpdir), *err_path = pk_xasprintf("%s/err", tmpdir);
	char **argv = pk_xcalloc((size_t)argc + 1, sizeof(*argv));
	int saved_out, saved_err, fd_out, fd_err, i;

	for (i = 0; i < argc; i++)
		argv[i] = pk_xstrdup(args[i]);
	cli.db_option = db_path;
	fflush(stdout);
	fflush(stderr);
	saved_out = dup(1);
	saved_err = dup(2);
	fd_out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	fd_err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd_out, 1);
	dup2(fd_err, 2);
	r.rc = cmd_analyze(argc, argv, &cli);
	pk_cli_release(&cli);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(saved_out);
	close(saved_err);
	close(fd_out);
	close(fd_err);
	r.out = slurp(out_path);
	r.err = slurp(err_path);
	for (i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
	free(out_path);
	free(err_path);
	return r;
}

#define RUN(...) \
	run_cmd((int)(sizeof((const char *[]){ __VA_ARGS__ }) / sizeof(const char *)), \
		(const char *[]){ __VA_ARGS__ })

static void run_release(struct run_result *r)
{
	free(r->out);
	free(r->err);
}

static void test_command(void)
{
	struct run_result r;

	r = RUN("analyze", "--format", "json", "mixed");
	CU_ASSERT_EQUAL(r.rc, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\"issues\": ["));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\"severity\": \"critical\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\"category\": \"memory\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\"location\": \"copy (prog.c:2)\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\"copy_samples\": 300"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\"recommendation\": "));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\"description\": "));
	run_release(&r);

	r = RUN("analyze", "mixed");
	CU_ASSERT_EQUAL(r.rc, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "Performance Analysis\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "Issues Found (3)\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "1. [CRITICAL] slow-function: solve (prog.c:"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "Recommendation: "));
	run_release(&r);

	r = RUN("analyze", "clean");
	CU_ASSERT_EQUAL(r.rc, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "No issues found\n"));
	run_release(&r);

	r = RUN("analyze", "--explain", "memory-copying");
	CU_ASSERT_EQUAL(r.rc, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "memory-copying (memory)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "low >= 0.05, medium >= 0.1, high >= 0.25, critical >= 0.5"));
	run_release(&r);

	r = RUN("analyze", "--explain", "all");
	CU_ASSERT_EQUAL(r.rc, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "profile-quality (profile)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "never: capped at high"));
	run_release(&r);

	r = RUN("analyze", "--explain", "nope");
	CU_ASSERT_EQUAL(r.rc, PK_EXIT_USAGE);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "no rule 'nope'"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "lock-contention"));
	run_release(&r);

	r = RUN("analyze", "no-such-session");
	CU_ASSERT_EQUAL(r.rc, PK_EXIT_FAILURE);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "no session 'no-such-session'"));
	run_release(&r);

	r = RUN("analyze", "--format", "csv", "mixed");
	CU_ASSERT_EQUAL(r.rc, PK_EXIT_USAGE);
	run_release(&r);

	r = RUN("analyze", "--help");
	CU_ASSERT_EQUAL(r.rc, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "usage: perfkit analyze"));
	run_release(&r);
}

static int suite_init(void)
{
	char err[256];

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-analyze.XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	db_path = pk_xasprintf("%s/t.db", tmpdir);
	if (pk_store_open(db_path, PK_STORE_MODE_WRITE, &store, err, sizeof(err)) != PK_STORE_OK) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static int suite_clean(void)
{
	char *cmd;

	pk_store_close(store);
	cmd = pk_xasprintf("rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	free(cmd);
	free(db_path);
	return 0;
}

int main(void)
{
	CU_pSuite s;
	unsigned failures;

	pk_set_program_name("perfkit");
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("analyze", suite_init, suite_clean);
	if (!s)
		return 1;
	CU_add_test(s, "severity levels", test_severity_levels);
	CU_add_test(s, "glibc name matching", test_name_matching);
	CU_add_test(s, "slow-function thresholds", test_slow_function);
	CU_add_test(s, "memory-copying thresholds", test_memory_copying);
	CU_add_test(s, "string-scanning under one caller", test_string_scanning);
	CU_add_test(s, "allocation from CPU samples", test_allocation_from_samples);
	CU_add_test(s, "lock contention (wall and cpu)", test_lock_contention);
	CU_add_test(s, "syscall-heavy", test_syscall_heavy);
	CU_add_test(s, "deep-stack", test_deep_stack);
	CU_add_test(s, "hot-callee", test_hot_callee);
	CU_add_test(s, "profile-quality", test_profile_quality);
	CU_add_test(s, "order, hiding, clean profile", test_order_and_clean);
	CU_add_test(s, "allocation data rules", test_allocation_data);
	CU_add_test(s, "cache data rule", test_cache_data);
	CU_add_test(s, "allocation, probe and cache data from the store", test_optional_data_from_store);
	CU_add_test(s, "command output", test_command);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	return failures != 0;
}
