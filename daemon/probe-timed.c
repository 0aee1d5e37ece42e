/*
 * probe-timed.c - timed returns (see pk_probes_set_timed in probe.h): the
 * table shared with the target, the stubs, the prefix that hijacks a
 * return with a stub, the calls found returned, and threads moved out of
 * that code at a detach.
 *
 * Code written into the target.  At a function's entry and at its return
 * r11 and the flags are free (the ABI keeps nothing in them across a
 * call), and so is the stack below rsp (at the entry the callee has not
 * used it yet, at the return the callee's frame is gone; a signal frame
 * goes below the 128-byte red zone).
 *
 *   prefix, per probe (the entry trap resumes the thread here):
 *     mov %rax,-8(%rsp); mov %rdx,-16(%rsp)
 *     r11 = &table[((rsp >> 3) ^ (rsp >> 17)) & (SLOTS - 1)]
 *     table[i].orig = (%rsp); table[i].slot = rsp; table[i].entry_tsc = rdtsc
 *     (%rsp) = stubs + 16 * i                         (the hijack)
 *     mov -8(%rsp),%rax; mov -16(%rsp),%rdx
 *     jmp *the out-of-line copy of the first instruction
 *   stub i:  mov $i,%r11d; jmp common
 *   common:  mov %rax,-8(%rsp); mov %rdx,-16(%rsp)
 *            rdx = &table[i]; table[i].ret_tsc = rdtsc
 *            r11 = table[i].orig; table[i].done = 1
 *            mov -8(%rsp),%rax; mov -16(%rsp),%rdx; jmp *%r11
 * (the address is loaded before done is written: once perfkitd has seen
 * done, it may give the entry to another call)
 *
 * The index hashes the return-address slot, which no other pending call
 * shares (a call at the same slot is a tail call: it keeps the stopping
 * return); perfkitd computes the same index at the entry trap and lets a
 * call use the table only if no pending call of any thread holds that
 * entry.  The higher bits folded in keep threads whose stacks lie at the
 * same offsets of their mappings apart.
 */
#include "daemon/probe-int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "error.h"
#include "util.h"

#define TABLE_BYTES (PK_TIMED_SLOTS * sizeof(struct pk_timed_entry))
#define COMMON_OFF (PK_TIMED_SLOTS * PK_TIMED_STUB)
#define NAME_OFF (COMMON_OFF + 64)
#define CODE_BYTES ((NAME_OFF + 32 + 4095) & ~(size_t)4095)

