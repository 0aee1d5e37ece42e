/*
 * jprobe-int.h - internals shared by the jump-probe engine's files
 * (jprobe.c: table, arm; jprobe-detach.c: detach; jprobe-code.c: detour
 * template and relocation; jprobe-ring.c: the shared ring and its drain).
 */
#ifndef PK_JPROBE_INT_H
#define PK_JPROBE_INT_H

#include "daemon/jprobe.h"
#include "daemon/probe.h"

#define PK_JPAGE 4096u
#define PK_JPATCH_MAX 24u         /* displaced bytes at most */
#define PK_JDETOUR_ROOM 2048u     /* a detour's code at most (template + copy) */

/* Ring header (offset 0 of the memfd); the detour template hard-codes
 * these offsets. */
#define PK_JRING_HEAD 0           /* producers' reservation counter */
#define PK_JRING_DROPS 64
#define PK_JRING_MASK 128
#define PK_JRING_RECSZ 136
#define PK_JRING_TIDOFF 144
#define PK_JRING_STACKLEN 152
#define PK_JRING_MSLO 160         /* main thread's stack mapping */
#define PK_JRING_MSHI 168
#define PK_JRING_MAGIC 176
#define PK_JRING_SITES 184        /* the site table's address in the target, 0: none */
#define PK_JRING_SITEMASK 192     /* (its entries - 1) * 16 (4 more follow, for probing) */
#define PK_JRING_WALKROOM 200     /* bytes of return addresses a record takes */
#define PK_JRING_WALKTRUNC 208    /* 1: a walk out of room is a truncated chain */
#define PK_JRING_EXTOFF 216       /* the slots' extensions: their offset in the ring ... */
#define PK_JRING_EXTSZ 224        /* ... and the size of one */
#define PK_JRING_SPIN 232         /* TRAP_SLOW: pause loops a full ring is waited */
#define PK_JRING_KNOWN 240        /* the table of known chains: its offset, 0: none ... */
#define PK_JRING_KNOWNMASK 248    /* ... and its entries - 1 */
#define PK_JRING_CLOCK 256         /* perfkitd's time stamp counter, published now and
				     then (PK_JPROBE_COARSE_TIME), in a line of its own
				     but for the next two (read with it) */
#define PK_JRING_MEMO 264         /* the walk memo's address in the target, 0: none ... */
#define PK_JRING_MEMOMASK 272     /* ... (its entries - 1) * PK_JMEMO_SIZE */
#define PK_JRING_TAIL 320         /* records consumed (perfkitd writes it) */
#define PK_JRING_NESTED 384       /* nested calls counted instead of recorded */
#define PK_JRING_NRANGES 448      /* ranges of nesting code (0: none) ... */
#define PK_JRING_RANGES_LO 456    /* ... the lowest start and the highest end */
#define PK_JRING_RANGES_HI 464
#define PK_JRING_NCOUNT 472       /* the first ranges, nesting: a call counted; the
				     rest, entry-only functions: a call recorded
				     without its stack (exact mode) */
#define PK_JRING_RANGES 512       /* ... [start, end) pairs, PK_JRING_MAXRANGES */
#define PK_JRING_MAXRANGES 64        /* (512 + 64 * 16 < PK_JRING_SLOTS) */
#define PK_JRING_SLOTS 4096       /* first slot */

/*
 * Record (one slot; offsets hard-coded in the template too): one line
 * holds what a call whose stack the detour walked needs, and the chain of
 * return addresses follows it (the record's return address is its
 * first), so that such a record costs its thread and perfkitd one or two
 * cache lines.  What few calls need (a third argument, *arg0, the entry
 * time) and a stack slice with the registers to unwind it go to the
 * slot's extension, in an area of its own (PK_JRING_EXTOFF), written
 * only then.
 */
struct pk_jrec {
	uint64_t seq;             /* pos + 1 when written (| PK_JREC_TAKEN:
				     read in place at a trap) */
	uint16_t probe, kind;     /* kind: PK_JREC_* flags, the chain's length */
	uint32_t tid;
	uint64_t t0;              /* the entry's time stamp counter, else the return's */
	uint64_t a0, a1, ret;
	uint64_t rsp;             /* at entry: where ret_addr is */
	uint64_t ret_addr;        /* the chain's first */
	/* uint64_t chain[] follows */
};
#define PK_JREC_CHAIN_AT 56
struct pk_jext {
	uint64_t a2, out0, t1, tcb;
	uint32_t slice_len, pad;
	uint64_t rbx, rbp, r12, r13, r14, r15, pad2;
	/* uint8_t slice[] at PK_JEXT_SLICE */
};
#define PK_JEXT_SLICE 96
/* kind: a chain of return addresses (their count in the low bits)
 * walked by the detour through the site table, ending at the outermost
 * frame (COMPLETE) or at the walk's room; SLICE: the stack slice is in
 * the extension; EXT: so are a2, out0, t1 and tcb; VOID: no call (a deep
 * stack whose walk failed: the call takes the trap); KNOWN (with CHAIN):
 * the chain is one perfkitd took before, and where it would start the
 * record holds its hash (pk_jchain_hash), found in the ring's table of
 * known chains, which perfkitd alone writes, after taking a chain */
