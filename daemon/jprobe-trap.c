/*
 * jprobe-trap.c - trap mode of the jump backend (PK_JPROBE_TRAP_ENTRY,
 * PK_JPROBE_TRAP_RETURN; see jprobe.h): the event of a thread stopped at a
 * detour's int3, read from its registers and from the ring record it
 * wrote just before (a return's), and the traps turned into no-ops when
 * the tracer leaves.
 *
 * PK_JPROBE_TRAP_SLOW detours trap only without a record (the ring full,
 * or a stack deeper than the slice): their records are drained as the
 * jump backend's, and a trap's event comes from the registers alone.
 *
 * Nothing drains the ring in trap mode: each record is read and its slot
 * freed by the stop that follows it, so the ring only holds the records
 * of threads on their way to a trap (a few slots suffice).  A slot never
 * freed (its thread killed between record and trap) leaves the ring full
 * at its turn: the detours write no more records and the tracer reads
 * stacks itself, correct but slower.
 */
#include "daemon/jprobe-int.h"

#include <string.h>
#include <sys/user.h>

#include "daemon/probe-int.h"

/* The record r10 points to, if it is a published one of probe id for a
 * thread whose stack pointer at entry was sp (perfkitd's address), or
 * NULL. */
static struct pk_jrec *trap_record(const struct pk_jprobes *j, uint64_t r10, int id, uint64_t sp)
{
	uint64_t off = r10 - j->ring_target, idx;
	struct pk_jrec *r;

	if (!j->ring || !j->ring_target || r10 < j->ring_target || off < PK_JRING_SLOTS ||
	    off >= PK_JRING_SLOTS + (uint64_t)j->ring_slots * j->recsz ||
	    (off - PK_JRING_SLOTS) % j->recsz)
		return NULL;
	idx = (off - PK_JRING_SLOTS) / j->recsz;
	r = (struct pk_jrec *)(j->ring + off);
	/* the target wrote this: check everything */
	if (!r->seq || (r->seq & PK_JREC_TAKEN) || ((r->seq - 1) & (j->ring_slots - 1)) != idx ||
	    r->probe != (uint32_t)id ||
	    r->rsp != sp)
		return NULL;
	return r;
}

void pk_jprobes_trap_release(struct pk_jprobes *j, const struct pk_jprobe_event *ev)
{
	struct pk_jrec *r = ev->rec;

	if (!r)
		return;
	/* taken: the drain passes over it, and the tail moves past the
	 * records taken so far */
	__atomic_store_n(&r->seq, r->seq | PK_JREC_TAKEN, __ATOMIC_RELEASE);
	j->stats.trap_records++;
	for (;;) {
		const struct pk_jrec *t = (const struct pk_jrec *)(j->ring + PK_JRING_SLOTS +
								   (j->tail & (j->ring_slots - 1)) *
									   j->recsz);

		if (__atomic_load_n(&t->seq, __ATOMIC_ACQUIRE) != ((j->tail + 1) | PK_JREC_TAKEN))
			break;
		j->tail++;
	}
	pk_jring_publish_tail(j);
}

int pk_jprobes_trap_event(struct pk_jprobes *j, pid_t tid, const struct user_regs_struct *regs,
			  struct pk_jprobe_event *ev)
{
	uint64_t at = regs->rip - 1, t1;

	for (size_t i = 0; i < j->n; i++) {
		const struct pk_jprobe *pr = &j->v[i];
		int at_return;

		if (!pr->detour || at < pr->detour)
			continue;
		if (at == pr->detour + pk_jdetour_trap_offset(1))
			at_return = 1;
		else if (at == pr->detour + pk_jdetour_trap_offset(0))
			at_return = 0;
		else
			continue;
		memset(ev, 0, sizeof(*ev));
		ev->probe = (int)i;
		ev->tid = tid;
		ev->args[0] = regs->rdi;
		ev->args[1] = regs->rsi;
		ev->args[2] = regs->rdx;
		ev->retval = at_return ? regs->rax : 0;
		ev->ret_addr = regs->r11;
		ev->sp = regs->rsp + 88;
		ev->rbx = regs->rbx;
		ev->rbp = regs->rbp;
		ev->r12 = regs->r12;
		ev->r13 = regs->r13;
		ev->r14 = regs->r14;
		ev->r15 = regs->r15;
		ev->nested = pk_jprobes_nested_ret(j, ev->ret_addr);
		if (at_return && !(pr->flags & PK_JPROBE_TRAP_SLOW))
			ev->rec = trap_record(j, regs->r10, (int)i, ev->sp);
		if (ev->rec && pk_jrec_read(j, ev->rec, ev, &t1) < 0)
			ev->rec = NULL;
		/* a record brought out0 along (its extension); else it is read now */
		if (!ev->rec && at_return && (pr->flags & PK_JPROBE_OUT_ARG0) && regs->rax == 0 &&
		    pk_probes_read(j->inj, ev->args[0], &ev->out0, 8) < 0)
			ev->out0 = 0;
		return (int)i;
	}
	return -1;
}

int pk_jprobes_disable_traps(const struct pk_jprobes *j, pid_t pid)
{
	static const uint8_t nop = 0x90;
	int first = 0;

	for (size_t i = 0; i < j->n; i++) {
		if (!j->v[i].detour ||
		    !(j->v[i].flags & (PK_JPROBE_TRAP_ENTRY | PK_JPROBE_TRAP_RETURN | PK_JPROBE_TRAP_SLOW)))
			continue;
		for (int r = 0; r < 2; r++) {
			uint64_t at = j->v[i].detour + pk_jdetour_trap_offset(r);
			int err = pid > 0 ? pk_mem_write_pid(pid, at, &nop, 1)
					  : pk_probes_write(j->inj, at, &nop, 1);

			if (err < 0 && !first)
				first = err;
		}
	}
	return first;
}
