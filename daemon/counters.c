/*
 * counters.c - the --counters instrument: perf_event counting groups on
 * every thread of the target, read when a thread ends and at the end of
 * the session, stored per thread and summed per process with the status
 * of every event (see counters.h).
 *
 * Per thread rather than inherit: perfkitd already learns of every new
 * thread before it runs (the tracer seizes it at its clone), so each
 * thread gets its own counters from its first instruction and the session
 * keeps per-thread values.  In run mode the program is held at its exec,
 * so counting starts at the first instruction of the new program (which is
 * what enable_on_exec would give).  Counters are closed at detach: nothing
 * stays attached to the target afterwards.
 */
#include <errno.h>
#include <linux/perf_event.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/counters.h"
#include "error.h"
#include "util.h"

#define MAX_EVENTS 32

/* One event's outcome on one thread. */
struct thread_counter {
	int fd;               /* -1 when closed or never opened */
	int err;              /* errno of the failed open, 0 = opened */
	int leader;           /* index of the group's leader event, -1 = none */
	uint64_t raw, enabled_ns, running_ns;
	int read_ok;
};

struct counted_thread {
	pid_t tid;
	struct thread_counter c[MAX_EVENTS];
};

struct counters {
	struct pk_instrument_ctx *ctx;
	struct counted_thread *threads;
	size_t n_threads, cap_threads;
	int status_err[MAX_EVENTS];   /* first open result that was not ESRCH */
	int status_known[MAX_EVENTS];
	int user_only[MAX_EVENTS];
	int pmu;
	size_t threads_short;         /* threads where an event that opened on the first did not */
};

/* Read every group led on thread t; values land in each member's slot. */
static void read_thread(struct counted_thread *t)
{
	size_t i, j;

	for (i = 0; i < pk_counter_n_events; i++) {
		uint64_t buf[3 + MAX_EVENTS];
		ssize_t n;
		uint64_t nr;
		size_t k = 0;

		if (t->c[i].fd < 0 || t->c[i].leader != (int)i)
			continue;
		n = read(t->c[i].fd, buf, sizeof(buf));
		if (n < (ssize_t)(3 * sizeof(uint64_t)))
			continue;
		nr = buf[0];
		/* Members come in the order they joined: event order. */
		for (j = i; j < pk_counter_n_events && k < nr; j++) {
			if (t->c[j].fd < 0 || t->c[j].leader != (int)i)
				continue;
			if ((size_t)n < (3 + k + 1) * sizeof(uint64_t))
				break;
			t->c[j].raw = buf[3 + k];
			t->c[j].enabled_ns = buf[1];
			t->c[j].running_ns = buf[2];
			t->c[j].read_ok = 1;
			k++;
		}
	}
}

static void close_thread(struct counted_thread *t)
{
	size_t i;

	/* Members first, leaders last. */
	for (i = pk_counter_n_events; i-- > 0;)
		if (t->c[i].fd >= 0) {
			close(t->c[i].fd);
			t->c[i].fd = -1;
		}
}

static struct counted_thread *find_thread(struct counters *cs, pid_t tid)
{
	size_t i;

	for (i = 0; i < cs->n_threads; i++)
		if (cs->threads[i].tid == tid)
			return &cs->threads[i];
	return NULL;
}

/* Open every event on tid, grouped; record the statuses. */
static void open_thread(struct counters *cs, pid_t tid)
{
	struct counted_thread *t;
	size_t i;
	int short_here;

	if (find_thread(cs, tid))
		return;
	pk_xgrow((void **)&cs->threads, &cs->cap_threads, cs->n_threads + 1, sizeof(*cs->threads));
	t = &cs->threads[cs->n_threads++];
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	short_here = 0;
	for (i = 0; i < pk_counter_n_events; i++) {
		const struct pk_counter_event *ev = &pk_counter_events[i];
		int leader = -1, fd, user_only;
		size_t j;

		/* The group's leader is its first event that opened here. */
		for (j = 0; j < i; j++)
			if (pk_counter_events[j].group == ev->group && t->c[j].fd >= 0) {
				leader = (int)j;
				break;
			}
		fd = pk_counter_open(ev, tid, leader >= 0 ? t->c[leader].fd : -1, NULL, &user_only);
		t->c[i].fd = fd >= 0 ? fd : -1;
		t->c[i].err = fd >= 0 ? 0 : -fd;
		t->c[i].leader = fd >= 0 ? (leader >= 0 ? leader : (int)i) : -1;
		if (!cs->status_known[i] && t->c[i].err != ESRCH) {
			cs->status_known[i] = 1;
			cs->status_err[i] = t->c[i].err;
			cs->user_only[i] = fd >= 0 && user_only;
		} else if (cs->status_known[i] && !cs->status_err[i] && t->c[i].err && t->c[i].err != ESRCH) {
			short_here = 1;  /* EMFILE...: this thread's share is missing */
		}
	}
	cs->threads_short += short_here;
}

static int counters_start(void *self, struct pk_instrument_ctx *ctx)
{
	struct counters *cs = self;
	size_t i, n_hw = 0, n_sw = 0;
	char why[160];

	cs->ctx = ctx;
	pk_raise_fd_limit();  /* up to 16 descriptors per thread */
	cs->pmu = pk_counter_pmu_present();
	/* Readers explain a failed hardware event with it. */
	pk_store_set_stat(ctx->st, ctx->sid, "pmu_present", cs->pmu);
	for (i = 0; i < ctx->tracer->n_threads; i++)
		if (!ctx->tracer->threads[i].foreign)
			open_thread(cs, ctx->tracer->threads[i].tid);
	for (i = 0; i < pk_counter_n_events; i++) {
		if (!cs->status_known[i] || cs->status_err[i])
			continue;
		if (pk_counter_events[i].kind == PK_COUNTER_SOFTWARE)
			n_sw++;
		else
			n_hw++;
	}
	if (!n_hw) {
		/* Say why once, from the cycles event, as a reader will. */
		const struct pk_counter_event *ev = &pk_counter_events[0];

		pk_counter_explain(pk_counter_classify(cs->status_err[0], ev->kind), cs->status_err[0],
				   ev->kind, cs->pmu, why, sizeof(why));
		pk_warn("--counters: hardware events %s; %s", why,
			n_sw ? "recording the software events (page faults, context switches, migrations); "
			       "for cache behaviour use 'perfkitd run --cache-sim'" :
			       "no event could be opened");
	}
	return 0;
}

