/*
 * alloc.h - allocation tracking on top of the probe engine (probe.h).
 *
 * Turns entry/return probes on the malloc family and C++ operator
 * new/delete into allocation and free events with exact semantics:
 *   malloc, calloc (n*size), realloc (free of the old block + allocation;
 *   realloc(NULL,n) is an allocation, realloc(p,0) a free), reallocarray,
 *   free, posix_memalign (pointer read from *memptr at return),
 *   aligned_alloc/memalign, valloc, pvalloc (size rounded to pages),
 *   operator new/new[] (all variants: size in rdi), operator delete.
 * Only the outermost allocator call of a thread counts: a probed call
 * reached by a tail jump from a probed function, or called from the same
 * module as the probed call in progress on that thread (realloc calling
 * malloc in libc, operator new calling malloc from libstdc++), is nested
 * and ignored.  A call from elsewhere while one is in progress (a signal
 * handler allocating) counts.  Aliases (aligned_alloc = memalign,
 * __libc_malloc = malloc) are probed once: probes are deduplicated by
 * address.  C++ wrappers that only tail-jump (libstdc++'s operator delete
 * -> free, new[] -> new) are not probed at all: the inner probe sees the
 * wrapper's caller as its caller already.
 *
 * operator new's own return is never hijacked (it may throw, and an
 * unwinder that finds the trampoline where a return address should be
 * terminates the program): the malloc/aligned_alloc it calls is caught
 * instead and recorded with new's caller, size and stack.
 *
 * Costs: free is one stop; every allocation is two (entry and return);
 * operator new is three (its entry, the inner malloc's entry and return).
 */
#ifndef PK_ALLOC_H
#define PK_ALLOC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

#include "daemon/probe.h"

struct pk_alloc;

enum pk_alloc_fn {
	PK_ALLOC_MALLOC,
	PK_ALLOC_CALLOC,
	PK_ALLOC_REALLOC,
	PK_ALLOC_REALLOCARRAY,
	PK_ALLOC_FREE,
	PK_ALLOC_POSIX_MEMALIGN,
	PK_ALLOC_MEMALIGN,   /* memalign and aligned_alloc (align, size) */
	PK_ALLOC_VALLOC,
	PK_ALLOC_PVALLOC,
	PK_ALLOC_NEW,        /* operator new / new[], every variant */
	PK_ALLOC_DELETE,     /* operator delete / delete[], when not a tail jump */
};

/* The allocator function a symbol name denotes; -1 when none. */
int pk_alloc_fn_of(const char *name);

struct pk_alloc_event {
	int is_free;            /* 0: allocation of size bytes at ptr; 1: free of ptr */
	enum pk_alloc_fn fn;    /* the outermost function called */
	uint64_t ptr;
	uint64_t size;          /* allocation: requested size; free: size of the
				   block when known, else 0 */
	int known;              /* free: ptr was allocated while we watched */
	pid_t tid;
	uint64_t time_ns;       /* CLOCK_MONOTONIC */
	uint64_t stack_id;      /* from the stack hook at the outermost entry */
	uint64_t caller;        /* return address of the outermost call (0 for
				   a free through a probe marked no-stack
				   whose thread had no pending return: not
				   read, see pk_probe_set_no_stack) */
	/* free (known): the block's stack id; allocation with replaced set
	 * (ptr was live: its free was not seen): the old block's stack id
	 * and size */
	uint64_t block_stack_id;
	int replaced;
	uint64_t block_size;
};

struct pk_alloc_hooks {
	/* At the entry of every counted call (thread stopped, regs at the
	 * call with rip = the function, stack = stack_len bytes copied from
	 * regs->rsp: set the size with pk_probes_set_stack_copy on
	 * pk_alloc_probes(a)): return an id for the caller's stack (unwind
	 * from the copy).  May be NULL: stack ids are then 0. */
	uint64_t (*stack)(void *ctx, pid_t tid, const struct user_regs_struct *regs,
			  const void *stack, size_t stack_len);
	/* Every allocation and free, in order per thread.  May be NULL. */
	void (*event)(void *ctx, const struct pk_alloc_event *ev);
	void *ctx;
	/* What stack does, for a stack walked in the target (an event's chain: see
	 * struct pk_probe_event): fn, then n return addresses, caller
	 * first.  May be NULL: stack ids are then 0. */
	uint64_t (*chain)(void *ctx, uint64_t fn, const uint64_t *ras, size_t n);
};

struct pk_alloc_stats {
	uint64_t alloc_calls;      /* successful allocations (realloc counts one) */
	uint64_t free_calls;       /* frees of non-NULL pointers (realloc counts one) */
	uint64_t bytes_allocated;
	uint64_t bytes_freed;      /* of known blocks only */
	uint64_t live_bytes;       /* allocated while watched and not freed */
	uint64_t live_count;
	uint64_t peak_bytes;       /* maximum of live_bytes */
	uint64_t unknown_frees;    /* frees of blocks allocated before we watched */
	uint64_t failed_allocs;    /* returned NULL / non-zero */
	uint64_t nested_calls;     /* allocator calls inside allocator calls */
	uint64_t lost_returns;     /* calls whose return was never seen */
};

