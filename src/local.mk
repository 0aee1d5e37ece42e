# src/local.mk - the perfkit reader: command dispatch, the profile model,
# output formats, and their tests.  Renderers add their sources to
# src_libpksrc_a_SOURCES in src/render.mk.

noinst_LIBRARIES += src/libpksrc.a
src_libpksrc_a_SOURCES = \
	src/builtin.h \
	src/cli.c src/cli.h \
	src/output.c src/output.h \
	src/profile.c src/profile.h \
	src/cmd-sessions.c \
	src/cmd-report.c

bin_PROGRAMS += src/perfkit
src_perfkit_SOURCES = src/perfkit.c
src_perfkit_LDADD = src/libpksrc.a store/libpkstore.a lib/libpkcommon.a \
	$(SQLITE_LIBS) $(ZLIB_LIBS) -lm

dist_man_MANS += man/perfkit.1

check_PROGRAMS += tests/unit/test-report
tests_unit_test_report_SOURCES = tests/unit/test-report.c
tests_unit_test_report_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_report_LDADD = src/libpksrc.a store/libpkstore.a lib/libpkcommon.a \
	$(SQLITE_LIBS) $(ZLIB_LIBS) $(CUNIT_LIBS) -lm

TESTS += tests/unit/test-report tests/integration/reader-cli.sh
EXTRA_DIST += tests/integration/reader-cli.sh
