/*
 * test-unwind.c - CUnit tests for daemon/maps.c and the unwinder.
 *
 * The unwinder is tested the way perfkitd uses it: tests/targets/unw-target
 * (-O2, no frame pointers) builds a stack of known shape and spins; the
 * test seizes the thread, interrupts it, saves its registers and a copy of
 * its stack, detaches (the target runs on), and unwinds from the copy.
 * The truth is the target's own symbol table (read with libelf) placed at
 * the load address /proc/PID/maps shows: each frame must fall inside the
 * function that the target's structure says it must.
 */
#include <CUnit/Basic.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon/maps.h"
#include "daemon/unwind.h"
#include "daemon/unwind-internal.h"
#include "util.h"

#define MAX_FRAMES 512

static char target_pie[PATH_MAX + 64], target_nopie[PATH_MAX + 64];

/* ---- the tracee ---- */

struct target {
	pid_t pid;
	int fd;              /* read end of the target's fd 3 */
	char exe[PATH_MAX + 64];
};

/* Read exactly len bytes from fd within timeout_ms.  0 or -1. */
static int read_deadline(int fd, void *buf, size_t len, int timeout_ms)
{
	uint64_t end = pk_monotonic_ns() + (uint64_t)timeout_ms * 1000000;
	size_t got = 0;

	while (got < len) {
		struct pollfd p = { fd, POLLIN, 0 };
		uint64_t now = pk_monotonic_ns();
		ssize_t r;

		if (now >= end || poll(&p, 1, (int)((end - now) / 1000000) + 1) <= 0)
			return -1;
		r = read(fd, (char *)buf + got, len - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

/* Every target started and not yet reaped: a failed fatal assertion
 * leaves its test early, and nothing may be left running. */
static pid_t live[32];

static void kill_leftovers(void)
{
	for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++)
		if (live[i] > 0) {
			kill(live[i], SIGKILL);
			waitpid(live[i], NULL, 0);
			live[i] = 0;
		}
}

static void track(pid_t pid, pid_t replace)
{
	for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++)
		if (live[i] == replace) {
			live[i] = pid;
			return;
		}
}

static void target_stop(struct target *t)
{
	if (t->pid > 0) {
		track(0, t->pid);
		kill(t->pid, SIGKILL);
		waitpid(t->pid, NULL, 0);
		t->pid = 0;
	}
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

/* Start exe with args and wait for its first "ready" byte (or for its tid
 * when tid_out is given).  0 or -1 (nothing left running). */
static int target_start(struct target *t, const char *exe, const char *a1, const char *a2,
			int *tid_out)
{
	int p[2];

	memset(t, 0, sizeof(*t));
	t->fd = -1;
	snprintf(t->exe, sizeof(t->exe), "%s", exe);
	if (pipe(p) < 0)
		return -1;
	t->pid = fork();
	if (t->pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (t->pid == 0) {
		close(p[0]);
		/* Dies with the test, whatever kills the test. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (dup2(p[1], 3) < 0)
			_exit(127);
		execl(exe, exe, a1, a2, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	t->fd = p[0];
	track(t->pid, 0);
	if (tid_out) {
		if (read_deadline(t->fd, tid_out, sizeof(*tid_out), 5000) < 0)
			goto fail;
	} else {
		char c;

		if (read_deadline(t->fd, &c, 1, 5000) < 0 || c != 'r')
			goto fail;
	}
	return 0;
fail:
	target_stop(t);
	return -1;
}

/* ---- the truth: the target's symbol table at its load address ---- */

struct range {
	uint64_t lo, hi;
};

/* [start, end) of function name in the running target. */
static struct range symbol_range(const struct target *t, const struct pk_maps *maps,
				 const char *name)
{
	struct range r = { 0, 0 };
	uint64_t first_vaddr = UINT64_MAX, base = 0;
	char real[PATH_MAX];
	size_t phnum;
	Elf_Scn *scn = NULL;
	Elf *elf;
	int fd;

	if (!realpath(t->exe, real))
		return r;
	for (size_t i = 0; i < maps->n; i++)
		if (maps->v[i].path && strcmp(maps->v[i].path, real) == 0 &&
		    maps->v[i].offset == 0) {
			base = maps->v[i].start;
			break;
		}
	fd = open(real, O_RDONLY);
	if (fd < 0)
		return r;
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (elf && elf_getphdrnum(elf, &phnum) == 0) {
		for (size_t i = 0; i < phnum; i++) {
			GElf_Phdr ph;

			if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD &&
			    ph.p_vaddr < first_vaddr)
				first_vaddr = ph.p_vaddr & ~(uint64_t)4095;
		}
	}
	while (elf && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB)
			continue;
		data = elf_getdata(scn, NULL);
		for (size_t i = 0; data && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			const char *sname;

			if (!gelf_getsym(data, (int)i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC)
				continue;
			sname = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (sname && strcmp(sname, name) == 0 && first_vaddr != UINT64_MAX) {
				r.lo = base - first_vaddr + sym.st_value;
				r.hi = r.lo + sym.st_size;
			}
		}
	}
	elf_end(elf);
	close(fd);
	return r;
}

/* Is the frame inside function name?  Return addresses (frame > 0) are
 * checked at ip - 1: the call instruction, inside its caller. */
static int frame_in(const struct target *t, const struct pk_maps *maps, const uint64_t *ips,
		    int i, const char *name, int exact)
{
	struct range r = symbol_range(t, maps, name);
	uint64_t ip = (i == 0 || exact) ? ips[i] : ips[i] - 1;

	return r.lo != 0 && ip >= r.lo && ip < r.hi;
}

static int frame_in_file(const struct pk_maps *maps, uint64_t ip, const char *part)
{
	const struct pk_mapping *m = pk_maps_find(maps, ip - 1);

	return m && m->path && strstr(m->path, part) != NULL;
}

/* ---- one sample, as perfkitd takes it ---- */

struct sample {
	struct user_regs_struct regs;
	unsigned char *stack;
	size_t len;
};

static int wait_stop(pid_t tid)
{
	uint64_t end = pk_monotonic_ns() + 5000000000ULL;
	int status;

	while (pk_monotonic_ns() < end) {
		pid_t r = waitpid(tid, &status, __WALL | WNOHANG);

		if (r == tid)
			return WIFSTOPPED(status) ? 0 : -1;
		if (r < 0)
			return -1;
		usleep(1000);
	}
	return -1;
}

/* Seize tid, interrupt, save regs and up to copy_len bytes of stack from
 * rsp (clipped to the stack mapping), detach.  0 or -1. */
static int take_sample(pid_t pid, pid_t tid, size_t copy_len, struct sample *s)
{
	struct pk_maps maps = { 0 };
	const struct pk_mapping *sm;
	int ret = -1;

	memset(s, 0, sizeof(*s));
	if (ptrace(PTRACE_SEIZE, tid, 0, 0) < 0)
		return -1;
	if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) < 0 || wait_stop(tid) < 0)
		goto out;
	if (ptrace(PTRACE_GETREGS, tid, 0, &s->regs) < 0 || pk_maps_load(&maps, pid) < 0)
		goto out;
	sm = pk_maps_find_stack(&maps, s->regs.rsp);
	if (!sm)
		goto out;
	s->len = copy_len;
	if (s->len > sm->end - s->regs.rsp)
		s->len = sm->end - s->regs.rsp;
	s->stack = pk_xmalloc(s->len);
	{
		struct iovec l = { s->stack, s->len };
		struct iovec r = { (void *)(uintptr_t)s->regs.rsp, s->len };

		if (process_vm_readv(pid, &l, 1, &r, 1, 0) != (ssize_t)s->len)
			goto out;
	}
	ret = 0;
out:
	ptrace(PTRACE_DETACH, tid, 0, 0);
	pk_maps_release(&maps);
	return ret;
}

/*
 * A sample taken with the thread inside function leaf.  The target
 * announces itself just before its spin loop, so the first interrupt may
 * still find it returning from write(); retry until it spins (bounded).
 */
static int sample_in(const struct target *t, pid_t tid, size_t copy_len, const char *leaf,
		     struct sample *s)
{
	for (int tries = 0; tries < 100; tries++) {
		struct pk_maps maps = { 0 };
		struct range r;

		if (take_sample(t->pid, tid, copy_len, s) < 0 || pk_maps_load(&maps, t->pid) < 0) {
			free(s->stack);
			return -1;
		}
		r = symbol_range(t, &maps, leaf);
		pk_maps_release(&maps);
		if (s->regs.rip >= r.lo && s->regs.rip < r.hi)
			return 0;
		free(s->stack);
		s->stack = NULL;
		usleep(10000);
	}
	return -1;
}

/*
 * Start exe with a1 a2, sample it once inside leaf (copy_len bytes of
 * stack), load its maps and make an unwinder: NULL (a failure reported,
 * the target stopped) when it cannot be sampled.
 */
static struct pk_unwinder *start_sampled(struct target *t, const char *exe, const char *a1,
					 const char *a2, size_t copy_len, const char *leaf,
					 struct sample *s, struct pk_maps *maps)
{
	struct pk_unwinder *u;

	CU_ASSERT_FATAL(target_start(t, exe, a1, a2, NULL) == 0);
	if (sample_in(t, t->pid, copy_len, leaf, s) < 0) {
		CU_FAIL("cannot sample the target");
		target_stop(t);
		return NULL;
	}
	CU_ASSERT_FATAL(pk_maps_load(maps, t->pid) == 0);
	u = pk_unwinder_new(t->pid, maps);
	CU_ASSERT_FATAL(u != NULL);
	return u;
}

static int unwind_sample(struct pk_unwinder *u, const struct sample *s, uint64_t *ips,
			 int *complete)
{
	struct pk_unwind_input in = { &s->regs, s->regs.rsp, s->stack, s->len };

	return pk_unwind(u, &in, ips, MAX_FRAMES, complete);
}

/* ---- maps ---- */

static void test_maps_self(void)
{
	char dir[] = "/tmp/pk maps XXXXXX", spaced[PATH_MAX], gone[PATH_MAX], buf[PATH_MAX];
	struct pk_maps maps = { 0 };
	const struct pk_mapping *m;
	struct stat st;
	unsigned char page[4096];
	void *a, *b, *anon;
	int fd, local_var = 0;
	unsigned gen;

	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	snprintf(spaced, sizeof(spaced), "%s/a b (c).bin", dir);
	snprintf(gone, sizeof(gone), "%s/gone.bin", dir);
	memset(page, 'x', sizeof(page));
	fd = open(spaced, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	for (int i = 0; i < 3; i++)
		CU_ASSERT(write(fd, page, sizeof(page)) == (ssize_t)sizeof(page));
	CU_ASSERT_FATAL(fstat(fd, &st) == 0);
	a = mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, fd, 4096);
	close(fd);
	fd = open(gone, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	memset(page, 'g', sizeof(page));
	CU_ASSERT(write(fd, page, sizeof(page)) == (ssize_t)sizeof(page));
	b = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
	close(fd);
	unlink(gone);
	anon = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CU_ASSERT_FATAL(a != MAP_FAILED && b != MAP_FAILED && anon != MAP_FAILED);

	gen = maps.generation;
	CU_ASSERT_FATAL(pk_maps_load(&maps, getpid()) == 0);
	CU_ASSERT(maps.generation == gen + 1);
	CU_ASSERT(pk_maps_load(&maps, getpid()) == 0);
	CU_ASSERT(maps.generation == gen + 2);
	for (size_t i = 1; i < maps.n; i++)
		CU_ASSERT(maps.v[i - 1].end <= maps.v[i].start);

	/* A path with spaces and parentheses, at a file offset. */
	m = pk_maps_find(&maps, (uint64_t)(uintptr_t)a + 5000);
	CU_ASSERT_FATAL(m != NULL);
	CU_ASSERT(m->start == (uint64_t)(uintptr_t)a && m->end == m->start + 8192);
	CU_ASSERT(m->offset == 4096);
	CU_ASSERT(m->prot == PROT_READ);
	CU_ASSERT(m->inode == (uint64_t)st.st_ino);
	CU_ASSERT(m->dev_major == major(st.st_dev) && m->dev_minor == minor(st.st_dev));
	CU_ASSERT(m->path && strcmp(m->path, spaced) == 0);
	CU_ASSERT(!m->deleted && !m->special);
	CU_ASSERT(pk_maps_open_path(&maps, m, buf, sizeof(buf)) == 0);
	{
		char want[PATH_MAX + 64];

		snprintf(want, sizeof(want), "/proc/%d/root%s", (int)getpid(), spaced);
		CU_ASSERT(strcmp(buf, want) == 0);
	}
	CU_ASSERT(pk_maps_open_path(&maps, m, buf, 8) == -1);

	/* A deleted file: suffix stripped, readable through map_files. */
	m = pk_maps_find(&maps, (uint64_t)(uintptr_t)b);
	CU_ASSERT_FATAL(m != NULL);
	CU_ASSERT(m->deleted == 1);
	CU_ASSERT(m->path && strcmp(m->path, gone) == 0);
	CU_ASSERT(m->prot == (PROT_READ | PROT_EXEC));
	CU_ASSERT_FATAL(pk_maps_open_path(&maps, m, buf, sizeof(buf)) == 0);
	CU_ASSERT(strstr(buf, "/map_files/") != NULL);
	fd = open(buf, O_RDONLY);
	CU_ASSERT(fd >= 0);
	if (fd >= 0) {
		char c = 0;

		CU_ASSERT(read(fd, &c, 1) == 1 && c == 'g');
		close(fd);
	}

	/* Anonymous memory, the stack, the vDSO. */
	m = pk_maps_find(&maps, (uint64_t)(uintptr_t)anon);
	CU_ASSERT(m && m->path == NULL && pk_maps_open_path(&maps, m, buf, sizeof(buf)) == -1);
	m = pk_maps_find_stack(&maps, (uint64_t)(uintptr_t)&local_var);
	CU_ASSERT(m && m->special && m->path && strcmp(m->path, "[stack]") == 0);
	CU_ASSERT(pk_maps_find_stack(&maps, (uint64_t)(uintptr_t)a) == NULL);
	m = pk_maps_find(&maps, getauxval(AT_SYSINFO_EHDR));
	CU_ASSERT(m && m->special && strcmp(m->path, "[vdso]") == 0);
	CU_ASSERT(m && pk_maps_open_path(&maps, m, buf, sizeof(buf)) == -1);
	CU_ASSERT(pk_maps_find(&maps, 0) == NULL);
	CU_ASSERT(pk_maps_find(&maps, UINT64_MAX) == NULL);

	CU_ASSERT(pk_maps_load(&maps, 0x7ffffff0) < 0);
	CU_ASSERT(maps.generation == gen + 2); /* a failed load changes nothing */
	pk_maps_release(&maps);
	pk_maps_release(NULL);
	munmap(a, 8192);
	munmap(b, 4096);
	munmap(anon, 4096);
	unlink(spaced);
	rmdir(dir);
}

/* ---- frame-pointer step over a synthetic copy ---- */

static void test_fp_step(void)
{
	struct pk_maps maps = { 0 };
	struct pk_unwinder *u;
	uint64_t copy[16], base = 0x7f0000001000ULL, ip, sp, bp;
	uint64_t ret1 = (uint64_t)(uintptr_t)&test_fp_step + 4;
	uint64_t ret2 = (uint64_t)(uintptr_t)&target_start + 4;

	CU_ASSERT_FATAL(pk_maps_load(&maps, getpid()) == 0);
	u = pk_unwinder_new(getpid(), &maps);
	CU_ASSERT_FATAL(u != NULL);
	memset(copy, 0, sizeof(copy));
	/* frame record at slot 4: { saved bp -> slot 10, ret1 };
	 * at slot 10: { 0 (outermost), ret2 } */
	copy[4] = base + 10 * 8;
	copy[5] = ret1;
	copy[10] = 0;
	copy[11] = ret2;
	copy[2] = base + 1 * 8;  /* a bp pointing down the stack */
	copy[3] = ret1;
	copy[6] = base + 12 * 8;
	copy[7] = 0x10;          /* not code */
	u->stack = (const unsigned char *)copy;
	u->stack_lo = base;
	u->stack_hi = base + sizeof(copy);

	CU_ASSERT(pk_unwind_fp_step(u, base, base + 4 * 8, &ip, &sp, &bp) == 0);
	CU_ASSERT(ip == ret1 && sp == base + 6 * 8 && bp == base + 10 * 8);
	CU_ASSERT(pk_unwind_fp_step(u, sp, bp, &ip, &sp, &bp) == 0);
	CU_ASSERT(ip == ret2 && sp == base + 12 * 8 && bp == 0);
	/* Rejected: bp below sp, outside the copy, misaligned, saved bp
	 * going down, a return address outside code. */
	CU_ASSERT(pk_unwind_fp_step(u, base + 8 * 8, base + 4 * 8, &ip, &sp, &bp) == -1);
	CU_ASSERT(pk_unwind_fp_step(u, base, base + 15 * 8, &ip, &sp, &bp) == -1);
	CU_ASSERT(pk_unwind_fp_step(u, base, base + 64 * 8, &ip, &sp, &bp) == -1);
	CU_ASSERT(pk_unwind_fp_step(u, base, base + 4 * 8 + 1, &ip, &sp, &bp) == -1);
	CU_ASSERT(pk_unwind_fp_step(u, base, base + 2 * 8, &ip, &sp, &bp) == -1);
	CU_ASSERT(pk_unwind_fp_step(u, base, base + 6 * 8, &ip, &sp, &bp) == -1);
	u->stack = NULL;
	pk_unwinder_free(u);
	pk_unwinder_free(NULL);
	pk_unwinder_flush(NULL);
	errno = 0;
	CU_ASSERT(pk_unwinder_new(getpid(), NULL) == NULL && errno == EINVAL);
	pk_maps_release(&maps);
}

/* ---- unwinding live targets ---- */

/* Check frames [from, n) are: the libc start path, then _start. */
static void assert_tail_to_start(const struct target *t, const struct pk_maps *maps,
				 const uint64_t *ips, int from, int n)
{
	CU_ASSERT_FATAL(n > from);
	CU_ASSERT(frame_in(t, maps, ips, n - 1, "_start", 0));
	for (int i = from; i < n - 1; i++)
		CU_ASSERT(frame_in_file(maps, ips[i], "libc.so"));
}

static void recurse_case(const char *exe, int depth, size_t copy_len, int expect_complete)
{
	struct target t;
	struct pk_maps maps = { 0 };
	struct pk_unwinder *u;
	struct sample s;
	uint64_t ips[MAX_FRAMES];
	char arg[16];
	int n, complete, i;

	snprintf(arg, sizeof(arg), "%d", depth);
	u = start_sampled(&t, exe, "recurse", arg, copy_len, "spin_here", &s, &maps);
	if (!u)
		return;
	n = unwind_sample(u, &s, ips, &complete);

	CU_ASSERT(frame_in(&t, &maps, ips, 0, "spin_here", 0));
	if (expect_complete) {
		CU_ASSERT(complete == 1);
		CU_ASSERT_FATAL(n > depth + 4);
		for (i = 1; i <= depth + 1; i++)
			CU_ASSERT(frame_in(&t, &maps, ips, i, "recurse", 0));
		CU_ASSERT(frame_in(&t, &maps, ips, depth + 2, "run_recurse", 0));
		CU_ASSERT(frame_in(&t, &maps, ips, depth + 3, "main", 0));
		assert_tail_to_start(&t, &maps, ips, depth + 4, n);
		CU_ASSERT(pk_unwinder_stats(u)->complete == 1);
	} else {
		/* The copy ends inside the recursion: every frame found is
		 * right, and the walk says it stopped early. */
		CU_ASSERT(complete == 0);
		CU_ASSERT(n > 50 && n < depth + 2);
		for (i = 1; i < n; i++)
			CU_ASSERT(frame_in(&t, &maps, ips, i, "recurse", 0));
		CU_ASSERT(pk_unwinder_stats(u)->truncated == 1);
		CU_ASSERT(pk_unwinder_stats(u)->failures == 0);
	}
	CU_ASSERT(pk_unwinder_stats(u)->unwinds == 1);
	CU_ASSERT(pk_unwinder_stats(u)->remote_reads == 0);

	/* max cuts the walk: truncated, not complete. */
	n = pk_unwind(u, &(struct pk_unwind_input){ &s.regs, s.regs.rsp, s.stack, s.len }, ips, 5,
		      &complete);
	CU_ASSERT(n == 5 && complete == 0);
	CU_ASSERT(frame_in(&t, &maps, ips, 4, "recurse", 0));

	pk_unwinder_free(u);
	pk_maps_release(&maps);
	free(s.stack);
	target_stop(&t);
}

static void test_recurse_complete(void)
{
	recurse_case(target_pie, 200, 256 * 1024, 1);
}

static void test_recurse_truncated(void)
{
	recurse_case(target_pie, 200, 16 * 1024, 0);
}

static void test_recurse_nopie(void)
{
	recurse_case(target_nopie, 40, 64 * 1024, 1);
}

static void test_qsort(void)
{
	struct target t;
	struct pk_maps maps = { 0 };
	struct pk_unwinder *u;
	struct sample s;
	uint64_t ips[MAX_FRAMES];
	int n, complete, i;

	u = start_sampled(&t, target_pie, "qsort", NULL, 16 * 1024, "cmp_spin", &s, &maps);
	if (!u)
		return;
	n = unwind_sample(u, &s, ips, &complete);
	CU_ASSERT(complete == 1);
	CU_ASSERT(frame_in(&t, &maps, ips, 0, "cmp_spin", 0));
	/* cmp <- qsort's internals in libc (one or more) <- run_qsort */
	for (i = 1; i < n && frame_in_file(&maps, ips[i], "libc.so"); i++)
		;
	CU_ASSERT(i >= 2);
	CU_ASSERT_FATAL(i + 2 < n);
	CU_ASSERT(frame_in(&t, &maps, ips, i, "run_qsort", 0));
	CU_ASSERT(frame_in(&t, &maps, ips, i + 1, "main", 0));
	assert_tail_to_start(&t, &maps, ips, i + 2, n);
	CU_ASSERT(pk_unwinder_stats(u)->remote_reads == 0);
	pk_unwinder_free(u);
	pk_maps_release(&maps);
	free(s.stack);
	target_stop(&t);
}

/* Read the word at addr from the sample's stack copy. */
static int copy_word(const struct sample *s, uint64_t addr, uint64_t *v)
{
	if (addr < s->regs.rsp || addr + 8 > s->regs.rsp + s->len)
		return -1;
	memcpy(v, (const uint8_t *)s->stack + (addr - s->regs.rsp), 8);
	return 0;
}

/*
 * The rules pk_unwind_rule_at gives (what the jump backend's detours walk
 * with) find every frame the unwinder finds, 50 recursive frames through
 * main and libc's start to the outermost, which the rules mark as the end.
 */
static void test_rules_walk(void)
{
	struct target t;
	struct pk_maps maps = { 0 };
	struct pk_unwinder *u;
	struct pk_unwind_rule r;
	struct sample s;
	uint64_t ips[MAX_FRAMES], sp, bp, ra, cfa;
	int n, complete, i, ended = 0;

	u = start_sampled(&t, target_pie, "recurse", "50", 256 * 1024, "spin_here", &s, &maps);
	if (!u)
		return;
	n = unwind_sample(u, &s, ips, &complete);
	CU_ASSERT_FATAL(complete == 1 && n > 54);
	/* frame 0 by the rule at rip itself (a rule is asked for by return
	 * address: the call before it) */
	sp = s.regs.rsp;
	bp = s.regs.rbp;
	ra = s.regs.rip + 1;
	for (i = 0; i < n; i++) {
		CU_ASSERT_FATAL(pk_unwind_rule_at(u, ra, &r) == 0);
		if (r.end) {
			ended = i == n - 1;
			break;
		}
		cfa = (r.base_rbp ? bp : sp) + (uint64_t)(int64_t)r.cfa_off;
		if (r.rbp_off)
			CU_ASSERT_FATAL(copy_word(&s, cfa + (uint64_t)(int64_t)r.rbp_off, &bp) == 0);
		CU_ASSERT_FATAL(copy_word(&s, cfa - 8, &ra) == 0);
		sp = cfa;
		if (i + 1 == n) { /* the unwinder's end: a zero return address */
			ended = ra == 0;
			break;
		}
		CU_ASSERT_FATAL(ra == ips[i + 1]);
	}
	CU_ASSERT(ended);
	CU_ASSERT(frame_in(&t, &maps, ips, 51, "recurse", 0));
	/* no CFI: no rule (an address in no module) */
	CU_ASSERT(pk_unwind_rule_at(u, 0x1000, &r) < 0);
	pk_unwinder_free(u);
	pk_maps_release(&maps);
	free(s.stack);
	target_stop(&t);
}

static void test_signal_frame(void)
{
	static const unsigned char restore_rt[] = { 0x48, 0xc7, 0xc0, 0x0f, 0, 0, 0, 0x0f, 0x05 };
	unsigned char code[sizeof(restore_rt)];
	struct target t;
	struct pk_maps maps = { 0 };
	struct pk_unwinder *u;
	struct sample s;
	uint64_t ips[MAX_FRAMES];
	int n, complete;
	char c = 0;

	CU_ASSERT_FATAL(target_start(&t, target_pie, "signal", NULL, NULL) == 0);
	/* Signal it only once it spins in busy_until_signal, not earlier
	 * while its write() returns. */
	if (sample_in(&t, t.pid, 4096, "busy_until_signal", &s) < 0) {
		CU_FAIL("the target does not reach busy_until_signal");
		target_stop(&t);
		return;
	}
	free(s.stack);
	kill(t.pid, SIGUSR1);
	if (read_deadline(t.fd, &c, 1, 5000) < 0 || c != 's' ||
	    sample_in(&t, t.pid, 16 * 1024, "on_signal", &s) < 0) {
		CU_FAIL("cannot sample the target in its signal handler");
		target_stop(&t);
		return;
	}
	CU_ASSERT_FATAL(pk_maps_load(&maps, t.pid) == 0);
	u = pk_unwinder_new(t.pid, &maps);
	CU_ASSERT_FATAL(u != NULL);
	n = unwind_sample(u, &s, ips, &complete);
	CU_ASSERT(complete == 1);
	CU_ASSERT_FATAL(n >= 6);
	CU_ASSERT(frame_in(&t, &maps, ips, 0, "on_signal", 0));
	/* The handler returns to the signal trampoline, __restore_rt in libc:
	 * mov $15 (rt_sigreturn),%rax; syscall. */
	CU_ASSERT(frame_in_file(&maps, ips[1] + 1, "libc.so"));
	{
		struct iovec l = { code, sizeof(code) };
		struct iovec r = { (void *)(uintptr_t)ips[1], sizeof(code) };

		CU_ASSERT(process_vm_readv(t.pid, &l, 1, &r, 1, 0) == (ssize_t)sizeof(code) &&
			  memcmp(code, restore_rt, sizeof(code)) == 0);
	}
	/* Beyond the signal frame: the interrupted instruction itself. */
	CU_ASSERT(frame_in(&t, &maps, ips, 2, "busy_until_signal", 1));
	CU_ASSERT(frame_in(&t, &maps, ips, 3, "run_signal", 0));
	CU_ASSERT(frame_in(&t, &maps, ips, 4, "main", 0));
	assert_tail_to_start(&t, &maps, ips, 5, n);
	CU_ASSERT(pk_unwinder_stats(u)->remote_reads == 0);
	pk_unwinder_free(u);
	pk_maps_release(&maps);
	free(s.stack);
	target_stop(&t);
}

static void test_thread(void)
{
	struct target t;
	struct pk_maps maps = { 0 };
	struct pk_unwinder *u;
	struct sample s;
	uint64_t ips[MAX_FRAMES];
	int n, complete, tid = 0;

	CU_ASSERT_FATAL(target_start(&t, target_pie, "thread", NULL, &tid) == 0);
	CU_ASSERT(tid != t.pid);
	if (sample_in(&t, tid, 16 * 1024, "thread_inner", &s) < 0) {
		CU_FAIL("cannot sample the target's thread");
		target_stop(&t);
		return;
	}
	CU_ASSERT_FATAL(pk_maps_load(&maps, t.pid) == 0);
	CU_ASSERT(pk_maps_find_stack(&maps, s.regs.rsp) != NULL);
	u = pk_unwinder_new(t.pid, &maps);
	CU_ASSERT_FATAL(u != NULL);
	n = unwind_sample(u, &s, ips, &complete);
	CU_ASSERT(complete == 1);
	CU_ASSERT_FATAL(n >= 3);
	CU_ASSERT(frame_in(&t, &maps, ips, 0, "thread_inner", 0));
	CU_ASSERT(frame_in(&t, &maps, ips, 1, "thread_start", 0));
	/* start_thread and clone3's child, where the CFI ends the chain. */
	for (int i = 2; i < n; i++)
		CU_ASSERT(frame_in_file(&maps, ips[i], "libc.so"));
	CU_ASSERT(pk_unwinder_stats(u)->remote_reads == 0);
	pk_unwinder_free(u);
	pk_maps_release(&maps);
	free(s.stack);
	target_stop(&t);
}

/* A frame whose CFI is broken but whose frame pointer is right. */
static void test_fp_fallback(void)
{
	struct target t;
	struct pk_maps maps = { 0 };
	struct pk_unwinder *u;
	struct sample s;
	uint64_t ips[MAX_FRAMES];
	int n, complete;

	u = start_sampled(&t, target_pie, "fp", NULL, 16 * 1024, "spin_here", &s, &maps);
	if (!u)
		return;
	n = unwind_sample(u, &s, ips, &complete);
	CU_ASSERT(complete == 1);
	CU_ASSERT_FATAL(n >= 6);
	CU_ASSERT(frame_in(&t, &maps, ips, 0, "spin_here", 0));
	CU_ASSERT(frame_in(&t, &maps, ips, 1, "fp_only", 0));
	CU_ASSERT(frame_in(&t, &maps, ips, 2, "run_fp", 0));
	CU_ASSERT(frame_in(&t, &maps, ips, 3, "main", 0));
	assert_tail_to_start(&t, &maps, ips, 4, n);
	CU_ASSERT(pk_unwinder_stats(u)->fp_fallbacks == 1);
	pk_unwinder_free(u);
	pk_maps_release(&maps);
	free(s.stack);
	target_stop(&t);
}

/* Inside the vDSO, whose unwind tables exist only in the target's memory. */
static void test_vdso(void)
{
	struct target t;
	struct pk_maps maps = { 0 };
	struct pk_unwinder *u;
	struct sample s;
	uint64_t ips[MAX_FRAMES];
	const struct pk_mapping *m = NULL;
	int n, complete, i, tries;

	CU_ASSERT_FATAL(target_start(&t, target_pie, "vdso", NULL, NULL) == 0);
	CU_ASSERT_FATAL(pk_maps_load(&maps, t.pid) == 0);
	for (tries = 0; tries < 500; tries++) {
		if (take_sample(t.pid, t.pid, 16 * 1024, &s) < 0)
			break;
		m = pk_maps_find(&maps, s.regs.rip);
		if (m && m->special && strcmp(m->path, "[vdso]") == 0)
			break;
		m = NULL;
		free(s.stack);
		s.stack = NULL;
		usleep(1000);
	}
	if (!m) {
		/* Without a vDSO clock source (some hypervisors) clock_gettime
		 * is a system call: nothing to test here. */
		fprintf(stderr, "\n  skipped: clock_gettime never ran in the vDSO here\n");
		pk_maps_release(&maps);
		target_stop(&t);
		return;
	}
	u = pk_unwinder_new(t.pid, &maps);
	CU_ASSERT_FATAL(u != NULL);
	n = unwind_sample(u, &s, ips, &complete);
	CU_ASSERT(complete == 1);
	/* vDSO frames, clock_gettime in libc, then run_vdso and main. */
	for (i = 1; i < n && pk_maps_find(&maps, ips[i] - 1) == m; i++)
		;
	CU_ASSERT(frame_in_file(&maps, ips[i], "libc.so"));
	while (i < n && frame_in_file(&maps, ips[i], "libc.so"))
		i++;
	CU_ASSERT_FATAL(i + 2 < n);
	CU_ASSERT(frame_in(&t, &maps, ips, i, "run_vdso", 0));
	CU_ASSERT(frame_in(&t, &maps, ips, i + 1, "main", 0));
	assert_tail_to_start(&t, &maps, ips, i + 2, n);
	CU_ASSERT(pk_unwinder_stats(u)->remote_reads == 0);
	pk_unwinder_free(u);
	pk_maps_release(&maps);
	free(s.stack);
	target_stop(&t);
}

/* An IP outside every known mapping (as after a dlopen) makes the
 * unwinder read the maps again, once. */
static void test_maps_reload(void)
{
	struct target t;
	struct pk_maps maps = { 0 };
	struct pk_unwinder *u;
	struct sample s;
	uint64_t ips[MAX_FRAMES];
	int n, complete;

	CU_ASSERT_FATAL(target_start(&t, target_pie, "recurse", "3", NULL) == 0);
	if (sample_in(&t, t.pid, 16 * 1024, "spin_here", &s) < 0) {
		CU_FAIL("cannot sample the target");
		target_stop(&t);
		return;
	}
	maps.pid = t.pid;  /* nothing loaded yet */
	u = pk_unwinder_new(t.pid, &maps);
	CU_ASSERT_FATAL(u != NULL);
	n = unwind_sample(u, &s, ips, &complete);
	CU_ASSERT(maps.generation == 1 && maps.n > 0);
	CU_ASSERT(complete == 1);
	CU_ASSERT_FATAL(n == 1 + 4 + 2 + 3);
	CU_ASSERT(frame_in(&t, &maps, ips, 0, "spin_here", 0));
	CU_ASSERT(frame_in(&t, &maps, ips, 4, "recurse", 0));
	CU_ASSERT(frame_in(&t, &maps, ips, 5, "run_recurse", 0));
	assert_tail_to_start(&t, &maps, ips, 7, n);
	pk_unwinder_free(u);
	pk_maps_release(&maps);
	free(s.stack);
	target_stop(&t);
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Not a timing assertion: prints the cost of a 21-frame unwind (cold, then
 * warm over many repeats) and checks the warm path reads nothing from the
 * target.
 */
static void test_steady_state(void)
{
	struct target t;
	struct pk_maps maps = { 0 };
	struct pk_unwinder *u;
	struct sample s;
	uint64_t ips[MAX_FRAMES], t0, t1, t2, cpu0, cpu1;
	int n = 0, complete = 0, reps = 2000;

	u = start_sampled(&t, target_pie, "recurse", "14", 16 * 1024, "spin_here", &s, &maps);
	if (!u)
		return;
	/* Stopped, so the spinning target does not compete for the CPU. */
	kill(t.pid, SIGSTOP);
	t0 = pk_monotonic_ns();
	n = unwind_sample(u, &s, ips, &complete);
	t1 = pk_monotonic_ns();
	cpu0 = thread_cpu_ns();
	for (int i = 0; i < reps; i++) {
		int c, m = unwind_sample(u, &s, ips, &c);

		CU_ASSERT_FATAL(m == n && c == 1);
	}
	t2 = pk_monotonic_ns();
	cpu1 = thread_cpu_ns();
	CU_ASSERT(n == 21 && complete == 1);
	CU_ASSERT(pk_unwinder_stats(u)->remote_reads == 0);
	CU_ASSERT(pk_unwinder_stats(u)->complete == (uint64_t)reps + 1);
	fprintf(stderr, "\n  unwind of %d frames: first %.1f us, then %.2f us each over %d "
		"(%.2f us CPU); remote reads %llu\n", n, (double)(t1 - t0) / 1e3,
		(double)(t2 - t1) / 1e3 / reps, reps, (double)(cpu1 - cpu0) / 1e3 / reps,
		(unsigned long long)pk_unwinder_stats(u)->remote_reads);

	/* max equal to the depth still ends complete; one less does not. */
	{
		struct pk_unwind_input in = { &s.regs, s.regs.rsp, s.stack, s.len };
		int c = -1;

		CU_ASSERT(pk_unwind(u, &in, ips, n, &c) == n && c == 1);
		CU_ASSERT(pk_unwind(u, &in, ips, n - 1, &c) == n - 1 && c == 0);
		CU_ASSERT(pk_unwind(u, &in, ips, 1, &c) == 1 && c == 0 && ips[0] == s.regs.rip);
	}

	/* After a flush (exec) everything is rebuilt and still right. */
	pk_unwinder_flush(u);
	CU_ASSERT(unwind_sample(u, &s, ips, &complete) == n && complete == 1);
	CU_ASSERT(frame_in(&t, &maps, ips, 0, "spin_here", 0));
	pk_unwinder_free(u);
	pk_maps_release(&maps);
	free(s.stack);
	target_stop(&t);
}

/* The targets sit beside this program: tests/unit/.. /targets/. */
static int find_targets(void)
{
	char self[PATH_MAX];
	ssize_t r = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (r <= 0)
		return -1;
	self[r] = '\0';
	for (int i = 0; i < 2; i++) {
		slash = strrchr(self, '/');
		if (!slash)
			return -1;
		*slash = '\0';
	}
	snprintf(target_pie, sizeof(target_pie), "%s/targets/unw-target", self);
	snprintf(target_nopie, sizeof(target_nopie), "%s/targets/unw-target-nopie", self);
	return access(target_pie, X_OK) == 0 && access(target_nopie, X_OK) == 0 ? 0 : -1;
}

/* Can this process trace a child at all (containers without SYS_PTRACE)? */
static int can_ptrace(void)
{
	pid_t pid = fork();
	int ok, status;

	if (pid < 0)
		return 0;
	if (pid == 0) {
		pause();
		_exit(0);
	}
	ok = ptrace(PTRACE_SEIZE, pid, 0, 0) == 0;
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return ok;
}

int main(void)
{
	CU_pSuite suite;
	int failures;

	if (find_targets() < 0) {
		fprintf(stderr, "test-unwind: tests/targets/unw-target not built\n");
		return 1;
	}
	if (!can_ptrace()) {
		fprintf(stderr, "test-unwind: skipped: ptrace is not permitted here "
			"(needs CAP_SYS_PTRACE or kernel.yama.ptrace_scope=0)\n");
		return 77;
	}
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	suite = CU_add_suite("unwind", NULL, NULL);
	if (!suite ||
	    !CU_add_test(suite, "maps of this process", test_maps_self) ||
	    !CU_add_test(suite, "frame-pointer step", test_fp_step) ||
	    !CU_add_test(suite, "recursion 200 deep, complete", test_recurse_complete) ||
	    !CU_add_test(suite, "recursion 200 deep, 16 KiB copy", test_recurse_truncated) ||
	    !CU_add_test(suite, "recursion, non-PIE", test_recurse_nopie) ||
	    !CU_add_test(suite, "through libc's qsort", test_qsort) ||
	    !CU_add_test(suite, "simple rules walk like the unwinder", test_rules_walk) ||
	    !CU_add_test(suite, "signal handler frame", test_signal_frame) ||
	    !CU_add_test(suite, "second thread", test_thread) ||
	    !CU_add_test(suite, "inside the vDSO", test_vdso) ||
	    !CU_add_test(suite, "frame-pointer fallback", test_fp_fallback) ||
	    !CU_add_test(suite, "maps reloaded for an unknown IP", test_maps_reload) ||
	    !CU_add_test(suite, "steady state", test_steady_state)) {
		CU_cleanup_registry();
		return 1;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	kill_leftovers();
	failures = (int)CU_get_number_of_failures();
	CU_cleanup_registry();
	return failures != 0;
}
