/*
 * session.c - one recording from start to end (see session.h).
 *
 * The loop waits on a signalfd (SIGCHLD for ptrace stops, SIGINT, SIGTERM,
 * SIGHUP) and a timerfd ticking at the sampling rate.  Whatever happens,
 * the target is let go through pk_tracer_detach_all() before the session
 * is closed, and the session ends "complete" or "aborted", never
 * "recording".
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/background.h"
#include "daemon/instrument.h"
#include "daemon/launch.h"
#include "daemon/maps.h"
#include "daemon/recorder.h"
#include "daemon/sampler.h"
#include "daemon/session.h"
#include "daemon/status.h"
#include "daemon/target.h"
#include "daemon/tracer.h"
#include "daemon/unwind.h"
#include "dbpath.h"
#include "error.h"
#include "store/store.h"
#include "util.h"

#define FLUSH_INTERVAL_NS 1000000000ull
#define PERF_DRAIN_NS 4000000ull  /* perf sampler: rings read every 4 ms */
#define MAX_INSTRUMENTS 8

#define FOR_EACH_INSTRUMENT(r, in) \
	for (struct pk_instrument *in = (r)->instruments; in < (r)->instruments + (r)->n_instruments; in++)
#define CPU_POLL_INTERVAL_NS 100000000ull

struct recording {
	const struct pk_options *opt;
	struct pk_dbpath db;
	struct pk_store *st;
	struct pk_session sess;
	int have_session;
	struct pk_tracer tracer;
	struct pk_maps maps;
	struct pk_unwinder *unwinder;
	struct pk_recorder *recorder;
	struct pk_sampler sampler;
	int sampling;
	int sigfd, timerfd;
	sigset_t orig_mask;
	uint64_t start_ns, end_ns;
	int stop_requested;
	int run_mode;
	struct pk_status_line status;
	uint64_t cpu_start_ticks[2], cpu_last_ticks[2];
	int cpu_known;
	struct rusage self_start;
	int priority;  /* raise_priority() */
	struct pk_instrument instruments[MAX_INSTRUMENTS];
	size_t n_instruments;
	int instruments_started;
	struct pk_instrument_ctx ictx;
	const struct pk_session_view *view;  /* perfkitd top; NULL otherwise */
};

static void recording_init(struct recording *r, const struct pk_options *opt)
{
	memset(r, 0, sizeof(*r));
	r->opt = opt;
	r->sigfd = r->timerfd = -1;
	pk_status_init(&r->status, opt->quiet || opt->background);
}

static int open_store(struct recording *r)
{
	char err[512];
	int rc;

	if (pk_dbpath_resolve(r->opt->db, &r->db, err, sizeof(err)) < 0) {
		pk_error("%s", err);
		return -1;
	}
	rc = pk_dbpath_prepare(&r->db);
	if (rc < 0) {
		pk_error("cannot create the directory for '%s': %s; pass --db PATH or set PERFKIT_DB",
			 r->db.path, strerror(-rc));
		return -1;
	}
	if (pk_store_open(r->db.path, PK_STORE_MODE_WRITE, &r->st, err, sizeof(err)) != PK_STORE_OK) {
		pk_error("%s", err);
		return -1;
	}
	pk_dbpath_chown(&r->db, r->db.path);
	/* a name in use: refuse now, before the target is touched or run */
	if (r->opt->name && pk_store_session_name_free(r->st, r->opt->name) != PK_STORE_OK) {
		pk_error("cannot start a session in '%s': %s", r->db.path, pk_store_errmsg(r->st));
		return -1;
	}
	return 0;
}

static int block_signals(struct recording *r)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, &r->orig_mask) < 0)
		return -1;
	r->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return r->sigfd < 0 ? -1 : 0;
}

static void read_cpu(struct recording *r)
{
	struct pk_proc_stat st;

	if (r->tracer.exited || pk_proc_read_stat(r->tracer.pid, 0, &st) < 0)
		return;
	if (!r->cpu_known) {
		r->cpu_start_ticks[0] = st.utime_ticks;
		r->cpu_start_ticks[1] = st.stime_ticks;
		r->cpu_known = 1;
	}
	r->cpu_last_ticks[0] = st.utime_ticks;
	r->cpu_last_ticks[1] = st.stime_ticks;
}

