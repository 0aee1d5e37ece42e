/*
 * tracer.c - seizing, following and releasing a process's threads with
 * ptrace (see tracer.h for the rules).
 */
#include <dirent.h>
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

#include "daemon/tracer.h"
#include "error.h"
#include "util.h"

#define SEIZE_OPTIONS (PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT)
#define FORK_OPTIONS (PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK)

void pk_tracer_init(struct pk_tracer *t, pid_t pid, const struct pk_tracer_hooks *hooks)
{
	const char *w;

	memset(t, 0, sizeof(*t));
	t->pid = pid;
	if (hooks)
		t->hooks = *hooks;
	t->trap_spin_ns = PK_TRACER_TRAP_SPIN_NS;
	w = getenv("PERFKIT_TRAP_WAIT");
	t->trap_block = w && strcmp(w, "block") == 0;
}

static void thread_close(struct pk_thread *th)
{
	if (th->stat_fd >= 0)
		close(th->stat_fd);
	if (th->schedstat_fd >= 0)
		close(th->schedstat_fd);
	th->stat_fd = th->schedstat_fd = -1;
}

void pk_tracer_release(struct pk_tracer *t)
{
	size_t i;

	if (!t)
		return;
	pk_tracer_hot_release(t);
	for (i = 0; i < t->n_threads; i++)
		thread_close(&t->threads[i]);
	free(t->threads);
	t->threads = NULL;
	t->n_threads = t->cap_threads = 0;
	free(t->fork_children);
	t->fork_children = NULL;
	t->n_fork_children = t->cap_fork_children = 0;
}

struct pk_thread *pk_tracer_find(struct pk_tracer *t, pid_t tid)
{
	size_t i;

	for (i = 0; i < t->n_threads; i++)
		if (t->threads[i].tid == tid)
			return &t->threads[i];
	return NULL;
}

static struct pk_thread *thread_add(struct pk_tracer *t, pid_t tid)
{
	struct pk_thread *th = pk_tracer_find(t, tid);
	char path[64];

	if (th)
		return th;
	pk_xgrow((void **)&t->threads, &t->cap_threads, t->n_threads + 1, sizeof(*t->threads));
	th = &t->threads[t->n_threads++];
	memset(th, 0, sizeof(*th));
	th->tid = tid;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)t->pid, (int)tid);
	th->stat_fd = open(path, O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "/proc/%d/task/%d/schedstat", (int)t->pid, (int)tid);
	th->schedstat_fd = open(path, O_RDONLY | O_CLOEXEC);
	th->runtime_ns = UINT64_MAX; /* unknown until the first look */
	t->threads_seen++;
	if (t->hooks.on_thread)
		t->hooks.on_thread(t->hooks.ctx, tid);
	return th;
}

static void thread_remove(struct pk_tracer *t, pid_t tid)
{
	struct pk_thread *th = pk_tracer_find(t, tid);
	size_t i;
	int foreign;

	if (!th)
		return;
	foreign = th->foreign;
	i = (size_t)(th - t->threads);
	thread_close(th);
	t->threads[i] = t->threads[--t->n_threads];
	if (!foreign && t->hooks.on_thread_gone)
		t->hooks.on_thread_gone(t->hooks.ctx, tid);
}

/* The tgid of tid, or -1. */
static pid_t tgid_of(pid_t tid)
{
	char path[64], line[128];
	long tgid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %ld", &tgid) == 1)
			break;
	fclose(f);
	return (pid_t)tgid;
}

/* Let the hooks clean a fork child, then let it go. */
static void release_fork_child(struct pk_tracer *t, pid_t child, pid_t parent)
{
	if (t->hooks.on_fork)
		t->hooks.on_fork(t->hooks.ctx, child, parent);
	ptrace(PTRACE_DETACH, child, NULL, NULL);
}

/* The parent reported a fork: clean the child now if its first stop was
 * seen already, else when it comes. */
static void fork_reported(struct pk_tracer *t, pid_t child, pid_t parent)
{
	struct pk_thread *th = pk_tracer_find(t, child);

	if (th) {
		/* Its first stop came first and was taken for a thread. */
		th->foreign = 1;
		thread_remove(t, child);
		release_fork_child(t, child, parent);
		return;
	}
	pk_xgrow((void **)&t->fork_children, &t->cap_fork_children, t->n_fork_children + 1,
		 sizeof(*t->fork_children));
	t->fork_children[t->n_fork_children++] = child;
	(void)parent;
}

