/*
 * probe-driver.c - the ptrace driver of test-probe (see probe-driver.h):
 * what perfkitd's tracer does around the probe engine, reduced to what the
 * tests need.  Assertions inside check the engine's answers on the way.
 */
#include "tests/unit/probe-driver.h"

#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>
struct recorded rec;

/* The stack hook runs at every counted entry: used to detach while the
 * thread is inside malloc (stopped at its entry, return hijacked). */
static uint64_t on_stack(void *ctx, pid_t tid, const struct user_regs_struct *regs,
			 const void *stack, size_t stack_len)
{
	uint64_t ret;

	(void)ctx;
	(void)tid;
	rec.entries++;
	/* the copy starts at rsp: its first word is the return address */
	if (stack_len >= 8) {
		memcpy(&ret, stack, 8);
		rec.stack_ok += ret != 0;
	}
	if (stack_len > rec.max_stack_len)
		rec.max_stack_len = stack_len;
	if (rec.detach_after > 0 && rec.entries >= rec.detach_after &&
	    regs->rip == rec.malloc_addr)
		rec.detach_now = 1;
	return (uint64_t)rec.entries;
}

static void on_event(void *ctx, const struct pk_alloc_event *ev)
{
	(void)ctx;
	if (rec.n < MAX_EVENTS)
		rec.v[rec.n++] = *ev;
}

struct pk_alloc_hooks pd_hooks(void)
{
	struct pk_alloc_hooks h = { on_stack, on_event, NULL };

	return h;
}

char builddir[256];

void pd_target_path(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/tests/targets/%s", builddir, name);
}

/* ---- ELF symbol lookup (enough for the tests) ---- */

typedef void (*sym_fn)(void *ctx, const char *name, uint64_t value, uint64_t size);

static int elf_symbols(const char *path, int want_dynsym, sym_fn fn, void *ctx)
{
	int fd = open(path, O_RDONLY);
	Elf *e;
	Elf_Scn *scn = NULL;

	if (fd < 0)
		return -1;
	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ, NULL);
	while (e && (scn = elf_nextscn(e, scn)) != NULL) {
		GElf_Shdr sh;
		Elf_Data *d;

		gelf_getshdr(scn, &sh);
		if (sh.sh_type != (want_dynsym ? SHT_DYNSYM : SHT_SYMTAB))
			continue;
		d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym s;
			const char *name;

			gelf_getsym(d, (int)i, &s);
			if (GELF_ST_TYPE(s.st_info) != STT_FUNC && GELF_ST_TYPE(s.st_info) != STT_GNU_IFUNC)
				continue;
			if (s.st_shndx == SHN_UNDEF)
				continue;
			name = elf_strptr(e, sh.sh_link, s.st_name);
			if (name)
				fn(ctx, name, s.st_value, s.st_size);
		}
	}
	if (e)
		elf_end(e);
	close(fd);
	return 0;
}


/* Find the module whose path contains `needle`: load base (offset 0
 * mapping) and executable range. */
int pd_find_module(pid_t pid, const char *needle, struct module *m)
{
	char path[64], line[1024];
	FILE *f;
	int found = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	memset(m, 0, sizeof(*m));
	while (fgets(line, sizeof(line), f)) {
		unsigned long long s, e, off;
		char perms[8], file[512] = "";

		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %511s", &s, &e, perms, &off, file) < 4)
			continue;
		if (!strstr(file, needle))
			continue;
		if (!found || s < m->base) {
			if (off == 0)
				m->base = s;
		}
		snprintf(m->path, sizeof(m->path), "%s", file);
		if (perms[2] == 'x') {
			m->xstart = s;
			m->xend = e;
		}
		found = 1;
	}
	fclose(f);
	return found ? 0 : -1;
}

/* Lowest PT_LOAD address (page-aligned): 0 for PIE and shared objects,
 * 0x400000 for a classic executable. */
static uint64_t elf_min_vaddr(const char *path)
{
	int fd = open(path, O_RDONLY);
	uint64_t min = 0;
	size_t n = 0;
	Elf *e;

	if (fd < 0)
		return 0;
	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (e && elf_getphdrnum(e, &n) == 0) {
		min = UINT64_MAX;
		for (size_t i = 0; i < n; i++) {
			GElf_Phdr ph;

			if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD && ph.p_vaddr < min)
				min = ph.p_vaddr & ~(uint64_t)4095;
		}
		if (min == UINT64_MAX)
			min = 0;
	}
	if (e)
		elf_end(e);
	close(fd);
	return min;
}

