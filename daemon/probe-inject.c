/*
 * probe-inject.c - running raw system calls inside the target.
 *
 * The probe engine needs memory in the target (the out-of-line copies and
 * the return trampoline).  It never calls the target's libc (heaptrack's
 * gdb+dlopen attach crashes targets that way): it borrows one stopped
 * thread, points its rip at an existing `syscall` instruction (found in
 * the vDSO or any executable mapping), loads the syscall number and
 * arguments, lets exactly that syscall run with PTRACE_SYSCALL (its entry
 * and exit stops) and restores the
 * registers.  A syscall the thread was blocked in when it was stopped is
 * restarted by hand (the kernel would otherwise return -ERESTARTSYS to the
 * program, because our register restore happens after its restart check).
 */
#include "daemon/probe-int.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define ERESTARTSYS_ 512
#define ERESTARTNOINTR_ 513
#define ERESTARTNOHAND_ 514
#define ERESTART_RESTARTBLOCK_ 516

struct map_range {
	uint64_t start, end;
	int exec;
	int vdso;
};

/* Read /proc/PID/maps into a sorted array; returns count or -errno. */
static long read_maps(pid_t pid, struct map_range **out)
{
	char path[64], line[512];
	struct map_range *v = NULL;
	size_t n = 0, cap = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long s, e;
		char perms[8] = "";

		if (sscanf(line, "%llx-%llx %7s", &s, &e, perms) != 3)
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct map_range *nv = realloc(v, ncap * sizeof(*v));

			if (!nv) {
				free(v);
				fclose(f);
				return -ENOMEM;
			}
			v = nv;
			cap = ncap;
		}
		v[n].start = s;
		v[n].end = e;
		v[n].exec = perms[2] == 'x';
		v[n].vdso = strstr(line, "[vdso]") != NULL;
		n++;
	}
	fclose(f);
	*out = v;
	return (long)n;
}

/* Find the bytes 0f 05 in an executable mapping, the vDSO first. */
static int find_syscall_insn(struct pk_probes *p)
{
	struct map_range *m = NULL;
	long n = read_maps(p->pid, &m);
	uint8_t buf[8192];
	int pass;

	if (n < 0)
		return (int)n;
	for (pass = 0; pass < 2; pass++) {
		for (long i = 0; i < n; i++) {
			if (!m[i].exec || (pass == 0) != m[i].vdso)
				continue;
			for (uint64_t a = m[i].start; a < m[i].end && a < m[i].start + (1u << 20);
			     a += sizeof(buf) - 1) {
				size_t len = sizeof(buf);

				if (a + len > m[i].end)
					len = m[i].end - a;
				if (pk_probes_read(p, a, buf, len) < 0)
					break;
				for (size_t k = 0; k + 1 < len; k++) {
					if (buf[k] == 0x0f && buf[k + 1] == 0x05) {
						p->syscall_insn = a + k;
						free(m);
						return 0;
					}
				}
			}
		}
	}
	free(m);
	return -ENOENT;
}

/*
 * Resume tid with PTRACE_SYSCALL until it reports the next stop of our
 * syscall (entry, then exit).  PTRACE_GET_SYSCALL_INFO would tell entry
 * from exit only with PTRACE_O_TRACESYSGOOD, an option of the tracer's
 * that we cannot read, so a stop counts as ours when it is a SIGTRAP (or
 * SIGTRAP|0x80) stop right after our syscall instruction with orig_rax =
 * nr; the caller asks for entry and exit in order.  Signals arriving
 * meanwhile are suppressed and appended to sigs[] (re-raised later).
 */
