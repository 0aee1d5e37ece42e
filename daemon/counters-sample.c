/*
 * counters-sample.c - the --sample-on EVENT instrument: overflow sampling
 * of one perf event on every thread, each sample carrying the user
 * registers and a copy of the top of the user stack, unwound with the
 * session's unwinder and stored as samples of their own event (named as
 * perf names it, unit "events", weight = the sample period) so that
 * report, flamegraph and compare work on them as on CPU samples.
 *
 * The kernel writes samples into one ring buffer per thread; tick() drains
 * them.  A sample's IP is where the overflow interrupt landed, which may
 * be a few instructions after the one that caused the event (skid).
 * Records the kernel dropped because a ring was full are counted (lost).
 */
#include <errno.h>
#include <linux/perf_event.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/counters.h"
#include "daemon/perf-ring.h"
#include "error.h"
#include "util.h"

#define MAX_FRAMES 256

struct sampler_on {
	struct pk_instrument_ctx *ctx;
	const struct pk_counter_event *ev;
	uint64_t period;
	size_t stack_bytes;
	int event_id;
	struct pk_perf_ring *threads;
	size_t n_threads, cap_threads;
	struct pk_perf_scratch scratch;
	uint64_t samples, lost, weight, no_regs;
};

static void fill_attr(const struct sampler_on *s, struct perf_event_attr *attr)
{
	pk_perf_sample_attr(attr, s->period, s->stack_bytes);
}

/* One sample: unwind, store. */
static int take_sample(void *ctx, const struct pk_perf_sample *smp)
{
	struct sampler_on *s = ctx;
	uint64_t ips[MAX_FRAMES];
	int n = 0, complete;
	int64_t stack_id, t_ns;

	if (smp->have_regs) {
		struct pk_unwind_input in;

		in.regs = &smp->regs;
		in.stack_addr = smp->regs.rsp;
		in.stack = smp->stack;
		in.stack_len = smp->stack_len;
		n = pk_unwind(s->ctx->unwinder, &in, ips, MAX_FRAMES, &complete);
	}
	if (n <= 0) {
		/* No user registers (a kernel thread's sample): the IP alone. */
		s->no_regs++;
		ips[0] = smp->ip;
		n = 1;
	}
	stack_id = pk_recorder_stack(s->ctx->recorder, ips, n);
	if (stack_id < 0)
		return -1;
	t_ns = smp->time_ns > s->ctx->start_ns ? (int64_t)(smp->time_ns - s->ctx->start_ns) : 0;
	s->samples++;
	s->weight += s->period;
	return pk_recorder_sample(s->ctx->recorder, s->event_id, (int32_t)smp->tid, t_ns, stack_id,
				  (int64_t)s->period, 0) < 0 ? -1 : 0;
}

/* Drain one ring.  Returns 0, or -1 when the store failed. */
static int drain(struct sampler_on *s, struct pk_perf_ring *t)
{
	return pk_perf_ring_drain(t, &s->scratch, take_sample, s, &s->lost);
}

static struct pk_perf_ring *find_thread(struct sampler_on *s, pid_t tid)
{
	size_t i;

	for (i = 0; i < s->n_threads; i++)
		if (s->threads[i].tid == tid)
			return &s->threads[i];
	return NULL;
}

/* Open the sampling event on tid with its ring.  Returns 0 or -errno. */
static int open_one(struct sampler_on *s, pid_t tid)
{
	struct perf_event_attr attr;
	int fd, user_only, rc;

	if (find_thread(s, tid))
		return 0;
	fill_attr(s, &attr);
	fd = pk_counter_open(s->ev, tid, -1, &attr, &user_only);
	if (fd < 0)
		return fd;
	pk_xgrow((void **)&s->threads, &s->cap_threads, s->n_threads + 1, sizeof(*s->threads));
	rc = pk_perf_ring_map(&s->threads[s->n_threads], fd, tid, s->stack_bytes);
	if (rc == 0)
		s->n_threads++;
	return rc;
}

static int sample_start(void *self, struct pk_instrument_ctx *ctx)
{
	struct sampler_on *s = self;
	size_t i;
	int rc, opened = 0, last_err = 0;

	s->ctx = ctx;
	s->stack_bytes = pk_perf_stack_bytes(ctx->opt->stack_bytes);
	s->event_id = pk_recorder_event(ctx->recorder, s->ev->name, "events");
	if (s->event_id < 0) {
		pk_error("cannot record '%s' samples: %s", s->ev->name, pk_store_errmsg(ctx->st));
		return -1;
	}
	for (i = 0; i < ctx->tracer->n_threads; i++) {
		if (ctx->tracer->threads[i].foreign)
			continue;
		rc = open_one(s, ctx->tracer->threads[i].tid);
		if (rc == 0)
			opened++;
		else if (rc != -ESRCH)
			last_err = -rc;
	}
	if (!opened) {
		char why[160];

		pk_counter_explain(pk_counter_classify(last_err, s->ev->kind), last_err, s->ev->kind,
				   pk_counter_pmu_present(), why, sizeof(why));
		pk_error("--sample-on %s: %s", s->ev->name, why);
		return -1;
	}
	pk_store_set_stat(ctx->st, ctx->sid, "sample_on_period", (double)s->period);
	return 0;
}

