/*
 * alloc-instrument.c - perfkitd --alloc (see alloc-instrument.h): drives
 * the allocation tracker through the tracer protocol of probe.h.
 *
 *   start    attach: stop every thread, find the allocators, arm through
 *            one stopped thread, resume.  run: the program is stopped at
 *            its exec with only ld.so mapped: a probe at the program's
 *            entry point (AT_ENTRY); when it hits, libc is mapped: find
 *            and arm the allocators from that stop.
 *   on_trap  pk_probe_handle_trap (never deliver a SIGTRAP of ours).
 *   fork     clean the child (breakpoints, hijacked return slots).
 *   exec     a new tracker for the new image, armed at its entry point.
 *   tick     windows (--alloc-sample) and the memory-usage timeline.
 *   detach   step 5 of the protocol: collect pending traps, restore.
 *
 * What each event adds (stacks, accounting, timeline, results) is in
 * alloc-record.c.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>

#include "daemon/alloc-instrument-int.h"
#include "error.h"
#include "util.h"

#define STOP_TIMEOUT_NS 3000000000ull
#define WARM_NS 500000000ull /* reading symbols ahead (pk_recorder_warm), at most */

/* ---- arming ------------------------------------------------------------ */

static int new_tracker(struct alloc_inst *ai)
{
	struct pk_alloc_hooks hooks = { .stack = pk_ai_on_stack, .chain = pk_ai_on_chain,
					.event = pk_ai_on_event, .ctx = ai };
	size_t copy = ai->opt->stack_bytes ? ai->opt->stack_bytes : 16384;

	ai->alloc = pk_alloc_new(ai->pid, &hooks);
	if (!ai->alloc) {
		pk_error("out of memory");
		return -1;
	}
	if (pk_probes_set_stack_copy(pk_alloc_probes(ai->alloc), copy) < 0) {
		pk_error("out of memory");
		return -1;
	}
	ai->n_free_addrs = 0;
	ai->entry = 0;
	ai->tracing = ai->armed = 0;
	return 0;
}

/* Remember which probes are free-like (their entries need no stack). */
static void note_free_probes(struct alloc_inst *ai)
{
	struct pk_probes *p = pk_alloc_probes(ai->alloc);

	ai->n_free_addrs = 0;
	for (int id = 0; pk_probe_name(p, id); id++) {
		int fn = pk_alloc_fn_of(pk_probe_name(p, id));

		if ((fn == PK_ALLOC_FREE || fn == PK_ALLOC_DELETE) && ai->n_free_addrs < MAX_FREE_ADDRS) {
			ai->free_addrs[ai->n_free_addrs++] = pk_probe_address(p, id);
			pk_probe_set_no_stack(p, id); /* never unwound: no stack copy */
		}
	}
}

static void armed_now(struct alloc_inst *ai)
{
	uint64_t now = pk_monotonic_ns();

	ai->armed = 1;
	ai->armed_at = now;
	if (!ai->first_armed_ns)
		ai->first_armed_ns = now;
}

static void disarmed_now(struct alloc_inst *ai, uint64_t now)
{
	struct pk_alloc_window *w;

	if (!ai->armed)
		return;
	ai->armed = 0;
	ai->armed_total_ns += now - ai->armed_at;
	pk_xgrow((void **)&ai->windows, &ai->cap_windows, ai->n_windows + 1, sizeof(*ai->windows));
	w = &ai->windows[ai->n_windows++];
	w->start_ns = (int64_t)pk_ai_rel_ns(ai, ai->armed_at);
	w->end_ns = (int64_t)pk_ai_rel_ns(ai, now);
}

/*
 * Find the allocators now mapped and arm them through tid (stopped, fit
 * for an injected syscall).  Returns 0 or -1 (reported).
 */
