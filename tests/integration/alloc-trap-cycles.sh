#!/bin/bash
# alloc-trap-cycles.sh - alloc-jump-cycles.sh with the trap backend (the
# default) on a program that allocates as fast as it can (bursts of
# 100,000 malloc/free pairs per thread between 1 ms naps, faster than
# perfkitd follows): 20 attach/detach cycles, each window exact (nothing
# dropped: a thread that finds the ring full stops until perfkitd has
# room), the target unharmed and restored after each.
export PK_CYCLES_BACKEND=trap PK_CYCLES_BURST=100000
exec bash "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/alloc-jump-cycles.sh"