/* the prefix: immediates patched at these offsets */
static const uint8_t prefix_code[] = {
	0x48, 0x89, 0x44, 0x24, 0xf8,             /* mov %rax,-0x8(%rsp) */
	0x48, 0x89, 0x54, 0x24, 0xf0,             /* mov %rdx,-0x10(%rsp) */
	0x49, 0x89, 0xe3,                         /* mov %rsp,%r11 */
	0x49, 0xc1, 0xeb, 0x03,                   /* shr $3,%r11 */
	0x48, 0x89, 0xe0,                         /* mov %rsp,%rax */
	0x48, 0xc1, 0xe8, 0x11,                   /* shr $17,%rax */
	0x49, 0x31, 0xc3,                         /* xor %rax,%r11 */
	0x41, 0x81, 0xe3, 0, 0, 0, 0,             /* and $MASK,%r11d */
	0x49, 0xc1, 0xe3, 0x06,                   /* shl $6,%r11 */
	0x48, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0,       /* movabs $TABLE,%rax */
	0x49, 0x01, 0xc3,                         /* add %rax,%r11 */
	0x48, 0x8b, 0x04, 0x24,                   /* mov (%rsp),%rax */
	0x49, 0x89, 0x03,                         /* mov %rax,(%r11) */
	0x49, 0x89, 0x63, 0x20,                   /* mov %rsp,0x20(%r11) */
	0x0f, 0x31,                               /* rdtsc */
	0x48, 0xc1, 0xe2, 0x20,                   /* shl $32,%rdx */
	0x48, 0x09, 0xd0,                         /* or %rdx,%rax */
	0x49, 0x89, 0x43, 0x08,                   /* mov %rax,0x8(%r11) */
	0x48, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0,       /* movabs $TABLE,%rax */
	0x49, 0x29, 0xc3,                         /* sub %rax,%r11 */
	0x49, 0xc1, 0xeb, 0x02,                   /* shr $2,%r11 */
	0x48, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0,       /* movabs $STUBS,%rax */
	0x4c, 0x01, 0xd8,                         /* add %r11,%rax */
	0x48, 0x89, 0x04, 0x24,                   /* mov %rax,(%rsp) */
	0x48, 0x8b, 0x44, 0x24, 0xf8,             /* mov -0x8(%rsp),%rax */
	0x48, 0x8b, 0x54, 0x24, 0xf0,             /* mov -0x10(%rsp),%rdx */
	/* P_TAIL: the first instruction, see write_tail */
};
#define P_MASK 0x1e
#define P_TABLE1 0x28
#define P_TABLE2 0x4d
#define P_STUBS 0x5e
#define P_SPILLED_RAX 0x05   /* from here on, -8(%rsp) holds rax ... */
#define P_SPILLED_RDX 0x0a
#define P_HIJACKED 0x6d      /* from here on, (%rsp) holds the stub */
#define P_RELOADED_RAX 0x72  /* ... up to here (rax is rax again) */
#define P_RELOADED_RDX 0x77
#define P_TAIL 0x77          /* then the function's first instruction */
#define P_PUSHED (P_TAIL + 4) /* an emulated call: from here on rsp is
				 8 lower (the return address it pushes) */

static const uint8_t common_code[] = {
	0x48, 0x89, 0x44, 0x24, 0xf8,             /* mov %rax,-0x8(%rsp) */
	0x48, 0x89, 0x54, 0x24, 0xf0,             /* mov %rdx,-0x10(%rsp) */
	0x0f, 0x31,                               /* rdtsc */
	0x48, 0xc1, 0xe2, 0x20,                   /* shl $32,%rdx */
	0x48, 0x09, 0xd0,                         /* or %rdx,%rax */
	0x49, 0xc1, 0xe3, 0x06,                   /* shl $6,%r11 */
	0x48, 0xba, 0, 0, 0, 0, 0, 0, 0, 0,       /* movabs $TABLE,%rdx */
	0x4c, 0x01, 0xda,                         /* add %r11,%rdx */
	0x48, 0x89, 0x42, 0x10,                   /* mov %rax,0x10(%rdx) */
	0x4c, 0x8b, 0x1a,                         /* mov (%rdx),%r11 */
	0x48, 0xc7, 0x42, 0x18, 1, 0, 0, 0,       /* movq $1,0x18(%rdx) */
	0x48, 0x8b, 0x44, 0x24, 0xf8,             /* mov -0x8(%rsp),%rax */
	0x48, 0x8b, 0x54, 0x24, 0xf0,             /* mov -0x10(%rsp),%rdx */
	0x41, 0xff, 0xe3,                         /* jmp *%r11 */
};
#define C_TABLE 0x19
#define C_SPILLED_RAX 0x05
#define C_SPILLED_RDX 0x0a
/* From here on done is written and r11 holds the return address: the
 * entry may be taken by another call once perfkitd has seen done. */
#define C_DONE 0x33

_Static_assert(sizeof(struct pk_timed_entry) == 64, "the code indexes the table by << 6");
_Static_assert(sizeof(prefix_code) == P_TAIL, "prefix length");
_Static_assert(P_TAIL + 33 <= PK_TIMED_PREFIX_LEN, "room for the longest tail");

static const char table_name[] = "perfkit-timed";

