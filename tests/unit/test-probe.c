/*
 * test-probe.c - the probe engine (daemon/probe*.c) and allocation tracking
 * (daemon/alloc*.c) against real tracees (tests/targets/alloc-*).
 *
 * A small ptrace driver stands in for perfkitd's tracer: it starts a
 * tracee, waits for its "ready", seizes it, resolves the allocator
 * functions from /proc/PID/maps and the ELF dynamic symbol tables, arms the
 * probes and runs the event loop (SIGTRAP -> pk_probe_handle_trap, fork ->
 * pk_probes_clean_child, thread exit).  The truth is what each tracee
 * prints (leaked pointers with sizes, counts) and what it is known to do
 * per function; events are attributed to functions by their caller
 * address looked up in the tracee's .symtab.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon/alloc.h"
#include "daemon/probe-insn.h"
#include "daemon/probe.h"
#include "tests/unit/probe-driver.h"

/* ---- helpers over recorded events ---- */

struct tally {
	long allocs, frees, unknown_frees;
	uint64_t bytes, bytes_freed;
};

static struct tally tally_caller(uint64_t lo, uint64_t hi, int want_size)
{
	struct tally s = { 0 };

	for (size_t i = 0; i < rec.n; i++) {
		const struct pk_alloc_event *e = &rec.v[i];

		if (e->caller < lo || e->caller >= hi)
			continue;
		if (want_size >= 0 && !e->is_free && e->size != (uint64_t)want_size)
			continue;
		if (e->is_free) {
			s.frees++;
			if (!e->known)
				s.unknown_frees++;
			s.bytes_freed += e->size;
		} else {
			s.allocs++;
			s.bytes += e->size;
		}
	}
	return s;
}

/* Check every "leak PTR SIZE" line against the live table; returns count. */
static int check_leaks(const struct tracee *t, const struct pk_alloc *a)
{
	const char *s = t->out;
	int n = 0;

	while ((s = strstr(s, "leak ")) != NULL) {
		unsigned long long ptr, size;

		if (sscanf(s, "leak %llx %llu", &ptr, &size) == 2) {
			const struct pk_alloc_live *l = pk_alloc_live_find(a, ptr);

			CU_ASSERT_PTR_NOT_NULL(l);
			if (l)
				CU_ASSERT_EQUAL(l->size, size);
			n++;
		}
		s += 5;
	}
	return n;
}

/* ---- tests ---- */

static void test_decoder(void)
{
	/* the glibc 2.36 / libstdc++ prologues named in DESIGN.md */
	static const struct {
		uint8_t code[16];
		unsigned len;
		int rip, cls;
	} cases[] = {
		{ { 0x41, 0x54 }, 2, 0, PK_INSN_PLAIN },                         /* push %r12 */
		{ { 0x48, 0x85, 0xff }, 3, 0, PK_INSN_PLAIN },                   /* test %rdi,%rdi */
		{ { 0x80, 0x3d, 0x01, 0x02, 0x14, 0x00, 0x00 }, 7, 1, PK_INSN_PLAIN }, /* cmpb $0,x(%rip) */
		{ { 0xf3, 0x0f, 0x1e, 0xfa }, 4, 0, PK_INSN_PLAIN },             /* endbr64 */
		{ { 0x48, 0x89, 0xf0 }, 3, 0, PK_INSN_PLAIN },                   /* mov %rsi,%rax */
		{ { 0xe9, 0x87, 0x2f, 0xff, 0xff }, 5, 0, PK_INSN_JMP_REL },     /* jmp rel32 */
		{ { 0xe8, 0x00, 0x00, 0x00, 0x00 }, 5, 0, PK_INSN_CALL_REL },
		{ { 0x48, 0x8b, 0x05, 0x34, 0x98, 0x13, 0x00 }, 7, 1, PK_INSN_PLAIN }, /* mov x(%rip),%rax */
		{ { 0x48, 0x83, 0xec, 0x10 }, 4, 0, PK_INSN_PLAIN },             /* sub $0x10,%rsp */
		{ { 0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8 }, 10, 0, PK_INSN_PLAIN }, /* movabs */
		{ { 0x64, 0xc7, 0x00, 0x0c, 0, 0, 0 }, 7, 0, PK_INSN_PLAIN },     /* movl $0xc,%fs:(%rax) */
		{ { 0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00 }, 6, 0, PK_INSN_PLAIN },  /* nopw */
		{ { 0x74, 0x07 }, 2, 0, PK_INSN_UNSAFE },                        /* je */
		{ { 0xc3 }, 1, 0, PK_INSN_UNSAFE },                              /* ret */
		{ { 0xff, 0x15, 0, 0, 0, 0 }, 6, 1, PK_INSN_UNSAFE },            /* call *x(%rip) */
		{ { 0xff, 0x25, 0, 0, 0, 0 }, 6, 1, PK_INSN_PLAIN },             /* jmp *x(%rip) */
		{ { 0x4c, 0x8d, 0x44, 0x24, 0x08 }, 5, 0, PK_INSN_PLAIN },        /* lea 8(%rsp),%r8 */
	};
	struct pk_insn in;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CU_ASSERT_EQUAL_FATAL(pk_insn_decode(cases[i].code, sizeof(cases[i].code), &in), 0);
		CU_ASSERT_EQUAL(in.len, cases[i].len);
		CU_ASSERT_EQUAL(in.rip_relative, cases[i].rip);
		CU_ASSERT_EQUAL((int)in.cls, cases[i].cls);
	}
	CU_ASSERT_EQUAL(pk_insn_decode((const uint8_t *)"\xc5\xf8\x77", 3, &in), -1); /* VEX */
	CU_ASSERT_EQUAL(pk_insn_decode((const uint8_t *)"\x48", 1, &in), -1);         /* truncated */
}