static void sample_on_thread_new(void *self, pid_t tid)
{
	struct sampler_on *s = self;
	struct pk_thread *th = pk_tracer_find(s->ctx->tracer, tid);

	if (!(th && th->foreign))
		open_one(s, tid);
}

static void sample_on_thread_exit(void *self, pid_t tid)
{
	struct sampler_on *s = self;
	struct pk_perf_ring *t = find_thread(s, tid);

	if (!t)
		return;
	drain(s, t);
	pk_perf_ring_close(t);
}

static int sample_tick(void *self, uint64_t now_ns)
{
	struct sampler_on *s = self;
	size_t i;

	(void)now_ns;
	for (i = 0; i < s->n_threads; i++)
		if (drain(s, &s->threads[i]) < 0) {
			pk_error("cannot store '%s' samples: %s", s->ev->name, pk_store_errmsg(s->ctx->st));
			return -1;
		}
	return 0;
}

static void sample_detach(void *self, const pid_t *tids, size_t n)
{
	struct sampler_on *s = self;
	size_t i;

	(void)tids;
	(void)n;
	for (i = 0; i < s->n_threads; i++) {
		drain(s, &s->threads[i]);
		pk_perf_ring_close(&s->threads[i]);
	}
}

static int sample_finish(void *self)
{
	struct sampler_on *s = self;
	struct pk_store *st = s->ctx->st;
	int64_t sid = s->ctx->sid;
	size_t i;

	for (i = 0; i < s->n_threads; i++) {
		drain(s, &s->threads[i]);
		pk_perf_ring_close(&s->threads[i]);
	}
	pk_store_set_stat(st, sid, "sample_on_samples", (double)s->samples);
	pk_store_set_stat(st, sid, "sample_on_events", (double)s->weight);
	pk_store_set_stat(st, sid, "sample_on_lost", (double)s->lost);
	pk_store_set_stat(st, sid, "sample_on_no_user_regs", (double)s->no_regs);
	if (pk_store_flush(st) != PK_STORE_OK) {
		pk_error("cannot store '%s' samples: %s", s->ev->name, pk_store_errmsg(st));
		return -1;
	}
	pk_info("%s: %llu samples (sampled, with skid; period %llu)%s", s->ev->name,
		(unsigned long long)s->samples, (unsigned long long)s->period,
		s->lost ? "; some were lost: the ring buffer was full" : "");
	return 0;
}

static void sample_free(void *self)
{
	struct sampler_on *s = self;
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n_threads; i++)
		pk_perf_ring_close(&s->threads[i]);
	free(s->threads);
	free(s->scratch.buf);
	free(s);
}

static const struct pk_instrument_ops sample_ops = {
	.name = "sample-on",
	.start = sample_start,
	.on_thread_new = sample_on_thread_new,
	.on_thread_exit = sample_on_thread_exit,
	.tick = sample_tick,
	.detach = sample_detach,
	.finish = sample_finish,
	.free = sample_free,
};

int pk_sample_on_instrument(const struct pk_options *opt, struct pk_instrument *out)
{
	struct sampler_on *s;
	const struct pk_counter_event *ev;
	struct perf_event_attr attr;
	uint64_t period;
	char err[512];
	int fd, user_only;

	if (pk_sample_on_parse(opt->sample_on, &ev, &period, err, sizeof(err)) < 0) {
		pk_error("%s", err);
		return -1;
	}
	s = pk_xcalloc(1, sizeof(*s));
	s->ev = ev;
	s->period = period;
	s->stack_bytes = 4096;
	/* Refuse now, before the target is touched, when this machine cannot
	 * sample the event at all: try it on perfkitd itself. */
	fill_attr(s, &attr);
	attr.disabled = 1;
	fd = pk_counter_open(ev, 0, -1, &attr, &user_only);
	if (fd < 0) {
		char why[160];

		pk_counter_explain(pk_counter_classify(-fd, ev->kind), -fd, ev->kind, pk_counter_pmu_present(),
				   why, sizeof(why));
		pk_error("--sample-on %s: %s", ev->name, why);
		free(s);
		return -1;
	}
	close(fd);
	memset(out, 0, sizeof(*out));
	out->ops = &sample_ops;
	out->self = s;
	return 0;
}