static uint64_t rdtsc(void)
{
	return __builtin_ia32_rdtsc();
}

unsigned pk_timed_index(uint64_t rsp)
{
	return (unsigned)(((rsp >> 3) ^ (rsp >> 17)) & (PK_TIMED_SLOTS - 1));
}

long pk_timed_stub_index(const struct pk_probes *p, uint64_t addr)
{
	if (!p->ttab || addr < p->tstubs || addr >= p->tstubs + COMMON_OFF ||
	    (addr - p->tstubs) % PK_TIMED_STUB)
		return -1;
	return (long)((addr - p->tstubs) / PK_TIMED_STUB);
}

uint64_t pk_timed_orig(const struct pk_probes *p, const struct pk_pending *pend)
{
	if (pend->tidx >= 0 && p->ttab)
		return __atomic_load_n(&p->ttab[pend->tidx].orig, __ATOMIC_RELAXED);
	return pend->orig_ret;
}

/* ---- time ----------------------------------------------------------- */

/* (tsc1, ns1): now, as one pair of readings. */
static void calibrate(struct pk_probes *p)
{
	uint64_t a = rdtsc(), ns = pk_monotonic_ns(), b = rdtsc();

	p->tsc1 = a + (b - a) / 2;
	p->ns1 = ns;
}

static double ns_per_tick(const struct pk_probes *p)
{
	if (p->tsc1 <= p->tsc0 || p->ns1 <= p->ns0)
		return 1.0;
	return (double)(p->ns1 - p->ns0) / (double)(p->tsc1 - p->tsc0);
}

static uint64_t tsc_ns(const struct pk_probes *p, uint64_t tsc)
{
	double d = ((double)tsc - (double)p->tsc0) * ns_per_tick(p);

	return d <= -(double)p->ns0 ? 0 : (uint64_t)((double)p->ns0 + d);
}

/* ---- setup ------------------------------------------------------------ */

/* The stubs and the common tail, written at p->tstubs. */
static int write_stubs(struct pk_probes *p)
{
	uint8_t *code = pk_xcalloc(1, NAME_OFF);
	uint64_t table = p->ttab_addr;
	int err;

	memset(code, 0xcc, NAME_OFF);
	for (uint32_t i = 0; i < PK_TIMED_SLOTS; i++) {
		uint8_t *s = code + (size_t)i * PK_TIMED_STUB;
		int32_t rel = (int32_t)(COMMON_OFF - ((size_t)i * PK_TIMED_STUB + 11));

		s[0] = 0x41, s[1] = 0xbb;         /* mov $i,%r11d */
		memcpy(s + 2, &i, 4);
		s[6] = 0xe9;                       /* jmp rel32 common */
		memcpy(s + 7, &rel, 4);
	}
	memcpy(code + COMMON_OFF, common_code, sizeof(common_code));
	memcpy(code + COMMON_OFF + C_TABLE, &table, 8);
	err = pk_probes_write(p, p->tstubs, code, NAME_OFF);
	free(code);
	return err;
}

/* Map the table (a memfd, shared) and the stubs (private code) into the
 * target through stopped thread tid, and the table into perfkitd. */
static int map_all(struct pk_probes *p, pid_t tid)
{
	uint64_t name_at, table = 0;
	long code = 0, r;
	void *m = NULL;
	int err;

	err = pk_inject_call(p, tid, SYS_mmap, 0, CODE_BYTES, PROT_READ | PROT_EXEC,
			     MAP_PRIVATE | MAP_ANONYMOUS, (uint64_t)-1, &code);
	if (err < 0)
		return err;
	p->tstubs = (uint64_t)code;
	name_at = p->tstubs + NAME_OFF;
	err = pk_probes_write(p, name_at, table_name, sizeof(table_name));
	if (err == 0)
		err = pk_inject_shared(p, tid, name_at, TABLE_BYTES, TABLE_BYTES, &table, &m);
	if (err == 0) {
		p->ttab = m;
		p->ttab_addr = table;
		err = write_stubs(p);
	}
	if (err < 0) {
		if (table > 0)
			pk_inject_call(p, tid, SYS_munmap, (uint64_t)table, TABLE_BYTES, 0, 0, 0, &r);
		pk_inject_call(p, tid, SYS_munmap, p->tstubs, CODE_BYTES, 0, 0, 0, &r);
		if (p->ttab)
			munmap(p->ttab, TABLE_BYTES);
		p->ttab = NULL;
		p->ttab_addr = p->tstubs = 0;
	}
	return err;
}

