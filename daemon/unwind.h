/*
 * unwind.h - turning a stopped thread's registers and a copy of the top of
 * its stack into a list of return addresses, after the thread has been
 * resumed.
 *
 * The backend is libunwind's remote API with perfkit's own accessors:
 * memory from the stack copy, then from local read-only mappings of the
 * target's files (text, .eh_frame, .eh_frame_hdr), then a counted
 * process_vm_readv fallback; registers from the saved set; unwind tables
 * found per module and cached.  Frame-pointer walking over the same copy
 * is the fallback for code without CFI.
 */
#ifndef PK_UNWIND_H
#define PK_UNWIND_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

#include "daemon/maps.h"

struct pk_unwinder;

struct pk_unwind_input {
	const struct user_regs_struct *regs;
	uint64_t stack_addr;   /* target address of stack[0] (= regs->rsp) */
	const void *stack;     /* copy of [stack_addr, stack_addr + stack_len) */
	size_t stack_len;
};

struct pk_unwind_stats {
	uint64_t unwinds;
	uint64_t complete;       /* reached the outermost frame */
	uint64_t truncated;      /* stopped early: stack copy too short, max depth */
	uint64_t failures;       /* could not step past a frame */
	uint64_t remote_reads;   /* process_vm_readv fallbacks */
	uint64_t fp_fallbacks;   /* frames found by frame pointers */
};

/*
 * Make an unwinder for process pid.  maps is borrowed: the caller owns it
 * and may reload it; the unwinder notices through maps->generation.
 * Returns NULL with errno set on failure.
 */
struct pk_unwinder *pk_unwinder_new(pid_t pid, struct pk_maps *maps);
void pk_unwinder_free(struct pk_unwinder *u);

/*
 * Code perfkit puts into the target (the jump backend's detours) has no
 * unwind tables.  A resolver says whether pc lies in such code, with sp
 * the stack pointer of that frame: if so it returns 1 and sets *ret_slot
 * to the stack address holding the return address into the caller (the
 * caller's sp is ret_slot + 8; callee-saved registers are untouched
 * there) and *leaf_fn to the function to report when pc is where the
 * thread is (the probed function: its detour runs on its behalf).  The
 * frame itself is not reported when it is a caller's.  *ret_slot = 0:
 * the frame's layout is unknown (the walk ends there, truncated).  NULL
 * removes the resolver.
 */
typedef int (*pk_unwind_resolver)(void *ctx, uint64_t pc, uint64_t sp, uint64_t *ret_slot,
				  uint64_t *leaf_fn);
void pk_unwinder_set_resolver(struct pk_unwinder *u, pk_unwind_resolver fn, void *ctx);

/*
 * Return addresses perfkit replaced in the target (function probes: a
 * trampoline or a stub where the caller's address was).  A map says, for
 * a return address ret read from the stack slot at slot, whether it is
 * such a replacement: then it returns 1 with the original in *orig, and
 * the walk goes on from there.  NULL removes the map.
 */
typedef int (*pk_unwind_ret_map)(void *ctx, uint64_t ret, uint64_t slot, uint64_t *orig);
void pk_unwinder_set_ret_map(struct pk_unwinder *u, pk_unwind_ret_map fn, void *ctx);

/* Drop every cached module and unwind entry (after exec). */
void pk_unwinder_flush(struct pk_unwinder *u);

/*
 * Unwind.  Writes up to max instruction addresses, leaf first: ips[0] is
 * the interrupted RIP, the rest are return addresses.  Returns the count
 * (>= 1 whenever regs are valid).  *complete is set to 1 when the walk
 * reached the outermost frame (the CFI marks the end: _start, clone's
 * child, a thread start routine's caller), 0 when it stopped early.
 * When an IP falls outside every mapping (a dlopen), pk_unwind reloads
 * the borrowed maps itself (pk_maps_load, rate-limited): pointers into
 * maps->v taken before the call may not survive it.
 */
int pk_unwind(struct pk_unwinder *u, const struct pk_unwind_input *in,
	      uint64_t *ips, int max, int *complete);

/*
 * The unwind rule of the frame that return address ra returns into, when
 * it is simple (the jump backend's site table: daemon/jprobe.h): CFA =
 * (base_rbp ? rbp : rsp) + cfa_off, the return address at CFA - 8, rbp
 * unchanged (rbp_off 0) or saved at CFA + rbp_off; or end: the outermost
 * frame.  0, or -1 when there is no CFI for ra or its rule is not simple.
 */
struct pk_unwind_rule {
	int32_t cfa_off;
	int16_t rbp_off;
	uint8_t base_rbp, end;
};
int pk_unwind_rule_at(struct pk_unwinder *u, uint64_t ra, struct pk_unwind_rule *out);

const struct pk_unwind_stats *pk_unwinder_stats(const struct pk_unwinder *u);

/*
 * What one unwind read of its input, for memoizing it exactly: the byte
 * offsets (from stack_addr) of the stack-copy words it read (a frame
 * record read by the frame-pointer fallback counts as its two words), and
 * the registers it read before any unwinding step had replaced them (bit
 * UNW_X86_64_* of libunwind's numbering: 0 rax .. 16 rip).  An unwind
 * given the same registers at those bits and the same words at those
 * offsets (and the same maps, with no remote read: stats.remote_reads
 * unchanged) returns the same frames.  overflow: more than PK_UNWIND_LOG_MAX
 * words (then the log says nothing).
 */
#define PK_UNWIND_LOG_MAX 64
struct pk_unwind_log {
	uint32_t off[PK_UNWIND_LOG_MAX];
	unsigned n;
	int overflow;
	uint32_t regs_read;
};

/* Log the reads of the following unwinds into log (cleared at the start
 * of each); NULL stops logging. */
void pk_unwinder_log_reads(struct pk_unwinder *u, struct pk_unwind_log *log);

#endif
