/*
 * probe-int.h - internals shared by the probe engine's files (probe.c,
 * probe-trap.c, probe-detach.c, probe-inject.c, probe-return.c).  Not for
 * users of the engine.
 */
#ifndef PK_PROBE_INT_H
#define PK_PROBE_INT_H

#include "daemon/probe.h"
#include "daemon/probe-insn.h"

#define PK_PROBE_SLOT_SIZE 64u    /* one out-of-line slot: hijack prefix,
				     instruction, jump back */
#define PK_PROBE_HIJACK_LEN 15u   /* the prefix: two movl $imm32 to the
				     return address slot at (%rsp) */
#define PK_PROBE_PAGE_SIZE 4096u
#define PK_PROBE_TRAMP_SIZE 32u   /* slot 0 of the first page: int3 + pad */

struct pk_probe {
	uint64_t addr;
	char *name;
	uint8_t orig;              /* the byte the int3 replaced */
	uint8_t code[16];          /* original bytes at addr */
	struct pk_insn insn;
	uint64_t slot;             /* out-of-line copy, 0 when emulated */
	uint64_t hijack;           /* slot - PK_PROBE_HIJACK_LEN: the copy
				      preceded by the code that writes the
				      trampoline over the return address */
	int placed;                /* decoded and copied out of line: stays
				      through disarm, until detach/forget */
	int armed;                 /* the int3 is in place */
	int refused;
	int no_stack;              /* entries read the return address only */
	uint64_t tprefix;          /* timed returns: the prefix that records
				      the entry time and hijacks with a stub
				      (probe-timed.c), 0 = none */
};

struct pk_pending {
	uint64_t slot;             /* stack address holding the return address */
	uint64_t orig_ret;         /* what was there before the hijack */
	uint64_t args[3];
	uint64_t cookie;
	int probe;
	int tidx;                  /* timed return: its table entry (orig_ret
				      is there, not here), -1 = none */
	uint64_t t0_ns;            /* the entry stop's clock */
};

struct pk_probe_thread {
	pid_t tid;
	struct pk_pending *v;
	size_t n, cap;
};

struct pk_probe_page {
	uint64_t addr;
	unsigned used;             /* bytes handed out */
};

struct pk_probes {
	pid_t pid;
	int memfd;                 /* /proc/PID/mem, -1 until needed */
	pk_probe_callback cb;
	void *ctx;
	struct pk_probe *probes;   /* indexed by id */
	size_t nprobes, capprobes;
	int *by_addr;              /* placed probe ids sorted by address */
	size_t nby_addr;
	struct pk_probe_page *pages;
	size_t npages, cappages;
	uint64_t tramp;            /* return trampoline address, 0 = none */
	struct pk_probe_thread *threads;
	size_t nthreads, capthreads;
	uint64_t syscall_insn;     /* a `syscall` instruction in the target */
	uint8_t *stack_buf;        /* entry-time stack copy (stack_copy bytes) */
	size_t stack_copy;
	struct pk_probe_stats stats;
	uint64_t trap_t0;          /* clock at the trap being handled, else 0 */
	uint64_t last_handle_ns;   /* the last handled trap's time in the engine */

	/* timed returns (probe-timed.c) */
	int timed;                 /* wanted (pk_probes_set_timed) */
	int timed_failed;          /* could not be set up: stop at returns */
	struct pk_timed_entry *ttab;  /* the shared table as perfkitd maps it */
	uint64_t ttab_addr;        /* the table in the target */
	uint64_t tstubs;           /* the stubs, then the common tail */
	uint8_t *tused;            /* per entry: held by a pending call */
	uint64_t tsc0, ns0, tsc1, ns1; /* time stamp counter calibration */
};

/* probe-timed.c.  A timed return: the entry trap resumes the thread at
 * the probe's timed prefix, which saves the return address and the entry
 * time in table entry idx and writes stub idx over the return address;
 * the return runs the stub, which writes the return time and `done` and
 * jumps to the saved address: no stop.  The thread's next trap (or a
 * tick, a detach) finds the call done. */
#define PK_TIMED_SLOTS 2048u       /* table entries (a power of two) */
#define PK_TIMED_STUB 16u          /* bytes per stub */
#define PK_TIMED_PREFIX_LEN 152u   /* a timed prefix, with its first instruction */
struct pk_timed_entry {
	uint64_t orig;             /* the return address the stub replaced */
	uint64_t entry_tsc, ret_tsc;
	uint64_t done;             /* written last by the stub: 1 */
	uint64_t slot;             /* where the return address was (the
				      stack pointer at the entry) */
	uint64_t pad[3];
};
int pk_timed_setup(struct pk_probes *p, pid_t tid);
int pk_timed_write_prefix(struct pk_probes *p, const struct pk_probe *pr, uint64_t base);
/* Is pc in pr's timed prefix, before its first instruction ran? */
int pk_timed_prefix_entry(const struct pk_probe *pr, uint64_t pc);
unsigned pk_timed_index(uint64_t rsp);
/* Is addr a stub?  Its table index, else -1. */
long pk_timed_stub_index(const struct pk_probes *p, uint64_t addr);
/* The return address a pending call's slot held before the hijack. */
uint64_t pk_timed_orig(const struct pk_probes *p, const struct pk_pending *pend);
/* Has the pending call returned through a stub?  Its time then. */
int pk_timed_returned(struct pk_probes *p, const struct pk_pending *pend, uint64_t *ret_ns,
		      uint64_t *dur_ns);