#define PK_JREC_TAKEN (1ull << 62)
#define PK_JREC_CHAIN 0x8000u
#define PK_JREC_COMPLETE 0x4000u
#define PK_JREC_VOID 0x2000u
#define PK_JREC_SLICE 0x1000u
#define PK_JREC_EXT 0x0800u
#define PK_JREC_KNOWN 0x0400u
#define PK_JREC_MEMO 0x0200u      /* (with KNOWN) the walk memo gave it */
#define PK_JREC_COUNT 0x00ffu

/* A site table entry (16 bytes, hard-coded in the template): the unwind
 * rule of the caller's frame at return address key */
struct pk_jsite {
	uint64_t key;             /* 0: empty; written last */
	int32_t cfa_off;
	int16_t rbp_off;          /* rbp saved at CFA + this; 0: unchanged */
	uint8_t base_rbp;         /* CFA = rbp + cfa_off, else rsp + cfa_off */
	uint8_t kind;             /* PK_JSITE_STEP, PK_JSITE_END */
};
#define PK_JSITE_PROBES 4u
/* the entry where the probes for return address ra start (the template's
 * SITE_LOOKUP computes the same) */
static inline uint64_t pk_jsite_index(uint64_t ra, uint64_t entries)
{
	return ((ra ^ (ra >> 12)) >> 4) & (entries - 1);
}
#define PK_JCHAIN_MUL 0x9e3779b97f4a7c15ull
#define PK_JMEMO_PAIRS 28u
#define PK_JMEMO_SIZE 512u        /* sizeof(struct pk_jmemo) */
#define PK_JMEMO_ENTRIES 1024u    /* 512 KiB of the ring, resident as used */
/* the entry of a call entered at e with return address ra (the template
 * computes the same) */
static inline uint64_t pk_jmemo_index(uint64_t e, uint64_t ra, uint64_t entries)
{
	uint64_t h = (e >> 4) ^ ra;

	return (h ^ (h >> 12)) & (entries - 1);
}
#define PK_JKNOWN_ENTRIES 4096u   /* the table of known chains: 32 KiB */

/*
 * The walk memo (perfkitd alone writes it, each entry once): a walk is a
 * function of the entry stack pointer E, the return address there, the
 * stack words it reads and the site table's rules, which never change
 * once written.  So a chain perfkitd took, walked from E by rules that
 * all take the CFA from the stack pointer, is known again without the
 * walk when the same probe is entered at the same E with the same return
 * address and the same words where the walk read the return addresses:
 * loads from addresses known in advance, which the CPU overlaps, instead
 * of one frame's rule waiting for the last (a frame costs about 15
 * dependent cycles).  The detour then writes the chain's hash and kind
 * (KNOWN | MEMO).  Entries are never replaced, so never read half
 * written: the tag, written last, says an entry is whole.
 */
struct pk_jmemo {
	uint64_t tag;             /* E; 0: empty */
	uint64_t ra;              /* the return address at E */
	uint64_t hash;            /* the chain's (pk_jchain_hash) */
	uint64_t probe;
	uint64_t kind;            /* the record's kind: CHAIN | COMPLETE | n | KNOWN | MEMO */
	uint64_t last;            /* the farthest word checked, from E */
	uint64_t npairs, pad;
	struct {
		int64_t off;      /* from E */
		uint64_t val;
	} pair[PK_JMEMO_PAIRS];
};

/* A chain perfkitd took: where its return addresses are kept */
struct pk_jchain {
	uint64_t h;               /* 0: empty */
	uint32_t off, n;          /* in chain_words */
	int no_memo;              /* a rule takes the CFA from rbp, or too deep */
};

struct pk_jprobe {
	uint64_t addr, size;
	char *name;
	unsigned flags;
	unsigned patch_len;        /* displaced bytes (>= 5) */
	uint8_t orig[PK_JPATCH_MAX];
	uint64_t detour;           /* detour address, 0 = none */
	int patched;
	const char *refusal;
	int transient;             /* refused for this arm only */
};

#define NESTED_MEMO 16

