/*
 * lock-contention.c - rule "lock-contention": threads spend a large
 * share of their time inside lock calls (pthread_mutex_lock and glibc's
 * __lll_lock_wait, rwlocks, spinlocks, semaphores).  In wall mode the
 * samples say whether the thread was waiting off-CPU (state S or D) or
 * spinning; in CPU mode only the spinning and the lock's own code show.
 */
#include <stdlib.h>

#include "src/analyze.h"

/* Lock acquisition, and the wake-up of waiters on unlock (only paid when
 * there are waiters).  pthread_join and pthread_cond_wait also sleep on a
 * futex but are not contention, so bare futex frames do not count. */
static const char *const lock_functions[] = {
	"pthread_mutex_lock*", "pthread_mutex_timedlock*", "pthread_mutex_clocklock*",
	"pthread_mutex_cond_lock*", "pthread_mutex_unlock*", "lll_lock_wait*", "lll_lock_wake*",
	"lll_mutex_lock*",
	"pthread_rwlock_rdlock*", "pthread_rwlock_wrlock*", "pthread_rwlock_timedrdlock*",
	"pthread_rwlock_timedwrlock*", "pthread_rwlock_clockrdlock*",
	"pthread_rwlock_clockwrlock*", "pthread_spin_lock*", "sem_wait*", "sem_timedwait*",
	"sem_clockwait*", "new_sem_wait*", "flock", "lockf*", "std::mutex::lock*",
	"std::__1::mutex::lock*", NULL
};

static void run(const struct pk_rule *rule, const struct pk_evidence *ev, struct pk_findings *out)
{
	struct pk_match m;
	struct pk_finding *f;
	double share;
	enum pk_severity sev;
	const struct pk_caller_ev *top;
	char *loc;

	pk_ev_match(ev, lock_functions, 0, &m);
	share = pk_ev_share(ev, m.weight);
	sev = pk_severity_of(share, &rule->levels);
	if (sev == PK_SEV_NONE || !m.n_callers) {
		pk_match_release(&m);
		return;
	}
	top = &m.callers[0];
	f = pk_finding_add(out, rule, sev, share);
	loc = pk_ev_location(ev, top->function_id);
	pk_finding_location(f, "%s", loc);
	free(loc);
	if (ev->wall)
		pk_finding_describe(f, "Threads are inside lock calls (%s...) in %.1f%% of the wall-clock "
				    "samples (%llu of %llu), waiting off-CPU in %.1f%% of those; %s takes "
				    "the contended lock in %.1f%% of all samples.",
				    pk_ev_name(ev, m.top_function), 100.0 * share,
				    (unsigned long long)m.weight, (unsigned long long)ev->total,
				    m.weight ? 100.0 * (double)m.offcpu / (double)m.weight : 0.0,
				    pk_ev_name(ev, top->function_id), 100.0 * pk_ev_share(ev, top->weight));
	else
		pk_finding_describe(f, "%.1f%% of the CPU samples are inside lock calls (%s...: %llu of "
				    "%llu), most from %s; threads that sleep on the lock do not show in a "
				    "CPU profile, so the waiting is larger still (record with --mode wall "
				    "to see it).",
				    100.0 * share, pk_ev_name(ev, m.top_function),
				    (unsigned long long)m.weight, (unsigned long long)ev->total,
				    pk_ev_name(ev, top->function_id));
	pk_finding_recommend(f, "Hold the lock in %s for less time (compute outside the critical "
			     "section, publish the result under the lock), split it into finer locks "
			     "or per-thread shards merged at the end, use atomics for counters, or a "
			     "reader-writer lock when most accesses only read.",
			     pk_ev_name(ev, top->function_id));
	pk_finding_number(f, "lock_samples", (double)m.weight);
	pk_finding_number(f, "lock_share", share);
	pk_finding_number(f, "offcpu_samples", (double)m.offcpu);
	pk_finding_number(f, "top_caller_samples", (double)top->weight);
	pk_finding_number(f, "top_caller_share", pk_ev_share(ev, top->weight));
	pk_finding_number(f, "callers", (double)m.n_callers);
	for (size_t i = 0; i < m.n_matched; i++)
		pk_finding_cover(f, m.matched[i]);
	pk_finding_paths(f, ev, m.top_function);
	pk_match_release(&m);
}

const struct pk_rule pk_rule_lock_contention = {
	.name = "lock-contention",
	.category = "locking",
	.summary = "threads wait for locks",
	.explain =
		"Reads the samples whose stack holds a lock acquisition\n"
		"(pthread_mutex_lock, glibc's __lll_lock_wait, rwlock and spin locks,\n"
		"sem_wait, std::mutex::lock) or the wake-up of waiters on unlock, each\n"
		"counted once, as a share of all samples, and the function that takes\n"
		"the lock.  In wall mode (perfkitd\n"
		"--mode wall) every thread is sampled whether it runs or sleeps, so the\n"
		"share is the time threads spend waiting for one another; the finding\n"
		"also says how much of it was off-CPU (thread state S or D).  In CPU mode\n"
		"only spinning shows.  Futex waits under pthread_join or\n"
		"pthread_cond_wait are not contention and are not counted.",
	.needs = "wall samples (--mode wall) for waiting; CPU samples show spinning",
	.kind = PK_RULE_SPECIFIC,
	.sample_based = 1,
	.levels = PK_AN_LEVELS_LOCK,
	.run = run,
};