/* The decoder against objdump on the first instructions of every function
 * of this machine's libc and libstdc++ (tens of thousands of real
 * instructions).  Skips a library objdump cannot disassemble. */
static void decode_library(const char *needle, long *checked, long *mismatches)
{
	struct module m;
	char cmd[700], line[512];
	uint64_t prev = 0;
	int in_func = 0, nth = 0, fd;
	FILE *f;
	Elf *e;
	size_t nph = 0;
	GElf_Phdr loads[16];
	int nloads = 0;

	if (pd_find_module(getpid(), needle, &m) < 0)
		return;
	fd = open(m.path, O_RDONLY);
	if (fd < 0)
		return;
	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (e && elf_getphdrnum(e, &nph) == 0)
		for (size_t i = 0; i < nph && nloads < 16; i++)
			if (gelf_getphdr(e, (int)i, &loads[nloads]) && loads[nloads].p_type == PT_LOAD)
				nloads++;
	snprintf(cmd, sizeof(cmd), "objdump -d --no-show-raw-insn '%s' 2>/dev/null", m.path);
	f = popen(cmd, "r");
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long long a;
		char c;

		if (sscanf(line, "%llx <%c", &a, &c) == 2) { /* "0000... <name>:" */
			in_func = 1;
			nth = 0;
			prev = 0;
			continue;
		}
		if (!in_func || sscanf(line, " %llx:", &a) != 1 || line[0] != ' ')
			continue;
		if (prev && nth <= 6) {
			uint8_t code[15];
			struct pk_insn in;
			off_t off = -1;

			for (int i = 0; i < nloads; i++)
				if (prev >= loads[i].p_vaddr && prev < loads[i].p_vaddr + loads[i].p_filesz)
					off = (off_t)(prev - loads[i].p_vaddr + loads[i].p_offset);
			if (off >= 0 && pread(fd, code, sizeof(code), off) == (ssize_t)sizeof(code) &&
			    code[0] != 0x9b /* objdump glues fwait to the next insn */ &&
			    pk_insn_decode(code, sizeof(code), &in) == 0) {
				(*checked)++;
				if (in.len != a - prev) {
					(*mismatches)++;
					if (*mismatches < 5)
						fprintf(stderr, "\n  decoder: %s+%#llx: %u bytes, objdump %llu",
							needle, (unsigned long long)prev, in.len,
							(unsigned long long)(a - prev));
				}
			}
		}
		prev = a;
		nth++;
	}
	if (f)
		pclose(f);
	if (e)
		elf_end(e);
	close(fd);
}

static void test_decoder_vs_objdump(void)
{
	long checked = 0, mismatches = 0;

	if (system("objdump --version >/dev/null 2>&1") != 0) {
		fprintf(stderr, "\n  (objdump missing: decoder cross-check skipped)");
		return;
	}
	decode_library("/libc.so", &checked, &mismatches);
	fprintf(stderr, "\n  decoder: %ld instructions of libc agree with objdump\n", checked);
	CU_ASSERT(checked > 10000);
	CU_ASSERT_EQUAL(mismatches, 0);
}

