/*
 * syscall-heavy.c - rule "syscall-heavy": much time inside system call
 * wrappers (read, write, send, recv, lseek...) - usually small,
 * unbuffered I/O that pays a kernel entry per record.
 */
#include <math.h>
#include <stdlib.h>

#include "src/analyze.h"

static const char *const syscall_functions[] = {
	"read", "write", "pread*", "pwrite*", "readv", "writev", "preadv*", "pwritev*",
	"recv", "recvfrom", "recvmsg", "recvmmsg", "send", "sendto", "sendmsg", "sendmmsg",
	"lseek*", "llseek", "fsync", "fdatasync", "sync_file_range", "open", "open64",
	"openat*", "close", "close_nocancel", "stat*", "fstat*", "lstat*", "newfstatat",
	"statx", "access", "faccessat", "getdents*", "ioctl", "fcntl*", "mmap*", "munmap",
	"mprotect", "brk", "sbrk", "poll", "ppoll", "select", "pselect*", "epoll_wait",
	"epoll_pwait*", "getpid", "gettid", "syscall", "read_nocancel", "write_nocancel",
	"getrandom", "sched_yield", NULL
};

static void run(const struct pk_rule *rule, const struct pk_evidence *ev, struct pk_findings *out)
{
	struct pk_match m;
	struct pk_finding *f;
	double share;
	enum pk_severity sev;
	const struct pk_caller_ev *top;
	char *loc;
	uint64_t calls = 0;

	pk_ev_match(ev, syscall_functions, 0, &m);
	/* Wall mode: a thread blocked in read() waits for data; only the
	 * on-CPU part is the cost of making the calls. */
	share = pk_ev_share(ev, m.weight - m.offcpu);
	sev = pk_severity_of(share, &rule->levels);
	if (sev == PK_SEV_NONE || !m.n_callers) {
		pk_match_release(&m);
		return;
	}
	top = &m.callers[0];
	for (size_t i = 0; i < ev->n_probes; i++)
		if (pk_ev_name_in(ev->probes[i].function, syscall_functions))
			calls += ev->probes[i].calls;
	f = pk_finding_add(out, rule, sev, share);
	loc = pk_ev_location(ev, top->function_id);
	pk_finding_location(f, "%s", loc);
	free(loc);
	pk_finding_describe(f, "%.1f%% of the samples are inside system call wrappers (%s and others: "
			    "%llu of %llu samples, on CPU), %.1f%% from %s%s.",
			    100.0 * share, pk_ev_name(ev, m.top_function),
			    (unsigned long long)(m.weight - m.offcpu), (unsigned long long)ev->total,
			    100.0 * pk_ev_share(ev, top->weight - top->offcpu),
			    pk_ev_name(ev, top->function_id),
			    calls ? " (probes counted the calls: see the evidence)" : "");
	pk_finding_recommend(f, "Make fewer, larger system calls in %s: buffer the I/O (stdio, or "
			     "your own buffer of 64 KiB or more), batch with readv/writev or "
			     "sendmmsg, map files with mmap, and cache results (stat, getpid) "
			     "instead of asking the kernel again.",
			     pk_ev_name(ev, top->function_id));
	pk_finding_number(f, "syscall_samples", (double)(m.weight - m.offcpu));
	pk_finding_number(f, "syscall_share", share);
	pk_finding_number(f, "top_caller_samples", (double)(top->weight - top->offcpu));
	pk_finding_number(f, "callers", (double)m.n_callers);
	if (calls)
		pk_finding_number(f, "calls", (double)calls);
	if (isfinite(ev->stat_syscall_stops))
		pk_finding_number(f, "syscall_stops", ev->stat_syscall_stops);
	for (size_t i = 0; i < m.n_matched; i++)
		pk_finding_cover(f, m.matched[i]);
	pk_finding_paths(f, ev, m.top_function);
	pk_match_release(&m);
}

const struct pk_rule pk_rule_syscall_heavy = {
	.name = "syscall-heavy",
	.category = "io",
	.summary = "much time in read/write and other system call wrappers",
	.explain =
		"Reads the samples whose stack holds a system call wrapper (read,\n"
		"write, pread, send, recv, lseek, open, stat, mmap, poll... and glibc's\n"
		"__libc_ forms), each counted once, as a share of all samples; in wall\n"
		"mode only the samples taken while the thread ran (a thread blocked in\n"
		"read() is waiting for data, not paying for calls).  Each system call\n"
		"costs a kernel entry and exit (about a microsecond on a VM): many small\n"
		"calls cost more than the data they move.  With function probes the\n"
		"call counts are shown too.",
	.needs = "CPU or wall samples (--probe adds call counts)",
	.kind = PK_RULE_SPECIFIC,
	.sample_based = 1,
	.levels = PK_AN_LEVELS_SYSCALL,
	.run = run,
};