static void on_exec(void *ctx, pid_t pid)
{
	struct recording *r = ctx;

	if (pk_maps_load(&r->maps, pid) < 0)
		pk_warn("cannot read the memory map of PID %d after exec", (int)pid);
	if (r->unwinder)
		pk_unwinder_flush(r->unwinder);
	if (r->recorder)
		pk_recorder_flush_caches(r->recorder);
	if (r->instruments_started)
		FOR_EACH_INSTRUMENT(r, in)
			if (in->ops->on_exec)
				in->ops->on_exec(in->self, pid);
}

/* ---- instruments (allocations, probes, counters) --------------------- */

static int create_instruments(struct recording *r)
{
	int n = pk_instruments_create(r->opt, r->instruments, MAX_INSTRUMENTS);

	if (n < 0)
		return -1;
	r->n_instruments = (size_t)n;
	FOR_EACH_INSTRUMENT(r, in)
		if (in->follow_forks)
			r->tracer.follow_forks = 1;
	return 0;
}

static int on_trap(void *ctx, pid_t tid)
{
	struct recording *r = ctx;

	FOR_EACH_INSTRUMENT(r, in)
		if (in->ops->on_trap && in->ops->on_trap(in->self, tid) > 0)
			return 1;
	return 0;
}

static void on_fork(void *ctx, pid_t child, pid_t parent)
{
	struct recording *r = ctx;

	FOR_EACH_INSTRUMENT(r, in)
		if (in->ops->on_fork)
			in->ops->on_fork(in->self, child, parent);
}

static void on_thread(void *ctx, pid_t tid)
{
	struct recording *r = ctx;

	if (r->sampling)
		pk_sampler_thread_new(&r->sampler, tid);
	if (!r->instruments_started)
		return;
	FOR_EACH_INSTRUMENT(r, in)
		if (in->ops->on_thread_new)
			in->ops->on_thread_new(in->self, tid);
}

static void on_thread_exiting(void *ctx, pid_t tid)
{
	struct recording *r = ctx;

	FOR_EACH_INSTRUMENT(r, in)
		if (in->ops->on_thread_exiting)
			in->ops->on_thread_exiting(in->self, tid);
}

static void on_thread_gone(void *ctx, pid_t tid)
{
	struct recording *r = ctx;

	if (r->sampling)
		pk_sampler_thread_gone(&r->sampler, tid);
	FOR_EACH_INSTRUMENT(r, in)
		if (in->ops->on_thread_exit)
			in->ops->on_thread_exit(in->self, tid);
}

static void before_detach(void *ctx, const pid_t *tids, size_t n)
{
	struct recording *r = ctx;

	if (!r->instruments_started)
		return;
	FOR_EACH_INSTRUMENT(r, in)
		if (in->ops->detach)
			in->ops->detach(in->self, tids, n);
}

/* Start every instrument; the process is stopped at exec in run mode. */
static int start_instruments(struct recording *r)
{
	r->ictx.opt = r->opt;
	r->ictx.tracer = &r->tracer;
	r->ictx.st = r->st;
	r->ictx.sid = r->sess.id;
	r->ictx.maps = &r->maps;
	r->ictx.unwinder = r->unwinder;
	r->ictx.recorder = r->recorder;
	r->ictx.start_ns = r->start_ns;
	r->ictx.run_mode = r->run_mode;
	r->instruments_started = 1;
	FOR_EACH_INSTRUMENT(r, in)
		if (in->ops->start && in->ops->start(in->self, &r->ictx) < 0)
			return -1;
	return 0;
}

static int instruments_busy(struct recording *r)
{
	int most = 0;

	FOR_EACH_INSTRUMENT(r, in) {
		int b = in->ops->busy ? in->ops->busy(in->self) : 0;

		if (b > most)
			most = b;
	}
	return most;
}

static int tick_instruments(struct recording *r, uint64_t now)
{
	FOR_EACH_INSTRUMENT(r, in)
		if (in->ops->tick && in->ops->tick(in->self, now) < 0)
			return -1;
	return 0;
}

