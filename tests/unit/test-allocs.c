/*
 * test-allocs.c - the allocation tables of the store (schema v3) and the
 * model of "perfkit allocs": a round trip of every table, the call site
 * as the first frame outside the allocators, leaks grouped by call path
 * and size across stack ids, sorting, the chart, and removal with the
 * session.
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "src/allocs.h"
#include "store/store.h"

static char dir[64], path[128];

/* Stacks: main <- work <- malloc (two call sites in work: lines 10 and
 * 20, different frames, same names), main <- other <- operator new. */
struct ids {
	int64_t work_a, work_b, other;
};

static int64_t chain(struct pk_store *st, int64_t sid, int64_t mod, const char *const *names,
		     const uint64_t *offs, int n)
{
	int64_t node = 0;

	/* root first: names[n-1] is the outermost */
	for (int i = n - 1; i >= 0; i--) {
		int64_t fn = pk_store_function(st, sid, names[i], mod);
		int64_t fr = pk_store_frame(st, sid, fn, mod, offs[i], NULL, 0);

		node = pk_store_stack_node(st, sid, node, fr);
	}
	return node;
}

static int64_t make_session(struct pk_store **out, struct ids *ids)
{
	static const char *const a[] = { "malloc", "work", "main" };
	static const char *const o[] = { "operator new(unsigned long)", "other", "main" };
	static const uint64_t offa[] = { 0x100, 0x1010, 0x2000 };
	static const uint64_t offb[] = { 0x100, 0x1020, 0x2000 };
	static const uint64_t offo[] = { 0x300, 0x3010, 0x2004 };
	struct pk_session s = { 0 };
	struct pk_store *st = NULL;
	int64_t mod;

	CU_ASSERT_FATAL(pk_store_open(path, PK_STORE_MODE_WRITE, &st, NULL, 0) == PK_STORE_OK);
	s.command = strdup("prog");
	s.mode = strdup("cpu");
	CU_ASSERT_FATAL(pk_store_session_begin(st, &s) == PK_STORE_OK);
	mod = pk_store_module(st, s.id, "/bin/prog", NULL);
	ids->work_a = chain(st, s.id, mod, a, offa, 3);
	ids->work_b = chain(st, s.id, mod, a, offb, 3);
	ids->other = chain(st, s.id, mod, o, offo, 3);
	CU_ASSERT(ids->work_a > 0 && ids->work_b > 0 && ids->other > 0 && ids->work_a != ids->work_b);
	CU_ASSERT(pk_store_flush(st) == PK_STORE_OK);
	*out = st;
	{
		int64_t id = s.id;

		pk_session_release(&s);
		return id;
	}
}

static void fill(struct pk_alloc_data *d, const struct ids *ids)
{
	static struct pk_alloc_stack_row rows[3];
	static struct pk_alloc_live_row live[3];
	static struct pk_alloc_point pts[3];
	static struct pk_alloc_window win[1];

	memset(d, 0, sizeof(*d));
	snprintf(d->summary.mode, sizeof(d->summary.mode), "full");
	d->summary.alloc_calls = 1100;
	d->summary.free_calls = 1090;
	d->summary.bytes_allocated = 104000;
	d->summary.bytes_freed = 100000;
	d->summary.peak_bytes = 50000;
	d->summary.peak_ns = 1500000000;
	d->summary.live_bytes = 4000;
	d->summary.live_count = 10;
	d->summary.unknown_frees = 3;
	d->summary.target_exited = 1;
	rows[0] = (struct pk_alloc_stack_row){ ids->work_a, 1000, 100000, 995, 99500, 5, 500, 40000 };
	rows[1] = (struct pk_alloc_stack_row){ ids->work_b, 50, 1000, 48, 960, 2, 40, 100 };
	rows[2] = (struct pk_alloc_stack_row){ ids->other, 50, 3000, 47, 2820, 3, 180, 3000 };
	live[0] = (struct pk_alloc_live_row){ ids->work_a, 100, 5 };
	live[1] = (struct pk_alloc_live_row){ ids->work_b, 100, 2 };  /* same names and size */
	live[2] = (struct pk_alloc_live_row){ ids->other, 60, 3 };
	pts[0] = (struct pk_alloc_point){ 10000000, 1000, 10, 20, 10, 1 };
	pts[1] = (struct pk_alloc_point){ 1500000000, 50000, 500, 800, 300, 1 };
	pts[2] = (struct pk_alloc_point){ 2000000000, 4000, 10, 1100, 1090, 1 };
	win[0] = (struct pk_alloc_window){ 0, 2000000000 };
	d->stacks = rows;
	d->n_stacks = 3;
	d->live = live;
	d->n_live = 3;
	d->timeline = pts;
	d->n_timeline = 3;
	d->windows = win;
	d->n_windows = 1;
}

