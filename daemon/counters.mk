# daemon/counters.mk - hardware and software counters (--counters),
# overflow sampling (--sample-on), the cache simulation mode (--cache-sim),
# their store (store/counters.c), "perfkit cache", and their tests.

daemon_libpkdaemon_a_SOURCES += \
	daemon/counters.h daemon/counters.c daemon/counters-events.c daemon/counters-sample.c \
	daemon/cachesim.h daemon/cachesim.c daemon/cachesim-parse.c

store_libpkstore_a_SOURCES += store/counters.c

# Tracees: known page faults, known cache behaviour.
check_PROGRAMS += tests/targets/faults tests/targets/matrix
tests_targets_faults_SOURCES = tests/targets/faults.c
tests_targets_faults_CFLAGS = $(PK_TARGET_CFLAGS)
tests_targets_matrix_SOURCES = tests/targets/matrix.c
tests_targets_matrix_CFLAGS = $(PK_TARGET_CFLAGS)

# Shared by perfkitd and perfkit: what an event's status means.
lib_libpkcommon_a_SOURCES += lib/counter-status.c lib/counter-status.h

# perfkit cache: the view (src/cache.c) and the command.
src_libpksrc_a_SOURCES += src/cache.c src/cache.h src/cache-output.c src/cmd-cache.c

PK_COUNTERS_TESTS = \
	tests/integration/counters.sh \
	tests/integration/cache-sim.sh \
	tests/integration/counters-hw.sh
TESTS += $(PK_COUNTERS_TESTS)
EXTRA_DIST += $(PK_COUNTERS_TESTS) tests/pmu-check.sh tests/bench/counters.sh

check_PROGRAMS += tests/unit/test-counters
TESTS += tests/unit/test-counters
tests_unit_test_counters_SOURCES = tests/unit/test-counters.c
tests_unit_test_counters_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_counters_LDADD = daemon/libpkdaemon.a store/libpkstore.a lib/libpkcommon.a \
	$(LIBUNWIND_LIBS) $(LIBDW_LIBS) $(LIBELF_LIBS) $(SQLITE_LIBS) $(ZLIB_LIBS) $(CUNIT_LIBS) -lstdc++ -lm
