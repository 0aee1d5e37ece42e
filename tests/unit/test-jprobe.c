/*
 * test-jprobe.c - the jump-probe engine (daemon/jprobe.h) against
 * tests/targets/alloc-suite and jprobe-shapes, driven by
 * tests/unit/jprobe-driver.c: exact allocation counts per call site, four
 * threads without a lost event, a signal handler that allocates, fork
 * while patched, detach mid-run with every byte restored, the driver
 * killed by SIGKILL while patched, and the per-function refusals that send
 * a function to the int3 backend.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/jprobe.h"
#include "daemon/probe-insn.h"
#include "tests/unit/jprobe-driver.h"

#define MAX_EV 400000

struct ev {
	int probe, nested;
	pid_t tid;
	uint64_t a0, a1, ret, out0, ret_addr, sp, first_word, time_ns, duration_ns;
	size_t stack_len;
};

static struct ev *evs;
static size_t nev;
static char builddir[256];
static int ids[JD_NFN];

static void on_event(void *ctx, const struct pk_jprobe_event *e)
{
	struct ev *v;

	(void)ctx;
	if (nev >= MAX_EV)
		return;
	v = &evs[nev++];
	v->probe = e->probe;
	v->nested = e->nested;
	v->tid = e->tid;
	v->a0 = e->args[0];
	v->a1 = e->args[1];
	v->ret = e->retval;
	v->out0 = e->out0;
	v->ret_addr = e->ret_addr;
	v->sp = e->sp;
	v->stack_len = e->stack_len;
	v->time_ns = e->time_ns;
	v->duration_ns = e->duration_ns;
	v->first_word = 0;
	if (e->stack_len >= 8)
		memcpy(&v->first_word, e->stack, 8);
}

static void target(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/tests/targets/%s", builddir, name);
}

/* Outermost calls of fn with first argument a0 (any when a0 == ~0), made
 * from [lo, hi) (any when lo == 0) by thread tid (any when 0). */
static long count(int fn, uint64_t a0, uint64_t lo, uint64_t hi, pid_t tid)
{
	long c = 0;

	for (size_t i = 0; i < nev; i++) {
		const struct ev *v = &evs[i];

		if (v->probe != ids[fn] || v->nested)
			continue;
		if (a0 != ~(uint64_t)0 && v->a0 != a0)
			continue;
		if (lo && (v->ret_addr < lo || v->ret_addr >= hi))
			continue;
		if (tid && v->tid != tid)
			continue;
		c++;
	}
	return c;
}

/* Mappings of the ring (memfd "perfkit-ring") in process pid; -1 when
 * the maps cannot be read. */
static int ring_mappings(pid_t pid)
{
	char mp[64], line[512];
	int n = 0;
	FILE *f;

	snprintf(mp, sizeof(mp), "/proc/%d/maps", (int)pid);
	f = fopen(mp, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, "perfkit-ring") != NULL;
	fclose(f);
	return n;
}

static int count_nested; /* setup's engines count nested calls in the target */