static void test_round_trip(void)
{
	struct pk_store *st;
	struct ids ids;
	struct pk_alloc_data d, r;
	int64_t sid = make_session(&st, &ids);

	CU_ASSERT_EQUAL(pk_store_alloc_read(st, sid, &r), PK_STORE_NOTFOUND);
	fill(&d, &ids);
	CU_ASSERT_EQUAL_FATAL(pk_store_alloc_write(st, sid, &d), PK_STORE_OK);
	/* writing again replaces */
	CU_ASSERT_EQUAL_FATAL(pk_store_alloc_write(st, sid, &d), PK_STORE_OK);
	CU_ASSERT_EQUAL_FATAL(pk_store_alloc_read(st, sid, &r), PK_STORE_OK);
	CU_ASSERT_STRING_EQUAL(r.summary.mode, "full");
	CU_ASSERT_EQUAL(r.summary.alloc_calls, 1100);
	CU_ASSERT_EQUAL(r.summary.unknown_frees, 3);
	CU_ASSERT_EQUAL(r.summary.peak_ns, 1500000000);
	CU_ASSERT_EQUAL(r.summary.target_exited, 1);
	CU_ASSERT_EQUAL_FATAL(r.n_stacks, 3);
	CU_ASSERT_EQUAL(r.n_live, 3);
	CU_ASSERT_EQUAL(r.n_timeline, 3);
	CU_ASSERT_EQUAL(r.n_windows, 1);
	CU_ASSERT_EQUAL(r.timeline[1].live_bytes, 50000);
	CU_ASSERT_EQUAL(r.windows[0].end_ns, 2000000000);
	for (size_t i = 0; i < r.n_stacks; i++)
		if (r.stacks[i].stack_id == ids.other)
			CU_ASSERT_EQUAL(r.stacks[i].peak_bytes, 3000);
	pk_alloc_data_release(&r);
	pk_alloc_data_release(NULL);

	/* removed with its session (trigger) */
	CU_ASSERT_EQUAL(pk_store_session_remove(st, sid), PK_STORE_OK);
	CU_ASSERT_NOT_EQUAL(pk_store_alloc_read(st, sid, &r), PK_STORE_OK);
	pk_store_close(st);
	unlink(path);
}

static void test_model(void)
{
	struct pk_store *st;
	struct ids ids;
	struct pk_alloc_data d;
	struct pk_allocs a;
	int64_t sid = make_session(&st, &ids);
	FILE *f;
	char *buf = NULL;
	size_t len = 0;

	fill(&d, &ids);
	CU_ASSERT_EQUAL_FATAL(pk_store_alloc_write(st, sid, &d), PK_STORE_OK);

	CU_ASSERT_EQUAL_FATAL(pk_allocs_load(st, sid, PK_ALLOCS_SORT_BYTES, &a), PK_STORE_OK);
	/* both stacks of work() are one call site; operator new's caller is other() */
	CU_ASSERT_EQUAL_FATAL(a.n_sites, 2);
	CU_ASSERT_STRING_EQUAL(a.sites[0].function, "work");
	CU_ASSERT_EQUAL(a.sites[0].count, 1050);
	CU_ASSERT_EQUAL(a.sites[0].bytes, 101000);
	CU_ASSERT_EQUAL(a.sites[0].live_bytes, 540);
	CU_ASSERT_STRING_EQUAL(a.sites[1].function, "other");
	/* leaks: work's two stack ids share names and size: one entry of 7 */
	CU_ASSERT_EQUAL_FATAL(a.n_leaks, 2);
	CU_ASSERT_EQUAL(a.leaks[0].size, 100);
	CU_ASSERT_EQUAL(a.leaks[0].count, 7);
	CU_ASSERT_STRING_EQUAL(a.leaks[0].allocator, "malloc");
	CU_ASSERT_EQUAL_FATAL(a.leaks[0].depth, 2);
	CU_ASSERT_STRING_EQUAL(a.leaks[0].stack[0], "work");
	CU_ASSERT_STRING_EQUAL(a.leaks[0].stack[1], "main");
	CU_ASSERT_EQUAL(a.leaks[1].size, 60);
	CU_ASSERT_STRING_EQUAL(a.leaks[1].allocator, "operator new(unsigned long)");
	CU_ASSERT_STRING_EQUAL(a.leaks[1].stack[0], "other");

	/* the chart: one peak marker with its exact value */
	f = open_memstream(&buf, &len);
	CU_ASSERT_EQUAL(pk_allocs_svg(&a, "t <&>", f), 0);
	fclose(f);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "(50000 bytes) at 1.500 s"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "t &lt;&amp;&gt;"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "bytes in use"));
	CU_ASSERT_PTR_NULL(strstr(buf, "t <&>"));
	free(buf);
	pk_allocs_release(&a);

	CU_ASSERT_EQUAL_FATAL(pk_allocs_load(st, sid, PK_ALLOCS_SORT_LIVE, &a), PK_STORE_OK);
	CU_ASSERT_STRING_EQUAL(a.sites[0].function, "work");
	pk_allocs_release(&a);
	CU_ASSERT_EQUAL_FATAL(pk_allocs_load(st, sid, PK_ALLOCS_SORT_COUNT, &a), PK_STORE_OK);
	CU_ASSERT_EQUAL(a.sites[1].count, 50);
	pk_allocs_release(&a);
	pk_allocs_release(NULL);

	CU_ASSERT(pk_allocs_is_allocator("__libc_malloc"));
	CU_ASSERT(pk_allocs_is_allocator("__posix_memalign"));
	CU_ASSERT(pk_allocs_is_allocator("operator delete(void*, unsigned long)"));
	CU_ASSERT(!pk_allocs_is_allocator("mallocx"));
	CU_ASSERT(!pk_allocs_is_allocator(NULL));
	pk_store_close(st);
	unlink(path);
}

int main(void)
{
	CU_pSuite s;
	unsigned failures;

	snprintf(dir, sizeof(dir), "/tmp/pk-test-allocs.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/t.db", dir);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("allocs", NULL, NULL);
	CU_add_test(s, "store round trip and removal", test_round_trip);
	CU_add_test(s, "call sites, leak groups, chart", test_model);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures();
	CU_cleanup_registry();
	{
		char cmd[160];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			failures++;
	}
	return failures != 0;
}
