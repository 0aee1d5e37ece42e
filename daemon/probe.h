/*
 * probe.h - function entry/return probes in a ptrace-controlled process.
 *
 * The engine behind --alloc and --probe.  Backend: int3 breakpoints written
 * through /proc/PID/mem.  The displaced instruction is never restored and
 * single-stepped: it is executed out of line from a scratch page that the
 * engine maps into the target with an injected raw mmap syscall (copy of
 * the instruction, RIP-relative displacement fixed, then a jump back), or
 * emulated (relative jmp/call), so other threads never run through a
 * missing breakpoint and one stop is all an entry costs.  Returns are
 * caught by hijacking the return address (the slot at the stack pointer on
 * entry) with the address of an int3 "return trampoline" in the scratch
 * page; each thread has a stack of pending returns.
 *
 * Division of work with the tracer (daemon/tracer.c):
 *   - the tracer seizes every thread, owns waitpid and decides how to
 *     resume; the engine reads and writes registers and memory of threads
 *     the tracer hands it, and waits only inside pk_probes_arm /
 *     pk_probes_detach(UNMAP) on the one thread it injects a syscall into;
 *   - the tracer seizes with PTRACE_O_TRACEFORK|TRACEVFORK|TRACECLONE|
 *     TRACEEXEC while probes are armed (a fork child inherits the int3
 *     bytes and must be cleaned before it runs).
 *
 * Tracer protocol (what perfkitd's tracer does, in order):
 *   1. seize all threads; stop one (PTRACE_INTERRUPT, wait for its
 *      PTRACE_EVENT_STOP); pk_probe_add for each function;
 *      pk_probes_arm(p, that tid); resume it with PTRACE_CONT.
 *   2. event loop: a SIGTRAP signal-delivery-stop (status>>16 == 0,
 *      WSTOPSIG == SIGTRAP) goes to pk_probe_handle_trap first: 1 = resume
 *      with signal 0, 0 = deliver SIGTRAP.  The callback runs inside; for
 *      stacks, copy the stack from regs->rsp there (the thread is stopped).
 *   3. PTRACE_EVENT_EXIT (or the exit status of a thread):
 *      pk_probes_thread_exit.  PTRACE_EVENT_FORK: wait for the child's
 *      first stop, pk_probes_clean_child(child, forking tid), then detach or
 *      follow the child.  PTRACE_EVENT_VFORK: keep the child traced, handle
 *      its traps like a thread's, until its exec/exit.  PTRACE_EVENT_EXEC:
 *      pk_probes_forget (then, once the new image's libraries are mapped,
 *      a new engine and arm again).  Leader exit: pk_probes_forget.
 *   4. windows (--alloc-sample): pk_probes_disarm / pk_probes_arm.
 *   5. detach (end, Ctrl-C, SIGTERM, error): interrupt every thread and
 *      wait for each stop; a SIGTRAP stop met there goes to
 *      pk_probe_handle_trap (then detach that thread with signal 0); for a
 *      thread in another stop, pk_probe_trap_pending says whether it must
 *      be resumed once to collect its SIGTRAP first; then
 *      pk_probes_detach(all tids); then PTRACE_DETACH each thread.
 * If perfkitd dies between arm and detach the target dies of SIGTRAP at
 * its next probed call: this backend cannot fail safe, so callers keep
 * their error paths short and always reach step 5.
 *
 * Thread safety: none; one engine per traced process, used from the
 * tracer's thread.  All functions returning int return a negative errno
 * value on error unless stated otherwise.
 */
#ifndef PK_PROBE_H
#define PK_PROBE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

struct pk_probes;

enum pk_probe_event_kind {
	PK_PROBE_ENTRY,   /* a thread hit the int3 at a probed address */
	PK_PROBE_RETURN,  /* a call whose return was hijacked returned */
	PK_PROBE_LOST,    /* a pending return that will never come: frame left by
			     longjmp/exception, thread exit, exec, target exit,
			     detach while pending */
};

