# daemon/unwind.mk: /proc/PID/maps parsing and the out-of-process unwinder
# (libunwind remote API with perfkit's own accessors).
daemon_libpkdaemon_a_SOURCES += \
	daemon/maps.c daemon/maps.h \
	daemon/unwind.c daemon/unwind.h daemon/unwind-internal.h \
	daemon/unwind-access.c daemon/unwind-modules.c daemon/unwind-fp.c daemon/unwind-ehframe.c \
	daemon/unwind-rule.c

# The test unwinds a tracee whose truth it knows: built at -O2 without frame
# pointers, with asynchronous unwind tables, as PIE and as non-PIE.
UNW_TARGET_CFLAGS = $(AM_CFLAGS) -O2 -fomit-frame-pointer -fasynchronous-unwind-tables -pthread
check_PROGRAMS += tests/targets/unw-target tests/targets/unw-target-nopie
tests_targets_unw_target_SOURCES = tests/targets/unw-target.c
tests_targets_unw_target_CFLAGS = $(UNW_TARGET_CFLAGS) -fPIE
tests_targets_unw_target_LDFLAGS = -pie -pthread
tests_targets_unw_target_nopie_SOURCES = tests/targets/unw-target.c
tests_targets_unw_target_nopie_CFLAGS = $(UNW_TARGET_CFLAGS) -fno-PIE
tests_targets_unw_target_nopie_LDFLAGS = -no-pie -pthread

# Sources listed directly so the test does not depend on the rest of
# libpkdaemon.a building.
check_PROGRAMS += tests/unit/test-unwind
TESTS += tests/unit/test-unwind
tests_unit_test_unwind_SOURCES = tests/unit/test-unwind.c \
	daemon/maps.c daemon/unwind.c daemon/unwind-access.c \
	daemon/unwind-modules.c daemon/unwind-fp.c daemon/unwind-ehframe.c daemon/unwind-rule.c
tests_unit_test_unwind_CFLAGS = $(AM_CFLAGS) $(LIBUNWIND_CFLAGS) $(LIBDW_CFLAGS) $(LIBELF_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_unwind_LDADD = lib/libpkcommon.a $(LIBUNWIND_LIBS) $(LIBDW_LIBS) $(LIBELF_LIBS) $(CUNIT_LIBS)