static int find_and_arm(struct alloc_inst *ai, pid_t tid)
{
	struct pk_probes *p = pk_alloc_probes(ai->alloc);
	int n = ai->backend ? ai->backend->find(ai, tid) : pk_alloc_add_process(ai->alloc, ai->pid);
	int armed;

	if (n < 0) {
		pk_error("cannot read the memory map of PID %d: %s", (int)ai->pid, strerror(-n));
		return -1;
	}
	if (n == 0) {
		pk_warn("PID %d has no malloc family to probe (no libc mapped?); no allocations recorded",
			(int)ai->pid);
		return 0;
	}
	note_free_probes(ai);
	armed = pk_probes_arm(p, tid);
	if (armed < 0) {
		pk_error("cannot place allocation probes in PID %d: %s", (int)ai->pid, strerror(-armed));
		return -1;
	}
	ai->tracing = 1;
	ai->probes_placed = (unsigned)armed;
	/* libc and the rest are mapped now: let the unwinder see them at once
	 * (its own reload on an unknown address is rate-limited) */
	if (pk_maps_load(ai->ctx->maps, ai->pid) < 0)
		pk_warn("cannot re-read the memory map of PID %d", (int)ai->pid);
	/* the program has not run yet: read its code's symbols now, not
	 * while its first calls wait in the ring (an attach did this
	 * before it stopped the threads) */
	else if (ai->ctx->run_mode)
		ai->modules_read_ahead += (unsigned)pk_recorder_warm(ai->ctx->recorder, WARM_NS);
	armed_now(ai);
	if (ai->period_ns)
		ai->next_arm_ns = ai->armed_at + ai->period_ns;
	return 0;
}

