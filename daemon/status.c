/*
 * status.c - live status line (see status.h).
 */
#include <stdio.h>
#include <unistd.h>

#include "daemon/status.h"
#include "util.h"

void pk_status_init(struct pk_status_line *sl, int quiet)
{
	sl->enabled = !quiet && isatty(STDERR_FILENO);
	sl->last_ns = 0;
	sl->shown = 0;
}

void pk_status_update(struct pk_status_line *sl, double elapsed_s, uint64_t samples,
		      size_t threads, uint64_t unwind_failures, uint64_t lost,
		      const struct pk_status_count *extra, size_t n_extra, int force)
{
	uint64_t now;

	if (!sl->enabled)
		return;
	now = pk_monotonic_ns();
	if (!force && now - sl->last_ns < 250000000ull)
		return;
	sl->last_ns = now;
	fprintf(stderr, "\r\033[Kperfkitd: %.1f s  %llu samples  %zu thread%s  %llu unwind failure%s",
		elapsed_s, (unsigned long long)samples, threads, threads == 1 ? "" : "s",
		(unsigned long long)unwind_failures, unwind_failures == 1 ? "" : "s");
	if (lost)
		fprintf(stderr, "  %llu lost", (unsigned long long)lost);
	for (size_t i = 0; i < n_extra; i++)
		fprintf(stderr, "  %llu %s", (unsigned long long)extra[i].n, extra[i].what);
	fflush(stderr);
	sl->shown = 1;
}

void pk_status_clear(struct pk_status_line *sl)
{
	if (!sl->enabled || !sl->shown)
		return;
	fputs("\r\033[K", stderr);
	fflush(stderr);
	sl->shown = 0;
}
