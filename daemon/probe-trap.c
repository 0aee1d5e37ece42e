/*
 * probe-trap.c - what happens when a thread hits one of the engine's int3
 * bytes: the entry of a probed function (event, optional return hijack,
 * then on to the out-of-line copy or an emulated branch) or the return
 * trampoline (event, back to the real return address).  See probe.h.
 */
#include "daemon/probe-int.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <unistd.h>

#include "error.h"
#include "util.h"

/* Where the thread goes after the entry trap of pr (regs updated). */
static int leave_entry(struct pk_probes *p, const struct pk_probe *pr,
		       struct user_regs_struct *regs)
{
	uint64_t next = pr->addr + pr->insn.len;

	switch (pr->insn.cls) {
	case PK_INSN_PLAIN:
		regs->rip = pr->slot;
		return 0;
	case PK_INSN_JMP_REL:
		regs->rip = next + (uint64_t)pr->insn.rel;
		return 0;
	case PK_INSN_CALL_REL:
		regs->rsp -= 8;
		regs->rip = next + (uint64_t)pr->insn.rel;
		return pk_probes_write(p, regs->rsp, &next, 8);
	default:
		return -ENOTSUP;
	}
}

#define PAGE 4096u

#define MAX_PIECES 64u

/*
 * Copy len bytes of the stack at sp (thread tid, stopped) into buf
 * (pk_probes_copy_stack) or p->stack_buf (copy_stack); returns the bytes copied (short at the end of the stack
 * mapping) or -errno.  A copy of some kilobytes goes through
 * process_vm_readv split at page boundaries (it transfers whole remote
 * pieces, so the copy stops at the first unmapped page): 2.4 us for 16 KiB
 * on the reference VM against 3.8 us through /proc/PID/mem.  A few words,
 * or more pages than MAX_PIECES, go through /proc/PID/mem (the cheaper
 * for 8 bytes: 1.2 us against 1.5 us).
 */
ssize_t pk_probes_copy_stack(struct pk_probes *p, pid_t tid, uint64_t sp, void *buf, size_t len)
{
	struct iovec local = { buf, len };
	struct iovec remote[MAX_PIECES];
	size_t n = 0, done = 0;
	ssize_t got;
	int err;

	if (len > 64 && len <= (MAX_PIECES - 1) * PAGE) {
		for (uint64_t a = sp; done < len; n++) {
			size_t chunk = PAGE - (size_t)(a % PAGE);

			if (chunk > len - done)
				chunk = len - done;
			remote[n].iov_base = (void *)(uintptr_t)a;
			remote[n].iov_len = chunk;
			a += chunk;
			done += chunk;
		}
		local.iov_len = done;
		got = process_vm_readv(tid, &local, 1, remote, n, 0);
		if (got >= 8)
			return got;
		/* not allowed, or nothing readable: /proc/PID/mem says why */
	}
	err = pk_probes_mem_open(p);
	if (err < 0)
		return err;
	got = pread(p->memfd, buf, len, (off_t)sp);
	return got < 0 ? -errno : got;
}

static ssize_t copy_stack(struct pk_probes *p, pid_t tid, uint64_t sp, size_t len)
{
	return pk_probes_copy_stack(p, tid, sp, p->stack_buf, len);
}

/* Might a call entered with this stack pointer be a tail call out of a
 * pending one (whose return-address slot it shares)? */
static int tail_possible(const struct pk_probe_thread *t, uint64_t rsp)
{
	for (size_t i = t->n; i-- > 0;) {
		if (t->v[i].slot == rsp)
			return 1;
		if (t->v[i].slot > rsp)
			break;
	}
	return 0;
}

/* Is ret one of the engine's return hijacks (trampoline or a stub)? */
static int is_hijack(const struct pk_probes *p, uint64_t ret)
{
	return (p->tramp && ret == p->tramp) || pk_timed_stub_index(p, ret) >= 0;
}

/* The table entry a timed return of this call would take, -1 when it
 * must stop at its return.  With a pending call in the same slot only
 * the return address tells a tail call from a call made after that one
 * was left (by longjmp): tail set, it is to be read first. */
