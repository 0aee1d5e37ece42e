/*
 * tracer.h - holding a process with ptrace: seizing every thread (and the
 * threads it creates later), interpreting every stop, and letting go so
 * that the process behaves as if it had never been touched.
 *
 * Rules kept here (DESIGN.md, Sampling):
 * - PTRACE_SEIZE, never PTRACE_ATTACH; TRACECLONE | TRACEEXEC | TRACEEXIT.
 * - A signal-delivery-stop re-injects the signal; a group-stop is resumed
 *   with PTRACE_LISTEN, never CONT; an interrupt can race a pending signal,
 *   so each thread has an "interrupt pending" flag.
 * - Never block waiting for one tid: waitpid(-1, __WALL) with deadlines.
 * - Detach on every path: every thread is brought to a stop, then
 *   detached with the signal it was about to receive; a thread that was in
 *   a group-stop stays stopped (the kernel re-instates it).
 */
#ifndef PK_TRACER_H
#define PK_TRACER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

struct pk_thread {
	pid_t tid;
	int stat_fd;              /* /proc/PID/task/TID/stat, -1 if not open */
	int schedstat_fd;         /* /proc/PID/task/TID/schedstat, -1 if none */
	uint64_t runtime_ns;      /* CPU time at the last look (schedstat) */
	int64_t cpu_credit_ns;    /* CPU time run and not yet sampled */
	uint64_t switch_ins;      /* times put on a CPU (schedstat), read
	                             just before the pending interrupt */
	unsigned stopped : 1;     /* in a ptrace-stop we have not resumed */
	unsigned group_stop : 1;  /* in a group-stop (PTRACE_LISTEN) */
	unsigned interrupt_pending : 1; /* PTRACE_INTERRUPT sent, stop not seen */
	unsigned exiting : 1;     /* PTRACE_EVENT_EXIT seen */
	int pending_signal;       /* signal to deliver when resumed/detached */
	uint64_t samples;
	unsigned foreign : 1;     /* a vfork child sharing our memory, traced
	                             until its exec or exit; never sampled */
	uint64_t interrupt_ns;    /* when the pending interrupt was sent */
	char sample_state;        /* scheduler state read when it was sent */
};

/* What pk_tracer_handle() made of one wait status. */
enum pk_stop_kind {
	PK_STOP_NONE,        /* handled and resumed (or unknown tid) */
	PK_STOP_INTERRUPT,   /* our PTRACE_INTERRUPT: thread left stopped */
	PK_STOP_SIGNAL,      /* signal-delivery-stop, left stopped (stop_all) */
	PK_STOP_THREAD_GONE, /* a thread exited */
	PK_STOP_EXITED,      /* the whole process exited */
	PK_STOP_TRAP,        /* SIGTRAP signal-delivery-stop: offered to hooks */
};

struct pk_tracer;

/* Hooks for what other parts of perfkitd must learn about. */
struct pk_tracer_hooks {
	void *ctx;
	/* The process exec'd a new program: maps, unwind and symbol caches
	 * are stale.  Called with the leader stopped. */
	void (*on_exec)(void *ctx, pid_t pid);
	/* A SIGTRAP signal-delivery-stop on tid (a breakpoint?).  Return 1
	 * when it was handled (resumed without the signal), 0 to deliver it. */
	int (*on_trap)(void *ctx, pid_t tid);
	/* A new thread appeared. */
	void (*on_thread)(void *ctx, pid_t tid);
	/* Our PTRACE_INTERRUPT stopped tid (reported by pk_tracer_drain).
	 * The hook must resume the thread (pk_tracer_resume).  Without a
	 * hook the thread is resumed at once. */
	void (*on_interrupt)(void *interrupt_ctx, pid_t tid);
	void *interrupt_ctx;
	/* A fork child (follow_forks), stopped before its first instruction;
	 * the tracer detaches it when the hook returns. */
	void (*on_fork)(void *ctx, pid_t child, pid_t parent_tid);
	/* A thread of the process is gone. */
	void (*on_thread_gone)(void *ctx, pid_t tid);
	/* tid is stopped at its exit (PTRACE_EVENT_EXIT): its memory, and
	 * for the last thread the process's, is still there. */
	void (*on_thread_exiting)(void *ctx, pid_t tid);
	/* Every thread is stopped and about to be detached. */
	void (*before_detach)(void *ctx, const pid_t *tids, size_t n);
};