int pk_timed_setup(struct pk_probes *p, pid_t tid)
{
	int err;

	if (p->ttab || p->timed_failed || !p->timed)
		return 0;
	err = map_all(p, tid);
	if (err < 0) {
		p->timed_failed = 1;
		pk_warn("probes: no timed returns in PID %d (%s): every probed call stops at its "
			"return too",
			(int)p->pid, strerror(-err));
		return err;
	}
	p->tused = pk_xcalloc(PK_TIMED_SLOTS, 1);
	/* a first rate over 2 ms; every reap lengthens the baseline */
	calibrate(p);
	p->tsc0 = p->tsc1;
	p->ns0 = p->ns1;
	do
		calibrate(p);
	while (p->ns1 - p->ns0 < 2000000);
	return 0;
}

/* jmp *0(%rip); .quad to */
static size_t abs_jmp(uint8_t *out, uint64_t to)
{
	memcpy(out, "\xff\x25\0\0\0\0", 6);
	memcpy(out + 6, &to, 8);
	return 14;
}

/*
 * After the prefix, the function's first instruction: a jump to its
 * out-of-line copy, or emulated (a relative jump: to its target; a
 * relative call: the return address pushed, then to its target, as the
 * entry trap emulates them without timed returns).  Returns the bytes
 * written at out, 0 for an instruction of another kind.
 */
static size_t write_tail(const struct pk_probe *pr, uint8_t *out)
{
	uint64_t next = pr->addr + pr->insn.len, to = next + (uint64_t)pr->insn.rel;
	uint32_t lo = (uint32_t)next, hi = (uint32_t)(next >> 32);

	switch (pr->insn.cls) {
	case PK_INSN_PLAIN:
		return abs_jmp(out, pr->slot);
	case PK_INSN_JMP_REL:
		return abs_jmp(out, to);
	case PK_INSN_CALL_REL:
		memcpy(out, "\x48\x83\xec\x08", 4);          /* sub $8,%rsp */
		memcpy(out + 4, "\xc7\x04\x24", 3);           /* movl $lo,(%rsp) */
		memcpy(out + 7, &lo, 4);
		memcpy(out + 11, "\xc7\x44\x24\x04", 4);      /* movl $hi,4(%rsp) */
		memcpy(out + 15, &hi, 4);
		return 19 + abs_jmp(out + 19, to);
	default:
		return 0;
	}
}

int pk_timed_write_prefix(struct pk_probes *p, const struct pk_probe *pr, uint64_t base)
{
	uint8_t buf[PK_TIMED_PREFIX_LEN];
	uint32_t mask = PK_TIMED_SLOTS - 1;
	size_t tail;

	memset(buf, 0xcc, sizeof(buf));
	memcpy(buf, prefix_code, sizeof(prefix_code));
	memcpy(buf + P_MASK, &mask, 4);
	memcpy(buf + P_TABLE1, &p->ttab_addr, 8);
	memcpy(buf + P_TABLE2, &p->ttab_addr, 8);
	memcpy(buf + P_STUBS, &p->tstubs, 8);
	tail = write_tail(pr, buf + P_TAIL);
	if (!tail)
		return -ENOTSUP;
	return pk_probes_write(p, base, buf, P_TAIL + tail);
}

