/*
 * unwind-access.c - libunwind's view of a target that keeps running.
 *
 * The thread was resumed before the unwind starts, so the accessors never
 * ask it anything they can answer otherwise: registers come from the set
 * saved at the stop, stack words from the copy taken then, code and
 * unwind tables from local images of the target's files (unwind-modules.c).
 * A read of the stack past the end of the copy fails (the live stack has
 * moved on; the walk is truncated, not made up).  Anything else costs one
 * process_vm_readv, counted in stats.remote_reads.
 */
#include <errno.h>
#include <string.h>
#include <sys/uio.h>

#include "daemon/unwind-internal.h"

static int find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi,
			  int need_unwind_info, void *arg)
{
	(void)as;
	return pk_unwind_find_proc_info(arg, ip, pi, need_unwind_info);
}

/* The DWARF unwind info libunwind allocates is freed by libunwind itself
 * (put_unwind_info in its parser); there is nothing of ours to release. */
static void put_unwind_info(unw_addr_space_t as, unw_proc_info_t *pi, void *arg)
{
	(void)as;
	(void)pi;
	(void)arg;
}

/* No JIT registration list is read from the target. */
static int get_dyn_info_list_addr(unw_addr_space_t as, unw_word_t *addr, void *arg)
{
	(void)as;
	(void)addr;
	(void)arg;
	return -UNW_ENOINFO;
}

static int remote_read(struct pk_unwinder *u, unw_word_t addr, unw_word_t *val)
{
	struct iovec local = { val, sizeof(*val) };
	struct iovec remote = { (void *)(uintptr_t)addr, sizeof(*val) };

	u->stats.remote_reads++;
	if (process_vm_readv(u->pid, &local, 1, &remote, 1, 0) != (ssize_t)sizeof(*val))
		return -UNW_EINVAL;
	return 0;
}

void pk_unwind_log_word(struct pk_unwinder *u, uint64_t off)
{
	struct pk_unwind_log *l = u->log;

	if (!l || l->overflow)
		return;
	for (unsigned i = l->n; i-- > 0;)
		if (l->off[i] == off)
			return;
	if (l->n == PK_UNWIND_LOG_MAX || off > UINT32_MAX)
		l->overflow = 1;
	else
		l->off[l->n++] = (uint32_t)off;
}

static int access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val, int write,
		      void *arg)
{
	struct pk_unwinder *u = arg;
	uint64_t v;

	(void)as;
	if (write)
		return -UNW_EREADONLYREG;
	if (addr >= u->stack_lo && addr < u->stack_hi) {
		pk_unwind_log_word(u, addr - u->stack_lo);
		if (addr + sizeof(*val) <= u->stack_hi) {
			memcpy(val, u->stack + (addr - u->stack_lo), sizeof(*val));
			return 0;
		}
		/* A word straddling the end of the copy: the part we have. */
		v = 0;
		memcpy(&v, u->stack + (addr - u->stack_lo), u->stack_hi - addr);
		*val = v;
		return 0;
	}
	if (addr >= u->stack_map_lo && addr < u->stack_map_hi) {
		u->beyond_copy = 1;
		return -UNW_EINVAL;
	}
	if (pk_unwind_local_read(u, addr, &v) == 0) {
		*val = v;
		return 0;
	}
	return remote_read(u, addr, val);
}

static int access_reg(unw_addr_space_t as, unw_regnum_t reg, unw_word_t *val, int write,
		      void *arg)
{
	struct pk_unwinder *u = arg;

	(void)as;
	if (reg < 0 || reg > UNW_X86_64_RIP)
		return -UNW_EBADREG;
	if (write) {
		u->regs[reg] = *val;
		u->regs_written |= 1u << reg;
	} else {
		*val = u->regs[reg];
		if (u->log && !(u->regs_written & (1u << reg)))
			u->log->regs_read |= 1u << reg;
	}
	return 0;
}

static int access_fpreg(unw_addr_space_t as, unw_regnum_t reg, unw_fpreg_t *val, int write,
			void *arg)
{
	(void)as;
	(void)reg;
	(void)val;
	(void)write;
	(void)arg;
	return -UNW_EBADREG;
}

static int resume(unw_addr_space_t as, unw_cursor_t *c, void *arg)
{
	(void)as;
	(void)c;
	(void)arg;
	return -UNW_EINVAL;
}

/* Names come from the symbolizer, at record time, not from libunwind. */
static int get_proc_name(unw_addr_space_t as, unw_word_t addr, char *buf, size_t len,
			 unw_word_t *offp, void *arg)
{
	(void)as;
	(void)addr;
	(void)buf;
	(void)len;
	(void)offp;
	(void)arg;
	return -UNW_ENOINFO;
}

unw_accessors_t pk_unwind_accessors = {
	.find_proc_info = find_proc_info,
	.put_unwind_info = put_unwind_info,
	.get_dyn_info_list_addr = get_dyn_info_list_addr,
	.access_mem = access_mem,
	.access_reg = access_reg,
	.access_fpreg = access_fpreg,
	.resume = resume,
	.get_proc_name = get_proc_name,
};