static void test_basic(void)
{
	struct tracee t;
	struct pk_alloc *a = pd_trace(&t, "alloc-suite", "basic", NULL, 1);
	uint64_t lo = 0, hi = 0;
	struct tally s;
	const struct pk_alloc_stats *st;

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT(pd_exited_ok(&t));
	CU_ASSERT(strstr(t.out, "done\n") != NULL);
	CU_ASSERT_EQUAL(t.sigtraps_delivered, 0);

	CU_ASSERT_EQUAL_FATAL(pd_func_range(&t, "hot", &lo, &hi), 0);
	s = tally_caller(lo, hi, -1);
	CU_ASSERT_EQUAL(s.allocs, 10000);
	CU_ASSERT_EQUAL(s.bytes, 1000000);
	CU_ASSERT_EQUAL(s.frees, 0);
	CU_ASSERT_EQUAL_FATAL(pd_func_range(&t, "cold", &lo, &hi), 0);
	s = tally_caller(lo, hi, -1);
	CU_ASSERT_EQUAL(s.allocs, 2);
	CU_ASSERT_EQUAL(s.bytes, 100);
	CU_ASSERT_EQUAL_FATAL(pd_func_range(&t, "release", &lo, &hi), 0);
	s = tally_caller(lo, hi, -1);
	CU_ASSERT_EQUAL(s.frees, 9996 + 1);
	CU_ASSERT_EQUAL(s.unknown_frees, 0);
	CU_ASSERT_EQUAL(s.bytes_freed, 9996 * 100 + 50);

	/* realloc chain: realloc(NULL,10), 20 growths, realloc(p,0) */
	CU_ASSERT_EQUAL_FATAL(pd_func_range(&t, "chain", &lo, &hi), 0);
	s = tally_caller(lo, hi, -1);
	CU_ASSERT_EQUAL(s.allocs, 21);
	CU_ASSERT_EQUAL(s.bytes, 10 * (1 + 2 + 3 + 4 + 5 + 6 + 7 + 8 + 9 + 10 + 11 + 12 + 13 +
				       14 + 15 + 16 + 17 + 18 + 19 + 20 + 21));
	CU_ASSERT_EQUAL(s.frees, 21);
	CU_ASSERT_EQUAL(s.unknown_frees, 0);
	CU_ASSERT_EQUAL(s.bytes_freed, s.bytes);

	/* posix_memalign 1000 (leaked), aligned_alloc 128, memalign 100,
	 * valloc 5000, pvalloc 100 -> 4096, reallocarray 10*20, calloc 10*30 */
	CU_ASSERT_EQUAL_FATAL(pd_func_range(&t, "aligned", &lo, &hi), 0);
	s = tally_caller(lo, hi, -1);
	CU_ASSERT_EQUAL(s.allocs, 7);
	CU_ASSERT_EQUAL(s.bytes, 1000 + 128 + 100 + 5000 + 4096 + 200 + 300);
	CU_ASSERT_EQUAL(s.frees, 6);
	CU_ASSERT_EQUAL(s.unknown_frees, 0);
	CU_ASSERT_EQUAL(s.bytes_freed, 128 + 100 + 5000 + 4096 + 200 + 300);

	/* 3 blocks from before arming, freed in main: unknown, never negative */
	CU_ASSERT_EQUAL_FATAL(pd_func_range(&t, "mode_basic", &lo, &hi), 0);
	s = tally_caller(lo, hi, -1);
	CU_ASSERT_EQUAL(s.frees, 3);
	CU_ASSERT_EQUAL(s.unknown_frees, 3);
	/* every counted entry came with a stack copy of the size asked for */
	CU_ASSERT_EQUAL(rec.stack_ok, rec.entries);
	CU_ASSERT_EQUAL(rec.max_stack_len, 4096);

	/* exactly the printed leaks are live, with their sizes */
	CU_ASSERT_EQUAL(check_leaks(&t, a), 6);
	st = pk_alloc_stats(a);
	CU_ASSERT(st->unknown_frees >= 3);
	CU_ASSERT(st->live_count >= 6);
	CU_ASSERT(st->live_bytes >= 4 * 100 + 50 + 1000);
	CU_ASSERT(st->peak_bytes >= 1000000);
	CU_ASSERT_EQUAL(st->alloc_calls - st->live_count, st->free_calls - st->unknown_frees);
	CU_ASSERT(st->nested_calls >= 1); /* realloc(NULL,n) tail-jumps to malloc */
	pk_alloc_free(a);
}

/* A static executable: malloc & co. found in its .symtab. */
static void test_static(void)
{
	struct tracee t;
	struct pk_alloc *a = pd_trace(&t, "alloc-suite-static", "basic", NULL, 1);
	uint64_t lo = 0, hi = 0;
	struct tally s;

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT(pd_exited_ok(&t));
	CU_ASSERT_EQUAL(t.sigtraps_delivered, 0);
	CU_ASSERT_EQUAL_FATAL(pd_func_range(&t, "hot", &lo, &hi), 0);
	s = tally_caller(lo, hi, -1);
	CU_ASSERT_EQUAL(s.allocs, 10000);
	CU_ASSERT_EQUAL(s.bytes, 1000000);
	CU_ASSERT_EQUAL_FATAL(pd_func_range(&t, "chain", &lo, &hi), 0);
	s = tally_caller(lo, hi, -1);
	CU_ASSERT_EQUAL(s.allocs, 21);
	CU_ASSERT_EQUAL(s.frees, 21);
	CU_ASSERT_EQUAL(check_leaks(&t, a), 6);
	pk_alloc_free(a);
}

