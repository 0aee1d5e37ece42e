#!/bin/bash
# analyze-cpu.sh - "perfkit analyze" finds the one problem each tracee
# really has, from a CPU profile recorded by the real perfkitd:
#
#   an-slow     slow_function burns ~90% of the CPU     slow-function   critical
#   an-strlen   strlen in a loop condition (~97%)       string-scanning critical
#   an-memcpy   copy_blocks copies 1 MiB blocks (~99%)  memory-copying  critical
#   an-syscall  8-byte write(2)s to /dev/null (~95%)    syscall-heavy   critical
#
# Severities: each tracee's share is far from the next threshold (60% for
# slow-function and syscall-heavy, 50% for the others), so sampling noise
# (about 350 samples: 2.7% sigma at worst) cannot move it.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
pk_init
. "$top_srcdir/tests/integration/analyze-common.sh"

an_profile slow cpu an-slow 0.7
an_expect slow slow-function slow_function critical

an_profile strlen cpu an-strlen 0.7
an_expect strlen string-scanning upcase_text critical

an_profile memcpy cpu an-memcpy 0.7
an_expect memcpy memory-copying copy_blocks critical

an_profile syscall cpu an-syscall 0.7
an_expect syscall syscall-heavy write_records critical
exit 0