/* Results into the store, then release.  1 when one failed. */
static int finish_instruments(struct recording *r)
{
	int failed = 0;

	FOR_EACH_INSTRUMENT(r, in) {
		int rc = r->instruments_started && r->have_session && in->ops->finish ? in->ops->finish(in->self) : 0;

		if (rc == -1)
			pk_error("cannot store the %s results of session '%s'", in->ops->name, r->sess.name);
		failed |= rc < 0;
		if (in->ops->free)
			in->ops->free(in->self);
	}
	r->n_instruments = 0;
	return failed;
}

static void set_hooks(struct recording *r, struct pk_tracer_hooks *hooks)
{
	memset(hooks, 0, sizeof(*hooks));
	hooks->ctx = r;
	hooks->on_exec = on_exec;
	hooks->on_trap = on_trap;
	hooks->on_fork = on_fork;
	hooks->on_thread = on_thread;
	hooks->on_thread_gone = on_thread_gone;
	hooks->on_thread_exiting = on_thread_exiting;
	hooks->before_detach = before_detach;
}

static int begin_session(struct recording *r, const char *command, pid_t pid)
{
	struct utsname un;
	int rc;

	uname(&un);
	memset(&r->sess, 0, sizeof(r->sess));
	r->sess.name = r->opt->name ? pk_xstrdup(r->opt->name) : NULL;
	r->sess.command = pk_xstrdup(command);
	r->sess.mode = pk_xstrdup(r->opt->mode == PK_MODE_WALL ? "wall" : "cpu");
	r->sess.host = pk_xstrdup(un.nodename);
	r->sess.kernel = pk_xstrdup(un.release);
	r->sess.pid = pid;
	r->sess.recorder_pid = getpid();
	r->sess.frequency = r->opt->frequency;
	r->sess.started_ns = (int64_t)pk_realtime_ns();
	r->sess.exit_status = -1;
	rc = pk_store_session_begin(r->st, &r->sess);
	if (rc != PK_STORE_OK) {
		pk_error("cannot start a session in '%s': %s", r->db.path, pk_store_errmsg(r->st));
		return -1;
	}
	r->have_session = 1;
	pk_dbpath_chown(&r->db, r->db.path);
	return 0;
}

/*
 * Let perfkitd preempt the target the moment its timer fires.  When both
 * share a CPU, a normal-priority perfkitd only gets the CPU at the
 * target's next scheduling point - mostly the exit of a system call - and
 * every sample lands there (measured: 90% of samples at a syscall site,
 * against 1.8% with SCHED_FIFO).  perfkitd blocks between ticks and its
 * busy-wait is bounded, so a real-time priority of 1 costs the system
 * nothing; SCHED_RESET_ON_FORK keeps it from leaking into children.
 * Returns 2 for SCHED_FIFO, 1 for nice -20, 0 when neither is allowed.
 */
static int raise_priority(void)
{
	struct sched_param sp = { .sched_priority = 1 };

	if (sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &sp) == 0)
		return 2;
	if (setpriority(PRIO_PROCESS, 0, -20) == 0)
		return 1;
	return 0;
}