struct pk_probe_event {
	enum pk_probe_event_kind kind;
	int probe;                 /* probe id (pk_probe_add) */
	pid_t tid;
	uint64_t time_ns;          /* CLOCK_MONOTONIC when the engine saw it */
	uint64_t args[3];          /* rdi, rsi, rdx at entry (also on return) */
	uint64_t ret_addr;         /* the caller's return address (the real one,
				      also when the call came through a tail
				      jump from a hijacked function); see
				      ret_unread */
	int ret_unread;            /* ENTRY of a no-stack probe on a thread with
				      no pending return: ret_addr (0) was not
				      read; pk_probe_event_ret reads it */
	uint64_t entry_sp;         /* rsp at entry (the return-address slot) */
	uint64_t retval;           /* rax, PK_PROBE_RETURN only (0 for a timed
				      return) */
	int timed;                 /* RETURN: through a timed stub (no stop):
				      duration_ns is the call's own time stamp
				      counter interval, entry resumed to
				      return, and time_ns when it returned */
	uint64_t duration_ns;
	uint64_t cookie;           /* ENTRY: set by the callback, handed back
				      with the RETURN / LOST of the same call */
	unsigned depth;            /* ENTRY: pending returns on this thread */
	int outer_probe;           /* ENTRY: probe of the innermost pending
				      return on this thread, -1 when none */
	int tail_call;             /* ENTRY: reached by a tail jump out of a
				      probed function whose return is hijacked
				      (the return address slot holds the
				      trampoline) */
	int stack_known;           /* ENTRY, for callers feeding events
				      themselves: cookie is already the
				      stack's id (unwound earlier) */
	/* ENTRY only: the thread's registers with rip = probe address, as at
	 * the call; stack unwinding starts from here (the tracer copies the
	 * stack from rsp).  NULL for other kinds. */
	const struct user_regs_struct *regs;
	/* ENTRY only: a copy of the stack from rsp (stack[0..7] is the return
	 * address as found, the trampoline for a tail call), stack_len bytes
	 * (pk_probes_set_stack_copy, fewer at the end of the stack mapping);
	 * valid during the callback.  Read by the same syscall that fetches
	 * the return address, so unwinding costs no extra read. */
	const void *stack;
	size_t stack_len;
	/* fed by a caller: stack holds stack_len / 8 return addresses, the
	 * caller's first, walked in the target (the jump backend), instead
	 * of a copy of the stack */
	int chain;
};

/*
 * Called for every event, inside pk_probe_handle_trap (the thread is
 * stopped).  For PK_PROBE_ENTRY return 1 to have the return caught (the
 * callback may set ev->cookie), 0 not to; the value is ignored for other
 * kinds.  The callback must not call back into the engine.
 */
typedef int (*pk_probe_callback)(void *ctx, struct pk_probe_event *ev);

/* A new engine for process pid (nothing touched yet).  NULL on ENOMEM. */
struct pk_probes *pk_probes_new(pid_t pid, pk_probe_callback cb, void *ctx);

/* Frees memory only; never touches the target (call pk_probes_detach or
 * pk_probes_forget first).  Accepts NULL. */
void pk_probes_free(struct pk_probes *p);

/*
 * Register a probe at a function entry (absolute address in the target).
 * name is copied (for messages).  Returns the probe id (>= 0); a second
 * registration of the same address returns the first id (aliases share one
 * probe).  Nothing is written until pk_probes_arm.
 */
int pk_probe_add(struct pk_probes *p, uint64_t addr, const char *name);

/*
 * The program's entry point (AT_ENTRY of /proc/PID/auxv).  perfkitd run:
 * at the exec stop the dynamic loader has not mapped libc yet, so put a
 * probe here (it is reached once, after every DT_NEEDED library is
 * mapped), and when it hits, find and arm the real probes from that stop.
 * 0 or -errno.
 */
int pk_probes_auxv_entry(pid_t pid, uint64_t *entry);

/* How many bytes of stack ENTRY events carry (default 8, e.g. 16384 for
 * unwinding).  0 or -ENOMEM. */
int pk_probes_set_stack_copy(struct pk_probes *p, size_t bytes);

/* ENTRY events of probe id carry no stack copy (stack_len 0): for a probe
 * whose callback never unwinds (free).  Its return address is read only
 * where the engine needs it (the thread has pending returns, or the
 * callback wants the return caught); otherwise the event says ret_unread
 * and the callback calls pk_probe_event_ret if it needs it: a stop then
 * costs the bare round trip plus moving rip.  0 or -EINVAL. */
int pk_probe_set_no_stack(struct pk_probes *p, int id);

/* In a callback, for an ENTRY event with ret_unread: read the return
 * address into ev->ret_addr (the one call back into the engine allowed).
 * 0 or -errno. */
