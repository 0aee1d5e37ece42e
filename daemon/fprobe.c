/*
 * fprobe.c - the --probe instrument: entry and return probes on the
 * functions that the patterns name, counted and timed per thread
 * (fprobe-stats.c), with the probe engine (probe.h) driven by the
 * session's tracer through the instrument hooks (instrument.h).
 *
 * Arming.  Attach mode: every thread is stopped, every mapped file is
 * searched and the probes are armed at once.  Run mode (and after an
 * exec): the program is stopped at its exec with only ld.so mapped: the
 * main program's functions are armed right away, with a hidden probe at
 * the entry point (AT_ENTRY); when that hits, the libraries are mapped
 * and theirs are armed from that stop.  At the start of run mode this
 * happens inside start (the program is run to its entry point there), so
 * that pattern errors (no match, over --probe-limit), final once every
 * file was searched, end perfkitd before the program's code runs.
 *
 * Exceptions.  A C++ unwinder that meets the return trampoline where a
 * return address should be terminates the program.  Hidden probes on
 * libgcc's _Unwind_RaiseException / _Unwind_Resume_or_Rethrow /
 * _Unwind_ForcedUnwind write every hijacked return address of the
 * throwing thread back before the unwinder walks the stack; those calls
 * are reported lost (their return is no longer seen), also when the
 * exception is caught inside them.
 *
 * Cost.  A call stops once, at its entry: its return is timed in the
 * target (the engine's timed returns, probe.h), from after the entry
 * stop to the return, unless it has to stop (no table entry free, a tail
 * call; PERFKIT_PROBE_RETURNS=stop for all).  Each probe stop costs a
 * ptrace round trip plus the engine's work.  The round trip is measured
 * once at start on a child of perfkitd that executes int3 in a loop; the
 * handling time is measured on every trap.  Their sum (median) is
 * subtracted from per-call times once per stop inside the call, and
 * stored with the session.
 */
#include "daemon/fprobe.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon/probe.h"
#include "daemon/unwind.h"
#include "error.h"
#include "util.h"

#define CALIBRATION_STOPS 400
#define STOP_TIMEOUT_NS 3000000000ull

/* A probe id of the current engine means: */
#define ROLE_ENTRY  (-2)   /* the entry point (run mode) */
#define ROLE_UNWIND (-3)   /* an unwinder entry (exceptions) */

static const char *const unwind_functions[] = {
	"_Unwind_RaiseException", "_Unwind_Resume_or_Rethrow", "_Unwind_ForcedUnwind",
};

struct function {
	char *name, *module;
};

struct fprobe {
	const struct pk_options *opt;
	struct pk_instrument_ctx *ctx;
	struct pk_probes *p;            /* engine of the current image */
	struct pk_fprobe_matcher m;     /* searches of the current image */
	size_t armed_matches;           /* m.v[0..armed_matches) registered */
	int *role;                      /* engine probe id -> function or ROLE_* */
	size_t n_role, cap_role;
	uint64_t entry_addr;            /* run mode: AT_ENTRY, 0 once passed */
	int entry_hit;                  /* set by the callback, acted on in on_trap */
	int checked;                    /* the patterns were checked */
	int script;                     /* run mode, PROG a #! script: the
					   patterns are for a program it runs */
	struct function *fns;
	size_t n_fns, max_fns;
	struct pk_fprobe_stats *stats;
	struct pk_histogram handle_ns;  /* time in on_trap per handled trap */
	uint64_t rtt_ns;                /* calibrated bare stop round trip */
	uint64_t stops, refused;        /* over every engine (execs) */
	uint64_t timed, untimed;        /* returns without / with a stop */
	uint64_t calls;                 /* entries of probed functions */
	int memfd;                      /* /proc/PID/mem for restoring returns */
	uint64_t last_tick_ns;
};

/* ---- calibration ------------------------------------------------------ */

/* Median round trip of a bare ptrace stop (int3, SIGTRAP stop, wait,
 * PTRACE_CONT) on a child of ours; 0 when it cannot be measured. */
