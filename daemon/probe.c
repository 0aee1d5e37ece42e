/*
 * probe.c - the probe engine's core: target memory access, the probe table
 * and its address index, and arming (decoding the displaced instruction,
 * out-of-line slots in scratch pages, int3 bytes).  Traps are handled in
 * probe-trap.c, undoing in probe-detach.c (see probe.h for the contract).
 *
 * Memory is read and written through /proc/PID/mem (one syscall for any
 * size, and writes to read-only text are allowed to the tracer, copying
 * the page as the kernel's FOLL_FORCE does for debuggers).
 */
#include "daemon/probe-int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	pk_timed_release(p, 0);
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

int pk_probe_set_no_stack(struct pk_probes *p, int id)
{
	if (id < 0 || (size_t)id >= p->nprobes)
		return -EINVAL;
	p->probes[id].no_stack = 1;
	return 0;
}

const char *pk_probe_name(const struct pk_probes *p, int id)
{
	return id >= 0 && (size_t)id < p->nprobes ? p->probes[id].name : NULL;
}

uint64_t pk_probe_address(const struct pk_probes *p, int id)
{
	return id >= 0 && (size_t)id < p->nprobes ? p->probes[id].addr : 0;
}

int pk_probes_auxv_entry(pid_t pid, uint64_t *entry)
{
	char path[64];
	uint64_t av[2];
	int fd, err = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%d/auxv", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (read(fd, av, sizeof(av)) == (ssize_t)sizeof(av) && av[0] != 0) {
		if (av[0] == 9 /* AT_ENTRY */) {
			*entry = av[1];
			err = 0;
			break;
		}
	}
	close(fd);
	return err;
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

uint64_t pk_probes_last_handle_ns(const struct pk_probes *p)
{
	return p->last_handle_ns;
}

static const struct pk_probes *sort_ctx;

static int cmp_by_addr(const void *a, const void *b)
{
	uint64_t x = sort_ctx->probes[*(const int *)a].addr;
	uint64_t y = sort_ctx->probes[*(const int *)b].addr;

	return x < y ? -1 : x > y;
}

void pk_probes_rebuild_index(struct pk_probes *p)
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
struct pk_probe *pk_probe_find_placed(struct pk_probes *p, uint64_t addr)
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
struct pk_probe *pk_probe_find_armed(struct pk_probes *p, uint64_t addr)
{
	struct pk_probe *pr = pk_probe_find_placed(p, addr);

	return pr && pr->armed ? pr : NULL;
}

int pk_probes_entry_pc(const struct pk_probes *p, uint64_t pc, uint64_t *fn)
{
	const struct pk_probe *pr = pk_probe_find_placed((struct pk_probes *)p, pc - 1);
	size_t k = 0;

	if (pr && pr->armed) {
		*fn = pr->addr;
		return 1;
	}
	/* the unwinder asks at every frame: most pcs are in no page of ours */
	while (k < p->npages && (pc < p->pages[k].addr || pc >= p->pages[k].addr + PK_PROBE_PAGE_SIZE))
		k++;
	if (k == p->npages)
		return 0;
	for (size_t i = 0; i < p->nby_addr; i++) {
		pr = &p->probes[p->by_addr[i]];
		if ((pr->slot && pc >= pr->hijack && pc <= pr->slot) || pk_timed_prefix_entry(pr, pc)) {
			*fn = pr->addr;
			return 1;
		}
	}
	return 0;
}

static int within_rel32(uint64_t from, uint64_t to)
{
	int64_t d = (int64_t)(to - from);

	return d >= INT32_MIN && d <= INT32_MAX;
}

/* A slot of size bytes for pr's out-of-line code (mapping a page when
 * none fits). */
static int get_slot(struct pk_probes *p, pid_t tid, const struct pk_probe *pr, unsigned size,
		    uint64_t *slot)
{
	uint64_t page;
	int err;

	for (size_t i = 0; i < p->npages; i++) {
		struct pk_probe_page *pg = &p->pages[i];

		if (pg->used + size > PK_PROBE_PAGE_SIZE)
			continue;
		if (pr->insn.rip_relative &&
		    (!within_rel32(pg->addr, pr->addr) ||
		     !within_rel32(pg->addr + PK_PROBE_PAGE_SIZE, pr->addr)))
			continue;
		*slot = pg->addr + pg->used;
		pg->used += size;
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
	return get_slot(p, tid, pr, size, slot);
}

/*
 * Write the out-of-line copy at base: the hijack prefix (the trampoline's
 * address written over the return address at (%rsp), as two 32-bit
 * immediates: no register or flag is touched), the instruction (RIP
 * fixed), then jmp *0(%rip) with the absolute address of the next original
 * instruction.  An entry trap that wants the return resumes the thread at
 * the prefix, one that does not at the instruction: the hijack costs no
 * write of its own while the thread is stopped.
 */
static int write_slot(struct pk_probes *p, const struct pk_probe *pr, uint64_t base)
{
	uint8_t buf[PK_PROBE_SLOT_SIZE];
	uint8_t *insn = buf + PK_PROBE_HIJACK_LEN;
	unsigned len = pr->insn.len;
	uint64_t back = pr->addr + len, slot = base + PK_PROBE_HIJACK_LEN;
	uint32_t lo = (uint32_t)p->tramp, hi = (uint32_t)(p->tramp >> 32);

	memset(buf, INT3, sizeof(buf));
	memcpy(buf, "\xc7\x04\x24", 3);         /* movl $lo, (%rsp) */
	memcpy(buf + 3, &lo, 4);
	memcpy(buf + 7, "\xc7\x44\x24\x04", 4);    /* movl $hi, 4(%rsp) */
	memcpy(buf + 11, &hi, 4);
	memcpy(insn, pr->code, len);
	if (pr->insn.rip_relative) {
		int32_t disp;
		int64_t nd;

		memcpy(&disp, insn + pr->insn.disp_offset, 4);
		nd = (int64_t)disp + (int64_t)(pr->addr - slot);
		if (nd < INT32_MIN || nd > INT32_MAX)
			return -ERANGE;
		disp = (int32_t)nd;
		memcpy(insn + pr->insn.disp_offset, &disp, 4);
	}
	insn[len] = 0xff;
	insn[len + 1] = 0x25;
	memset(insn + len + 2, 0, 4);
	memcpy(insn + len + 6, &back, 8);
	return pk_probes_write(p, base, buf, PK_PROBE_HIJACK_LEN + len + 14);
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
	pr->slot = pr->hijack = pr->tprefix = 0;
	if (pr->insn.cls == PK_INSN_PLAIN) {
		uint64_t base;

		err = get_slot(p, tid, pr, PK_PROBE_SLOT_SIZE, &base);
		if (err == 0)
			err = write_slot(p, pr, base);
		if (err < 0)
			return err;
		pr->hijack = base;
		pr->slot = base + PK_PROBE_HIJACK_LEN;
	}
	if (p->ttab) {
		uint64_t base;

		/* without one the return stops, as without timed returns */
		if (get_slot(p, tid, pr, PK_TIMED_PREFIX_LEN, &base) == 0 &&
		    pk_timed_write_prefix(p, pr, base) == 0)
			pr->tprefix = base;
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
	if (p->timed)
		pk_timed_setup(p, tid); /* else returns stop (it says why) */
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
			pk_probes_rebuild_index(p);
			return err;
		}
		armed++;
		p->stats.armed++;
	}
	pk_probes_rebuild_index(p);
	return armed;
}
