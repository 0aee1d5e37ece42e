/*
 * jprobe.c - the jump-probe engine's core (contract in jprobe.h): the
 * probe table and arming (safe-point checks, detour pages, detours, the
 * 5-byte jumps).  Detaching is in jprobe-detach.c, the detour code is
 * built in jprobe-code.c, the ring lives in jprobe-ring.c; system calls
 * are injected and memory written through an int3 engine instance that is
 * used for nothing else (daemon/probe-inject.c).
 */
#include "daemon/jprobe-int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <time.h>

#include "daemon/probe-int.h"

#define GLIBC_TID_OFFSET 0x2d0
#define TCB_SCAN 0x1000
#define MAX_FUNC_SCAN (256u * 1024u)
#define REACH (3ull << 29) /* 1.5 GiB, what pk_inject_map_page promises */

static int no_events(void *ctx, struct pk_probe_event *ev)
{
	(void)ctx;
	(void)ev;
	return 0;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct pk_jprobes *pk_jprobes_new(pid_t pid, const struct pk_jprobe_config *cfg)
{
	struct pk_jprobes *j;
	unsigned slots = cfg && cfg->ring_slots ? cfg->ring_slots : 16384;
	unsigned stack = cfg && cfg->stack_bytes ? cfg->stack_bytes : 512;
	uint64_t t;

	if ((slots & (slots - 1)) != 0 || slots < 2 || stack > PK_JSTACK_MAX)
		return NULL;
	j = calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	j->pid = pid;
	j->ring_slots = slots;
	j->stack_bytes = stack;
	j->count_nested = cfg && cfg->count_nested;
	j->full_wait_us = cfg ? cfg->full_wait_us : 0;
	if (cfg && cfg->sites && (cfg->sites & (cfg->sites - 1)) == 0 && cfg->walk_max &&
	    cfg->walk_max <= stack / 8 && cfg->walk_max <= PK_JREC_COUNT) {
		j->sites = cfg->sites;
		j->walk_max = cfg->walk_max;
		j->walk_trunc = cfg->walk_trunc;
	}
	/* the records, with room for the chain after the first line; the
	 * site table; then the extensions (jprobe-int.h), last: the rest is
	 * in memory from the start, they only as slices and rare fields
	 * first reach each page */
	j->recsz = (PK_JREC_CHAIN_AT + j->walk_max * 8u + 63u) & ~63u;
	j->extsz = (PK_JEXT_SLICE + stack + 63u) & ~63u;
	j->ring_size = PK_JRING_SLOTS + (uint64_t)slots * j->recsz;
	if (j->sites) {
		j->sites_off = j->ring_size;
		j->ring_size += (uint64_t)(j->sites + PK_JSITE_PROBES) * sizeof(struct pk_jsite);
		/* the known chains' hashes, in lines of their own */
		j->known_off = (j->ring_size + 63u) & ~(uint64_t)63u;
		j->ring_size = j->known_off + (uint64_t)PK_JKNOWN_ENTRIES * 8u;
		j->memo_off = j->ring_size; /* 32 KiB on: lines of its own */
		j->ring_size = j->memo_off + (uint64_t)PK_JMEMO_ENTRIES * PK_JMEMO_SIZE;
	}
	j->ext_off = (j->ring_size + PK_JPAGE - 1) & ~(uint64_t)(PK_JPAGE - 1);
	j->ring_size = j->ext_off + (uint64_t)slots * j->extsz;
	j->ring_size = (j->ring_size + PK_JPAGE - 1) & ~(uint64_t)(PK_JPAGE - 1);
	j->tid_offset = -1;
	j->inj = pk_probes_new(pid, no_events, NULL);
	if (!j->inj) {
		free(j);
		return NULL;
	}
	/* first calibration interval: 2 ms of spinning */
	j->tsc0 = pk_jtsc();
	j->ns0 = mono_ns();
	t = j->ns0;
	while (mono_ns() - t < 2000000u)
		;
	j->tsc1 = pk_jtsc();
	j->ns1 = mono_ns();
	return j;
}

void pk_jprobes_free(struct pk_jprobes *j)
{
	if (!j)
		return;
	for (size_t i = 0; i < j->n; i++)
		free(j->v[i].name);
	free(j->v);
	free(j->pages);
	free(j->page_used);
	free(j->chains);
	free(j->chain_words);
	pk_jring_unmap_local(j);
	pk_probes_free(j->inj);
	free(j);
}

int pk_jprobe_add(struct pk_jprobes *j, uint64_t addr, uint64_t size, const char *name,
		  unsigned flags)
{
	struct pk_jprobe *pr;

	for (size_t i = 0; i < j->n; i++)
		if (j->v[i].addr == addr)
			return (int)i;
	if (j->n > UINT16_MAX) /* a record holds its probe in 16 bits */
		return -E2BIG;
	if (j->n == j->cap) {
		size_t ncap = j->cap ? j->cap * 2 : 16;
		struct pk_jprobe *nv = realloc(j->v, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		j->v = nv;
		j->cap = ncap;
	}
	pr = &j->v[j->n];
	memset(pr, 0, sizeof(*pr));
	pr->addr = addr;
	pr->size = size;
	pr->flags = flags & PK_JPROBE_ENTRY_ONLY ? flags | PK_JPROBE_RECORD_ENTRY : flags;
	pr->name = strdup(name ? name : "?");
	if (!pr->name)
		return -ENOMEM;
	return (int)j->n++;
}

const char *pk_jprobe_refusal(const struct pk_jprobes *j, int id)
{
	return id >= 0 && (size_t)id < j->n ? j->v[id].refusal : NULL;
}

const char *pk_jprobe_name(const struct pk_jprobes *j, int id)
{
	return id >= 0 && (size_t)id < j->n ? j->v[id].name : NULL;
}

uint64_t pk_jprobe_address(const struct pk_jprobes *j, int id)
{
	return id >= 0 && (size_t)id < j->n ? j->v[id].addr : 0;
}

int pk_jprobe_count(const struct pk_jprobes *j)
{
	return (int)j->n;
}

uint64_t pk_jprobe_detour(const struct pk_jprobes *j, int id)
{
	return id >= 0 && (size_t)id < j->n ? j->v[id].detour : 0;
}

int pk_jprobes_detour_frame(const struct pk_jprobes *j, uint64_t pc, uint64_t sp,
			    uint64_t *ret_slot)
{
	for (size_t i = 0; i < j->n; i++)
		if (j->v[i].detour && pk_jdetour_frame(j->v[i].detour, pc, sp, ret_slot))
			return 1;
	return 0;
}

int pk_jprobes_in_detour(const struct pk_jprobes *j, uint64_t addr)
{
	for (size_t i = 0; i < j->npages; i++)
		if (addr >= j->pages[i] && addr < j->pages[i] + PK_JPAGE)
			return 1;
	return 0;
}

/*
 * The TCB offset holding the kernel tid: an offset where every stopped
 * thread's TCB (fs_base) holds its own tid; glibc's first.
 */
static int find_tid_offset(struct pk_jprobes *j, const pid_t *tids, size_t n)
{
	static uint8_t tcb[8][TCB_SCAN];
	size_t m = n < 8 ? n : 8;
	int cands[2] = { GLIBC_TID_OFFSET, -1 };

	for (size_t i = 0; i < m; i++) {
		struct user_regs_struct r;

		if (ptrace(PTRACE_GETREGS, tids[i], 0, &r) < 0 || !r.fs_base ||
		    pk_probes_read(j->inj, r.fs_base, tcb[i], TCB_SCAN) < 0)
			return -1;
	}
	for (int pass = 0; pass < 2; pass++) {
		for (int off = pass ? 16 : cands[0]; off + 4 <= TCB_SCAN; off += 4) {
			size_t i;

			for (i = 0; i < m; i++) {
				int32_t v;

				memcpy(&v, tcb[i] + off, 4);
				if (v != (int32_t)tids[i])
					break;
			}
			if (i == m)
				return off;
			if (!pass)
				break;
		}
	}
	return -1;
}

/* A detour page within reach of addr with room for len bytes. */
static int page_for(struct pk_jprobes *j, pid_t tid, uint64_t addr, size_t len, uint64_t *at,
		    size_t *idx)
{
	uint64_t page;
	int err;

	for (size_t i = 0; i < j->npages; i++) {
		uint64_t d = j->pages[i] > addr ? j->pages[i] - addr : addr - j->pages[i];
		size_t room = PK_JPAGE - 32 - j->page_used[i]; /* 32: the ring's name */

		if (d < REACH - PK_JPAGE && room >= len) {
			*at = j->pages[i] + j->page_used[i];
			*idx = i;
			return 0;
		}
	}
	if (j->npages == j->cappages) {
		size_t ncap = j->cappages ? j->cappages * 2 : 4;
		uint64_t *np = realloc(j->pages, ncap * sizeof(*np));
		unsigned *nu;

		if (!np)
			return -ENOMEM;
		j->pages = np;
		nu = realloc(j->page_used, ncap * sizeof(*nu));
		if (!nu)
			return -ENOMEM;
		j->page_used = nu;
		j->cappages = ncap;
	}
	err = pk_inject_map_page(j->inj, tid, addr, &page);
	if (err < 0)
		return err;
	j->pages[j->npages] = page;
	j->page_used[j->npages] = 0;
	*at = page;
	*idx = j->npages++;
	j->stats.pages++;
	return 0;
}

static int thread_inside(const struct user_regs_struct *regs, size_t n, uint64_t addr,
			 unsigned len)
{
	for (size_t i = 0; i < n; i++)
		if (regs[i].rip > addr && regs[i].rip < addr + len)
			return 1;
	return 0;
}

/*
 * Stopped thread tid is inside the bytes of pr that the jump replaces
 * (r its registers): single-step it out, to where the function goes on
 * past them (a prologue: a few steps).  A signal that arrives meanwhile is
 * queued again and ends the stepping.  1 when the thread is out (r
 * updated), 0 when it could not be moved (the probe waits for the next
 * arm), <0 on error.
 */
static int step_past_patch(struct pk_jprobes *j, pid_t tid, const struct pk_jprobe *pr,
			   struct user_regs_struct *r)
{
	/* inside a system call (its syscall instruction among those bytes):
	 * resuming it may restart the call, not step it; wait */
	if ((long long)r->orig_rax >= 0)
		return 0;
	for (int step = 0; step < 16; step++) {
		int err;

		if (!(r->rip > pr->addr && r->rip < pr->addr + pr->patch_len))
			/* out: only where the function itself goes on */
			return r->rip >= pr->addr + pr->patch_len && r->rip < pr->addr + pr->size;
		err = pk_jstep(j, tid);
		if (err == -EAGAIN)
			return 0;
		if (err < 0)
			return err;
		if (ptrace(PTRACE_GETREGS, tid, 0, r) < 0)
			return -errno;
		j->stats.stepped++;
	}
	return 0;
}

/* Patch one probe; 1 patched, 0 refused, <0 error. */
static int arm_one(struct pk_jprobes *j, int id, const pid_t *tids, struct user_regs_struct *regs,
		   size_t n)
{
	pid_t tid = tids[0];
	struct pk_jprobe *pr = &j->v[id];
	uint8_t buf[PK_JDETOUR_ROOM], *code;
	const char *why = NULL;
	uint64_t at;
	size_t idx, scan;
	int len, err;
	uint8_t jmp[5];
	int32_t rel;

	if ((pr->flags & PK_JPROBE_MAY_THROW) && !(pr->flags & PK_JPROBE_ENTRY_ONLY)) {
		pr->refusal = "may throw: an exception cannot unwind through the detour frame";
		return 0;
	}
	if (!pr->size) {
		pr->refusal = "function size unknown: cannot check for branches into its first bytes";
		return 0;
	}
	if (pr->size < 5) {
		pr->refusal = "the function is shorter than 5 bytes";
		return 0;
	}
	if (pr->detour) /* armed before: its detour is still in place */
		goto patch;
	if (pk_jdetour_size() + 3 * PK_JPATCH_MAX + 16 > sizeof(buf)) {
		pr->refusal = "the detour template is larger than its buffer (a build error)";
		return 0;
	}
	err = pk_probes_read(j->inj, pr->addr, pr->orig, PK_JPATCH_MAX);
	if (err < 0)
		return err;
	/* placement first: relocation depends on the detour's address */
	err = page_for(j, tid, pr->addr, pk_jdetour_size() + 3 * PK_JPATCH_MAX + 16, &at, &idx);
	if (err == -ENOMEM || err == -EEXIST) {
		pr->refusal = "no room for a detour page within +-2 GiB of the function";
		return 0;
	}
	if (err < 0)
		return err;
	if (!j->ring) {
		err = pk_jring_map(j, tid);
		if (err < 0)
			return err;
	}
	len = pk_jdetour_build(pr, id, at, j->ring_target, buf, &why);
	if (len < 0) {
		pr->refusal = why;
		return 0;
	}
	scan = pr->size < MAX_FUNC_SCAN ? (size_t)pr->size : MAX_FUNC_SCAN;
	code = malloc(scan);
	if (!code)
		return -ENOMEM;
	err = pk_probes_read(j->inj, pr->addr, code, scan);
	if (err == 0 && pk_jbranch_into(code, scan, pr->addr, pr->patch_len))
		pr->refusal = "a branch in the function may target its first bytes";
	free(code);
	if (err < 0)
		return err;
	if (pr->refusal)
		return 0;
	err = pk_probes_write(j->inj, at, buf, (size_t)len);
	if (err < 0)
		return err;
	j->page_used[idx] += ((unsigned)len + 15u) & ~15u;
	pr->detour = at;
patch:
	for (size_t i = 0; i < n; i++)
		if (regs[i].rip > pr->addr && regs[i].rip < pr->addr + pr->patch_len &&
		    (err = step_past_patch(j, tids[i], pr, &regs[i])) < 0)
			return err;
	if (thread_inside(regs, n, pr->addr, pr->patch_len)) {
		/* for this arm only: the next one tries again */
		pr->refusal = "a thread is stopped inside the bytes to patch";
		pr->transient = 1;
		return 0;
	}
	rel = (int32_t)(int64_t)(pr->detour - (pr->addr + 5));
	jmp[0] = 0xe9;
	memcpy(jmp + 1, &rel, 4);
	err = pk_probes_write(j->inj, pr->addr, jmp, 5);
	if (err < 0)
		return err;
	pr->patched = 1;
	return 1;
}

int pk_jprobes_arm(struct pk_jprobes *j, const pid_t *tids, size_t n)
{
	struct user_regs_struct *regs;
	int count = 0, err = 0;

	if (n == 0 || j->closed)
		return -EINVAL;
	regs = calloc(n, sizeof(*regs));
	if (!regs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (ptrace(PTRACE_GETREGS, tids[i], 0, &regs[i]) < 0) {
			err = -errno;
			goto out;
		}
		/* the detours read the TCB through %fs: without one (a static
		 * program before its TLS setup) they would fault */
		if (!regs[i].fs_base) {
			err = -EAGAIN;
			goto out;
		}
	}
	if (j->tid_offset < 0 && !j->ring)
		j->tid_offset = find_tid_offset(j, tids, n);
	for (size_t i = 0; i < j->n; i++) {
		int r;

		if (j->v[i].transient) {
			j->v[i].transient = 0;
			j->v[i].refusal = NULL;
		}
		if (j->v[i].patched || j->v[i].refusal)
			continue;
		r = arm_one(j, (int)i, tids, regs, n);
		if (r < 0) {
			err = r;
			break;
		}
		count += r;
	}
out:
	free(regs);
	pk_jring_set_ranges(j); /* every thread is stopped */
	j->stats.patched = 0;
	j->stats.refused = 0;
	for (size_t i = 0; i < j->n; i++) {
		j->stats.patched += j->v[i].patched != 0;
		j->stats.refused += j->v[i].refusal != NULL;
	}
	return err < 0 ? err : count;
}

void pk_jprobes_stats(const struct pk_jprobes *j, struct pk_jprobe_stats *out)
{
	*out = j->stats;
	out->drops = pk_jring_drops(j);
	out->nested = pk_jring_nested(j);
	out->ring_bytes = j->ring ? j->ring_size : 0;
	out->ring_in_target = j->ring_target != 0;
	out->tid_offset = j->tid_offset;
}
