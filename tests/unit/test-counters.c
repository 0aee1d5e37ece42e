/*
 * test-counters.c - unit tests of the counters area: what an errno from
 * perf_event_open means and how it is said, the events as opened on this
 * very machine (hardware ones really unavailable when there is no PMU,
 * software ones counting), --sample-on parsing, cachegrind's output
 * parser, the cache geometry read from sysfs, and the store's v5 tables.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "counter-status.h"
#include "daemon/cachesim.h"
#include "daemon/counters.h"
#include "store/store.h"
#include "util.h"

static char tmpdir[] = "/tmp/perfkit-test-counters-XXXXXX";

static void test_classify(void)
{
	static const struct {
		int err;
		enum pk_counter_kind kind;
		const char *status;
	} cases[] = {
		{ 0, PK_COUNTER_HARDWARE, "counted" },
		{ ENOENT, PK_COUNTER_HARDWARE, "unsupported" },
		{ EOPNOTSUPP, PK_COUNTER_HARDWARE, "unsupported" },
		{ ENODEV, PK_COUNTER_SOFTWARE, "unsupported" },
		{ EINVAL, PK_COUNTER_CACHE, "unsupported" },
		{ EINVAL, PK_COUNTER_HARDWARE, "failed" },
		{ EACCES, PK_COUNTER_HARDWARE, "denied" },
		{ EPERM, PK_COUNTER_SOFTWARE, "denied" },
		{ ESRCH, PK_COUNTER_SOFTWARE, "gone" },
		{ EMFILE, PK_COUNTER_HARDWARE, "failed" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CU_ASSERT_STRING_EQUAL(pk_counter_classify(cases[i].err, cases[i].kind), cases[i].status);
}

static void test_explain(void)
{
	char buf[200];

	CU_ASSERT_STRING_EQUAL(pk_counter_explain("unsupported", ENOENT, PK_COUNTER_HARDWARE, 0, buf, sizeof(buf)),
			       "unavailable: no hardware PMU (ENOENT)");
	CU_ASSERT_STRING_EQUAL(pk_counter_explain("unsupported", ENOENT, PK_COUNTER_CACHE, 1, buf, sizeof(buf)),
			       "unavailable: not supported by this CPU (ENOENT)");
	CU_ASSERT_STRING_EQUAL(pk_counter_explain("denied", EACCES, PK_COUNTER_HARDWARE, 1, buf, sizeof(buf)),
			       "denied (EACCES): run as root or lower perf_event_paranoid");
	CU_ASSERT_STRING_EQUAL(pk_counter_explain("denied", EPERM, PK_COUNTER_SOFTWARE, 0, buf, sizeof(buf)),
			       "denied (EPERM): run as root or lower perf_event_paranoid");
	CU_ASSERT_PTR_NOT_NULL(strstr(pk_counter_explain("gone", ESRCH, PK_COUNTER_SOFTWARE, 0, buf, sizeof(buf)),
				      "ESRCH"));
	CU_ASSERT_STRING_EQUAL(pk_counter_explain("counted", 0, PK_COUNTER_HARDWARE, 1, buf, sizeof(buf)), "counted");
	CU_ASSERT_EQUAL(pk_counter_kind_of("cycles"), PK_COUNTER_HARDWARE);
	CU_ASSERT_EQUAL(pk_counter_kind_of("cache-misses"), PK_COUNTER_HARDWARE);
	CU_ASSERT_EQUAL(pk_counter_kind_of("L1-dcache-load-misses"), PK_COUNTER_CACHE);
	CU_ASSERT_EQUAL(pk_counter_kind_of("dTLB-load-misses"), PK_COUNTER_CACHE);
	CU_ASSERT_EQUAL(pk_counter_kind_of("page-faults"), PK_COUNTER_SOFTWARE);
}

/* The events as this machine answers them. */
static void test_open_here(void)
{
	const struct pk_counter_event *cyc = pk_counter_event_find("cycles");
	const struct pk_counter_event *l1 = pk_counter_event_find("L1-dcache-load-misses");
	const struct pk_counter_event *pf = pk_counter_event_find("page-faults");
	uint64_t buf[8];
	long page = sysconf(_SC_PAGESIZE), i;
	int fd, user_only;
	char *p;

	CU_ASSERT_PTR_NOT_NULL_FATAL(cyc);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pf);
	fd = pk_counter_open(cyc, 0, -1, NULL, &user_only);
	if (!pk_counter_pmu_present()) {
		/* No PMU: hardware and cache events really fail with ENOENT. */
		CU_ASSERT_EQUAL(fd, -ENOENT);
		CU_ASSERT_STRING_EQUAL(pk_counter_classify(-fd, cyc->kind), "unsupported");
		fd = pk_counter_open(l1, 0, -1, NULL, &user_only);
		CU_ASSERT_EQUAL(fd, -ENOENT);
	} else if (fd >= 0) {
		close(fd);
	}
	/* A software event counts this process's own page faults. */
	fd = pk_counter_open(pf, 0, -1, NULL, &user_only);
	CU_ASSERT_FATAL(fd >= 0);
	p = mmap(NULL, (size_t)(64 * page), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CU_ASSERT_FATAL(p != MAP_FAILED);
	madvise(p, (size_t)(64 * page), MADV_NOHUGEPAGE);
	for (i = 0; i < 64; i++)
		p[i * page] = 1;
	munmap(p, (size_t)(64 * page));
	CU_ASSERT_FATAL(read(fd, buf, sizeof(buf)) >= (ssize_t)(4 * sizeof(uint64_t)));
	CU_ASSERT_EQUAL(buf[0], 1);           /* one event in the group */
	CU_ASSERT(buf[3] >= 64 && buf[3] < 64 + 50);
	CU_ASSERT(buf[1] > 0 && buf[2] == buf[1]);  /* enabled = running: not multiplexed */
	close(fd);
}