/* Wait for tid's next stop (deadline); 0 with the status, or -1. */
static int wait_stop(pid_t tid, int *status)
{
	uint64_t start = pk_monotonic_ns();

	for (;;) {
		pid_t r = waitpid(tid, status, __WALL | WNOHANG);
		struct timespec ts = { 0, 100000 };

		if (r == tid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
		if (pk_monotonic_ns() - start > STOP_TIMEOUT_NS)
			return -1;
		nanosleep(&ts, NULL);
	}
}

/*
 * tid is in a ptrace event stop reported from inside a system call
 * (PTRACE_EVENT_EXEC, _CLONE, _FORK, _VFORK).  A syscall injected from
 * there would be spoiled: that syscall's own exit still follows and
 * overwrites rax (the engine then runs the target's code with our
 * registers: SIGSEGV).  Move it to that syscall-exit-stop first (a plain
 * stop from which resuming with signal 0 is right).  Returns 0 or -errno.
 */
static int to_syscall_exit(struct alloc_inst *ai, pid_t tid)
{
	struct pk_thread *th = pk_tracer_find(ai->ctx->tracer, tid);
	int status;

	for (int tries = 0; tries < 8; tries++) {
		if (ptrace(PTRACE_SYSCALL, tid, NULL, NULL) < 0)
			return -errno;
		if (wait_stop(tid, &status) < 0)
			return -ETIMEDOUT;
		if (!WIFSTOPPED(status))
			return -ESRCH;
		if ((status >> 16) == 0 && (WSTOPSIG(status) & 0x7f) == SIGTRAP)
			return 0;
		if ((status >> 16) == 0 && th)
			th->pending_signal = WSTOPSIG(status); /* delivered at resume */
	}
	return -EAGAIN;
}

/* The program is stopped at its exec (pid): probe its entry point. */
static int arm_at_entry(struct alloc_inst *ai)
{
	uint64_t entry = 0;
	int rc = pk_probes_auxv_entry(ai->pid, &entry), id;

	if (rc == 0)
		rc = to_syscall_exit(ai, ai->pid);
	if (rc == 0) {
		id = pk_probe_add(pk_alloc_probes(ai->alloc), entry, "program entry point");
		rc = id < 0 ? id : pk_probes_arm(pk_alloc_probes(ai->alloc), ai->pid);
	}
	if (rc < 0) {
		pk_error("cannot probe the entry point of PID %d: %s", (int)ai->pid, strerror(-rc));
		return -1;
	}
	ai->entry = entry;
	return 0;
}

/*
 * Make stopped thread tid fit for an injected syscall: a stop inside a
 * system call (an event stop of clone, fork, vfork or exec, e.g. met by
 * pk_tracer_stop_all) is first moved to that syscall's exit.  0 or -errno.
 */
static int settle_for_injection(struct alloc_inst *ai, pid_t tid)
{
	siginfo_t si;
	int event;

	if (ptrace(PTRACE_GETSIGINFO, tid, NULL, &si) < 0)
		return 0; /* no siginfo: not an event stop */
	event = si.si_code >> 8;
	if (si.si_signo != SIGTRAP ||
	    (event != PTRACE_EVENT_CLONE && event != PTRACE_EVENT_FORK && event != PTRACE_EVENT_VFORK &&
	     event != PTRACE_EVENT_EXEC && event != PTRACE_EVENT_VFORK_DONE))
		return 0;
	return to_syscall_exit(ai, tid);
}

/* A stopped thread of t fit for an injected syscall, or NULL. */
static struct pk_thread *injectable_thread(struct pk_tracer *t)
{
	struct pk_thread *leader = pk_tracer_find(t, t->pid);

	if (leader && leader->stopped && !leader->group_stop && !leader->pending_signal &&
	    !leader->exiting && !leader->foreign)
		return leader;
	for (size_t i = 0; i < t->n_threads; i++) {
		struct pk_thread *th = &t->threads[i];

		if (th->stopped && !th->group_stop && !th->pending_signal && !th->exiting && !th->foreign)
			return th;
	}
	return NULL;
}

/* ---- the instrument ---------------------------------------------------- */

static int alloc_start(void *self, struct pk_instrument_ctx *ctx)
{
	struct alloc_inst *ai = self;
	struct pk_thread *th;
	int rc;

	ai->ctx = ctx;
	ai->pid = ctx->tracer->pid;
	ai->ev_bytes = pk_recorder_event(ctx->recorder, "alloc_bytes", "bytes");
	ai->ev_count = pk_recorder_event(ctx->recorder, "alloc_count", "allocations");
	if (ai->ev_bytes < 0 || ai->ev_count < 0) {
		pk_error("cannot record allocation events: %s", pk_store_errmsg(ctx->st));
		return -1;
	}
	if (new_tracker(ai) < 0)
		return -1;
	if (ctx->run_mode)
		return arm_at_entry(ai); /* stopped at exec by the session */
	/* the symbols first, while the threads run (see find_and_arm) */
	if (pk_maps_load(ctx->maps, ai->pid) == 0)
		ai->modules_read_ahead += (unsigned)pk_recorder_warm(ctx->recorder, WARM_NS);
	if (pk_tracer_stop_all(ctx->tracer, STOP_TIMEOUT_NS) < 0) {
		pk_tracer_resume_all(ctx->tracer);
		pk_error("cannot stop every thread of PID %d to place allocation probes", (int)ai->pid);
		return -1;
	}
	if (ctx->tracer->exited) {
		pk_tracer_resume_all(ctx->tracer);
		return 0;
	}
	th = injectable_thread(ctx->tracer);
	if (!th) {
		pk_tracer_resume_all(ctx->tracer);
		pk_error("no thread of PID %d can take the allocation probes (all are stopped by signals)",
			 (int)ai->pid);
		return -1;
	}
	rc = settle_for_injection(ai, th->tid);
	if (rc < 0) {
		pk_tracer_resume_all(ctx->tracer);
		pk_error("cannot bring thread %d of PID %d to a stop fit for placing probes: %s",
			 (int)th->tid, (int)ai->pid, strerror(-rc));
		return -1;
	}
	rc = find_and_arm(ai, th->tid);
	pk_tracer_resume_all(ctx->tracer);
	return rc;
}

static int alloc_on_trap(void *self, pid_t tid)
{
	struct alloc_inst *ai = self;
	struct user_regs_struct regs;
	int at_entry = 0, r;

	if (!ai->alloc)
		return 0;
	if (ai->backend && ai->backend->trap && (r = ai->backend->trap(ai, tid)) != 0)
		return r;
	if (ai->backend)
		ai->backend->drain(ai); /* events before this one first */
	if (ai->entry && ptrace(PTRACE_GETREGS, tid, NULL, &regs) == 0)
		at_entry = regs.rip - 1 == ai->entry;
	r = pk_probe_handle_trap(pk_alloc_probes(ai->alloc), tid);
	if (r == 1 && at_entry) {
		/* every DT_NEEDED library is mapped now */
		ai->entry = 0;
		if (find_and_arm(ai, tid) < 0)
			pk_warn("allocations of PID %d are not recorded", (int)ai->pid);
	}
	/* An error means the thread cannot be read: it is gone; never deliver
	 * a SIGTRAP that may be ours. */
	return r != 0;
}

static void alloc_on_fork(void *self, pid_t child, pid_t parent)
{
	struct alloc_inst *ai = self;
	int rc;

	if (!ai->alloc)
		return;
	if (ai->backend)
		ai->backend->fork_child(ai, child);
	rc = pk_probes_clean_child(pk_alloc_probes(ai->alloc), child, parent);
	if (rc < 0)
		pk_warn("cannot remove the allocation probes from fork child %d: %s", (int)child,
			strerror(-rc));
}

static void keep_counters(struct alloc_inst *ai)
{
	const struct pk_alloc_stats *s = pk_alloc_stats(ai->alloc);
	struct pk_probe_stats ps;

	ai->earlier.failed_allocs += s->failed_allocs;
	ai->earlier.nested_calls += s->nested_calls;
	ai->earlier.lost_returns += s->lost_returns;
	pk_probes_stats(pk_alloc_probes(ai->alloc), &ps);
	ai->probe_earlier.traps += ps.traps;
	ai->probe_earlier.handle_ns += ps.handle_ns;
}

static void alloc_on_exec(void *self, pid_t pid)
{
	struct alloc_inst *ai = self;

	if (!ai->alloc)
		return;
	/* The old image is gone: its blocks are neither freed nor leaked. */
	pk_probes_forget(pk_alloc_probes(ai->alloc));
	disarmed_now(ai, pk_monotonic_ns());
	keep_counters(ai);
	if (ai->backend)
		ai->backend->exec(ai);
	pk_alloc_free(ai->alloc);
	ai->alloc = NULL;
	pk_ai_forget_image(ai);
	ai->pid = pid;
	if (new_tracker(ai) < 0 || arm_at_entry(ai) < 0)
		pk_warn("allocations after the exec of PID %d are not recorded", (int)pid);
}

/* Events recorded without a stop (the jump backend) are taken while the
 * process can still be read: unwinding and symbols need its files. */
/*
 * A thread is exiting (PTRACE_EVENT_EXIT).  When it is the last one, the
 * process is going: the backend's records are fed while its memory can
 * still be read.  Any other thread's exit leaves them to the ticks, which
 * hold back the newest (a full feed here would feed a thread's record
 * before an older one of the same thread still held up in the ring).
 */
static void alloc_on_thread_exiting(void *self, pid_t tid)
{
	struct alloc_inst *ai = self;
	const struct pk_tracer *t = ai->ctx ? ai->ctx->tracer : NULL;
	size_t going_on = 0;

	(void)tid;
	for (size_t i = 0; t && i < t->n_threads; i++)
		going_on += !t->threads[i].exiting && !t->threads[i].foreign;
	if (ai->backend && !going_on)
		ai->backend->drain(ai);
}

static void alloc_on_thread_exit(void *self, pid_t tid)
{
	struct alloc_inst *ai = self;

	if (ai->backend)
		ai->backend->thread_exit(ai, tid);
	if (ai->alloc)
		pk_alloc_thread_exit(ai->alloc, tid);
}

static int alloc_busy(void *self)
{
	struct alloc_inst *ai = self;

	return ai->alloc && ai->backend && ai->backend->busy && ai->backend->busy(ai);
}

static int alloc_tick(void *self, uint64_t now)
{
	struct alloc_inst *ai = self;

	if (ai->store_failed) {
		pk_error("cannot store allocation samples: %s", pk_store_errmsg(ai->ctx->st));
		ai->store_failed = 0; /* said: the session stops */
		return -1;
	}
	if (!ai->alloc)
		return 0;
	if (ai->backend && ai->backend->tick(ai, now) < 0)
		return -1;
	pk_ai_flush_samples(ai);
	if (ai->period_ns && ai->tracing && !ai->entry) {
		struct pk_probes *p = pk_alloc_probes(ai->alloc);

		if (ai->armed && now - ai->armed_at >= ai->window_ns) {
			int rc = pk_probes_disarm(p);

			if (rc == 0 && ai->backend)
				rc = ai->backend->window(ai, 0);
			if (rc < 0) {
				pk_error("cannot disarm the allocation probes of PID %d: %s", (int)ai->pid,
					 strerror(-rc));
				return -1;
			}
			disarmed_now(ai, now);
		} else if (!ai->armed && now >= ai->next_arm_ns) {
			/* placed already: no injection, no thread stopped */
			int rc = pk_probes_arm(p, ai->pid);

			if (rc >= 0 && ai->backend)
				rc = ai->backend->window(ai, 1);
			if (rc < 0) {
				pk_error("cannot re-arm the allocation probes of PID %d: %s", (int)ai->pid,
					 strerror(-rc));
				return -1;
			}
			armed_now(ai);
			ai->next_arm_ns += ai->period_ns;
			if (ai->next_arm_ns <= now)
				ai->next_arm_ns = now + ai->period_ns;
		}
	}
	if (ai->tracing) {
		/* a point tells the counts at its time: never past the events
		 * still waiting to be fed */
		uint64_t at = ai->backend && ai->backend->synced ? ai->backend->synced(ai, now) : now;

		if (at > ai->last_point_ns && at - ai->last_point_ns >= POINT_INTERVAL_NS)
			pk_ai_add_point(ai, at);
	}
	return 0;
}

/* Caught signals of the process: when none, no signal frame can point
 * into the scratch pages and they may be unmapped. */
static int catches_signals(pid_t pid)
{
	char path[64], line[256];
	unsigned long long mask = 1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "SigCgt: %llx", &mask) == 1)
			break;
	fclose(f);
	return mask != 0;
}

