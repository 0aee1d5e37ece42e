# src/compare.mk - "perfkit compare": the comparison model, its
# statistics, outputs and differential flame graph, and their tests.

src_libpksrc_a_SOURCES += \
	src/stats.c src/stats.h \
	src/compare.c src/compare.h src/compare-exact.c \
	src/compare-output.c src/compare-output.h src/compare-json.c \
	src/compare-output-exact.c \
	src/compare-flamegraph.c \
	src/cmd-compare.c

check_PROGRAMS += tests/unit/test-stats tests/unit/test-compare
tests_unit_test_stats_SOURCES = tests/unit/test-stats.c
tests_unit_test_stats_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_stats_LDADD = src/libpksrc.a lib/libpkcommon.a $(CUNIT_LIBS) -lm

tests_unit_test_compare_SOURCES = tests/unit/test-compare.c
tests_unit_test_compare_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_compare_LDADD = src/libpksrc.a store/libpkstore.a lib/libpkcommon.a \
	$(SQLITE_LIBS) $(ZLIB_LIBS) $(CUNIT_LIBS) -lm

# One tracee built twice: cmp-work-fast makes slow_path() 3x cheaper
# (-DFAST) and changes nothing else.
check_PROGRAMS += tests/targets/cmp-work-slow tests/targets/cmp-work-fast
tests_targets_cmp_work_slow_SOURCES = tests/targets/cmp-work.c
tests_targets_cmp_work_slow_CFLAGS = $(PK_TARGET_CFLAGS)
tests_targets_cmp_work_fast_SOURCES = tests/targets/cmp-work.c
tests_targets_cmp_work_fast_CFLAGS = $(PK_TARGET_CFLAGS) -DFAST

# One allocating tracee built twice: cmp-alloc-few makes 2003 fewer
# allocations at known call sites (-DFEW).
check_PROGRAMS += tests/targets/cmp-alloc-many tests/targets/cmp-alloc-few
tests_targets_cmp_alloc_many_SOURCES = tests/targets/cmp-alloc.c
tests_targets_cmp_alloc_many_CFLAGS = $(PK_TARGET_CFLAGS)
tests_targets_cmp_alloc_few_SOURCES = tests/targets/cmp-alloc.c
tests_targets_cmp_alloc_few_CFLAGS = $(PK_TARGET_CFLAGS) -DFEW

PK_COMPARE_TESTS = \
	tests/integration/compare-same.sh \
	tests/integration/compare-speedup.sh \
	tests/integration/compare-edges.sh \
	tests/integration/compare-browser.sh \
	tests/integration/compare-allocs.sh \
	tests/integration/compare-probes.sh \
	tests/integration/compare-event.sh

TESTS += tests/unit/test-stats tests/unit/test-compare $(PK_COMPARE_TESTS)
EXTRA_DIST += $(PK_COMPARE_TESTS) tests/integration/compare-common.sh \
	tests/js/compare-browser.js
