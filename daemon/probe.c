/*
 * probe.c - the probe engine: probe table, arming, trap dispatch, detach,
 * fork and exec (see probe.h for the contract).
 *
 * Memory is read and written through /proc/PID/mem (one syscall for any
 * size, and writes to read-only text are allowed to the tracer, copying
 * the page as the kernel's FOLL_FORCE does for debuggers).
 */
#include "daemon/probe-int.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <unistd.h>

#include "error.h"
#include "util.h"

#define INT3 0xcc

static int rw_pid(pid_t pid, uint64_t addr, void *buf, size_t n, int write)
{
	char path[64];
	int fd, err = 0;
	ssize_t r;

	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	fd = open(path, (write ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = write ? pwrite(fd, buf, n, (off_t)addr) : pread(fd, buf, n, (off_t)addr);
	if (r < 0)
		err = -errno;
	else if ((size_t)r != n)
		err = -EIO;
	close(fd);
	return err;
}

int pk_mem_read_pid(pid_t pid, uint64_t addr, void *buf, size_t n)
{
	return rw_pid(pid, addr, buf, n, 0);
}

int pk_mem_write_pid(pid_t pid, uint64_t addr, const void *buf, size_t n)
{
	return rw_pid(pid, addr, (void *)(uintptr_t)buf, n, 1);
}

int pk_probes_mem_open(struct pk_probes *p)
{
	char path[64];

	if (p->memfd >= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)p->pid);
	p->memfd = open(path, O_RDWR | O_CLOEXEC);
	return p->memfd < 0 ? -errno : 0;
}

int pk_probes_read(struct pk_probes *p, uint64_t addr, void *buf, size_t n)
{
	ssize_t r;
	int err = pk_probes_mem_open(p);

	if (err < 0)
		return err;
	r = pread(p->memfd, buf, n, (off_t)addr);
	if (r < 0)
		return -errno;
	return (size_t)r == n ? 0 : -EIO;
}

int pk_probes_write(struct pk_probes *p, uint64_t addr, const void *buf, size_t n)
{
	ssize_t r;
	int err = pk_probes_mem_open(p);

	if (err < 0)
		return err;
	r = pwrite(p->memfd, buf, n, (off_t)addr);
	if (r < 0)
		return -errno;
	return (size_t)r == n ? 0 : -EIO;
}

struct pk_probes *pk_probes_new(pid_t pid, pk_probe_callback cb, void *ctx)
{
	struct pk_probes *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->pid = pid;
	p->memfd = -1;
	p->stack_copy = 8;
	p->stack_buf = malloc(p->stack_copy);
	if (!p->stack_buf) {
		free(p);
		return NULL;
	}
	p->cb = cb;
	p->ctx = ctx;
	return p;
}

void pk_probes_free(struct pk_probes *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nprobes; i++)
		free(p->probes[i].name);
	for (size_t i = 0; i < p->nthreads; i++)
		free(p->threads[i].v);
	free(p->probes);
	free(p->by_addr);
	free(p->pages);
	free(p->threads);
	free(p->stack_buf);
	if (p->memfd >= 0)
		close(p->memfd);
	free(p);
}

int pk_probe_add(struct pk_probes *p, uint64_t addr, const char *name)
{
	for (size_t i = 0; i < p->nprobes; i++)
		if (p->probes[i].addr == addr)
			return (int)i;
	pk_xgrow((void **)&p->probes, &p->capprobes, p->nprobes + 1, sizeof(*p->probes));
	struct pk_probe *pr = &p->probes[p->nprobes];

	memset(pr, 0, sizeof(*pr));
	pr->addr = addr;
	pr->name = pk_xstrdup(name ? name : "?");
	return (int)p->nprobes++;
}

const char *pk_probe_name(const struct pk_probes *p, int id)
{
	return id >= 0 && (size_t)id < p->nprobes ? p->probes[id].name : NULL;
}

uint64_t pk_probe_address(const struct pk_probes *p, int id)
{
	return id >= 0 && (size_t)id < p->nprobes ? p->probes[id].addr : 0;
}

