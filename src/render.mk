# src/render.mk - flame graphs and exports (folded, pprof, speedscope):
# sources, the JavaScript embedded in every SVG, and their tests.

src_libpksrc_a_SOURCES += \
	src/flamegraph.h \
	src/flamegraph-tree.c \
	src/flamegraph-color.c \
	src/flamegraph-svg.c \
	src/flamegraph-profile.c \
	src/cmd-flamegraph.c \
	src/export.h \
	src/export.c \
	src/export-load.c \
	src/export-folded.c \
	src/export-speedscope.c \
	src/pprof.c \
	src/cmd-export.c

# The flame graph's script is ours (src/flamegraph.js) and is compiled
# into the binary as a C string, so every SVG carries it and perfkit needs
# no data files at run time.  sed is enough to make the string: escape
# backslashes, quotes and question marks (no trigraphs), one literal per
# line.  The script goes into a
# CDATA section, so it must never contain the CDATA terminator.
nodist_src_libpksrc_a_SOURCES = src/flamegraph-js.c
CLEANFILES += src/flamegraph-js.c
EXTRA_DIST += src/flamegraph.js

src/flamegraph-js.c: $(top_srcdir)/src/flamegraph.js $(top_srcdir)/src/render.mk
	$(AM_V_GEN)$(MKDIR_P) src && \
	if grep -q ']]>' $(top_srcdir)/src/flamegraph.js; then \
	  echo "src/flamegraph.js must not contain ']]>' (it is embedded in CDATA)" >&2; exit 1; \
	fi && \
	{ echo '/* Generated from src/flamegraph.js by src/render.mk: do not edit. */'; \
	  echo '#include "src/flamegraph.h"'; \
	  echo 'const char pk_flamegraph_js[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/?/\\?/g' -e 's/^/"/' -e 's/$$/\\n"/' \
	    $(top_srcdir)/src/flamegraph.js; \
	  echo ';'; } > $@-t && mv -f $@-t $@

check_PROGRAMS += tests/unit/test-flamegraph
tests_unit_test_flamegraph_SOURCES = tests/unit/test-flamegraph.c
tests_unit_test_flamegraph_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_flamegraph_LDADD = src/libpksrc.a store/libpkstore.a lib/libpkcommon.a \
	$(SQLITE_LIBS) $(ZLIB_LIBS) $(CUNIT_LIBS) -lm

PK_RENDER_TESTS = \
	tests/integration/export-folded.sh \
	tests/integration/export-pprof.sh \
	tests/integration/export-speedscope.sh \
	tests/integration/export-svg.sh \
	tests/integration/export-errors.sh \
	tests/integration/flamegraph-browser.sh

TESTS += tests/unit/test-flamegraph $(PK_RENDER_TESTS)
EXTRA_DIST += $(PK_RENDER_TESTS) tests/integration/export-common.sh \
	tests/js/package.json tests/js/package-lock.json tests/js/validate-speedscope.js \
	tests/js/flamegraph-browser.js tests/js/flamegraph-bench.js \
	tests/js/speedscope-open.js tests/bench/flamegraph.sh