static void test_threads(void)
{
	struct tracee t;
	struct pk_alloc *a = pd_trace(&t, "alloc-suite", "threads", NULL, 1);
	uint64_t lo = 0, hi = 0;
	struct tally s;
	int tids_seen = 0;
	pid_t seen[8] = { 0 };

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT(pd_exited_ok(&t));
	CU_ASSERT_EQUAL(t.sigtraps_delivered, 0);
	CU_ASSERT_EQUAL_FATAL(pd_func_range(&t, "worker", &lo, &hi), 0);
	s = tally_caller(lo, hi, -1);
	CU_ASSERT_EQUAL(s.allocs, 4 * 5000 + 4);
	CU_ASSERT_EQUAL(s.frees, 4 * 5000);
	CU_ASSERT_EQUAL(s.unknown_frees, 0);
	CU_ASSERT_EQUAL(s.bytes, 5000 * (32 + 33 + 34 + 35) + 1000 + 1001 + 1002 + 1003);
	for (size_t i = 0; i < rec.n; i++) {
		int k;

		if (rec.v[i].caller < lo || rec.v[i].caller >= hi)
			continue;
		for (k = 0; k < tids_seen && seen[k] != rec.v[i].tid; k++)
			;
		if (k == tids_seen && tids_seen < 8)
			seen[tids_seen++] = rec.v[i].tid;
	}
	CU_ASSERT_EQUAL(tids_seen, 4);
	CU_ASSERT_EQUAL(check_leaks(&t, a), 4);
	pk_alloc_free(a);
}

static void test_signal(void)
{
	struct tracee t;
	struct pk_alloc *a = pd_trace(&t, "alloc-suite", "signal", NULL, 1);
	uint64_t lo = 0, hi = 0;
	struct tally s;
	int handled = -1;
	const char *h;

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT(pd_exited_ok(&t));
	CU_ASSERT_EQUAL(t.sigtraps_delivered, 0);
	h = strstr(t.out, "handler ");
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	sscanf(h, "handler %d", &handled);
	CU_ASSERT(handled >= 20);
	CU_ASSERT_EQUAL_FATAL(pd_func_range(&t, "on_alarm", &lo, &hi), 0);
	s = tally_caller(lo, hi, -1);
	CU_ASSERT_EQUAL(s.allocs, handled);
	CU_ASSERT_EQUAL(s.bytes, 77 * (uint64_t)handled);
	CU_ASSERT_EQUAL_FATAL(pd_func_range(&t, "mode_signal", &lo, &hi), 0);
	s = tally_caller(lo, hi, -1);
	CU_ASSERT(s.allocs >= 20000);
	CU_ASSERT_EQUAL(s.frees, s.allocs + handled);
	CU_ASSERT_EQUAL(s.unknown_frees, 0);
	pk_alloc_free(a);
}

static void test_fork(void)
{
	struct tracee t;
	struct pk_alloc *a = pd_trace(&t, "alloc-suite", "fork", NULL, 1);

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT(pd_exited_ok(&t));
	CU_ASSERT_EQUAL(t.forks_cleaned, 1);
	CU_ASSERT(strstr(t.out, "child exited 0\n") != NULL);
	CU_ASSERT_EQUAL(t.sigtraps_delivered, 0);
	pk_alloc_free(a);
}

static void test_exec(void)
{
	struct tracee t;
	struct pk_alloc *a;

	rec.extra_go = 1; /* the exec'ed image waits for a second byte */
	a = pd_trace(&t, "alloc-suite", "exec", NULL, 1);
	rec.extra_go = 0;
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT(pd_exited_ok(&t));
	CU_ASSERT_EQUAL(rec.execs, 1);
	CU_ASSERT_EQUAL(t.sigtraps_delivered, 0);
	CU_ASSERT(strstr(t.out, "bench ") != NULL);
	CU_ASSERT(rec.n >= 2); /* the malloc/free before the exec */
	pk_alloc_free(a);
}

static void test_cxx(void)
{
	struct tracee t;
	struct pk_alloc *a = pd_trace(&t, "alloc-cxx", NULL, NULL, 1);
	uint64_t lo = 0, hi = 0;
	struct tally s;

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT(pd_exited_ok(&t));
	CU_ASSERT_EQUAL(t.sigtraps_delivered, 0);
	CU_ASSERT_EQUAL_FATAL(pd_func_range(&t, "_Z12make_objectsv", &lo, &hi), 0);
	s = tally_caller(lo, hi, -1);
	CU_ASSERT_EQUAL(s.allocs, 100 + 50 + 1);
	CU_ASSERT_EQUAL(s.bytes, 100 * 40 + 50 * 100 + 40);
	CU_ASSERT_EQUAL(s.frees, 1);
	CU_ASSERT_EQUAL_FATAL(pd_func_range(&t, "_Z12drop_objectsv", &lo, &hi), 0);
	s = tally_caller(lo, hi, -1);
	CU_ASSERT_EQUAL(s.frees, 97 + 50);
	CU_ASSERT_EQUAL(s.unknown_frees, 0);
	CU_ASSERT_EQUAL(s.bytes_freed, 97 * 40 + 50 * 100);
	CU_ASSERT_EQUAL(check_leaks(&t, a), 3);
	/* a throwing new unwinds normally: its return is never hijacked */
	CU_ASSERT(strstr(t.out, "caught bad_alloc\n") != NULL);
	CU_ASSERT(pk_alloc_stats(a)->failed_allocs >= 1);
	CU_ASSERT_EQUAL_FATAL(pd_func_range(&t, "_Z12make_objectsv", &lo, &hi), 0);
	/* the malloc inside operator new is nested: no event names malloc
	 * with a caller in the program's functions that use new */
	for (size_t i = 0; i < rec.n; i++)
		CU_ASSERT(rec.v[i].is_free || rec.v[i].fn == PK_ALLOC_NEW ||
			  rec.v[i].caller < lo || rec.v[i].caller >= hi);
	pk_alloc_free(a);
}

