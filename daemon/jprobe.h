/*
 * jprobe.h - jump-patched function probes: the fast backend of the probe
 * engine (the int3 one is daemon/probe.h).
 *
 * With every thread of the target stopped, the engine maps into it, by raw
 * system calls injected through ptrace (never by calling the target's
 * libc):
 *   - a ring buffer: a memfd ("memfd:perfkit-ring" in /proc/PID/maps)
 *     created in the target, mapped MAP_SHARED there and, through
 *     /proc/PID/fd, in perfkitd: the same pages seen by both;
 *   - executable detour pages within reach of a rel32 jump of the code.
 * It then overwrites the first bytes of each probed function with a 5-byte
 * `jmp rel32` to the function's detour.  A detour saves the argument
 * registers (and the time stamp counter for PK_JPROBE_DURATION), CALLs a
 * relocated copy of the displaced instructions (which jumps back into the
 * original function), and once the function has returned writes one
 * record into the ring:
 * probe, thread, time (and duration), arguments, return value, caller's
 * return address, stack pointer at entry, callee-saved registers and a
 * slice of the caller's stack (for out-of-process unwinding); then it
 * returns the original result to the caller.  The target never stops for
 * an event.
 *
 * Why the detour calls the original (rather than hijacking the return
 * address with a per-thread shadow stack): no per-thread state in the
 * target at all, nesting (signal handlers, allocators calling
 * allocators) is right by construction, and a record is written once,
 * complete.  The price: the function runs one frame deeper, so it must not
 * read arguments from the stack (true of the malloc family; not of every
 * function --probe may name), and an exception cannot unwind through the
 * detour frame (no unwind info): functions that may throw are refused
 * with PK_JPROBE_MAY_THROW and left to the int3 backend, unless only
 * their entry is wanted (PK_JPROBE_ENTRY_ONLY: operator new).
 * Registers and stack above the entry stack pointer are the caller's and
 * unchanged when the function returns, so recording after the return
 * loses nothing an unwinder needs.
 *
 * The ring is a bounded multi-producer queue (each slot carries a sequence
 * number; producers reserve with one compare-and-swap, the consumer frees
 * a slot by advancing its sequence).  When it is full the detour drops the
 * event and counts it (lock inc); it never waits.  If perfkitd dies, the
 * target keeps running: detours keep writing into a ring nobody reads,
 * which fills and then counts drops.
 *
 * Thread id: read from the thread control block at %fs:OFFSET, the
 * offset found at arm time by looking for each stopped thread's tid in its
 * TCB (0x2d0 in glibc 2.36); a gettid syscall would cost about 1 us here.
 * Time: rdtsc, converted to CLOCK_MONOTONIC nanoseconds by the drain
 * (calibrated against clock_gettime in perfkitd); PK_JPROBE_COARSE_TIME
 * probes take the counter perfkitd publishes in the ring instead.
 *
 * Stack slice: up to the configured size from the entry stack pointer,
 * clamped so that it never reads past mapped memory: to the end of the main
 * thread's stack mapping (known at arm), to the thread's TCB for glibc
 * thread stacks (the TCB sits above the stack in the same mapping; taken
 * when it lies less than 64 MiB above), else to the end of the page.
 *
 * Fork: the child inherits the patched code and the MAP_SHARED ring, so
 * its events arrive in the same ring with the child's tid (a consumer that
 * does not follow forks filters on the tids it knows).  A child that
 * outlives the detach keeps the patches and a ring nobody reads: harmless.
 * exec drops everything (make a new engine for the new image).
 *
 * Detach restores every patched byte (all threads stopped again).  The
 * detour pages stay mapped in the target: a thread that was inside a
 * probed function at detach returns through its detour.  The final detach
 * also unmaps the ring (see pk_jprobes_detach).
 *
 * Not detected (the int3 backend has the same exposure): a jump into the
 * first bytes from outside the function (only its own code is scanned,
 * every byte offset tried as an instruction), an indirect jump there, and
 * a thread in a signal handler whose saved context points into them.
 *
 * Thread safety: one engine per process, used from one thread; the drain
 * runs concurrently with the target.  int functions return 0 / a count or
 * a negative errno value.
 */