static uint64_t measure_stop_rtt(void)
{
	struct pk_histogram h;
	uint64_t last = 0;
	int status, ok = 1;
	pid_t child = fork();

	if (child < 0)
		return 0;
	if (child == 0) {
		struct sched_param sp = { 0 };

		sched_setscheduler(0, SCHED_OTHER, &sp);
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0)
			_exit(1);
		raise(SIGSTOP);
		for (int i = 0; i < CALIBRATION_STOPS + 1; i++)
			__asm__ volatile("int3");
		_exit(0);
	}
	pk_histogram_init(&h);
	if (waitpid(child, &status, 0) != child || !WIFSTOPPED(status))
		ok = 0;
	while (ok) {
		uint64_t now;

		if (ptrace(PTRACE_CONT, child, NULL, NULL) < 0 || waitpid(child, &status, 0) != child ||
		    !WIFSTOPPED(status))
			break;
		now = pk_monotonic_ns();
		if (last)
			pk_histogram_add(&h, now - last);
		last = now;
	}
	kill(child, SIGKILL);
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	return pk_histogram_percentile(&h, 50);
}

/* Round trip plus handling; never more than the shortest call seen with
 * no stop inside (which is one stop and a body): the calibration runs on
 * a busy machine too, and over-correcting would make times up. */
static uint64_t stop_cost(const struct fprobe *f)
{
	uint64_t c = f->rtt_ns + pk_histogram_percentile(&f->handle_ns, 50);
	uint64_t leaf = pk_fprobe_stats_leaf_min(f->stats);

	return leaf && leaf < c ? leaf : c;
}

/* ---- events ----------------------------------------------------------- */

static int role_of(const struct fprobe *f, int probe)
{
	return probe >= 0 && (size_t)probe < f->n_role ? f->role[probe] : -1;
}

static void restore_one(void *ctx, uint64_t slot, uint64_t ret)
{
	struct fprobe *f = ctx;

	if (pk_probes_restore_slot(f->p, slot, ret) < 0)
		pk_warn("cannot restore a return address of the target at %#llx",
			(unsigned long long)slot);
}

static int on_event(void *ctx, struct pk_probe_event *ev)
{
	struct fprobe *f = ctx;
	int role = role_of(f, ev->probe);

	switch (ev->kind) {
	case PK_PROBE_ENTRY:
		if (ev->regs && f->entry_addr && ev->regs->rip == f->entry_addr)
			f->entry_hit = 1;
		if (role == ROLE_UNWIND) {
			/* the unwinder is about to walk this thread's stack */
			pk_fprobe_stats_active(f->stats, ev->tid, restore_one, f);
			pk_fprobe_stats_stop(f->stats, ev->tid);
			return 0;
		}
		if (role < 0) {
			pk_fprobe_stats_stop(f->stats, ev->tid);
			return 0;
		}
		ev->cookie = pk_fprobe_stats_enter(f->stats, ev->tid, role, ev->time_ns, ev->entry_sp,
						   ev->ret_addr);
		f->calls++;
		return 1;
	case PK_PROBE_RETURN:
		if (ev->timed)
			pk_fprobe_stats_return_timed(f->stats, ev->tid, ev->cookie, ev->duration_ns);
		else
			pk_fprobe_stats_return(f->stats, ev->tid, ev->cookie, ev->time_ns);
		return 0;
	case PK_PROBE_LOST:
		pk_fprobe_stats_lost(f->stats, ev->tid, ev->cookie);
		return 0;
	}
	return 0;
}

/* ---- arming ----------------------------------------------------------- */

/* pk_unwind_ret_map for the sampler's unwinder: the return addresses of
 * probed calls in flight are the engine's. */
static int ret_map(void *ctx, uint64_t ret, uint64_t slot, uint64_t *orig)
{
	struct fprobe *f = ctx;

	return f->p && pk_probes_orig_ret(f->p, ret, slot, orig);
}

/* pk_unwind_resolver: a thread at a probed function's entry (its stop, or
 * the engine's code before the function's first instruction ran) is in
 * that function, its return address at sp. */
static int resolve_entry(void *ctx, uint64_t pc, uint64_t sp, uint64_t *ret_slot, uint64_t *leaf_fn)
{
	struct fprobe *f = ctx;

	if (!f->p || !pk_probes_entry_pc(f->p, pc, leaf_fn))
		return 0;
	*ret_slot = sp;
	return 1;
}

/* An engine for pid whose returns are timed in the target (no stop)
 * unless PERFKIT_PROBE_RETURNS=stop. */
static struct pk_probes *new_engine(struct fprobe *f, pid_t pid)
{
	struct pk_probes *p = pk_probes_new(pid, on_event, f);
	const char *how = getenv("PERFKIT_PROBE_RETURNS");

