/*
 * jprobe-ring.c - the ring the detours write into: created in the target
 * (memfd_create, ftruncate, mmap MAP_SHARED, close: raw system calls
 * injected through one stopped thread), mapped into perfkitd through
 * /proc/PID/fd/N, and drained here (single consumer).
 */
#include "daemon/jprobe-int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#include "daemon/probe-int.h"

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 1u
#endif

static const char ring_name[] = "perfkit-ring";

uint64_t pk_jtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

/* arg_start of /proc/PID/stat (field 48: where argv's strings begin),
 * or 0. */
static uint64_t arg_start(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long v = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* the command name may hold anything */
	/* after the k-th step, p is the space before field k + 2 */
	for (int field = 3; p && field <= 48; field++)
		p = strchr(p + 1, ' ');
	if (p && sscanf(p + 1, "%llu", &v) != 1)
		v = 0;
	return v;
}

#define ARGV_SCAN (64u << 10)

/*
 * The main thread's stack, for clamping stack slices: [*lo, *hi) is its
 * mapping, *hi lowered to just above argc where the argv array is found
 * (argc, then argv[0] == arg_start, then argc pointers and a NULL): no
 * frame lies above it, and the kernel leaves up to 8 KiB of random gap
 * and the argument and environment strings between it and the end of the
 * mapping, which a slice would copy for nothing (and, in trap mode, count
 * as depth).
 */
static void main_stack(pid_t pid, uint64_t *lo, uint64_t *hi)
{
	char path[64], line[512];
	uint64_t args, from, *w;
	size_t n;
	FILE *f;

	*lo = *hi = 0;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long s, e;

		if (strstr(line, "[stack]") && sscanf(line, "%llx-%llx", &s, &e) == 2) {
			*lo = s;
			*hi = e;
		}
	}
	fclose(f);
	args = arg_start(pid);
	if (!*hi || args < *lo || args >= *hi)
		return;
	from = args - *lo > ARGV_SCAN ? args - ARGV_SCAN : *lo;
	from &= ~7ull;
	n = (size_t)(args - from) / 8;
	w = malloc(n * 8 + 8);
	if (w && n > 2 && pk_mem_read_pid(pid, from, w, n * 8) == 0) {
		for (size_t i = n; i-- > 1;) {
			uint64_t argc = w[i - 1];

			if (w[i] == args && argc >= 1 && argc < 1u << 20 && i + argc < n && !w[i + argc]) {
				/* argc at from + 8 (i - 1); a margin above it */
				*hi = from + 8 * (i - 1) + 64;
				break;
			}
		}
	}
	free(w);
}

/* Pause loops in us microseconds, as this CPU runs them (the target's
 * runs the same instruction). */
static uint64_t pauses_in(unsigned us)
{
	struct timespec a, b;
	uint64_t ns;

	if (!us)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < 4096; i++)
		__builtin_ia32_pause();
	clock_gettime(CLOCK_MONOTONIC, &b);
	ns = (uint64_t)(b.tv_sec - a.tv_sec) * 1000000000u + (uint64_t)b.tv_nsec - (uint64_t)a.tv_nsec;
	if (!ns)
		ns = 1;
	return (uint64_t)us * 1000u * 4096u / ns;
}

/*
 * Create and map the ring.  The memfd's name is written into the last
 * bytes of the first detour page (readable, still unused).
 */
