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
	tests/integration/annotate-lines.sh

TESTS += $(PK_EVERYDAY_TESTS)
EXTRA_DIST += $(PK_EVERYDAY_TESTS)