/* A first stop of a fork child the parent reported: 1 if it was one. */
static int fork_child_stopped(struct pk_tracer *t, pid_t tid)
{
	size_t i;

	for (i = 0; i < t->n_fork_children; i++) {
		if (t->fork_children[i] != tid)
			continue;
		t->fork_children[i] = t->fork_children[--t->n_fork_children];
		release_fork_child(t, tid, 0);
		return 1;
	}
	return 0;
}

static int seize(const struct pk_tracer *t, pid_t tid)
{
	long options = SEIZE_OPTIONS | (t->follow_forks ? FORK_OPTIONS : 0);

	return ptrace(PTRACE_SEIZE, tid, NULL, (void *)options) < 0 ? -errno : 0;
}

/* Seize threads listed in /proc/PID/task until a scan finds none new. */
static void seize_rest(struct pk_tracer *t)
{
	char path[64];
	int found = 1, rounds = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)t->pid);
	while (found && rounds++ < 1000) {
		DIR *d = opendir(path);
		struct dirent *de;

		found = 0;
		if (!d)
			return;
		while ((de = readdir(d))) {
			long tid;
			int rc;

			if (pk_parse_long(de->d_name, &tid) < 0 || pk_tracer_find(t, (pid_t)tid))
				continue;
			rc = seize(t, (pid_t)tid);
			/* EPERM: already ours through TRACECLONE auto-attach. */
			if (rc == 0 || rc == -EPERM) {
				thread_add(t, (pid_t)tid);
				found = 1;
			}
		}
		closedir(d);
	}
}

int pk_tracer_seize_all(struct pk_tracer *t)
{
	int rc = seize(t, t->pid);

	if (rc < 0)
		return rc;
	thread_add(t, t->pid);
	seize_rest(t);
	return 0;
}

int pk_tracer_seize_child(struct pk_tracer *t)
{
	int rc = seize(t, t->pid);

	if (rc < 0)
		return rc;
	thread_add(t, t->pid);
	return 0;
}

int pk_tracer_interrupt(struct pk_tracer *t, struct pk_thread *th)
{
	(void)t;
	if (th->interrupt_pending || th->stopped)
		return 0;
	if (ptrace(PTRACE_INTERRUPT, th->tid, NULL, NULL) < 0)
		return -errno;
	th->interrupt_pending = 1;
	th->interrupt_ns = pk_monotonic_ns();
	return 0;
}

int pk_tracer_resume(struct pk_tracer *t, struct pk_thread *th)
{
	long rc;
	int sig = th->pending_signal;

	(void)t;
	if (th->group_stop)
		rc = ptrace(PTRACE_LISTEN, th->tid, NULL, NULL);
	else
		rc = ptrace(PTRACE_CONT, th->tid, NULL, (void *)(long)sig);
	th->stopped = 0;
	th->pending_signal = 0;
	return rc < 0 ? -errno : 0;
}

