/*
 * test-options.c - CUnit suite for perfkitd's command line, /proc/PID/stat
 * parsing (comm names with spaces and parentheses) and PROG resolution.
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/launch.h"
#include "daemon/options.h"
#include "daemon/target.h"

static int parse(struct pk_options *o, const char *const *args)
{
	char *argv[32];
	int argc = 0;

	while (args[argc]) {
		argv[argc] = (char *)args[argc];
		argc++;
	}
	argv[argc] = NULL;
	return pk_options_parse(argc, argv, o);
}

static void test_run_options(void)
{
	struct pk_options o;
	const char *a[] = { "perfkitd", "run", "-F", "999", "--mode", "wall", "-d", "2m", "-n", "x",
			    "--", "./prog", "-F", "1", NULL };

	CU_ASSERT_EQUAL(parse(&o, a), 0);
	CU_ASSERT_EQUAL(o.command, PK_CMD_RUN);
	CU_ASSERT_DOUBLE_EQUAL(o.frequency, 999, 1e-9);
	CU_ASSERT_EQUAL(o.mode, PK_MODE_WALL);
	CU_ASSERT_DOUBLE_EQUAL(o.duration, 120, 1e-9);
	CU_ASSERT_STRING_EQUAL(o.name, "x");
	/* PROG's own options are PROG's. */
	CU_ASSERT_STRING_EQUAL(o.argv[0], "./prog");
	CU_ASSERT_STRING_EQUAL(o.argv[1], "-F");
	CU_ASSERT_STRING_EQUAL(o.argv[2], "1");
	CU_ASSERT_PTR_NULL(o.argv[3]);
}

static void test_attach_options(void)
{
	struct pk_options o;
	const char *a[] = { "perfkitd", "attach", "4242", "--duration", "0.5", "-q", NULL };
	const char *b[] = { "perfkitd", "attach", "--db", "/tmp/x.db", "17", NULL };
	const char *bad_pid[] = { "perfkitd", "attach", "12abc", NULL };
	const char *no_pid[] = { "perfkitd", "attach", NULL };
	const char *bad_mode[] = { "perfkitd", "attach", "1", "--mode", "gpu", NULL };
	const char *bad_freq[] = { "perfkitd", "attach", "1", "-F", "0", NULL };
	const char *bg_run[] = { "perfkitd", "run", "--background", "--", "true", NULL };
	const char *unknown[] = { "perfkitd", "frobnicate", NULL };

	CU_ASSERT_EQUAL(parse(&o, a), 0);
	CU_ASSERT_EQUAL(o.command, PK_CMD_ATTACH);
	CU_ASSERT_EQUAL(o.pid, 4242);
	CU_ASSERT_DOUBLE_EQUAL(o.duration, 0.5, 1e-12);
	CU_ASSERT_EQUAL(o.quiet, 1);
	CU_ASSERT_DOUBLE_EQUAL(o.frequency, 99, 1e-12);
	CU_ASSERT_EQUAL(o.mode, PK_MODE_CPU);
	CU_ASSERT_EQUAL(parse(&o, b), 0);
	CU_ASSERT_EQUAL(o.pid, 17);
	CU_ASSERT_STRING_EQUAL(o.db, "/tmp/x.db");
	CU_ASSERT_EQUAL(parse(&o, bad_pid), -1);
	CU_ASSERT_EQUAL(parse(&o, no_pid), -1);
	CU_ASSERT_EQUAL(parse(&o, bad_mode), -1);
	CU_ASSERT_EQUAL(parse(&o, bad_freq), -1);
	CU_ASSERT_EQUAL(parse(&o, bg_run), -1);
	CU_ASSERT_EQUAL(parse(&o, unknown), -1);
}

static void test_stat_parsing(void)
{
	struct pk_proc_stat st;
	const char *text = "4242 (my (odd) prog) R 1 4242 4242 0 -1 4194560 100 0 0 0 "
			   "250 37 0 0 20 0 4 0 12345 1000 100 ...";

	CU_ASSERT_EQUAL(pk_proc_parse_stat(text, &st), 0);
	CU_ASSERT_STRING_EQUAL(st.comm, "my (odd) prog");
	CU_ASSERT_EQUAL(st.state, 'R');
	CU_ASSERT_EQUAL(st.flags, 4194560ul);
	CU_ASSERT_EQUAL(st.utime_ticks, 250);
	CU_ASSERT_EQUAL(st.stime_ticks, 37);
	CU_ASSERT_EQUAL(st.processor, -1); /* the sample text stops before field 39 */
	CU_ASSERT_EQUAL(pk_proc_parse_stat("garbage", &st), -1);
	/* Our own process reads back as running, not a kernel thread. */
	CU_ASSERT_EQUAL(pk_proc_read_stat(getpid(), 0, &st), 0);
	CU_ASSERT_EQUAL(st.state, 'R');
	CU_ASSERT_EQUAL(st.flags & 0x00200000, 0);
	CU_ASSERT(st.processor >= 0 && st.processor < 4096);
}

static void test_target_checks(void)
{
	char msg[512];

	CU_ASSERT_EQUAL(pk_target_check(getpid(), msg, sizeof(msg)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "perfkitd itself"));
	CU_ASSERT_EQUAL(pk_target_check(0x3ffffff0, msg, sizeof(msg)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "no process with PID"));
	if (access("/proc/2/stat", R_OK) == 0) {
		struct pk_proc_stat st;

		if (pk_proc_read_stat(2, 0, &st) == 0 && (st.flags & 0x00200000)) {
			CU_ASSERT_EQUAL(pk_target_check(2, msg, sizeof(msg)), -1);
			CU_ASSERT_PTR_NOT_NULL(strstr(msg, "kernel thread"));
		}
	}
}

static void test_resolve(void)
{
	char path[4096], msg[512];
	int status = 0;

	CU_ASSERT_EQUAL(pk_launch_resolve("sh", path, sizeof(path), msg, sizeof(msg), &status), 0);
	CU_ASSERT_EQUAL(access(path, X_OK), 0);
	CU_ASSERT_EQUAL(pk_launch_resolve("no-such-program-xyz", path, sizeof(path), msg, sizeof(msg),
					  &status), -1);
	CU_ASSERT_EQUAL(status, 127);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "not found"));
	char plain[] = "/tmp/pk-test-plain-XXXXXX";
	int fd = mkstemp(plain);

	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	CU_ASSERT_EQUAL(pk_launch_resolve(plain, path, sizeof(path), msg, sizeof(msg), &status), -1);
	unlink(plain);
	CU_ASSERT_EQUAL(status, 126);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "not executable"));
	CU_ASSERT_EQUAL(pk_launch_resolve("/nonexistent/prog", path, sizeof(path), msg, sizeof(msg),
					  &status), -1);
	CU_ASSERT_EQUAL(status, 127);
}

int main(void)
{
	CU_pSuite s;
	unsigned failures;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("perfkitd options and /proc", NULL, NULL);
	CU_add_test(s, "run options", test_run_options);
	CU_add_test(s, "attach options and usage errors", test_attach_options);
	CU_add_test(s, "stat parsing", test_stat_parsing);
	CU_add_test(s, "target checks", test_target_checks);
	CU_add_test(s, "program resolution", test_resolve);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures();
	CU_cleanup_registry();
	return failures ? 1 : 0;
}
