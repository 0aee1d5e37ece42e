# daemon/jprobe.mk - the jump-patched probe backend (daemon/jprobe.h), its
# unit test with its own ptrace driver, and its benchmark tool.
PK_JPROBE_SOURCES = \
	daemon/jprobe.c daemon/jprobe.h daemon/jprobe-int.h \
	daemon/jprobe-code.c daemon/jprobe-ring.c daemon/jprobe-detach.c \
	daemon/jprobe-trap.c

daemon_libpkdaemon_a_SOURCES += $(PK_JPROBE_SOURCES)

check_PROGRAMS += tests/unit/test-jprobe tests/targets/jprobe-shapes
TESTS += tests/unit/test-jprobe
tests_unit_test_jprobe_SOURCES = tests/unit/test-jprobe.c \
	tests/unit/jprobe-driver.c tests/unit/jprobe-driver.h \
	$(PK_JPROBE_SOURCES) $(PK_PROBE_SOURCES) daemon/maps.c
tests_unit_test_jprobe_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS) $(LIBELF_CFLAGS)
tests_unit_test_jprobe_LDADD = lib/libpkcommon.a $(CUNIT_LIBS) $(LIBELF_LIBS)

tests_targets_jprobe_shapes_SOURCES = tests/targets/jprobe-shapes.c
tests_targets_jprobe_shapes_CFLAGS = $(PK_TARGET_CFLAGS)

# tests/bench/jprobe.sh drives this (not part of make check)
EXTRA_PROGRAMS += tests/bench/jprobe-bench
tests_bench_jprobe_bench_SOURCES = tests/bench/jprobe-bench.c \
	tests/unit/jprobe-driver.c tests/unit/jprobe-driver.h \
	$(PK_JPROBE_SOURCES) $(PK_PROBE_SOURCES) daemon/maps.c
tests_bench_jprobe_bench_CFLAGS = $(AM_CFLAGS) $(LIBELF_CFLAGS)
tests_bench_jprobe_bench_LDADD = lib/libpkcommon.a $(LIBELF_LIBS)
EXTRA_DIST += tests/bench/jprobe.sh
EXTRA_PROGRAMS += tests/bench/jprobe-work
tests_bench_jprobe_work_SOURCES = tests/bench/jprobe-work.c
tests_bench_jprobe_work_CFLAGS = $(PK_TARGET_CFLAGS)
EXTRA_PROGRAMS += tests/bench/new-work
tests_bench_new_work_SOURCES = tests/bench/new-work.cc
tests_bench_new_work_CXXFLAGS = $(PK_TARGET_CXXFLAGS)
CLEANFILES += tests/bench/jprobe-bench$(EXEEXT) tests/bench/jprobe-work$(EXEEXT) \
	tests/bench/new-work$(EXEEXT)

# perfkitd --alloc on the jump backend (daemon/alloc-jump.c): the fail-safe
# and attach/detach cycle tests (jump, and trap under a heavy load), and
# the allocation suite once more on the jump (ring) backend, on int3, and
# on trap with slices instead of walked stacks (the suite itself runs the
# default, trap, walking).
check_PROGRAMS += tests/targets/alloc-paced
tests_targets_alloc_paced_SOURCES = tests/targets/alloc-paced.c
tests_targets_alloc_paced_CFLAGS = $(PK_TARGET_CFLAGS) -pthread
tests_targets_alloc_paced_LDFLAGS = -pthread
PK_ALLOC_JUMP_TESTS = \
	tests/integration/alloc-jump-kill.sh \
	tests/integration/alloc-jump-cycles.sh \
	tests/integration/alloc-trap-cycles.sh \
	tests/integration/alloc-jump-suite.sh \
	tests/integration/alloc-int3-suite.sh \
	tests/integration/alloc-walkoff-suite.sh
TESTS += $(PK_ALLOC_JUMP_TESTS)
EXTRA_DIST += $(PK_ALLOC_JUMP_TESTS) tests/bench/alloc-jump.sh \
	tests/integration/alloc-suite-backend.sh