static void test_sample_on_parse(void)
{
	const struct pk_counter_event *ev;
	uint64_t period;
	char err[512];

	CU_ASSERT_EQUAL(pk_sample_on_parse("cache-misses", &ev, &period, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(ev->name, "cache-misses");
	CU_ASSERT_EQUAL(period, ev->default_period);
	CU_ASSERT_EQUAL(pk_sample_on_parse("page-faults:16", &ev, &period, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(period, 16);
	CU_ASSERT_EQUAL(pk_sample_on_parse("cpu-clock", &ev, &period, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(pk_sample_on_parse("cache-mises", &ev, &period, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "unknown --sample-on event 'cache-mises'"));
	CU_ASSERT_EQUAL(pk_sample_on_parse("cycles:0", &ev, &period, err, sizeof(err)), -1);
	CU_ASSERT_EQUAL(pk_sample_on_parse("cycles:-5", &ev, &period, err, sizeof(err)), -1);
	CU_ASSERT_EQUAL(pk_sample_on_parse("cycles:1k", &ev, &period, err, sizeof(err)), -1);
	CU_ASSERT_EQUAL(pk_sample_on_parse(":5", &ev, &period, err, sizeof(err)), -1);
}

static const char cg_text[] =
	"desc: I1 cache:         32768 B, 64 B, 8-way associative\n"
	"desc: D1 cache:         32768 B, 64 B, 8-way associative\n"
	"cmd: ./m\n"
	"events: Ir I1mr ILmr Dr D1mr DLmr Dw D1mw DLmw\n"
	"fl=/src/m.c\n"
	"fn=walk\n"
	"10 100 1 1 50 40 2 10 5 1\n"
	"11 20 0 0 10 10\n"                 /* trailing counts omitted: 0 */
	"fi=/usr/include/inline.h\n"
	"3 7 0 0 1 1 1 0 0 0\n"
	"fe=/src/m.c\n"
	"10 1 0 0 1 1 0 0 0 0\n"            /* the same line again: summed */
	"fn=main\n"
	"20 5 0 0 2 0 0 1 0 0\n"
	"fl=/src/other.c\n"
	"fn=walk\n"                        /* another file's walk: its own row */
	"1 2 0 0 0 0 0 0 0 0\n"
	"fl=/src/m.c\n"
	"fn=walk\n"                        /* walk again: merged into the first */
	"12 3 0 0 3 3 0 0 0 0\n"
	"summary: 138 1 1 67 55 3 11 5 1\n";

static void test_cachegrind_parse(void)
{
	struct pk_cachesim_row *rows;
	size_t n, i, funcs = 0;
	const struct pk_cachesim_row *walk = NULL, *main_fn = NULL, *l10 = NULL, *inl = NULL, *other = NULL;
	char err[256];
	FILE *f = fmemopen((void *)cg_text, sizeof(cg_text) - 1, "r");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL_FATAL(pk_cachegrind_parse(f, &rows, &n, err, sizeof(err)), 0);
	fclose(f);
	for (i = 0; i < n; i++) {
		const struct pk_cachesim_row *r = &rows[i];

		if (!r->line) {
			funcs++;
			if (!strcmp(r->function, "walk") && !strcmp(r->file, "/src/m.c"))
				walk = r;
			else if (!strcmp(r->function, "walk"))
				other = r;
			else if (!strcmp(r->function, "main"))
				main_fn = r;
		} else if (!strcmp(r->function, "walk") && r->line == 10 && !strcmp(r->file, "/src/m.c")) {
			CU_ASSERT_PTR_NULL(l10);
			l10 = r;
		} else if (r->line == 3) {
			inl = r;
		}
	}
	CU_ASSERT_EQUAL(funcs, 3);
	if (!walk || !main_fn || !other || !l10 || !inl) {
		CU_FAIL("a function or line row is missing");
		pk_cachesim_row_array_free(rows, n);
		return;
	}
	CU_ASSERT_EQUAL(walk->ir, 100 + 20 + 7 + 1 + 3);
	CU_ASSERT_EQUAL(walk->dr, 50 + 10 + 1 + 1 + 3);
	CU_ASSERT_EQUAL(walk->d1mr, 40 + 10 + 1 + 1 + 3);
	CU_ASSERT_EQUAL(walk->dlmr, 2 + 0 + 1);
	CU_ASSERT_EQUAL(walk->dw, 10);
	CU_ASSERT_EQUAL(walk->d1mw, 5);
	CU_ASSERT_EQUAL(walk->dlmw, 1);
	CU_ASSERT_EQUAL(l10->ir, 101);
	CU_ASSERT_EQUAL(l10->d1mr, 41);
	CU_ASSERT_STRING_EQUAL(inl->file, "/usr/include/inline.h");
	CU_ASSERT_STRING_EQUAL(inl->function, "walk");
	CU_ASSERT_EQUAL(main_fn->ir, 5);
	CU_ASSERT_EQUAL(main_fn->dw, 1);
	CU_ASSERT_EQUAL(other->ir, 2);
	pk_cachesim_row_array_free(rows, n);

	f = fmemopen((void *)"hello\n", 6, "r");
	CU_ASSERT_EQUAL(pk_cachegrind_parse(f, &rows, &n, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a cachegrind output"));
	fclose(f);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	fclose(f);
}

static void fake_cache(const char *root, int index, const char *level, const char *type, const char *size,
		       const char *ways)
{
	char dir[512];

	snprintf(dir, sizeof(dir), "%s/index%d", root, index);
	mkdir(dir, 0755);
	write_file(dir, "level", level);
	write_file(dir, "type", type);
	write_file(dir, "size", size);
	write_file(dir, "ways_of_associativity", ways);
	write_file(dir, "coherency_line_size", "64\n");
}

static void test_geometry(void)
{
	struct pk_cachesim_geometry g;
	char root[512], buf[64];

	snprintf(root, sizeof(root), "%s/cache", tmpdir);
	mkdir(root, 0755);
	fake_cache(root, 0, "1\n", "Data\n", "48K\n", "12\n");
	fake_cache(root, 1, "1\n", "Instruction\n", "32K\n", "8\n");
	fake_cache(root, 2, "2\n", "Unified\n", "1280K\n", "10\n");
	fake_cache(root, 3, "3\n", "Unified\n", "30720K\n", "12\n");  /* 40960 sets */
	pk_cachesim_host_geometry(root, &g);
	pk_cache_geometry_format(&g.d1, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "49152,12,64");
	pk_cache_geometry_format(&g.i1, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "32768,8,64");
	pk_cache_geometry_format(&g.ll, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "25165824,12,64");   /* L3 with 32768 sets */
	CU_ASSERT_PTR_NOT_NULL(strstr(g.from, "the host's caches"));
	CU_ASSERT_PTR_NOT_NULL(strstr(g.from, "rounded down"));

	snprintf(root, sizeof(root), "%s/none", tmpdir);
	pk_cachesim_host_geometry(root, &g);
	pk_cache_geometry_format(&g.d1, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "32768,8,64");
	pk_cache_geometry_format(&g.ll, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "8388608,16,64");
	CU_ASSERT_PTR_NOT_NULL(strstr(g.from, "perfkit's defaults"));
}

static void test_store(void)
{
	struct pk_store *st;
	struct pk_session s;
	struct pk_counter_row in[3], *out;
	struct pk_cachesim_row rows[3], *rout;
	struct pk_cachesim_info info = { (char *)"cachegrind (valgrind-3.19.0)", (char *)"32768,8,64",
					 (char *)"8388608,16,64", (char *)"32768,8,64", (char *)"defaults" }, got;
	size_t n;
	char path[512], err[256];

	snprintf(path, sizeof(path), "%s/t.db", tmpdir);
	CU_ASSERT_EQUAL_FATAL(pk_store_open(path, PK_STORE_MODE_WRITE, &st, err, sizeof(err)), PK_STORE_OK);
	memset(&s, 0, sizeof(s));
	s.command = pk_xstrdup("prog");
	s.name = pk_xstrdup("c1");
	CU_ASSERT_EQUAL_FATAL(pk_store_session_begin(st, &s), PK_STORE_OK);

	memset(in, 0, sizeof(in));
	in[0] = (struct pk_counter_row){ 0, (char *)"cycles", (char *)"unsupported", ENOENT, NULL, 0, 0, 0, 0 };
	in[1] = (struct pk_counter_row){ 0, (char *)"page-faults", (char *)"counted", 0, (char *)"user+kernel",
					 4000, 2000, 1000, 8000 };
	in[2] = (struct pk_counter_row){ 42, (char *)"page-faults", (char *)"counted", 0, (char *)"user", 10, 5, 5, 10 };
	CU_ASSERT_EQUAL_FATAL(pk_store_add_counters(st, s.id, in, 3), PK_STORE_OK);
	CU_ASSERT_EQUAL_FATAL(pk_store_counters(st, s.id, &out, &n), PK_STORE_OK);
	CU_ASSERT_EQUAL_FATAL(n, 3);
	CU_ASSERT_STRING_EQUAL(out[0].name, "cycles");
	CU_ASSERT_STRING_EQUAL(out[0].status, "unsupported");
	CU_ASSERT_EQUAL(out[0].err, ENOENT);
	CU_ASSERT_PTR_NULL(out[0].scope);
	CU_ASSERT_EQUAL(out[0].raw, 0);
	CU_ASSERT_STRING_EQUAL(out[1].name, "page-faults");
	CU_ASSERT_EQUAL(out[1].raw, 4000);
	CU_ASSERT_EQUAL(out[1].enabled_ns, 2000);
	CU_ASSERT_EQUAL(out[1].running_ns, 1000);
	CU_ASSERT_DOUBLE_EQUAL(out[1].value, 8000, 1e-9);
	CU_ASSERT_EQUAL(out[2].tid, 42);
	CU_ASSERT_STRING_EQUAL(out[2].scope, "user");
	pk_counter_array_free(out, n);

	memset(rows, 0, sizeof(rows));
	rows[0] = (struct pk_cachesim_row){ (char *)"rows", (char *)"m.c", 0, 100, 50, 0, 6, 0, 1, 0, 0, 0 };
	rows[1] = (struct pk_cachesim_row){ (char *)"cols", (char *)"m.c", 0, 100, 50, 0, 50, 0, 2, 0, 0, 0 };
	rows[2] = (struct pk_cachesim_row){ (char *)"cols", (char *)"m.c", 12, 90, 50, 0, 49, 0, 2, 0, 0, 0 };
	CU_ASSERT_EQUAL(pk_store_get_cachesim(st, s.id, &got), PK_STORE_NOTFOUND);
	CU_ASSERT_EQUAL_FATAL(pk_store_set_cachesim(st, s.id, &info), PK_STORE_OK);
	CU_ASSERT_EQUAL_FATAL(pk_store_add_cachesim_rows(st, s.id, rows, 3), PK_STORE_OK);
	CU_ASSERT_EQUAL_FATAL(pk_store_get_cachesim(st, s.id, &got), PK_STORE_OK);
	CU_ASSERT_STRING_EQUAL(got.ll, "8388608,16,64");
	pk_cachesim_info_release(&got);
	CU_ASSERT_EQUAL_FATAL(pk_store_cachesim_rows(st, s.id, 0, &rout, &n), PK_STORE_OK);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_STRING_EQUAL(rout[0].function, "cols");  /* most D1 misses first */
	CU_ASSERT_STRING_EQUAL(rout[1].function, "rows");
	pk_cachesim_row_array_free(rout, n);
	CU_ASSERT_EQUAL_FATAL(pk_store_cachesim_rows(st, s.id, 1, &rout, &n), PK_STORE_OK);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_EQUAL(rout[0].line, 12);
	CU_ASSERT_EQUAL(rout[0].d1mr, 49);
	pk_cachesim_row_array_free(rout, n);

	/* Removing the session removes its counters and simulation. */
	CU_ASSERT_EQUAL_FATAL(pk_store_session_remove(st, s.id), PK_STORE_OK);
	CU_ASSERT_EQUAL(pk_store_counters(st, s.id, &out, &n), PK_STORE_OK);
	CU_ASSERT_EQUAL(n, 0);
	pk_counter_array_free(out, n);
	CU_ASSERT_EQUAL(pk_store_cachesim_rows(st, s.id, 0, &rout, &n), PK_STORE_OK);
	CU_ASSERT_EQUAL(n, 0);
	pk_cachesim_row_array_free(rout, n);
	CU_ASSERT_EQUAL(pk_store_get_cachesim(st, s.id, &got), PK_STORE_NOTFOUND);
	pk_session_release(&s);
	pk_store_close(st);
}

int main(void)
{
	CU_pSuite suite;
	unsigned failures;
	char cmd[600];

	if (!mkdtemp(tmpdir))
		return 1;
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	suite = CU_add_suite("counters", NULL, NULL);
	CU_add_test(suite, "errno classification", test_classify);
	CU_add_test(suite, "status messages and event kinds", test_explain);
	CU_add_test(suite, "events opened on this machine", test_open_here);
	CU_add_test(suite, "--sample-on parsing", test_sample_on_parse);
	CU_add_test(suite, "cachegrind output parser", test_cachegrind_parse);
	CU_add_test(suite, "cache geometry from sysfs", test_geometry);
	CU_add_test(suite, "store: counters and simulation", test_store);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures();
	CU_cleanup_registry();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	return failures != 0;
}
