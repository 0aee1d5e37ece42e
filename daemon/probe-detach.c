/*
 * probe-detach.c - leaving a process as it was found: detach (threads moved
 * out of probe code, hijacked return addresses written back, int3 bytes
 * removed, scratch pages optionally unmapped), sampling windows
 * (disarm), fork children, exec/exit, and the pending-SIGTRAP check the
 * tracer needs before detaching.  See probe.h.
 */
#include "daemon/probe-int.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>

#include "error.h"

int pk_sigtrap_pending(pid_t pid, pid_t tid)
{
	char path[80], line[256];
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)tid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long mask;

		if (strncmp(line, "SigPnd:", 7) != 0 && strncmp(line, "ShdPnd:", 7) != 0)
			continue;
		if (sscanf(line + 7, "%llx", &mask) == 1 && (mask & (1ull << (SIGTRAP - 1))))
			found = 1;
	}
	fclose(f);
	return found;
}

int pk_probe_trap_pending(struct pk_probes *p, pid_t tid)
{
	struct user_regs_struct regs;

	if (ptrace(PTRACE_GETREGS, tid, 0, &regs) < 0)
		return 0;
	if (!(p->tramp && regs.rip - 1 == p->tramp) && !pk_probe_find_placed(p, regs.rip - 1))
		return 0;
	return pk_sigtrap_pending(p->pid, tid);
}

void pk_probes_thread_exit(struct pk_probes *p, pid_t tid)
{
	struct pk_probe_thread *t = pk_probe_thread_get(p, tid, 0);

	if (t)
		pk_probe_thread_drop(p, t, 1);
}

/* Write back the return address of the newest pending return of thread
 * tid, whose slot is `slot`. */
static int unhijack(struct pk_probes *p, pid_t tid, uint64_t slot)
{
	struct pk_probe_thread *t = pk_probe_thread_get(p, tid, 0);

	for (size_t i = t ? t->n : 0; i-- > 0;)
		if (t->v[i].slot == slot)
			return pk_probes_write(p, slot, &t->v[i].orig_ret, 8);
	pk_warn("thread %d stopped in a probe's hijack code with no pending return at %#llx",
		(int)tid, (unsigned long long)slot);
	return -ENOENT;
}

/* Move a stopped thread's rip out of our code; returns 0 or -errno. */
static int fix_thread_rip(struct pk_probes *p, pid_t tid)
{
	struct user_regs_struct regs;
	struct pk_probe *pr;
	uint64_t rip;

	if (ptrace(PTRACE_GETREGS, tid, 0, &regs) < 0)
		return -errno;
	rip = regs.rip;
	int timed = pk_timed_fix_rip(p, tid, &regs);

	if (timed < 0)
		return timed;
	if (timed) {
		/* in a timed prefix or stub: moved as it would have gone */
	} else if (p->tramp && (rip == p->tramp || rip == p->tramp + 1)) {
		/* returned into the trampoline (rsp is past the slot either
		 * way), return not handled yet */
		if (pk_probe_handle_return(p, tid, &regs) < 0)
			return -ENOENT;
	} else if ((pr = pk_probe_find_armed(p, rip - 1)) != NULL) {
		regs.rip = pr->addr; /* executed our int3: run the original */
	} else {
		int found = 0;

		for (size_t i = 0; i < p->nby_addr && !found; i++) {
			pr = &p->probes[p->by_addr[i]];
			if (!pr->slot)
				continue;
			if (rip >= pr->hijack && rip < pr->slot) {
				/* in the hijack prefix: the return address may be
				 * half written; put it back, run the original */
				int err = unhijack(p, tid, regs.rsp);

				if (err < 0)
					return err;
				regs.rip = pr->addr;
				found = 1;
			} else if (rip == pr->slot) {
				regs.rip = pr->addr;
				found = 1;
			} else if (rip == pr->slot + pr->insn.len) {
				regs.rip = pr->addr + pr->insn.len;
				found = 1;
			}
		}
		if (!found) {
			for (size_t i = 0; i < p->npages; i++)
				if (rip >= p->pages[i].addr &&
				    rip < p->pages[i].addr + PK_PROBE_PAGE_SIZE)
					pk_warn("thread %d stopped at %#llx inside the probe page",
						(int)tid, (unsigned long long)rip);
			return 0;
		}
	}
	p->stats.moved++;
	return ptrace(PTRACE_SETREGS, tid, 0, &regs) < 0 ? -errno : 0;
}