int pk_probe_event_ret(struct pk_probes *p, struct pk_probe_event *ev);

/*
 * Timed returns (for callers that need no return value and no stack at
 * the entry: function probes).  A call whose return is wanted then costs
 * one stop, its entry: the thread resumes through a prefix that saves the
 * return address and the time stamp counter in an entry of a table that
 * perfkitd and the target share (a memfd), and writes over the return
 * address a stub of its own (one per table entry, indexed by a hash of
 * the stack pointer).  The return runs the stub: it writes the return
 * time and a done flag, and jumps to the saved address.  The engine finds
 * done calls at the thread's next trap (before anything else of that
 * thread is reported, so the order of its events is kept), at
 * pk_probes_reap and at a detach, and reports them as RETURN events with
 * timed = 1.  Where no entry is free (another pending call holds it) or
 * the call may be a tail call out of a pending one, the return stops as
 * before.  The stubs need no perfkitd:
 * a return through one after a detach still goes home.  Call before the
 * first arm.  0 or -EINVAL.
 */
int pk_probes_set_timed(struct pk_probes *p, int on);

/* Report the timed returns done so far, every thread (a tick). */
void pk_probes_reap(struct pk_probes *p);

/* Put the original return address back into slot (of a stopped thread),
 * if it holds the trampoline (then ret is written) or a timed stub (then
 * the address the stub saved): for an unwinder about to walk the stack.
 * 0, or -errno. */
int pk_probes_restore_slot(struct pk_probes *p, uint64_t slot, uint64_t ret);

/* A return address read from stack slot `slot`: is it one the engine put
 * there (the trampoline or a timed stub)?  Then 1, with the caller's
 * original address in *orig (for unwinders; 0 when it cannot be told). */
int pk_probes_orig_ret(const struct pk_probes *p, uint64_t ret, uint64_t slot, uint64_t *orig);

/* Is pc where a thread is at a probed function's entry, not yet in its
 * body: just past its int3 (the entry stop), or in its out-of-line code
 * before the displaced instruction ran?  Then 1 with the function's
 * address in *fn: its return address is still at the stack pointer. */
int pk_probes_entry_pc(const struct pk_probes *p, uint64_t pc, uint64_t *fn);

/* Name and address of probe id, NULL / 0 when out of range. */
const char *pk_probe_name(const struct pk_probes *p, int id);
uint64_t pk_probe_address(const struct pk_probes *p, int id);

/*
 * Arm every registered probe not yet armed: decode the first instruction,
 * map scratch pages near the code (injected mmap through thread tid), write
 * the out-of-line copies, then the int3 bytes.  Precondition: tid is in a
 * ptrace-stop from which resuming with signal 0 is right (an interrupt or
 * event stop, not a signal-delivery-stop of a real signal, not a group
 * stop).  The engine resumes and waits for tid internally (syscall stops
 * only) and leaves it stopped in a syscall-exit-stop with its registers
 * restored: resume it as before.  Returns the number of probes armed; a
 * probe whose first instruction cannot be run out of line is skipped with
 * a warning and counted in pk_probes_stats().refused.
 */
int pk_probes_arm(struct pk_probes *p, pid_t tid);

/*
 * A thread reported a SIGTRAP signal-delivery-stop: is it ours?  Returns 1
 * when handled (the tracer resumes it with PTRACE_CONT and signal 0), 0
 * when not ours (deliver the SIGTRAP), negative on error (the thread could
 * not be read/written; treat as gone).  Runs the callback.
 */
int pk_probe_handle_trap(struct pk_probes *p, pid_t tid);

/*
 * Does stopped thread tid have an unreported SIGTRAP of ours (it executed
 * an int3 of ours, but the stop the tracer saw was another one, e.g. its
 * PTRACE_INTERRUPT)?  Then before pk_probes_detach the tracer must resume
 * it (PTRACE_CONT, 0), wait for the SIGTRAP signal-delivery-stop and call
 * pk_probe_handle_trap, else the SIGTRAP is delivered after detach and
 * kills the target.  Returns 1 / 0.
 */
int pk_probe_trap_pending(struct pk_probes *p, pid_t tid);

/* Is SIGTRAP pending for thread tid of process pid (its status file)? */
int pk_sigtrap_pending(pid_t pid, pid_t tid);

/* Copy len bytes of stopped thread tid's stack from sp into buf
 * (process_vm_readv page by page, /proc/PID/mem for a few words); stops
 * short at the end of the mapping.  Returns the bytes copied or -errno. */