static int is_stop_signal(int sig)
{
	return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

int pk_tracer_resume_trapped(struct pk_tracer *t, pid_t tid)
{
	struct pk_thread *th = pk_tracer_find(t, tid);

	if (!th || !th->stopped || t->stopping)
		return 0;
	return pk_tracer_resume(t, th) == 0;
}

/* Keep stopped when stopping everything, else resume. */
static void resume_unless_stopping(struct pk_tracer *t, pid_t tid)
{
	struct pk_thread *th = pk_tracer_find(t, tid);

	if (th && !t->stopping)
		pk_tracer_resume(t, th);
}

static enum pk_stop_kind handle_event_stop(struct pk_tracer *t, struct pk_thread *th, int sig)
{
	if (is_stop_signal(sig)) {
		/* A group-stop: the process was stopped by the user. */
		th->group_stop = 1;
		th->interrupt_pending = 0;
		if (t->stopping)
			return PK_STOP_SIGNAL;
		pk_tracer_resume(t, th); /* PTRACE_LISTEN */
		return PK_STOP_NONE;
	}
	/* Our interrupt, a new thread's first stop, or the end of a group-stop. */
	th->group_stop = 0;
	if (th->interrupt_pending) {
		th->interrupt_pending = 0;
		return PK_STOP_INTERRUPT;
	}
	if (t->stopping)
		return PK_STOP_INTERRUPT;
	pk_tracer_resume(t, th);
	return PK_STOP_NONE;
}

static void handle_exec(struct pk_tracer *t, pid_t tid)
{
	size_t i = 0;

	/* Every other thread is gone; the exec'ing thread now has the leader's id. */
	while (i < t->n_threads) {
		if (t->threads[i].tid != tid && t->threads[i].tid != t->pid)
			thread_remove(t, t->threads[i].tid);
		else
			i++;
	}
	if (tid != t->pid) {
		thread_remove(t, tid);
		thread_add(t, t->pid)->stopped = 1;
	}
	t->exec_count++;
	if (t->hooks.on_exec)
		t->hooks.on_exec(t->hooks.ctx, t->pid);
}

enum pk_stop_kind pk_tracer_handle(struct pk_tracer *t, pid_t tid, int status)
{
	struct pk_thread *th = pk_tracer_find(t, tid);
	int sig, event;
	unsigned long msg = 0;

	if (WIFEXITED(status) || WIFSIGNALED(status)) {
		thread_remove(t, tid);
		if (tid == t->pid) {
			t->exited = 1;
			t->exit_status = status;
			return PK_STOP_EXITED;
		}
		return PK_STOP_THREAD_GONE;
	}
	if (!WIFSTOPPED(status))
		return PK_STOP_NONE;
	if (!th && fork_child_stopped(t, tid))
		return PK_STOP_NONE;
	if (!th) {
		/* A new thread reporting before its creator's clone event, or a
		 * fork child before its parent's fork event: keep it stopped
		 * until that event says which. */
		th = thread_add(t, tid);
		if (t->follow_forks && tgid_of(tid) != t->pid) {
			th->foreign = 1;
			th->stopped = 1;
			return PK_STOP_NONE;
		}
	}
	th->stopped = 1;
	sig = WSTOPSIG(status);
	event = status >> 16;
	/* The kernel clears a pending PTRACE_INTERRUPT at any ptrace-stop
	 * (signal delivery, clone, exec, exit...): that stop was its answer. */
	if (event != PTRACE_EVENT_STOP)
		th->interrupt_pending = 0;

	switch (event) {
	case PTRACE_EVENT_CLONE:
		if (ptrace(PTRACE_GETEVENTMSG, tid, NULL, &msg) == 0 && msg)
			thread_add(t, (pid_t)msg);
		resume_unless_stopping(t, tid);
		return PK_STOP_NONE;
	case PTRACE_EVENT_FORK:
		if (ptrace(PTRACE_GETEVENTMSG, tid, NULL, &msg) == 0 && msg)
			fork_reported(t, (pid_t)msg, tid);
		resume_unless_stopping(t, tid);
		return PK_STOP_NONE;
	case PTRACE_EVENT_VFORK:
		/* The child shares our memory (and any breakpoints) until it
		 * execs or exits: traced like a thread meanwhile. */
		if (ptrace(PTRACE_GETEVENTMSG, tid, NULL, &msg) == 0 && msg)
			thread_add(t, (pid_t)msg)->foreign = 1;
		resume_unless_stopping(t, tid);
		return PK_STOP_NONE;
	case PTRACE_EVENT_EXEC:
		if (th->foreign) {
			/* A vfork child exec'd: its memory is its own now. */
			ptrace(PTRACE_DETACH, tid, NULL, NULL);
			thread_remove(t, tid);
			return PK_STOP_NONE;
		}
		handle_exec(t, tid);
		if (!t->hold_exec)
			resume_unless_stopping(t, t->pid);
		return PK_STOP_NONE;
	case PTRACE_EVENT_EXIT:
		th->exiting = 1;
		if (t->hooks.on_thread_exiting)
			t->hooks.on_thread_exiting(t->hooks.ctx, tid);
		resume_unless_stopping(t, tid);
		return PK_STOP_NONE;
	case PTRACE_EVENT_STOP:
		return handle_event_stop(t, th, sig);
	case 0:
		break;
	default:
		resume_unless_stopping(t, tid);
		return PK_STOP_NONE;
	}

	/* A signal-delivery-stop. */
	if (sig == SIGTRAP && t->hooks.on_trap && t->hooks.on_trap(t->hooks.ctx, tid)) {
		if (th->stopped) /* else the hook let it go (pk_tracer_resume_trapped) */
			resume_unless_stopping(t, tid);
		return PK_STOP_TRAP;
	}
	th = pk_tracer_find(t, tid);
	if (!th)
		return PK_STOP_NONE;
	th->pending_signal = sig;
	if (t->stopping)
		return PK_STOP_SIGNAL;
	pk_tracer_resume(t, th);
	return PK_STOP_NONE;
}

/* The longest a drain keeps polling for trap stops before returning. */
#define DRAIN_SPIN_BUDGET_NS 1000000ull
#define SPIN_BACKOFF_MAX 256

/* Nothing to reap after a trap stop: poll for the next stop a little
 * while (trap_spin_ns) unless backing off.  Returns what waitpid gave. */
static pid_t spin_for_trap(struct pk_tracer *t, int *status, uint64_t drain_start)
{
	uint64_t now, until;
	pid_t tid;

	if (t->spin_skip) {
		t->spin_skip--;
		return 0;
	}
	now = pk_monotonic_ns();
	until = now + t->trap_spin_ns;
	if (now - drain_start > DRAIN_SPIN_BUDGET_NS)
		return 0;
	do
		tid = waitpid(-1, status, __WALL | WNOHANG);
	while (tid == 0 && pk_monotonic_ns() < until);
	if (tid > 0) {
		t->spin_hits++;
		t->spin_backoff = 0;
	} else if (tid == 0) {
		t->spin_misses++;
		t->spin_backoff = t->spin_backoff ? t->spin_backoff * 2 : 1;
		if (t->spin_backoff > SPIN_BACKOFF_MAX)
			t->spin_backoff = SPIN_BACKOFF_MAX;
		t->spin_skip = t->spin_backoff;
	}
	return tid;
}

static int drain(struct pk_tracer *t, int hot)
{
	int status, n = 0, after_trap = 0;
	uint64_t start = 0;
	pid_t tid;

	for (;;) {
		enum pk_stop_kind kind;
		/* the blocking wait only where spinning never finds the next
		 * stop: the target shares the tracer's CPU, so blocking wakes
		 * no other CPU, or it runs long between its calls, when the
		 * tracer would sleep in poll anyway (while calls come fast on
		 * another CPU, a busy tracer's main loop is what spares the
		 * target a wake-up of an idle CPU: 60 us a stop on the
		 * reference VM, against 10 for a shared CPU) */
		int blocking = after_trap && hot &&
			       (t->trap_block || t->spin_backoff >= SPIN_BACKOFF_MAX) &&
			       !t->stopping && !t->exited;

		/* blocking and no spin due: the blocking wait itself returns
		 * what is ready, no need to look first */
		tid = blocking && (t->trap_block || t->spin_skip) ? 0
								  : waitpid(-1, &status, __WALL | WNOHANG);
		if (tid == 0 && after_trap && t->trap_spin_ns && !t->trap_block && !t->stopping &&
		    !t->exited)
			tid = spin_for_trap(t, &status, start);
		if (tid == 0 && blocking)
			tid = pk_tracer_hot_wait(t, &status);
		if (tid <= 0)
			break;
		kind = pk_tracer_handle(t, tid, status);
		n++;
		if (kind == PK_STOP_TRAP && !after_trap) {
			after_trap = 1;
			start = pk_monotonic_ns();
		}
		if (kind == PK_STOP_INTERRUPT && !t->stopping) {
			struct pk_thread *th = pk_tracer_find(t, tid);

			if (th && t->hooks.on_interrupt)
				t->hooks.on_interrupt(t->hooks.interrupt_ctx, tid);
			else if (th)
				pk_tracer_resume(t, th);
		}
	}
	return n;
}

int pk_tracer_drain(struct pk_tracer *t)
{
	return drain(t, 0);
}

int pk_tracer_drain_hot(struct pk_tracer *t)
{
	int n = drain(t, 1);

	pk_tracer_hot_end(t); /* its signal is for this wait only */
	return n;
}

/* Sleep a little while waiting for a stop: yield first, then short naps. */
static void wait_a_little(uint64_t waited_ns)
{
	if (waited_ns < 100000) {
		sched_yield();
	} else {
		struct timespec ts = { 0, waited_ns < 2000000 ? 20000 : 200000 };

		nanosleep(&ts, NULL);
	}
}

int pk_tracer_interrupt_wait(struct pk_tracer *t, struct pk_thread *th, uint64_t timeout_ns)
{
	pid_t tid = th->tid;
	uint64_t start = pk_monotonic_ns(), now;
	int status;

	if (th->stopped)
		return 0;
	if (!th->interrupt_pending) {
		if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) < 0)
			return -errno;
		th->interrupt_pending = 1;
	}
	for (;;) {
		pid_t r = waitpid(tid, &status, __WALL | WNOHANG);

		if (r == tid) {
			enum pk_stop_kind kind = pk_tracer_handle(t, tid, status);

			if (kind == PK_STOP_INTERRUPT)
				return 0;
			if (kind == PK_STOP_EXITED || kind == PK_STOP_THREAD_GONE)
				return -ESRCH;
			th = pk_tracer_find(t, tid);
			if (!th)
				return -ESRCH;
			if (th->stopped)
				return 0;
			/* Another stop consumed the interrupt: ask again. */
			if (!th->interrupt_pending && pk_tracer_interrupt(t, th) < 0)
				return -ESRCH;
			continue;
		}
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -ESRCH;
		}
		now = pk_monotonic_ns();
		if (now - start > timeout_ns)
			return -ETIMEDOUT;
		wait_a_little(now - start);
	}
}