static int trap_pending(struct alloc_inst *ai, struct pk_probes *p, pid_t tid)
{
	return pk_probe_trap_pending(p, tid) ||
	       (ai->backend && ai->backend->trap_pending && ai->backend->trap_pending(ai, tid));
}

/*
 * A thread that executed one of our int3 (a probe's, a detour's) but
 * reported another stop first would get the SIGTRAP after detach: let it
 * take the trap now and handle it.  Every thread is stopped.
 */
static void collect_traps(struct alloc_inst *ai, struct pk_probes *p, struct pk_tracer *t,
			  const pid_t *tids, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int status;

		for (int tries = 0; tries < 4 && trap_pending(ai, p, tids[i]); tries++) {
			if (ptrace(PTRACE_CONT, tids[i], NULL, NULL) < 0 || wait_stop(tids[i], &status) < 0)
				break;
			if (!WIFSTOPPED(status)) {
				pk_tracer_handle(t, tids[i], status);
				break;
			}
			if ((status >> 16) == 0 && WSTOPSIG(status) == SIGTRAP) {
				if (!(ai->backend && ai->backend->trap && ai->backend->trap(ai, tids[i])))
					pk_probe_handle_trap(p, tids[i]);
			} else if ((status >> 16) == 0) {
				struct pk_thread *th = pk_tracer_find(t, tids[i]);

				if (th)
					th->pending_signal = WSTOPSIG(status);
			}
		}
	}
}

