/*
 * sampler-perf.c - CPU mode sampled by the kernel (see sampler.h).
 *
 * Why: a ptrace stop costs the target its whole round trip (interrupt,
 * two context switches, perfkitd's copy of registers and stack), about
 * 25 us here, about 2.5% of its time at 999 Hz before its caches feel it.
 * A cpu-clock perf event on the thread takes the same registers and
 * stack copy in the timer interrupt that fires while the thread runs,
 * once per period of its CPU time, as perf record does: a few
 * microseconds, and never a sample of a thread that was waiting for a
 * CPU.  perfkitd still seizes every thread with ptrace (it follows
 * threads, exec and exit that way, and unwinds with the same unwinder);
 * it just does not interrupt them.  Where perf_event_open is refused
 * (perf_event_paranoid, seccomp, no CAP_PERFMON) the interrupt sampler is
 * used instead.
 */
#include <errno.h>
#include <linux/perf_event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "daemon/sampler.h"
#include "util.h"

/* cpu-clock on tid, sampling every period_ns of its CPU time; user and
 * kernel time alike (a sample in the kernel is unwound from the user
 * registers: its leaf is the system call's wrapper).  fd or -errno. */
static int open_clock(const struct pk_sampler *s, pid_t tid)
{
	struct perf_event_attr attr;
	int fd;

	pk_perf_sample_attr(&attr, s->period_ns, pk_perf_stack_bytes(s->stack_bytes));
	attr.type = PERF_TYPE_SOFTWARE;
	attr.config = PERF_COUNT_SW_CPU_CLOCK;
	attr.exclude_hv = 1;
	fd = (int)syscall(SYS_perf_event_open, &attr, tid, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0 && (errno == EACCES || errno == EPERM)) {
		attr.exclude_kernel = 1;
		fd = (int)syscall(SYS_perf_event_open, &attr, tid, -1, -1, PERF_FLAG_FD_CLOEXEC);
	}
	return fd < 0 ? -errno : fd;
}

static struct pk_perf_ring *find_ring(struct pk_sampler *s, pid_t tid)
{
	size_t i;

	for (i = 0; i < s->n_rings; i++)
		if (s->rings[i].tid == tid)
			return &s->rings[i];
	return NULL;
}

static int open_ring(struct pk_sampler *s, pid_t tid)
{
	int fd, rc;

	if (find_ring(s, tid))
		return 0;
	fd = open_clock(s, tid);
	if (fd < 0)
		return fd;
	pk_xgrow((void **)&s->rings, &s->cap_rings, s->n_rings + 1, sizeof(*s->rings));
	rc = pk_perf_ring_map(&s->rings[s->n_rings], fd, tid, pk_perf_stack_bytes(s->stack_bytes));
	if (rc == 0)
		s->n_rings++;
	return rc;
}

int pk_sampler_perf_start(struct pk_sampler *s)
{
	size_t i;
	int rc, opened = 0, err = 0;

	if (s->wall)
		return -EINVAL;
	pk_raise_fd_limit();  /* one descriptor per thread */
	for (i = 0; i < s->tracer->n_threads; i++) {
		if (s->tracer->threads[i].foreign)
			continue;
		rc = open_ring(s, s->tracer->threads[i].tid);
		if (rc == 0)
			opened++;
		else if (rc != -ESRCH)
			err = rc;
	}
	if (!opened || err) {
		pk_sampler_perf_close(s);
		return err ? err : -ESRCH;
	}
	s->perf = 1;
	return 0;
}

void pk_sampler_thread_new(struct pk_sampler *s, pid_t tid)
{
	struct pk_thread *th;

	if (!s->perf)
		return;
	th = pk_tracer_find(s->tracer, tid);
	if (th && th->foreign)
		return;
	if (open_ring(s, tid) < 0)
		s->stats.unopened++;
}

static int take(void *ctx, const struct pk_perf_sample *smp)
{
	struct pk_sampler *s = ctx;

	if (!smp->have_regs)
		return 0;  /* not the target's user code: nothing to unwind */
	return pk_sampler_record(s, smp->tid, smp->time_ns, &smp->regs, smp->stack, smp->stack_len, 0);
}

static int drain_one(struct pk_sampler *s, struct pk_perf_ring *r)
{
	int rc = pk_perf_ring_drain(r, &s->scratch, take, s, &s->stats.kernel_lost);

	if (rc < 0 && !s->error)
		s->error = rc;
	return rc;
}

void pk_sampler_thread_gone(struct pk_sampler *s, pid_t tid)
{
	struct pk_perf_ring *r = find_ring(s, tid);

	if (!r)
		return;
	drain_one(s, r);
	pk_perf_ring_close(r);
	*r = s->rings[--s->n_rings];
}

int pk_sampler_perf_drain(struct pk_sampler *s)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < s->n_rings && rc >= 0; i++)
		rc = drain_one(s, &s->rings[i]);
	return rc;
}

int pk_sampler_end(struct pk_sampler *s)
{
	int rc;

	if (!s->perf)
		return pk_sampler_process(s);
	rc = pk_sampler_perf_drain(s);
	pk_sampler_perf_close(s);
	return rc;
}

void pk_sampler_perf_close(struct pk_sampler *s)
{
	size_t i;

	for (i = 0; i < s->n_rings; i++)
		pk_perf_ring_close(&s->rings[i]);
	free(s->rings);
	s->rings = NULL;
	s->n_rings = s->cap_rings = 0;
	free(s->scratch.buf);
	s->scratch.buf = NULL;
	s->scratch.cap = 0;
}
