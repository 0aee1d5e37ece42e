/*
 * unwind.c - the unwinder's public face (see unwind.h): one libunwind
 * remote address space per target with perfkit's accessors, and the step
 * loop with its stopping rules.
 *
 * A walk ends complete when libunwind reports the outermost frame (CFI
 * marks the return address undefined in _start, in clone3's child and in
 * the thread start path), truncated when it needs stack beyond the copy
 * or reaches max, and failed otherwise.  A frame libunwind cannot step is
 * given one frame-pointer step before giving up; a walk that does not move
 * up the stack is stopped.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/unwind-internal.h"
#include "util.h"

/* libunwind's default of 128 cached IPs thrashes on real programs. */
#define RS_CACHE_SIZE 4096

struct pk_unwinder *pk_unwinder_new(pid_t pid, struct pk_maps *maps)
{
	struct pk_unwinder *u;

	if (!maps) {
		errno = EINVAL;
		return NULL;
	}
	u = pk_xcalloc(1, sizeof(*u));
	u->pid = pid;
	u->maps = maps;
	u->as = unw_create_addr_space(&pk_unwind_accessors, 0);
	if (!u->as) {
		free(u);
		errno = ENOMEM;
		return NULL;
	}
	/* Debian's libunwind treats PER_THREAD as GLOBAL anyway. */
	if (unw_set_caching_policy(u->as, UNW_CACHE_GLOBAL) < 0 ||
	    unw_set_cache_size(u->as, RS_CACHE_SIZE, 0) < 0) {
		unw_destroy_addr_space(u->as);
		free(u);
		errno = EINVAL;
		return NULL;
	}
	return u;
}

void pk_unwinder_free(struct pk_unwinder *u)
{
	if (!u)
		return;
	pk_unwind_modules_free(u);
	unw_destroy_addr_space(u->as);
	free(u);
}

void pk_unwinder_flush(struct pk_unwinder *u)
{
	if (!u)
		return;
	pk_unwind_modules_free(u);
	unw_flush_cache(u->as, 0, 0);
}

void pk_unwinder_log_reads(struct pk_unwinder *u, struct pk_unwind_log *log)
{
	if (u)
		u->log = log;
}

const struct pk_unwind_stats *pk_unwinder_stats(const struct pk_unwinder *u)
{
	return &u->stats;
}

static void load_regs(struct pk_unwinder *u, const struct user_regs_struct *r)
{
	unw_word_t *g = u->regs;

	g[UNW_X86_64_RAX] = r->rax;
	g[UNW_X86_64_RDX] = r->rdx;
	g[UNW_X86_64_RCX] = r->rcx;
	g[UNW_X86_64_RBX] = r->rbx;
	g[UNW_X86_64_RSI] = r->rsi;
	g[UNW_X86_64_RDI] = r->rdi;
	g[UNW_X86_64_RBP] = r->rbp;
	g[UNW_X86_64_RSP] = r->rsp;
	g[UNW_X86_64_R8] = r->r8;
	g[UNW_X86_64_R9] = r->r9;
	g[UNW_X86_64_R10] = r->r10;
	g[UNW_X86_64_R11] = r->r11;
	g[UNW_X86_64_R12] = r->r12;
	g[UNW_X86_64_R13] = r->r13;
	g[UNW_X86_64_R14] = r->r14;
	g[UNW_X86_64_R15] = r->r15;
	g[UNW_X86_64_RIP] = r->rip;
}

/*
 * After libunwind failed to step from the cursor's frame: one frame-pointer
 * step, then a fresh cursor at the caller.  The callee-saved registers the
 * cursor knew are carried over; the IP given to libunwind is the return
 * address minus one, inside the call, as libunwind itself looks up callers.
 * Returns 0 with the return address in *ip, or -1.
 */