ssize_t pk_probes_copy_stack(struct pk_probes *p, pid_t tid, uint64_t sp, void *buf, size_t len);

/* Thread tid exited (PTRACE_EVENT_EXIT or its exit status): its pending
 * returns are reported LOST and dropped. */
void pk_probes_thread_exit(struct pk_probes *p, pid_t tid);

/*
 * Undo everything in a live target.  Precondition: every thread of the
 * process is in a ptrace-stop and listed in tids (n of them), none with an
 * unreported trap (pk_probe_trap_pending).  For each thread: a rip inside
 * the scratch page or at the return trampoline is moved to where the
 * original code would be; every pending hijacked return address still on
 * its stack is written back.  Then every int3 byte is replaced by the
 * original.  flags: PK_PROBE_DETACH_UNMAP also unmaps the scratch pages by
 * an injected munmap through tids[0] (same precondition on tids[0] as on
 * pk_probes_arm's tid; only safe when no signal frame on any stack can
 * point into them, i.e. no thread is in a signal handler that interrupted
 * an out-of-line copy; without the flag the pages stay mapped, executable
 * and harmless: the out-of-line copies still jump back to the original
 * code).  After this the engine is empty and may be armed again.  Returns
 * 0, or the first error (restoration goes on past errors).
 */
#define PK_PROBE_DETACH_UNMAP 1
int pk_probes_detach(struct pk_probes *p, const pid_t *tids, size_t n, int flags);

/*
 * Windows (--alloc-sample): remove every int3 byte, keeping the out-of-line
 * copies, the trampoline and the pending returns (those still come back
 * and are reported).  Needs no thread stopped.  A thread that executed an
 * int3 just before its removal still reports the SIGTRAP:
 * pk_probe_handle_trap recognizes it (returns 1, no event).  Re-arm with
 * pk_probes_arm (no injection needed then).  Returns the number of probes
 * disarmed or -errno.
 */
int pk_probes_disarm(struct pk_probes *p);

/*
 * PTRACE_EVENT_FORK / VFORK... : a fork child (stopped, pid child) is a copy
 * of the parent's memory, int3 bytes and hijacked return slots included.
 * Removes the breakpoints in the child and restores the return addresses
 * that parent_tid (the forking thread) had pending.  Not for a vfork
 * child (it shares the parent's memory: keep handling its traps as a
 * thread of the process until it execs or exits).  Returns 0 or -errno.
 */
int pk_probes_clean_child(struct pk_probes *p, pid_t child, pid_t parent_tid);

/*
 * The process exec'ed or exited: its memory is gone.  Pending returns are
 * reported LOST, all per-thread state, scratch pages and armed state are
 * dropped; registered probes stay registered but unarmed (their addresses
 * are meaningless after exec: the caller normally frees the engine and
 * makes a new one for the new image).
 */
void pk_probes_forget(struct pk_probes *p);

struct pk_probe_stats {
	uint64_t traps;       /* traps handled */
	uint64_t entries;
	uint64_t returns;
	uint64_t lost;        /* pending returns that never came back */
	unsigned armed;       /* probes armed now */
	unsigned refused;     /* probes that could not be armed */
	unsigned pages;       /* scratch pages mapped */
	unsigned moved;       /* threads moved out of probe code by detach */
	uint64_t handle_ns;   /* time spent inside pk_probe_handle_trap for
				 the handled traps (engine + callback work,
				 not the kernel's stop and resume) */
	uint64_t rip_only;    /* traps resumed by writing rip alone */
	uint64_t timed;       /* returns caught by a timed stub (no stop) */
	uint64_t untimed;     /* returns wanted that had to stop (timed
				 returns on, no table entry free, a tail
				 call, an emulated first instruction) */
};
void pk_probes_stats(const struct pk_probes *p, struct pk_probe_stats *out);

/* Time spent in the engine by the last trap pk_probe_handle_trap handled
 * (its share of handle_ns). */
uint64_t pk_probes_last_handle_ns(const struct pk_probes *p);

/* Address of the return trampoline (0 before the first arm). */
uint64_t pk_probes_trampoline(const struct pk_probes *p);

/* Read target memory (through /proc/PID/mem).  Returns 0 or -errno. */
int pk_probes_read(struct pk_probes *p, uint64_t addr, void *buf, size_t n);

#endif
