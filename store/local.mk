# store/local.mk - the session store (the only code that speaks SQL), its
# unit test, and pk-mksession, a generator of synthetic sessions for
# benchmarks and other areas' tests.

noinst_LIBRARIES += store/libpkstore.a
store_libpkstore_a_SOURCES = \
	store/store.h store/internal.h \
	store/open.c store/schema.c store/session.c store/stats.c \
	store/intern.c store/samples.c store/read.c
store_libpkstore_a_CFLAGS = $(AM_CFLAGS) $(SQLITE_CFLAGS)

PK_STORE_LDADD = store/libpkstore.a lib/libpkcommon.a $(SQLITE_LIBS)

check_PROGRAMS += tests/unit/test-store
TESTS += tests/unit/test-store
tests_unit_test_store_SOURCES = tests/unit/test-store.c
tests_unit_test_store_CFLAGS = $(AM_CFLAGS) $(SQLITE_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_store_LDADD = $(PK_STORE_LDADD) $(CUNIT_LIBS)

check_PROGRAMS += tests/tools/pk-mksession
tests_tools_pk_mksession_SOURCES = tests/tools/pk-mksession.c
tests_tools_pk_mksession_CFLAGS = $(AM_CFLAGS) $(SQLITE_CFLAGS)
tests_tools_pk_mksession_LDADD = $(PK_STORE_LDADD) -lm