static void remember(int *first, int err)
{
	if (err < 0 && *first == 0)
		*first = err;
}

int pk_probes_detach(struct pk_probes *p, const pid_t *tids, size_t n, int flags)
{
	int first = 0;

	for (size_t i = 0; i < n; i++) {
		int err = fix_thread_rip(p, tids[i]);

		if (err != -ESRCH)
			remember(&first, err);
	}
	for (size_t i = 0; i < p->nthreads; i++)
		remember(&first, pk_probe_return_restore(p, p->pid, &p->threads[i]));
	for (size_t i = 0; i < p->nprobes; i++) {
		struct pk_probe *pr = &p->probes[i];

		if (pr->armed)
			remember(&first, pk_probes_write(p, pr->addr, &pr->orig, 1));
		pr->armed = 0;
		pr->placed = 0;
	}
	if ((flags & PK_PROBE_DETACH_UNMAP) && n > 0)
		for (size_t i = 0; i < p->npages; i++)
			remember(&first, pk_inject_unmap(p, tids[0], p->pages[i].addr,
							 PK_PROBE_PAGE_SIZE));
	/* calls that returned through their stubs are reported as such */
	while (p->nthreads > 0)
		pk_probe_thread_drop(p, &p->threads[p->nthreads - 1], 1);
	if (flags & PK_PROBE_DETACH_UNMAP)
		pk_timed_release(p, n > 0 ? tids[0] : 0);
	p->npages = 0;
	p->tramp = 0;
	p->stats.armed = 0;
	pk_probes_rebuild_index(p);
	return first;
}

int pk_probes_disarm(struct pk_probes *p)
{
	int first = 0, n = 0;

	for (size_t i = 0; i < p->nprobes; i++) {
		struct pk_probe *pr = &p->probes[i];
		int err;

		if (!pr->armed)
			continue;
		err = pk_probes_write(p, pr->addr, &pr->orig, 1);
		remember(&first, err);
		if (err == 0) {
			pr->armed = 0;
			n++;
		}
	}
	p->stats.armed -= (unsigned)n;
	return first ? first : n;
}

int pk_probes_clean_child(struct pk_probes *p, pid_t child, pid_t parent_tid)
{
	struct pk_probe_thread *t = pk_probe_thread_get(p, parent_tid, 0);
	int first = 0;

	if (t)
		remember(&first, pk_probe_return_restore(p, child, t));
	for (size_t i = 0; i < p->nprobes; i++)
		if (p->probes[i].armed)
			remember(&first, pk_mem_write_pid(child, p->probes[i].addr,
							  &p->probes[i].orig, 1));
	return first;
}

void pk_probes_forget(struct pk_probes *p)
{
	while (p->nthreads > 0)
		pk_probe_thread_drop(p, &p->threads[p->nthreads - 1], 1);
	pk_timed_release(p, 0); /* the target's copy went with its memory */
	p->timed_failed = 0;
	for (size_t i = 0; i < p->nprobes; i++) {
		p->probes[i].armed = 0;
		p->probes[i].placed = 0;
		p->probes[i].refused = 0;
	}
	p->npages = 0;
	p->tramp = 0;
	p->syscall_insn = 0;
	p->stats.armed = 0;
	if (p->memfd >= 0)
		close(p->memfd);
	p->memfd = -1;
	pk_probes_rebuild_index(p);
}
