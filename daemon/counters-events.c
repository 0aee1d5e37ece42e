/*
 * counters-events.c - the events perfkit counts, opening one with
 * perf_event_open, and what a failure means (see counters.h).
 *
 * Groups keep ratios honest under multiplexing: cycles and instructions
 * (IPC), cache references and misses, branches and branch misses, L1D
 * loads and load misses are each scheduled together, so a ratio within a
 * group compares counts taken over the same time.  Each group is scaled by
 * its own enabled/running times.
 */
#include <dirent.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "daemon/counters.h"

#define CACHE_CONFIG(cache, op, result) \
	((uint64_t)(cache) | ((uint64_t)(op) << 8) | ((uint64_t)(result) << 16))

const struct pk_counter_event pk_counter_events[] = {
	{ "cycles", PK_COUNTER_HARDWARE, PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES, 1, 2000003 },
	{ "instructions", PK_COUNTER_HARDWARE, PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS, 1, 2000003 },
	{ "cache-references", PK_COUNTER_HARDWARE, PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_REFERENCES, 2, 100003 },
	{ "cache-misses", PK_COUNTER_HARDWARE, PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_MISSES, 2, 10007 },
	{ "branches", PK_COUNTER_HARDWARE, PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_INSTRUCTIONS, 3, 1000003 },
	{ "branch-misses", PK_COUNTER_HARDWARE, PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_MISSES, 3, 10007 },
	{ "L1-dcache-loads", PK_COUNTER_CACHE, PERF_TYPE_HW_CACHE,
	  CACHE_CONFIG(PERF_COUNT_HW_CACHE_L1D, PERF_COUNT_HW_CACHE_OP_READ, PERF_COUNT_HW_CACHE_RESULT_ACCESS),
	  4, 1000003 },
	{ "L1-dcache-load-misses", PK_COUNTER_CACHE, PERF_TYPE_HW_CACHE,
	  CACHE_CONFIG(PERF_COUNT_HW_CACHE_L1D, PERF_COUNT_HW_CACHE_OP_READ, PERF_COUNT_HW_CACHE_RESULT_MISS),
	  4, 10007 },
	{ "dTLB-load-misses", PK_COUNTER_CACHE, PERF_TYPE_HW_CACHE,
	  CACHE_CONFIG(PERF_COUNT_HW_CACHE_DTLB, PERF_COUNT_HW_CACHE_OP_READ, PERF_COUNT_HW_CACHE_RESULT_MISS),
	  5, 1009 },
	{ "task-clock", PK_COUNTER_SOFTWARE, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_TASK_CLOCK, 6, 10000000 },
	{ "page-faults", PK_COUNTER_SOFTWARE, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS, 6, 1 },
	{ "minor-faults", PK_COUNTER_SOFTWARE, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS_MIN, 6, 1 },
	{ "major-faults", PK_COUNTER_SOFTWARE, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS_MAJ, 6, 1 },
	{ "context-switches", PK_COUNTER_SOFTWARE, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES, 6, 1 },
	{ "cpu-migrations", PK_COUNTER_SOFTWARE, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_MIGRATIONS, 6, 1 },
};
const size_t pk_counter_n_events = sizeof(pk_counter_events) / sizeof(pk_counter_events[0]);

/* Events that may be sampled on but are not part of --counters. */
static const struct pk_counter_event sample_only_events[] = {
	{ "cpu-clock", PK_COUNTER_SOFTWARE, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK, 0, 10000000 },
};

const struct pk_counter_event *pk_counter_event_find(const char *name)
{
	size_t i;

	for (i = 0; i < pk_counter_n_events; i++)
		if (!strcmp(pk_counter_events[i].name, name))
			return &pk_counter_events[i];
	for (i = 0; i < sizeof(sample_only_events) / sizeof(sample_only_events[0]); i++)
		if (!strcmp(sample_only_events[i].name, name))
			return &sample_only_events[i];
	return NULL;
}

int pk_counter_pmu_present(void)
{
	DIR *d = opendir("/sys/bus/event_source/devices");
	struct dirent *e;
	int found = 0;

	if (!d)
		return 0;
	while (!found && (e = readdir(d)))
		found = !strcmp(e->d_name, "cpu") || !strncmp(e->d_name, "cpu_", 4) ||
			!strncmp(e->d_name, "armv", 4);
	closedir(d);
	return found;
}

int pk_counter_open(const struct pk_counter_event *ev, pid_t tid, int group_fd,
		    const struct perf_event_attr *attr_extra, int *user_only)
{
	struct perf_event_attr attr;
	int fd;

	if (attr_extra) {
		attr = *attr_extra;
	} else {
		memset(&attr, 0, sizeof(attr));
		attr.read_format = PERF_FORMAT_GROUP | PERF_FORMAT_TOTAL_TIME_ENABLED |
				   PERF_FORMAT_TOTAL_TIME_RUNNING;
	}
	attr.size = sizeof(attr);
	attr.type = ev->type;
	attr.config = ev->config;
	attr.exclude_hv = 1;
	attr.exclude_kernel = 0;
	*user_only = 0;
	fd = (int)syscall(SYS_perf_event_open, &attr, tid, -1, group_fd, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0 && (errno == EACCES || errno == EPERM)) {
		/* perf_event_paranoid >= 2 still allows user-space counting. */
		attr.exclude_kernel = 1;
		*user_only = 1;
		fd = (int)syscall(SYS_perf_event_open, &attr, tid, -1, group_fd, PERF_FLAG_FD_CLOEXEC);
	}
	return fd < 0 ? -errno : fd;
}

int pk_sample_on_parse(const char *spec, const struct pk_counter_event **ev, uint64_t *period,
		       char *err, size_t errlen)
{
	char name[64];
	const char *colon = strchr(spec, ':');
	size_t n = colon ? (size_t)(colon - spec) : strlen(spec);

	if (n == 0 || n >= sizeof(name)) {
		snprintf(err, errlen, "invalid --sample-on '%s': give EVENT or EVENT:PERIOD", spec);
		return -1;
	}
	memcpy(name, spec, n);
	name[n] = '\0';
	*ev = pk_counter_event_find(name);
	if (!*ev) {
		snprintf(err, errlen, "unknown --sample-on event '%s': use cycles, instructions, "
			 "cache-references, cache-misses, branches, branch-misses, L1-dcache-loads, "
			 "L1-dcache-load-misses, dTLB-load-misses, page-faults, minor-faults, major-faults, "
			 "context-switches, cpu-migrations, task-clock or cpu-clock", name);
		return -1;
	}
	*period = (*ev)->default_period;
	if (colon) {
		char *end;
		unsigned long long v;

		errno = 0;
		v = strtoull(colon + 1, &end, 10);
		if (errno || end == colon + 1 || *end || v == 0 || colon[1] == '-') {
			snprintf(err, errlen, "invalid period in --sample-on '%s': give a positive number of events",
				 spec);
			return -1;
		}
		*period = v;
	}
	return 0;
}