static long timed_entry(const struct pk_probes *p, const struct pk_probe *pr,
			const struct pk_probe_thread *t, uint64_t rsp, int *tail)
{
	unsigned i;

	*tail = 0;
	if (!p->ttab || !pr->tprefix || p->stack_copy > 8)
		return -1;
	if (tail_possible(t, rsp)) {
		*tail = 1;
		return -1;
	}
	i = pk_timed_index(rsp);
	return p->tused[i] ? -1 : (long)i;
}

static int handle_entry(struct pk_probes *p, pid_t tid, struct pk_probe *pr,
			struct user_regs_struct *regs)
{
	struct pk_probe_thread *t = pk_probe_thread_get(p, tid, 1);
	struct pk_probe_event ev;
	uint64_t ret = 0;
	ssize_t got;
	int err, want;
	long tidx;
	int maybe_tail;

	pk_timed_reap(p, t); /* its calls that returned come first */
	tidx = timed_entry(p, pr, t, regs->rsp, &maybe_tail);
	regs->rip = pr->addr;
	memset(&ev, 0, sizeof(ev));
	if ((pr->no_stack && t->n == 0) || tidx >= 0) {
		/* no pending return, so no tail call from a hijacked function
		 * (or a timed return, whose prefix saves it): nothing here
		 * needs the return address */
		ev.ret_unread = 1;
		got = 0;
	} else {
		/* one read gives the return address and the caller's stack
		 * copy; it stops short at the end of the stack mapping */
		got = copy_stack(p, tid, regs->rsp, pr->no_stack ? 8 : p->stack_copy);
		if (got < 8)
			return got < 0 ? (int)got : -EIO;
		memcpy(&ret, p->stack_buf, 8);
		if (pr->no_stack)
			got = 0;
	}
	ev.kind = PK_PROBE_ENTRY;
	ev.probe = (int)(pr - p->probes);
	ev.tid = tid;
	ev.time_ns = p->trap_t0; /* the stop's clock: one reading per trap */
	ev.args[0] = regs->rdi;
	ev.args[1] = regs->rsi;
	ev.args[2] = regs->rdx;
	ev.entry_sp = regs->rsp;
	ev.ret_addr = ret;
	ev.regs = regs;
	ev.stack = p->stack_buf;
	ev.stack_len = (size_t)got;
	if (is_hijack(p, ret)) {
		/* tail jump from a function whose return we hold: the real
		 * return address is in its pending entry (same slot) */
		ev.tail_call = 1;
		for (size_t i = t->n; i-- > 0;)
			if (t->v[i].slot == regs->rsp) {
				ev.ret_addr = pk_timed_orig(p, &t->v[i]);
				break;
			}
	} else {
		pk_probe_return_prune(p, t, regs->rsp);
		/* not a tail call: the pending call in this slot was left */
		if (maybe_tail && !p->tused[pk_timed_index(regs->rsp)])
			tidx = pk_timed_index(regs->rsp);
	}
	ev.depth = (unsigned)t->n;
	ev.outer_probe = t->n ? t->v[t->n - 1].probe : -1;
	p->stats.entries++;
	want = p->cb ? p->cb(p->ctx, &ev) : 0;
	struct pk_pending pend = { .slot = ev.entry_sp, .cookie = ev.cookie, .probe = ev.probe,
				   .tidx = -1, .t0_ns = p->trap_t0 };

	memcpy(pend.args, ev.args, sizeof(pend.args));
	if (want == 1 && tidx >= 0) {
		/* the prefix saves the return address, hijacks it, and runs
		 * (or emulates) the first instruction */
		pend.tidx = (int)tidx;
		p->tused[tidx] = 1;
		__atomic_store_n(&p->ttab[tidx].done, 0, __ATOMIC_RELEASE);
		regs->rip = pr->tprefix;
		return pk_probe_return_push(p, t, &pend);
	}
	err = leave_entry(p, pr, regs);
	if (err < 0 || want != 1 || !p->tramp)
		return err;
	if (p->ttab)
		p->stats.untimed++;
	if (ev.ret_unread && (err = pk_probe_event_ret(p, &ev)) < 0)
		return err;
	/* a tail call keeps the slot's hijack (ret, as read): the caller's
	 * return, when it comes, is this call's too */
	if (!ev.tail_call)
		ret = ev.ret_addr;
	pend.orig_ret = ret;
	if (!is_hijack(p, ret)) {
		/* the thread writes the trampoline itself on its way to the
		 * copy (the slot's prefix); an emulated first instruction has
		 * no copy, so then it is written from here */
		if (regs->rip == pr->slot && pr->hijack)
			regs->rip = pr->hijack;
		else if ((err = pk_probes_write(p, ev.entry_sp, &p->tramp, 8)) < 0)
			return err;
	}
	/* a tail-called probe's entry is stacked over its caller's with
	 * orig_ret = trampoline: both are reported by one return */
	pk_probe_return_push(p, t, &pend);
	return 0;
}