int pk_probes_set_stack_copy(struct pk_probes *p, size_t bytes)
{
	uint8_t *buf;

	if (bytes < 8)
		bytes = 8;
	buf = realloc(p->stack_buf, bytes);
	if (!buf)
		return -ENOMEM;
	p->stack_buf = buf;
	p->stack_copy = bytes;
	return 0;
}

uint64_t pk_probes_trampoline(const struct pk_probes *p)
{
	return p->tramp;
}

void pk_probes_stats(const struct pk_probes *p, struct pk_probe_stats *out)
{
	*out = p->stats;
	out->pages = (unsigned)p->npages;
}

static const struct pk_probes *sort_ctx;

static int cmp_by_addr(const void *a, const void *b)
{
	uint64_t x = sort_ctx->probes[*(const int *)a].addr;
	uint64_t y = sort_ctx->probes[*(const int *)b].addr;

	return x < y ? -1 : x > y;
}

static void rebuild_index(struct pk_probes *p)
{
	free(p->by_addr);
	p->by_addr = pk_xcalloc(p->nprobes + 1, sizeof(int));
	p->nby_addr = 0;
	for (size_t i = 0; i < p->nprobes; i++)
		if (p->probes[i].placed)
			p->by_addr[p->nby_addr++] = (int)i;
	sort_ctx = p;
	qsort(p->by_addr, p->nby_addr, sizeof(int), cmp_by_addr);
	sort_ctx = NULL;
}

/* The placed (armed or disarmed) probe at addr, or NULL. */
static struct pk_probe *find_placed(struct pk_probes *p, uint64_t addr)
{
	size_t lo = 0, hi = p->nby_addr;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		struct pk_probe *pr = &p->probes[p->by_addr[mid]];