	if (p && !(how && strcmp(how, "stop") == 0))
		pk_probes_set_timed(p, 1);
	if (f->ctx && f->ctx->unwinder) {
		pk_unwinder_set_ret_map(f->ctx->unwinder, ret_map, f);
		pk_unwinder_set_resolver(f->ctx->unwinder, resolve_entry, f);
	}
	return p;
}

static void set_role(struct fprobe *f, int id, int role)
{
	if (id < 0)
		return;
	pk_xgrow((void **)&f->role, &f->cap_role, (size_t)id + 1, sizeof(*f->role));
	while (f->n_role <= (size_t)id)
		f->role[f->n_role++] = -1;
	if (f->role[id] == -1 || role >= 0)
		f->role[id] = role;
}

/* The function index of a match (same name and module as before an exec
 * keep their index), or -1 when over the limit. */
static int function_of(struct fprobe *f, const struct pk_fprobe_match *mt)
{
	for (size_t i = 0; i < f->n_fns; i++)
		if (strcmp(f->fns[i].name, mt->name) == 0 && strcmp(f->fns[i].module, mt->module) == 0)
			return (int)i;
	if (f->n_fns >= f->max_fns)
		return -1;
	f->fns[f->n_fns].name = pk_xstrdup(mt->name);
	f->fns[f->n_fns].module = pk_xstrdup(mt->module);
	return (int)f->n_fns++;
}

/* Register the matches found since the last call. */
static void register_matches(struct fprobe *f)
{
	for (; f->armed_matches < f->m.n; f->armed_matches++) {
		const struct pk_fprobe_match *mt = &f->m.v[f->armed_matches];
		int fn = function_of(f, mt);

		if (fn < 0) {
			pk_warn("--probe: '%s' not probed: more than --probe-limit functions", mt->name);
			continue;
		}
		set_role(f, pk_probe_add(f->p, mt->addr, mt->name), fn);
	}
}

/* Hidden probes on the unwinder's entries, where mapped. */
static void add_unwind_probes(struct fprobe *f, pid_t pid, const struct pk_maps *maps)
{
	struct pk_fprobe_matcher um;
	const char *pats[] = { unwind_functions[0], unwind_functions[1], unwind_functions[2] };

	pk_fprobe_matcher_init(&um, pats, 3);
	if (pk_fprobe_match_process(&um, pid, maps, 0) > 0)
		for (size_t i = 0; i < um.n; i++)
			set_role(f, pk_probe_add(f->p, um.v[i].addr, um.v[i].name), ROLE_UNWIND);
	pk_fprobe_matcher_release(&um);
}

/* Search (main program only, or everything not searched yet), register
 * and arm from stopped thread tid.  Pattern errors are checked when
 * everything was searched.  0 or -1. */
static int search_and_arm(struct fprobe *f, pid_t tid, int main_only)
{
	struct pk_maps maps = { 0 };
	pid_t pid = f->ctx->tracer->pid;
	int rc;

	rc = pk_maps_load(&maps, pid);
	if (rc < 0) {
		pk_error("--probe: cannot read the memory map of PID %d: %s", (int)pid, strerror(-rc));
		return -1;
	}
	rc = pk_fprobe_match_process(&f->m, pid, &maps, main_only);
	if (rc < 0) {
		pk_error("--probe: cannot read the program of PID %d: %s", (int)pid, strerror(-rc));
		pk_maps_release(&maps);
		return -1;
	}
	if (!main_only) {
		add_unwind_probes(f, pid, &maps);
		if (f->script && !f->checked && pk_fprobe_match_missing(&f->m)) {
			/* an interpreter, or a program the script runs on its
			 * way: the next exec may bring the functions (checked
			 * at the end, fp_finish) */
			if (f->opt->probe_limit > 0 && f->m.n > (size_t)f->opt->probe_limit) {
				pk_fprobe_match_check(&f->m, f->opt->probe_limit);
				pk_maps_release(&maps);
				return -1;
			}
		} else if (!f->checked) {
			f->checked = 1;
			if (pk_fprobe_match_check(&f->m, f->opt->probe_limit) < 0) {
				pk_maps_release(&maps);
				return -1;
			}
		}
	} else if (f->opt->probe_limit > 0 && f->m.n > (size_t)f->opt->probe_limit) {
		pk_fprobe_match_check(&f->m, f->opt->probe_limit);
		pk_maps_release(&maps);
		return -1;
	}
	pk_maps_release(&maps);
	register_matches(f);
	rc = pk_probes_arm(f->p, tid);
	if (rc < 0) {
		pk_error("--probe: cannot place the probes in PID %d: %s", (int)pid, strerror(-rc));
		return -1;
	}
	return 0;
}