static void alloc_detach(void *self, const pid_t *tids, size_t n)
{
	struct alloc_inst *ai = self;
	struct pk_probes *p;
	struct pk_tracer *t = ai->ctx ? ai->ctx->tracer : NULL;
	struct pk_thread *inject;
	pid_t *order;
	int rc, flags = 0, fit = 0;

	if (!ai->alloc || !t)
		return;
	p = pk_alloc_probes(ai->alloc);
	disarmed_now(ai, pk_monotonic_ns());
	collect_traps(ai, p, t, tids, n);
	order = pk_xcalloc(n ? n : 1, sizeof(*order));
	memcpy(order, tids, n * sizeof(*order));
	inject = injectable_thread(t);
	if (inject && (ai->backend || !catches_signals(ai->pid)) &&
	    settle_for_injection(ai, inject->tid) == 0) {
		for (size_t i = 0; i < n; i++)
			if (order[i] == inject->tid) {
				order[i] = order[0];
				order[0] = inject->tid;
				fit = 1;
				break;
			}
	}
	if (fit && !catches_signals(ai->pid))
		flags = PK_PROBE_DETACH_UNMAP;
	if (ai->backend) /* its own check for signal frames */
		ai->backend->detach(ai, order, n, fit);
	rc = pk_probes_detach(p, order, n, flags);
	free(order);
	if (rc < 0)
		pk_warn("restoring the code of PID %d reported an error: %s", (int)ai->pid, strerror(-rc));
	/* once more: an injected system call above may have met such a trap
	 * and queued its SIGTRAP again (the detours' traps are no-ops now,
	 * but one taken before is still pending) */
	collect_traps(ai, p, t, tids, n);
}