static int fp_fallback(struct pk_unwinder *u, unw_cursor_t *c, uint64_t *ip)
{
	static const int saved[] = { UNW_X86_64_RBX, UNW_X86_64_R12, UNW_X86_64_R13,
				     UNW_X86_64_R14, UNW_X86_64_R15 };
	unw_word_t sp, bp, v;
	uint64_t nip, nsp, nbp;

	if (unw_get_reg(c, UNW_REG_SP, &sp) < 0 || unw_get_reg(c, UNW_X86_64_RBP, &bp) < 0)
		return -1;
	if (pk_unwind_fp_step(u, sp, bp, &nip, &nsp, &nbp) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(saved) / sizeof(saved[0]); i++)
		if (unw_get_reg(c, saved[i], &v) == 0)
			u->regs[saved[i]] = v;
	u->regs[UNW_X86_64_RSP] = nsp;
	u->regs[UNW_X86_64_RBP] = nbp;
	u->regs[UNW_X86_64_RIP] = nip - 1;
	u->regs_written = ~0u; /* every register is the unwinder's now */
	if (unw_init_remote(c, u->as, u) < 0)
		return -1;
	*ip = nip;
	return 0;
}

void pk_unwinder_set_resolver(struct pk_unwinder *u, pk_unwind_resolver fn, void *ctx)
{
	u->resolver = fn;
	u->resolver_ctx = ctx;
}

void pk_unwinder_set_ret_map(struct pk_unwinder *u, pk_unwind_ret_map fn, void *ctx)
{
	u->ret_map = fn;
	u->ret_map_ctx = ctx;
}

/*
 * Go on from return address ret with the caller's stack pointer
 * ret_slot + 8: a fresh cursor there (callee-saved registers carried over
 * from c, as in fp_fallback).  c may be NULL for the first frame (the
 * registers are u->regs already).  0, or -1.
 */
static int hop_to(struct pk_unwinder *u, unw_cursor_t *c, uint64_t ret_slot, uint64_t ret)
{
	static const int saved[] = { UNW_X86_64_RBX, UNW_X86_64_RBP, UNW_X86_64_R12,
				     UNW_X86_64_R13, UNW_X86_64_R14, UNW_X86_64_R15 };
	unw_word_t v;

	if (c) {
		for (size_t i = 0; i < sizeof(saved) / sizeof(saved[0]); i++)
			if (unw_get_reg(c, saved[i], &v) == 0)
				u->regs[saved[i]] = v;
		u->regs_written = ~0u; /* every register is the unwinder's now */
	} else if (u->log) {
		/* the first frame: its rip and rsp decided this; the other
		 * registers are still the input's */
		u->log->regs_read |= (1u << UNW_X86_64_RIP) | (1u << UNW_X86_64_RSP);
		u->regs_written |= (1u << UNW_X86_64_RIP) | (1u << UNW_X86_64_RSP);
	}
	u->regs[UNW_X86_64_RSP] = ret_slot + 8;
	u->regs[UNW_X86_64_RIP] = ret - 1;
	if (c && unw_init_remote(c, u->as, u) < 0)
		return -1;
	return 0;
}

/*
 * The frame at (pc, sp) is perfkit's code (u->resolver): step over it to
 * its caller, whose return address goes to *ip (see hop_to).  Returns 0,
 * or -1 when the return address is not in the copy.
 */
static int resolver_hop(struct pk_unwinder *u, unw_cursor_t *c, uint64_t ret_slot, uint64_t *ip)
{
	uint64_t ret;

	if (ret_slot < u->stack_lo || ret_slot + 8 > u->stack_hi)
		return -1;
	memcpy(&ret, u->stack + (ret_slot - u->stack_lo), 8);
	pk_unwind_log_word(u, ret_slot - u->stack_lo);
	if (u->ret_map) {
		uint64_t orig;

		if (u->ret_map(u->ret_map_ctx, ret, ret_slot, &orig))
			ret = orig;
	}
	if (hop_to(u, c, ret_slot, ret) < 0)
		return -1;
	*ip = ret;
	return 0;
}

enum walk_end { END_COMPLETE, END_TRUNCATED, END_FAILED };

static enum walk_end walk(struct pk_unwinder *u, uint64_t *ips, int *n, int max)
{
	unw_cursor_t c;
	uint64_t prev_sp = u->regs[UNW_X86_64_RSP], prev_ip = u->regs[UNW_X86_64_RIP];

