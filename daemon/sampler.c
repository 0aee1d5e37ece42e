/*
 * sampler.c - interrupt, copy, resume; unwind later (see sampler.h).
 */
#include <errno.h>
#include <stdio.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <unistd.h>

#include "daemon/sampler.h"
#include "daemon/target.h"
#include "error.h"
#include "util.h"

/* How long a round waits, spinning, for the stops it asked for; stops
 * that come later are taken by the main loop when SIGCHLD wakes it. */
#define SPIN_NS 50000ull
#define PAGE 4096u

static void on_interrupt(void *ctx, pid_t tid);
static int was_off_cpu(struct pk_sampler *s, struct pk_thread *th);

void pk_sampler_init(struct pk_sampler *s, struct pk_tracer *tracer,
		     struct pk_unwinder *unwinder, struct pk_recorder *recorder,
		     int wall, int event, size_t stack_bytes, uint64_t start_ns, uint64_t period_ns)
{
	memset(s, 0, sizeof(*s));
	s->tracer = tracer;
	s->unwinder = unwinder;
	s->recorder = recorder;
	s->wall = wall;
	s->event = event;
	s->stack_bytes = stack_bytes;
	s->start_ns = start_ns;
	s->period_ns = period_ns;
	s->affinity_known = sched_getaffinity(0, sizeof(s->own_cpus), &s->own_cpus) == 0;
	s->cur_cpus = s->own_cpus;
	pk_histogram_init(&s->stats.stop_ns);
	tracer->hooks.on_interrupt = on_interrupt;
	tracer->hooks.interrupt_ctx = s;
}

void pk_sampler_release(struct pk_sampler *s)
{
	size_t i;

	if (!s)
		return;
	pk_sampler_perf_close(s);
	for (i = 0; i < s->cap_captures; i++)
		free(s->captures[i].stack);
	free(s->captures);
	s->captures = NULL;
	s->n_captures = s->cap_captures = 0;
	if (s->tracer && s->tracer->hooks.on_interrupt == on_interrupt)
		s->tracer->hooks.on_interrupt = NULL;
}

/* The thread's scheduler state from its kept-open stat file, and the CPU
 * it last ran on (*cpu, -1 if unknown); 0 if gone. */
static char thread_state(const struct pk_thread *th, int *cpu)
{
	char buf[512];
	struct pk_proc_stat st;
	ssize_t n;

	if (th->stat_fd < 0)
		return 0;
	n = pread(th->stat_fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if (pk_proc_parse_stat(buf, &st) < 0)
		return 0;
	*cpu = st.processor;
	return st.state;
}

/*
 * Keep perfkitd off the CPUs where the target's threads run, while others
 * are free.  perfkitd runs at real-time priority (see session.c): woken on
 * the target's CPU it would take that CPU from the target for its whole
 * unwinding and symbolizing, and the real-time scheduler keeps a task on
 * its previous CPU.  Measured at 99 Hz on a CPU-bound target: +1.4% with
 * both on one CPU, +0.9% apart.  The user's own affinity is respected.
 */
static void avoid_target_cpus(struct pk_sampler *s, const cpu_set_t *busy)
{
	cpu_set_t want;
	int cpu, any = 0;

	if (!s->affinity_known)
		return;
	CPU_ZERO(&want);
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (CPU_ISSET(cpu, &s->own_cpus) && !CPU_ISSET(cpu, busy)) {
			CPU_SET(cpu, &want);
			any = 1;
		}
	}
	if (!any)
		want = s->own_cpus;
	if (CPU_EQUAL(&want, &s->cur_cpus))
		return;
	if (sched_setaffinity(0, sizeof(want), &want) == 0)
		s->cur_cpus = want;
}

/*
 * Copy up to len bytes of the stack from sp.  The remote side is split
 * into page-sized pieces so that a copy running past the end of the stack
 * mapping stops there (process_vm_readv transfers whole iovec elements).
 */
static size_t copy_stack(pid_t tid, uint64_t sp, unsigned char *buf, size_t len)
{
	struct iovec local = { buf, len };
	struct iovec remote[(1024 * 1024) / PAGE + 1];
	size_t n = 0, done = 0;
	uint64_t a = sp;
	ssize_t got;

	while (done < len && n < sizeof(remote) / sizeof(remote[0])) {
		size_t chunk = PAGE - (size_t)(a % PAGE);

		if (chunk > len - done)
			chunk = len - done;
		remote[n].iov_base = (void *)(uintptr_t)a;
		remote[n].iov_len = chunk;
		n++;
		a += chunk;
		done += chunk;
	}
	got = process_vm_readv(tid, &local, 1, remote, n, 0);
	return got > 0 ? (size_t)got : 0;
}

