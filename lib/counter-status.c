/*
 * counter-status.c - the status and message of a perf event's open (see
 * counter-status.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "counter-status.h"

enum pk_counter_kind pk_counter_kind_of(const char *name)
{
	static const char *const hardware[] = {
		"cycles", "instructions", "cache-references", "cache-misses", "branches",
		"branch-instructions", "branch-misses", "bus-cycles", "ref-cycles",
		"stalled-cycles-frontend", "stalled-cycles-backend",
	};
	size_t i;

	for (i = 0; i < sizeof(hardware) / sizeof(hardware[0]); i++)
		if (!strcmp(name, hardware[i]))
			return PK_COUNTER_HARDWARE;
	if (!strncmp(name, "L1-", 3) || !strncmp(name, "LLC-", 4) || !strncmp(name, "dTLB-", 5) ||
	    !strncmp(name, "iTLB-", 5) || !strncmp(name, "branch-load", 11) || !strncmp(name, "node-", 5))
		return PK_COUNTER_CACHE;
	return PK_COUNTER_SOFTWARE;
}

const char *pk_counter_classify(int err, enum pk_counter_kind kind)
{
	switch (err) {
	case 0:
		return "counted";
	case ENOENT:
	case EOPNOTSUPP:
	case ENODEV:
		return "unsupported";
	case EINVAL:
		/* A generalized cache event the CPU has no encoding for. */
		return kind == PK_COUNTER_CACHE ? "unsupported" : "failed";
	case EACCES:
	case EPERM:
		return "denied";
	case ESRCH:
		return "gone";
	default:
		return "failed";
	}
}

static const char *errno_name(int err)
{
	const char *n = err ? strerrorname_np(err) : NULL;

	return n ? n : "unknown errno";
}

char *pk_counter_explain(const char *status, int err, enum pk_counter_kind kind, int pmu_present,
			 char *buf, size_t len)
{
	if (!strcmp(status, "counted"))
		snprintf(buf, len, "counted");
	else if (!strcmp(status, "unsupported") && kind != PK_COUNTER_SOFTWARE && pmu_present == 0)
		snprintf(buf, len, "unavailable: no hardware PMU (%s)", errno_name(err));
	else if (!strcmp(status, "unsupported") && kind != PK_COUNTER_SOFTWARE && pmu_present > 0)
		snprintf(buf, len, "unavailable: not supported by this CPU (%s)", errno_name(err));
	else if (!strcmp(status, "unsupported") && kind != PK_COUNTER_SOFTWARE)
		snprintf(buf, len, "unavailable: not supported on the recording machine (%s)", errno_name(err));
	else if (!strcmp(status, "unsupported"))
		snprintf(buf, len, "unavailable: not supported by this kernel (%s)", errno_name(err));
	else if (!strcmp(status, "denied"))
		snprintf(buf, len, "denied (%s): run as root or lower perf_event_paranoid", errno_name(err));
	else if (!strcmp(status, "gone"))
		snprintf(buf, len, "not counted: the thread ended before it opened (%s)", errno_name(err));
	else if (!strcmp(status, "not-counted"))
		snprintf(buf, len, "not counted: never scheduled on a hardware counter");
	else
		snprintf(buf, len, "failed (%s): %s", errno_name(err), strerror(err));
	return buf;
}

