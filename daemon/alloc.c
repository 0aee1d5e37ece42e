/*
 * alloc.c - malloc-family semantics on top of the probe engine (see
 * alloc.h): which names to probe, which calls are outermost, and what
 * each entry/return means for the live-allocation table and the totals.
 */
#include "daemon/alloc-int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/probe-insn.h"
#include "util.h"

struct fn_info {
	int fn;                 /* enum pk_alloc_fn, -1 = unused probe id */
	uint64_t mod_start, mod_end;
};

/*
 * operator new in progress on a thread.  Its return is never hijacked: new
 * may throw (bad_alloc, or a nothrow variant catching the throw of the
 * plain one inside itself) and an unwinder meeting the trampoline instead
 * of a return address would terminate the program.  The allocator call
 * made inside it (malloc, aligned_alloc) is hijacked instead, and its
 * result is recorded with new's caller, size and stack.
 */
struct new_marker {
	pid_t tid;
	uint64_t sp;            /* new's entry rsp */
	uint64_t caller;        /* new's return address */
	uint64_t size;          /* new's size argument */
	uint64_t cookie;        /* stack id at new's entry */
	uint64_t mod_start, mod_end;
	int fn;
};

struct pk_alloc {
	struct pk_probes *probes;
	struct new_marker *markers;
	size_t nmarkers, capmarkers;
	struct pk_alloc_hooks hooks;
	struct fn_info *fns;    /* by probe id */
	size_t nfns;
	struct pk_live_table live;
	struct pk_alloc_stats stats;
	pk_alloc_placer place;  /* another backend (pk_alloc_set_placer) */
	void *place_ctx;
	int feeding;            /* in pk_alloc_feed_call: ... */
	uint64_t feed_out0;     /* ... posix_memalign's pointer comes from here */
};

static const struct {
	const char *name;
	enum pk_alloc_fn fn;
} names[] = {
	{ "malloc", PK_ALLOC_MALLOC },
	{ "__libc_malloc", PK_ALLOC_MALLOC },
	{ "calloc", PK_ALLOC_CALLOC },
	{ "__libc_calloc", PK_ALLOC_CALLOC },
	{ "realloc", PK_ALLOC_REALLOC },
	{ "__libc_realloc", PK_ALLOC_REALLOC },
	{ "reallocarray", PK_ALLOC_REALLOCARRAY },
	{ "free", PK_ALLOC_FREE },
	{ "cfree", PK_ALLOC_FREE },
	{ "__libc_free", PK_ALLOC_FREE },
	{ "posix_memalign", PK_ALLOC_POSIX_MEMALIGN },
	{ "aligned_alloc", PK_ALLOC_MEMALIGN },
	{ "memalign", PK_ALLOC_MEMALIGN },
	{ "__libc_memalign", PK_ALLOC_MEMALIGN },
	{ "valloc", PK_ALLOC_VALLOC },
	{ "__libc_valloc", PK_ALLOC_VALLOC },
	{ "pvalloc", PK_ALLOC_PVALLOC },
	{ "__libc_pvalloc", PK_ALLOC_PVALLOC },
};

int pk_alloc_fn_of(const char *name)
{
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i].name) == 0)
			return (int)names[i].fn;
	/* Itanium C++ ABI: operator new _Znwm/_Znam (+ nothrow, align_val_t
	 * variants), operator delete _ZdlPv/_ZdaPv (+ sized, nothrow, aligned). */
	if (strncmp(name, "_Znwm", 5) == 0 || strncmp(name, "_Znam", 5) == 0)
		return PK_ALLOC_NEW;
	if (strncmp(name, "_ZdlPv", 6) == 0 || strncmp(name, "_ZdaPv", 6) == 0)
		return PK_ALLOC_DELETE;
	return -1;
}

/* Does the code at addr only tail-jump somewhere (after an endbr64)? */
static int is_tail_wrapper(struct pk_alloc *a, uint64_t addr)
{
	uint8_t code[32];
	struct pk_insn insn;
	size_t off = 0;

	if (pk_probes_read(a->probes, addr, code, sizeof(code)) < 0)
		return -EIO;
	if (pk_insn_decode(code, sizeof(code), &insn) < 0)
		return 0;
	if (insn.is_endbr64) {
		off = insn.len;
		if (pk_insn_decode(code + off, sizeof(code) - off, &insn) < 0)
			return 0;
	}
	return insn.cls == PK_INSN_JMP_REL;
}

static void emit(struct pk_alloc *a, const struct pk_alloc_event *e)
{
	if (a->hooks.event)
		a->hooks.event(a->hooks.ctx, e);
}

/* Who made a call: thread, time, stack (the cookie) and call site. */
struct caller {
	pid_t tid;
	uint64_t time_ns, stack_id, ret_addr;
};

