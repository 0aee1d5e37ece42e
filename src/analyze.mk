# src/analyze.mk - "perfkit analyze": the rule engine, its evidence, one
# file per rule (src/rules/), the command, and their tests.

src_libpksrc_a_SOURCES += \
	src/analyze.c src/analyze.h src/analyze-thresholds.h \
	src/analyze-evidence.c src/analyze-data.c src/analyze-rules.c \
	src/rules/slow-function.c \
	src/rules/hot-callee.c \
	src/rules/excessive-allocation.c \
	src/rules/large-allocation.c \
	src/rules/leak-suspect.c \
	src/rules/allocator-overhead.c \
	src/rules/deep-stack.c \
	src/rules/memory-copying.c \
	src/rules/string-scanning.c \
	src/rules/lock-contention.c \
	src/rules/syscall-heavy.c \
	src/rules/cache-unfriendly.c \
	src/rules/profile-quality.c \
	src/cmd-analyze.c

check_PROGRAMS += tests/unit/test-analyze
tests_unit_test_analyze_SOURCES = tests/unit/test-analyze.c
tests_unit_test_analyze_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_analyze_LDADD = src/libpksrc.a store/libpkstore.a lib/libpkcommon.a \
	$(SQLITE_LIBS) $(ZLIB_LIBS) $(CUNIT_LIBS) -lm

# Tracees with one known problem each (tests/targets/an-*.c).

check_PROGRAMS += \
	tests/targets/an-slow tests/targets/an-strlen tests/targets/an-memcpy \
	tests/targets/an-realloc tests/targets/an-smallalloc tests/targets/an-recurse \
	tests/targets/an-syscall tests/targets/an-leak tests/targets/an-balanced \
	tests/targets/an-mutex
tests_targets_an_slow_SOURCES = tests/targets/an-slow.c tests/targets/an-common.h
tests_targets_an_slow_CFLAGS = $(PK_TARGET_CFLAGS)
tests_targets_an_strlen_SOURCES = tests/targets/an-strlen.c tests/targets/an-common.h
tests_targets_an_strlen_CFLAGS = $(PK_TARGET_CFLAGS)
tests_targets_an_memcpy_SOURCES = tests/targets/an-memcpy.c tests/targets/an-common.h
tests_targets_an_memcpy_CFLAGS = $(PK_TARGET_CFLAGS)
tests_targets_an_realloc_SOURCES = tests/targets/an-realloc.c tests/targets/an-common.h
tests_targets_an_realloc_CFLAGS = $(PK_TARGET_CFLAGS)
tests_targets_an_smallalloc_SOURCES = tests/targets/an-smallalloc.c tests/targets/an-common.h
tests_targets_an_smallalloc_CFLAGS = $(PK_TARGET_CFLAGS)
tests_targets_an_recurse_SOURCES = tests/targets/an-recurse.c tests/targets/an-common.h
tests_targets_an_recurse_CFLAGS = $(PK_TARGET_CFLAGS)
tests_targets_an_syscall_SOURCES = tests/targets/an-syscall.c tests/targets/an-common.h
tests_targets_an_syscall_CFLAGS = $(PK_TARGET_CFLAGS)
tests_targets_an_leak_SOURCES = tests/targets/an-leak.c tests/targets/an-common.h
tests_targets_an_leak_CFLAGS = $(PK_TARGET_CFLAGS)
tests_targets_an_balanced_SOURCES = tests/targets/an-balanced.c tests/targets/an-common.h
tests_targets_an_balanced_CFLAGS = $(PK_TARGET_CFLAGS)
tests_targets_an_mutex_SOURCES = tests/targets/an-mutex.c tests/targets/an-common.h
tests_targets_an_mutex_CFLAGS = $(PK_TARGET_CFLAGS) -pthread
tests_targets_an_mutex_LDFLAGS = -pthread

PK_ANALYZE_TESTS = \
	tests/integration/analyze-cpu.sh \
	tests/integration/analyze-alloc.sh \
	tests/integration/analyze-alloc-trace.sh \
	tests/integration/analyze-deep.sh \
	tests/integration/analyze-wall.sh \
	tests/integration/analyze-cache.sh \
	tests/integration/analyze-clean.sh

TESTS += tests/unit/test-analyze $(PK_ANALYZE_TESTS)
EXTRA_DIST += $(PK_ANALYZE_TESTS) tests/integration/analyze-common.sh