static void test_detach_mid_run(void)
{
	struct tracee t;
	struct pk_alloc *a;
	unsigned long sum = 0, expect = 0;
	const char *s;
	const long n = 20000;
	char arg[32];

	for (long i = 0; i < n; i++)
		expect += (unsigned long)(i & 255);
	expect *= 2;
	snprintf(arg, sizeof(arg), "%ld", n);
	rec.detach_after = 3000; /* then at the next malloc entry */
	a = pd_trace(&t, "alloc-suite", "loop", arg, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_EQUAL(rec.detach_after, 0); /* the detach happened */
	/* the malloc being entered never returned to us: its hijacked
	 * return address was written back */
	CU_ASSERT(pk_alloc_stats(a)->lost_returns >= 1);
	{
		struct pk_probe_stats ps;

		/* the thread stopped at malloc's entry was moved from the
		 * out-of-line copy back to malloc */
		pk_probes_stats(pk_alloc_probes(a), &ps);
		CU_ASSERT(ps.moved >= 1);
		CU_ASSERT_EQUAL(ps.armed, 0);
	}
	CU_ASSERT_EQUAL(t.sigtraps_delivered, 0);
	CU_ASSERT(WIFEXITED(t.status));
	CU_ASSERT(pd_exited_ok(&t));
	s = strstr(t.out, "sum ");
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	sscanf(s, "sum %lu", &sum);
	CU_ASSERT_EQUAL(sum, expect);
	CU_ASSERT(rec.n >= 2990 && rec.n < 4 * (size_t)n); /* ~1 event per counted entry */
	rec.detach_after = 0;
	pk_alloc_free(a);
}

static void test_window(void)
{
	struct tracee t;
	struct pk_alloc *a;
	unsigned long sum = 0, expect = 0;
	const char *s;
	const long n = 20000;

	for (long i = 0; i < n; i++)
		expect += (unsigned long)(i & 255);
	expect *= 2;
	rec.disarm_at = 1000;
	rec.window = 0;
	a = pd_trace(&t, "alloc-suite", "loop", "20000", 1);
	rec.disarm_at = 0;
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_EQUAL(rec.window, 2);
	CU_ASSERT(rec.entries > rec.entries_at_rearm); /* probes live again */
	CU_ASSERT(pd_exited_ok(&t));
	CU_ASSERT_EQUAL(t.sigtraps_delivered, 0);
	s = strstr(t.out, "sum ");
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	sscanf(s, "sum %lu", &sum);
	CU_ASSERT_EQUAL(sum, expect);
	pk_alloc_free(a);
}

/* perfkitd run: traced from exec, before libc is mapped; the probe at
 * AT_ENTRY arms the allocator probes once the loader is done. */
static void test_run_mode(void)
{
	struct pk_alloc_hooks hooks = pd_hooks();
	struct tracee t;
	struct pk_alloc *a;
	struct pk_probes *p;
	struct module exe;
	uint64_t entry = 0, lo = 0, hi = 0;
	long hot = 0;
	int r;

	CU_ASSERT_EQUAL_FATAL(pd_spawn_traced(&t, "alloc-suite", "basic"), 0);
	a = pk_alloc_new(t.pid, &hooks);
	p = pk_alloc_probes(a);
	CU_ASSERT_EQUAL(pk_alloc_add_process(a, t.pid), 0); /* no libc yet */
	CU_ASSERT_EQUAL_FATAL(pk_probes_auxv_entry(t.pid, &entry), 0);
	CU_ASSERT(pk_probe_add(p, entry, "entry") >= 0);
	CU_ASSERT_EQUAL(pk_probes_arm(p, t.pid), 1);
	t.arm_at_entry = entry;
	t.alloc = a;
	if (pd_find_module(t.pid, t.path, &exe) == 0)
		t.exe_base = exe.base;
	rec.n = 0;
	rec.entries = 0;
	ptrace(PTRACE_CONT, t.pid, 0, 0); /* the exec SIGTRAP is not delivered */
	r = pd_run(&t, p);
	CU_ASSERT_EQUAL(r, 0);
	pd_read_output(&t, 1);
	close(t.in_fd);
	close(t.out_fd);
	CU_ASSERT(pd_exited_ok(&t));
	CU_ASSERT_EQUAL(t.armed_at_entry, 1);
	CU_ASSERT_EQUAL(t.sigtraps_delivered, 0);
	CU_ASSERT(strstr(t.out, "done\n") != NULL);
	CU_ASSERT_EQUAL_FATAL(pd_func_range(&t, "hot", &lo, &hi), 0);
	for (size_t i = 0; i < rec.n; i++)
		hot += !rec.v[i].is_free && rec.v[i].caller >= lo && rec.v[i].caller < hi;
	CU_ASSERT_EQUAL(hot, 10000);
	CU_ASSERT_EQUAL(check_leaks(&t, a), 6);
	/* traced from the start: the 3 blocks allocated before the go byte
	 * were seen too, so no free is unknown */
	CU_ASSERT_EQUAL(pk_alloc_stats(a)->unknown_frees, 0);
	pk_alloc_free(a);
}

/* ---- the engine alone: function probes (issue 5's use) ---- */

struct call_counts {
	int id_fib, id_escape, id_plain, id_callfirst;
	long entries[4], returns[4], lost[4];
	long timed[4];            /* returns through a timed stub */
	long max_depth;
};

static int on_call(void *ctx, struct pk_probe_event *ev)
{
	struct call_counts *c = ctx;
	int k = ev->probe == c->id_fib ? 0 : ev->probe == c->id_escape ? 1 :
		ev->probe == c->id_plain ? 2 : ev->probe == c->id_callfirst ? 3 : -1;

	if (k < 0)
		return 0;
	switch (ev->kind) {
	case PK_PROBE_ENTRY:
		c->entries[k]++;
		if ((long)ev->depth > c->max_depth)
			c->max_depth = ev->depth;
		ev->cookie = (uint64_t)ev->args[0]; /* comes back with the return */
		return 1;
	case PK_PROBE_RETURN:
		c->returns[k]++;
		if (ev->timed) {
			c->timed[k]++;
			CU_ASSERT(ev->duration_ns < 1000000000ull);
		} else if (k == 2) { /* plain(x) returns x + 1 */
			CU_ASSERT_EQUAL(ev->retval & 0xffffffff, (ev->cookie + 1) & 0xffffffff);
		}
		break;
	case PK_PROBE_LOST:
		c->lost[k]++;
		break;
	}
	return 0;
}

static void function_probes(int timed)
{
	struct tracee t;
	struct call_counts c;
	struct pk_probes *p;
	struct pk_probe_stats st;
	uint64_t lo = 0, hi = 0;
	int r;

	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL_FATAL(pd_start(&t, "probe-calls", NULL, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(pd_seize(&t), 0);
	p = pk_probes_new(t.pid, on_call, &c);
	CU_ASSERT_EQUAL(pk_probes_set_timed(p, timed), 0);
	CU_ASSERT_EQUAL_FATAL(pd_func_range(&t, "fib", &lo, &hi), 0);
	c.id_fib = pk_probe_add(p, lo, "fib");
	CU_ASSERT_EQUAL_FATAL(pd_func_range(&t, "escape", &lo, &hi), 0);
	c.id_escape = pk_probe_add(p, lo, "escape");
	CU_ASSERT_EQUAL_FATAL(pd_func_range(&t, "plain", &lo, &hi), 0);
	c.id_plain = pk_probe_add(p, lo, "plain");
	CU_ASSERT_EQUAL(pk_probe_add(p, lo, "plain alias"), c.id_plain);
	CU_ASSERT_EQUAL_FATAL(pd_func_range(&t, "callfirst", &lo, &hi), 0);
	c.id_callfirst = pk_probe_add(p, lo, "callfirst");
	r = pk_probes_arm(p, t.pid);
	CU_ASSERT_EQUAL(r, 4);
	ptrace(PTRACE_CONT, t.pid, 0, 0);
	pd_go(&t);
	CU_ASSERT_EQUAL(pd_run(&t, p), 0);
	pd_read_output(&t, 1);
	close(t.in_fd);
	close(t.out_fd);
	CU_ASSERT(pd_exited_ok(&t));
	CU_ASSERT_EQUAL(t.sigtraps_delivered, 0);
	CU_ASSERT(strstr(t.out, "fib 610\n") != NULL);
	/* fib(15): 1,973 calls, every one returns, nested 15 deep */
	CU_ASSERT_EQUAL(c.entries[0], 1973);
	CU_ASSERT_EQUAL(c.returns[0], 1973);
	CU_ASSERT_EQUAL(c.lost[0], 0);
	CU_ASSERT_EQUAL(c.max_depth, 14);
	/* escape() is left by longjmp each time: never returns, each pending
	 * return is dropped (by the next call at the same depth, the last
	 * one at exit) */
	CU_ASSERT_EQUAL(c.entries[1], 100);
	CU_ASSERT_EQUAL(c.returns[1], 0);
	CU_ASSERT_EQUAL(c.lost[1], 100);
	CU_ASSERT_EQUAL(c.entries[2], 100);
	CU_ASSERT_EQUAL(c.returns[2], 100);
	CU_ASSERT_EQUAL(c.lost[2], 0);
	/* its first instruction (a call) emulated, the result right */
	CU_ASSERT(strstr(t.out, "callfirst ok\n") != NULL);
	CU_ASSERT_EQUAL(c.entries[3], 100);
	CU_ASSERT_EQUAL(c.returns[3], 100);
	pk_probes_stats(p, &st);
	if (timed) {
		/* each call stopped once; a return stops only where fib's
		 * recursion makes two pending calls share a table entry */
		CU_ASSERT_EQUAL(c.timed[2], 100);
		CU_ASSERT_EQUAL(c.timed[3], 100);
		CU_ASSERT(c.timed[0] >= 1900);
		CU_ASSERT_EQUAL(st.timed, (uint64_t)(c.timed[0] + c.timed[2] + c.timed[3]));
		CU_ASSERT_EQUAL(st.traps, 1973 + 100 + 100 + 100 + (uint64_t)(1973 - c.timed[0]));
	} else {
		CU_ASSERT_EQUAL(c.timed[0] + c.timed[1] + c.timed[2] + c.timed[3], 0);
	}
	pk_probes_free(p);
}

static void test_function_probes(void)
{
	function_probes(0);
}

static void test_timed_returns(void)
{
	function_probes(1);
}

/*
 * Detach wherever the thread may be in a timed call: at plain()'s 50th
 * entry, step it k instructions (through the prefix, the out-of-line
 * copy, plain's body, the stub and the common tail, and back into main),
 * then detach there, unmapping the engine's code and table.  The program
 * must finish as if never probed.
 */
static int detach_after_steps(const char *fn, int k)
{
	struct tracee t;
	struct call_counts c;
	struct pk_probes *p;
	uint64_t lo = 0, hi = 0;
	int st, entries = 0, ok = 0;

	memset(&c, 0, sizeof(c));
	if (pd_start(&t, "probe-calls", NULL, NULL) != 0 || pd_seize(&t) != 0)
		return -1;
	p = pk_probes_new(t.pid, on_call, &c);
	pk_probes_set_timed(p, 1);
	if (pd_func_range(&t, fn, &lo, &hi) != 0)
		return -1;
	c.id_plain = pk_probe_add(p, lo, fn);
	c.id_fib = c.id_escape = c.id_callfirst = -1;
	if (pk_probes_arm(p, t.pid) != 1)
		return -1;
	ptrace(PTRACE_CONT, t.pid, 0, 0);
	pd_go(&t);
	while (waitpid(t.pid, &st, __WALL) == t.pid && WIFSTOPPED(st)) {
		int sig = WSTOPSIG(st) == SIGTRAP && (st >> 16) == 0 ? 0 : WSTOPSIG(st);

		if ((st >> 16) != 0) {
			sig = 0; /* an event stop (exit) */
		} else if (sig == 0 && pk_probe_handle_trap(p, t.pid) == 1 && ++entries == 50) {
			for (int i = 0; i < k; i++) {
				struct user_regs_struct regs;

				if (ptrace(PTRACE_SINGLESTEP, t.pid, 0, 0) < 0 ||
				    waitpid(t.pid, &st, __WALL) != t.pid || !WIFSTOPPED(st) ||
				    WSTOPSIG(st) != SIGTRAP || ptrace(PTRACE_GETREGS, t.pid, 0, &regs) < 0)
					break;
				if (regs.rip - 1 == lo)
					break; /* at the next call's int3: its trap is the detach's */
			}
			/* unmapping the stubs and the table too: a thread left
			 * in them would crash */
			ok = pk_probes_detach(p, &t.pid, 1, PK_PROBE_DETACH_UNMAP) == 0;
			ptrace(PTRACE_DETACH, t.pid, 0, 0);
			break;
		}
		ptrace(PTRACE_CONT, t.pid, 0, (void *)(long)sig);
	}
	pk_probes_free(p);
	pd_read_output(&t, 1);
	close(t.in_fd);
	close(t.out_fd);
	waitpid(t.pid, &t.status, 0);
	if (!ok || !pd_exited_ok(&t) || !strstr(t.out, "callfirst ok\ndone\n"))
		return 0;
	return 1;
}

static void test_timed_detach(void)
{
	/* the prefix is 24 instructions, the stub and tail 15, plain a few;
	 * callfirst's first instruction, a call, is emulated at the end of
	 * its prefix (3 more) */
	static const char *const fns[] = { "plain", "callfirst" };

	for (size_t f = 0; f < 2; f++)
		for (int k = 0; k <= 64; k++) {
			int r = detach_after_steps(fns[f], k);

			if (r != 1)
				fprintf(stderr, "detach after %d steps into a timed call of %s: %s\n", k,
					fns[f], r < 0 ? "setup failed" : "the program did not finish right");
			CU_ASSERT_EQUAL(r, 1);
		}
}

/* Bare stop: interrupt, wait, getregs, cont on a spinning child. */
static double bare_stop_us(int rounds)
{
	pid_t c = fork();
	struct timespec t0, t1;
	struct user_regs_struct regs;
	int st;

	if (c == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			__asm__ volatile("" ::: "memory");
	}
	ptrace(PTRACE_SEIZE, c, 0, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < rounds; i++) {
		ptrace(PTRACE_INTERRUPT, c, 0, 0);
		waitpid(c, &st, __WALL);
		ptrace(PTRACE_GETREGS, c, 0, &regs);
		ptrace(PTRACE_CONT, c, 0, 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	kill(c, SIGKILL);
	waitpid(c, &st, 0);
	return ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / rounds / 1e3;
}

static double bench_ns(struct pk_alloc **out, int arm, const char *n)
{
	struct tracee t;
	struct pk_alloc *a = pd_trace(&t, "alloc-suite", "bench", n, arm);
	double ns = 0;
	const char *s = strstr(t.out, "bench ");

	if (s)
		sscanf(s, "bench %lf", &ns);
	*out = a;
	return ns;
}

/* Not a timing assertion: prints the cost per event against a bare stop
 * measured in the same run (best of 5 rounds of each, interleaved, since
 * this machine's load drifts); asserts only the stop counts per event. */
static void test_cost(void)
{
	double bare = 1e30, ns0 = 1e30, ns1 = 1e30, per_stop;
	struct pk_probe_stats ps = { 0 };
	const long n = 1000;

	for (int round = 0; round < 5; round++) {
		struct pk_alloc *plain, *armed;
		double b = bare_stop_us(1000), x0 = bench_ns(&plain, 0, "1000"),
		       x1 = bench_ns(&armed, 1, "1000");

		CU_ASSERT_PTR_NOT_NULL_FATAL(armed);
		pk_probes_stats(pk_alloc_probes(armed), &ps);
		/* 3 stops per malloc+free pair: malloc entry + return, free entry */
		CU_ASSERT(ps.traps >= 3 * (uint64_t)n && ps.traps < 3 * (uint64_t)n + 200);
		if (b < bare)
			bare = b;
		if (x0 > 0 && x0 < ns0)
			ns0 = x0;
		if (x1 > 0 && x1 < ns1)
			ns1 = x1;
		pk_alloc_free(plain);
		pk_alloc_free(armed);
	}
	per_stop = (ns1 - ns0) / 3 / 1e3;
	fprintf(stderr,
		"\n  cost (best of 5): bare stop (interrupt+wait+getregs+cont) %.1f us; probed "
		"malloc+free pair %.1f us (unprobed %.3f us) = 3 stops: %.1f us per stop "
		"(%.2fx bare; entries carry a 4 KiB stack copy); engine time per trap %.1f us\n",
		bare, ns1 / 1e3, ns0 / 1e3, per_stop, per_stop / bare,
		ps.traps ? ps.handle_ns / 1e3 / ps.traps : 0.0);
}

int main(int argc, char **argv)
{
	const char *bd = getenv("top_builddir");
	CU_pSuite s;
	unsigned fails;

	(void)argc;
	if (bd)
		snprintf(builddir, sizeof(builddir), "%s", bd);
	else {
		/* run from the build dir: tests/unit/test-probe */
		snprintf(builddir, sizeof(builddir), "%s", argv[0]);
		char *p = strstr(builddir, "tests/unit/");
		if (p)
			*p = 0;
		if (!builddir[0] || p == builddir)
			snprintf(builddir, sizeof(builddir), ".");
	}
	{
		char path[600];

		pd_target_path(path, sizeof(path), "alloc-suite");
		if (access(path, X_OK) != 0) {
			fprintf(stderr, "test-probe: %s not built\n", path);
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
			fprintf(stderr, "test-probe: skipped: ptrace not permitted here\n");
			return 77;
		}
	}
	alarm(600);
	rec.v = calloc(MAX_EVENTS, sizeof(*rec.v));
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("probe", NULL, NULL);
	CU_add_test(s, "x86-64 decoder on glibc prologues", test_decoder);
	CU_add_test(s, "x86-64 decoder against objdump on libc", test_decoder_vs_objdump);
	CU_add_test(s, "hot/cold counts, realloc, aligned, leaks", test_basic);
	CU_add_test(s, "static executable", test_static);
	CU_add_test(s, "4 threads", test_threads);
	CU_add_test(s, "signal handler allocating", test_signal);
	CU_add_test(s, "fork while probed", test_fork);
	CU_add_test(s, "exec while probed", test_exec);
	CU_add_test(s, "C++ new/delete", test_cxx);
	CU_add_test(s, "detach mid-run", test_detach_mid_run);
	CU_add_test(s, "disarm and re-arm (sampling window)", test_window);
	CU_add_test(s, "run mode: armed at the entry point", test_run_mode);
	CU_add_test(s, "function probes: recursion, longjmp, return values", test_function_probes);
	CU_add_test(s, "function probes with timed returns", test_timed_returns);
	CU_add_test(s, "timed returns: detach at every step of a call", test_timed_detach);
	CU_add_test(s, "cost per event", test_cost);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures();
	CU_cleanup_registry();
	free(rec.v);
	return fails != 0;
}
