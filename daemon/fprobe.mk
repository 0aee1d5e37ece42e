# daemon/fprobe.mk - function probes end to end (issue 5): the perfkitd
# instrument (--probe, on the probe engine of daemon/probe.mk), its store
# section (schema v4, store/probes.c), "perfkit probes", and their tests.

daemon_libpkdaemon_a_SOURCES += \
	daemon/fprobe.c daemon/fprobe.h \
	daemon/fprobe-match.c \
	daemon/fprobe-stats.c
store_libpkstore_a_SOURCES += store/probes.c
src_libpksrc_a_SOURCES += src/cmd-probes.c

check_PROGRAMS += tests/unit/test-fprobe
TESTS += tests/unit/test-fprobe
tests_unit_test_fprobe_SOURCES = tests/unit/test-fprobe.c \
	daemon/fprobe-stats.c daemon/fprobe-match.c daemon/demangle.c daemon/maps.c
tests_unit_test_fprobe_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS) $(LIBELF_CFLAGS)
tests_unit_test_fprobe_LDADD = lib/libpkcommon.a $(CUNIT_LIBS) $(LIBELF_LIBS) -lstdc++

# Tracees: no sibling-call or accumulator rewrites, so that every call
# the source makes is a real call (fib(20) makes exactly 21,891).
PK_FPROBE_CFLAGS = $(PK_TARGET_CFLAGS) -fno-optimize-sibling-calls -fno-inline -fno-ipa-icf
check_PROGRAMS += tests/targets/fprobe-calls tests/targets/fprobe-cxx
tests_targets_fprobe_calls_SOURCES = tests/targets/fprobe-calls.c
tests_targets_fprobe_calls_CFLAGS = $(PK_FPROBE_CFLAGS) -pthread
tests_targets_fprobe_calls_LDFLAGS = -pthread
tests_targets_fprobe_cxx_SOURCES = tests/targets/fprobe-cxx.cc
tests_targets_fprobe_cxx_CXXFLAGS = $(PK_TARGET_CXXFLAGS) -fno-inline -fno-optimize-sibling-calls

PK_FPROBE_TESTS = \
	tests/integration/fprobe-counts.sh \
	tests/integration/fprobe-recursion.sh \
	tests/integration/fprobe-lost.sh \
	tests/integration/fprobe-threads.sh \
	tests/integration/fprobe-detach.sh \
	tests/integration/fprobe-errors.sh \
	tests/integration/probe-one-cpu.sh
TESTS += $(PK_FPROBE_TESTS)
EXTRA_DIST += $(PK_FPROBE_TESTS) tests/bench/fprobe.sh