struct pk_tracer {
	pid_t pid;                  /* thread-group leader */
	struct pk_thread *threads;
	size_t n_threads, cap_threads;
	size_t threads_seen;        /* distinct threads over the session */
	int exited;                 /* the process is gone */
	int exit_status;            /* raw wait status of the leader */
	int exec_count;             /* PTRACE_EVENT_EXEC seen */
	int stopping;               /* inside stop_all/detach */
	int follow_forks;           /* stop fork children for hooks.on_fork */
	int hold_exec;              /* leave the process stopped at exec */
	pid_t *fork_children;       /* reported by the parent, first stop not seen */
	size_t n_fork_children, cap_fork_children;
	struct pk_tracer_hooks hooks;
	/* Trap fast path (pk_tracer_drain): after a thread was resumed from a
	 * breakpoint stop the tracer polls waitpid for up to trap_spin_ns
	 * (PK_TRACER_TRAP_SPIN_NS by default, 0 = never) before going back
	 * to the caller's poll, since a probed caller usually traps again
	 * within microseconds and a blocked tracer costs a wake-up per stop.
	 * A poll that finds nothing backs off (spin_skip traps without
	 * polling, doubling up to 256), so sparse traps cost little CPU and
	 * a tracer that shares the target's CPU does not keep it waiting;
	 * backed off all the way, pk_tracer_drain_hot blocks in waitpid for
	 * the next stop instead of returning to the caller's poll. */
	uint64_t trap_spin_ns;
	int trap_block;             /* PERFKIT_TRAP_WAIT=block: always the
				       blocking wait, never a spin */
	unsigned spin_skip, spin_backoff;
	uint64_t spin_hits, spin_misses;
	/* pk_tracer_drain_hot's blocking wait (daemon/tracer-hot.c) */
	int hot_state;              /* 0 not set up, 1 ready, -1 unavailable */
	int hot_armed;              /* its timer runs */
	timer_t hot_timer;
	uint64_t hot_stops;         /* stops taken by a blocking wait */
};

#define PK_TRACER_TRAP_SPIN_NS 60000ull

void pk_tracer_init(struct pk_tracer *t, pid_t pid, const struct pk_tracer_hooks *hooks);
void pk_tracer_release(struct pk_tracer *t);

/*
 * Seize every thread of t->pid, re-scanning /proc/PID/task until no new
 * thread appears.  Returns 0, or -errno of the leader's PTRACE_SEIZE (then
 * nothing stays seized).  Threads that vanish meanwhile are ignored.
 */
int pk_tracer_seize_all(struct pk_tracer *t);

/* Seize one already-stopped child (run mode) and its future threads. */
int pk_tracer_seize_child(struct pk_tracer *t);

struct pk_thread *pk_tracer_find(struct pk_tracer *t, pid_t tid);

/*
 * Interpret one waitpid() result and act on it: resume, re-inject, listen,
 * track clone/exec/exit.  Returns what happened; for PK_STOP_INTERRUPT the
 * thread is left stopped for the caller, who must resume it with
 * pk_tracer_resume().
 */
enum pk_stop_kind pk_tracer_handle(struct pk_tracer *t, pid_t tid, int status);

/* Reap and handle every status available now; interrupt stops go to
 * hooks.on_interrupt.  After a trap stop it also waits briefly for the
 * next stop (see trap_spin_ns), for at most about a millisecond in all,
 * so the caller's loop still runs often.  Returns how many. */
int pk_tracer_drain(struct pk_tracer *t);

/*
 * pk_tracer_drain for the main loop: when nothing is ready after a trap
 * stop (and the spin found nothing), block in waitpid for the next stop,
 * as a bare tracer does, for at most the main loop's tick (a timer's
 * signal interrupts it).  Returns the number of stops handled.
 */
int pk_tracer_drain_hot(struct pk_tracer *t);

/* daemon/tracer-hot.c: the blocking wait (a stop's tid, 0 time up or
 * unavailable, -1 no child), the timer disarmed, the timer deleted. */
pid_t pk_tracer_hot_wait(struct pk_tracer *t, int *status);
void pk_tracer_hot_end(struct pk_tracer *t);
void pk_tracer_hot_release(struct pk_tracer *t);

/* Send PTRACE_INTERRUPT unless one is pending; 0, or -errno (ESRCH: gone). */
int pk_tracer_interrupt(struct pk_tracer *t, struct pk_thread *th);

/* Resume a stopped thread with its pending signal (PTRACE_CONT). */
int pk_tracer_resume(struct pk_tracer *t, struct pk_thread *th);

/*
 * Interrupt one thread and wait (at most timeout_ns) for that interrupt
 * stop, handling whatever else arrives meanwhile.  Returns 0 with the
 * thread stopped, -ETIMEDOUT (the interrupt stays pending; a late stop is
 * resumed by pk_tracer_handle), or -ESRCH when the thread went away.
 */
int pk_tracer_interrupt_wait(struct pk_tracer *t, struct pk_thread *th, uint64_t timeout_ns);

/*
 * Bring every thread to a ptrace-stop (for detaching, or for patching
 * code safely).  Signals that arrive are kept pending, not lost.
 * Returns 0, or -ETIMEDOUT when some thread did not stop in time.
 */
int pk_tracer_stop_all(struct pk_tracer *t, uint64_t timeout_ns);

/*
 * From an on_trap hook that has read all it needs from the stopped thread
 * tid: resume it now (unless everything is being stopped), so that work
 * left for after that runs while the thread does.  1 when resumed (the
 * tracer then does not resume it again), 0 when it stays stopped.
 */
int pk_tracer_resume_trapped(struct pk_tracer *t, pid_t tid);

/* Resume every thread stopped by pk_tracer_stop_all (or held at exec). */
void pk_tracer_resume_all(struct pk_tracer *t);

/* Detach every thread (stopping them first), delivering pending signals.
 * Safe to call when the process already exited.  Returns 0 or -errno of
 * the first failure (every thread is still attempted). */
int pk_tracer_detach_all(struct pk_tracer *t);

#endif