static struct pk_sampler *sampler_of(void *ctx)
{
	return ctx;
}

/* The stop window: registers, stack copy, resume.  Nothing else. */
static void on_interrupt(void *ctx, pid_t tid)
{
	struct pk_sampler *s = sampler_of(ctx);
	struct pk_thread *th = pk_tracer_find(s->tracer, tid);
	struct pk_capture *c;
	int have_regs;

	if (!th)
		return;
	if (s->n_captures == s->cap_captures) {
		size_t old = s->cap_captures;

		pk_xgrow((void **)&s->captures, &s->cap_captures, s->n_captures + 1, sizeof(*s->captures));
		memset(s->captures + old, 0, (s->cap_captures - old) * sizeof(*s->captures));
	}
	c = &s->captures[s->n_captures];
	if (!c->stack)
		c->stack = pk_xmalloc(s->stack_bytes);
	have_regs = ptrace(PTRACE_GETREGS, tid, NULL, &c->regs) == 0;
	if (have_regs && (long long)c->regs.orig_rax != -1 && was_off_cpu(s, th)) {
		pk_tracer_resume(s->tracer, th);
		return;
	}
	c->len = have_regs ? copy_stack(tid, c->regs.rsp, c->stack, s->stack_bytes) : 0;
	pk_tracer_resume(s->tracer, th);
	pk_histogram_add(&s->stats.stop_ns, pk_monotonic_ns() - th->interrupt_ns);
	if (!have_regs)
		return;
	/* orig_rax is -1 unless the thread stopped entering or leaving a
	 * system call: there the interrupt may have waited for the call, so
	 * the leaf can be the call's wrapper rather than the code it
	 * interrupted (skid, counted and shown by 'sessions show'). */
	if ((long long)c->regs.orig_rax != -1)
		s->stats.syscall_stops++;
	c->tid = tid;
	c->state = th->sample_state;
	c->time_ns = th->interrupt_ns;
	th->samples++;
	s->n_captures++;
}

int pk_sampler_record(struct pk_sampler *s, pid_t tid, uint64_t time_ns, const struct user_regs_struct *regs,
		      const unsigned char *stack, size_t len, char state)
{
	struct pk_unwind_input in;
	int n, complete = 0;
	int64_t stack_id;

	in.regs = regs;
	in.stack_addr = regs->rsp;
	in.stack = stack;
	in.stack_len = len;
	n = pk_unwind(s->unwinder, &in, s->ips, PK_MAX_FRAMES, &complete);
	if (n <= 0) {
		s->ips[0] = regs->rip;
		n = 1;
	}
	stack_id = pk_recorder_stack(s->recorder, s->ips, n);
	if (stack_id < 0)
		return (int)stack_id;
	s->stats.samples++;
	if (complete)
		s->stats.complete++;
	return pk_recorder_sample(s->recorder, s->event, tid,
				  time_ns > s->start_ns ? (int64_t)(time_ns - s->start_ns) : 0, stack_id, 1, state);
}

static int record_capture(struct pk_sampler *s, const struct pk_capture *c)
{
	return pk_sampler_record(s, c->tid, c->time_ns, &c->regs, c->stack, c->len, s->wall ? c->state : 0);
}

int pk_sampler_process(struct pk_sampler *s)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < s->n_captures && rc >= 0; i++)
		rc = record_capture(s, &s->captures[i]);
	s->n_captures = 0;
	if (rc < 0 && !s->error)
		s->error = rc;
	return rc < 0 ? rc : 0;
}

/* CPU time used (ns) and times put on a CPU, from the thread's
 * kept-open schedstat file; -1 if unreadable. */