int pk_timed_prefix_entry(const struct pk_probe *pr, uint64_t pc)
{
	return pr->tprefix && pc >= pr->tprefix && pc <= pr->tprefix + P_TAIL;
}

void pk_timed_release(struct pk_probes *p, pid_t tid)
{
	long r;

	if (tid > 0 && p->ttab_addr) {
		pk_inject_call(p, tid, SYS_munmap, p->ttab_addr, TABLE_BYTES, 0, 0, 0, &r);
		pk_inject_call(p, tid, SYS_munmap, p->tstubs, CODE_BYTES, 0, 0, 0, &r);
	}
	if (p->ttab)
		munmap(p->ttab, TABLE_BYTES);
	p->ttab = NULL;
	p->ttab_addr = p->tstubs = 0;
	free(p->tused);
	p->tused = NULL;
	for (size_t i = 0; i < p->nprobes; i++)
		p->probes[i].tprefix = 0;
}

/* ---- returns ---------------------------------------------------------- */

int pk_timed_returned(struct pk_probes *p, const struct pk_pending *pend, uint64_t *ret_ns,
		      uint64_t *dur_ns)
{
	const struct pk_timed_entry *e;
	long i = pend->tidx;

	if (!p->ttab)
		return 0;
	/* a tail call out of a timed call returns through that call's stub */
	if (i < 0 && (i = pk_timed_stub_index(p, pend->orig_ret)) < 0)
		return 0;
	e = &p->ttab[i];
	if (!__atomic_load_n(&e->done, __ATOMIC_ACQUIRE))
		return 0;
	*ret_ns = tsc_ns(p, e->ret_tsc);
	if (pend->tidx >= 0)
		*dur_ns = e->ret_tsc > e->entry_tsc ?
				  (uint64_t)((double)(e->ret_tsc - e->entry_tsc) * ns_per_tick(p)) : 0;
	else
		*dur_ns = *ret_ns > pend->t0_ns ? *ret_ns - pend->t0_ns : 0;
	return 1;
}

void pk_timed_reap(struct pk_probes *p, struct pk_probe_thread *t)
{
	uint64_t ret_ns, dur;

	if (!p->ttab)
		return;
	while (t->n > 0 && pk_timed_returned(p, &t->v[t->n - 1], &ret_ns, &dur)) {
		struct pk_pending pend = t->v[--t->n];

		pk_probe_report_end(p, t->tid, &pend);
	}
}

void pk_probes_reap(struct pk_probes *p)
{
	if (!p->ttab)
		return;
	calibrate(p);
	for (size_t i = 0; i < p->nthreads; i++)
		pk_timed_reap(p, &p->threads[i]);
}

int pk_probes_set_timed(struct pk_probes *p, int on)
{
	if (p->ttab)
		return -EINVAL;
	p->timed = on != 0;
	return 0;
}

/* ---- detach ----------------------------------------------------------- */

static int read_word(struct pk_probes *p, uint64_t addr, unsigned long long *out)
{
	uint64_t v;
	int err = pk_probes_read(p, addr, &v, 8);

	if (err == 0)
		*out = v;
	return err;
}

/* A thread in a probe's timed prefix: the function starts again, unprobed
 * (the int3 is gone by then), its registers and return address as at the
 * entry. */
static int out_of_prefix(struct pk_probes *p, const struct pk_probe *pr,
			 struct user_regs_struct *regs)
{
	uint64_t o = regs->rip - pr->tprefix;
	int err = 0;

	if (pr->insn.cls == PK_INSN_CALL_REL && o >= P_PUSHED)
		regs->rsp += 8; /* the emulated call's push, undone */
	if (o >= P_SPILLED_RAX && o < P_RELOADED_RAX)
		err = read_word(p, regs->rsp - 8, &regs->rax);
	if (err == 0 && o >= P_SPILLED_RDX && o < P_RELOADED_RDX)
		err = read_word(p, regs->rsp - 16, &regs->rdx);
	if (err == 0 && o >= P_HIJACKED) {
		uint64_t orig = p->ttab[pk_timed_index(regs->rsp)].orig;

		err = pk_probes_write(p, regs->rsp, &orig, 8);
	}
	regs->rip = pr->addr;
	return err;
}