static int alloc_finish(void *self)
{
	struct alloc_inst *ai = self;
	uint64_t end = pk_monotonic_ns();

	if (!ai->ctx)
		return 0;
	disarmed_now(ai, end);
	if (ai->backend)
		ai->backend->finish(ai);
	return pk_ai_finish(ai, end);
}

static void alloc_free_self(void *self)
{
	struct alloc_inst *ai = self;

	if (!ai)
		return;
	if (ai->backend)
		ai->backend->free(ai);
	pk_alloc_free(ai->alloc);
	pk_ai_release_records(ai);
	free(ai);
}

/* Live status line: allocations and frees recorded so far. */
static uint64_t alloc_status(void *self, const char **what)
{
	struct alloc_inst *ai = self;

	*what = "alloc events";
	return (uint64_t)(ai->alloc_calls + ai->free_calls);
}

static const struct pk_instrument_ops alloc_ops = {
	.name = "allocation",
	.status = alloc_status,
	.start = alloc_start,
	.on_trap = alloc_on_trap,
	.on_fork = alloc_on_fork,
	.on_exec = alloc_on_exec,
	.on_thread_exiting = alloc_on_thread_exiting,
	.on_thread_exit = alloc_on_thread_exit,
	.tick = alloc_tick,
	.busy = alloc_busy,
	.detach = alloc_detach,
	.finish = alloc_finish,
	.free = alloc_free_self,
};

int pk_alloc_instrument_create(const struct pk_options *opt, struct pk_instrument *out)
{
	struct alloc_inst *ai = pk_xcalloc(1, sizeof(*ai));

	ai->opt = opt;
	if (opt->alloc_period_s > 0) {
		ai->window_ns = (uint64_t)(opt->alloc_window_s * 1e9);
		ai->period_ns = (uint64_t)(opt->alloc_period_s * 1e9);
		if (!ai->window_ns || ai->window_ns >= ai->period_ns)
			ai->period_ns = ai->window_ns = 0; /* always armed: full mode */
	}
	pk_u64map_init(&ai->stack_index);
	out->ops = &alloc_ops;
	out->self = ai;
	out->follow_forks = 1;
	return 0;
}