struct pk_jprobes {
	pid_t pid;
	struct pk_probes *inj;     /* int3 engine used for its syscall
				      injection and memory access only */
	struct pk_jprobe *v;
	size_t n, cap;
	unsigned ring_slots, stack_bytes, recsz, extsz;
	uint64_t ext_off;          /* the extensions' offset in the ring */
	unsigned sites, walk_max;  /* site table entries (0: none), chain room */
	int walk_trunc;
	unsigned full_wait_us;      /* pk_jprobe_config's */
	uint64_t sites_off;        /* the table's offset in the ring */
	uint64_t known_off;        /* the known chains' table (0: none) */
	uint64_t memo_off;         /* the walk memo (0: none) */
	struct pk_jchain *chains;  /* the chains taken, by hash */
	size_t nchains, capchains;
	uint64_t *chain_words;
	size_t nwords, capwords;
	int count_nested;
	uint64_t ring_size;
	uint64_t ring_target;      /* the ring's address in the target */
	uint8_t *ring;             /* ... and in perfkitd */
	uint64_t tail;             /* consumer position */
	uint64_t *pages;           /* detour pages in the target */
	unsigned *page_used;
	size_t npages, cappages;
	int tid_offset;
	int closed;                /* final detach done: no more arming */
	/* rdtsc -> CLOCK_MONOTONIC: two points */
	uint64_t tsc0, ns0, tsc1, ns1;
	struct pk_jprobe_stats stats;
	/* pk_jprobes_nested_ret's answers by return address, for the drain
	 * (a call site repeats); valid while n and npages are as noted
	 * (probes and pages are only ever added, never changed) */
	struct {
		uint64_t ret;
		int nested;
	} nested_memo[NESTED_MEMO];
	size_t memo_n, memo_npages;
};

/* jprobe-detach.c: single-step stopped thread tid once.  0 after the
 * step, -EAGAIN when a signal came instead (queued again), else -errno
 * (-ESRCH: gone). */
int pk_jstep(struct pk_jprobes *j, pid_t tid);

/* jprobe-ring.c: does ret (a call's return address) lie in a probed
 * function or a detour (the call is nested in another probed call)? */
int pk_jprobes_nested_ret(const struct pk_jprobes *j, uint64_t ret);

/* jprobe-code.c */
/* Bytes of the detour template; a detour is the template followed by the
 * relocated copy. */
size_t pk_jdetour_size(void);
/* Build the code for probe pr at detour address `at` into buf (at least
 * pk_jdetour_size() + PK_JPATCH_MAX * 3 + 16 bytes); the function's first
 * bytes are in pr->orig.  Sets pr->patch_len.  Returns the byte count, or
 * -1 with *why set when the entry cannot be relocated. */
int pk_jdetour_build(struct pk_jprobe *pr, int id, uint64_t at, uint64_t ring,
		     uint8_t *buf, const char **why);
/* Offset of the ring pointer in a detour (0 there: record nothing). */
size_t pk_jdetour_ring_slot(void);
/* Offset in a detour of its entry (0) or return (1) trap's int3. */
size_t pk_jdetour_trap_offset(int at_return);
/* Is rip, in the detour at `detour`, between loading the ring pointer and
 * publishing the record (a thread there still writes to the ring)? */
int pk_jdetour_recording(uint64_t detour, uint64_t rip);
/* Frame of the detour at `detour` for pc (see pk_jprobes_detour_frame). */
int pk_jdetour_frame(uint64_t detour, uint64_t pc, uint64_t sp, uint64_t *ret_slot);
/* Does any direct branch in the function's code (code[0..len), at addr)
 * land in (addr, addr + patch_len)?  Conservative: every byte offset is
 * tried as an instruction start. */
int pk_jbranch_into(const uint8_t *code, size_t len, uint64_t addr, unsigned patch_len);

/* jprobe-ring.c */
int pk_jring_map(struct pk_jprobes *j, pid_t tid);
void pk_jring_unmap_local(struct pk_jprobes *j);
/* munmap the ring in the target through stopped thread tid. */
int pk_jring_unmap_target(struct pk_jprobes *j, pid_t tid);
uint64_t pk_jring_drops(const struct pk_jprobes *j);
uint64_t pk_jring_nested(const struct pk_jprobes *j);
/* Write the ranges of code a call returning into is nested (every thread
 * stopped): the probed functions that nest, the detour pages. */
void pk_jring_set_ranges(struct pk_jprobes *j);
/* Tell the producers how far perfkitd has consumed (j->tail). */
void pk_jring_publish_tail(struct pk_jprobes *j);
/* The stack of record r into ev (the chain, or the slice and the
 * registers to unwind it) and what its extension holds (args[2], out0,
 * tcb; the return's time stamp counter into *t1, else r's own); -1: a
 * void record, or a length that cannot be. */
int pk_jrec_read(struct pk_jprobes *j, const struct pk_jrec *r, struct pk_jprobe_event *ev,
		 uint64_t *t1);
uint64_t pk_jtsc(void);
/* The hash of a chain of n return addresses for probe (bits: the
 * record's kind, CHAIN, COMPLETE and the count), as the detours compute
 * it: never 0 */
uint64_t pk_jchain_hash(unsigned probe, const uint64_t *ras, unsigned n, unsigned bits);

#endif
