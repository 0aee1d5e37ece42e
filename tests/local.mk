# tests/local.mk - tracees, integration tests and benchmark programs.
#
# Tracees (tests/targets/) are small programs that know their own truth;
# the integration scripts (tests/integration/*.sh) run the real perfkitd
# against them and compare perfkit's numbers with that truth.
#
# Tracees are built the way users build their programs: -O2 -g and no
# frame pointers (-fomit-frame-pointer, stated so that a toolchain that
# defaults to frame pointers does not hide unwinding bugs), so stacks
# must come from .eh_frame.  One is also linked stripped (-s: no .symtab)
# and one static (-static: no shared libraries, non-PIE).

PK_TARGET_CFLAGS = $(AM_CFLAGS) -O2 -g -fomit-frame-pointer
PK_TARGET_CXXFLAGS = -O2 -g -fomit-frame-pointer -Wall -Wextra

# The demo program of the README's first command: built by plain `make`.
noinst_PROGRAMS += tests/targets/demo
tests_targets_demo_SOURCES = tests/targets/demo.c
tests_targets_demo_CFLAGS = $(PK_TARGET_CFLAGS)
tests_targets_demo_LDADD = -lm

check_PROGRAMS += \
	tests/targets/split \
	tests/targets/split-stripped \
	tests/targets/split-static \
	tests/targets/threads4 \
	tests/targets/deep \
	tests/targets/checksum \
	tests/targets/signals \
	tests/targets/forkexec \
	tests/targets/crash \
	tests/targets/wall \
	tests/targets/tracer \
	tests/targets/zombie \
	tests/targets/worker

tests_targets_split_SOURCES = tests/targets/split.c
tests_targets_split_CFLAGS = $(PK_TARGET_CFLAGS)

tests_targets_split_stripped_SOURCES = tests/targets/split.c
tests_targets_split_stripped_CFLAGS = $(PK_TARGET_CFLAGS)
tests_targets_split_stripped_LDFLAGS = -s

tests_targets_split_static_SOURCES = tests/targets/split.c
tests_targets_split_static_CFLAGS = $(PK_TARGET_CFLAGS)
tests_targets_split_static_LDFLAGS = -static

tests_targets_threads4_SOURCES = tests/targets/threads4.c
tests_targets_threads4_CFLAGS = $(PK_TARGET_CFLAGS) -pthread
tests_targets_threads4_LDFLAGS = -pthread

tests_targets_deep_SOURCES = tests/targets/deep.c
tests_targets_deep_CFLAGS = $(PK_TARGET_CFLAGS)

tests_targets_checksum_SOURCES = tests/targets/checksum.c
tests_targets_checksum_CFLAGS = $(PK_TARGET_CFLAGS)

tests_targets_signals_SOURCES = tests/targets/signals.c
tests_targets_signals_CFLAGS = $(PK_TARGET_CFLAGS)

tests_targets_forkexec_SOURCES = tests/targets/forkexec.c
tests_targets_forkexec_CFLAGS = $(PK_TARGET_CFLAGS)

tests_targets_crash_SOURCES = tests/targets/crash.c
tests_targets_crash_CFLAGS = $(PK_TARGET_CFLAGS)

tests_targets_wall_SOURCES = tests/targets/wall.c
tests_targets_wall_CFLAGS = $(PK_TARGET_CFLAGS) -pthread
tests_targets_wall_LDFLAGS = -pthread

tests_targets_tracer_SOURCES = tests/targets/tracer.c
tests_targets_tracer_CFLAGS = $(PK_TARGET_CFLAGS)

tests_targets_zombie_SOURCES = tests/targets/zombie.c
tests_targets_zombie_CFLAGS = $(PK_TARGET_CFLAGS)

tests_targets_worker_SOURCES = tests/targets/worker.cc
tests_targets_worker_CXXFLAGS = $(PK_TARGET_CXXFLAGS)

# Benchmark helpers (run by `make bench`, which builds check_PROGRAMS).
check_PROGRAMS += tests/bench/cpubound tests/bench/ptrace-rtt tests/bench/busy4
tests_bench_cpubound_SOURCES = tests/bench/cpubound.c
tests_bench_cpubound_CFLAGS = $(PK_TARGET_CFLAGS)
tests_bench_ptrace_rtt_SOURCES = tests/bench/ptrace-rtt.c
tests_bench_ptrace_rtt_CFLAGS = $(AM_CFLAGS) -O2
tests_bench_busy4_SOURCES = tests/bench/busy4.c
tests_bench_busy4_CFLAGS = $(PK_TARGET_CFLAGS) -pthread
tests_bench_busy4_LDFLAGS = -pthread

PK_INTEGRATION_TESTS = \
	tests/integration/cpu-split.sh \
	tests/integration/threads.sh \
	tests/integration/recursion.sh \
	tests/integration/attach.sh \
	tests/integration/attach-stop.sh \
	tests/integration/status-line.sh \
	tests/integration/sudo-db.sh \
	tests/integration/signals.sh \
	tests/integration/fork-exec.sh \
	tests/integration/exit-status.sh \
	tests/integration/wall-mode.sh \
	tests/integration/cxx.sh \
	tests/integration/stripped-static.sh \
	tests/integration/background.sh \
	tests/integration/killed-recorder.sh \
	tests/integration/errors-attach.sh \
	tests/integration/errors-run.sh \
	tests/integration/errors-store.sh

TESTS += $(PK_INTEGRATION_TESTS)
EXTRA_DIST += $(PK_INTEGRATION_TESTS) tests/lib.sh tests/bench/run.sh
