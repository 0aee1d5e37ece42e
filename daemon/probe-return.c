/*
 * probe-return.c - per-thread stacks of pending (hijacked) returns.
 *
 * On entry to a probed function whose return is wanted, the return address
 * in the slot at rsp is replaced by the engine's trampoline and the
 * original is pushed here with the slot's address.  A return to the
 * trampoline is matched by slot (rsp - 8 after the ret): entries pushed
 * after the match belong to frames that were left without returning
 * (longjmp, exceptions) and are reported LOST.  Signal handlers nest
 * naturally: the handler's calls are newer and return first.
 */
#include "daemon/probe-int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* A new entry at slot proves older entries at or below that slot on the
 * same stack are gone; farther than this, a slot is taken to be on another
 * stack (sigaltstack) and left alone. */
#define SAME_STACK_SPAN (8u << 20)

struct pk_probe_thread *pk_probe_thread_get(struct pk_probes *p, pid_t tid, int create)
{
	for (size_t i = 0; i < p->nthreads; i++)
		if (p->threads[i].tid == tid)
			return &p->threads[i];
	if (!create)
		return NULL;
	pk_xgrow((void **)&p->threads, &p->capthreads, p->nthreads + 1, sizeof(*p->threads));
	struct pk_probe_thread *t = &p->threads[p->nthreads++];

	memset(t, 0, sizeof(*t));
	t->tid = tid;
	return t;
}

void pk_probe_report_lost(struct pk_probes *p, pid_t tid, const struct pk_pending *pend)
{
	struct pk_probe_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = PK_PROBE_LOST;
	ev.probe = pend->probe;
	ev.tid = tid;
	ev.time_ns = pk_monotonic_ns();
	memcpy(ev.args, pend->args, sizeof(ev.args));
	ev.ret_addr = pend->orig_ret;
	ev.entry_sp = pend->slot;
	ev.cookie = pend->cookie;
	ev.outer_probe = -1;
	p->stats.lost++;
	if (p->cb)
		p->cb(p->ctx, &ev);
}

void pk_probe_report_end(struct pk_probes *p, pid_t tid, const struct pk_pending *pend)
{
	struct pk_probe_event ev;
	uint64_t ret_ns, dur;

	if (!pk_timed_returned(p, pend, &ret_ns, &dur)) {
		pk_probe_report_lost(p, tid, pend);
	} else {
		memset(&ev, 0, sizeof(ev));
		ev.kind = PK_PROBE_RETURN;
		ev.probe = pend->probe;
		ev.tid = tid;
		ev.time_ns = ret_ns;
		memcpy(ev.args, pend->args, sizeof(ev.args));
		ev.ret_addr = pk_timed_orig(p, pend);
		ev.entry_sp = pend->slot;
		ev.cookie = pend->cookie;
		ev.outer_probe = -1;
		ev.timed = 1;
		ev.duration_ns = dur;
		p->stats.returns++;
		p->stats.timed++;
		if (p->cb)
			p->cb(p->ctx, &ev);
	}
	if (pend->tidx >= 0 && p->tused)
		p->tused[pend->tidx] = 0;
}

int pk_probe_return_push(struct pk_probes *p, struct pk_probe_thread *t,
			 const struct pk_pending *pend)
{
	(void)p;
	pk_xgrow((void **)&t->v, &t->cap, t->n + 1, sizeof(*t->v));
	t->v[t->n++] = *pend;
	return 0;
}

void pk_probe_return_prune(struct pk_probes *p, struct pk_probe_thread *t, uint64_t slot)
{
	/* Newest first: drop while the newest pending slot is at or below the
	 * new one on the same stack. */
	while (t->n > 0) {
		const struct pk_pending *top = &t->v[t->n - 1];

		if (top->slot > slot || slot - top->slot > SAME_STACK_SPAN)
			break;
		t->n--;
		pk_probe_report_end(p, t->tid, &t->v[t->n]);
	}
}

int pk_probe_return_pop(struct pk_probes *p, struct pk_probe_thread *t, uint64_t slot,
			struct pk_pending *out)
{
	size_t i = t->n;

	while (i > 0 && t->v[i - 1].slot != slot)
		i--;
	if (i == 0)
		return -1;
	while (t->n > i) {
		t->n--;
		pk_probe_report_end(p, t->tid, &t->v[t->n]);
	}
	*out = t->v[--t->n];
	return 0;
}

int pk_probe_return_restore(struct pk_probes *p, pid_t pid, const struct pk_probe_thread *t)
{
	int first = 0;

	for (size_t i = t->n; i-- > 0;) {
		const struct pk_pending *pend = &t->v[i];
		uint64_t cur = 0;
		int err = pk_mem_read_pid(pid, pend->slot, &cur, sizeof(cur));

		long stub = err == 0 ? pk_timed_stub_index(p, cur) : -1;

		/* Only a slot that still holds our trampoline or a stub is
		 * ours to fix. */
		if (err == 0 && cur == p->tramp)
			err = pk_mem_write_pid(pid, pend->slot, &pend->orig_ret,
					       sizeof(pend->orig_ret));
		else if (stub >= 0)
			err = pk_mem_write_pid(pid, pend->slot, &p->ttab[stub].orig, 8);
		if (err < 0 && !first)
			first = err;
	}
	return first;
}

void pk_probe_thread_drop(struct pk_probes *p, struct pk_probe_thread *t, int report)
{
	size_t idx = (size_t)(t - p->threads);

	if (report)
		while (t->n > 0) {
			t->n--;
			pk_probe_report_end(p, t->tid, &t->v[t->n]);
		}
	free(t->v);
	p->threads[idx] = p->threads[--p->nthreads];
}
