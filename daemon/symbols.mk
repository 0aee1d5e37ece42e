# daemon/symbols.mk - the symbolizer (libelf, libdw, libstdc++'s demangler)
# and its unit test.  The test builds its own ELF files with cc/c++ at run
# time; programs linking these objects need $(LIBDW_LIBS) $(LIBELF_LIBS)
# $(ZLIB_LIBS) -lstdc++.

PK_SYMBOLS_SOURCES = \
	daemon/symbols.c daemon/symbols.h daemon/symbols-int.h \
	daemon/symbols-elf.c daemon/symbols-debug.c daemon/symbols-lines.c \
	daemon/demangle.c daemon/demangle.h

check_PROGRAMS += tests/unit/test-symbols
TESTS += tests/unit/test-symbols
tests_unit_test_symbols_SOURCES = tests/unit/test-symbols.c $(PK_SYMBOLS_SOURCES)
tests_unit_test_symbols_CFLAGS = $(AM_CFLAGS) $(LIBDW_CFLAGS) $(LIBELF_CFLAGS) $(ZLIB_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_symbols_LDADD = lib/libpkcommon.a $(LIBDW_LIBS) $(LIBELF_LIBS) $(ZLIB_LIBS) -lstdc++ $(CUNIT_LIBS) -ldl