/* Report the calls of t that returned through their stubs (newest first,
 * as long as the newest one has). */
void pk_timed_reap(struct pk_probes *p, struct pk_probe_thread *t);
/* A stopped thread in a timed prefix or a stub: regs moved to where the
 * original code would be (the return address written back).  1 moved,
 * 0 not there, -errno. */
int pk_timed_fix_rip(struct pk_probes *p, pid_t tid, struct user_regs_struct *regs);
/* The table and stubs: unmapped from the target through tid (tid > 0), and
 * from perfkitd. */
void pk_timed_release(struct pk_probes *p, pid_t tid);

/* probe.c */
void pk_probes_rebuild_index(struct pk_probes *p);
struct pk_probe *pk_probe_find_placed(struct pk_probes *p, uint64_t addr);
struct pk_probe *pk_probe_find_armed(struct pk_probes *p, uint64_t addr);

/* probe-trap.c: the return to the trampoline of thread tid (rsp just past
 * the slot); reports RETURN, sets regs->rip.  0 or -ENOENT. */
int pk_probe_handle_return(struct pk_probes *p, pid_t tid, struct user_regs_struct *regs);

int pk_probes_mem_open(struct pk_probes *p);
int pk_probes_write(struct pk_probes *p, uint64_t addr, const void *buf, size_t n);
int pk_mem_write_pid(pid_t pid, uint64_t addr, const void *buf, size_t n);
int pk_mem_read_pid(pid_t pid, uint64_t addr, void *buf, size_t n);

/* probe-inject.c: run syscall nr with args in stopped thread tid; *result
 * gets the raw return value (negative errno for errors). */
int pk_inject_syscall(struct pk_probes *p, pid_t tid, long nr, const uint64_t args[6],
		      long *result);
/* The same with the arguments spelled out (the sixth 0); also a failed
 * syscall's -errno comes back as the return value (*res has it too). */
int pk_inject_call(struct pk_probes *p, pid_t tid, long nr, uint64_t a0, uint64_t a1, uint64_t a2,
		   uint64_t a3, uint64_t a4, long *res);
/* Memory shared by the target and perfkitd: a memfd named by the string
 * at name_at in the target, size bytes, mapped read-write in both (*addr
 * in the target, *local here; the descriptor is closed in the target).
 * The first populate bytes are in memory and in both page tables at once
 * (no page fault when the target first writes there); the rest comes
 * page by page as it is first written.  0, or -errno with nothing left
 * mapped. */
int pk_inject_shared(struct pk_probes *p, pid_t tid, uint64_t name_at, size_t size, size_t populate,
		     uint64_t *addr, void **local);
/* Map a PROT_READ|PROT_EXEC page within +-1.5 GiB of near (0 = anywhere). */
int pk_inject_map_page(struct pk_probes *p, pid_t tid, uint64_t near, uint64_t *addr);
int pk_inject_unmap(struct pk_probes *p, pid_t tid, uint64_t addr, size_t len);

/* probe-return.c */
struct pk_probe_thread *pk_probe_thread_get(struct pk_probes *p, pid_t tid, int create);
int pk_probe_return_push(struct pk_probes *p, struct pk_probe_thread *t,
			 const struct pk_pending *pend);
/* Find the pending return whose slot is `slot`, drop (and report LOST)
 * newer ones; returns 0 and fills *out, -1 when none matches. */
int pk_probe_return_pop(struct pk_probes *p, struct pk_probe_thread *t, uint64_t slot,
			struct pk_pending *out);
/* Drop pending returns a new entry at slot proves abandoned. */
void pk_probe_return_prune(struct pk_probes *p, struct pk_probe_thread *t, uint64_t slot);
void pk_probe_report_lost(struct pk_probes *p, pid_t tid, const struct pk_pending *pend);
/* A pending call that is no longer pending: RETURN when it returned
 * through its timed stub, else LOST; its table entry is freed. */
void pk_probe_report_end(struct pk_probes *p, pid_t tid, const struct pk_pending *pend);
/* Write back the pending returns of t into process pid; returns 0 or the
 * first error. */
int pk_probe_return_restore(struct pk_probes *p, pid_t pid, const struct pk_probe_thread *t);
void pk_probe_thread_drop(struct pk_probes *p, struct pk_probe_thread *t, int report);

#endif