/*
 * pid is in its PTRACE_EVENT_EXEC stop, still inside execve: the
 * syscall's exit would overwrite the result of a syscall injected from
 * there (and the injection runs astray).  Step it to that
 * syscall-exit-stop first, from which resuming with signal 0 is right.
 * Signals met meanwhile are kept for the tracer to deliver.  0 or -errno.
 */
static int leave_exec_stop(struct fprobe *f, pid_t pid)
{
	struct pk_thread *th = pk_tracer_find(f->ctx->tracer, pid);
	uint64_t start = pk_monotonic_ns();
	int status;

	for (int tries = 0; tries < 8; tries++) {
		pid_t r;

		if (ptrace(PTRACE_SYSCALL, pid, NULL, NULL) < 0)
			return -errno;
		while ((r = waitpid(pid, &status, __WALL | WNOHANG)) == 0) {
			struct timespec ts = { 0, 50000 };

			if (pk_monotonic_ns() - start > STOP_TIMEOUT_NS)
				return -ETIMEDOUT;
			nanosleep(&ts, NULL);
		}
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r < 0 || !WIFSTOPPED(status))
			return -ESRCH;
		if ((status >> 16) == 0 && (WSTOPSIG(status) & 0x7f) == SIGTRAP)
			return 0;
		if ((status >> 16) == 0 && th)
			th->pending_signal = WSTOPSIG(status);
	}
	return -EAGAIN;
}

/* A new image (run mode start, or after exec): a fresh engine, the main
 * program armed, a hidden probe at the entry point for the libraries. */
static int start_image(struct fprobe *f, pid_t pid)
{
	uint64_t entry = 0;
	int rc;

	f->p = new_engine(f, pid);
	if (!f->p)
		return -1;
	f->n_role = 0;
	f->armed_matches = 0;
	pk_fprobe_matcher_release(&f->m);
	pk_fprobe_matcher_init(&f->m, f->opt->probes, f->opt->n_probes);
	rc = pk_probes_auxv_entry(pid, &entry);
	if (rc < 0) {
		pk_error("--probe: cannot find the entry point of PID %d: %s", (int)pid, strerror(-rc));
		return -1;
	}
	rc = leave_exec_stop(f, pid);
	if (rc < 0) {
		pk_error("--probe: cannot take PID %d out of its exec: %s", (int)pid, strerror(-rc));
		return -1;
	}
	f->entry_addr = entry;
	set_role(f, pk_probe_add(f->p, entry, "(entry point)"), ROLE_ENTRY);
	return search_and_arm(f, pid, 1);
}

static void open_mem(struct fprobe *f, pid_t pid)
{
	char path[64];

	if (f->memfd >= 0)
		close(f->memfd);
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	f->memfd = open(path, O_RDWR | O_CLOEXEC);
}

/* A thread that can be used for injections after stop_all: stopped by
 * our interrupt (no signal to deliver, not in a group-stop). */
static pid_t usable_thread(struct pk_tracer *t)
{
	for (size_t i = 0; i < t->n_threads; i++) {
		const struct pk_thread *th = &t->threads[i];

		if (th->stopped && !th->group_stop && !th->pending_signal && !th->foreign &&
		    !th->exiting)
			return th->tid;
	}
	return -1;
}

/* ---- instrument hooks ------------------------------------------------- */

/*
 * Run mode: let the program run from its exec to its entry point (only
 * ld.so runs meanwhile: it maps the libraries), so that every pattern is
 * resolved, armed and checked before the program's own code starts.  A
 * pattern error kills the program, which has not started yet.  Returns 0
 * with the leader stopped at the entry (resume it with signal 0), or -1.
 */
