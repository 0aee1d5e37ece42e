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
#include <sys/mman.h>
#include <sys/user.h>
#include <time.h>
#include <unistd.h>

#include "daemon/counters.h"
#include "error.h"
#include "util.h"

#define MAX_FRAMES 256

/* x86-64 perf_regs bits: AX..SS (0-11) and R8..R15 (16-23); DS..GS
 * (12-15) are refused by the kernel for 64-bit tasks. */
#define REGS_MASK 0xff0fffull
enum { R_AX, R_BX, R_CX, R_DX, R_SI, R_DI, R_BP, R_SP, R_IP, R_FLAGS, R_CS, R_SS,
       R_R8 = 16, R_R9, R_R10, R_R11, R_R12, R_R13, R_R14, R_R15, R_MAX };

struct sampled_thread {
	pid_t tid;
	int fd;
	void *ring;           /* header page + data pages */
	size_t ring_len;      /* bytes mapped */
	size_t data_len;      /* data area, a power of two */
};

struct sampler_on {
	struct pk_instrument_ctx *ctx;
	const struct pk_counter_event *ev;
	uint64_t period;
	size_t stack_bytes;
	int event_id;
	struct sampled_thread *threads;
	size_t n_threads, cap_threads;
	unsigned char *scratch;  /* a record that wraps around the ring */
	size_t scratch_cap;
	uint64_t samples, lost, weight, no_regs;
};

static void fill_attr(const struct sampler_on *s, struct perf_event_attr *attr)
{
	memset(attr, 0, sizeof(*attr));
	attr->sample_period = s->period;
	/* No PERF_SAMPLE_PERIOD: with it the kernel samples a software event
	 * at every occurrence whatever the period (perf_swevent_event), and
	 * a fixed period is the weight of every sample anyway. */
	attr->sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME |
			    PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER;
	attr->sample_regs_user = REGS_MASK;
	attr->sample_stack_user = (uint32_t)s->stack_bytes;
	attr->use_clockid = 1;
	attr->clockid = CLOCK_MONOTONIC;  /* the session's clock */
	attr->wakeup_events = 1;
}

/* Data pages per thread: room for 512 samples between two ticks (a
 * burst of events can come faster than perfkitd drains), 16..512 pages
 * (2 MiB).  Smaller --stack-size, more samples per ring. */
static size_t data_pages(size_t stack_bytes)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), want = (stack_bytes + 512) * 512 / page, n = 16;

	while (n < want && n < 512)
		n *= 2;
	return n;
}

