#!/bin/bash
# alloc-int3-suite.sh - the allocation suite with --probe-backend int3
# (tests/integration/alloc-suite-backend.sh).
exec bash "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/alloc-suite-backend.sh" int3