static int start_sampling(struct recording *r)
{
	struct itimerspec its;
	uint64_t period, tick;
	int event;
	int wall = r->opt->mode == PK_MODE_WALL;

	if (pk_maps_load(&r->maps, r->tracer.pid) < 0) {
		pk_perror("cannot read /proc/%d/maps", (int)r->tracer.pid);
		return -1;
	}
	r->unwinder = pk_unwinder_new(r->tracer.pid, &r->maps);
	if (!r->unwinder) {
		pk_perror("cannot set up the unwinder");
		return -1;
	}
	r->recorder = pk_recorder_new(r->st, r->sess.id, r->tracer.pid, &r->maps);
	if (!r->recorder)
		return -1;
	event = pk_recorder_event(r->recorder, wall ? "wall" : "cpu", "samples");
	if (event < 0) {
		pk_error("cannot record in '%s': %s", r->db.path, pk_store_errmsg(r->st));
		return -1;
	}
	r->start_ns = pk_monotonic_ns();
	period = (uint64_t)(1e9 / r->opt->frequency);
	if (!period)
		period = 1;
	pk_sampler_init(&r->sampler, &r->tracer, r->unwinder, r->recorder, wall, event,
			r->opt->stack_bytes, r->start_ns, period);
	r->sampling = 1;
	tick = period;
	if (!wall && r->opt->sampler != PK_SAMPLER_PTRACE) {
		int err = pk_sampler_perf_start(&r->sampler);

		if (err < 0 && r->opt->sampler == PK_SAMPLER_PERF) {
			pk_error("--sampler perf: perf_event_open(cpu-clock) on PID %d failed: %s; "
				 "lower /proc/sys/kernel/perf_event_paranoid, run as root, or use "
				 "--sampler ptrace", (int)r->tracer.pid, strerror(-err));
			return -1;
		}
		/* The kernel takes the samples: the timer only drains the
		 * rings, which hold over 100 samples per thread. */
		if (!err && tick < PERF_DRAIN_NS)
			tick = PERF_DRAIN_NS;
	}
	r->priority = raise_priority();
	getrusage(RUSAGE_SELF, &r->self_start);
	read_cpu(r);

	r->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (r->timerfd < 0) {
		pk_perror("cannot create a timer");
		return -1;
	}
	its.it_interval.tv_sec = (time_t)(tick / 1000000000u);
	its.it_interval.tv_nsec = (long)(tick % 1000000000u);
	its.it_value = its.it_interval;
	if (timerfd_settime(r->timerfd, 0, &its, NULL) < 0) {
		pk_perror("cannot start the sampling timer");
		return -1;
	}
	return 0;
}

/* A terminating signal: attach stops; run passes a sent one to PROG. */
static void on_signal(struct recording *r, const struct signalfd_siginfo *si)
{
	if (!r->run_mode) {
		r->stop_requested = 1;
		return;
	}
	/* From a terminal (SI_KERNEL) PROG got it as well; kill(2)ed: pass on. */
	if ((int)si->ssi_code == SI_USER || (int)si->ssi_code == SI_QUEUE)
		kill(r->tracer.pid, (int)si->ssi_signo);
}

/* Several at a time: a read that returns less than the buffer emptied the
 * queue, so the usual wake-up (one SIGCHLD) costs one read, not two. */
static void read_signals(struct recording *r)
{
	struct signalfd_siginfo si[8];
	ssize_t got;

	do {
		got = read(r->sigfd, si, sizeof(si));
		for (ssize_t i = 0; got > 0 && i < got / (ssize_t)sizeof(si[0]); i++)
			if (si[i].ssi_signo != SIGCHLD)
				on_signal(r, &si[i]);
	} while (got == (ssize_t)sizeof(si));
}

/* The live status line, with what the instruments count. */
static void update_status(struct recording *r, uint64_t now, uint64_t unwind_failures)
{
	struct pk_status_count extra[MAX_INSTRUMENTS];
	size_t n = 0;

	if (!r->status.enabled)
		return;
	FOR_EACH_INSTRUMENT(r, in) {
		if (!in->ops->status)
			continue;
		extra[n].what = NULL;
		extra[n].n = in->ops->status(in->self, &extra[n].what);
		if (extra[n].what)
			n++;
	}
	pk_status_update(&r->status, (double)(now - r->start_ns) / 1e9, r->sampler.stats.samples,
			 r->tracer.n_threads, unwind_failures, r->sampler.stats.lost, extra, n, 0);
}