/* A live allocation (the leak list once the target has exited). */
struct pk_alloc_live {
	uint64_t ptr, size, stack_id;   /* 24 bytes: the table is walked per call */
};

/* New tracker for process pid; hooks is copied (may be NULL).  The probe
 * engine it owns is reached with pk_alloc_probes().  NULL on ENOMEM. */
struct pk_alloc *pk_alloc_new(pid_t pid, const struct pk_alloc_hooks *hooks);
void pk_alloc_free(struct pk_alloc *a);   /* accepts NULL; no target access */

/*
 * Offer a function of the target: name (from .dynsym/.symtab), its absolute
 * address and the [start, end) of the executable mapping of its module.
 * Returns 1 when a probe was registered, 0 when skipped (not an allocator
 * name, an alias of a probed address, or a tail-jump wrapper), negative
 * errno when the code could not be read.  Arm with
 * pk_probes_arm(pk_alloc_probes(a), tid) afterwards.
 */
int pk_alloc_add_function(struct pk_alloc *a, const char *name, uint64_t addr,
			  uint64_t module_start, uint64_t module_end);

/*
 * Another probe backend (the jump backend, daemon/alloc-jump.c) may take
 * functions before the int3 engine gets them: pk_alloc_add_process and
 * pk_alloc_add_function_sized offer each function that passed the checks
 * above (an allocator name, not a tail-jump wrapper) to place(), with its
 * size from the symbol table (0 = unknown).  place returns 1 when it took
 * the function (no int3 probe is registered; its calls are then fed with
 * pk_alloc_feed_call), 0 to leave it to the int3 engine.  NULL = none.
 */
typedef int (*pk_alloc_placer)(void *ctx, const char *name, int fn, uint64_t addr, uint64_t size,
			       uint64_t module_start, uint64_t module_end);
void pk_alloc_set_placer(struct pk_alloc *a, pk_alloc_placer place, void *ctx);
int pk_alloc_add_function_sized(struct pk_alloc *a, const char *name, uint64_t addr,
				uint64_t size, uint64_t module_start, uint64_t module_end);

/*
 * One complete call of function fn (enum pk_alloc_fn) recorded by another
 * backend: ev holds the ENTRY fields (args, ret_addr, entry_sp, regs,
 * stack; tail_call set when the call is nested in a probed one; depth 0,
 * outer_probe -1) and retval; out0 is *arg0 after the return
 * (posix_memalign's pointer).  Same semantics as an int3 entry followed by
 * its return (nesting, operator new attribution, realloc, failures).
 * Returns 1 when the call counted (outermost), 0 when it was nested.
 */
int pk_alloc_feed_call(struct pk_alloc *a, int fn, uint64_t module_start, uint64_t module_end,
		       struct pk_probe_event *ev, uint64_t out0);

/*
 * The same for the commonest calls, without the event: the outermost
 * (not nested) return of malloc, valloc or calloc whose stack is known
 * (stack_id), or a free or delete (its stack is not recorded), while no operator
 * new is in flight (pk_alloc_new_in_flight: its marker would claim the
 * malloc).  1 when taken, with the same effects as pk_alloc_feed_call;
 * 0 for any other call (feed it with pk_alloc_feed_call).
 */
int pk_alloc_feed_plain(struct pk_alloc *a, int fn, pid_t tid, uint64_t time_ns, uint64_t ret_addr,
			uint64_t arg0, uint64_t arg1, uint64_t retval, uint64_t stack_id);
int pk_alloc_new_in_flight(const struct pk_alloc *a);

/*
 * Find the allocator functions of every ELF file mapped in process pid
 * (/proc/PID/maps, files read through /proc/PID/root) and register them
 * with pk_alloc_add_function.  Needs no thread stopped.  Returns the number
 * of probes registered (0: no allocator found, e.g. before the dynamic
 * loader mapped libc) or -errno when the maps cannot be read.
 */
int pk_alloc_add_process(struct pk_alloc *a, pid_t pid);

/* The probe engine: the tracer calls pk_probe_handle_trap, detach, fork
 * and exec handling on it (see probe.h). */
struct pk_probes *pk_alloc_probes(struct pk_alloc *a);

const struct pk_alloc_stats *pk_alloc_stats(const struct pk_alloc *a);

/* Call fn for each live allocation (unspecified order); returns the count. */
size_t pk_alloc_live_foreach(const struct pk_alloc *a,
			     void (*fn)(void *ctx, const struct pk_alloc_live *live),
			     void *ctx);

/* The live allocation at ptr, or NULL. */
const struct pk_alloc_live *pk_alloc_live_find(const struct pk_alloc *a, uint64_t ptr);

/* Thread tid exited: use this instead of pk_probes_thread_exit. */
void pk_alloc_thread_exit(struct pk_alloc *a, pid_t tid);

/* After exec: the old image's allocations are gone; all state dropped. */
void pk_alloc_reset(struct pk_alloc *a);

#endif