static struct caller caller_of(const struct pk_probe_event *ev)
{
	return (struct caller){ ev->tid, ev->time_ns, ev->cookie, ev->ret_addr };
}

static void record_alloc(struct pk_alloc *a, const struct caller *c, int fn, uint64_t ptr, uint64_t size)
{
	struct pk_alloc_live l = { .ptr = ptr, .size = size, .stack_id = c->stack_id };
	struct pk_alloc_event e = { .is_free = 0, .fn = fn, .ptr = ptr, .size = size,
				    .tid = c->tid, .time_ns = c->time_ns,
				    .stack_id = c->stack_id, .caller = c->ret_addr };
	struct pk_alloc_live old;

	if (!ptr) {
		a->stats.failed_allocs++;
		return;
	}
	if (pk_live_put(&a->live, &l, &old)) { /* a free we did not see: the block is gone */
		a->stats.live_bytes -= old.size;
		a->stats.live_count--;
		e.replaced = 1;
		e.block_size = old.size;
		e.block_stack_id = old.stack_id;
	}
	a->stats.alloc_calls++;
	a->stats.bytes_allocated += size;
	a->stats.live_bytes += size;
	a->stats.live_count++;
	if (a->stats.live_bytes > a->stats.peak_bytes)
		a->stats.peak_bytes = a->stats.live_bytes;
	emit(a, &e);
}

static void record_free(struct pk_alloc *a, const struct caller *c, int fn, uint64_t ptr)
{
	struct pk_alloc_event e = { .is_free = 1, .fn = fn, .ptr = ptr, .tid = c->tid,
				    .time_ns = c->time_ns, .stack_id = c->stack_id,
				    .caller = c->ret_addr };
	struct pk_alloc_live l;

	if (!ptr)
		return;
	a->stats.free_calls++;
	if (pk_live_take(&a->live, ptr, &l)) {
		e.known = 1;
		e.size = l.size;
		e.block_stack_id = l.stack_id;
		a->stats.bytes_freed += l.size;
		a->stats.live_bytes -= l.size;
		a->stats.live_count--;
	} else {
		a->stats.unknown_frees++;
	}
	emit(a, &e);
}

static struct new_marker *find_marker(struct pk_alloc *a, pid_t tid)
{
	for (size_t i = 0; i < a->nmarkers; i++)
		if (a->markers[i].tid == tid)
			return &a->markers[i];
	return NULL;
}

static void drop_marker(struct pk_alloc *a, struct new_marker *m)
{
	*m = a->markers[--a->nmarkers];
}

/* Cookie bit: the return belongs to an allocation made inside operator new
 * (the marker of that thread holds the attribution). */
#define COOKIE_FOR_NEW (1ull << 63)

static int on_entry(struct pk_alloc *a, struct pk_probe_event *ev, const struct fn_info *fi)
{
	struct new_marker *m = find_marker(a, ev->tid);

	if (m && ev->entry_sp >= m->sp) {
		drop_marker(a, m); /* that new has returned or thrown */
		m = NULL;
	}
	if (m && ev->ret_unread)
		pk_probe_event_ret(a->probes, ev); /* on failure 0: not nested */
	if (m && ev->ret_addr >= m->mod_start && ev->ret_addr < m->mod_end) {
		/* called by operator new (or by a nothrow new via the plain one) */
		a->stats.nested_calls++;
		if (fi->fn == PK_ALLOC_MALLOC || fi->fn == PK_ALLOC_MEMALIGN) {
			ev->cookie = COOKIE_FOR_NEW;
			return 1;
		}
		return 0;
	}
	if (ev->tail_call) {
		a->stats.nested_calls++;
		return 0;
	}
	if (ev->depth > 0 && ev->outer_probe >= 0 && (size_t)ev->outer_probe < a->nfns) {
		const struct fn_info *outer = &a->fns[ev->outer_probe];

		if (ev->ret_addr >= outer->mod_start && ev->ret_addr < outer->mod_end) {
			a->stats.nested_calls++;
			return 0;
		}
	}
	if (!ev->stack_known && ev->chain)
		ev->cookie = a->hooks.chain ? a->hooks.chain(a->hooks.ctx, ev->regs->rip, ev->stack,
							     ev->stack_len / 8) : 0;
	else if (!ev->stack_known)
		ev->cookie = a->hooks.stack ? a->hooks.stack(a->hooks.ctx, ev->tid, ev->regs, ev->stack,
							     ev->stack_len) : 0;
	ev->cookie &= ~COOKIE_FOR_NEW;
	if (fi->fn == PK_ALLOC_NEW) {
		struct new_marker nm = { .tid = ev->tid, .sp = ev->entry_sp,
					 .caller = ev->ret_addr, .size = ev->args[0],
					 .cookie = ev->cookie, .mod_start = fi->mod_start,
					 .mod_end = fi->mod_end, .fn = fi->fn };

		if (m)
			*m = nm; /* a new inside a signal handler inside new: rare */
		else {
			pk_xgrow((void **)&a->markers, &a->capmarkers, a->nmarkers + 1,
				 sizeof(*a->markers));
			a->markers[a->nmarkers++] = nm;
		}
		return 0;
	}
	if (fi->fn == PK_ALLOC_FREE || fi->fn == PK_ALLOC_DELETE) {
		struct caller c = caller_of(ev);

		record_free(a, &c, fi->fn, ev->args[0]);
		/* libc's free calls no allocator; a non-tail delete wrapper does
		 * (free): hold its return so that free counts as nested */
		return fi->fn == PK_ALLOC_DELETE;
	}
	return 1;
}