/* Sample until duration, a stop signal, or the target's exit. */
static int sample_loop(struct recording *r)
{
	uint64_t deadline = r->opt->duration > 0 ? r->start_ns + (uint64_t)(r->opt->duration * 1e9) : 0;
	uint64_t last_flush = r->start_ns, last_cpu = r->start_ns;
	const struct pk_unwind_stats *us = pk_unwinder_stats(r->unwinder);
	int rc = 0;

	while (!r->tracer.exited && !r->stop_requested) {
		struct pollfd fds[3] = { { r->sigfd, POLLIN, 0 }, { r->timerfd, POLLIN, 0 },
					 { r->view ? r->view->fd : -1, POLLIN, 0 } };
		uint64_t now = pk_monotonic_ns(), expirations, wait_ns;
		int busy = instruments_busy(r);
		struct timespec ts;

		wait_ns = busy == PK_BUSY_NOW ? 0 : busy == PK_BUSY_SOON ? PK_BUSY_NAP_NS : 250000000;
		if (deadline) {
			if (now >= deadline)
				break;
			if (deadline - now < wait_ns)
				wait_ns = deadline - now;
		}
		ts.tv_sec = (time_t)(wait_ns / 1000000000u);
		ts.tv_nsec = (long)(wait_ns % 1000000000u);
		if (ppoll(fds, 3, &ts, NULL) < 0 && errno != EINTR) {
			pk_perror("ppoll");
			return -1;
		}
		if (fds[0].revents & POLLIN)
			read_signals(r);
		pk_tracer_drain_hot(&r->tracer);
		rc = pk_sampler_process(&r->sampler);
		if (rc >= 0 && (fds[1].revents & POLLIN) &&
		    read(r->timerfd, &expirations, sizeof(expirations)) == (ssize_t)sizeof(expirations) &&
		    !r->tracer.exited && !r->stop_requested)
			rc = pk_sampler_round(&r->sampler);
		if (rc < 0) {
			pk_error("cannot store samples in '%s': %s", r->db.path, pk_store_errmsg(r->st));
			return -1;
		}
		now = pk_monotonic_ns();
		if (tick_instruments(r, now) < 0)
			return -1;
		if (now - last_cpu >= CPU_POLL_INTERVAL_NS) {
			read_cpu(r);
			last_cpu = now;
		}
		if (now - last_flush >= FLUSH_INTERVAL_NS) {
			if (pk_store_flush(r->st) != PK_STORE_OK) {
				pk_error("cannot write to '%s': %s", r->db.path, pk_store_errmsg(r->st));
				return -1;
			}
			last_flush = now;
		}
		update_status(r, now, us->failures);
		if (r->view && r->view->tick(r->view->ctx, r->st, r->sess.id, r->tracer.n_threads,
					     (fds[2].revents & (POLLIN | POLLHUP)) != 0))
			r->stop_requested = 1;
	}
	return 0;
}

/* The sample loop is over (its result rc): note the end, and take the
 * samples still in the kernel's rings before the process is let go. */
static int end_sampling(struct recording *r, int rc)
{
	r->end_ns = pk_monotonic_ns();
	if (r->sampling && pk_sampler_end(&r->sampler) < 0 && rc >= 0) {
		pk_error("cannot store samples in '%s': %s", r->db.path, pk_store_errmsg(r->st));
		rc = -1;
	}
	return rc;
}