static int read_schedstat(const struct pk_thread *th, unsigned long long *runtime,
			  unsigned long long *switch_ins)
{
	char buf[128];
	unsigned long long delay;
	ssize_t n;

	if (th->schedstat_fd < 0)
		return -1;
	n = pread(th->schedstat_fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return sscanf(buf, "%llu %llu %llu", runtime, &delay, switch_ins) == 3 ? 0 : -1;
}

/*
 * Did a stop at a system call boundary come from a thread that was
 * waiting for a CPU when it was asked?  Then it stopped where the
 * scheduler last took it off a CPU, and the scheduler favours the exit of
 * a system call for that: on a loaded machine such stops would put the
 * call's wrapper at the leaf far more often than the thread runs there
 * (a program that reads the clock between stages showed a fifth of its
 * samples in __vdso_clock_gettime, with under 1% of its CPU time).  A
 * thread preempted elsewhere stopped at a point as random as the timer
 * tick that took its CPU, a fair sample, and is kept.  A thread running
 * when asked stops without being put on a CPU again; one that waited must
 * be put on one first, which the switch count in schedstat shows.  Such a
 * stop is not kept and the thread keeps its CPU credit: it is asked again
 * at a later tick.
 */
static int was_off_cpu(struct pk_sampler *s, struct pk_thread *th)
{
	unsigned long long runtime, switch_ins;

	if (s->wall || th->runtime_ns == UINT64_MAX)
		return 0;
	if (read_schedstat(th, &runtime, &switch_ins) < 0 || switch_ins <= th->switch_ins)
		return 0;
	th->cpu_credit_ns += (int64_t)s->period_ns;
	s->stats.off_cpu++;
	return 1;
}

/*
 * CPU mode samples by CPU time, as perf's cpu-clock does: a running thread
 * is sampled once per period of CPU time it has used (from
 * /proc/.../schedstat, nanoseconds), not once per tick of the wall clock.
 * With more busy threads than CPUs a thread waiting for a CPU would
 * otherwise be asked as often as one that runs, and shares would follow
 * the scheduler's whims rather than CPU time.  Returns 1 to sample.
 */
static int cpu_due(struct pk_sampler *s, struct pk_thread *th)
{
	unsigned long long runtime, switch_ins;
	int64_t max_credit = 8 * (int64_t)s->period_ns;

	if (read_schedstat(th, &runtime, &switch_ins) < 0)
		return 1;
	if (th->runtime_ns != UINT64_MAX && runtime >= th->runtime_ns)
		th->cpu_credit_ns += (int64_t)(runtime - th->runtime_ns);
	else if (th->runtime_ns == UINT64_MAX)
		th->cpu_credit_ns = (int64_t)s->period_ns; /* first look: sample now */
	th->runtime_ns = runtime;
	th->switch_ins = switch_ins;
	/* A thread that ran long unobserved does not get a burst of samples. */
	if (th->cpu_credit_ns > max_credit)
		th->cpu_credit_ns = max_credit;
	if (th->cpu_credit_ns < (int64_t)s->period_ns / 2)
		return 0;
	th->cpu_credit_ns -= (int64_t)s->period_ns;
	return 1;
}

static size_t pending_interrupts(const struct pk_tracer *t)
{
	size_t i, n = 0;

	for (i = 0; i < t->n_threads; i++)
		n += t->threads[i].interrupt_pending;
	return n;
}

int pk_sampler_round(struct pk_sampler *s)
{
	struct pk_tracer *t = s->tracer;
	uint64_t start;
	size_t i;

	cpu_set_t busy;
	int cpu;

	s->stats.rounds++;
	if (s->perf)
		return pk_sampler_perf_drain(s);
	CPU_ZERO(&busy);
	for (i = 0; i < t->n_threads; i++) {
		struct pk_thread *th = &t->threads[i];
		char st;

		if (th->group_stop || th->exiting || th->stopped || th->foreign)
			continue;
		st = thread_state(th, &cpu);
		if (st == 'R' && cpu >= 0 && cpu < CPU_SETSIZE)
			CPU_SET(cpu, &busy);
		if (!st || st == 'Z' || st == 'X' || st == 'T' || st == 't')
			continue;
		if (!s->wall && st != 'R')
			continue;
		if (th->interrupt_pending) {
			s->stats.lost++;
			continue;
		}
		if (!s->wall && !cpu_due(s, th))
			continue;
		th->sample_state = st;
		pk_tracer_interrupt(t, th);
	}
	avoid_target_cpus(s, &busy);
	/* Take the stops as they come; a thread waiting for a CPU comes later. */
	start = pk_monotonic_ns();
	while (pending_interrupts(t) && pk_monotonic_ns() - start < SPIN_NS) {
		if (!pk_tracer_drain(t))
			sched_yield();
	}
	return pk_sampler_process(s);
}