	if (unw_init_remote(&c, u->as, u) < 0)
		return END_FAILED;
	for (;;) {
		unw_word_t ip, sp;
		int r;

		r = unw_step(&c);
		if (r == 0)
			return END_COMPLETE;
		/* Full, and the stack goes on. */
		if (*n >= max)
			return END_TRUNCATED;
		if (r < 0) {
			uint64_t fip;

			if (u->beyond_copy)
				return END_TRUNCATED;
			if (fp_fallback(u, &c, &fip) < 0)
				return u->beyond_copy ? END_TRUNCATED : END_FAILED;
			u->stats.fp_fallbacks++;
			ips[(*n)++] = fip;
			prev_ip = fip;
			prev_sp = u->regs[UNW_X86_64_RSP];
			continue;
		}
		if (unw_get_reg(&c, UNW_REG_IP, &ip) < 0 || unw_get_reg(&c, UNW_REG_SP, &sp) < 0)
			return END_FAILED;
		/* A zero return address is the conventional end of a chain. */
		if (ip == 0)
			return END_COMPLETE;
		/* Frames move up the stack; the one exception is leaving a
		 * signal handler that ran on an alternate stack, which lands
		 * outside the copied mapping. */
		if ((sp == prev_sp && ip == prev_ip) ||
		    (sp < prev_sp && sp >= u->stack_map_lo && sp < u->stack_map_hi))
			return END_FAILED;
		if (u->ret_map) {
			uint64_t orig;

			/* a return address perfkit replaced: the original */
			if (u->ret_map(u->ret_map_ctx, ip, sp - 8, &orig)) {
				if (hop_to(u, &c, sp - 8, orig) < 0)
					return END_TRUNCATED;
				ip = orig;
			}
		}
		if (u->resolver) {
			uint64_t slot, fn, rip;

			/* a return into a detour: report its caller instead */
			if (u->resolver(u->resolver_ctx, ip, sp, &slot, &fn)) {
				if (resolver_hop(u, &c, slot, &rip) < 0)
					return END_TRUNCATED;
				ip = rip;
				sp = slot + 8;
			}
		}
		ips[(*n)++] = ip;
		prev_ip = ip;
		prev_sp = sp;
	}
}

int pk_unwind(struct pk_unwinder *u, const struct pk_unwind_input *in, uint64_t *ips, int max,
	      int *complete)
{
	const struct pk_mapping *stack_map;
	enum walk_end end;
	int n = 0;

	*complete = 0;
	if (!in || !in->regs || max <= 0)
		return 0;
	u->stats.unwinds++;
	load_regs(u, in->regs);
	u->stack = in->stack;
	u->stack_lo = in->stack_addr;
	u->stack_hi = in->stack ? in->stack_addr + in->stack_len : in->stack_addr;
	u->beyond_copy = 0;
	u->reloaded = 0;
	u->regs_written = 0;
	if (u->log)
		memset(u->log, 0, sizeof(*u->log));
	stack_map = pk_maps_find_stack(u->maps, in->stack_addr);
	if (stack_map) {
		u->stack_map_lo = stack_map->start;
		u->stack_map_hi = stack_map->end;
	} else {
		u->stack_map_lo = u->stack_lo;
		u->stack_map_hi = u->stack_hi;
	}

	ips[n++] = in->regs->rip;
	end = END_FAILED;
	if (u->resolver) {
		uint64_t slot, fn, rip;

		/* stopped in a detour: it stands for the probed function */
		if (u->resolver(u->resolver_ctx, in->regs->rip, in->regs->rsp, &slot, &fn)) {
			ips[0] = fn;
			if (resolver_hop(u, NULL, slot, &rip) < 0) {
				end = END_TRUNCATED;
				goto done;
			}
			if (max > 1)
				ips[n++] = rip;
		}
	}
	end = walk(u, ips, &n, max);
done:
	switch (end) {
	case END_COMPLETE:
		*complete = 1;
		u->stats.complete++;
		break;
	case END_TRUNCATED:
		u->stats.truncated++;
		break;
	case END_FAILED:
		u->stats.failures++;
		break;
	}
	/* The copy belongs to the caller: forget it. */
	u->stack = NULL;
	u->stack_lo = u->stack_hi = 0;
	return n;
}