static void store_stats(struct recording *r, double user_s, double sys_s)
{
	const struct pk_sampler_stats *ss = &r->sampler.stats;
	const struct pk_unwind_stats *us = r->unwinder ? pk_unwinder_stats(r->unwinder) : NULL;
	struct rusage self;
	double duration = (double)(r->end_ns - r->start_ns) / 1e9, self_cpu, achieved;
	int64_t sid = r->sess.id;

	getrusage(RUSAGE_SELF, &self);
	self_cpu = (double)(self.ru_utime.tv_sec - r->self_start.ru_utime.tv_sec) +
		   (double)(self.ru_utime.tv_usec - r->self_start.ru_utime.tv_usec) / 1e6 +
		   (double)(self.ru_stime.tv_sec - r->self_start.ru_stime.tv_sec) +
		   (double)(self.ru_stime.tv_usec - r->self_start.ru_stime.tv_usec) / 1e6;
	if (r->opt->mode == PK_MODE_WALL)
		achieved = duration > 0 ? (double)ss->rounds / duration : 0;
	else
		achieved = user_s + sys_s > 0 ? (double)ss->samples / (user_s + sys_s) : 0;

	pk_store_set_stat(r->st, sid, "threads", (double)r->tracer.threads_seen);
	if (r->tracer.spin_hits || r->tracer.hot_stops) {
		/* probe traps: how the tracer waited for them */
		pk_store_set_stat(r->st, sid, "trap_spin_stops", (double)r->tracer.spin_hits);
		pk_store_set_stat(r->st, sid, "trap_blocking_stops", (double)r->tracer.hot_stops);
	}
	pk_store_set_stat(r->st, sid, "duration_s", duration);
	pk_store_set_stat(r->st, sid, "user_cpu_s", user_s);
	pk_store_set_stat(r->st, sid, "sys_cpu_s", sys_s);
	pk_store_set_stat(r->st, sid, "achieved_hz", achieved);
	pk_store_set_stat(r->st, sid, "sampler_perf", (double)r->sampler.perf);
	if (r->sampler.perf) {
		pk_store_set_stat(r->st, sid, "lost_samples", (double)ss->kernel_lost);
		if (ss->unopened)
			pk_store_set_stat(r->st, sid, "threads_unsampled", (double)ss->unopened);
	} else {
		pk_store_set_stat(r->st, sid, "lost_samples", (double)ss->lost);
		pk_store_set_stat(r->st, sid, "syscall_stops", (double)ss->syscall_stops);
		if (r->opt->mode != PK_MODE_WALL)
			pk_store_set_stat(r->st, sid, "off_cpu_stops", (double)ss->off_cpu);
		pk_store_set_stat(r->st, sid, "stop_median_us",
				  (double)pk_histogram_percentile(&ss->stop_ns, 50) / 1e3);
		pk_store_set_stat(r->st, sid, "stop_p99_us",
				  (double)pk_histogram_percentile(&ss->stop_ns, 99) / 1e3);
	}
	pk_store_set_stat(r->st, sid, "recorder_priority", (double)r->priority);
	pk_store_set_stat(r->st, sid, "unwind_failures", us ? (double)us->failures : 0);
	pk_store_set_stat(r->st, sid, "complete_stacks", (double)ss->complete);
	pk_store_set_stat(r->st, sid, "recorder_cpu_s", self_cpu);
	pk_store_set_stat(r->st, sid, "recorder_cpu_per_sample_us",
			  ss->samples ? self_cpu * 1e6 / (double)ss->samples : 0);
	if (us)
		pk_store_set_stat(r->st, sid, "unwind_remote_reads", (double)us->remote_reads);
}

/* End the session (complete or aborted) and close everything.  1 when
 * an instrument's results failed (reported), else 0. */
static int finish(struct recording *r, const char *status, int exit_status, double user_s, double sys_s)
{
	int failed;

	pk_status_clear(&r->status);
	failed = finish_instruments(r);
	if (r->have_session) {
		if (!r->end_ns)
			r->end_ns = pk_monotonic_ns();
		if (r->sampling)
			store_stats(r, user_s, sys_s);
		if (pk_store_session_end(r->st, r->sess.id, status, exit_status,
					 (int64_t)pk_realtime_ns()) != PK_STORE_OK)
			pk_error("cannot complete session '%s' in '%s': %s", r->sess.name, r->db.path,
				 pk_store_errmsg(r->st));
		else if (r->sampling)
			pk_info("session '%s': %llu samples, %zu thread%s (perfkit report %s)", r->sess.name,
				(unsigned long long)r->sampler.stats.samples, r->tracer.threads_seen,
				r->tracer.threads_seen == 1 ? "" : "s", r->sess.name);
		pk_dbpath_chown(&r->db, r->db.path);
	}
	if (r->sampling)
		pk_sampler_release(&r->sampler);
	pk_recorder_free(r->recorder);
	pk_unwinder_free(r->unwinder);
	pk_maps_release(&r->maps);
	pk_tracer_release(&r->tracer);
	pk_session_release(&r->sess);
	pk_store_close(r->st);
	pk_dbpath_release(&r->db);
	if (r->sigfd >= 0)
		close(r->sigfd);
	if (r->timerfd >= 0)
		close(r->timerfd);
	return failed;
}

static double ticks_to_s(uint64_t ticks)
{
	return (double)ticks / (double)pk_clock_ticks();
}

static char *log_path_for(const char *db)
{
	const char *slash = strrchr(db, '/');

	if (!slash)
		return pk_xstrdup("perfkitd.log");
	return pk_xasprintf("%.*s/perfkitd.log", (int)(slash - db), db);
}

int pk_session_attach(const struct pk_options *opt)
{
	return pk_session_attach_view(opt, NULL);
}

