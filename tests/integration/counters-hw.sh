#!/bin/bash
# counters-hw.sh - hardware counters (cycles, instructions, cache misses)
# need a CPU PMU: where there is one, run tests/pmu-check.sh; where there
# is none (most VMs, this project's CI) skip and say so.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
pk_init
ls /sys/bus/event_source/devices 2>/dev/null | grep -Eq '^(cpu|cpu_core|cpu_atom|armv)' ||
	pk_skip "no hardware PMU (/sys/bus/event_source/devices/cpu is absent): hardware counters cannot be tested here; tests/pmu-check.sh runs them on a machine with one"
exec bash "$top_srcdir/tests/pmu-check.sh" "$top_builddir"