int pk_jring_map(struct pk_jprobes *j, pid_t tid)
{
	uint64_t name_at = j->pages[0] + PK_JPAGE - 32, lo, hi, addr;
	void *m;
	int err;

	err = pk_probes_write(j->inj, name_at, ring_name, sizeof(ring_name));
	if (err == 0)
		err = pk_inject_shared(j->inj, tid, name_at, j->ring_size, j->ext_off, &addr, &m);
	if (err < 0)
		return err;
	j->ring = m;
	j->ring_target = addr;
	main_stack(j->pid, &lo, &hi);
	memset(j->ring, 0, PK_JRING_SLOTS);
	*(uint64_t *)(j->ring + PK_JRING_MASK) = j->ring_slots - 1;
	*(uint64_t *)(j->ring + PK_JRING_RECSZ) = j->recsz;
	*(uint64_t *)(j->ring + PK_JRING_TIDOFF) = j->tid_offset > 0 ? (uint64_t)j->tid_offset : 0;
	*(uint64_t *)(j->ring + PK_JRING_STACKLEN) = j->stack_bytes;
	*(uint64_t *)(j->ring + PK_JRING_EXTOFF) = j->ext_off;
	*(uint64_t *)(j->ring + PK_JRING_EXTSZ) = j->extsz;
	*(uint64_t *)(j->ring + PK_JRING_SPIN) = pauses_in(j->full_wait_us);
	*(uint64_t *)(j->ring + PK_JRING_MSLO) = lo;
	*(uint64_t *)(j->ring + PK_JRING_MSHI) = hi;
	if (j->sites) {
		*(uint64_t *)(j->ring + PK_JRING_SITEMASK) = (uint64_t)(j->sites - 1) * sizeof(struct pk_jsite);
		*(uint64_t *)(j->ring + PK_JRING_WALKROOM) = (uint64_t)j->walk_max * 8;
		*(uint64_t *)(j->ring + PK_JRING_WALKTRUNC) = j->walk_trunc ? 1 : 0;
		*(uint64_t *)(j->ring + PK_JRING_SITES) = j->ring_target + j->sites_off;
		*(uint64_t *)(j->ring + PK_JRING_KNOWNMASK) = PK_JKNOWN_ENTRIES - 1;
		*(uint64_t *)(j->ring + PK_JRING_KNOWN) = j->known_off;
		*(uint64_t *)(j->ring + PK_JRING_MEMOMASK) = (uint64_t)(PK_JMEMO_ENTRIES - 1) * PK_JMEMO_SIZE;
		*(uint64_t *)(j->ring + PK_JRING_MEMO) = j->ring_target + j->memo_off;
	}
	*(uint64_t *)(j->ring + PK_JRING_CLOCK) = pk_jtsc();
	memcpy(j->ring + PK_JRING_MAGIC, "pkjring4", 8);
	/* a new memfd reads as zeros: every seq is 0 (no record), and the
	 * slots' pages stay untouched until a record is written there */
	*(uint64_t *)(j->ring + PK_JRING_TAIL) = 0;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	j->tail = 0;
	return 0;
}

void pk_jring_unmap_local(struct pk_jprobes *j)
{
	if (j->ring)
		munmap(j->ring, j->ring_size);
	j->ring = NULL;
}

int pk_jring_unmap_target(struct pk_jprobes *j, pid_t tid)
{
	long r = 0;
	int err;

	if (!j->ring_target)
		return 0;
	err = pk_inject_call(j->inj, tid, SYS_munmap, j->ring_target, j->ring_size, 0, 0, 0, &r);
	if (err == 0)
		j->ring_target = 0;
	return err;
}