static int run_to_entry(struct fprobe *f, pid_t pid)
{
	uint64_t start = pk_monotonic_ns();
	int sig = 0, status;

	while (f->entry_addr) {
		pid_t r;

		if (ptrace(PTRACE_CONT, pid, NULL, (void *)(long)sig) < 0)
			break;
		sig = 0;
		while ((r = waitpid(pid, &status, __WALL | WNOHANG)) == 0) {
			struct timespec ts = { 0, 50000 };

			if (pk_monotonic_ns() - start > 10 * STOP_TIMEOUT_NS) {
				pk_error("--probe: PID %d did not reach its entry point within 30 s",
					 (int)pid);
				return -1;
			}
			nanosleep(&ts, NULL);
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || !WIFSTOPPED(status)) {
			pk_error("--probe: PID %d ended before its entry point", (int)pid);
			return -1;
		}
		if ((status >> 16) != 0)
			continue;
		if (WSTOPSIG(status) == SIGTRAP && pk_probe_handle_trap(f->p, pid) == 1) {
			if (f->entry_hit) {
				f->entry_hit = 0;
				f->entry_addr = 0;
				if (search_and_arm(f, pid, 0) < 0) {
					kill(pid, SIGKILL);
					return -1;
				}
				return 0;
			}
			continue;
		}
		sig = WSTOPSIG(status);
	}
	pk_error("--probe: cannot run PID %d to its entry point: %s", (int)pid, strerror(errno));
	return -1;
}

/* Is prog (found as execvp finds it) a script the kernel runs through
 * its #! interpreter? */
static int is_script(const char *prog)
{
	const char *path = getenv("PATH");
	char buf[4096], head[2];
	int fd = -1;

	if (!prog || !*prog)
		return 0;
	if (strchr(prog, '/'))
		fd = open(prog, O_RDONLY | O_CLOEXEC);
	for (const char *d = path ? path : "/usr/bin:/bin"; fd < 0 && !strchr(prog, '/') && d;) {
		size_t len = strcspn(d, ":");

		/* an empty entry is the current directory */
		snprintf(buf, sizeof(buf), "%.*s/%s", (int)len, len ? d : ".", prog);
		if (access(buf, X_OK) == 0)
			fd = open(buf, O_RDONLY | O_CLOEXEC);
		d = d[len] ? d + len + 1 : NULL;
	}
	if (fd < 0)
		return 0;
	if (read(fd, head, 2) != 2)
		head[0] = 0;
	close(fd);
	return head[0] == '#' && head[1] == '!';
}

static int fp_start(void *self, struct pk_instrument_ctx *ctx)
{
	struct fprobe *f = self;
	pid_t pid = ctx->tracer->pid, tid;
	int rc;

	f->ctx = ctx;
	open_mem(f, pid);
	if (ctx->run_mode) {
		f->script = f->opt->argv && is_script(f->opt->argv[0]);
		if (f->script)
			pk_info("--probe: %s is a script: the patterns are looked for in every program it "
				"runs, and checked when it ends", f->opt->argv[0]);
		if (start_image(f, pid) < 0)
			return -1;
		return run_to_entry(f, pid);
	}
	f->p = new_engine(f, pid);
	if (!f->p)
		return -1;
	if (pk_tracer_stop_all(ctx->tracer, STOP_TIMEOUT_NS) < 0) {
		pk_error("--probe: the threads of PID %d did not stop within 3 s", (int)pid);
		pk_tracer_resume_all(ctx->tracer);
		return -1;
	}
	tid = usable_thread(ctx->tracer);
	if (tid < 0) {
		pk_error("--probe: PID %d is stopped (job control); continue it (kill -CONT %d) and retry",
			 (int)pid, (int)pid);
		pk_tracer_resume_all(ctx->tracer);
		return -1;
	}
	rc = search_and_arm(f, tid, 0);
	pk_tracer_resume_all(ctx->tracer);
	return rc;
}

static int fp_on_trap(void *self, pid_t tid)
{
	struct fprobe *f = self;
	int r;

	if (!f->p)
		return 0;
	r = pk_probe_handle_trap(f->p, tid);
	if (r != 1)
		return 0;
	f->stops++;
	if (f->entry_hit) {
		/* a program exec'd by the target reached its entry point */
		f->entry_hit = 0;
		f->entry_addr = 0;
		if (search_and_arm(f, tid, 0) < 0)
			pk_warn("--probe: the libraries of the new program of PID %d are not probed",
				(int)f->ctx->tracer->pid);
		return 1;
	}
	pk_histogram_add(&f->handle_ns, pk_probes_last_handle_ns(f->p));
	return 1;
}

static void fp_on_fork(void *self, pid_t child, pid_t parent_tid)
{
	struct fprobe *f = self;

	if (f->p && pk_probes_clean_child(f->p, child, parent_tid) < 0)
		pk_warn("--probe: cannot remove the probes from fork child %d", (int)child);
}

