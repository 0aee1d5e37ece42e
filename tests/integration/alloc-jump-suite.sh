#!/bin/bash
# alloc-jump-suite.sh - the allocation suite with --probe-backend jump
# (tests/integration/alloc-suite-backend.sh).
exec bash "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/alloc-suite-backend.sh" jump
