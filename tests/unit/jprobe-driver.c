/*
 * jprobe-driver.c - the ptrace driver of test-jprobe and of the jprobe
 * benchmark (see jprobe-driver.h): what perfkitd will do around the jump
 * backend, reduced to what the tests need.
 */
#include "tests/unit/jprobe-driver.h"

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
#include <time.h>
#include <unistd.h>

const char *const jd_fn_names[JD_NFN] = { "malloc", "free", "calloc", "realloc",
					  "posix_memalign", "memalign", "valloc", "pvalloc",
					  "reallocarray" };

typedef void (*sym_fn)(void *ctx, const char *name, uint64_t value, uint64_t size);

static int elf_symbols(const char *path, int dyn, sym_fn fn, void *ctx, uint64_t *min_vaddr)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf_Scn *scn = NULL;
	size_t nph = 0;
	Elf *e;

	if (fd < 0)
		return -1;
	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (e && min_vaddr && elf_getphdrnum(e, &nph) == 0) {
		*min_vaddr = UINT64_MAX;
		for (size_t i = 0; i < nph; i++) {
			GElf_Phdr ph;

			if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD &&
			    ph.p_vaddr < *min_vaddr)
				*min_vaddr = ph.p_vaddr & ~(uint64_t)4095;
		}
		if (*min_vaddr == UINT64_MAX)
			*min_vaddr = 0;
	}
	while (e && (scn = elf_nextscn(e, scn)) != NULL) {
		GElf_Shdr sh;
		Elf_Data *d;

		gelf_getshdr(scn, &sh);
		if (sh.sh_type != (dyn ? SHT_DYNSYM : SHT_SYMTAB) || !sh.sh_entsize)
			continue;
		d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym s;
			const char *name;

			gelf_getsym(d, (int)i, &s);
			if (GELF_ST_TYPE(s.st_info) != STT_FUNC || s.st_shndx == SHN_UNDEF)
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

/* Load base and path of the mapping of pid whose path contains needle. */
static int find_module(pid_t pid, const char *needle, char *path, size_t pathlen, uint64_t *base)
{
	char mp[64], line[1024];
	int found = 0;
	FILE *f;

	snprintf(mp, sizeof(mp), "/proc/%d/maps", (int)pid);
	f = fopen(mp, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long s, e, off;
		char perms[8], file[512] = "";

		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %511s", &s, &e, perms, &off, file) < 5)
			continue;
		if (!strstr(file, needle) || off != 0 || found)
			continue;
		*base = s;
		snprintf(path, pathlen, "%s", file);
		found = 1;
	}
	fclose(f);
	return found ? 0 : -1;
}

int jd_peek(pid_t pid, uint64_t addr, void *buf, size_t n)
{
	char path[64];
	ssize_t r;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	r = pread(fd, buf, n, (off_t)addr);
	close(fd);
	return r == (ssize_t)n ? 0 : -1;
}

struct add_ctx {
	struct pk_jprobes *j;
	uint64_t base;
	int *ids;
};

static void add_sym(void *ctx, const char *name, uint64_t value, uint64_t size)
{
	struct add_ctx *c = ctx;

	for (int i = 0; i < JD_NFN; i++) {
		if (strcmp(name, jd_fn_names[i]) != 0)
			continue;
		c->ids[i] = pk_jprobe_add(c->j, c->base + value, size, name,
					  i == JD_POSIX_MEMALIGN ? PK_JPROBE_OUT_ARG0 : 0);
	}
}

int jd_add_allocators(struct jd_target *t, struct pk_jprobes *j, int ids[JD_NFN])
{
	char path[512];
	struct add_ctx c = { j, 0, ids };

	for (int i = 0; i < JD_NFN; i++)
		ids[i] = -1;
	if (find_module(t->pid, "/libc.so", path, sizeof(path), &c.base) < 0)
		return -1;
	elf_symbols(path, 1, add_sym, &c, NULL);
	return pk_jprobe_count(j);
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

int jd_func_range(struct jd_target *t, const char *name, uint64_t *start, uint64_t *end)
{
	struct range_ctx c = { name, 0, 0 };
	uint64_t minv = 0;

	elf_symbols(t->path, 0, find_sym, &c, &minv);
	if (!c.start)
		return -1;
	*start = t->exe_base - minv + c.start;
	*end = t->exe_base - minv + c.end;
	return 0;
}

int jd_start(struct jd_target *t, const char *path, const char *a1, const char *a2)
{
	int in[2], out[2];
	char line[8];

	memset(t, 0, sizeof(*t));
	if (!realpath(path, t->path) || access(t->path, X_OK) != 0 || pipe2(in, O_CLOEXEC) ||
	    pipe2(out, O_CLOEXEC))
		return -1;
	t->pid = fork();
	if (t->pid < 0)
		return -1;
	if (t->pid == 0) {
		char *argv[] = { t->path, (char *)a1, (char *)a2, NULL };

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(in[0], 0);
		dup2(out[1], 1);
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

static void add_tid(struct jd_target *t, pid_t tid)
{
	for (size_t i = 0; i < t->ntids; i++)
		if (t->tids[i] == tid)
			return;
	if (t->ntids < JD_MAX_TIDS)
		t->tids[t->ntids++] = tid;
}

static void drop_tid(struct jd_target *t, pid_t tid)
{
	for (size_t i = 0; i < t->ntids; i++)
		if (t->tids[i] == tid) {
			t->tids[i] = t->tids[--t->ntids];
			return;
		}
}

int jd_seize(struct jd_target *t)
{
	long opts = PTRACE_O_TRACECLONE | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
		    PTRACE_O_TRACEEXIT;
	char path[512];
	int st;

	if (ptrace(PTRACE_SEIZE, t->pid, 0, (void *)opts) < 0 ||
	    ptrace(PTRACE_INTERRUPT, t->pid, 0, 0) < 0 ||
	    waitpid(t->pid, &st, __WALL) != t->pid || !WIFSTOPPED(st))
		return -1;
	add_tid(t, t->pid);
	find_module(t->pid, t->path, path, sizeof(path), &t->exe_base);
	return 0;
}

void jd_go(struct jd_target *t)
{
	if (write(t->in_fd, "g", 1) != 1)
		perror("write");
}

void jd_read_output(struct jd_target *t, int block)
{
	fcntl(t->out_fd, F_SETFL, block ? 0 : O_NONBLOCK);
	for (;;) {
		ssize_t r = read(t->out_fd, t->out + t->outlen, sizeof(t->out) - 1 - t->outlen);

		if (r <= 0)
			break;
		t->outlen += (size_t)r;
		t->out[t->outlen] = 0;
	}
}

/* Stop every thread (each in some ptrace-stop); sigs[i] gets a signal a
 * thread was stopped with, to deliver at detach. */
static void stop_all(struct jd_target *t, int *sigs)
{
	for (size_t i = 0; i < t->ntids; i++) {
		pid_t tid = t->tids[i];
		int st;

		sigs[i] = 0;
		if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) < 0)
			continue;
		for (;;) {
			if (waitpid(tid, &st, __WALL) != tid)
				break;
			if (WIFEXITED(st) || WIFSIGNALED(st)) {
				/* it exited before the interrupt: not a thread any
				 * more (the list is compacted: look at i again) */
				if (tid == t->pid) {
					t->status = st;
					t->exited = 1;
				}
				drop_tid(t, tid);
				i--;
				break;
			}
			if (!WIFSTOPPED(st))
				break;
			if ((st >> 16) == 0)
				sigs[i] = WSTOPSIG(st);
			if ((st >> 16) == PTRACE_EVENT_CLONE) {
				unsigned long nt = 0;

				ptrace(PTRACE_GETEVENTMSG, tid, 0, &nt);
				add_tid(t, (pid_t)nt); /* stopped later in this loop */
				ptrace(PTRACE_CONT, tid, 0, 0);
				continue;
			}
			break;
		}
	}
}

static int detach(struct jd_target *t, struct pk_jprobes *j, pk_jprobe_callback cb, void *ctx,
		  struct jd_run_opts *o, const int *ids)
{
	int sigs[JD_MAX_TIDS];

	stop_all(t, sigs);
	o->detach_err = pk_jprobes_detach(j, t->tids, t->ntids, PK_JPROBE_DETACH_UNMAP);
	for (int f = 0; f < JD_NFN; f++)
		if (ids[f] >= 0)
			jd_peek(t->pid, pk_jprobe_address(j, ids[f]), o->after[f], 32);
	pk_jprobes_drain(j, cb, ctx, 0);
	for (size_t i = 0; i < t->ntids; i++)
		ptrace(PTRACE_DETACH, t->tids[i], 0, (void *)(long)sigs[i]);
	o->detached = 1;
	return 1;
}

int jd_run(struct jd_target *t, struct pk_jprobes *j, pk_jprobe_callback cb, void *ctx,
	   struct jd_run_opts *o)
{
	int ids[JD_NFN];
	long drained = 0;
	time_t deadline = time(NULL) + JD_DEADLINE_S;

	for (int f = 0; f < JD_NFN; f++) {
		ids[f] = -1;
		for (int k = 0; k < pk_jprobe_count(j); k++)
			if (strcmp(pk_jprobe_name(j, k), jd_fn_names[f]) == 0)
				ids[f] = k;
	}
	for (;;) {
		int st, sig = 0;
		pid_t tid = waitpid(-1, &st, __WALL | WNOHANG);

		if (tid < 0 && errno == EINTR)
			continue;
		if (tid < 0)
			return -1;
		if (tid == 0) {
			long n = o && o->drain_at_end ? 0 : pk_jprobes_drain(j, cb, ctx, 0);

			drained += n;
			if (o && o->detach_after > 0 && drained >= o->detach_after)
				return detach(t, j, cb, ctx, o, ids);
			if (n == 0)
				usleep(200);
			if (time(NULL) > deadline) {
				fprintf(stderr, "jprobe-driver: tracee %d still running after %d s: killed\n",
					(int)t->pid, JD_DEADLINE_S);
				kill(t->pid, SIGKILL);
				deadline = time(NULL) + JD_DEADLINE_S;
			}
			continue;
		}
		if (WIFEXITED(st) || WIFSIGNALED(st)) {
			if (tid == t->pid) {
				t->status = st;
				t->exited = 1;
				if (o && o->int3)
					pk_probes_forget(o->int3);
				pk_jprobes_drain(j, cb, ctx, 0);
				return 0;
			}
			drop_tid(t, tid);
			continue;
		}
		if (!WIFSTOPPED(st))
			continue;
		switch (st >> 16) {
		case PTRACE_EVENT_CLONE: {
			unsigned long nt = 0;

			ptrace(PTRACE_GETEVENTMSG, tid, 0, &nt);
			add_tid(t, (pid_t)nt);
			break;
		}
		case PTRACE_EVENT_FORK:
		case PTRACE_EVENT_VFORK: {
			/* the child keeps the patches and the shared ring (see
			 * jprobe.h): nothing to clean, let it go */
			unsigned long child = 0;
			int cst;

			ptrace(PTRACE_GETEVENTMSG, tid, 0, &child);
			waitpid((pid_t)child, &cst, __WALL);
			ptrace(PTRACE_DETACH, (pid_t)child, 0, 0);
			t->forks++;
			break;
		}
		case 0:
			sig = WSTOPSIG(st);
			if (sig == SIGTRAP && o && o->trap && o->trap(tid) == 1)
				sig = 0;
			if (sig == SIGTRAP && o && o->int3 && pk_probe_handle_trap(o->int3, tid) == 1)
				sig = 0;
			break;
		default:
			break;
		}
		ptrace(PTRACE_CONT, tid, 0, (void *)(long)sig);
	}
}