static void forget_engine(struct fprobe *f)
{
	struct pk_probe_stats ps;

	if (!f->p)
		return;
	pk_probes_forget(f->p);
	pk_probes_stats(f->p, &ps);
	f->refused += ps.refused;
	f->timed += ps.timed;
	f->untimed += ps.untimed;
	pk_probes_free(f->p);
	f->p = NULL;
}

static void fp_on_exec(void *self, pid_t pid)
{
	struct fprobe *f = self;

	forget_engine(f);
	open_mem(f, pid);
	if (start_image(f, pid) < 0)
		pk_warn("--probe: the functions of the new program of PID %d are not probed", (int)pid);
}

static void fp_on_thread_exit(void *self, pid_t tid)
{
	struct fprobe *f = self;

	if (f->p)
		pk_probes_thread_exit(f->p, tid);
}

static int fp_tick(void *self, uint64_t now_ns)
{
	struct fprobe *f = self;

	/* the tick comes after every trap: refresh a few times a second */
	if (now_ns - f->last_tick_ns < 100000000ull)
		return 0;
	f->last_tick_ns = now_ns;
	if (f->p)
		pk_probes_reap(f->p);
	pk_fprobe_stats_set_correction(f->stats, stop_cost(f));
	return 0;
}

/* Collect a SIGTRAP that tid owes us (it ran an int3 of ours, but the
 * stop seen was the tracer's interrupt) before the breakpoints go. */
static void collect_pending_trap(struct fprobe *f, pid_t tid)
{
	struct pk_thread *th = pk_tracer_find(f->ctx->tracer, tid);
	int status;

	for (int tries = 0; tries < 4 && pk_probe_trap_pending(f->p, tid); tries++) {
		if (ptrace(PTRACE_CONT, tid, NULL, NULL) < 0)
			return;
		while (waitpid(tid, &status, __WALL) < 0)
			if (errno != EINTR)
				return;
		if (!WIFSTOPPED(status))
			return;
		if ((status >> 16) == 0 && WSTOPSIG(status) == SIGTRAP) {
			if (pk_probe_handle_trap(f->p, tid) != 1 && th)
				th->pending_signal = SIGTRAP;
		} else if ((status >> 16) == 0 && th) {
			th->pending_signal = WSTOPSIG(status);
		}
	}
}

static void fp_detach(void *self, const pid_t *tids, size_t n)
{
	struct fprobe *f = self;

	if (!f->p)
		return;
	for (size_t i = 0; i < n; i++)
		collect_pending_trap(f, tids[i]);
	if (pk_probes_detach(f->p, tids, n, 0) < 0)
		pk_warn("--probe: restoring the code of PID %d reported an error", (int)f->ctx->tracer->pid);
	forget_engine(f);
}

struct store_ctx {
	struct fprobe *f;
	int rc;
};

static void store_one(void *ctx, int fn, pid_t tid, const struct pk_fprobe_result *r)
{
	struct store_ctx *sc = ctx;
	struct fprobe *f = sc->f;
	struct pk_probe_row row;
	int rc;

	if ((size_t)fn >= f->n_fns)
		return;
	memset(&row, 0, sizeof(row));
	row.function = f->fns[fn].name;
	row.module = f->fns[fn].module;
	row.tid = tid;
	row.calls = (int64_t)r->calls;
	row.lost = (int64_t)r->lost;
	row.returned = (int64_t)r->hist.count;
	row.total_ns = (int64_t)r->total_ns;
	row.self_ns = r->self_ns > 0 ? r->self_ns : 0;
	row.min_ns = r->hist.count ? (int64_t)r->hist.min : 0;
	row.max_ns = (int64_t)r->hist.max;
	row.p50_ns = (int64_t)pk_histogram_percentile(&r->hist, 50);
	row.p90_ns = (int64_t)pk_histogram_percentile(&r->hist, 90);
	row.p99_ns = (int64_t)pk_histogram_percentile(&r->hist, 99);
	row.sum_ns = (int64_t)r->hist.sum;
	rc = pk_store_add_probe_row(f->ctx->st, f->ctx->sid, &row);
	if (rc != PK_STORE_OK && sc->rc == PK_STORE_OK)
		sc->rc = rc;
}