static void on_return(struct pk_alloc *a, struct pk_probe_event *ev, const struct fn_info *fi)
{
	uint64_t rax = ev->retval, n = ev->args[1];
	struct caller c;

	if (ev->cookie & COOKIE_FOR_NEW) {
		struct new_marker *m = find_marker(a, ev->tid);

		if (m && m->sp > ev->entry_sp) {
			ev->cookie = m->cookie;
			ev->ret_addr = m->caller;
			c = caller_of(ev);
			record_alloc(a, &c, m->fn, rax, m->size);
			drop_marker(a, m);
		}
		return;
	}
	c = caller_of(ev);
	switch (fi->fn) {
	case PK_ALLOC_MALLOC:
	case PK_ALLOC_VALLOC:
		record_alloc(a, &c, fi->fn, rax, ev->args[0]);
		break;
	case PK_ALLOC_CALLOC:
		record_alloc(a, &c, fi->fn, rax, ev->args[0] * ev->args[1]);
		break;
	case PK_ALLOC_MEMALIGN:
		record_alloc(a, &c, fi->fn, rax, ev->args[1]);
		break;
	case PK_ALLOC_PVALLOC: {
		uint64_t pg = 4096, sz = ev->args[0] ? (ev->args[0] + pg - 1) & ~(pg - 1) : pg;

		record_alloc(a, &c, fi->fn, rax, sz);
		break;
	}
	case PK_ALLOC_REALLOCARRAY:
		n = ev->args[1] * ev->args[2];
		if (ev->args[2] && n / ev->args[2] != ev->args[1]) {
			a->stats.failed_allocs++; /* overflow: ENOMEM, block unchanged */
			break;
		}
		/* fall through */
	case PK_ALLOC_REALLOC:
		if (ev->args[0] == 0) {
			record_alloc(a, &c, fi->fn, rax, n);
		} else if (n == 0 && rax == 0) {
			record_free(a, &c, fi->fn, ev->args[0]); /* realloc(p, 0) */
		} else if (rax == 0) {
			a->stats.failed_allocs++; /* the old block is untouched */
		} else {
			record_free(a, &c, fi->fn, ev->args[0]);
			record_alloc(a, &c, fi->fn, rax, n);
		}
		break;
	case PK_ALLOC_POSIX_MEMALIGN: {
		uint64_t ptr = 0;

		if (a->feeding)
			ptr = a->feed_out0;
		if (rax != 0 || (!a->feeding && pk_probes_read(a->probes, ev->args[0], &ptr, 8) < 0))
			a->stats.failed_allocs++;
		else
			record_alloc(a, &c, fi->fn, ptr, ev->args[2]);
		break;
	}
	default:
		break;
	}
}

static int on_probe(void *ctx, struct pk_probe_event *ev)
{
	struct pk_alloc *a = ctx;
	const struct fn_info *fi;

	if (ev->probe < 0 || (size_t)ev->probe >= a->nfns || a->fns[ev->probe].fn < 0)
		return 0;
	fi = &a->fns[ev->probe];
	switch (ev->kind) {
	case PK_PROBE_ENTRY:
		return on_entry(a, ev, fi);
	case PK_PROBE_RETURN:
		on_return(a, ev, fi);
		return 0;
	case PK_PROBE_LOST:
		a->stats.lost_returns++;
		return 0;
	}
	return 0;
}

struct pk_alloc *pk_alloc_new(pid_t pid, const struct pk_alloc_hooks *hooks)
{
	struct pk_alloc *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	if (hooks)
		a->hooks = *hooks;
	a->probes = pk_probes_new(pid, on_probe, a);
	if (!a->probes) {
		free(a);
		return NULL;
	}
	pk_live_init(&a->live);
	return a;
}

void pk_alloc_free(struct pk_alloc *a)
{
	if (!a)
		return;
	pk_probes_free(a->probes);
	pk_live_release(&a->live);
	free(a->fns);
	free(a->markers);
	free(a);
}