int pk_session_attach_view(const struct pk_options *opt, const struct pk_session_view *view)
{
	struct recording r;
	struct pk_tracer_hooks hooks = { 0 };
	char msg[1024], comm[64], *cmdline;
	int rc, ok;

	recording_init(&r, opt);
	r.view = view;
	if (pk_target_check(opt->pid, msg, sizeof(msg)) < 0) {
		pk_error("%s", msg);
		return PK_EXIT_FAILURE;
	}
	if (open_store(&r) < 0) {
		finish(&r, "aborted", -1, 0, 0);
		return PK_EXIT_FAILURE;
	}
	if (opt->background) {
		/* An SQLite connection must not cross a fork: the store was
		 * opened above only to report its errors on the terminal. */
		pk_store_close(r.st);
		r.st = NULL;
		pk_dbpath_release(&r.db);
		rc = pk_background_fork();
		if (rc >= 0)
			return rc;
		if (open_store(&r) < 0) {
			finish(&r, "aborted", -1, 0, 0);
			return PK_EXIT_FAILURE;
		}
	}
	if (block_signals(&r) < 0) {
		pk_perror("cannot set up signal handling");
		finish(&r, "aborted", -1, 0, 0);
		return PK_EXIT_FAILURE;
	}
	set_hooks(&r, &hooks);
	pk_tracer_init(&r.tracer, opt->pid, &hooks);
	if (create_instruments(&r) < 0) {
		finish(&r, "aborted", -1, 0, 0);
		return PK_EXIT_FAILURE;
	}
	rc = pk_tracer_seize_all(&r.tracer);
	if (rc < 0) {
		pk_target_explain_seize(opt->pid, -rc, msg, sizeof(msg));
		pk_error("%s", msg);
		finish(&r, "aborted", -1, 0, 0);
		return PK_EXIT_FAILURE;
	}
	pk_proc_comm(opt->pid, comm, sizeof(comm));
	{
		char path[64], buf[4096];
		FILE *f;
		size_t n = 0;

		snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)opt->pid);
		f = fopen(path, "re");
		if (f) {
			n = fread(buf, 1, sizeof(buf) - 1, f);
			fclose(f);
		}
		while (n > 0 && buf[n - 1] == '\0')
			n--;
		for (size_t i = 0; i < n; i++)
			if (buf[i] == '\0')
				buf[i] = ' ';
		buf[n] = '\0';
		cmdline = pk_xstrdup(n ? buf : comm);
	}
	ok = begin_session(&r, cmdline, opt->pid) == 0 && start_sampling(&r) == 0 &&
	     start_instruments(&r) == 0;
	free(cmdline);
	if (!ok) {
		pk_tracer_detach_all(&r.tracer);
		finish(&r, "aborted", -1, 0, 0);
		return PK_EXIT_FAILURE;
	}
	if (opt->background) {
		char *log = log_path_for(r.db.path);

		pk_background_ready(r.sess.name, log);
		free(log);
	} else {
		pk_info("attached to PID %d ('%s'), %zu thread%s; recording session '%s'%s",
			(int)opt->pid, comm, r.tracer.n_threads, r.tracer.n_threads == 1 ? "" : "s",
			r.sess.name, opt->duration > 0 ? "" : " until Ctrl-C or exit");
	}
	rc = end_sampling(&r, sample_loop(&r));
	read_cpu(&r);
	if (pk_tracer_detach_all(&r.tracer) < 0)
		pk_warn("detaching from PID %d reported an error; the process may need a SIGCONT", (int)opt->pid);
	if (finish(&r, rc < 0 ? "aborted" : "complete", -1,
		   ticks_to_s(r.cpu_last_ticks[0] - r.cpu_start_ticks[0]),
		   ticks_to_s(r.cpu_last_ticks[1] - r.cpu_start_ticks[1])))
		rc = -1;
	return rc < 0 ? PK_EXIT_FAILURE : PK_EXIT_OK;
}

static int exit_code_of(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return PK_EXIT_FAILURE;
}