static int fp_finish(void *self)
{
	struct fprobe *f = self;
	struct store_ctx sc = { f, PK_STORE_OK };
	struct pk_store *st = f->ctx->st;
	int64_t sid = f->ctx->sid;

	int bad = 0;

	if (f->script && !f->checked) {
		/* no program the script ran had every function: say which
		 * patterns matched nothing, with the names of the last one
		 * (what was probed is kept) */
		f->checked = bad = 1;
		pk_error("--probe: no program run by the script %s has every function probed",
			 f->opt->argv[0]);
		pk_fprobe_match_check(&f->m, 0);
	}
	/* the target exited (else detach forgot the engine already) */
	forget_engine(f);
	pk_fprobe_stats_foreach(f->stats, store_one, &sc);
	pk_store_set_stat(st, sid, "probe_functions", (double)f->n_fns);
	pk_store_set_stat(st, sid, "probe_stops", (double)f->stops);
	pk_store_set_stat(st, sid, "probe_stop_median_us", (double)stop_cost(f) / 1e3);
	pk_store_set_stat(st, sid, "probe_stop_rtt_us", (double)f->rtt_ns / 1e3);
	pk_store_set_stat(st, sid, "probe_handle_median_us",
			  (double)pk_histogram_percentile(&f->handle_ns, 50) / 1e3);
	pk_store_set_stat(st, sid, "probe_correction_us",
			  (double)pk_fprobe_stats_correction(f->stats) / 1e3);
	pk_store_set_stat(st, sid, "probe_refused", (double)f->refused);
	pk_store_set_stat(st, sid, "probe_timed_returns", (double)f->timed);
	pk_store_set_stat(st, sid, "probe_stopped_returns", (double)f->untimed);
	if (sc.rc != PK_STORE_OK)
		return -1;
	return bad ? PK_FINISH_REPORTED : 0;
}

static void fp_free(void *self)
{
	struct fprobe *f = self;

	if (!f)
		return;
	if (f->ctx && f->ctx->unwinder) {
		pk_unwinder_set_ret_map(f->ctx->unwinder, NULL, NULL);
		pk_unwinder_set_resolver(f->ctx->unwinder, NULL, NULL);
	}
	pk_probes_free(f->p);
	pk_fprobe_matcher_release(&f->m);
	for (size_t i = 0; i < f->n_fns; i++) {
		free(f->fns[i].name);
		free(f->fns[i].module);
	}
	free(f->fns);
	free(f->role);
	pk_fprobe_stats_free(f->stats);
	if (f->memfd >= 0)
		close(f->memfd);
	free(f);
}

/* Live status line: calls of the probed functions so far. */
static uint64_t fp_status(void *self, const char **what)
{
	struct fprobe *f = self;

	*what = "probed calls";
	return f->calls;
}

static const struct pk_instrument_ops fprobe_ops = {
	.name = "function probe",
	.status = fp_status,
	.start = fp_start,
	.on_trap = fp_on_trap,
	.on_fork = fp_on_fork,
	.on_exec = fp_on_exec,
	.on_thread_exit = fp_on_thread_exit,
	.tick = fp_tick,
	.detach = fp_detach,
	.finish = fp_finish,
	.free = fp_free,
};

int pk_fprobe_create(const struct pk_options *opt, struct pk_instrument *out)
{
	struct fprobe *f;

	if (opt->alloc) {
		/* two int3 engines must not patch the same entry point */
		pk_error("--probe cannot be combined with --alloc in this build of perfkitd; "
			 "record them in two sessions");
		return -1;
	}
	if (opt->probe_backend && strcmp(opt->probe_backend, "auto") != 0 &&
	    strcmp(opt->probe_backend, "int3") != 0) {
		pk_error("--probe-backend '%s' applies to --alloc only; --probe places int3 probes "
			 "(leave --probe-backend out, or give int3)", opt->probe_backend);
		return -1;
	}
	f = pk_xcalloc(1, sizeof(*f));
	f->opt = opt;
	f->memfd = -1;
	f->max_fns = opt->probe_limit > 0 ? (size_t)opt->probe_limit : 100;
	f->fns = pk_xcalloc(f->max_fns, sizeof(*f->fns));
	f->stats = pk_fprobe_stats_new(f->max_fns);
	pk_histogram_init(&f->handle_ns);
	pk_fprobe_matcher_init(&f->m, opt->probes, opt->n_probes);
	f->rtt_ns = measure_stop_rtt();
	pk_fprobe_stats_set_correction(f->stats, f->rtt_ns);
	out->ops = &fprobe_ops;
	out->self = f;
	out->follow_forks = 1;
	return 0;
}