/* Start NAME ARGS, seize, register and arm; the engine (caller frees). */
static struct pk_jprobes *setup(struct jd_target *t, const char *name, const char *a1,
				const char *a2, unsigned slots, struct jd_run_opts *o)
{
	struct pk_jprobe_config cfg = { slots, 256, .count_nested = count_nested };
	struct pk_jprobes *j;
	char path[512];
	int r;

	nev = 0;
	target(path, sizeof(path), name);
	if (jd_start(t, path, a1, a2) < 0 || jd_seize(t) < 0)
		return NULL;
	j = pk_jprobes_new(t->pid, &cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT(jd_add_allocators(t, j, ids) >= 8);
	for (int f = 0; o && f < JD_NFN; f++)
		if (ids[f] >= 0)
			jd_peek(t->pid, pk_jprobe_address(j, ids[f]), o->before[f], 32);
	r = pk_jprobes_arm(j, t->tids, t->ntids);
	/* glibc 2.36: malloc, free, calloc, realloc, posix_memalign,
	 * memalign (= aligned_alloc), valloc, pvalloc, reallocarray */
	CU_ASSERT(r >= 8);
	CU_ASSERT_EQUAL(ring_mappings(t->pid), 1);
	for (int f = 0; f < JD_NFN; f++)
		if (ids[f] >= 0 && pk_jprobe_refusal(j, ids[f]))
			fprintf(stderr, "%s refused: %s\n", jd_fn_names[f],
				pk_jprobe_refusal(j, ids[f]));
	CU_ASSERT_PTR_NULL(pk_jprobe_refusal(j, ids[JD_MALLOC]));
	CU_ASSERT_PTR_NULL(pk_jprobe_refusal(j, ids[JD_FREE]));
	return j;
}

static uint64_t go_ns, end_ns;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int run_to_end(struct jd_target *t, struct pk_jprobes *j)
{
	int r;

	ptrace(PTRACE_CONT, t->pid, 0, 0);
	go_ns = mono_ns();
	jd_go(t);
	r = jd_run(t, j, on_event, NULL, NULL);
	end_ns = mono_ns();
	jd_read_output(t, 1);
	close(t->in_fd);
	close(t->out_fd);
	return r;
}

static int exited_ok(const struct jd_target *t)
{
	return WIFEXITED(t->status) && WEXITSTATUS(t->status) == 0;
}

static uint64_t drops(struct pk_jprobes *j)
{
	struct pk_jprobe_stats s;

	pk_jprobes_stats(j, &s);
	return s.drops;
}

static void test_basic(void)
{
	struct jd_target t;
	struct pk_jprobes *j = setup(&t, "alloc-suite", "basic", NULL, 65536, NULL);
	uint64_t hlo, hhi, clo, chi, rlo, rhi, alo, ahi, pm = 0;
	long outer_tid_ok = 0, outer = 0, stack_ok = 0;
	struct pk_jprobe_stats s;
	const char *p;

	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_EQUAL(run_to_end(&t, j), 0);
	CU_ASSERT(exited_ok(&t));
	CU_ASSERT_PTR_NOT_NULL(strstr(t.out, "done\n"));
	CU_ASSERT_EQUAL_FATAL(jd_func_range(&t, "hot", &hlo, &hhi), 0);
	CU_ASSERT_EQUAL_FATAL(jd_func_range(&t, "cold", &clo, &chi), 0);
	CU_ASSERT_EQUAL_FATAL(jd_func_range(&t, "release", &rlo, &rhi), 0);
	CU_ASSERT_EQUAL_FATAL(jd_func_range(&t, "aligned", &alo, &ahi), 0);
	CU_ASSERT_EQUAL(count(JD_MALLOC, 100, hlo, hhi, 0), 10000);
	CU_ASSERT_EQUAL(count(JD_MALLOC, ~(uint64_t)0, hlo, hhi, 0), 10000);
	CU_ASSERT_EQUAL(count(JD_MALLOC, 50, clo, chi, 0), 2);
	CU_ASSERT_EQUAL(count(JD_MALLOC, ~(uint64_t)0, clo, chi, 0), 2);
	CU_ASSERT_EQUAL(count(JD_FREE, ~(uint64_t)0, rlo, rhi, 0), 9997);
	/* posix_memalign: the pointer read from *memptr after the return */
	p = strstr(t.out, " 1000\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	while (p > t.out && p[-1] != '\n')
		p--;
	CU_ASSERT_EQUAL(sscanf(p, "leak %" SCNx64, &pm), 1);
	if (ids[JD_POSIX_MEMALIGN] >= 0) {
		long found = 0;

		for (size_t i = 0; i < nev; i++)
			if (evs[i].probe == ids[JD_POSIX_MEMALIGN] && !evs[i].nested &&
			    evs[i].out0 == pm && evs[i].ret == 0 && evs[i].a1 == 64)
				found++;
		CU_ASSERT_EQUAL(found, 1);
	}
	/* calloc(10, 30) once, from aligned() */
	CU_ASSERT_EQUAL(count(JD_CALLOC, 10, alo, ahi, 0), 1);
	for (size_t i = 0; i < nev; i++) {
		if (evs[i].nested)
			continue;
		outer++;
		outer_tid_ok += evs[i].tid == t.pid && evs[i].duration_ns == 0;
		stack_ok += evs[i].stack_len >= 8 && evs[i].first_word == evs[i].ret_addr;
	}
	CU_ASSERT(outer > 20000);
	/* rdtsc converted: inside the run, in call order on the one thread
	 * (a record is written at return: sequential calls keep their order) */
	{
		uint64_t last = 0;
		long in_run = 0, ordered = 0;

		for (size_t i = 0; i < nev; i++) {
			if (evs[i].nested)
				continue;
			/* 1 ms of slack for the calibration */
			in_run += evs[i].time_ns + 1000000 >= go_ns &&
				  evs[i].time_ns + evs[i].duration_ns <= end_ns + 1000000;
			ordered += evs[i].time_ns >= last;
			last = evs[i].time_ns;
		}
		CU_ASSERT_EQUAL(in_run, outer);
		CU_ASSERT_EQUAL(ordered, outer);
	}
	CU_ASSERT_EQUAL(outer_tid_ok, outer);
	CU_ASSERT_EQUAL(stack_ok, outer);
	/* unwinding through a detour: a call that reached an allocator by a
	 * tail jump out of a probed function (realloc(NULL, 10) -> malloc,
	 * reallocarray -> realloc -> malloc) has the detour's return address;
	 * the detour frame leads to the calling probe's return-address slot,
	 * i.e. to the sp of that call's event, recorded just after */
	{
		long via_detour = 0, unwound = 0;

		for (size_t i = 0; i < nev; i++) {
			uint64_t slot = 0;

			if (!pk_jprobes_in_detour(j, evs[i].ret_addr))
				continue;
			via_detour++;
			if (!pk_jprobes_detour_frame(j, evs[i].ret_addr, evs[i].sp + 8, &slot))
				continue;
			for (size_t k = i + 1; k < nev && k < i + 8; k++)
				if (evs[k].sp == slot && evs[k].tid == evs[i].tid) {
					unwound++;
					break;
				}
		}
		CU_ASSERT(via_detour >= 1);
		CU_ASSERT_EQUAL(unwound, via_detour);
		CU_ASSERT_EQUAL(pk_jprobes_detour_frame(j, pk_jprobe_detour(j, ids[JD_MALLOC]), 4096,
							&pm), 1);
		CU_ASSERT_EQUAL(pm, 4096);
		CU_ASSERT_EQUAL(pk_jprobes_detour_frame(j, pk_jprobe_address(j, ids[JD_MALLOC]), 4096,
							&pm), 0);
	}
	pk_jprobes_stats(j, &s);
	CU_ASSERT_EQUAL(s.drops, 0);
	CU_ASSERT_EQUAL(s.tid_offset, 0x2d0);
	CU_ASSERT_EQUAL(s.events, nev);
	pk_jprobes_free(j);
}

/* count_nested: the detours count the nested calls (a free inside
 * realloc, a malloc reached by a tail jump out of realloc) instead of
 * recording them; the outermost calls are recorded as before */
static void test_count_nested(void)
{
	struct jd_target t;
	struct pk_jprobes *j;
	struct pk_jprobe_stats s;
	long nested[2] = { 0, 0 }, outer[2] = { 0, 0 };
	uint64_t counted[2] = { 0, 0 };

	for (int k = 0; k < 2; k++) {
		count_nested = k;
		j = setup(&t, "alloc-suite", "basic", NULL, 65536, NULL);
		count_nested = 0;
		CU_ASSERT_PTR_NOT_NULL_FATAL(j);
		CU_ASSERT_EQUAL(run_to_end(&t, j), 0);
		CU_ASSERT(exited_ok(&t));
		for (size_t i = 0; i < nev; i++) {
			nested[k] += evs[i].nested;
			outer[k] += !evs[i].nested;
		}
		pk_jprobes_stats(j, &s);
		counted[k] = s.nested;
		CU_ASSERT_EQUAL(s.drops, 0);
		pk_jprobes_free(j);
	}
	CU_ASSERT(nested[0] >= 1);
	CU_ASSERT_EQUAL(counted[0], 0);
	CU_ASSERT_EQUAL(nested[1], 0);
	CU_ASSERT_EQUAL(counted[1], (uint64_t)nested[0]);
	CU_ASSERT_EQUAL(outer[1], outer[0]);
	CU_ASSERT_EQUAL(count(JD_MALLOC, 100, 0, 0, 0), 10000);
}

static void test_threads(void)
{
	struct jd_target t;
	struct pk_jprobes *j = setup(&t, "alloc-suite", "threads", NULL, 65536, NULL);
	pid_t seen[8] = { 0 };
	int nseen = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_EQUAL(run_to_end(&t, j), 0);
	CU_ASSERT(exited_ok(&t));
	for (uint64_t k = 0; k < 4; k++) {
		CU_ASSERT_EQUAL(count(JD_MALLOC, 32 + k, 0, 0, 0), 5000);
		CU_ASSERT_EQUAL(count(JD_MALLOC, 1000 + k, 0, 0, 0), 1);
	}
	CU_ASSERT(count(JD_FREE, ~(uint64_t)0, 0, 0, 0) >= 20000);
	for (size_t i = 0; i < nev; i++) {
		int k;

		if (evs[i].probe != ids[JD_MALLOC] || evs[i].a0 < 32 || evs[i].a0 > 35)
			continue;
		for (k = 0; k < nseen && seen[k] != evs[i].tid; k++)
			;
		if (k == nseen && nseen < 8)
			seen[nseen++] = evs[i].tid;
	}
	CU_ASSERT_EQUAL(nseen, 4);
	for (int k = 0; k < nseen; k++)
		CU_ASSERT(seen[k] != t.pid && seen[k] > 0);
	CU_ASSERT_EQUAL(drops(j), 0);
	pk_jprobes_free(j);
}

static void test_signal(void)
{
	struct jd_target t;
	struct pk_jprobes *j = setup(&t, "alloc-suite", "signal", NULL, 65536, NULL);
	long d, m77, m100, frees;
	const char *p;
	int handled = -1;

	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_EQUAL(run_to_end(&t, j), 0);
	CU_ASSERT(exited_ok(&t));
	p = strstr(t.out, "handler ");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	sscanf(p, "handler %d", &handled);
	CU_ASSERT(handled >= 20);
	/* The loop runs until 20 timer signals came (real time): on a busy
	 * machine it can outrun the ring and the drain.  Exact without drops;
	 * with drops, short by at most the number dropped. */
	d = (long)drops(j);
	m77 = count(JD_MALLOC, 77, 0, 0, 0);
	m100 = count(JD_MALLOC, 100, 0, 0, 0);
	frees = count(JD_FREE, ~(uint64_t)0, 0, 0, 0);
	if (d == 0) {
		CU_ASSERT_EQUAL(m77, handled);
		CU_ASSERT_EQUAL(m100, frees - handled);
	} else {
		fprintf(stderr, "signal: %ld events dropped (ring full), counts checked within that\n",
			d);
		CU_ASSERT(m77 <= handled && m77 >= handled - d);
		CU_ASSERT(m100 + m77 + d >= frees && frees + d >= m100 + handled);
	}
	CU_ASSERT(m100 >= 20000 - d);
	pk_jprobes_free(j);
}

/* The child inherits the patched code and the shared ring: it runs
 * unharmed and its events arrive under its own tid. */
static void test_fork(void)
{
	struct jd_target t;
	struct pk_jprobes *j = setup(&t, "alloc-suite", "fork", NULL, 16384, NULL);
	long child_events = 0;
	pid_t child = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_EQUAL(run_to_end(&t, j), 0);
	CU_ASSERT(exited_ok(&t));
	CU_ASSERT_PTR_NOT_NULL(strstr(t.out, "child exited 0\n"));
	CU_ASSERT_EQUAL(t.forks, 1);
	CU_ASSERT_EQUAL(count(JD_MALLOC, 200, 0, 0, t.pid), 1);
	for (size_t i = 0; i < nev; i++) {
		if (evs[i].probe == ids[JD_MALLOC] && evs[i].a0 == 300 && !evs[i].nested) {
			child_events++;
			if (!child)
				child = evs[i].tid;
		}
	}
	CU_ASSERT_EQUAL(child_events, 100);
	CU_ASSERT(child != t.pid && child > 0);
	CU_ASSERT_EQUAL(count(JD_MALLOC, 300, 0, 0, child), 100);
	pk_jprobes_free(j);
}

/* A window: detach before the run (every byte back), arm again (the
 * detours are reused: no new page), then exact counts. */
static void test_rearm(void)
{
	struct jd_target t;
	struct jd_run_opts o;
	struct pk_jprobe_stats s1, s2;
	struct pk_jprobes *j;
	uint64_t lo, hi;

	memset(&o, 0, sizeof(o));
	j = setup(&t, "alloc-suite", "basic", NULL, 65536, &o);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	pk_jprobes_stats(j, &s1);
	CU_ASSERT_EQUAL(pk_jprobes_detach(j, t.tids, t.ntids, 0), 0);
	for (int f = 0; f < JD_NFN; f++) {
		if (ids[f] < 0)
			continue;
		CU_ASSERT_EQUAL(jd_peek(t.pid, pk_jprobe_address(j, ids[f]), o.after[f], 32), 0);
		CU_ASSERT_EQUAL(memcmp(o.before[f], o.after[f], 32), 0);
	}
	CU_ASSERT(pk_jprobes_arm(j, t.tids, t.ntids) >= 8);
	pk_jprobes_stats(j, &s2);
	CU_ASSERT_EQUAL(s2.pages, s1.pages);
	CU_ASSERT_EQUAL(s2.patched, s1.patched);
	CU_ASSERT_EQUAL(run_to_end(&t, j), 0);
	CU_ASSERT(exited_ok(&t));
	CU_ASSERT_EQUAL_FATAL(jd_func_range(&t, "hot", &lo, &hi), 0);
	CU_ASSERT_EQUAL(count(JD_MALLOC, 100, lo, hi, 0), 10000);
	pk_jprobes_free(j);
}

/* exec drops the patched image: the new one runs untouched (a new engine
 * would be armed for it); the events before exec were recorded. */
static void test_exec(void)
{
	struct jd_target t;
	struct pk_jprobes *j = setup(&t, "alloc-suite", "exec", NULL, 16384, NULL);

	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	jd_go(&t); /* the second go byte, read by the exec'ed image */
	CU_ASSERT_EQUAL(run_to_end(&t, j), 0);
	CU_ASSERT(exited_ok(&t));
	CU_ASSERT_PTR_NOT_NULL(strstr(t.out, "bench "));
	CU_ASSERT_EQUAL(count(JD_MALLOC, 123, 0, 0, t.pid), 1);
	CU_ASSERT_EQUAL(count(JD_MALLOC, 64, 0, 0, 0), 0);
	pk_jprobes_free(j);
}

/* Right after execve no thread pointer exists yet (the detours read
 * %fs): arm refuses with EAGAIN and touches nothing. */
static void test_no_tls_yet(void)
{
	char path[512];
	struct pk_jprobes *j;
	int st;
	pid_t pid;

	target(path, sizeof(path), "jprobe-shapes");
	pid = fork();
	if (pid == 0) {
		char *argv[] = { path, NULL };

		ptrace(PTRACE_TRACEME, 0, 0, 0);
		execv(path, argv);
		_exit(127);
	}
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL_FATAL(waitpid(pid, &st, __WALL), pid);
	CU_ASSERT_FATAL(WIFSTOPPED(st) && WSTOPSIG(st) == SIGTRAP);
	j = pk_jprobes_new(pid, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT(pk_jprobe_add(j, 0x1000, 64, "anything", 0) >= 0);
	CU_ASSERT_EQUAL(pk_jprobes_arm(j, &pid, 1), -EAGAIN);
	CU_ASSERT_EQUAL(ring_mappings(pid), 0);
	pk_jprobes_free(j);
	kill(pid, SIGKILL);
	waitpid(pid, &st, __WALL);
}

static unsigned long loop_sum(long n)
{
	unsigned long s = 0;

	for (long i = 0; i < n; i++)
		s += (unsigned long)(i & 255);
	return 2 * s;
}

static void test_detach_mid_run(void)
{
	struct jd_target t;
	struct jd_run_opts o;
	struct pk_jprobes *j;
	unsigned long sum = 0;
	const char *p;
	int st;

	memset(&o, 0, sizeof(o));
	j = setup(&t, "alloc-suite", "loop", "1000000", 16384, &o);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	o.detach_after = 5000; /* below the ring size: reached even if starved */
	ptrace(PTRACE_CONT, t.pid, 0, 0);
	jd_go(&t);
	CU_ASSERT_EQUAL(jd_run(&t, j, on_event, NULL, &o), 1);
	CU_ASSERT(o.detached);
	CU_ASSERT_EQUAL(o.detach_err, 0);
	if (o.detach_err)
		fprintf(stderr, "detach: %s\n", strerror(-o.detach_err));
	/* the final detach unmapped the ring from the target */
	{
		struct pk_jprobe_stats s;

		pk_jprobes_stats(j, &s);
		CU_ASSERT_EQUAL(s.ring_in_target, 0);
		CU_ASSERT_EQUAL(ring_mappings(t.pid), 0);
		if (getenv("JPROBE_DEBUG"))
			fprintf(stderr, "detach: %u thread(s) stepped out of a record\n",
				s.stepped);
	}
	for (int f = 0; f < JD_NFN; f++)
		if (ids[f] >= 0)
			CU_ASSERT_EQUAL(memcmp(o.before[f], o.after[f], 32), 0);
	CU_ASSERT(nev >= 5000);
	if (!t.exited) { /* (the driver may have reaped it while stopping all) */
		waitpid(t.pid, &st, 0);
		t.status = st;
	}
	jd_read_output(&t, 1);
	close(t.in_fd);
	close(t.out_fd);
	CU_ASSERT(exited_ok(&t));
	p = strstr(t.out, "sum ");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	sscanf(p, "sum %lu", &sum);
	CU_ASSERT_EQUAL(sum, loop_sum(1000000));
	pk_jprobes_free(j);
}

static int kill_pipe = -1;
static long kill_count;

/* In the driver process: say "k" once 2,000 events were drained. */
static void count_then_signal(void *ctx, const struct pk_jprobe_event *e)
{
	(void)ctx;
	(void)e;
	if (++kill_count == 2000 && write(kill_pipe, "k", 1) != 1)
		_exit(4);
}

/* The driver is a separate process that arms and drains; SIGKILL it while
 * the target allocates: the target finishes with the right answer. */
static void test_driver_killed(void)
{
	struct jd_target t;
	char path[512];
	unsigned long sum = 0;
	int pfd[2], st;
	pid_t drv;
	char c = 0;
	const char *p;

	target(path, sizeof(path), "alloc-suite");
	CU_ASSERT_EQUAL_FATAL(jd_start(&t, path, "loop", "2000000"), 0);
	CU_ASSERT_EQUAL_FATAL(pipe(pfd), 0);
	drv = fork();
	if (drv == 0) {
		struct pk_jprobes *j;

		close(pfd[0]);
		if (jd_seize(&t) < 0)
			_exit(2);
		j = pk_jprobes_new(t.pid, NULL);
		if (!j || jd_add_allocators(&t, j, ids) < 8 || pk_jprobes_arm(j, t.tids, 1) < 8)
			_exit(3);
		ptrace(PTRACE_CONT, t.pid, 0, 0);
		jd_go(&t);
		kill_pipe = pfd[1];
		jd_run(&t, j, count_then_signal, NULL, NULL); /* until killed */
		_exit(5);
	}
	close(pfd[1]);
	CU_ASSERT_EQUAL(read(pfd[0], &c, 1), 1);
	close(pfd[0]);
	kill(drv, SIGKILL);
	waitpid(drv, &st, 0);
	CU_ASSERT(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	/* (had the driver failed before the go byte, EOF ends the tracee) */
	close(t.in_fd);
	waitpid(t.pid, &t.status, 0);
	jd_read_output(&t, 1);
	close(t.out_fd);
	CU_ASSERT(exited_ok(&t));
	p = strstr(t.out, "sum ");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	sscanf(p, "sum %lu", &sum);
	CU_ASSERT_EQUAL(sum, loop_sum(2000000));
}

/* A ring far too small: events are dropped and counted, the target is
 * unharmed. */
static void test_full_ring(void)
{
	struct jd_target t;
	struct pk_jprobes *j;
	struct jd_run_opts o;

	memset(&o, 0, sizeof(o));
	j = setup(&t, "alloc-suite", "basic", NULL, 16, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	ptrace(PTRACE_CONT, t.pid, 0, 0);
	jd_go(&t);
	/* drain nothing until the end: the target fills the ring at once */
	while (waitpid(t.pid, &t.status, __WALL) == t.pid && !WIFEXITED(t.status) &&
	       !WIFSIGNALED(t.status))
		ptrace(PTRACE_CONT, t.pid, 0,
		       (void *)(long)((t.status >> 16) == 0 ? WSTOPSIG(t.status) : 0));
	jd_read_output(&t, 1);
	close(t.in_fd);
	close(t.out_fd);
	CU_ASSERT(exited_ok(&t));
	CU_ASSERT_PTR_NOT_NULL(strstr(t.out, "done\n"));
	CU_ASSERT_EQUAL(pk_jprobes_drain(j, on_event, NULL, 0), 16);
	CU_ASSERT(drops(j) > 20000);
	pk_jprobes_free(j);
}

static int int3_entries;

static int on_int3(void *ctx, struct pk_probe_event *ev)
{
	(void)ctx;
	int3_entries += ev->kind == PK_PROBE_ENTRY;
	return 0;
}

/* Functions that must go to the int3 backend, and why; the one that the
 * int3 backend can take runs there beside the jump-patched one. */
static void test_refusals(void)
{
	struct jd_target t;
	struct pk_jprobes *j;
	uint64_t s, e;
	char path[512];
	int tiny, loopy, plain, thrower;
	struct jd_run_opts o;

	target(path, sizeof(path), "jprobe-shapes");
	CU_ASSERT_EQUAL_FATAL(jd_start(&t, path, NULL, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(jd_seize(&t), 0);
	j = pk_jprobes_new(t.pid, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_EQUAL_FATAL(jd_func_range(&t, "shape_tiny", &s, &e), 0);
	tiny = pk_jprobe_add(j, s, e - s, "shape_tiny", 0);
	CU_ASSERT_EQUAL_FATAL(jd_func_range(&t, "shape_loop", &s, &e), 0);
	loopy = pk_jprobe_add(j, s, e - s, "shape_loop", 0);
	CU_ASSERT_EQUAL_FATAL(jd_func_range(&t, "shape_plain", &s, &e), 0);
	plain = pk_jprobe_add(j, s, e - s, "shape_plain", PK_JPROBE_DURATION | PK_JPROBE_NO_STACK);
	thrower = pk_jprobe_add(j, s + 1, e - s - 1, "shape_throw", PK_JPROBE_MAY_THROW);
	/* the safe point: a thread stopped inside the bytes to patch (its rip
	 * moved to shape_plain's second instruction, its stack pointer 4 KiB
	 * lower) is single-stepped past them, then the jump is written (and
	 * taken out again before the real arm below) */
	{
		struct pk_jprobes *j2 = pk_jprobes_new(t.pid, NULL);
		struct user_regs_struct saved, fake, after;
		struct pk_jprobe_stats st;
		struct pk_insn first;
		uint8_t code[16];
		struct iovec lv = { code, sizeof(code) }, rv;
		int id2;

		CU_ASSERT_PTR_NOT_NULL_FATAL(j2);
		CU_ASSERT_EQUAL_FATAL(jd_func_range(&t, "shape_plain", &s, &e), 0);
		rv.iov_base = (void *)(uintptr_t)s;
		rv.iov_len = sizeof(code);
		CU_ASSERT_EQUAL_FATAL(process_vm_readv(t.pid, &lv, 1, &rv, 1, 0), (ssize_t)sizeof(code));
		CU_ASSERT_EQUAL_FATAL(pk_insn_decode(code, sizeof(code), &first), 0);
		id2 = pk_jprobe_add(j2, s, e - s, "shape_plain", 0);
		CU_ASSERT_EQUAL_FATAL(ptrace(PTRACE_GETREGS, t.pid, 0, &saved), 0);
		fake = saved;
		fake.rip = s + first.len;
		fake.orig_rax = (unsigned long long)-1; /* in user code, as a real thread there */
		fake.rsp = (saved.rsp - 4096) & ~15ull; /* what it pushes lands below */
		CU_ASSERT(first.len < 5); /* jprobe-shapes.c: a short first instruction */
		if (first.len < 5) {
			CU_ASSERT_EQUAL_FATAL(ptrace(PTRACE_SETREGS, t.pid, 0, &fake), 0);
			CU_ASSERT_EQUAL(pk_jprobes_arm(j2, t.tids, t.ntids), 1);
			CU_ASSERT_PTR_NULL(pk_jprobe_refusal(j2, id2));
			pk_jprobes_stats(j2, &st);
			CU_ASSERT(st.stepped >= 1);
			CU_ASSERT_EQUAL(ptrace(PTRACE_GETREGS, t.pid, 0, &after), 0);
			CU_ASSERT(after.rip >= s + 5 && after.rip < e);
			CU_ASSERT_EQUAL(pk_jprobes_detach(j2, t.tids, t.ntids, 0), 0);
		}
		CU_ASSERT_EQUAL(ptrace(PTRACE_SETREGS, t.pid, 0, &saved), 0);
		pk_jprobes_free(j2); /* its pages stay, unused */
	}
	CU_ASSERT_EQUAL(pk_jprobes_arm(j, t.tids, t.ntids), 1);
	CU_ASSERT_PTR_NOT_NULL(pk_jprobe_refusal(j, tiny));
	CU_ASSERT_PTR_NOT_NULL(strstr(pk_jprobe_refusal(j, tiny), "shorter than 5"));
	CU_ASSERT_PTR_NOT_NULL(pk_jprobe_refusal(j, loopy));
	CU_ASSERT_PTR_NOT_NULL(strstr(pk_jprobe_refusal(j, loopy), "branch"));
	CU_ASSERT_PTR_NOT_NULL(strstr(pk_jprobe_refusal(j, thrower), "throw"));
	CU_ASSERT_PTR_NULL(pk_jprobe_refusal(j, plain));
	/* the fallback: shape_loop on int3 (shape_tiny's `ret` cannot be
	 * run out of line by either backend) */
	memset(&o, 0, sizeof(o));
	o.int3 = pk_probes_new(t.pid, on_int3, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o.int3);
	CU_ASSERT(pk_probe_add(o.int3, pk_jprobe_address(j, loopy), "shape_loop") >= 0);
	CU_ASSERT_EQUAL(pk_probes_arm(o.int3, t.pid), 1);
	int3_entries = 0;
	nev = 0;
	ptrace(PTRACE_CONT, t.pid, 0, 0);
	jd_go(&t);
	CU_ASSERT_EQUAL(jd_run(&t, j, on_event, NULL, &o), 0);
	CU_ASSERT_EQUAL(int3_entries, 1);
	pk_probes_free(o.int3);
	jd_read_output(&t, 1);
	close(t.in_fd);
	close(t.out_fd);
	CU_ASSERT(exited_ok(&t));
	/* shape_plain(i) returns i * 3 + 1, called 1000 times */
	CU_ASSERT_EQUAL(nev, 1000);
	{
		uint64_t total = 0;

		for (size_t i = 0; i < nev; i++) {
			CU_ASSERT_EQUAL_FATAL(evs[i].ret, evs[i].a0 * 3 + 1);
			CU_ASSERT_EQUAL(evs[i].stack_len, 0); /* PK_JPROBE_NO_STACK */
			total += evs[i].duration_ns;
		}
		CU_ASSERT(total > 0); /* PK_JPROBE_DURATION: entry time too */
	}
	CU_ASSERT_PTR_NOT_NULL(strstr(t.out, "total 1499500 10\n"));
	pk_jprobes_free(j);
}

/* Trap mode (PK_JPROBE_TRAP_RETURN): the detour writes its record, then
 * traps with r10 = the record; the handler reads the call from it and
 * frees its slot.  The ring has 2 slots and the first record's slot is
 * never freed, so from the third call on the ring is full at its turn:
 * those traps come without a record (r10 = 0, a drop counted) and the
 * call is still read from the registers. */
static struct pk_jprobes *trap_j;
static long trap_with_rec, trap_without_rec, trap_kept;

static int on_trap_stop(pid_t tid)
{
	struct user_regs_struct regs;
	struct pk_jprobe_event e;

	if (ptrace(PTRACE_GETREGS, tid, 0, &regs) < 0 || pk_jprobes_trap_event(trap_j, tid, &regs, &e) < 0)
		return 0;
	if (e.rec)
		trap_with_rec++;
	else
		trap_without_rec++;
	on_event(NULL, &e);
	if (e.rec && !trap_kept)
		trap_kept = 1; /* its slot stays taken */
	else
		pk_jprobes_trap_release(trap_j, &e);
	return 1;
}

/*
 * shape_plain probed with flags on a 2-slot ring with stack_bytes of
 * slice, run to the end with the traps taken by on_trap_stop (cb drains
 * the ring once the target exited); its output and want_events events
 * checked.  Returns the engine (free it) and the probe id in *id.
 */
static struct pk_jprobes *trap_run(unsigned stack_bytes, unsigned flags, pk_jprobe_callback cb, int *id,
				   size_t want_events)
{
	struct pk_jprobe_config cfg = { 2, stack_bytes };
	struct jd_run_opts o;
	struct jd_target t;
	struct pk_jprobes *j;
	char path[512];
	uint64_t s, e;

	target(path, sizeof(path), "jprobe-shapes");
	CU_ASSERT_EQUAL_FATAL(jd_start(&t, path, NULL, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(jd_seize(&t), 0);
	j = pk_jprobes_new(t.pid, &cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_EQUAL_FATAL(jd_func_range(&t, "shape_plain", &s, &e), 0);
	*id = pk_jprobe_add(j, s, e - s, "shape_plain", flags);
	CU_ASSERT_EQUAL_FATAL(pk_jprobes_arm(j, t.tids, t.ntids), 1);
	CU_ASSERT_PTR_NULL(pk_jprobe_refusal(j, *id));
	memset(&o, 0, sizeof(o));
	o.trap = on_trap_stop;
	o.drain_at_end = 1;
	trap_j = j;
	trap_with_rec = trap_without_rec = 0;
	nev = 0;
	ptrace(PTRACE_CONT, t.pid, 0, 0);
	jd_go(&t);
	CU_ASSERT_EQUAL(jd_run(&t, j, cb, NULL, &o), 0);
	jd_read_output(&t, 1);
	close(t.in_fd);
	close(t.out_fd);
	CU_ASSERT(exited_ok(&t));
	CU_ASSERT_PTR_NOT_NULL(strstr(t.out, "total 1499500 10\n"));
	/* shape_plain(i) returns i * 3 + 1, called 1000 times */
	CU_ASSERT_EQUAL(nev, want_events);
	for (size_t i = 0; i < nev; i++) {
		CU_ASSERT_EQUAL_FATAL(evs[i].probe, *id);
		/* recorded at the entry: no result yet */
		CU_ASSERT_EQUAL_FATAL(evs[i].ret, flags & PK_JPROBE_RECORD_ENTRY ? 0 : evs[i].a0 * 3 + 1);
	}
	return j;
}

static void test_trap_records(void)
{
	struct pk_jprobe_stats st;
	struct pk_jprobes *j;
	long sliced = 0;
	int plain;

	trap_kept = 0;
	/* nothing drains the ring in trap mode */
	j = trap_run(512, PK_JPROBE_TRAP_RETURN, NULL, &plain, 1000);
	CU_ASSERT_EQUAL(trap_with_rec, 2);
	CU_ASSERT_EQUAL(trap_without_rec, 998);
	for (size_t i = 0; i < nev; i++)
		/* a record's slice starts at the return address */
		sliced += evs[i].stack_len >= 8 && evs[i].first_word == evs[i].ret_addr;
	CU_ASSERT_EQUAL(sliced, 2);
	pk_jprobes_stats(j, &st);
	CU_ASSERT_EQUAL(st.trap_records, 1); /* the one freed */
	CU_ASSERT_EQUAL(st.drops, 998);
	pk_jprobes_free(j);
}

/*
 * PK_JPROBE_TRAP_SLOW with a 2-slot ring nobody drains until the end:
 * with a slice longer than the stack, 2 calls write records and go on,
 * the other 998 find the ring full and stop, without a record; with a
 * 16-byte slice every stack is deeper, so all 1000 stop.  Nothing is
 * dropped either way, and every call is seen once.
 */
static void trap_slow_run(unsigned stack_bytes, long want_traps)
{
	struct pk_jprobe_stats st;
	struct pk_jprobes *j;
	int plain;

	trap_kept = 1; /* release what there is (nothing: no record) */
	j = trap_run(stack_bytes, PK_JPROBE_TRAP_SLOW, on_event, &plain, 1000);
	CU_ASSERT_EQUAL(trap_with_rec, 0);
	CU_ASSERT_EQUAL(trap_without_rec, want_traps);
	pk_jprobes_stats(j, &st);
	CU_ASSERT_EQUAL(st.drops, 0);
	CU_ASSERT_EQUAL(st.events, (uint64_t)(1000 - want_traps));
	pk_jprobes_free(j);
}

static void test_trap_slow(void)
{
	trap_slow_run(16384, 998);
	trap_slow_run(16, 1000);
}

/*
 * PK_JPROBE_RECORD_ENTRY: the record is written before the call (its
 * arguments, result 0), the call then made as usual.  On a 2-slot ring
 * drained at the end: 2 records and 998 drops; with PK_JPROBE_TRAP_SLOW,
 * 998 stops at the entry trap instead, none dropped.  The program's
 * results are right either way.
 */
static void test_record_entry(void)
{
	struct pk_jprobe_stats st;
	struct pk_jprobes *j;
	int plain;

	trap_kept = 1;
	trap_with_rec = trap_without_rec = 0;
	j = trap_run(64, PK_JPROBE_RECORD_ENTRY | PK_JPROBE_NO_STACK, on_event, &plain, 2);
	pk_jprobes_stats(j, &st);
	CU_ASSERT_EQUAL(st.events, 2);
	CU_ASSERT_EQUAL(st.drops, 998);
	pk_jprobes_free(j);
	/* the 2 records and 998 traps */
	j = trap_run(64, PK_JPROBE_RECORD_ENTRY | PK_JPROBE_NO_STACK | PK_JPROBE_TRAP_SLOW, on_event, &plain,
		     1000);
	CU_ASSERT_EQUAL(trap_without_rec, 998);
	pk_jprobes_stats(j, &st);
	CU_ASSERT_EQUAL(st.events, 2);
	CU_ASSERT_EQUAL(st.drops, 0);
	pk_jprobes_free(j);
}

int main(int argc, char **argv)
{
	const char *bd = getenv("top_builddir");
	const char *only = getenv("JPROBE_TEST"); /* run the tests whose name has it */
	CU_pSuite s;
	unsigned fails;

	(void)argc;
	(void)argv;
	snprintf(builddir, sizeof(builddir), "%s", bd ? bd : ".");
	for (int i = 0; i < 2; i++) {
		char path[512];

		target(path, sizeof(path), i ? "jprobe-shapes" : "alloc-suite");
		if (access(path, X_OK) != 0) {
			fprintf(stderr, "test-jprobe: %s not built\n", path);
			return 1;
		}
	}
	{
		/* ptrace allowed here?  (Yama, containers without SYS_PTRACE) */
		pid_t c = fork();
		int st, ok;

		if (c == 0) {
			pause();
			_exit(0);
		}
		ok = ptrace(PTRACE_SEIZE, c, 0, 0) == 0;
		kill(c, SIGKILL);
		waitpid(c, &st, 0);
		if (!ok) {
			fprintf(stderr, "test-jprobe: skipped: ptrace not permitted here\n");
			return 77;
		}
	}
	alarm(600); /* a deadline for the whole program: a hang fails */
	evs = calloc(MAX_EV, sizeof(*evs));
	if (!evs || CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("jprobe", NULL, NULL);
#define ADD(name, fn) \
	do { \
		if (!only || strstr(name, only)) \
			CU_add_test(s, name, fn); \
	} while (0)
	ADD("basic: exact counts per call site", test_basic);
	ADD("nested calls counted in the target", test_count_nested);
	ADD("4 threads, no event lost", test_threads);
	ADD("signal handler allocates", test_signal);
	ADD("fork while patched", test_fork);
	ADD("exec while patched", test_exec);
	ADD("detach and arm again", test_rearm);
	ADD("no thread pointer yet: EAGAIN", test_no_tls_yet);
	ADD("detach mid-run restores every byte", test_detach_mid_run);
	ADD("driver killed by SIGKILL", test_driver_killed);
	ADD("full ring drops, counted", test_full_ring);
	ADD("refusals for the int3 backend", test_refusals);
	ADD("trap mode: records read at the trap, full ring", test_trap_records);
	ADD("trap when slow: a full ring or a deep stack stops, nothing dropped", test_trap_slow);
	ADD("records written at the entry, before the call", test_record_entry);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures();
	CU_cleanup_registry();
	free(evs);
	return fails != 0;
}