struct add_ctx {
	struct pk_alloc *a;
	const struct module *m;
	int added;
};

static void add_sym(void *ctx, const char *name, uint64_t value, uint64_t size)
{
	struct add_ctx *c = ctx;

	(void)size;
	if (pk_alloc_add_function(c->a, name, c->m->base + value, c->m->xstart, c->m->xend) == 1)
		c->added++;
	if (strcmp(name, "malloc") == 0)
		rec.malloc_addr = c->m->base + value;
}

struct range_ctx {
	const char *name;
	uint64_t start, end;
};

static void find_sym(void *ctx, const char *name, uint64_t value, uint64_t size)
{
	struct range_ctx *c = ctx;

	if (strcmp(name, c->name) == 0) {
		c->start = value;
		c->end = value + size;
	}
}

/* [start, end) of function `name` in the tracee's executable (PIE). */
int pd_func_range(struct tracee *t, const char *name, uint64_t *start, uint64_t *end)
{
	struct range_ctx c = { name, 0, 0 };

	elf_symbols(t->path, 0, find_sym, &c);
	if (!c.start)
		return -1;
	*start = t->exe_base - elf_min_vaddr(t->path) + c.start;
	*end = t->exe_base - elf_min_vaddr(t->path) + c.end;
	return 0;
}

/* ---- the driver ---- */

static void add_tid(struct tracee *t, pid_t tid)
{
	for (size_t i = 0; i < t->ntids; i++)
		if (t->tids[i] == tid)
			return;
	if (t->ntids < MAX_TIDS)
		t->tids[t->ntids++] = tid;
}

static void drop_tid(struct tracee *t, pid_t tid)
{
	for (size_t i = 0; i < t->ntids; i++)
		if (t->tids[i] == tid) {
			t->tids[i] = t->tids[--t->ntids];
			return;
		}
}

void pd_read_output(struct tracee *t, int block)
{
	for (;;) {
		ssize_t r;

		if (!block)
			fcntl(t->out_fd, F_SETFL, O_NONBLOCK);
		r = read(t->out_fd, t->out + t->outlen, sizeof(t->out) - 1 - t->outlen);
		if (r <= 0)
			break;
		t->outlen += (size_t)r;
		t->out[t->outlen] = 0;
	}
}

