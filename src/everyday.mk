# src/everyday.mk - the everyday commands: "perfkit annotate" (source
# lines with their samples), "perfkit html" (one self-contained report
# file) and "perfkitd top" (a live view), with their tracees and tests.

src_libpksrc_a_SOURCES += \
	src/annotate.c src/annotate.h \
	src/cmd-annotate.c

# The annotate tracee: one hot line in a known place, built with line
# information (-g, as every tracee) and once linked without it (-S:
# debug sections stripped, symbols kept), where annotate falls back to
# addresses.
check_PROGRAMS += tests/targets/annot-loop tests/targets/annot-loop-nodebug
tests_targets_annot_loop_SOURCES = tests/targets/annot-loop.c
tests_targets_annot_loop_CFLAGS = $(PK_TARGET_CFLAGS)
tests_targets_annot_loop_nodebug_SOURCES = tests/targets/annot-loop.c
tests_targets_annot_loop_nodebug_CFLAGS = $(PK_TARGET_CFLAGS)
tests_targets_annot_loop_nodebug_LDFLAGS = -Wl,--strip-debug

PK_EVERYDAY_TESTS = \
	tests/integration/annotate-lines.sh \
	tests/integration/html-report.sh \
	tests/integration/top-live.sh

TESTS += $(PK_EVERYDAY_TESTS)
EXTRA_DIST += $(PK_EVERYDAY_TESTS) tests/js/html-report.js

src_libpksrc_a_SOURCES += \
	src/html.c src/html.h \
	src/html-flamegraph.c \
	src/html-compare.c \
	src/html-analysis.c \
	src/html-allocs.c \
	src/html-cache.c \
	src/cmd-html.c

# The report's stylesheet and script are ours (src/html.css, src/html.js)
# and compiled in as C strings, as the flame graph's script is (see
# src/render.mk): escape backslashes, quotes and question marks, one
# literal per line.  Both go inside <style>/<script> elements, so neither
# may contain "</".
nodist_src_libpksrc_a_SOURCES += src/html-assets.c
CLEANFILES += src/html-assets.c
EXTRA_DIST += src/html.css src/html.js

src/html-assets.c: $(top_srcdir)/src/html.css $(top_srcdir)/src/html.js $(top_srcdir)/src/everyday.mk
	$(AM_V_GEN)$(MKDIR_P) src && \
	if grep -q '</' $(top_srcdir)/src/html.css $(top_srcdir)/src/html.js; then \
	  echo "src/html.css and src/html.js must not contain '</' (they are embedded in HTML)" >&2; exit 1; \
	fi && \
	{ echo '/* Generated from src/html.css and src/html.js by src/everyday.mk: do not edit. */'; \
	  echo '#include "src/html.h"'; \
	  echo 'const char pk_html_css[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/?/\\?/g' -e 's/^/"/' -e 's/$$/\\n"/' \
	    $(top_srcdir)/src/html.css; \
	  echo ';'; \
	  echo 'const char pk_html_js[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/?/\\?/g' -e 's/^/"/' -e 's/$$/\\n"/' \
	    $(top_srcdir)/src/html.js; \
	  echo ';'; } > $@-t && mv -f $@-t $@

# "perfkitd top": a live view, in perfkitd because only daemon/ touches a
# live process.  It aggregates with the reader's model (src/profile.h),
# so perfkitd links src/libpksrc.a (and the libraries it needs after it).
daemon_perfkitd_SOURCES += daemon/top.c daemon/top.h daemon/top-view.c
daemon_perfkitd_LDADD += src/libpksrc.a store/libpkstore.a lib/libpkcommon.a \
	$(SQLITE_LIBS) $(ZLIB_LIBS) -lm
