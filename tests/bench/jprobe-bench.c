/*
 * jprobe-bench.c - for tests/bench/jprobe.sh: run a tracee (started and
 * waiting for its go byte, as alloc-suite does) with libc's allocators
 * jump-probed, drain the ring concurrently, and print what the engine saw:
 *   jprobe-bench TRACEE ARGS...   ->  stdout: the tracee's output, then
 *   "events N drops N patched N".
 * JPROBE_SLOTS and JPROBE_STACK override the ring's slot count (65536)
 * and stack slice (512 bytes); JPROBE_DRAIN_AT_END drains only after the
 * tracee exited (the producer's cost without a consumer beside it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>

#include "tests/unit/jprobe-driver.h"

int main(int argc, char **argv)
{
	struct pk_jprobe_config cfg = { 65536, 512 };
	struct pk_jprobe_stats s;
	struct jd_target t;
	struct jd_run_opts o;
	struct pk_jprobes *j;
	int ids[JD_NFN], r;

	if (getenv("JPROBE_SLOTS"))
		cfg.ring_slots = (unsigned)atoi(getenv("JPROBE_SLOTS"));
	if (getenv("JPROBE_STACK"))
		cfg.stack_bytes = (unsigned)atoi(getenv("JPROBE_STACK"));
	if (argc < 2) {
		fprintf(stderr, "usage: jprobe-bench TRACEE [ARG [ARG]]\n");
		return 2;
	}
	if (jd_start(&t, argv[1], argc > 2 ? argv[2] : NULL, argc > 3 ? argv[3] : NULL) < 0 ||
	    jd_seize(&t) < 0) {
		fprintf(stderr, "jprobe-bench: cannot start and seize %s\n", argv[1]);
		return 1;
	}
	j = pk_jprobes_new(t.pid, &cfg);
	if (!j || jd_add_allocators(&t, j, ids) < 1)
		return 1;
	r = pk_jprobes_arm(j, t.tids, t.ntids);
	if (r < 0) {
		fprintf(stderr, "jprobe-bench: arm: %s\n", strerror(-r));
		return 1;
	}
	ptrace(PTRACE_CONT, t.pid, 0, 0);
	jd_go(&t);
	memset(&o, 0, sizeof(o));
	o.drain_at_end = getenv("JPROBE_DRAIN_AT_END") != NULL;
	if (jd_run(&t, j, NULL, NULL, &o) < 0)
		return 1;
	jd_read_output(&t, 1);
	fputs(t.out, stdout);
	pk_jprobes_stats(j, &s);
	printf("events %llu drops %llu patched %u\n", (unsigned long long)s.events,
	       (unsigned long long)s.drops, s.patched);
	pk_jprobes_free(j);
	return 0;
}