/* Let the seized child run until it has exec'd PROG (or failed to). */
static int wait_for_exec(struct recording *r, int exec_fd, const char *prog)
{
	int err = 0;
	ssize_t n;

	if (kill(r->tracer.pid, SIGCONT) < 0)
		return -1;
	while (!r->tracer.exec_count && !r->tracer.exited) {
		int status;
		pid_t tid = waitpid(-1, &status, __WALL);

		if (tid < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		pk_tracer_handle(&r->tracer, tid, status);
	}
	if (r->tracer.exec_count)
		return 0;
	n = read(exec_fd, &err, sizeof(err));
	if (n == (ssize_t)sizeof(err))
		pk_error("cannot run '%s': %s", prog, strerror(err));
	else
		pk_error("'%s' exited before it could be profiled", prog);
	return -1;
}

int pk_session_run(const struct pk_options *opt)
{
	struct recording r;
	struct pk_tracer_hooks hooks = { 0 };
	char path[4096], msg[1024], *cmdline;
	int status = 0, rc, exec_fd = -1, code, setup_failed;
	struct rusage ru;
	pid_t pid;

	recording_init(&r, opt);
	r.run_mode = 1;
	if (pk_launch_resolve(opt->argv[0], path, sizeof(path), msg, sizeof(msg), &code) < 0) {
		pk_error("%s", msg);
		return code;
	}
	if (open_store(&r) < 0) {
		finish(&r, "aborted", -1, 0, 0);
		return PK_EXIT_FAILURE;
	}
	if (block_signals(&r) < 0) {
		pk_perror("cannot set up signal handling");
		finish(&r, "aborted", -1, 0, 0);
		return PK_EXIT_FAILURE;
	}
	pid = pk_launch_stopped(path, opt->argv, &r.orig_mask, &exec_fd);
	if (pid < 0) {
		errno = -pid;
		pk_perror("cannot start '%s'", opt->argv[0]);
		finish(&r, "aborted", -1, 0, 0);
		return PK_EXIT_FAILURE;
	}
	set_hooks(&r, &hooks);
	pk_tracer_init(&r.tracer, pid, &hooks);
	if (create_instruments(&r) < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		finish(&r, "aborted", -1, 0, 0);
		return PK_EXIT_FAILURE;
	}
	/* Instruments start with the new program stopped at its exec. */
	r.tracer.hold_exec = r.n_instruments > 0;
	rc = pk_tracer_seize_child(&r.tracer);
	if (rc < 0) {
		pk_target_explain_seize(pid, -rc, msg, sizeof(msg));
		pk_error("%s", msg);
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		finish(&r, "aborted", -1, 0, 0);
		return PK_EXIT_FAILURE;
	}
	if (wait_for_exec(&r, exec_fd, opt->argv[0]) < 0) {
		close(exec_fd);
		if (!r.tracer.exited) {
			kill(pid, SIGKILL);
			while (!r.tracer.exited && waitpid(-1, &status, __WALL) > 0)
				pk_tracer_handle(&r.tracer, pid, status);
		}
		finish(&r, "aborted", -1, 0, 0);
		return 127;
	}
	close(exec_fd);
	cmdline = pk_options_command_line(opt);
	rc = begin_session(&r, cmdline, pid);
	free(cmdline);
	if (rc == 0)
		rc = start_sampling(&r);
	if (rc == 0 && r.n_instruments)
		rc = start_instruments(&r);
	/* perfkitd failed before PROG's own code ran (or, below, an
	 * instrument's results failed): exit as a failure */
	setup_failed = rc < 0;
	pk_tracer_resume_all(&r.tracer);
	if (rc == 0)
		rc = sample_loop(&r);
	rc = end_sampling(&r, rc);
	read_cpu(&r);
	if (r.tracer.exited) {
		status = r.tracer.exit_status;
		getrusage(RUSAGE_CHILDREN, &ru);
		if (finish(&r, rc < 0 ? "aborted" : "complete", exit_code_of(status),
			   (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
			   (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6))
			setup_failed = 1;
		return setup_failed ? PK_EXIT_FAILURE : exit_code_of(status);
	}
	/* Duration reached, a stop request or an error: PROG goes on alone. */
	pk_tracer_detach_all(&r.tracer);
	if (finish(&r, rc < 0 ? "aborted" : "complete", -1,
		   ticks_to_s(r.cpu_last_ticks[0] - r.cpu_start_ticks[0]),
		   ticks_to_s(r.cpu_last_ticks[1] - r.cpu_start_ticks[1])))
		setup_failed = 1;
	while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR)
		;
	return setup_failed ? PK_EXIT_FAILURE : exit_code_of(status);
}
