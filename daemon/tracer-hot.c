/*
 * tracer-hot.c - the blocking wait of pk_tracer_drain_hot: while probe
 * traps come one after another, the tracer waits for the next stop the
 * way a bare ptrace loop does, in one blocking waitpid(), instead of
 * poll() on the signalfd, a read() of SIGCHLD and a waitpid() that finds
 * nothing (three more system calls per stop, and on a CPU shared with the
 * target about a third more time per stop, tests/bench/probe-cost.sh).
 *
 * The wait is bounded by a one-shot timer (HOT_WAIT_NS) whose signal has a
 * handler without SA_RESTART: it interrupts the waitpid (EINTR) and the
 * caller goes back to its main loop (signals, ticks, samples).  The timer
 * is armed only while traps are being taken, and disarmed before any
 * other kind of stop is handled, whose handling may itself block (an
 * injected system call, a single step): nothing else ever sees the signal
 * interrupt a call.
 */
#include "daemon/tracer.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define HOT_WAIT_NS 10000000ull /* the main loop's tick */
#define HOT_SIGNAL (SIGRTMIN + 3)

static volatile sig_atomic_t hot_fired;

static void on_hot_signal(int sig)
{
	(void)sig;
	hot_fired = 1;
}

/* The timer, once per tracer; 0 or -1 (then no hot wait: poll as before). */
static int hot_setup(struct pk_tracer *t)
{
	struct sigaction sa;
	struct sigevent sev;
	sigset_t set;

	if (t->hot_state)
		return t->hot_state > 0 ? 0 : -1;
	t->hot_state = -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_hot_signal; /* no SA_RESTART: waitpid returns EINTR */
	sigemptyset(&sa.sa_mask);
	sigemptyset(&set);
	sigaddset(&set, HOT_SIGNAL);
	if (sigaction(HOT_SIGNAL, &sa, NULL) < 0 || sigprocmask(SIG_UNBLOCK, &set, NULL) < 0)
		return -1;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = HOT_SIGNAL;
#ifdef sigev_notify_thread_id
	sev.sigev_notify_thread_id = (pid_t)syscall(SYS_gettid); /* the tracer thread */
#else
	sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
#endif
	if (timer_create(CLOCK_MONOTONIC, &sev, &t->hot_timer) < 0)
		return -1;
	t->hot_state = 1;
	return 0;
}

static int hot_arm(struct pk_tracer *t, uint64_t ns)
{
	struct itimerspec its;

	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = (time_t)(ns / 1000000000u);
	its.it_value.tv_nsec = (long)(ns % 1000000000u);
	return timer_settime(t->hot_timer, 0, &its, NULL);
}

void pk_tracer_hot_end(struct pk_tracer *t)
{
	if (!t->hot_armed)
		return;
	hot_arm(t, 0); /* disarmed */
	t->hot_armed = 0;
	hot_fired = 0;
}

pid_t pk_tracer_hot_wait(struct pk_tracer *t, int *status)
{
	pid_t tid;

	if (!t->hot_armed) {
		if (hot_setup(t) < 0)
			return 0;
		hot_fired = 0;
		if (hot_arm(t, HOT_WAIT_NS) < 0)
			return 0;
		t->hot_armed = 1;
	}
	if (hot_fired) {
		t->hot_armed = 0; /* one-shot: spent */
		hot_fired = 0;
		return 0;
	}
	tid = waitpid(-1, status, __WALL);
	if (tid < 0) {
		int err = errno;

		if (err == EINTR && hot_fired) {
			t->hot_armed = 0;
			hot_fired = 0;
		} else {
			pk_tracer_hot_end(t);
		}
		return err == ECHILD ? -1 : 0;
	}
	/* a trap's handling never blocks; any other stop's may: no timer */
	if (!(WIFSTOPPED(*status) && WSTOPSIG(*status) == SIGTRAP && (*status >> 16) == 0))
		pk_tracer_hot_end(t);
	t->hot_stops++;
	return tid;
}

void pk_tracer_hot_release(struct pk_tracer *t)
{
	pk_tracer_hot_end(t);
	if (t->hot_state > 0)
		timer_delete(t->hot_timer);
	t->hot_state = 0;
}
