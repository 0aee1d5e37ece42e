# daemon/alloc.mk - allocation tracking end to end (issue 4): the perfkitd
# instrument (daemon/alloc-instrument.c, on the probe engine and the
# allocation library of daemon/probe.mk), its store section (schema v3,
# store/allocs.c), "perfkit allocs", and their tests.

daemon_libpkdaemon_a_SOURCES += daemon/alloc-instrument.c daemon/alloc-instrument.h \
	daemon/alloc-instrument-int.h daemon/alloc-record.c daemon/alloc-jump.c daemon/alloc-jump.h \
	daemon/alloc-jump-queue.c daemon/alloc-jump-queue.h
store_libpkstore_a_SOURCES += store/allocs.c

# perfkit allocs: the model, the timeline chart and the command.
src_libpksrc_a_SOURCES += src/allocs.c src/allocs.h src/allocs-svg.c src/cmd-allocs.c

# The store's allocation tables and the model of perfkit allocs.
check_PROGRAMS += tests/unit/test-allocs
TESTS += tests/unit/test-allocs
tests_unit_test_allocs_SOURCES = tests/unit/test-allocs.c
tests_unit_test_allocs_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_allocs_LDADD = src/libpksrc.a store/libpkstore.a lib/libpkcommon.a \
	$(SQLITE_LIBS) $(ZLIB_LIBS) $(CUNIT_LIBS) -lm

# Integration tests: perfkitd --alloc against tracees with known truth
# (tests/targets/alloc-suite.c, alloc-cxx.cc, built in daemon/probe.mk).
PK_ALLOC_TESTS = \
	tests/integration/alloc-basic.sh \
	tests/integration/alloc-threads.sh \
	tests/integration/alloc-signal.sh \
	tests/integration/alloc-deep.sh \
	tests/integration/alloc-fork.sh \
	tests/integration/alloc-cxx.sh \
	tests/integration/alloc-attach.sh \
	tests/integration/alloc-stop.sh \
	tests/integration/alloc-window.sh \
	tests/integration/alloc-exec.sh
TESTS += $(PK_ALLOC_TESTS)
EXTRA_DIST += $(PK_ALLOC_TESTS) tests/integration/alloc-common.sh

# Cost per traced event against a bare ptrace stop, and heaptrack side by
# side (not in make check: timings).
EXTRA_DIST += tests/bench/alloc.sh
