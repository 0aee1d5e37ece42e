/*
 * jprobe-detach.c - undoing the jump backend in a live target (contract in
 * jprobe.h): the original bytes back at every patched entry and, at the
 * final detach, the ring out of the target: the detours' ring pointer
 * zeroed so that calls still in flight record nothing, a thread caught
 * writing a record single-stepped out of it, then an injected munmap.
 */
#include "daemon/jprobe-int.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/probe-int.h"

static int recording(const struct pk_jprobes *j, uint64_t rip)
{
	for (size_t i = 0; i < j->n; i++)
		if (j->v[i].detour && pk_jdetour_recording(j->v[i].detour, rip))
			return 1;
	return 0;
}

/*
 * Single-step stopped thread tid until it is out of the record-writing part
 * of a detour (about 12,000 steps at most: a walk of 127 frames, then a
 * slice's rep movsb, which steps per byte).  A
 * signal that arrives meanwhile is queued again and ends the stepping
 * (-EAGAIN).  The thread is left in a ptrace-stop (its last step's).
 */
static int step_out_of_record(struct pk_jprobes *j, pid_t tid)
{
	for (int step = 0; step < 20000; step++) {
		struct user_regs_struct r;
		int err;

		if (ptrace(PTRACE_GETREGS, tid, 0, &r) < 0)
			return errno == ESRCH && step == 0 ? 0 : -errno; /* gone: writes nothing */
		if (!recording(j, r.rip)) {
			j->stats.stepped += step > 0;
			return 0;
		}
		err = pk_jstep(j, tid);
		if (err < 0)
			return err;
	}
	return -EAGAIN;
}

int pk_jstep(struct pk_jprobes *j, pid_t tid)
{
	int st;

	if (ptrace(PTRACE_SINGLESTEP, tid, 0, 0) < 0)
		return -errno;
	if (waitpid(tid, &st, __WALL) != tid)
		return -errno;
	if (!WIFSTOPPED(st))
		return -ESRCH;
	if ((st >> 16) == 0 && WSTOPSIG(st) != SIGTRAP) {
		syscall(SYS_tgkill, (int)j->pid, (int)tid, WSTOPSIG(st));
		return -EAGAIN;
	}
	return 0;
}

#define SIGFRAME_SCAN 65536u

/*
 * Is a signal handler running on stopped thread tid over an interrupted
 * record write (the rip saved in its signal frame lies in a detour's
 * record-writing part)?  Such a thread writes into the ring when its
 * handler returns, so the ring must stay.  Looks for that saved rip in
 * the stack above rsp (up to SIGFRAME_SCAN bytes, less at the end of the
 * mapping); a return address into a detour is never in that part (the
 * call into the original function returns before it).  1, 0, or -errno.
 */
static int handler_over_record(struct pk_jprobes *j, pid_t tid)
{
	struct user_regs_struct r;
	uint64_t buf[512];

	if (ptrace(PTRACE_GETREGS, tid, 0, &r) < 0)
		return errno == ESRCH ? 0 : -errno;
	for (uint64_t at = r.rsp & ~7ull; at < (r.rsp & ~7ull) + SIGFRAME_SCAN; at += sizeof(buf)) {
		if (pk_probes_read(j->inj, at, buf, sizeof(buf)) < 0)
			break; /* the end of the stack mapping */
		for (size_t i = 0; i < sizeof(buf) / 8; i++)
			if (recording(j, buf[i]))
				return 1;
	}
	return 0;
}

/* Final detach: no detour writes to the ring any more, then unmap it. */
static int unmap_ring(struct pk_jprobes *j, const pid_t *tids, size_t n)
{
	uint64_t zero = 0;
	int err;

	for (size_t i = 0; i < j->n; i++) {
		if (!j->v[i].detour)
			continue;
		err = pk_probes_write(j->inj, j->v[i].detour + pk_jdetour_ring_slot(), &zero, 8);
		if (err < 0)
			return err;
	}
	/* a thread waiting for room gives up at once (and takes the trap,
	 * a no-op by now) */
	if (j->ring)
		__atomic_store_n((uint64_t *)(j->ring + PK_JRING_SPIN), 0, __ATOMIC_RELEASE);
	/* a thread between loading the ring pointer and publishing its
	 * record still writes into the ring: step it out of there, else keep
	 * the ring mapped */
	for (size_t t = 0; t < n; t++) {
		err = step_out_of_record(j, tids[t]);
		if (err == -EAGAIN)
			return 0;
		if (err < 0)
			return err;
		err = handler_over_record(j, tids[t]);
		if (err != 0)
			return err < 0 ? err : 0; /* the ring stays, harmless */
	}
	return pk_jring_unmap_target(j, tids[0]);
}

int pk_jprobes_detach(struct pk_jprobes *j, const pid_t *tids, size_t n, int flags)
{
	int first = 0;

	for (size_t i = 0; i < j->n; i++) {
		struct pk_jprobe *pr = &j->v[i];
		int err;

		if (!pr->patched)
			continue;
		err = pk_probes_write(j->inj, pr->addr, pr->orig, 5);
		if (err < 0 && !first)
			first = err;
		if (err == 0)
			pr->patched = 0;
	}
	j->stats.patched = 0;
	for (size_t i = 0; i < j->n; i++)
		j->stats.patched += j->v[i].patched != 0;
	if ((flags & PK_JPROBE_DETACH_UNMAP) && n > 0 && j->stats.patched == 0) {
		int err = unmap_ring(j, tids, n);

		j->closed = 1;
		if (err < 0 && !first)
			first = err;
	}
	return first;
}

int pk_jprobes_clean_child(const struct pk_jprobes *j, pid_t child)
{
	int first = 0;

	for (size_t i = 0; i < j->n; i++) {
		const struct pk_jprobe *pr = &j->v[i];
		long word;

		if (!pr->patched)
			continue;
		/* 5 bytes in one 8-byte word read and written back (x86 allows
		 * unaligned PEEK/POKE; the child's text is its own copy) */
		errno = 0;
		word = ptrace(PTRACE_PEEKDATA, child, (void *)pr->addr, NULL);
		if (errno) {
			if (!first)
				first = -errno;
			continue;
		}
		memcpy(&word, pr->orig, 5);
		if (ptrace(PTRACE_POKEDATA, child, (void *)pr->addr, (void *)word) < 0 && !first)
			first = -errno;
	}
	return first;
}