int pk_alloc_add_function(struct pk_alloc *a, const char *name, uint64_t addr,
			  uint64_t module_start, uint64_t module_end)
{
	return pk_alloc_add_function_sized(a, name, addr, 0, module_start, module_end);
}

void pk_alloc_set_placer(struct pk_alloc *a, pk_alloc_placer place, void *ctx)
{
	a->place = place;
	a->place_ctx = ctx;
}

int pk_alloc_feed_call(struct pk_alloc *a, int fn, uint64_t module_start, uint64_t module_end,
		       struct pk_probe_event *ev, uint64_t out0)
{
	const struct fn_info fi = { fn, module_start, module_end };
	uint64_t nested = a->stats.nested_calls;

	ev->kind = PK_PROBE_ENTRY;
	if (!on_entry(a, ev, &fi))
		return a->stats.nested_calls == nested;
	ev->kind = PK_PROBE_RETURN;
	ev->regs = NULL;
	a->feeding = 1;
	a->feed_out0 = out0;
	on_return(a, ev, &fi);
	a->feeding = 0;
	return 1;
}

int pk_alloc_new_in_flight(const struct pk_alloc *a)
{
	return a->nmarkers != 0;
}

int pk_alloc_feed_plain(struct pk_alloc *a, int fn, pid_t tid, uint64_t time_ns, uint64_t ret_addr,
			uint64_t arg0, uint64_t arg1, uint64_t retval, uint64_t stack_id)
{
	struct caller c = { tid, time_ns, stack_id, ret_addr };

	if (a->nmarkers)
		return 0;
	switch (fn) {
	case PK_ALLOC_MALLOC:
	case PK_ALLOC_VALLOC:
		record_alloc(a, &c, fn, retval, arg0);
		return 1;
	case PK_ALLOC_CALLOC:
		record_alloc(a, &c, fn, retval, arg0 * arg1);
		return 1;
	case PK_ALLOC_FREE:
	case PK_ALLOC_DELETE:
		c.stack_id = 0; /* a free's own stack is not recorded */
		record_free(a, &c, fn, arg0);
		return 1;
	default:
		return 0;
	}
}

int pk_alloc_add_function_sized(struct pk_alloc *a, const char *name, uint64_t addr,
				uint64_t size, uint64_t module_start, uint64_t module_end)
{
	int fn = pk_alloc_fn_of(name), id;

	if (fn < 0 || !addr)
		return 0;
	if (fn == PK_ALLOC_NEW || fn == PK_ALLOC_DELETE) {
		int tail = is_tail_wrapper(a, addr);

		if (tail < 0)
			return tail;
		if (tail)
			return 0;
	}
	if (a->place && a->place(a->place_ctx, name, fn, addr, size, module_start, module_end))
		return 1;
	id = pk_probe_add(a->probes, addr, name);
	if (id < 0)
		return id;
	if ((size_t)id < a->nfns && a->fns[id].fn >= 0)
		return 0; /* an alias of a probed address */
	if ((size_t)id >= a->nfns) {
		size_t n = (size_t)id + 1;

		a->fns = pk_xrealloc(a->fns, n * sizeof(*a->fns));
		for (size_t i = a->nfns; i < n; i++)
			a->fns[i].fn = -1;
		a->nfns = n;
	}
	a->fns[id].fn = fn;
	a->fns[id].mod_start = module_start;
	a->fns[id].mod_end = module_end;
	return 1;
}

struct pk_probes *pk_alloc_probes(struct pk_alloc *a)
{
	return a->probes;
}

const struct pk_alloc_stats *pk_alloc_stats(const struct pk_alloc *a)
{
	return &a->stats;
}

size_t pk_alloc_live_foreach(const struct pk_alloc *a,
			     void (*fn)(void *ctx, const struct pk_alloc_live *live), void *ctx)
{
	size_t n = 0;

	for (size_t i = 0; i < a->live.cap; i++)
		if (a->live.v[i].ptr) {
			fn(ctx, &a->live.v[i]);
			n++;
		}
	return n;
}

const struct pk_alloc_live *pk_alloc_live_find(const struct pk_alloc *a, uint64_t ptr)
{
	return pk_live_find(&a->live, ptr);
}

void pk_alloc_thread_exit(struct pk_alloc *a, pid_t tid)
{
	struct new_marker *m = find_marker(a, tid);

	if (m)
		drop_marker(a, m);
	pk_probes_thread_exit(a->probes, tid);
}

void pk_alloc_reset(struct pk_alloc *a)
{
	a->nmarkers = 0;
	pk_probes_forget(a->probes);
	pk_live_release(&a->live);
	pk_live_init(&a->live);
	memset(&a->stats, 0, sizeof(a->stats));
}