int pk_probe_event_ret(struct pk_probes *p, struct pk_probe_event *ev)
{
	uint64_t ret;
	int err;

	if (!ev->ret_unread)
		return 0;
	err = pk_probes_read(p, ev->entry_sp, &ret, 8);
	if (err < 0)
		return err;
	ev->ret_addr = ret;
	ev->ret_unread = 0;
	return 0;
}

int pk_probe_handle_return(struct pk_probes *p, pid_t tid, struct user_regs_struct *regs)
{
	struct pk_probe_thread *t = pk_probe_thread_get(p, tid, 0);
	uint64_t slot = regs->rsp - 8;
	struct pk_pending pend;

	if (t)
		pk_timed_reap(p, t);
	do {
		struct pk_probe_event ev;

		if (!t || pk_probe_return_pop(p, t, slot, &pend) < 0) {
			pk_warn("thread %d returned to the probe trampoline with no pending return "
				"at %#llx", (int)tid, (unsigned long long)slot);
			return -ENOENT;
		}
		memset(&ev, 0, sizeof(ev));
		ev.kind = PK_PROBE_RETURN;
		ev.probe = pend.probe;
		ev.tid = tid;
		ev.time_ns = p->trap_t0 ? p->trap_t0 : pk_monotonic_ns();
		memcpy(ev.args, pend.args, sizeof(ev.args));
		ev.ret_addr = pend.orig_ret;
		ev.entry_sp = pend.slot;
		ev.retval = regs->rax;
		ev.cookie = pend.cookie;
		ev.outer_probe = -1;
		p->stats.returns++;
		if (p->cb)
			p->cb(p->ctx, &ev);
	} while (pend.orig_ret == p->tramp);
	regs->rip = pend.orig_ret;
	return 0;
}

/* Put regs back into stopped thread tid; where only rip changed (every
 * trap but an emulated call), one PTRACE_POKEUSER of rip does it at
 * about 0.65 us against 1.6 us for PTRACE_SETREGS here. */
static int put_regs(struct pk_probes *p, pid_t tid, const struct user_regs_struct *regs,
		    const struct user_regs_struct *before)
{
	struct user_regs_struct cmp = *regs;

	cmp.rip = before->rip;
	if (memcmp(&cmp, before, sizeof(cmp)) == 0) {
		p->stats.rip_only++;
		if (regs->rip == before->rip)
			return 0;
		if (ptrace(PTRACE_POKEUSER, tid, (void *)offsetof(struct user_regs_struct, rip),
			   (void *)(uintptr_t)regs->rip) < 0)
			return -errno;
		return 0;
	}
	return ptrace(PTRACE_SETREGS, tid, 0, regs) < 0 ? -errno : 0;
}

int pk_probe_handle_trap(struct pk_probes *p, pid_t tid)
{
	struct user_regs_struct regs, before;
	struct pk_probe *pr = NULL;
	uint64_t t0 = pk_monotonic_ns();
	int err;

	if (ptrace(PTRACE_GETREGS, tid, 0, &regs) < 0)
		return -errno;
	before = regs;
	if (p->tramp && regs.rip - 1 == p->tramp)
		pr = NULL; /* the return trampoline */
	else if ((pr = pk_probe_find_placed(p, regs.rip - 1)) == NULL)
		return 0; /* not ours */
	p->trap_t0 = t0;
	if (!pr)
		err = pk_probe_handle_return(p, tid, &regs);
	else if (pr->armed)
		err = handle_entry(p, tid, pr, &regs);
	else /* hit the int3 just before pk_probes_disarm removed it */
		regs.rip = pr->addr, err = 0;
	p->trap_t0 = 0;
	if (err < 0)
		return err;
	p->stats.traps++;
	err = put_regs(p, tid, &regs, &before);
	if (err < 0)
		return err;
	p->last_handle_ns = pk_monotonic_ns() - t0;
	p->stats.handle_ns += p->last_handle_ns;
	return 1;
}
