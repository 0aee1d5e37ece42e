/*
 * counters.h - perf_event counters for perfkitd: the events perfkit
 * counts (--counters), what a failed perf_event_open means, and overflow
 * sampling on one event (--sample-on EVENT) whose samples are unwound with
 * the session's unwinder and stored as an event of their own.
 *
 * Honesty rule (DESIGN.md, Counters and cache): every event is opened at
 * session start and its status kept; an event that did not open is stored
 * with its status and errno, never as 0.
 */
#ifndef PK_COUNTERS_H
#define PK_COUNTERS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "counter-status.h"
#include "daemon/instrument.h"

/* One event perfkit knows, by perf's name. */
struct pk_counter_event {
	const char *name;         /* "cycles", "L1-dcache-load-misses", ... */
	enum pk_counter_kind kind;
	uint32_t type;            /* PERF_TYPE_* */
	uint64_t config;
	int group;                /* events of one group are read together */
	uint64_t default_period;  /* for --sample-on without :PERIOD */
};

/* The events --counters opens, in display order, and their number. */
extern const struct pk_counter_event pk_counter_events[];
extern const size_t pk_counter_n_events;

/* An event by name (also "cpu-clock", sample-only), or NULL. */
const struct pk_counter_event *pk_counter_event_find(const char *name);

/* 1 when /sys/bus/event_source/devices has a CPU PMU ("cpu", "cpu_core",
 * "cpu_atom", "armv8..."), else 0. */
int pk_counter_pmu_present(void);

/*
 * perf_event_open for tid on any CPU, in group leader group_fd (-1 = a
 * new group), counting user space (and the kernel when allowed: on
 * EACCES/EPERM it retries user-only and sets *user_only).  disabled and
 * sampling attributes come from attr_extra when not NULL.  Returns the
 * fd, or -errno.
 */
struct perf_event_attr;
int pk_counter_open(const struct pk_counter_event *ev, pid_t tid, int group_fd,
		    const struct perf_event_attr *attr_extra, int *user_only);

/*
 * The instruments (daemon/instruments.c): counting for --counters and
 * overflow sampling for --sample-on SPEC (EVENT or EVENT:PERIOD).
 * Return 0 with *out filled, or -1 after reporting an error (an unknown
 * event name, for instance).
 */
int pk_counters_instrument(const struct pk_options *opt, struct pk_instrument *out);
int pk_sample_on_instrument(const struct pk_options *opt, struct pk_instrument *out);

/*
 * Parse a --sample-on SPEC: "EVENT" or "EVENT:PERIOD".  Returns 0 with
 * *ev and *period set (the event's default period when none is given),
 * or -1 with a message in err.
 */
int pk_sample_on_parse(const char *spec, const struct pk_counter_event **ev, uint64_t *period,
		       char *err, size_t errlen);

#endif