static int run_to_syscall_stop(struct pk_probes *p, pid_t tid, long nr, int *sigs, int *nsigs,
			       struct user_regs_struct *regs)
{
	for (;;) {
		siginfo_t si;
		int status;
		pid_t r;

		if (ptrace(PTRACE_SYSCALL, tid, 0, 0) < 0)
			return -errno;
		do
			r = waitpid(tid, &status, __WALL);
		while (r < 0 && errno == EINTR);
		if (r < 0)
			return -errno;
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return -ESRCH;
		if (!WIFSTOPPED(status) || (status >> 16) != 0)
			continue; /* event stops (e.g. a pending interrupt): go on */
		if ((WSTOPSIG(status) & 0x7f) != SIGTRAP) {
			if (*nsigs < 8)
				sigs[(*nsigs)++] = WSTOPSIG(status);
			continue;
		}
		if (ptrace(PTRACE_GETREGS, tid, 0, regs) < 0)
			return -errno;
		if (regs->rip == p->syscall_insn + 2 && (long)regs->orig_rax == nr)
			return 0;
		/* Another syscall stop (e.g. the exit of the execve the thread
		 * was stopped in) has si_code SIGTRAP or SIGTRAP|0x80; anything
		 * else is a real SIGTRAP, to be delivered later. */
		if (ptrace(PTRACE_GETSIGINFO, tid, 0, &si) == 0 && si.si_code != SIGTRAP &&
		    si.si_code != (SIGTRAP | 0x80) && *nsigs < 8)
			sigs[(*nsigs)++] = SIGTRAP;
	}
}

int pk_inject_syscall(struct pk_probes *p, pid_t tid, long nr, const uint64_t args[6],
		      long *result)
{
	struct user_regs_struct saved, regs;
	int sigs[8], nsigs = 0, err, rerr;

	if (!p->syscall_insn) {
		err = find_syscall_insn(p);
		if (err < 0)
			return err;
	}
	if (ptrace(PTRACE_GETREGS, tid, 0, &saved) < 0)
		return -errno;
	regs = saved;
	regs.rip = p->syscall_insn;
	regs.rax = (uint64_t)nr;
	regs.orig_rax = (uint64_t)-1; /* no syscall restart on the way out */
	regs.rdi = args[0];
	regs.rsi = args[1];
	regs.rdx = args[2];
	regs.r10 = args[3];
	regs.r8 = args[4];
	regs.r9 = args[5];
	if (ptrace(PTRACE_SETREGS, tid, 0, &regs) < 0)
		return -errno;
	err = run_to_syscall_stop(p, tid, nr, sigs, &nsigs, &regs); /* entry */
	if (err == 0)
		err = run_to_syscall_stop(p, tid, nr, sigs, &nsigs, &regs); /* exit */
	if (err == 0)
		*result = (long)regs.rax;
	if (err == -ESRCH)
		return err;
	/* Restore, restarting by hand a syscall that the stop interrupted. */
	if ((long)saved.orig_rax >= 0) {
		long rax = (long)saved.rax;

		if (rax == -ERESTARTSYS_ || rax == -ERESTARTNOINTR_ || rax == -ERESTARTNOHAND_) {
			saved.rax = saved.orig_rax;
			saved.rip -= 2;
		} else if (rax == -ERESTART_RESTARTBLOCK_) {
			saved.rax = SYS_restart_syscall;
			saved.rip -= 2;
		}
	}
	rerr = ptrace(PTRACE_SETREGS, tid, 0, &saved) < 0 ? -errno : 0;
	for (int i = 0; i < nsigs; i++)
		syscall(SYS_tgkill, (int)p->pid, (int)tid, sigs[i]);
	return err ? err : rerr;
}

int pk_inject_call(struct pk_probes *p, pid_t tid, long nr, uint64_t a0, uint64_t a1, uint64_t a2,
		   uint64_t a3, uint64_t a4, long *res)
{
	uint64_t a[6] = { a0, a1, a2, a3, a4, 0 };
	int err = pk_inject_syscall(p, tid, nr, a, res);

	if (err < 0)
		return err;
	return *res < 0 && *res > -4096 ? (int)*res : 0;
}