uint64_t pk_jring_drops(const struct pk_jprobes *j)
{
	if (!j->ring)
		return 0;
	return __atomic_load_n((const uint64_t *)(j->ring + PK_JRING_DROPS), __ATOMIC_RELAXED);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Refresh the second calibration point now and then. */
static void calibrate(struct pk_jprobes *j)
{
	uint64_t ns = now_ns();

	if (ns - j->ns1 > 50000000u || j->tsc1 == j->tsc0) {
		j->tsc1 = pk_jtsc();
		j->ns1 = ns;
	}
}

/* ns per tsc tick from the two calibration points (a double keeps
 * nanoseconds exact over hours of ticks). */
static double tsc_rate(const struct pk_jprobes *j)
{
	if (j->tsc1 == j->tsc0)
		return 0;
	return (double)(j->ns1 - j->ns0) / (double)(j->tsc1 - j->tsc0);
}

static uint64_t tsc_to_ns(const struct pk_jprobes *j, double rate, uint64_t tsc)
{
	return j->ns0 + (uint64_t)(int64_t)((double)(int64_t)(tsc - j->tsc0) * rate);
}

void pk_jring_set_ranges(struct pk_jprobes *j)
{
	uint64_t *r = (uint64_t *)(j->ring + PK_JRING_RANGES), lo, hi;
	size_t n = 0, counted;

	if (!j->ring || !j->count_nested)
		return;
	/* the same code as pk_jprobes_nested_ret's; more than fit: none, and
	 * perfkitd tells nested calls from their records */
	for (size_t i = 0; i < j->npages; i++, n++)
		if (n < PK_JRING_MAXRANGES) {
			r[2 * n] = j->pages[i];
			r[2 * n + 1] = j->pages[i] + PK_JPAGE;
		}
	for (size_t i = 0; i < j->n; i++)
		if (j->v[i].size && !(j->v[i].flags & PK_JPROBE_ENTRY_ONLY) && n++ < PK_JRING_MAXRANGES) {
			r[2 * (n - 1)] = j->v[i].addr;
			r[2 * (n - 1) + 1] = j->v[i].addr + j->v[i].size;
		}
	/* then, as room allows, the entry-only functions: a call from
	 * operator new is recorded without a stack, new's own record giving
	 * it (alloc.c's marker); the stack walk would be wasted */
	counted = n;
	for (size_t i = 0; i < j->n && counted <= PK_JRING_MAXRANGES; i++)
		if (j->v[i].size && (j->v[i].flags & PK_JPROBE_ENTRY_ONLY) && n < PK_JRING_MAXRANGES) {
			r[2 * n] = j->v[i].addr;
			r[2 * n + 1] = j->v[i].addr + j->v[i].size;
			n++;
		}
	lo = hi = 0;
	for (size_t i = 0; i < n && i < PK_JRING_MAXRANGES; i++) {
		if (!i || r[2 * i] < lo)
			lo = r[2 * i];
		if (!i || r[2 * i + 1] > hi)
			hi = r[2 * i + 1];
	}
	/* a producer that reads a count with bounds older than it may miss a
	 * nested call: it is recorded, and perfkitd counts it as nested */
	*(uint64_t *)(j->ring + PK_JRING_RANGES_LO) = lo;
	*(uint64_t *)(j->ring + PK_JRING_RANGES_HI) = hi;
	*(uint64_t *)(j->ring + PK_JRING_NCOUNT) = counted;
	*(uint64_t *)(j->ring + PK_JRING_NRANGES) = counted <= PK_JRING_MAXRANGES ? n : 0;
}

uint64_t pk_jring_nested(const struct pk_jprobes *j)
{
	return j && j->ring ? __atomic_load_n((const uint64_t *)(j->ring + PK_JRING_NESTED),
					      __ATOMIC_RELAXED) : 0;
}

int pk_jprobes_nested_ret(const struct pk_jprobes *j, uint64_t ret)
{
	if (pk_jprobes_in_detour(j, ret))
		return 1;
	for (size_t i = 0; i < j->n; i++)
		if (j->v[i].size && ret >= j->v[i].addr && ret < j->v[i].addr + j->v[i].size &&
		    !(j->v[i].flags & PK_JPROBE_ENTRY_ONLY))
			return 1;
	return 0;
}

/* pk_jprobes_nested_ret, remembered (the drain's, once per record) */
static int nested_ret_memo(struct pk_jprobes *j, uint64_t ret)
{
	unsigned k = (unsigned)((ret * 0x9e3779b97f4a7c15ull) >> 60) & (NESTED_MEMO - 1);

	if (j->memo_n != j->n || j->memo_npages != j->npages) {
		memset(j->nested_memo, 0, sizeof(j->nested_memo));
		j->memo_n = j->n;
		j->memo_npages = j->npages;
	}
	if (!ret || j->nested_memo[k].ret != ret) {
		j->nested_memo[k].ret = ret;
		j->nested_memo[k].nested = pk_jprobes_nested_ret(j, ret);
	}
	return j->nested_memo[k].nested;
}

size_t pk_jprobes_ring_slots(const struct pk_jprobes *j)
{
	return j && j->ring ? (size_t)j->ring_slots : 0;
}

uint64_t pk_jprobes_ring_head(const struct pk_jprobes *j)
{
	if (!j || !j->ring)
		return 0;
	return __atomic_load_n((const uint64_t *)(j->ring + PK_JRING_HEAD), __ATOMIC_ACQUIRE);
}

int pk_jprobes_ready(const struct pk_jprobes *j)
{
	const struct pk_jrec *r;

	if (!j || !j->ring)
		return 0;
	r = (const struct pk_jrec *)(j->ring + PK_JRING_SLOTS + (j->tail & (j->ring_slots - 1)) * j->recsz);
	return (__atomic_load_n(&r->seq, __ATOMIC_ACQUIRE) & ~PK_JREC_TAKEN) == j->tail + 1;
}

/* Time stamp counter ticks between two publications at least (about
 * 10 us at the rates of today's machines) */
#define CLOCK_STEP 32768u

uint64_t pk_jprobes_publish_clock(struct pk_jprobes *j)
{
	uint64_t *c, now, old;

	if (!j || !j->ring)
		return 0;
	c = (uint64_t *)(j->ring + PK_JRING_CLOCK);
	now = pk_jtsc();
	old = __atomic_load_n(c, __ATOMIC_ACQUIRE);
	/* a store takes the line from every producer: not more often than
	 * CLOCK_STEP.  Never back (two threads of perfkitd publish): a
	 * trapped call ordered by the value it read comes after every
	 * record that read an earlier one */
	while (old + CLOCK_STEP < now &&
	       !__atomic_compare_exchange_n(c, &old, now, 0, __ATOMIC_RELEASE, __ATOMIC_ACQUIRE))
		;
	return old + CLOCK_STEP < now ? now : old;
}

uint64_t pk_jprobes_ring_tail(const struct pk_jprobes *j)
{
	return j && j->ring ? j->tail : 0;
}

uint64_t pk_jchain_hash(unsigned probe, const uint64_t *ras, unsigned n, unsigned bits)
{
	uint64_t h = (uint64_t)probe + 1;

	for (unsigned i = 0; i < n; i++)
		h = (h ^ ras[i]) * PK_JCHAIN_MUL;
	h ^= bits;
	h ^= h >> 32;
	h *= PK_JCHAIN_MUL;
	h ^= h >> 29;
	return h | 1;
}

static struct pk_jchain *chain_slot(const struct pk_jprobes *j, uint64_t h)
{
	size_t mask = j->capchains - 1, i = (size_t)(h >> 12) & mask;

	while (j->chains[i].h && j->chains[i].h != h)
		i = (i + 1) & mask;
	return &j->chains[i];
}

static struct pk_jchain *chain_find(const struct pk_jprobes *j, uint64_t h)
{
	struct pk_jchain *c;

	if (!j->capchains)
		return NULL;
	c = chain_slot(j, h);
	return c->h ? c : NULL;
}

/* Keep a chain taken from a record under its hash, then tell the
 * detours: a later record of the same chain can carry the hash alone */
static struct pk_jchain *chain_keep(struct pk_jprobes *j, uint64_t h, const uint64_t *ras, unsigned n)
{
	struct pk_jchain *c;

	if ((j->nchains + 1) * 2 > j->capchains) {
		struct pk_jchain *old = j->chains;
		size_t oldcap = j->capchains;

		j->capchains = oldcap ? oldcap * 2 : 256;
		j->chains = pk_xcalloc(j->capchains, sizeof(*j->chains));
		for (size_t i = 0; i < oldcap; i++)
			if (old[i].h)
				*chain_slot(j, old[i].h) = old[i];
		free(old);
	}
	c = chain_slot(j, h);
	if (!c->h) {
		pk_xgrow((void **)&j->chain_words, &j->capwords, j->nwords + n, sizeof(*j->chain_words));
		memcpy(j->chain_words + j->nwords, ras, (size_t)n * 8);
		c->h = h;
		c->off = (uint32_t)j->nwords;
		c->n = n;
		j->nwords += n;
		j->nchains++;
	}
	/* again for a chain kept already: a new ring's table (a window
	 * after the final detach), or one a colliding hash took over */
	__atomic_store_n((uint64_t *)(j->ring + j->known_off) + (h & (PK_JKNOWN_ENTRIES - 1)), h,
			 __ATOMIC_RELEASE);
	return c;
}

/*
 * The walk memo's entry for the chain c a detour of probe walked from the
 * entry stack pointer e (jprobe-int.h): the walk again, by the rules the
 * detour used, noting where it read each return address (and the zero
 * that ended it), if every rule takes the CFA from the stack pointer.  A
 * chain that cannot be memoized is marked, not tried again.
 */
static void memo_keep(struct pk_jprobes *j, struct pk_jchain *c, unsigned probe, uint64_t e, unsigned kind)
{
	const uint64_t *ras = j->chain_words + c->off;
	struct pk_jmemo *m;
	uint64_t sp = e + 8, last = 0;
	unsigned np = 0;

	if (c->no_memo || !c->n || !(kind & PK_JREC_COMPLETE))
		return;
	m = (struct pk_jmemo *)(j->ring + j->memo_off) + pk_jmemo_index(e, ras[0], PK_JMEMO_ENTRIES);
	if (__atomic_load_n(&m->tag, __ATOMIC_RELAXED))
		return; /* taken: entries are written once */
	for (unsigned i = 0; i < c->n; i++) {
		struct pk_unwind_rule rule;

		if (!pk_jprobes_site_get(j, ras[i], &rule) || rule.base_rbp || np == PK_JMEMO_PAIRS) {
			c->no_memo = 1;
			return;
		}
		if (rule.end) { /* the outermost frame: the walk stopped at its rule */
			if (i + 1 < c->n) {
				c->no_memo = 1;
				return;
			}
			break;
		}
		if (rule.cfa_off <= 0) {
			c->no_memo = 1;
			return;
		}
		sp += (uint64_t)(int64_t)rule.cfa_off;
		/* the next return address, or the zero that ended the chain */
		m->pair[np].off = (int64_t)(sp - 8 - e);
		m->pair[np].val = i + 1 < c->n ? ras[i + 1] : 0;
		if (sp - 8 - e > last)
			last = sp - 8 - e;
		np++;
	}
	m->ra = ras[0];
	m->hash = c->h;
	m->probe = probe;
	m->kind = kind | PK_JREC_KNOWN | PK_JREC_MEMO;
	m->last = last;
	m->npairs = np;
	__atomic_store_n(&m->tag, e, __ATOMIC_RELEASE);
	j->stats.memos++;
}

int pk_jrec_read(struct pk_jprobes *j, const struct pk_jrec *r, struct pk_jprobe_event *ev,
		 uint64_t *t1)
{
	uint32_t kind = r->kind, n;
	const struct pk_jext *x = NULL;

	*t1 = r->t0;
	ev->stack = &r->ret_addr;
	ev->stack_len = 0;
	ev->chain = ev->chain_complete = 0;
	/* the target wrote this: never trust a length */
	if (kind & (PK_JREC_VOID | ~(PK_JREC_CHAIN | PK_JREC_COMPLETE | PK_JREC_SLICE | PK_JREC_EXT |
				   PK_JREC_KNOWN | PK_JREC_MEMO | PK_JREC_COUNT)) ||
	    (kind & (PK_JREC_KNOWN | PK_JREC_CHAIN)) == PK_JREC_KNOWN ||
	    (kind & (PK_JREC_KNOWN | PK_JREC_MEMO)) == PK_JREC_MEMO)
		return -1;
	if (kind & (PK_JREC_SLICE | PK_JREC_EXT)) {
		size_t idx = (size_t)((const uint8_t *)r - (j->ring + PK_JRING_SLOTS)) / j->recsz;

		x = (const struct pk_jext *)(j->ring + j->ext_off + idx * j->extsz);
	}
	if (kind & PK_JREC_EXT) {
		ev->args[2] = x->a2;
		ev->out0 = x->out0;
		ev->tcb = x->tcb;
		*t1 = x->t1;
	}
	if (kind & PK_JREC_CHAIN) {
		unsigned bits = kind & (PK_JREC_CHAIN | PK_JREC_COMPLETE | PK_JREC_COUNT);

		n = kind & PK_JREC_COUNT;
		if (n > j->walk_max || (kind & PK_JREC_SLICE))
			return -1;
		if (kind & PK_JREC_KNOWN) {
			struct pk_jchain *c = chain_find(j, r->ret_addr);

			if (!c || c->n != n) {
				j->stats.corrupt++; /* no detour writes that */
				return -1;
			}
			ev->stack = j->chain_words + c->off;
			ev->ret_addr = n ? j->chain_words[c->off] : 0;
			j->stats.known_chains++;
			if (kind & PK_JREC_MEMO)
				j->stats.memo_hits++;
			else if (j->memo_off)
				memo_keep(j, c, r->probe, r->rsp, bits);
		} else if (j->known_off && j->ring) {
			struct pk_jchain *c = chain_keep(j, pk_jchain_hash(r->probe, &r->ret_addr, n, bits),
							 &r->ret_addr, n);

			if (j->memo_off)
				memo_keep(j, c, r->probe, r->rsp, bits);
		}
		ev->chain = 1;
		ev->chain_complete = !!(kind & PK_JREC_COMPLETE);
		ev->stack_len = (size_t)n * 8;
		return 0;
	}
	if (kind & PK_JREC_SLICE) {
		if (x->slice_len > j->stack_bytes)
			return -1;
		ev->stack = (const uint8_t *)x + PK_JEXT_SLICE;
		ev->stack_len = x->slice_len;
		ev->rbx = x->rbx;
		ev->rbp = x->rbp;
		ev->r12 = x->r12;
		ev->r13 = x->r13;
		ev->r14 = x->r14;
		ev->r15 = x->r15;
	}
	return 0;
}

static struct pk_jsite *site_slot(const struct pk_jprobes *j, uint64_t ra)
{
	uint64_t i = pk_jsite_index(ra, j->sites);

	return (struct pk_jsite *)(j->ring + j->sites_off) + i;
}

int pk_jprobes_site_get(const struct pk_jprobes *j, uint64_t ra, struct pk_unwind_rule *r)
{
	const struct pk_jsite *e;

	if (!j || !j->ring || !j->sites || !ra)
		return 0;
	e = site_slot(j, ra);
	for (unsigned k = 0; k < PK_JSITE_PROBES; k++, e++)
		if (e->key == ra) {
			r->cfa_off = e->cfa_off;
			r->rbp_off = e->rbp_off;
			r->base_rbp = e->base_rbp;
			r->end = e->kind == 2;
			return 1;
		}
	return 0;
}

int pk_jprobes_site_put(struct pk_jprobes *j, uint64_t ra, const struct pk_unwind_rule *r)
{
	struct pk_jsite *e;

	if (!j || !j->ring || !j->sites || !ra)
		return -1;
	e = site_slot(j, ra);
	for (unsigned k = 0; k < PK_JSITE_PROBES; k++, e++) {
		if (e->key == ra)
			return 0;
		if (e->key)
			continue;
		e->cfa_off = r->cfa_off;
		e->rbp_off = r->rbp_off;
		e->base_rbp = r->base_rbp;
		e->kind = r->end ? 2 : 1;
		/* the rule before the key: a walk that finds the key reads it whole */
		__atomic_store_n(&e->key, ra, __ATOMIC_RELEASE);
		j->stats.sites++;
		return 1;
	}
	j->stats.sites_full++;
	return -1;
}

long pk_jprobes_drain(struct pk_jprobes *j, pk_jprobe_callback cb, void *ctx, size_t max)
{
	long count = 0;

	double rate;

	if (!j || !j->ring)
		return 0;
	calibrate(j);
	rate = tsc_rate(j);
	pk_jprobes_publish_clock(j);
	while (max == 0 || (size_t)count < max) {
		struct pk_jrec *r = (struct pk_jrec *)(j->ring + PK_JRING_SLOTS +
						       (j->tail & (j->ring_slots - 1)) * j->recsz);
		struct pk_jprobe_event ev;
		uint64_t seq = __atomic_load_n(&r->seq, __ATOMIC_ACQUIRE), t1;
		const uint8_t *next;

		if (seq == ((j->tail + 1) | PK_JREC_TAKEN)) { /* read at its trap */
			j->tail++;
			continue;
		}
		if (seq != j->tail + 1)
			break;
		/* the next record on its way from the producer's cache while
		 * this one is fed */
		next = j->ring + PK_JRING_SLOTS + ((j->tail + 1) & (j->ring_slots - 1)) * j->recsz;
		__builtin_prefetch(next);
		__builtin_prefetch(next + 64);
		/* every field, one by one: a compound literal is a rep stos
		 * of the whole struct, and this runs for every record (a field
		 * added fails the assertion: set it here); pk_jrec_read sets
		 * the stack, and from the extension the rest */
		_Static_assert(sizeof(ev) == 184, "every field of struct pk_jprobe_event is set below");
		ev.probe = (int)r->probe;
		ev.tid = (pid_t)r->tid;
		ev.tcb = 0;
		ev.time_ns = tsc_to_ns(j, rate, r->t0);
		ev.duration_ns = 0;
		ev.pos = j->tail;
		ev.args[0] = r->a0;
		ev.args[1] = r->a1;
		ev.args[2] = 0;
		ev.retval = r->ret;
		ev.out0 = 0;
		ev.ret_addr = r->ret_addr; /* a known chain's: set by pk_jrec_read */
		ev.sp = r->rsp;
		ev.rbx = ev.rbp = ev.r12 = ev.r13 = ev.r14 = ev.r15 = 0;
		ev.rec = NULL;
		j->stats.chains += (r->kind & PK_JREC_CHAIN) != 0;
		ev.nested = 0;
		if (pk_jrec_read(j, r, &ev, &t1) < 0) {
			j->stats.voids += (r->kind & PK_JREC_VOID) != 0;
		} else if (cb && r->probe < j->n) {
			ev.nested = nested_ret_memo(j, ev.ret_addr);
			if (t1 != r->t0)
				ev.duration_ns = t1 > r->t0 ? tsc_to_ns(j, rate, t1) - ev.time_ns : 0;
			cb(ctx, &ev);
		} else if (r->probe >= j->n) {
			j->stats.corrupt++;
		}
		j->tail++;
		count++;
		/* the producers learn of the room a batch at a time: the
		 * tail's line moves to them once per batch */
		if ((j->tail & 255) == 0)
			pk_jring_publish_tail(j);
	}
	pk_jring_publish_tail(j);
	j->stats.events += (uint64_t)count;
	return count;
}

void pk_jring_publish_tail(struct pk_jprobes *j)
{
	uint64_t *t = (uint64_t *)(j->ring + PK_JRING_TAIL);

	/* after every read of the records before it */
	if (__atomic_load_n(t, __ATOMIC_RELAXED) != j->tail)
		__atomic_store_n(t, j->tail, __ATOMIC_RELEASE);
}