/* Start the tracee and wait for its "ready" line; it is not traced yet. */
int pd_start(struct tracee *t, const char *name, const char *arg1, const char *arg2)
{
	int in[2], out[2];
	char line[16];

	char rel[300];

	memset(t, 0, sizeof(*t));
	pd_target_path(rel, sizeof(rel), name);
	if (!realpath(rel, t->path) || access(t->path, X_OK) != 0 || pipe(in) || pipe(out))
		return -1;
	t->pid = fork();
	if (t->pid == 0) {
		char *argv[] = { t->path, (char *)arg1, (char *)arg2, NULL };

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		execv(t->path, argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	t->in_fd = in[1];
	t->out_fd = out[0];
	if (read(t->out_fd, line, 6) != 6 || memcmp(line, "ready\n", 6) != 0)
		return -1;
	return 0;
}

int pd_spawn_traced(struct tracee *t, const char *name, const char *arg1)
{
	int in[2], out[2], st;
	char rel[300];

	memset(t, 0, sizeof(*t));
	pd_target_path(rel, sizeof(rel), name);
	if (!realpath(rel, t->path) || pipe(in) || pipe(out))
		return -1;
	t->pid = fork();
	if (t->pid == 0) {
		char *argv[] = { t->path, (char *)arg1, NULL };

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		ptrace(PTRACE_TRACEME, 0, 0, 0);
		execv(t->path, argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	t->in_fd = in[1];
	t->out_fd = out[0];
	if (waitpid(t->pid, &st, __WALL) != t->pid || !WIFSTOPPED(st) || WSTOPSIG(st) != SIGTRAP)
		return -1;
	if (ptrace(PTRACE_SETOPTIONS, t->pid, 0,
		   (void *)(long)(PTRACE_O_TRACECLONE | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
				  PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT)) < 0)
		return -1;
	add_tid(t, t->pid);
	pd_go(t);
	return 0;
}

/* Seize and stop the tracee (it is blocked in read(0)). */
int pd_seize(struct tracee *t)
{
	int st;
	long opts = PTRACE_O_TRACECLONE | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
		    PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT;
	struct module exe;

	if (ptrace(PTRACE_SEIZE, t->pid, 0, (void *)opts) < 0)
		return -1;
	if (ptrace(PTRACE_INTERRUPT, t->pid, 0, 0) < 0)
		return -1;
	if (waitpid(t->pid, &st, __WALL) != t->pid || !WIFSTOPPED(st))
		return -1;
	add_tid(t, t->pid);
	if (pd_find_module(t->pid, t->path, &exe) == 0)
		t->exe_base = exe.base;
	return 0;
}

/* Resolve and register allocator functions of libc and libstdc++. */
int pd_add_allocators(struct tracee *t, struct pk_alloc *a)
{
	static const char *mods[] = { "/libc.so", "/libstdc++.so" };
	int total = 0;

	for (size_t i = 0; i < 2; i++) {
		struct module m;
		struct add_ctx c = { a, &m, 0 };

		if (pd_find_module(t->pid, mods[i], &m) < 0)
			continue;
		elf_symbols(m.path, 1, add_sym, &c);
		if (getenv("PROBE_DEBUG"))
			fprintf(stderr, "%s: %d allocator probes\n", m.path, c.added);
		total += c.added;
	}
	return total;
}

void pd_go(struct tracee *t)
{
	if (write(t->in_fd, "g", 1) != 1)
		perror("write");
}

/* Stop every thread but `current` (already stopped), settle traps, detach
 * the engine, then detach ptrace. */
static int detach_all(struct tracee *t, struct pk_probes *p, pid_t current, int flags)
{
	int sigs[MAX_TIDS] = { 0 };
	int err;

	for (size_t i = 0; i < t->ntids; i++) {
		pid_t tid = t->tids[i];
		int st;

		if (tid == current)
			continue;
		if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) < 0)
			continue;
		for (;;) {
			if (waitpid(tid, &st, __WALL) != tid)
				break;
			if (!WIFSTOPPED(st))
				break;
			if ((st >> 16) == 0 && WSTOPSIG(st) == SIGTRAP) {
				if (pk_probe_handle_trap(p, tid) != 1)
					sigs[i] = SIGTRAP;
				break;
			}
			if ((st >> 16) == 0) {
				sigs[i] = WSTOPSIG(st);
				break;
			}
			if (pk_probe_trap_pending(p, tid)) {
				ptrace(PTRACE_CONT, tid, 0, 0);
				continue;
			}
			break;
		}
	}
	err = pk_probes_detach(p, t->tids, t->ntids, flags);
	for (size_t i = 0; i < t->ntids; i++)
		ptrace(PTRACE_DETACH, t->tids[i], 0, (void *)(long)sigs[i]);
	return err;
}

/* Run until the leader exits (or detach is requested and done). */
int pd_run(struct tracee *t, struct pk_probes *p)
{
	int debug = getenv("PROBE_DEBUG") != NULL;

	for (;;) {
		int st, sig = 0;
		pid_t tid = waitpid(-1, &st, __WALL);

		if (tid < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (WIFEXITED(st) || WIFSIGNALED(st)) {
			if (tid == t->pid) {
				t->status = st;
				t->exited = 1;
				pk_probes_forget(p);
				return 0;
			}
			drop_tid(t, tid);
			continue;
		}
		if (!WIFSTOPPED(st))
			continue;
		if (debug) {
			struct user_regs_struct r;

			ptrace(PTRACE_GETREGS, tid, 0, &r);
			fprintf(stderr, "stop tid %d status %#x rip %#llx\n", (int)tid, st,
				(unsigned long long)r.rip);
		}
		switch (st >> 16) {
		case PTRACE_EVENT_CLONE: {
			unsigned long nt = 0;

			ptrace(PTRACE_GETEVENTMSG, tid, 0, &nt);
			add_tid(t, (pid_t)nt);
			break;
		}
		case PTRACE_EVENT_FORK: {
			unsigned long child = 0;
			int cst;

			ptrace(PTRACE_GETEVENTMSG, tid, 0, &child);
			waitpid((pid_t)child, &cst, __WALL);
			if (pk_probes_clean_child(p, (pid_t)child, tid) == 0)
				t->forks_cleaned++;
			ptrace(PTRACE_DETACH, (pid_t)child, 0, 0);
			break;
		}
		case PTRACE_EVENT_EXIT:
			pk_probes_thread_exit(p, tid); /* (pk_alloc_thread_exit in perfkitd) */
			break;
		case PTRACE_EVENT_EXEC:
			pk_probes_forget(p);
			rec.execs++;
			break;
		case 0:
			if (WSTOPSIG(st) == SIGTRAP) {
				struct user_regs_struct before;
				int at_entry = 0, r;

				if (t->arm_at_entry && !t->armed_at_entry &&
				    ptrace(PTRACE_GETREGS, tid, 0, &before) == 0)
					at_entry = before.rip - 1 == t->arm_at_entry;
				r = pk_probe_handle_trap(p, tid);
				if (at_entry && r == 1) {
					/* libc is mapped now: find and arm from this stop */
					CU_ASSERT(pk_alloc_add_process(t->alloc, t->pid) >= 9);
					CU_ASSERT(pk_probes_arm(p, tid) >= 9);
					t->armed_at_entry = 1;
				}

				if (r != 1) {
					sig = SIGTRAP;
					t->sigtraps_delivered++;
				}
				if (rec.disarm_at > 0 && rec.window == 0 &&
				    rec.entries >= rec.disarm_at) {
					CU_ASSERT(pk_probes_disarm(p) >= 9);
					rec.window = 1;
					ptrace(PTRACE_INTERRUPT, t->pid, 0, 0);
				}
				if (rec.detach_now && r == 1) {
					rec.detach_now = 0;
					rec.detach_after = 0;
					return detach_all(t, p, tid, PK_PROBE_DETACH_UNMAP) < 0 ? -1 : 1;
				}
			} else {
				sig = WSTOPSIG(st);
			}
			break;
		case PTRACE_EVENT_STOP:
			if (rec.window == 1 && tid == t->pid) {
				CU_ASSERT(pk_probes_arm(p, tid) >= 9);
				rec.window = 2;
				rec.entries_at_rearm = rec.entries;
			}
			break;
		default:
			break;
		}
		ptrace(PTRACE_CONT, tid, 0, (void *)(long)sig);
	}
}

/* Start, seize, arm, go, run to the end.  Returns the tracker. */
struct pk_alloc *pd_trace(struct tracee *t, const char *name, const char *a1, const char *a2,
			      int arm)
{
	struct pk_alloc_hooks hooks = pd_hooks();
	struct pk_alloc *a;
	int r;

	rec.n = 0;
	rec.entries = 0;
	rec.execs = 0;
	rec.detach_now = 0;
	if (pd_start(t, name, a1, a2) < 0 || pd_seize(t) < 0)
		return NULL;
	a = pk_alloc_new(t->pid, &hooks);
	rec.stack_ok = 0;
	rec.max_stack_len = 0;
	CU_ASSERT_EQUAL(pk_probes_set_stack_copy(pk_alloc_probes(a), 4096), 0);
	if (arm) {
		/* 9 distinct in glibc 2.36, + libstdc++'s non-tail-jump news;
		 * the test's own lookup then finds nothing more */
		r = pk_alloc_add_process(a, t->pid);
		CU_ASSERT(r >= 9);
		CU_ASSERT_EQUAL(pd_add_allocators(t, a), 0);
		r = pk_probes_arm(pk_alloc_probes(a), t->pid);
		CU_ASSERT(r >= 9);
	}
	ptrace(PTRACE_CONT, t->pid, 0, 0);
	pd_go(t);
	if (rec.extra_go)
		pd_go(t);
	r = pd_run(t, pk_alloc_probes(a));
	CU_ASSERT(r >= 0);
	if (r == 1) /* detached: reap */
		waitpid(t->pid, &t->status, 0);
	pd_read_output(t, 1);
	close(t->in_fd);
	close(t->out_fd);
	return a;
}

int pd_exited_ok(const struct tracee *t)
{
	return WIFEXITED(t->status) && WEXITSTATUS(t->status) == 0;
}