static void close_one(struct sampled_thread *t)
{
	if (t->ring)
		munmap(t->ring, t->ring_len);
	t->ring = NULL;
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

static void regs_from_sample(const uint64_t *v, struct user_regs_struct *r)
{
	memset(r, 0, sizeof(*r));
	r->rax = v[R_AX];
	r->rbx = v[R_BX];
	r->rcx = v[R_CX];
	r->rdx = v[R_DX];
	r->rsi = v[R_SI];
	r->rdi = v[R_DI];
	r->rbp = v[R_BP];
	r->rsp = v[R_SP];
	r->rip = v[R_IP];
	r->eflags = v[R_FLAGS];
	r->cs = v[R_CS];
	r->ss = v[R_SS];
	r->r8 = v[R_R8];
	r->r9 = v[R_R9];
	r->r10 = v[R_R10];
	r->r11 = v[R_R11];
	r->r12 = v[R_R12];
	r->r13 = v[R_R13];
	r->r14 = v[R_R14];
	r->r15 = v[R_R15];
}

/* One PERF_RECORD_SAMPLE (len bytes after the header): unwind, store. */
static int take_sample(struct sampler_on *s, const unsigned char *p, size_t len)
{
	const unsigned char *end = p + len;
	uint64_t ip, time, period = s->period, abi, size, dyn = 0, regv[R_MAX] = { 0 };
	uint32_t pid_tid[2];
	const unsigned char *stack = NULL;
	uint64_t ips[MAX_FRAMES];
	int n = 0, bit, idx = 0, complete;
	int64_t stack_id, t_ns;

	if (len < 4 * 8)
		return 0;
	memcpy(&ip, p, 8);
	memcpy(pid_tid, p + 8, 8);
	memcpy(&time, p + 16, 8);
	memcpy(&abi, p + 24, 8);
	p += 32;
	if (abi != PERF_SAMPLE_REGS_ABI_NONE) {
		for (bit = 0; bit < R_MAX; bit++) {
			if (!(REGS_MASK & (1ull << bit)))
				continue;
			if (p + 8 > end)
				return 0;
			memcpy(&regv[bit], p, 8);
			p += 8;
			idx++;
		}
	}
	if (p + 8 > end)
		return 0;
	memcpy(&size, p, 8);
	p += 8;
	if (size) {
		if (p + size + 8 > end)
			return 0;
		stack = p;
		memcpy(&dyn, p + size, 8);
		if (dyn > size)
			dyn = size;
	}
	if (abi == PERF_SAMPLE_REGS_ABI_64 && idx) {
		struct user_regs_struct regs;
		struct pk_unwind_input in;

		regs_from_sample(regv, &regs);
		in.regs = &regs;
		in.stack_addr = regs.rsp;
		in.stack = stack;
		in.stack_len = stack ? (size_t)dyn : 0;
		n = pk_unwind(s->ctx->unwinder, &in, ips, MAX_FRAMES, &complete);
	}
	if (n <= 0) {
		/* No user registers (a kernel thread's sample): the IP alone. */
		s->no_regs++;
		ips[0] = ip;
		n = 1;
	}
	stack_id = pk_recorder_stack(s->ctx->recorder, ips, n);
	if (stack_id < 0)
		return -1;
	t_ns = time > s->ctx->start_ns ? (int64_t)(time - s->ctx->start_ns) : 0;
	s->samples++;
	s->weight += period;
	return pk_recorder_sample(s->ctx->recorder, s->event_id, (int32_t)pid_tid[1], t_ns, stack_id,
				  (int64_t)period, 0) < 0 ? -1 : 0;
}

/* Drain one ring.  Returns 0, or -1 when the store failed. */
static int drain(struct sampler_on *s, struct sampled_thread *t)
{
	struct perf_event_mmap_page *meta = t->ring;
	const unsigned char *data;
	uint64_t head, tail;
	int rc = 0;

	if (!meta)
		return 0;
	data = (const unsigned char *)t->ring + meta->data_offset;
	head = __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE);
	tail = meta->data_tail;
	while (tail < head && rc == 0) {
		struct perf_event_header h;
		size_t off = (size_t)(tail & (t->data_len - 1)), first;
		const unsigned char *rec;

		/* Copy out a record that wraps around the end. */
		first = t->data_len - off;
		if (first >= sizeof(h)) {
			memcpy(&h, data + off, sizeof(h));
		} else {
			memcpy(&h, data + off, first);
			memcpy((unsigned char *)&h + first, data, sizeof(h) - first);
		}
		if (h.size < sizeof(h) || tail + h.size > head)
			break;
		if (first >= h.size) {
			rec = data + off;
		} else {
			pk_xgrow((void **)&s->scratch, &s->scratch_cap, h.size, 1);
			memcpy(s->scratch, data + off, first);
			memcpy(s->scratch + first, data, h.size - first);
			rec = s->scratch;
		}
		if (h.type == PERF_RECORD_SAMPLE) {
			rc = take_sample(s, rec + sizeof(h), h.size - sizeof(h));
		} else if (h.type == PERF_RECORD_LOST && h.size >= sizeof(h) + 16) {
			uint64_t lost;

			memcpy(&lost, rec + sizeof(h) + 8, 8);
			s->lost += lost;
		}
		tail += h.size;
	}
	__atomic_store_n(&meta->data_tail, tail, __ATOMIC_RELEASE);
	return rc;
}

static struct sampled_thread *find_thread(struct sampler_on *s, pid_t tid)
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
	struct sampled_thread *t;
	size_t page = (size_t)sysconf(_SC_PAGESIZE), pages;
	int fd, user_only;

	if (find_thread(s, tid))
		return 0;
	fill_attr(s, &attr);
	fd = pk_counter_open(s->ev, tid, -1, &attr, &user_only);
	if (fd < 0)
		return fd;
	pk_xgrow((void **)&s->threads, &s->cap_threads, s->n_threads + 1, sizeof(*s->threads));
	t = &s->threads[s->n_threads++];
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	t->fd = fd;
	/* Smaller rings when locked memory is short (unprivileged users). */
	for (pages = data_pages(s->stack_bytes); pages >= 1; pages /= 2) {
		t->ring_len = (pages + 1) * page;
		t->ring = mmap(NULL, t->ring_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (t->ring != MAP_FAILED)
			break;
		t->ring = NULL;
		if (errno != EPERM && errno != ENOMEM)
			break;
	}
	if (!t->ring) {
		int err = errno;

		close_one(t);
		s->n_threads--;
		return -err;
	}
	t->data_len = t->ring_len - page;
	return 0;
}

static int sample_start(void *self, struct pk_instrument_ctx *ctx)
{
	struct sampler_on *s = self;
	size_t i;
	int rc, opened = 0, last_err = 0;

	s->ctx = ctx;
	s->stack_bytes = ctx->opt->stack_bytes;
	if (s->stack_bytes > 65528)
		s->stack_bytes = 65528;  /* the kernel's limit for one sample */
	s->stack_bytes &= ~(size_t)7;
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
	struct sampled_thread *t = find_thread(s, tid);

	if (!t)
		return;
	drain(s, t);
	close_one(t);
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
		close_one(&s->threads[i]);
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
		close_one(&s->threads[i]);
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
		close_one(&s->threads[i]);
	free(s->threads);
	free(s->scratch);
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
