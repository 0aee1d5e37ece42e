/*
 * sampler.c - one sampling round (see sampler.h).
 *
 * Only one thread is stopped at a time, and only for as long as it takes
 * to read its registers and copy the top of its stack; unwinding (tens of
 * microseconds) happens after PTRACE_CONT, from the copy.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <unistd.h>

#include "daemon/sampler.h"
#include "daemon/target.h"
#include "error.h"
#include "util.h"

#define STOP_TIMEOUT_NS 20000000ull   /* a thread that does not stop in 20 ms is skipped */
#define PAGE 4096u

void pk_sampler_init(struct pk_sampler *s, struct pk_tracer *tracer, struct pk_maps *maps,
		     struct pk_unwinder *unwinder, struct pk_recorder *recorder,
		     int wall, int event, size_t stack_bytes, uint64_t start_ns)
{
	memset(s, 0, sizeof(*s));
	s->tracer = tracer;
	s->maps = maps;
	s->unwinder = unwinder;
	s->recorder = recorder;
	s->wall = wall;
	s->event = event;
	s->stack_bytes = stack_bytes;
	s->start_ns = start_ns;
	s->stack = pk_xmalloc(stack_bytes);
	pk_histogram_init(&s->stats.stop_ns);
}

void pk_sampler_release(struct pk_sampler *s)
{
	if (!s)
		return;
	free(s->stack);
	s->stack = NULL;
}

/* The thread's scheduler state from its kept-open stat file; 0 if gone. */
static char thread_state(const struct pk_thread *th)
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
	return st.state;
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

/* Stop, copy, resume, unwind, record one thread. */
static int sample_thread(struct pk_sampler *s, pid_t tid, char state)
{
	struct pk_thread *th = pk_tracer_find(s->tracer, tid);
	struct user_regs_struct regs;
	struct pk_unwind_input in;
	uint64_t t0, t1;
	size_t copied = 0;
	int rc, n, complete = 0, have_regs;
	int64_t stack_id;

	t0 = pk_monotonic_ns();
	rc = pk_tracer_interrupt_wait(s->tracer, th, STOP_TIMEOUT_NS);
	if (rc == -ESRCH)
		return 0;
	if (rc < 0) {
		s->stats.lost++;
		return 0;
	}
	th = pk_tracer_find(s->tracer, tid);
	if (!th)
		return 0;
	have_regs = ptrace(PTRACE_GETREGS, tid, NULL, &regs) == 0;
	if (have_regs)
		copied = copy_stack(tid, regs.rsp, s->stack, s->stack_bytes);
	pk_tracer_resume(s->tracer, th);
	t1 = pk_monotonic_ns();
	pk_histogram_add(&s->stats.stop_ns, t1 - t0);
	if (!have_regs)
		return 0;

	/* The thread runs again; the rest costs perfkitd time only. */
	in.regs = &regs;
	in.stack_addr = regs.rsp;
	in.stack = s->stack;
	in.stack_len = copied;
	n = pk_unwind(s->unwinder, &in, s->ips, PK_MAX_FRAMES, &complete);
	if (n <= 0) {
		s->ips[0] = regs.rip;
		n = 1;
	}
	stack_id = pk_recorder_stack(s->recorder, s->ips, n);
	if (stack_id < 0)
		return (int)stack_id;
	s->stats.samples++;
	if (complete)
		s->stats.complete++;
	th = pk_tracer_find(s->tracer, tid);
	if (th)
		th->samples++;
	return pk_recorder_sample(s->recorder, s->event, tid, (int64_t)(t0 - s->start_ns), stack_id, 1,
				  s->wall ? state : 0);
}

int pk_sampler_round(struct pk_sampler *s)
{
	pid_t tids[4096];
	char states[4096];
	size_t i, n = 0;

	s->stats.rounds++;
	/* Snapshot first: sampling may add or remove threads. */
	for (i = 0; i < s->tracer->n_threads && n < sizeof(tids) / sizeof(tids[0]); i++) {
		struct pk_thread *th = &s->tracer->threads[i];
		char st;

		if (th->group_stop || th->exiting || th->stopped)
			continue;
		st = thread_state(th);
		if (!st || st == 'Z' || st == 'X' || st == 'T' || st == 't')
			continue;
		if (!s->wall && st != 'R')
			continue;
		tids[n] = th->tid;
		states[n] = st;
		n++;
	}
	for (i = 0; i < n; i++) {
		int rc = sample_thread(s, tids[i], states[i]);

		if (rc < 0)
			return rc;
	}
	return 0;
}