int pk_inject_shared(struct pk_probes *p, pid_t tid, uint64_t name_at, size_t size, size_t populate,
		     uint64_t *addr, void **local)
{
	int whole = populate >= size;
	long fd = -1, at = 0, r;
	char path[64];
	int lfd, err;
	void *m = MAP_FAILED;

	err = pk_inject_call(p, tid, SYS_memfd_create, name_at, MFD_CLOEXEC, 0, 0, 0, &fd);
	if (err < 0)
		return err;
	err = pk_inject_call(p, tid, SYS_ftruncate, (uint64_t)fd, size, 0, 0, 0, &r);
	if (err == 0)
		/* populated: no page fault when the target first writes */
		err = pk_inject_call(p, tid, SYS_mmap, 0, size, PROT_READ | PROT_WRITE,
				     MAP_SHARED | (whole ? MAP_POPULATE : 0), (uint64_t)fd, &at);
	/* a part of it (Linux 5.14; else it faults in page by page) */
	if (err == 0 && !whole && populate)
		pk_inject_call(p, tid, SYS_madvise, (uint64_t)at, populate, MADV_POPULATE_WRITE, 0, 0, &r);
	if (err == 0) {
		snprintf(path, sizeof(path), "/proc/%d/fd/%ld", (int)p->pid, fd);
		lfd = open(path, O_RDWR | O_CLOEXEC);
		if (lfd < 0) {
			err = -errno;
		} else {
			m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | (whole ? MAP_POPULATE : 0),
				 lfd, 0);
			if (m == MAP_FAILED)
				err = -errno;
			else if (!whole && populate)
				madvise(m, populate, MADV_POPULATE_WRITE);
			close(lfd);
		}
	}
	/* the mappings keep the memfd alive: the target needs no descriptor */
	pk_inject_call(p, tid, SYS_close, (uint64_t)fd, 0, 0, 0, 0, &r);
	if (err < 0) {
		if (at > 0)
			pk_inject_call(p, tid, SYS_munmap, (uint64_t)at, size, 0, 0, 0, &r);
		return err;
	}
	*addr = (uint64_t)at;
	*local = m;
	return 0;
}

int pk_inject_map_page(struct pk_probes *p, pid_t tid, uint64_t near, uint64_t *addr)
{
	const uint64_t reach = 3ull << 29; /* 1.5 GiB */
	const uint64_t floor = 0x10000;
	struct map_range *m = NULL;
	long n, res;
	int err = -ENOMEM;

	n = read_maps(p->pid, &m);
	if (n < 0)
		return (int)n;
	/* Try the gap nearest to `near` first, then farther ones. */
	for (int attempt = 0; attempt < 8; attempt++) {
		uint64_t best = 0, bestd = UINT64_MAX;
		uint64_t prev_end = floor;

		for (long i = 0; i <= n; i++) {
			uint64_t gs = prev_end, ge = i < n ? m[i].start : 0x7ffffffff000ull;
			uint64_t cand;

			if (i < n)
				prev_end = m[i].end > prev_end ? m[i].end : prev_end;
			if (ge <= gs || ge - gs < PK_PROBE_PAGE_SIZE * 3)
				continue;
			/* keep a guard page on each side */
			gs += PK_PROBE_PAGE_SIZE;
			ge -= PK_PROBE_PAGE_SIZE;
			cand = near < gs ? gs : near >= ge ? ge - PK_PROBE_PAGE_SIZE : near;
			cand &= ~(uint64_t)(PK_PROBE_PAGE_SIZE - 1);
			uint64_t d = cand > near ? cand - near : near - cand;

			if (near && d >= reach)
				continue;
			if (d < bestd) {
				bestd = d;
				best = cand;
			}
		}
		if (!best)
			break;
		uint64_t a[6] = { best, PK_PROBE_PAGE_SIZE, PROT_READ | PROT_EXEC,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
				  (uint64_t)-1, 0 };

		err = pk_inject_syscall(p, tid, SYS_mmap, a, &res);
		if (err < 0)
			break;
		if (res >= 0 && (uint64_t)res == best) {
			*addr = best;
			err = 0;
			break;
		}
		err = res < 0 ? (int)res : -EEXIST;
		if (res >= 0) /* an old kernel ignored NOREPLACE: give it back */
			pk_inject_unmap(p, tid, (uint64_t)res, PK_PROBE_PAGE_SIZE);
		free(m);
		m = NULL;
		n = read_maps(p->pid, &m); /* the target changed its maps: look again */
		if (n < 0) {
			err = (int)n;
			break;
		}
	}
	free(m);
	return err;
}

int pk_inject_unmap(struct pk_probes *p, pid_t tid, uint64_t addr, size_t len)
{
	uint64_t a[6] = { addr, len, 0, 0, 0, 0 };
	long res = 0;
	int err = pk_inject_syscall(p, tid, SYS_munmap, a, &res);

	return err < 0 ? err : (int)res;
}
