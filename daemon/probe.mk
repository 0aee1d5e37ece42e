# daemon/probe.mk - the probe engine (int3 backend) and allocation tracking.
PK_PROBE_SOURCES = \
	daemon/probe.c daemon/probe.h daemon/probe-int.h \
	daemon/probe-trap.c daemon/probe-detach.c \
	daemon/probe-insn.c daemon/probe-insn.h \
	daemon/probe-inject.c \
	daemon/probe-return.c daemon/probe-timed.c \
	daemon/alloc.c daemon/alloc.h daemon/alloc-int.h \
	daemon/alloc-table.c \
	daemon/alloc-symbols.c

daemon_libpkdaemon_a_SOURCES += $(PK_PROBE_SOURCES)

check_PROGRAMS += tests/unit/test-probe tests/targets/alloc-suite tests/targets/alloc-cxx
TESTS += tests/unit/test-probe
tests_unit_test_probe_SOURCES = tests/unit/test-probe.c \
	tests/unit/probe-driver.c tests/unit/probe-driver.h \
	$(PK_PROBE_SOURCES) daemon/maps.c
tests_unit_test_probe_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS) $(LIBELF_CFLAGS)
tests_unit_test_probe_LDADD = lib/libpkcommon.a $(CUNIT_LIBS) $(LIBELF_LIBS)

tests_targets_alloc_suite_SOURCES = tests/targets/alloc-suite.c
tests_targets_alloc_suite_CFLAGS = $(PK_TARGET_CFLAGS) -pthread
tests_targets_alloc_suite_LDFLAGS = -pthread

check_PROGRAMS += tests/targets/alloc-suite-static
tests_targets_alloc_suite_static_SOURCES = tests/targets/alloc-suite.c
tests_targets_alloc_suite_static_CFLAGS = $(PK_TARGET_CFLAGS) -pthread
tests_targets_alloc_suite_static_LDFLAGS = -pthread -static

tests_targets_alloc_cxx_SOURCES = tests/targets/alloc-cxx.cc
tests_targets_alloc_cxx_CXXFLAGS = $(PK_TARGET_CXXFLAGS)

check_PROGRAMS += tests/targets/probe-calls
tests_targets_probe_calls_SOURCES = tests/targets/probe-calls.c
# no sibling-call/accumulator rewrite: fib must make its 1,973 real calls
tests_targets_probe_calls_CFLAGS = $(PK_TARGET_CFLAGS) -fno-optimize-sibling-calls