#ifndef PK_JPROBE_H
#define PK_JPROBE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "daemon/unwind.h"

struct pk_jprobes;

/* pk_jprobe_add flags */
#define PK_JPROBE_OUT_ARG0 1u   /* record *(uint64_t *)arg0 after a return
				   of 0 (posix_memalign's *memptr) */
#define PK_JPROBE_MAY_THROW 2u  /* may throw a C++ exception: refused */
#define PK_JPROBE_DURATION 4u   /* also read the time stamp counter at
				   entry (duration_ns); else one reading,
				   at the return, about 10 ns less */
/* Trap mode: the detour executes an int3 after the call returns and its
 * ring record is written (TRAP_RETURN: rdi rsi rdx = the arguments, rax =
 * the result, r10 = the record, whose stack slice spares the tracer a
 * read of the stack) or before it calls (TRAP_ENTRY: the arguments are
 * still in rdi rsi rdx, no record); r11 = the caller's return address and
 * rsp + 88 = the stack pointer at entry either way.  The tracer builds
 * the event from the stopped thread (pk_jprobes_trap_event) and resumes
 * it with signal 0, rip unchanged: one ptrace stop per call, exact
 * (nothing to drop: without a record the tracer reads the stack itself),
 * no rip or memory written while it is stopped. */
#define PK_JPROBE_TRAP_RETURN 8u
#define PK_JPROBE_TRAP_ENTRY 16u
/* A record without a stack slice (a free's: its stack is not unwound),
 * written and drained faster */
#define PK_JPROBE_NO_STACK 32u
/* Exact mode: the detour writes its record and goes on, as without
 * trap flags, unless the record cannot be complete: the ring is full
 * (or gone), or the stack reaches further than the slice (a deep stack:
 * an unwind of the slice alone would lose outer frames).  Then it writes
 * no record and executes the return's int3 as PK_JPROBE_TRAP_RETURN does
 * without one (r10 = 0): the tracer takes that call from the stopped thread, which waits meanwhile.
 * No drops, and a thread stops only when perfkitd is behind or a stack
 * is deep. */
#define PK_JPROBE_TRAP_SLOW 64u
/* The record is written at the entry, before the call (arguments only,
 * result 0; a free's): it is in the ring before the block can be handed
 * to another thread, so ring order is the order in which blocks change
 * hands.  With PK_JPROBE_TRAP_SLOW, no room stops the thread at the
 * entry trap (PK_JPROBE_TRAP_ENTRY's registers), before the call. */
#define PK_JPROBE_RECORD_ENTRY 128u
/* Only the entry is recorded (implies PK_JPROBE_RECORD_ENTRY): after its
 * record the detour drops its frame and jumps to the relocated
 * instructions, so no detour frame is on the stack while the function
 * runs and its return is not seen.  Such a function may throw (operator
 * new: PK_JPROBE_MAY_THROW does not refuse it); a call it makes is not
 * `nested` for the drain. */
#define PK_JPROBE_ENTRY_ONLY 256u
/* Also record rdx at entry (args[2]; else 0): a third argument that
 * matters (reallocarray's size, posix_memalign's) costs the record its
 * extension's line */
#define PK_JPROBE_ARG2 512u
/* The record's time is the time stamp counter perfkitd last published in
 * the ring (pk_jprobes_publish_clock; rdtsc until the first), not the
 * call's own: rdtsc cost a work4 step an eighth of its time here.  Its
 * accuracy is the publisher's period; ring order is the calls' order
 * either way. */
#define PK_JPROBE_COARSE_TIME 1024u

#define PK_JSTACK_MAX 65536u

struct pk_jprobe_config {
	unsigned ring_slots;       /* power of two (default 16384) */
	unsigned stack_bytes;      /* stack slice per event (default 512,
				      at most PK_JSTACK_MAX) */
	unsigned sites;            /* site table entries (a power of two;
				      0: records carry slices only) */
	unsigned walk_max;         /* return addresses a walk writes at most
				      (<= stack_bytes / 8) */
	int walk_trunc;            /* a walk reaching walk_max is a truncated
				      chain (the unwinder's depth limit),
				      else the record takes the slice */
	unsigned full_wait_us;     /* PK_JPROBE_TRAP_SLOW: a full ring is
				      waited for (spinning) so long before
				      the trap: perfkitd frees room a batch
				      at a time, sooner than a stop; 0:
				      the trap at once */
	int count_nested;          /* a call whose return address lies in a
				      probed function or a detour (what
				      pk_jprobes_nested_ret tells) is counted
				      in the target (stats.nested), not
				      recorded */
};

/* A new engine for process pid; nothing is touched yet.  cfg may be NULL
 * for the defaults.  NULL on ENOMEM or invalid cfg. */
struct pk_jprobes *pk_jprobes_new(pid_t pid, const struct pk_jprobe_config *cfg);

/* Frees perfkitd's memory and its view of the ring; never touches the
 * target (detach first, or not: the target stays correct).  Accepts NULL. */
void pk_jprobes_free(struct pk_jprobes *j);

/*
 * Register a function [addr, addr + size) of the target (size from the
 * symbol table; 0 = unknown, refused).  name is copied.  Returns the probe
 * id (>= 0); the same address again returns the first id.
 */
int pk_jprobe_add(struct pk_jprobes *j, uint64_t addr, uint64_t size, const char *name,
		  unsigned flags);

/*
 * Map the ring and detour pages (first call) and patch every registered
 * probe not yet patched.  Precondition: every thread of the process is in
 * a ptrace-stop and listed in tids; tids[0] must be in a stop from which
 * resuming with signal 0 is right (it runs the injected syscalls and is
 * left in the same state, as pk_probes_arm).  A probe that cannot be
 * patched safely is refused (pk_jprobe_refusal says why; give it to the
 * int3 backend).  A thread stopped inside its first bytes is
 * single-stepped past them (a prologue: a step or two); when it cannot
 * be (a signal arrived, it left the function), the probe is only skipped
 * (the reason says so) and the next arm tries again.  After
 * pk_jprobes_detach, arming again (a sampling window) rewrites only the
 * jumps: the detours stay.  Returns the number of
 * probes patched; -EAGAIN when a thread has no thread pointer yet (fs
 * base 0: a static program at its entry point, before its TLS setup; the
 * detours read %fs, so arm later or use the int3 backend).
 */
int pk_jprobes_arm(struct pk_jprobes *j, const pid_t *tids, size_t n);

/* Why probe id was refused (a static English phrase), NULL when it is
 * patched or not yet tried. */
const char *pk_jprobe_refusal(const struct pk_jprobes *j, int id);
const char *pk_jprobe_name(const struct pk_jprobes *j, int id);
uint64_t pk_jprobe_address(const struct pk_jprobes *j, int id);
int pk_jprobe_count(const struct pk_jprobes *j);

/*
 * Restore the original bytes of every patched probe.  Precondition: every
 * thread is in a ptrace-stop and listed in tids (n of them).  Events
 * already in the ring can still be drained.
 * flags: 0 keeps everything in the target for arming again (a sampling
 * window).  PK_JPROBE_DETACH_UNMAP (the final detach): the detours' ring
 * pointer is zeroed (a call still in flight returns through its detour
 * and records nothing), a thread stopped in the middle of writing a
 * record is single-stepped out of it (the engine waits for that thread;
 * it stays in a ptrace-stop), and the ring is unmapped from the target by
 * an injected munmap through tids[0] (same precondition as for arm),
 * unless a thread's stack holds a signal frame over an interrupted record
 * write (a handler running; found by scanning 64 KiB above its rsp for a
 * saved rip in a detour's record-writing part): then the ring stays.  If
 * a signal interrupts the stepping, it is queued again and the ring stays
 * mapped, harmless (pk_jprobe_stats.ring_in_target says so).  The
 * detour pages stay (a few KiB; a thread inside a probed function returns
 * through them).  After it the engine can only be drained and freed.
 * Returns 0 or the first error (restoration goes on past errors).
 */
#define PK_JPROBE_DETACH_UNMAP 1
int pk_jprobes_detach(struct pk_jprobes *j, const pid_t *tids, size_t n, int flags);

/*
 * A fork child of the target (stopped in a ptrace-stop, its own memory:
 * not a vfork child): write the original bytes back at every patched probe
 * in the child, so that it runs unprobed (the ring stays mapped in it,
 * unused).  Returns 0 or the first error (restoration goes on past it).
 */
int pk_jprobes_clean_child(const struct pk_jprobes *j, pid_t child);

/*
 * Trap mode (PK_JPROBE_TRAP_*): is rip (a stopped thread's, after an int3)
 * just past a detour's trap?  Then fill *ev from regs (the thread's
 * registers) and return the probe id; else -1.  At a return trap whose
 * ring record checks out, ev->stack and ev->stack_len are its stack slice
 * (in the ring: valid until pk_jprobes_trap_release) and ev->out0 comes
 * from it; else ev->stack is NULL (the caller copies the stack from ev->sp
 * itself) and ev->out0 is read (PK_JPROBE_OUT_ARG0, result 0).  ev->time_ns
 * is 0 (the caller's clock); for a PK_JPROBE_TRAP_SLOW probe ev->tsc is
 * the thread's time stamp counter at the entry (PK_JPROBE_DURATION) or
 * just before the trap, else 0.  A PK_JPROBE_TRAP_SLOW trap never has a
 * record.
 */
struct pk_jprobe_event;
struct user_regs_struct;
int pk_jprobes_trap_event(struct pk_jprobes *j, pid_t tid, const struct user_regs_struct *regs,
			  struct pk_jprobe_event *ev);

/* Free the ring slot of a trap event's record (none: nothing done).  Once
 * per handled trap, after its stack slice was used. */
void pk_jprobes_trap_release(struct pk_jprobes *j, const struct pk_jprobe_event *ev);

/*
 * Turn every detour trap into a no-op (a nop over each int3, one byte
 * each): the final detach, in the target (pid 0) or in a fork child
 * (pid > 0), so that a call still in flight returns through its detour
 * untouched.  0 or the first error.
 */
int pk_jprobes_disable_traps(const struct pk_jprobes *j, pid_t pid);

/* One recorded call, as the drain hands it out. */
struct pk_jprobe_event {
	int probe;
	pid_t tid;                 /* 0 when the TCB offset is unknown */
	uint64_t tcb;              /* %fs:0, the thread pointer */
	uint64_t time_ns;          /* CLOCK_MONOTONIC at entry with
				      PK_JPROBE_DURATION, else at return */
	uint64_t duration_ns;      /* entry to return (PK_JPROBE_DURATION),
				      else 0 */
	uint64_t pos;              /* the record's place in the ring: the
				      order of the reservations (0 for a
				      trap's event) */
	uint64_t args[3];          /* rdi rsi rdx at entry (rdx: PK_JPROBE_ARG2) */
	uint64_t retval;           /* rax at return */
	uint64_t out0;             /* PK_JPROBE_OUT_ARG0: *arg0 after return */
	uint64_t ret_addr;         /* the caller's return address */
	uint64_t sp;               /* rsp at entry (points at ret_addr) */
	uint64_t rbx, rbp, r12, r13, r14, r15; /* callee-saved, as at entry */
	/* called from inside a probed function (its return address lies in
	 * one, or in a detour: a tail jump out of a probed function): not the
	 * outermost call of its thread */
	int nested;
	const void *stack;         /* stack_len bytes from sp; valid during
				      the callback */
	size_t stack_len;
	/* chain: stack holds stack_len / 8 return addresses instead (the
	 * caller's first), walked in the target through the site table;
	 * chain_complete: up to the outermost frame */
	int chain, chain_complete;
	void *rec;                 /* trap mode: the ring record read */
};

/*
 * The site table: the unwind rule of the frame a return address returns
 * into (struct pk_unwind_rule, from pk_unwind_rule_at), for the detours'
 * walk (stored as struct pk_jsite, jprobe-int.h): CFA
 * = (base_rbp ? rbp : rsp) + cfa_off; the caller's return address at CFA
 * - 8, its rbp at CFA + rbp_off (0: unchanged); end: the outermost frame.
 * Learned by the caller from the stacks it unwinds; entries are never
 * changed once written.  Returns 1 when added, 0 when there already, -1
 * when there is no room (or no table).
 */
int pk_jprobes_site_put(struct pk_jprobes *j, uint64_t ra, const struct pk_unwind_rule *r);
/* The rule at ra when the table has it: 1, else 0. */
int pk_jprobes_site_get(const struct pk_jprobes *j, uint64_t ra, struct pk_unwind_rule *r);

typedef void (*pk_jprobe_callback)(void *ctx, const struct pk_jprobe_event *ev);

/*
 * Hand out up to max events (0 = all there are) in ring order, calling cb
 * for each (cb may be NULL: count and discard).  Never blocks; safe while
 * the target runs.  A thread interrupted between reserving a slot and
 * publishing it (a signal handler running, the thread stopped) holds up
 * the events after it until it goes on; producers meanwhile fill the ring
 * and then drop.  Returns the number of slots consumed.
 */
long pk_jprobes_drain(struct pk_jprobes *j, pk_jprobe_callback cb, void *ctx, size_t max);

/* Slots in the ring (0: none mapped). */
size_t pk_jprobes_ring_slots(const struct pk_jprobes *j);

/* The ring's positions: reservations made so far by the detours (head)
 * and records handed out by pk_jprobes_drain (tail).  Every record
 * reserved before head was read has been handed out once tail reaches
 * it.  0 without a ring. */
uint64_t pk_jprobes_ring_head(const struct pk_jprobes *j);
uint64_t pk_jprobes_ring_tail(const struct pk_jprobes *j);
/* Is the record at the tail published (the next drain hands it out)? */
int pk_jprobes_ready(const struct pk_jprobes *j);
/* Publish the time stamp counter now for PK_JPROBE_COARSE_TIME records
 * (pk_jprobes_drain does too); returns the value published, 0 without a
 * ring.  A record that read it was reserved after it was published. */
uint64_t pk_jprobes_publish_clock(struct pk_jprobes *j);

struct pk_jprobe_stats {
	uint64_t events;           /* drained */
	uint64_t drops;            /* events the target dropped: ring full
				      (trap mode: records not written, the
				      event is not lost) */
	uint64_t trap_records;     /* trap mode: return traps read from
				      their ring record */
	uint64_t corrupt;          /* records with an impossible probe id (the
				      target overwrote its ring): not handed
				      out */
	uint64_t chains;           /* records with a walked chain */
	uint64_t known_chains;     /* ... carrying the hash of a chain taken
				      before instead of the chain */
	uint64_t memo_hits;        /* ... of those, known by the walk memo
				      without a walk */
	uint64_t memos;            /* walk memo entries written */
	uint64_t nested;           /* calls nested in a probed function: counted
				      in the target, not recorded */
	uint64_t voids;            /* deep stacks the walk could not take:
				      their calls took the trap */
	unsigned sites;            /* site table entries written */
	unsigned sites_full;       /* rules with no room in the table */
	unsigned patched;          /* probes patched now */
	unsigned refused;
	unsigned pages;            /* detour pages mapped */
	uint64_t ring_bytes;
	int ring_in_target;        /* the ring is still mapped in the target */
	unsigned stepped;          /* single steps: threads moved out of a
				      record at the final detach, or past
				      the bytes to patch at an arm */
	int tid_offset;            /* TCB offset of the tid, -1 unknown */
};
void pk_jprobes_stats(const struct pk_jprobes *j, struct pk_jprobe_stats *out);

/* Address of probe id's detour in the target, 0 before it is built. */
uint64_t pk_jprobe_detour(const struct pk_jprobes *j, int id);

/*
 * For unwinders (perfkitd's sampler, nested events): a frame whose pc lies
 * in a detour.  With the detour's frame set up (any pc from after its
 * `sub $88,%rsp` to its `add`, in particular the return address of the
 * call into the original function, with sp the stack pointer after that
 * return) the caller's return address is at sp + 88; at the detour's first
 * instruction and at its `ret`, at sp.  Sets *ret_slot to that stack
 * address (the caller's sp is ret_slot + 8; callee-saved registers are
 * untouched by a detour) and returns 1; 0 when pc is not in such a place
 * (the relocated copy has no frame description).
 */
int pk_jprobes_detour_frame(const struct pk_jprobes *j, uint64_t pc, uint64_t sp,
			    uint64_t *ret_slot);

/* Is addr inside a detour page (a return address there belongs to a call
 * made from a detour)? */
int pk_jprobes_in_detour(const struct pk_jprobes *j, uint64_t addr);

#endif