static int all_stopped(const struct pk_tracer *t)
{
	size_t i;

	for (i = 0; i < t->n_threads; i++)
		if (!t->threads[i].stopped)
			return 0;
	return 1;
}

int pk_tracer_stop_all(struct pk_tracer *t, uint64_t timeout_ns)
{
	uint64_t start = pk_monotonic_ns();
	size_t i;

	t->stopping = 1;
	for (;;) {
		int status;
		pid_t tid;

		/* Interrupt every thread not stopped yet (new ones too). */
		for (i = 0; i < t->n_threads; i++) {
			struct pk_thread *th = &t->threads[i];

			if (th->stopped || th->interrupt_pending)
				continue;
			if (ptrace(PTRACE_INTERRUPT, th->tid, NULL, NULL) == 0)
				th->interrupt_pending = 1;
		}
		while ((tid = waitpid(-1, &status, __WALL | WNOHANG)) > 0)
			pk_tracer_handle(t, tid, status);
		if (t->exited || all_stopped(t))
			return 0;
		if (pk_monotonic_ns() - start > timeout_ns)
			return -ETIMEDOUT;
		wait_a_little(pk_monotonic_ns() - start);
	}
}

void pk_tracer_resume_all(struct pk_tracer *t)
{
	size_t i;

	t->stopping = 0;
	t->hold_exec = 0;
	for (i = 0; i < t->n_threads; i++)
		if (t->threads[i].stopped)
			pk_tracer_resume(t, &t->threads[i]);
}

int pk_tracer_detach_all(struct pk_tracer *t)
{
	int first_err = 0, saved = errno;
	size_t i;

	if (!t->exited && pk_tracer_stop_all(t, 3000000000ull) < 0)
		pk_warn("some threads of PID %d did not stop within 3 s; detaching anyway", (int)t->pid);
	if (!t->exited && t->hooks.before_detach && t->n_threads) {
		pid_t *tids = pk_xcalloc(t->n_threads, sizeof(*tids));

		for (i = 0; i < t->n_threads; i++)
			tids[i] = t->threads[i].tid;
		t->hooks.before_detach(t->hooks.ctx, tids, t->n_threads);
		free(tids);
	}
	for (i = 0; i < t->n_threads; i++) {
		struct pk_thread *th = &t->threads[i];

		if (ptrace(PTRACE_DETACH, th->tid, NULL, (void *)(long)th->pending_signal) < 0 &&
		    errno != ESRCH && !first_err)
			first_err = -errno;
		thread_close(th);
	}
	t->n_threads = 0;
	t->stopping = 0;
	errno = saved;
	return first_err;
}