		if (pr->addr == addr)
			return pr;
		if (pr->addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* The armed probe at addr, or NULL. */
static struct pk_probe *find_armed(struct pk_probes *p, uint64_t addr)
{
	struct pk_probe *pr = find_placed(p, addr);

	return pr && pr->armed ? pr : NULL;
}

static int within_rel32(uint64_t from, uint64_t to)
{
	int64_t d = (int64_t)(to - from);

	return d >= INT32_MIN && d <= INT32_MAX;
}

/* A slot for pr's out-of-line copy (mapping a page when none fits). */
static int get_slot(struct pk_probes *p, pid_t tid, const struct pk_probe *pr, uint64_t *slot)
{
	uint64_t page;
	int err;

	for (size_t i = 0; i < p->npages; i++) {
		struct pk_probe_page *pg = &p->pages[i];

		if (pg->used + PK_PROBE_SLOT_SIZE > PK_PROBE_PAGE_SIZE)
			continue;
		if (pr->insn.rip_relative &&
		    (!within_rel32(pg->addr, pr->addr) ||
		     !within_rel32(pg->addr + PK_PROBE_PAGE_SIZE, pr->addr)))
			continue;
		*slot = pg->addr + pg->used;
		pg->used += PK_PROBE_SLOT_SIZE;
		return 0;
	}
	err = pk_inject_map_page(p, tid, pr->addr, &page);
	if (err < 0)
		return err;
	pk_xgrow((void **)&p->pages, &p->cappages, p->npages + 1, sizeof(*p->pages));
	p->pages[p->npages].addr = page;
	p->pages[p->npages].used = 0;
	p->npages++;
	if (!p->tramp) {
		uint8_t t = INT3;

		err = pk_probes_write(p, page, &t, 1);
		if (err < 0)
			return err;
		p->tramp = page;
		p->pages[p->npages - 1].used = PK_PROBE_TRAMP_SIZE;
	}
	return get_slot(p, tid, pr, slot);
}

/* Write the out-of-line copy: the instruction (RIP fixed), then
 * jmp *0(%rip) with the absolute address of the next original instruction. */
static int write_slot(struct pk_probes *p, const struct pk_probe *pr, uint64_t slot)
{
	uint8_t buf[PK_PROBE_SLOT_SIZE];
	unsigned len = pr->insn.len;
	uint64_t back = pr->addr + len;

	memset(buf, INT3, sizeof(buf));
	memcpy(buf, pr->code, len);
	if (pr->insn.rip_relative) {
		int32_t disp;
		int64_t nd;

		memcpy(&disp, buf + pr->insn.disp_offset, 4);
		nd = (int64_t)disp + (int64_t)(pr->addr - slot);
		if (nd < INT32_MIN || nd > INT32_MAX)
			return -ERANGE;
		disp = (int32_t)nd;
		memcpy(buf + pr->insn.disp_offset, &disp, 4);
	}
	buf[len] = 0xff;
	buf[len + 1] = 0x25;
	memset(buf + len + 2, 0, 4);
	memcpy(buf + len + 6, &back, 8);
	return pk_probes_write(p, slot, buf, len + 14);
}

static int arm_one(struct pk_probes *p, pid_t tid, struct pk_probe *pr)
{
	uint8_t int3 = INT3;
	int err;

	if (pr->placed) /* re-arm after pk_probes_disarm */
		goto write_int3;
	err = pk_probes_read(p, pr->addr, pr->code, sizeof(pr->code));
	if (err < 0)
		return err;
	if (pr->code[0] == INT3) {
		pk_warn("cannot probe '%s' at %#llx: a breakpoint is already there", pr->name,
			(unsigned long long)pr->addr);
		return -EBUSY;
	}
	if (pk_insn_decode(pr->code, sizeof(pr->code), &pr->insn) < 0 ||
	    pr->insn.cls == PK_INSN_UNSAFE) {
		pk_warn("cannot probe '%s' at %#llx: its first instruction cannot be run out of line",
			pr->name, (unsigned long long)pr->addr);
		return -ENOTSUP;
	}
	pr->slot = 0;
	if (pr->insn.cls == PK_INSN_PLAIN) {
		err = get_slot(p, tid, pr, &pr->slot);
		if (err == 0)
			err = write_slot(p, pr, pr->slot);
		if (err < 0)
			return err;
	}
	pr->orig = pr->code[0];
	pr->placed = 1;
write_int3:
	err = pk_probes_write(p, pr->addr, &int3, 1);
	if (err < 0)
		return err;
	pr->armed = 1;
	return 0;
}

int pk_probes_arm(struct pk_probes *p, pid_t tid)
{
	int armed = 0, err = pk_probes_mem_open(p);

	if (err < 0)
		return err;
	for (size_t i = 0; i < p->nprobes; i++) {
		struct pk_probe *pr = &p->probes[i];

		if (pr->armed || pr->refused)
			continue;
		err = arm_one(p, tid, pr);
		if (err == -ENOTSUP || err == -EBUSY || err == -ERANGE) {
			pr->refused = 1;
			p->stats.refused++;
			continue;
		}
		if (err < 0) {
			rebuild_index(p);
			return err;
		}
		armed++;
		p->stats.armed++;
	}
	rebuild_index(p);
	return armed;
}

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

static int handle_entry(struct pk_probes *p, pid_t tid, struct pk_probe *pr,
			struct user_regs_struct *regs)
{
	struct pk_probe_thread *t = pk_probe_thread_get(p, tid, 1);
	struct pk_probe_event ev;
	uint64_t ret = 0;
	ssize_t got;
	int err, want;

	regs->rip = pr->addr;
	/* one read gives the return address and the caller's stack copy;
	 * it stops short at the end of the stack mapping */
	err = pk_probes_mem_open(p);
	if (err < 0)
		return err;
	got = pread(p->memfd, p->stack_buf, p->stack_copy, (off_t)regs->rsp);
	if (got < 8)
		return got < 0 ? -errno : -EIO;
	memcpy(&ret, p->stack_buf, 8);
	memset(&ev, 0, sizeof(ev));
	ev.kind = PK_PROBE_ENTRY;
	ev.probe = (int)(pr - p->probes);
	ev.tid = tid;
	ev.time_ns = pk_monotonic_ns();
	ev.args[0] = regs->rdi;
	ev.args[1] = regs->rsi;
	ev.args[2] = regs->rdx;
	ev.entry_sp = regs->rsp;
	ev.ret_addr = ret;
	ev.regs = regs;
	ev.stack = p->stack_buf;
	ev.stack_len = (size_t)got;
	if (p->tramp && ret == p->tramp) {
		/* tail jump from a function whose return we hold: the real
		 * return address is in its pending entry (same slot) */
		ev.tail_call = 1;
		for (size_t i = t->n; i-- > 0;)
			if (t->v[i].slot == regs->rsp) {
				ev.ret_addr = t->v[i].orig_ret;
				break;
			}
	} else {
		pk_probe_return_prune(p, t, regs->rsp);
	}
	ev.depth = (unsigned)t->n;
	ev.outer_probe = t->n ? t->v[t->n - 1].probe : -1;
	p->stats.entries++;
	want = p->cb ? p->cb(p->ctx, &ev) : 0;
	if (want == 1 && p->tramp) {
		struct pk_pending pend = { .slot = regs->rsp, .orig_ret = ret,
					   .cookie = ev.cookie, .probe = ev.probe };

		memcpy(pend.args, ev.args, sizeof(pend.args));
		if (ret != p->tramp) {
			err = pk_probes_write(p, regs->rsp, &p->tramp, 8);
			if (err < 0)
				return err;
		}
		/* a tail-called probe's entry is stacked over its caller's with
		 * orig_ret = trampoline: both are reported by one return */
		pk_probe_return_push(p, t, &pend);
	}
	return leave_entry(p, pr, regs);
}

static int handle_return(struct pk_probes *p, pid_t tid, struct user_regs_struct *regs)
{
	struct pk_probe_thread *t = pk_probe_thread_get(p, tid, 0);
	uint64_t slot = regs->rsp - 8;
	struct pk_pending pend;

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
		ev.time_ns = pk_monotonic_ns();
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

int pk_probe_handle_trap(struct pk_probes *p, pid_t tid)
{
	struct user_regs_struct regs;
	struct pk_probe *pr = NULL;
	uint64_t t0 = pk_monotonic_ns();
	int err;

	if (ptrace(PTRACE_GETREGS, tid, 0, &regs) < 0)
		return -errno;
	if (p->tramp && regs.rip - 1 == p->tramp)
		err = handle_return(p, tid, &regs);
	else if ((pr = find_placed(p, regs.rip - 1)) == NULL)
		return 0;
	else if (pr->armed)
		err = handle_entry(p, tid, pr, &regs);
	else /* hit the int3 just before pk_probes_disarm removed it */
		regs.rip = pr->addr, err = 0;
	if (err < 0)
		return err;
	p->stats.traps++;
	if (ptrace(PTRACE_SETREGS, tid, 0, &regs) < 0)
		return -errno;
	p->stats.handle_ns += pk_monotonic_ns() - t0;
	return 1;
}

/* Is SIGTRAP in the thread's pending set? */
static int sigtrap_pending(pid_t pid, pid_t tid)
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
	if (!(p->tramp && regs.rip - 1 == p->tramp) && !find_placed(p, regs.rip - 1))
		return 0;
	return sigtrap_pending(p->pid, tid);
}

void pk_probes_thread_exit(struct pk_probes *p, pid_t tid)
{
	struct pk_probe_thread *t = pk_probe_thread_get(p, tid, 0);

	if (t)
		pk_probe_thread_drop(p, t, 1);
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
	if (p->tramp && (rip == p->tramp || rip == p->tramp + 1)) {
		/* returned into the trampoline (rsp is past the slot either
		 * way), return not handled yet */
		if (handle_return(p, tid, &regs) < 0)
			return -ENOENT;
	} else if ((pr = find_armed(p, rip - 1)) != NULL) {
		regs.rip = pr->addr; /* executed our int3: run the original */
	} else {
		int found = 0;

		for (size_t i = 0; i < p->nby_addr && !found; i++) {
			pr = &p->probes[p->by_addr[i]];
			if (!pr->slot)
				continue;
			if (rip == pr->slot) {
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
	while (p->nthreads > 0)
		pk_probe_thread_drop(p, &p->threads[p->nthreads - 1], 1);
	p->npages = 0;
	p->tramp = 0;
	p->stats.armed = 0;
	rebuild_index(p);
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
	rebuild_index(p);
}