/* A thread in a stub or the common tail: it returned; finish the stub's
 * work for it and send it home. */
static int out_of_stub(struct pk_probes *p, struct user_regs_struct *regs)
{
	uint64_t o = regs->rip - p->tstubs, slot = regs->rsp - 8;
	struct pk_timed_entry *e = &p->ttab[pk_timed_index(slot)];
	int err = 0;

	if (o >= COMMON_OFF) {
		o -= COMMON_OFF;
		if (o >= C_SPILLED_RAX)
			err = read_word(p, regs->rsp - 8, &regs->rax);
		if (err == 0 && o >= C_SPILLED_RDX)
			err = read_word(p, regs->rsp - 16, &regs->rdx);
	} else {
		o = 0;
	}
	if (err < 0)
		return err;
	if (o < C_DONE) {
		regs->rip = e->orig;
		e->ret_tsc = rdtsc();
		__atomic_store_n(&e->done, 1, __ATOMIC_RELEASE);
	} else {
		regs->rip = regs->r11;
	}
	return 0;
}

int pk_timed_fix_rip(struct pk_probes *p, pid_t tid, struct user_regs_struct *regs)
{
	int err;

	(void)tid;
	if (!p->ttab)
		return 0;
	if (regs->rip >= p->tstubs && regs->rip < p->tstubs + COMMON_OFF + sizeof(common_code)) {
		err = out_of_stub(p, regs);
		return err < 0 ? err : 1;
	}
	for (size_t i = 0; i < p->nprobes; i++) {
		const struct pk_probe *pr = &p->probes[i];

		if (pr->tprefix && regs->rip >= pr->tprefix &&
		    regs->rip < pr->tprefix + PK_TIMED_PREFIX_LEN) {
			err = out_of_prefix(p, pr, regs);
			return err < 0 ? err : 1;
		}
	}
	return 0;
}

int pk_probes_restore_slot(struct pk_probes *p, uint64_t slot, uint64_t ret)
{
	uint64_t cur;
	long i;
	int err = pk_probes_read(p, slot, &cur, 8);

	if (err < 0)
		return err;
	if (p->tramp && cur == p->tramp && ret)
		return pk_probes_write(p, slot, &ret, 8);
	if ((i = pk_timed_stub_index(p, cur)) >= 0)
		return pk_probes_write(p, slot, &p->ttab[i].orig, 8);
	return 0;
}

int pk_probes_orig_ret(const struct pk_probes *p, uint64_t ret, uint64_t slot, uint64_t *orig)
{
	long i = pk_timed_stub_index(p, ret);

	if (i >= 0) {
		/* the entry names the slot it was filled for: a sample read
		 * after that call returned and the entry went to another call
		 * (another slot) is not misread */
		const struct pk_timed_entry *e = &p->ttab[i];

		if (__atomic_load_n(&e->slot, __ATOMIC_RELAXED) != slot)
			return 0;
		*orig = __atomic_load_n(&e->orig, __ATOMIC_RELAXED);
		return *orig != 0;
	}
	if (!p->tramp || ret != p->tramp)
		return 0;
	for (size_t k = 0; k < p->nthreads; k++) {
		const struct pk_probe_thread *t = &p->threads[k];

		for (size_t j = t->n; j-- > 0;)
			if (t->v[j].slot == slot && t->v[j].orig_ret != p->tramp &&
			    pk_timed_stub_index(p, t->v[j].orig_ret) < 0) {
				*orig = t->v[j].orig_ret;
				return 1;
			}
	}
	return 0;
}