static void counters_on_thread_new(void *self, pid_t tid)
{
	struct counters *cs = self;
	struct pk_thread *th = pk_tracer_find(cs->ctx->tracer, tid);

	if (th && th->foreign)
		return;
	open_thread(cs, tid);
}

static void counters_on_thread_exit(void *self, pid_t tid)
{
	struct counted_thread *t = find_thread(self, tid);

	if (!t)
		return;
	read_thread(t);
	close_thread(t);
}

/* Every thread is stopped: take the final counts, leave nothing behind. */
static void counters_detach(void *self, const pid_t *tids, size_t n)
{
	struct counters *cs = self;
	size_t i;

	(void)tids;
	(void)n;
	for (i = 0; i < cs->n_threads; i++) {
		read_thread(&cs->threads[i]);
		close_thread(&cs->threads[i]);
	}
}

static double scaled(const struct thread_counter *c)
{
	if (!c->running_ns)
		return 0;
	if (c->running_ns >= c->enabled_ns)
		return (double)c->raw;
	return (double)c->raw * ((double)c->enabled_ns / (double)c->running_ns);
}

static int counters_finish(void *self)
{
	struct counters *cs = self;
	struct pk_counter_row *rows;
	size_t i, j, n = 0, cap = pk_counter_n_events * (cs->n_threads + 1);
	int rc;

	for (i = 0; i < cs->n_threads; i++) {
		read_thread(&cs->threads[i]);
		close_thread(&cs->threads[i]);
	}
	rows = pk_xcalloc(cap ? cap : 1, sizeof(*rows));
	/* The process: one row per event, with its session status. */
	for (i = 0; i < pk_counter_n_events; i++) {
		const struct pk_counter_event *ev = &pk_counter_events[i];
		struct pk_counter_row *r = &rows[n++];
		int err = cs->status_known[i] ? cs->status_err[i] : ESRCH;
		int any_read = 0;

		r->tid = 0;
		r->name = (char *)ev->name;
		r->err = err;
		r->scope = err ? NULL : (char *)(cs->user_only[i] ? "user" : "user+kernel");
		for (j = 0; !err && j < cs->n_threads; j++) {
			const struct thread_counter *c = &cs->threads[j].c[i];

			if (!c->read_ok)
				continue;
			any_read = 1;
			r->raw += c->raw;
			r->enabled_ns += c->enabled_ns;
			r->running_ns += c->running_ns;
			r->value += scaled(c);
		}
		if (err)
			r->status = (char *)pk_counter_classify(err, ev->kind);
		else if (!any_read || !r->running_ns)
			r->status = (char *)"not-counted";
		else
			r->status = (char *)"counted";
	}
	/* Each thread, for the events counted on it. */
	for (j = 0; cs->n_threads > 1 && j < cs->n_threads; j++)
		for (i = 0; i < pk_counter_n_events; i++) {
			const struct thread_counter *c = &cs->threads[j].c[i];
			struct pk_counter_row *r;

			if (!c->read_ok || !c->running_ns)
				continue;
			r = &rows[n++];
			r->tid = (int32_t)cs->threads[j].tid;
			r->name = (char *)pk_counter_events[i].name;
			r->status = (char *)"counted";
			r->scope = (char *)(cs->user_only[i] ? "user" : "user+kernel");
			r->raw = c->raw;
			r->enabled_ns = c->enabled_ns;
			r->running_ns = c->running_ns;
			r->value = scaled(c);
		}
	rc = pk_store_add_counters(cs->ctx->st, cs->ctx->sid, rows, n);
	free(rows);
	pk_store_set_stat(cs->ctx->st, cs->ctx->sid, "counters_threads", (double)cs->n_threads);
	pk_store_set_stat(cs->ctx->st, cs->ctx->sid, "counters_threads_short", (double)cs->threads_short);
	if (cs->threads_short)
		pk_warn("--counters: %zu of %zu threads could not be given every counter (too many open "
			"files?); the process totals miss their share of those events", cs->threads_short,
			cs->n_threads);
	if (rc != PK_STORE_OK) {
		pk_error("cannot store counters: %s", pk_store_errmsg(cs->ctx->st));
		return -1;
	}
	return 0;
}

static void counters_free(void *self)
{
	struct counters *cs = self;
	size_t i;

	if (!cs)
		return;
	for (i = 0; i < cs->n_threads; i++)
		close_thread(&cs->threads[i]);
	free(cs->threads);
	free(cs);
}

static const struct pk_instrument_ops counters_ops = {
	.name = "counters",
	.start = counters_start,
	.on_thread_new = counters_on_thread_new,
	.on_thread_exit = counters_on_thread_exit,
	.detach = counters_detach,
	.finish = counters_finish,
	.free = counters_free,
};

int pk_counters_instrument(const struct pk_options *opt, struct pk_instrument *out)
{
	(void)opt;
	memset(out, 0, sizeof(*out));
	out->ops = &counters_ops;
	out->self = pk_xcalloc(1, sizeof(struct counters));
	return 0;
}
