/*
 * counter-status.h - what the outcome of opening a perf event means, in
 * the words perfkit uses everywhere (perfkitd when it records, perfkit
 * when it shows): the status stored for each event and the message shown
 * for an event that did not open.  Never 0 for an event that did not open.
 */
#ifndef PK_COUNTER_STATUS_H
#define PK_COUNTER_STATUS_H

#include <stddef.h>

enum pk_counter_kind { PK_COUNTER_HARDWARE, PK_COUNTER_CACHE, PK_COUNTER_SOFTWARE };

/* The kind of an event by perf's name: "cycles" is hardware,
 * "L1-dcache-load-misses" a generalized cache event, "page-faults"
 * software (anything not known as hardware or cache). */
enum pk_counter_kind pk_counter_kind_of(const char *name);

/*
 * Status of an open that failed with err: "counted" (err 0),
 * "unsupported" (ENOENT, EOPNOTSUPP, ENODEV; EINVAL on a cache event),
 * "denied" (EACCES, EPERM), "gone" (ESRCH) or "failed" (anything else).
 */
const char *pk_counter_classify(int err, enum pk_counter_kind kind);

/*
 * The message for an event's status, e.g. "unavailable: no hardware PMU
 * (ENOENT)" or "denied (EACCES): run as root or lower
 * perf_event_paranoid".  pmu_present: the recording machine had a CPU PMU
 * (1), had none (0), unknown (-1).  Writes into buf (len bytes) and returns buf.
 */
char *pk_counter_explain(const char *status, int err, enum pk_counter_kind kind, int pmu_present,
			 char *buf, size_t len);

#endif
